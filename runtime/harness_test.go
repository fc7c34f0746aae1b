package runtime

// The gateway test harness: applied states built from model values, a
// server on 127.0.0.1:0, recording Lambda-style and HTTP backends, and a raw
// WebSocket client that can send any frame. Every test that starts a gateway
// through it checks, at cleanup, that Shutdown left no goroutine behind.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/gobwas/ws"
	"go.uber.org/goleak"

	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/state"
)

// testTimeout bounds every wait of a test; reaching it is a failure, never
// part of the expected sequence.
const testTimeout = 10 * time.Second

// testDeploymentID is the deployment id newState gives every API.
const testDeploymentID = "d-0000000001"

// newState returns an applied state serving apis: each API gets a fixed id
// and one deployment of its routes, which all of its stages run. An API
// without stages gets a stage "test".
func newState(t testing.TB, apis ...*model.API) *state.State {
	t.Helper()
	st := &state.State{Version: state.Version, Lineage: "11111111-2222-4333-8444-555555555555", Serial: 1}
	for i, api := range apis {
		if api.Protocol == "" {
			api.Protocol = "WEBSOCKET"
		}
		if api.RouteSelectionExpression == "" {
			api.RouteSelectionExpression = "$request.body.action"
		}
		if api.APIKeySelectionExpression == "" {
			api.APIKeySelectionExpression = "$request.header.x-api-key"
		}
		if len(api.Stages) == 0 {
			api.Stages = []*model.Stage{{Name: "test", DefaultRouteSettings: model.DefaultRouteSettings()}}
		}
		for _, s := range api.Stages {
			// The configuration loader fills every default in (D-19); a
			// zero throttle would refuse everything (RT-25).
			if s.DefaultRouteSettings == (model.RouteSettings{}) {
				s.DefaultRouteSettings = model.DefaultRouteSettings()
			}
		}
		for _, r := range api.Routes {
			if r.Authorization == "" {
				r.Authorization = model.AuthorizationNone
			}
		}
		for _, in := range api.Integrations {
			if in.Method == "" {
				in.Method = http.MethodPost
			}
			if in.TimeoutMS == 0 {
				in.TimeoutMS = 29000
			}
			if in.PassthroughBehavior == "" {
				in.PassthroughBehavior = model.PassthroughWhenNoMatch
			}
		}
		a := &state.API{
			ID:               "api" + string(rune('a'+i)) + "0000000"[:6],
			Config:           api,
			StageDeployments: map[string]string{},
			Deployments: []*state.Deployment{{
				ID:        testDeploymentID,
				CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
				Snapshot: model.DeploymentSnapshot{
					RouteSelectionExpression:  api.RouteSelectionExpression,
					APIKeySelectionExpression: api.APIKeySelectionExpression,
					Routes:                    api.Routes,
					Integrations:              api.Integrations,
					Authorizers:               api.Authorizers,
					Models:                    api.Models,
				},
			}},
		}
		for _, s := range api.Stages {
			a.StageDeployments[s.Name] = testDeploymentID
		}
		st.APIs = append(st.APIs, a)
	}
	return st
}

// nextState returns a copy of st with a new serial, whose API named api runs
// a new deployment id of the given routes and integrations on every stage.
func nextState(t testing.TB, st *state.State, apiName, deploymentID string, routes []*model.Route, integrations []*model.Integration) *state.State {
	t.Helper()
	next := st.Clone()
	next.Serial++
	a := next.API(apiName)
	if a == nil {
		t.Fatalf("nextState: no API %q", apiName)
	}
	old := a.Newest().Snapshot
	snap := old
	snap.Routes, snap.Integrations = routes, integrations
	a.Deployments = append(a.Deployments, &state.Deployment{ID: deploymentID, CreatedAt: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), Snapshot: snap})
	for name := range a.StageDeployments {
		a.StageDeployments[name] = deploymentID
	}
	return next
}

// testGateway is a running Server.
type testGateway struct {
	t    testing.TB
	srv  *Server
	addr string
	done chan error
	once sync.Once
}

// startGateway serves st on 127.0.0.1:0 until the test ends. Cleanup shuts
// the server down and verifies that no goroutine is left.
func startGateway(t testing.TB, st *state.State, opts Options) *testGateway {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	if opts.NewConnectionsPerIP == 0 {
		// Every test client comes from 127.0.0.1; tests of the limit set
		// it themselves.
		opts.NewConnectionsPerIP = 1 << 20
	}
	srv := NewServer(opts)
	if err := srv.Load(st); err != nil {
		t.Fatalf("Load: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &testGateway{t: t, srv: srv, addr: ln.Addr().String(), done: make(chan error, 1)}
	go func() { g.done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		g.shutdown()
		goleak.VerifyNone(t, ignore)
	})
	return g
}

// shutdown stops the gateway and waits for Serve to return.
func (g *testGateway) shutdown() {
	g.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := g.srv.Shutdown(ctx); err != nil {
			g.t.Errorf("Shutdown: %v", err)
		}
		if err := <-g.done; err != nil {
			g.t.Errorf("Serve: %v", err)
		}
		// Backends' keep-alive connections are the invoker's; close them so
		// that the leak check sees only what the gateway owns.
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	})
}

// url returns the ws:// URL of a path on the gateway.
func (g *testGateway) url(path string) string { return "ws://" + g.addr + path }

// httpURL returns the http:// URL of a path on the gateway.
func (g *testGateway) httpURL(path string) string { return "http://" + g.addr + path }

// wsClient is a WebSocket client that sends raw frames and reads frames one
// by one, so that tests can send what no well-behaved client would.
type wsClient struct {
	t    testing.TB
	conn net.Conn
	br   *bufio.Reader
	// Protocol is the subprotocol the server chose.
	Protocol string
}

// dial connects to url; it fails the test unless the handshake succeeds.
func dial(t testing.TB, url string, header http.Header, protocols ...string) *wsClient {
	t.Helper()
	c, err := tryDial(t, url, header, protocols...)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	return c
}

// tryDial connects to url and returns the handshake's error, such as a
// ws.StatusError carrying the HTTP status of a refused handshake.
func tryDial(t testing.TB, url string, header http.Header, protocols ...string) (*wsClient, error) {
	t.Helper()
	d := ws.Dialer{Timeout: testTimeout, Protocols: protocols}
	if header != nil {
		d.Header = ws.HandshakeHeaderHTTP(header)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	conn, br, hs, err := d.Dial(ctx, url)
	if err != nil {
		return nil, err
	}
	if br == nil {
		br = bufio.NewReader(conn)
	}
	c := &wsClient{t: t, conn: conn, br: br, Protocol: hs.Protocol}
	t.Cleanup(func() { _ = conn.Close() })
	return c, nil
}

// dialStatus returns the HTTP status of a refused handshake, or 101.
func dialStatus(t testing.TB, url string, header http.Header) int {
	t.Helper()
	c, err := tryDial(t, url, header)
	if err == nil {
		_ = c.conn.Close()
		return http.StatusSwitchingProtocols
	}
	var se ws.StatusError
	if errors.As(err, &se) {
		return int(se)
	}
	t.Fatalf("dial %s: %v", url, err)
	return 0
}

// writeFrame sends one masked frame.
func (c *wsClient) writeFrame(op ws.OpCode, fin bool, payload []byte) {
	c.t.Helper()
	f := ws.MaskFrame(ws.NewFrame(op, fin, payload))
	_ = c.conn.SetWriteDeadline(time.Now().Add(testTimeout))
	if err := ws.WriteFrame(c.conn, f); err != nil {
		c.t.Fatalf("write frame: %v", err)
	}
}

// writeRaw sends bytes as they are.
func (c *wsClient) writeRaw(b []byte) {
	c.t.Helper()
	_ = c.conn.SetWriteDeadline(time.Now().Add(testTimeout))
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// send sends a text message in one frame.
func (c *wsClient) send(text string) { c.writeFrame(ws.OpText, true, []byte(text)) }

// frame is a frame the client received.
type frame struct {
	op      ws.OpCode
	fin     bool
	payload []byte
}

// readFrame reads the next frame; it fails the test when none comes in
// testTimeout or the connection ends.
func (c *wsClient) readFrame() frame {
	c.t.Helper()
	f, err := c.tryReadFrame()
	if err != nil {
		c.t.Fatalf("read frame: %v", err)
	}
	return f
}

func (c *wsClient) tryReadFrame() (frame, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(testTimeout))
	h, err := ws.ReadHeader(c.br)
	if err != nil {
		return frame{}, err
	}
	if h.Masked {
		return frame{}, errors.New("server sent a masked frame")
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(c.br, p); err != nil {
		return frame{}, err
	}
	return frame{op: h.OpCode, fin: h.Fin, payload: p}, nil
}

// readText reads the next data message, reassembling fragments, and fails
// unless it is text.
func (c *wsClient) readText() string {
	c.t.Helper()
	op, p := c.readMessage()
	if op != ws.OpText {
		c.t.Fatalf("got a message with opcode %v, want text: %q", op, p)
	}
	return string(p)
}

// readMessage reads the next data message, skipping pongs.
func (c *wsClient) readMessage() (ws.OpCode, []byte) {
	c.t.Helper()
	var op ws.OpCode
	var msg []byte
	for {
		f := c.readFrame()
		switch {
		case f.op == ws.OpPong || f.op == ws.OpPing:
			continue
		case f.op == ws.OpClose:
			code, reason := ws.ParseCloseFrameData(f.payload)
			c.t.Fatalf("got close %d %q while waiting for a message", code, reason)
		case f.op != ws.OpContinuation:
			op = f.op
		}
		msg = append(msg, f.payload...)
		if f.fin {
			return op, msg
		}
	}
}

// expectClose reads until a close frame and checks its code and reason.
// Data frames before it are skipped.
func (c *wsClient) expectClose(code int, reason string) {
	c.t.Helper()
	for {
		f := c.readFrame()
		if f.op != ws.OpClose {
			continue
		}
		gotCode, gotReason := ws.ParseCloseFrameData(f.payload)
		if int(gotCode) != code || gotReason != reason {
			c.t.Fatalf("close frame: got %d %q, want %d %q", gotCode, gotReason, code, reason)
		}
		return
	}
}

// expectEOF checks that the server closes the TCP connection, skipping any
// frames before that.
func (c *wsClient) expectEOF() {
	c.t.Helper()
	for {
		if _, err := c.tryReadFrame(); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				c.t.Fatalf("the server did not close the connection within %s", testTimeout)
			}
			return
		}
	}
}

// close sends a close frame with code and reason (none when code is 0).
func (c *wsClient) close(code int, reason string) {
	c.t.Helper()
	var p []byte
	if code != 0 {
		p = ws.NewCloseFrameBody(ws.StatusCode(code), reason)
	}
	c.writeFrame(ws.OpClose, true, p)
}

// backend records the events an integration receives and answers them.
type backend struct {
	*httptest.Server
	mu     sync.Mutex
	events chan recorded
	// reply answers a request; nil answers 200 with an empty body.
	reply func(w http.ResponseWriter, r *http.Request, body []byte)
}

// recorded is one request a backend received.
type recorded struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
}

// event decodes a recorded AWS_PROXY request body.
func (r recorded) event(t testing.TB) events.APIGatewayWebsocketProxyRequest {
	t.Helper()
	var ev events.APIGatewayWebsocketProxyRequest
	if err := json.Unmarshal(r.Body, &ev); err != nil {
		t.Fatalf("decode event %s: %v", r.Body, err)
	}
	return ev
}

// newBackend starts a recording backend; reply may be nil.
func newBackend(t testing.TB, reply func(w http.ResponseWriter, r *http.Request, body []byte)) *backend {
	t.Helper()
	b := &backend{events: make(chan recorded, 4096), reply: reply}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		b.events <- recorded{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body}
		if b.reply != nil {
			b.reply(w, r, body)
		}
	}))
	t.Cleanup(b.Close)
	return b
}

// next returns the next request the backend received.
func (b *backend) next(t testing.TB) recorded {
	t.Helper()
	select {
	case r := <-b.events:
		return r
	case <-time.After(testTimeout):
		t.Fatalf("backend received nothing within %s", testTimeout)
		return recorded{}
	}
}

// nextEvent returns the next request whose AWS_PROXY event has eventType
// ("CONNECT", "MESSAGE", "DISCONNECT"), skipping others.
func (b *backend) nextEvent(t testing.TB, eventType string) (events.APIGatewayWebsocketProxyRequest, recorded) {
	t.Helper()
	for {
		r := b.next(t)
		ev := r.event(t)
		if ev.RequestContext.EventType == eventType {
			return ev, r
		}
	}
}

// lambdaReply answers with a Lambda proxy result carrying body.
func lambdaReply(statusCode int, body string) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"statusCode": statusCode, "body": body})
	}
}

// echoLambda answers MESSAGE events with their body, and everything else
// with 200.
func echoLambda(w http.ResponseWriter, _ *http.Request, body []byte) {
	var ev events.APIGatewayWebsocketProxyRequest
	_ = json.Unmarshal(body, &ev)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"statusCode": 200, "body": ev.Body})
}

// proxyAPI returns an API named name whose routes all use one AWS_PROXY
// integration at uri; two-way routes answer with the function's body.
func proxyAPI(name, uri string, routes ...*model.Route) *model.API {
	for _, r := range routes {
		if r.Integration == "" {
			r.Integration = "fn"
		}
	}
	return &model.API{
		Name:         name,
		Integrations: []*model.Integration{{Name: "fn", Type: model.IntegrationAWSProxy, URI: model.LiteralTemplate(uri)}},
		Routes:       routes,
	}
}

// errorFrameText is the gateway's error message for a connection and
// request, as RT-21/RT-22 spell it.
func errorFrameText(message, connectionID, requestID string) string {
	return `{"message": "` + message + `", "connectionId":"` + connectionID + `", "requestId":"` + requestID + `"}`
}

// parseErrorFrame extracts the ids of an error frame, failing the test when
// its shape differs from errorFrameText's by a single byte.
func parseErrorFrame(t testing.TB, message, text string) (connectionID, requestID string) {
	t.Helper()
	prefix := `{"message": "` + message + `", "connectionId":"`
	if !strings.HasPrefix(text, prefix) {
		t.Fatalf("error frame %q does not start with %q", text, prefix)
	}
	rest := text[len(prefix):]
	connectionID, rest, _ = strings.Cut(rest, `"`)
	requestID = strings.TrimSuffix(strings.TrimPrefix(rest, `, "requestId":"`), `"}`)
	if want := errorFrameText(message, connectionID, requestID); text != want {
		t.Fatalf("error frame %q, want the shape %q", text, want)
	}
	return connectionID, requestID
}
