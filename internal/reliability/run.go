package reliability

import (
	"context"
	"fmt"
	"net"
	goruntime "runtime"
	"sync"
	"time"

	"github.com/wsgwctl/wsgwctl/runtime"
	"github.com/wsgwctl/wsgwctl/state"
)

// Run runs the suite: it starts the backends and a gateway on 127.0.0.1:0,
// connects cfg.Clients well-behaved clients, runs the baseline phase, then
// the abuse phase with cfg.Attackers attackers of every fault kind, checks
// the well-behaved connections and a new one, shuts everything down and
// returns what it measured. It returns an error when the run could not be
// set up (a listener, the state, the well-behaved connections); what the
// gateway did wrong under abuse is in the Report, not an error.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg = cfg.withDefaults()
	started := time.Now()
	rep := &Report{Config: cfg, GoroutinesBefore: goruntime.NumGoroutine()}

	good, err := startGoodBackend()
	if err != nil {
		return nil, err
	}
	defer good.Close()
	attackers, err := startAttackSide(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer attackers.close()
	down, err := closedPortURL()
	if err != nil {
		return nil, err
	}

	gw, err := startGateway(cfg, suiteState(good, attackers.faultyURL(), down))
	if err != nil {
		return nil, err
	}
	defer gw.shutdown()

	clients := make([]*goodClient, cfg.Clients)
	for i := range clients {
		c, err := dialWS(ctx, gw.addr)
		if err != nil {
			for _, g := range clients[:i] {
				_ = g.c.Close()
			}
			return nil, fmt.Errorf("connect well-behaved client %d: %w", i, err)
		}
		clients[i] = &goodClient{c: c, id: i}
	}
	rep.Clients = len(clients)

	// Phase 1: the well-behaved clients alone.
	rep.Baseline = runPhase(ctx, clients, cfg)
	rep.HeapBefore = liveHeap()

	// Phase 2: the same clients while every attacker runs.
	if err := attackers.start(gw.addr); err != nil {
		return nil, err
	}
	peak := sampleHeap()
	rep.Abuse = runPhase(ctx, clients, cfg)
	res, err := attackers.wait()
	rep.HeapPeak = peak()
	if err != nil {
		return nil, err
	}
	rep.Faults = faultsOf(cfg, res)
	rep.AttackerCPU, rep.AttackerWall, rep.AttackerNice = res.CPU, res.Wall, res.Nice
	rep.AttackerErrors = res.Errors
	rep.HeapAfter = liveHeap()

	rep.AnsweredAfterAbuse = answerOnce(ctx, gw.addr, cfg.ReplyTimeout) == nil
	var wg sync.WaitGroup
	kept := make([]bool, len(clients))
	for i, g := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			kept[i] = g.finish(cfg.ReplyTimeout)
		}()
	}
	wg.Wait()
	for i, g := range clients {
		if kept[i] {
			rep.Kept++
		}
		rep.Sent += g.sent
		rep.Answered += g.answered
		rep.Lost += g.lost
		rep.Failed += g.failed
		rep.Unexpected += g.unexpected
	}

	shutdownStart := time.Now()
	if err := gw.shutdown(); err != nil {
		return nil, err
	}
	rep.ShutdownTime = time.Since(shutdownStart)
	good.Close()
	if err := attackers.close(); err != nil {
		return nil, err
	}
	rep.Connects, rep.Disconnects = int(good.connects.Load()), int(good.disconnects.Load())
	rep.GoroutinesAfter = settledGoroutines(rep.GoroutinesBefore)
	rep.Elapsed = time.Since(started)
	return rep, nil
}

// runPhase runs one phase of every well-behaved client and returns its
// figures.
func runPhase(ctx context.Context, clients []*goodClient, cfg Config) Phase {
	start, cpu, sched := time.Now(), processCPU(), schedSnapshot()
	samples := runClients(ctx, clients, cfg)
	p := percentiles(samples)
	p.Wall, p.CPU = time.Since(start), processCPU()-cpu
	p.SchedP99 = schedQuantile(sched, schedSnapshot(), 0.99)
	return p
}

// runClients runs one phase of every well-behaved client and returns the
// latencies they measured.
func runClients(ctx context.Context, clients []*goodClient, cfg Config) []time.Duration {
	end := time.Now().Add(cfg.Duration)
	if d, ok := ctx.Deadline(); ok && d.Before(end) {
		end = d
	}
	var (
		mu      sync.Mutex
		samples []time.Duration
		wg      sync.WaitGroup
	)
	for _, g := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := g.runPhase(end, cfg.ThinkTime, cfg.ReplyTimeout)
			mu.Lock()
			samples = append(samples, s...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return samples
}

// gateway is the runtime.Server under test, serving one listener.
type gateway struct {
	srv  *runtime.Server
	addr string
	done chan error
	once sync.Once
	err  error
}

// startGateway serves st on 127.0.0.1:0 with the suite's options. Every
// suite client comes from 127.0.0.1, so the per-address limits are lifted.
func startGateway(cfg Config, st *state.State) (*gateway, error) {
	srv := runtime.NewServer(runtime.Options{
		Logger:              cfg.Logger,
		HandshakeTimeout:    HandshakeTimeout,
		WriteTimeout:        WriteTimeout,
		CloseTimeout:        CloseTimeout,
		MaxConnectionsPerIP: 1 << 20,
		NewConnectionsPerIP: 1 << 20,
	})
	if err := srv.Load(st); err != nil {
		return nil, fmt.Errorf("load the suite's state: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the gateway: %w", err)
	}
	g := &gateway{srv: srv, addr: ln.Addr().String(), done: make(chan error, 1)}
	go func() { g.done <- srv.Serve(ln) }()
	return g, nil
}

// shutdownGrace bounds the gateway's Shutdown.
const shutdownGrace = 30 * time.Second

// shutdown stops the gateway once and returns what Shutdown and Serve
// returned.
func (g *gateway) shutdown() error {
	g.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		if err := g.srv.Shutdown(ctx); err != nil {
			g.err = fmt.Errorf("shut the gateway down: %w", err)
		}
		if err := <-g.done; err != nil && g.err == nil {
			g.err = fmt.Errorf("serve the gateway: %w", err)
		}
	})
	return g.err
}

// liveHeap returns the live heap after a garbage collection.
func liveHeap() uint64 {
	goruntime.GC()
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// heapSampleEvery is how often sampleHeap reads the heap size.
const heapSampleEvery = 100 * time.Millisecond

// sampleHeap samples the in-use heap until the returned function is called,
// which returns the largest sample.
func sampleHeap() func() uint64 {
	stop := make(chan struct{})
	result := make(chan uint64)
	go func() {
		var peak uint64
		tick := time.NewTicker(heapSampleEvery)
		defer tick.Stop()
		var ms goruntime.MemStats
		for {
			goruntime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				result <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 {
		close(stop)
		return <-result
	}
}

// settleTimeout bounds the wait for goroutines to end after shutdown.
const settleTimeout = 5 * time.Second

// settledGoroutines returns the number of goroutines once it is at most
// want, or after settleTimeout: goroutines that have been told to stop may
// take a moment to end (closed keep-alive connections' readers).
func settledGoroutines(want int) int {
	deadline := time.Now().Add(settleTimeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		n := goruntime.NumGoroutine()
		if n <= want || time.Now().After(deadline) {
			return n
		}
		<-tick.C
	}
}
