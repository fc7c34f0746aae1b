package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/wsgwctl/wsgwctl/internal/loadgen"
)

// Contender names.
const (
	cBaseline   = "gobwas/ws echo"
	cWsgwctl    = "wsgwctl"
	cDirect     = "backend, direct HTTP"
	cPushpin    = "Pushpin"
	cServerless = "serverless-offline"
)

// Units of the workloads' figures.
const (
	unitMsgs     = "msg/s"
	unitPosts    = "POST/s"
	unitConnects = "connects/s"
	unitBytes    = "B/conn"
)

// env is what the workloads run against.
type env struct {
	ctx              context.Context
	smoke            bool
	duration, warmup time.Duration
	// connections is W1's connection count (100; fewer in smoke mode).
	connections int
	// idleConns is W5's and maxIdle W7's connection count.
	idleConns, maxIdle int
	pushRates          []float64
	wsgwctl            string // the wsgwctl binary
	tmp                string
	gw                 *gatewayProc
	echo               *echoProc
	be                 *backend
	pushpin, sls       *peer
	// peerStatus says why a peer is missing ("not installed", or why it
	// failed to start).
	peerStatus map[string]string
	res        *results
	log        io.Writer
}

// contender is one contender of a workload: a row of the table.
type contender struct {
	name string
	run  func(round int) (sample, error)
	// missing, when not "", is why the contender cannot run.
	missing string
}

// workload is one of W1..W9.
type workload struct {
	id, title, unit string
	lowerBetter     bool
	contenders      func(e *env) []contender
}

// messageOf returns a message template of about size bytes: JSON with an
// echo action and the {{id}} token unless plain is set.
func messageOf(size int, plain bool) string {
	// A token renders as about 18 bytes (lgXXXXXXXX-CONN-SEQ).
	const tokenLen = 18
	if plain {
		head := "plain text message {{id}} "
		return head + strings.Repeat("x", max(size-len(head)+len("{{id}}")-tokenLen, 0))
	}
	head, tail := `{"action":"echo","id":"{{id}}","pad":"`, `"}`
	return head + strings.Repeat("x", max(size-len(head)-len(tail)+len("{{id}}")-tokenLen, 0)) + tail
}

// closedLoop runs the load generator in a closed loop with one message in
// flight per connection.
func (e *env) closedLoop(url string, conns int, template string) (sample, error) {
	r, err := loadgen.Run(e.ctx, loadgen.Config{
		URL: url, Connections: conns, Mode: loadgen.Closed, InFlight: 1,
		Template: template, Duration: e.duration, Warmup: e.warmup,
	})
	if err != nil {
		return sample{}, err
	}
	if err := resultProblem(r); err != nil {
		return sample{}, err
	}
	return sampleOfResult(r), nil
}

// w3OpenRate is the open-loop rate at which W3's added latency is
// measured: low enough that neither the backend nor the gateway
// saturates on a small machine, so that the difference is the gateway's
// own latency, not queueing in front of a saturated server.
const w3OpenRate = 2000

// W3's open-loop rows.
var (
	w3OpenWsgwctl = fmt.Sprintf("%s, %s msg/s open loop", cWsgwctl, groupDigits(w3OpenRate))
	w3OpenDirect  = fmt.Sprintf("%s, %s msg/s open loop", cDirect, groupDigits(w3OpenRate))
)

// openLoop runs the load generator in an open loop at rate messages per
// second in total.
func (e *env) openLoop(url string, conns int, rate float64, template string) (sample, error) {
	r, err := loadgen.Run(e.ctx, loadgen.Config{
		URL: url, Connections: conns, Mode: loadgen.Open, Rate: rate,
		Template: template, Duration: e.duration, Warmup: e.warmup,
	})
	if err != nil {
		return sample{}, err
	}
	if err := resultProblem(r); err != nil {
		return sample{}, err
	}
	return sampleOfResult(r), nil
}

// resultProblem reports a run that measured nothing: connections that all
// failed, or no reply at all.
func resultProblem(r *loadgen.Result) error {
	if r.Connections.Opened == 0 {
		return fmt.Errorf("no connection opened (handshake statuses %v, errors %v)", r.Connections.HandshakeStatus, r.Errors)
	}
	if r.Received == 0 && r.Push == nil {
		return fmt.Errorf("no reply received (errors %v, close codes %v)", r.Errors, r.CloseCodes)
	}
	return nil
}

// peerContender returns the contender of a peer, or a missing one.
func (e *env) peerContender(name string, p *peer, run func(p *peer) (sample, error)) contender {
	if p == nil {
		return contender{name: name, missing: e.peerStatus[name]}
	}
	return contender{name: name, run: func(int) (sample, error) { return run(p) }}
}

// workloads returns W1..W9 in the order they run.
func workloads() []workload {
	msg128 := messageOf(128, false)
	return []workload{
		{id: "W1", title: "MOCK two-way route, 128-byte JSON", unit: unitMsgs, contenders: func(e *env) []contender {
			return []contender{
				{name: cBaseline, run: func(int) (sample, error) { return e.closedLoop(e.echo.url(), e.connections, msg128) }},
				{name: cWsgwctl, run: func(int) (sample, error) { return e.closedLoop(e.gw.url(apiMock), e.connections, msg128) }},
			}
		}},
		{id: "W2", title: "non-JSON message to $default", unit: unitMsgs, contenders: func(e *env) []contender {
			plain := messageOf(128, true)
			return []contender{
				{name: cBaseline, run: func(int) (sample, error) { return e.closedLoop(e.echo.url(), e.connections, plain) }},
				{name: cWsgwctl, run: func(int) (sample, error) { return e.closedLoop(e.gw.url(apiMock), e.connections, plain) }},
			}
		}},
		{id: "W3", title: "HTTP_PROXY to a keep-alive backend", unit: unitMsgs, contenders: func(e *env) []contender {
			body := []byte(strings.ReplaceAll(msg128, "{{id}}", "direct-0000000-0-0"))
			return []contender{
				{name: cWsgwctl, run: func(int) (sample, error) { return e.closedLoop(e.gw.url(apiHTTP), e.connections, msg128) }},
				{name: cDirect, run: func(int) (sample, error) {
					return directHTTP(e.ctx, e.be.url()+pathEcho, e.connections, body, e.warmup, e.duration)
				}},
				e.peerContender(cPushpin, e.pushpin, func(p *peer) (sample, error) { return e.closedLoop(p.url, e.connections, msg128) }),
				{name: w3OpenWsgwctl, run: func(int) (sample, error) { return e.openLoop(e.gw.url(apiHTTP), e.connections, w3OpenRate, msg128) }},
				{name: w3OpenDirect, run: func(int) (sample, error) {
					return directHTTPOpen(e.ctx, e.be.url()+pathEcho, e.connections, w3OpenRate, body, e.warmup, e.duration)
				}},
			}
		}},
		{id: "W4", title: "AWS_PROXY event to a local handler", unit: unitMsgs, contenders: func(e *env) []contender {
			return []contender{
				{name: cWsgwctl, run: func(int) (sample, error) { return e.closedLoop(e.gw.url(apiLambda), e.connections, msg128) }},
				e.peerContender(cServerless, e.sls, func(p *peer) (sample, error) { return e.closedLoop(p.url, e.connections, msg128) }),
			}
		}},
		{id: "W5", title: "@connections POST onto idle connections", unit: unitPosts, contenders: func(e *env) []contender {
			var cs []contender
			for _, rate := range e.pushRates {
				cs = append(cs, contender{name: pushContender(rate), run: func(int) (sample, error) { return e.push(rate) }})
			}
			return cs
		}},
		{id: "W6", title: "connect/disconnect churn, MOCK $connect and $disconnect", unit: unitConnects, contenders: func(e *env) []contender {
			workers := 32
			if e.smoke {
				workers = 8
			}
			return []contender{
				{name: cBaseline, run: func(int) (sample, error) { return churn(e.ctx, e.echo.url(), workers, e.warmup, e.duration) }},
				{name: cWsgwctl, run: func(int) (sample, error) { return churn(e.ctx, e.gw.url(apiChurn), workers, e.warmup, e.duration) }},
			}
		}},
		{id: "W8", title: "large messages, 8–128 KB in 16 KB fragments", unit: unitMsgs, contenders: func(e *env) []contender {
			conns := 16
			if e.smoke {
				conns = 4
			}
			sizes := []int{8 << 10, 32 << 10, 64 << 10, 128 << 10}
			return []contender{
				{name: cBaseline, run: func(int) (sample, error) {
					return largeMessages(e.ctx, e.echo.url(), conns, sizes, 16<<10, e.warmup, e.duration)
				}},
				{name: cWsgwctl, run: func(int) (sample, error) {
					return largeMessages(e.ctx, e.gw.url(apiMock), conns, sizes, 16<<10, e.warmup, e.duration)
				}},
			}
		}},
		{id: "W9", title: "W1 with one slow consumer and 100 slowloris handshakes", unit: unitMsgs, contenders: func(e *env) []contender {
			return []contender{
				{name: cWsgwctl + ", undisturbed", run: func(int) (sample, error) { return e.closedLoop(e.gw.url(apiIsol), e.connections, msg128) }},
				{name: cWsgwctl + ", disturbed", run: func(int) (sample, error) { return e.isolation(msg128) }},
			}
		}},
		{id: "W7", title: "idle connections, resident memory of the server process", unit: unitBytes, lowerBetter: true, contenders: func(e *env) []contender {
			return []contender{
				{name: cBaseline, run: func(int) (sample, error) { return e.idleEcho() }},
				{name: cWsgwctl, run: func(int) (sample, error) { return e.idleGateway() }},
			}
		}},
	}
}

// pushContender names W5's row for an offered rate.
func pushContender(rate float64) string {
	return fmt.Sprintf("%s, %s POST/s offered", cWsgwctl, groupDigits(rate))
}

// push opens e.idleConns idle connections, learns their ids, and POSTs to
// @connections at rate for the measured phase.
func (e *env) push(rate float64) (sample, error) {
	r, err := loadgen.Run(e.ctx, loadgen.Config{
		URL: e.gw.url(apiPush), Connections: e.idleConns, Mode: loadgen.Idle,
		Duration: e.duration, Warmup: e.warmup,
		Push: &loadgen.PushConfig{Endpoint: e.gw.endpoint(apiPush), Rate: rate, IDFrom: "connectionId"},
	})
	if err != nil {
		return sample{}, err
	}
	if r.Connections.Opened == 0 || r.Push == nil {
		return sample{}, fmt.Errorf("no connection opened (handshake statuses %v, errors %v)", r.Connections.HandshakeStatus, r.Errors)
	}
	p := r.Push
	s := sample{
		Value: p.Throughput,
		P50:   p.Latency.P50, P90: p.Latency.P90, P99: p.Latency.P99, P999: p.Latency.P999, Max: p.Latency.Max,
		Errors: int(p.TimedOut),
		Extra:  map[string]float64{"connections": float64(r.Connections.Opened)},
	}
	for _, n := range p.Failed {
		s.Errors += n
	}
	return s, nil
}

// isolation runs W1's load on the isolation API while a slow consumer and
// slowloris handshakes run beside it, and checks how the gateway closed
// the slow consumer (W9). Extra["1008"] is 1 when the gateway reported
// 1008 for a connection ($disconnect's disconnectStatusCode), and
// Extra["client close"] the close code the slow consumer itself read.
func (e *env) isolation(template string) (sample, error) {
	e.be.disconnectCodes() // forget earlier runs'
	stop := make(chan struct{})
	loris := 100
	if e.smoke {
		loris = 10
	}
	waitLoris, err := slowloris(e.ctx, e.gw.addr, "/"+apiIsol+"/"+benchStage, loris, 100*time.Millisecond, stop)
	if err != nil {
		return sample{}, err
	}
	sc, err := startSlowConsumer(e.ctx, e.gw.url(apiIsol), time.Millisecond, stop)
	if err != nil {
		close(stop)
		waitLoris()
		return sample{}, err
	}
	s, runErr := e.closedLoop(e.gw.url(apiIsol), e.connections, template)
	close(stop)
	waitLoris()
	<-sc.done
	if runErr != nil {
		return sample{}, runErr
	}
	// The gateway calls $disconnect once the slow consumer's connection
	// has ended; give it a moment.
	saw1008 := 0.0
	deadline := time.Now().Add(5 * time.Second)
	seen := map[int]int{}
	for time.Now().Before(deadline) {
		for code, n := range e.be.disconnectCodes() {
			seen[code] += n
		}
		if seen[1008] > 0 {
			saw1008 = 1
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.Extra = map[string]float64{"1008": saw1008, "client close": float64(sc.closeCode), "slow sent": float64(sc.sent.Load())}
	return s, nil
}

// idleEcho measures the echo baseline's resident memory per idle
// connection in a fresh process.
func (e *env) idleEcho() (sample, error) {
	p, err := startEcho(e.ctx)
	if err != nil {
		return sample{}, err
	}
	defer p.stop(10 * time.Second)
	return e.idleSoak(p.server, p.url(), nil)
}

// idleGateway measures wsgwctl's resident memory per idle connection in a
// fresh `wsgwctl serve` process.
func (e *env) idleGateway() (sample, error) {
	st, err := benchState(benchAPIs(e.be.url()))
	if err != nil {
		return sample{}, err
	}
	dir, err := tempDir(e.tmp, "w7-")
	if err != nil {
		return sample{}, err
	}
	g, err := startGateway(e.ctx, e.wsgwctl, dir, st)
	if err != nil {
		return sample{}, err
	}
	defer g.stop(30 * time.Second)
	return e.idleSoak(g.server, g.url(apiMock), func(n int) error { return g.waitConnections(e.ctx, n) })
}

// idleSoak opens e.maxIdle idle connections to url and returns the growth
// of the server process's resident set divided by their number. A first
// batch of connections is opened and closed before the reference reading,
// so that code paths and pools that any connection warms up are not
// charged to the idle connections. registered, when set, waits until the
// server counts n connections.
func (e *env) idleSoak(p *server, url string, registered func(n int) error) (sample, error) {
	warm, err := openIdle(e.ctx, url, min(200, e.maxIdle))
	if err != nil {
		return sample{}, err
	}
	closeAll(warm)
	if registered != nil {
		if err := registered(0); err != nil {
			return sample{}, err
		}
	}
	settle := time.Second
	if e.smoke {
		settle = 200 * time.Millisecond
	}
	time.Sleep(settle)
	before, err := rss(p.pid())
	if err != nil {
		return sample{}, err
	}
	conns, err := openIdle(e.ctx, url, e.maxIdle)
	if err != nil {
		return sample{}, err
	}
	defer closeAll(conns)
	if registered != nil {
		if err := registered(len(conns)); err != nil {
			return sample{}, err
		}
	}
	time.Sleep(settle)
	after, err := rss(p.pid())
	if err != nil {
		return sample{}, err
	}
	return sample{
		Value: float64(after-before) / float64(len(conns)),
		Extra: map[string]float64{"connections": float64(len(conns)), "rss before": float64(before), "rss after": float64(after)},
	}, nil
}

// waitConnections polls the gateway's /status until it counts n open
// connections.
func (g *gatewayProc) waitConnections(ctx context.Context, n int) error {
	deadline := time.Now().Add(30 * time.Second)
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		got, err := g.openConnections(ctx, client)
		if err == nil && got == n {
			return nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("the gateway counts %d open connections", got)
			}
			return fmt.Errorf("wait for %d open connections: %w", n, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// openConnections reads the gateway's count of open connections from its
// admin /status.
func (g *gatewayProc) openConnections(ctx context.Context, client *http.Client) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+g.admin+"/status", nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var status struct {
		Totals struct {
			Connections int `json:"connections"`
		} `json:"totals"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&status); err != nil {
		return 0, fmt.Errorf("read gateway status: %w", err)
	}
	return status.Totals.Connections, nil
}
