package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/gobwas/ws"
	"go.uber.org/goleak"

	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/state"
)

// shutdownGateway is a gateway whose test shuts it down itself, so that it
// can watch Serve's result and what happens meanwhile.
type shutdownGateway struct {
	srv    *Server
	addr   string
	served chan error
	ignore goleak.Option
}

func startShutdownGateway(t *testing.T, st *state.State, opts Options) *shutdownGateway {
	t.Helper()
	g := &shutdownGateway{ignore: goleak.IgnoreCurrent(), srv: NewServer(opts), served: make(chan error, 1)}
	if err := g.srv.Load(st); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g.addr = ln.Addr().String()
	go func() { g.served <- g.srv.Serve(ln) }()
	t.Cleanup(func() {
		// A test that failed early has not shut the gateway down.
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		_ = g.srv.Shutdown(ctx)
	})
	return g
}

// serveResult returns what Serve returned, failing when it has not.
func (g *shutdownGateway) serveResult(t *testing.T) error {
	t.Helper()
	select {
	case err := <-g.served:
		return err
	case <-time.After(testTimeout):
		t.Fatal("RT-31: Serve did not return after Shutdown")
		return nil
	}
}

// verifyNoLeaks checks that no goroutine started since the gateway is left.
func (g *shutdownGateway) verifyNoLeaks(t *testing.T) {
	t.Helper()
	// Backends' keep-alive connections belong to the transports, not the
	// gateway.
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	if err := goleak.Find(g.ignore); err != nil {
		t.Fatalf("RT-31: goroutines left after Shutdown: %v", err)
	}
}

// TestShutdownClosesEveryConnection checks RT-31 and D-46: Shutdown closes
// every connection with 1001 "Going away", refuses new handshakes, runs
// every $disconnect before it returns, Serve returns nil and no goroutine
// is left.
func TestShutdownClosesEveryConnection(t *testing.T) {
	const n = 20
	disc := newBackend(t, nil)
	api := proxyAPI("chat", disc.URL, &model.Route{Key: "$disconnect"}, &model.Route{Key: "$default"})
	g := startShutdownGateway(t, newState(t, api), Options{})
	url := "ws://" + g.addr + "/chat/test"
	clients := make([]*wsClient, n)
	for i := range clients {
		clients[i] = dial(t, url, nil)
	}

	shutdown := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		shutdown <- g.srv.Shutdown(ctx)
	}()
	for _, c := range clients {
		c.expectClose(1001, "Going away")
	}
	// Every connection has its close frame and none has answered: Shutdown
	// is under way, and the gateway takes no new connection.
	select {
	case err := <-shutdown:
		t.Fatalf("RT-31: Shutdown returned (%v) before the clients answered its close frames", err)
	default:
	}
	if c, err := tryDial(t, url, nil); err == nil {
		_ = c.conn.Close()
		t.Fatal("RT-31: a handshake succeeded during Shutdown")
	}
	if g.srv.Ready() {
		t.Fatal("D-32: Ready during Shutdown")
	}
	for _, c := range clients {
		c.close(1001, "")
		c.expectEOF()
	}

	select {
	case err := <-shutdown:
		if err != nil {
			t.Fatalf("RT-31: Shutdown: %v", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("RT-31: Shutdown did not return")
	}
	// D-46: every $disconnect was made before Shutdown returned.
	if got := len(disc.events); got != n {
		t.Fatalf("D-46: %d $disconnect calls had reached the backend when Shutdown returned, want %d", got, n)
	}
	seen := map[string]bool{}
	for range n {
		ev := disc.next(t).event(t)
		rc := ev.RequestContext
		if rc.EventType != "DISCONNECT" || rc.DisconnectStatusCode != 1001 || rc.DisconnectReason == nil || *rc.DisconnectReason != "Going away" {
			t.Fatalf("RT-13: $disconnect after Shutdown: %s %d %v, want DISCONNECT 1001 \"Going away\"", rc.EventType, rc.DisconnectStatusCode, rc.DisconnectReason)
		}
		seen[rc.ConnectionID] = true
	}
	if len(seen) != n {
		t.Fatalf("RT-31: $disconnect ran for %d distinct connections, want %d", len(seen), n)
	}
	if err := g.serveResult(t); err != nil {
		t.Fatalf("RT-31: Serve returned %v after Shutdown, want nil", err)
	}
	if err := g.srv.Serve(newClosedListener(t)); err != nil {
		t.Fatalf("RT-31: Serve after Shutdown returned %v, want nil", err)
	}
	g.verifyNoLeaks(t)
}

// newClosedListener returns a listener that is already closed: Serve after
// Shutdown must not touch it.
func newClosedListener(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_ = ln.Close()
	return ln
}

// TestShutdownDeadline checks RT-31's grace period: when a $disconnect
// backend does not answer, Shutdown returns its context's error at the
// deadline, and once the backend is released no goroutine is left.
func TestShutdownDeadline(t *testing.T) {
	const n = 3
	release := make(chan struct{})
	entered := make(chan struct{}, n)
	disc := newBackend(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		entered <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
			<-release
		}
	})
	released := false
	releaseBackend := func() {
		if !released {
			released = true
			close(release)
		}
	}
	t.Cleanup(releaseBackend)
	api := proxyAPI("chat", disc.URL, &model.Route{Key: "$disconnect"}, &model.Route{Key: "$default"})
	g := startShutdownGateway(t, newState(t, api), Options{CloseTimeout: 200 * time.Millisecond})
	clients := make([]*wsClient, n)
	for i := range clients {
		clients[i] = dial(t, "ws://"+g.addr+"/chat/test", nil)
	}
	// The clients answer the gateway's close frames at once.
	answered := make(chan error, n)
	for _, c := range clients {
		go func() {
			for {
				f, err := c.tryReadFrame()
				if err != nil {
					answered <- err
					return
				}
				if f.op == ws.OpClose {
					_ = c.conn.SetWriteDeadline(time.Now().Add(testTimeout))
					answered <- ws.WriteFrame(c.conn, ws.MaskFrame(ws.NewCloseFrame(f.payload)))
					return
				}
			}
		}()
	}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := g.srv.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("RT-31: Shutdown with a blocked $disconnect returned %v, want %v", err, context.DeadlineExceeded)
	}
	if d := time.Since(start); d > testTimeout/2 {
		t.Fatalf("RT-31: Shutdown took %s with a 300ms grace period", d)
	}
	for range n {
		select {
		case <-entered:
		case <-time.After(testTimeout):
			t.Fatal("RT-31: not every $disconnect was called before the deadline")
		}
	}
	for range n {
		if err := <-answered; err != nil {
			t.Fatalf("client: %v", err)
		}
	}
	if err := g.serveResult(t); err != nil {
		t.Fatalf("RT-31: Serve returned %v after Shutdown, want nil", err)
	}
	releaseBackend()
	g.verifyNoLeaks(t)
	// A second Shutdown has nothing left to wait for.
	if err := g.srv.Shutdown(context.Background()); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
}

// TestShutdownDuringSlowConnect checks RT-31 when a handshake's $connect is
// still running: the open connections are closed with 1001 at once rather
// than after that handshake ends, and the connection that $connect accepts
// late is closed the same way, with every $disconnect run before Shutdown
// returns.
func TestShutdownDuringSlowConnect(t *testing.T) {
	release := make(chan struct{})
	connecting := make(chan struct{}, 1)
	fn := newBackend(t, func(w http.ResponseWriter, _ *http.Request, body []byte) {
		var ev events.APIGatewayWebsocketProxyRequest
		_ = json.Unmarshal(body, &ev)
		if ev.RequestContext.EventType == "CONNECT" && ev.QueryStringParameters["slow"] != "" {
			connecting <- struct{}{}
			<-release
		}
	})
	api := proxyAPI("chat", fn.URL, &model.Route{Key: "$connect"}, &model.Route{Key: "$disconnect"}, &model.Route{Key: "$default"})
	g := startShutdownGateway(t, newState(t, api), Options{})
	var releaseOnce sync.Once
	releaseConnect := func() { releaseOnce.Do(func() { close(release) }) }
	// Runs before the gateway's cleanup, which would wait for the handshake.
	t.Cleanup(releaseConnect)
	url := "ws://" + g.addr + "/chat/test"
	const n = 3
	clients := make([]*wsClient, n)
	for i := range clients {
		clients[i] = dial(t, url, nil)
	}
	type dialed struct {
		c   *wsClient
		err error
	}
	slowDial := make(chan dialed, 1)
	go func() {
		c, err := tryDial(t, url+"?slow=1", nil)
		slowDial <- dialed{c, err}
	}()
	select {
	case <-connecting:
	case <-time.After(testTimeout):
		t.Fatal("the slow $connect was not called")
	}

	shutdown := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		shutdown <- g.srv.Shutdown(ctx)
	}()
	for _, c := range clients {
		c.expectClose(1001, "Going away")
		c.close(1001, "")
		c.expectEOF()
	}
	releaseConnect()
	d := <-slowDial
	if d.err != nil {
		t.Fatalf("RT-10: the handshake whose $connect accepted during Shutdown failed: %v", d.err)
	}
	d.c.expectClose(1001, "Going away")
	d.c.close(1001, "")
	d.c.expectEOF()
	if err := <-shutdown; err != nil {
		t.Fatalf("RT-31: Shutdown: %v", err)
	}
	disconnects := 0
	for len(fn.events) > 0 {
		if ev := (<-fn.events).event(t); ev.RequestContext.EventType == "DISCONNECT" {
			disconnects++
		}
	}
	if disconnects != n+1 {
		t.Fatalf("D-46: %d $disconnect calls before Shutdown returned, want %d", disconnects, n+1)
	}
	if err := g.serveResult(t); err != nil {
		t.Fatalf("RT-31: Serve: %v", err)
	}
	g.verifyNoLeaks(t)
}
