package loadgen

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
)

// maxParallelDials bounds the handshakes in progress at once.
const maxParallelDials = 64

// runner is the state of one run.
type runner struct {
	s   *settings
	tok *tokenizer
	rec *recorder

	// start is when the load started (after the connections opened);
	// times are nanoseconds since then. startUnix is start in Unix
	// nanoseconds, for {{ts}}.
	start     time.Time
	startUnix int64
	// measureStart and measureEnd bound the measured phase.
	measureStart, measureEnd int64

	// stop is closed when the measured phase ends or the run is aborted;
	// abort only in the latter case.
	stop, abort         chan struct{}
	stopOnce, abortOnce sync.Once

	opened, failed atomic.Int64
	loading        atomic.Bool // set once start is set
	phase          atomic.Value
	conns          atomic.Pointer[[]*conn]
	push           *pusher

	mu          sync.Mutex
	errors      map[string]int
	errorFrames map[string]int
	closeCodes  map[int]int
	handshakes  map[int]int
	firstDial   error
	errTotal    atomic.Int64
}

func (r *runner) now() int64 { return int64(time.Since(r.start)) }

func (r *runner) addError(kind string) { r.addErrors(kind, 1) }

func (r *runner) addErrors(kind string, n int) {
	r.mu.Lock()
	r.errors[kind] += n
	r.mu.Unlock()
	r.errTotal.Add(int64(n))
}

func (r *runner) addErrorFrame(msg string) {
	r.mu.Lock()
	r.errors["error-frame"]++
	r.errorFrames[msg]++
	r.mu.Unlock()
	r.errTotal.Add(1)
}

func (r *runner) countClose(code int) {
	r.mu.Lock()
	r.closeCodes[code]++
	r.mu.Unlock()
}

func (r *runner) stopLoad() { r.stopOnce.Do(func() { close(r.stop) }) }

func (r *runner) abortLoad() {
	r.abortOnce.Do(func() { close(r.abort) })
	r.stopLoad()
}

// Run opens cfg.Connections connections to cfg.URL, sends load for the
// warm-up and the measured phase, waits (at most cfg.Timeout) for the
// outstanding replies, closes every connection with 1000 and returns what
// it measured. An invalid cfg is an error with no Result. When no
// connection could be opened, the Result (with its dial errors and
// handshake statuses) is returned with an error. When ctx ends first, the
// run stops early and its Result says Interrupted.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	s, err := validate(cfg)
	if err != nil {
		return nil, err
	}
	r := &runner{
		s:           s,
		tok:         newTokenizer(),
		rec:         newRecorder(),
		stop:        make(chan struct{}),
		abort:       make(chan struct{}),
		errors:      make(map[string]int),
		errorFrames: make(map[string]int),
		closeCodes:  make(map[int]int),
		handshakes:  make(map[int]int),
	}
	r.phase.Store("connecting")
	res := &Result{Config: s.Config, Started: time.Now()}

	var bg sync.WaitGroup
	defer bg.Wait()
	progressDone := make(chan struct{})
	defer close(progressDone)
	if s.Progress != nil {
		bg.Go(func() { r.reportProgress(progressDone) })
	}
	ctxDone := make(chan struct{})
	defer close(ctxDone)
	bg.Go(func() {
		select {
		case <-ctx.Done():
			r.abortLoad()
		case <-ctxDone:
		}
	})

	conns := r.openAll(ctx)
	res.Connections.Opened = len(conns)
	res.Connections.Failed = int(r.failed.Load())
	if len(conns) == 0 {
		r.fill(res, conns, 0)
		reason := "no connection attempt was made"
		if r.firstDial != nil {
			reason = r.firstDial.Error()
		}
		return res, fmt.Errorf("no connection could be opened: %s", reason)
	}
	var ids []string
	if s.Push != nil {
		ids = r.connectionIDs(conns)
	}

	r.start = time.Now()
	r.startUnix = r.start.UnixNano()
	r.measureStart = int64(s.Warmup)
	r.measureEnd = int64(s.Warmup + s.Duration)
	r.conns.Store(&conns)
	r.loading.Store(true)
	r.phase.Store("warm-up")
	stopTimer := time.AfterFunc(s.Warmup+s.Duration, r.stopLoad)
	defer stopTimer.Stop()
	if s.Warmup > 0 {
		warm := time.AfterFunc(s.Warmup, func() { r.phase.CompareAndSwap("warm-up", "measuring") })
		defer warm.Stop()
	} else {
		r.phase.Store("measuring")
	}

	if s.Push != nil && len(ids) > 0 {
		// Before the readers start: they look pushed frames up in it.
		r.push = newPusher(r, ids)
	}
	var readers, writers sync.WaitGroup
	for _, c := range conns {
		readers.Go(c.readLoop)
	}
	for _, c := range conns {
		switch s.Mode {
		case Closed:
			if !s.OneWay {
				c.credits = make(chan struct{}, s.InFlight)
				for range s.InFlight {
					c.credits <- struct{}{}
				}
			}
			writers.Go(c.writeClosed)
		case Open:
			writers.Go(func() { c.writeOpen(len(conns)) })
		}
	}
	sweepDone := make(chan struct{})
	var sweeper sync.WaitGroup
	sweeper.Go(func() { r.sweep(conns, sweepDone) })
	var pushing sync.WaitGroup
	if r.push != nil {
		pushing.Go(func() { r.push.run(ctx) })
	}

	<-r.stop
	writers.Wait()
	measured := s.Duration
	aborted := false
	select {
	case <-r.abort:
		aborted = true
		measured = min(max(time.Duration(r.now())-s.Warmup, 0), s.Duration)
	default:
	}
	r.phase.Store("draining")
	for _, c := range conns {
		c.mu.Lock()
		c.writerDone = true
		c.checkDrainedLocked()
		c.mu.Unlock()
	}
	pushing.Wait()
	if !aborted {
		r.drain(conns)
	}
	close(sweepDone)
	sweeper.Wait()

	r.phase.Store("closing")
	r.closeAll(conns)
	readers.Wait()
	for _, c := range conns {
		c.nc.Close()
		c.release()
	}
	res.Interrupted = aborted
	r.fill(res, conns, measured)
	return res, nil
}

// openAll opens the connections, paced by ConnectRate and at most
// maxParallelDials at a time, and returns those that opened, in order.
func (r *runner) openAll(ctx context.Context) []*conn {
	s := r.s
	slots := make([]*conn, s.Connections)
	var next atomic.Int64
	begin := time.Now()
	var wg sync.WaitGroup
	for range min(s.Connections, maxParallelDials) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= s.Connections {
					return
				}
				if s.ConnectRate > 0 {
					due := begin.Add(time.Duration(float64(i) / s.ConnectRate * float64(time.Second)))
					if wait := time.Until(due); wait > 0 {
						t := time.NewTimer(wait)
						select {
						case <-t.C:
						case <-r.abort:
							t.Stop()
						}
					}
				}
				select {
				case <-r.abort:
					return
				default:
				}
				slots[i] = r.dial(ctx)
			}
		})
	}
	wg.Wait()
	var conns []*conn
	for _, c := range slots {
		if c != nil {
			c.idx = len(conns)
			conns = append(conns, c)
		}
	}
	return conns
}

// dial opens one connection, or counts why it could not be opened and
// returns nil.
func (r *runner) dial(ctx context.Context) *conn {
	s := r.s
	var status int
	d := ws.Dialer{
		Timeout: s.DialTimeout,
		OnStatusError: func(st int, _ []byte, _ io.Reader) {
			status = st
		},
	}
	if len(s.Header) > 0 {
		h := s.Header.Clone()
		if host := h.Get("Host"); host != "" {
			d.Host = host
			h.Del("Host")
		}
		d.Header = ws.HandshakeHeaderHTTP(h)
	}
	if s.target.Scheme == "wss" {
		if s.TLSConfig != nil {
			d.TLSConfig = s.TLSConfig
		} else if s.InsecureSkipVerify {
			d.TLSConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user's choice (--insecure)
		}
	}
	nc, br, _, err := d.Dial(ctx, s.URL)
	if err != nil {
		var st ws.StatusError
		if status == 0 && errors.As(err, &st) {
			status = int(st)
		}
		r.mu.Lock()
		if status != 0 {
			r.handshakes[status]++
			err = fmt.Errorf("handshake rejected with HTTP status %d", status)
		}
		if r.firstDial == nil {
			r.firstDial = err
		}
		r.mu.Unlock()
		if ctx.Err() == nil {
			r.addError("dial")
		}
		r.failed.Add(1)
		return nil
	}
	r.mu.Lock()
	r.handshakes[http.StatusSwitchingProtocols]++
	r.mu.Unlock()
	r.opened.Add(1)
	c := newConn(r, nc, br)
	if s.Push != nil && s.Push.ConnectionIDs == nil {
		if err := c.whoami(); err != nil {
			r.addError("whoami")
		}
	}
	return c
}

// connectionIDs returns the ids the push load targets.
func (r *runner) connectionIDs(conns []*conn) []string {
	if f := r.s.Push.ConnectionIDs; f != nil {
		return f()
	}
	var ids []string
	for _, c := range conns {
		if c.id != "" {
			ids = append(ids, c.id)
		}
	}
	return ids
}

// sweep expires overdue replies and pushes until done is closed.
func (r *runner) sweep(conns []*conn, done <-chan struct{}) {
	every := min(max(r.s.Timeout/10, 10*time.Millisecond), time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-done:
			return
		}
		now := r.now()
		for _, c := range conns {
			c.expire(now)
		}
		if r.push != nil {
			r.push.expire(now)
		}
	}
}

// drain waits, at most Timeout, for every outstanding reply and pushed
// frame.
func (r *runner) drain(conns []*conn) {
	deadline := time.NewTimer(r.s.Timeout)
	defer deadline.Stop()
	for _, c := range conns {
		select {
		case <-c.drained:
		case <-deadline.C:
			return
		case <-r.abort:
			return
		}
	}
	if r.push != nil {
		select {
		case <-r.push.drained:
		case <-deadline.C:
		case <-r.abort:
		}
	}
}

// closeAll sends every connection a close frame with 1000 and bounds the
// wait for the answers by CloseTimeout.
func (r *runner) closeAll(conns []*conn) {
	deadline := time.Now().Add(CloseTimeout)
	body := ws.NewCloseFrameBody(ws.StatusNormalClosure, "")
	for _, c := range conns {
		c.closing.Store(true)
		_ = c.nc.SetDeadline(deadline)
		// An error means the connection has ended or answered the
		// server's close already; the reader has stopped or will.
		_ = c.writeFrame(ws.OpClose, body)
	}
	for _, c := range conns {
		<-c.done
	}
}

// fill completes res from the counters of the run.
func (r *runner) fill(res *Result, conns []*conn, measured time.Duration) {
	s := r.s
	res.Duration = measured
	r.mu.Lock()
	res.Connections.HandshakeStatus = copyMap(r.handshakes)
	res.Errors = copyMap(r.errors)
	res.ErrorFrames = copyMap(r.errorFrames)
	res.CloseCodes = copyMap(r.closeCodes)
	r.mu.Unlock()
	for _, c := range conns {
		res.Sent += c.sent.Load()
		res.Received += c.received.Load()
		res.Late += c.late.Load()
		res.Fallbacks += c.fallbacks.Load()
		if c.closeAnswered.Load() {
			res.Connections.CloseAnswered++
		}
	}
	res.hist = r.rec.measured()
	if !s.OneWay && s.Mode != Idle {
		res.Latency = latencyOf(res.hist)
	}
	if measured > 0 {
		n := res.Received
		if s.OneWay {
			n = res.Sent
		}
		res.Throughput = float64(n) / measured.Seconds()
	}
	if s.Push != nil {
		if r.push != nil {
			res.Push = r.push.result(measured)
		} else {
			res.Push = &PushResult{Failed: map[int]int{}}
		}
	}
}

func copyMap[K comparable](m map[K]int) map[K]int {
	out := make(map[K]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// reportProgress calls Progress about once per second until done closes.
func (r *runner) reportProgress(done <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var lastCount int64
	last := time.Now()
	for {
		select {
		case <-t.C:
		case <-done:
			return
		}
		snap := Snapshot{
			Open:  int(r.opened.Load()),
			Phase: r.phase.Load().(string),
		}
		if r.loading.Load() {
			snap.Elapsed = time.Duration(r.now())
			for _, c := range *r.conns.Load() {
				snap.Sent += c.sentAll.Load()
				snap.Received += c.recvAll.Load()
				if c.ending.Load() {
					snap.Open--
				}
			}
			snap.P99 = time.Duration(r.rec.takeInterval().ValueAtPercentile(99)) * time.Microsecond
			if r.push != nil {
				snap.PushPosted = r.push.postedAll.Load()
				snap.PushDelivered = r.push.deliveredAll.Load()
			}
		}
		snap.Errors = r.errTotal.Load()
		count := snap.Received
		if r.s.OneWay {
			count = snap.Sent
		}
		now := time.Now()
		if secs := now.Sub(last).Seconds(); secs > 0 {
			snap.Rate = float64(count-lastCount) / secs
		}
		lastCount, last = count, now
		r.s.Progress(snap)
	}
}
