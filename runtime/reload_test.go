package runtime

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/gobwas/ws"

	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/state"
)

// reloadLatencyBound is how long the reload tests wait for a new state to
// serve after its file was renamed into place. D-46 promises one second;
// the bound is wider so that a loaded CI machine running -race does not
// fail the test, and the measured latency is logged.
const reloadLatencyBound = 3 * time.Second

// taggedLambda is a Lambda-style backend that answers every MESSAGE event
// with "TAG GEN BODY", where GEN is the last segment of the request path.
// The integration uri of each deployment names its generation, so a reply
// says exactly which deployment handled the message. It keeps no record of
// requests, so it can take any number of them.
func taggedLambda(t testing.TB, tag string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev events.APIGatewayWebsocketProxyRequest
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		gen := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"statusCode": 200, "body": tag + " " + gen + " " + ev.Body})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// reloadFixture is an API "chat" whose generations alternate between two
// tagged backends: generation g's $default route calls the "old" backend
// when g is even and the "new" one when g is odd, at the path /g/{g}. Every
// generation has a $disconnect route to a recording backend.
type reloadFixture struct {
	old, new *httptest.Server
	disc     *backend
	states   []*state.State
}

func newReloadFixture(t testing.TB, generations int, stages ...string) *reloadFixture {
	t.Helper()
	f := &reloadFixture{old: taggedLambda(t, "old"), new: taggedLambda(t, "new"), disc: newBackend(t, nil)}
	routes, integrations := f.deployment(0)
	api := &model.API{Name: "chat", Routes: routes, Integrations: integrations}
	for _, s := range stages {
		api.Stages = append(api.Stages, &model.Stage{Name: s, DefaultRouteSettings: model.DefaultRouteSettings()})
	}
	f.states = append(f.states, newState(t, api))
	for g := 1; g < generations; g++ {
		routes, integrations := f.deployment(g)
		f.states = append(f.states, nextState(t, f.states[g-1], "chat", fmt.Sprintf("d-%010d", g+1), routes, integrations))
	}
	return f
}

// tag names the backend that generation g calls.
func (f *reloadFixture) tag(g int) string {
	if g%2 == 0 {
		return "old"
	}
	return "new"
}

// deployment returns generation g's routes and integrations.
func (f *reloadFixture) deployment(g int) ([]*model.Route, []*model.Integration) {
	url := f.old.URL
	if g%2 == 1 {
		url = f.new.URL
	}
	integrations := []*model.Integration{
		{Name: "fn", Type: model.IntegrationAWSProxy, URI: model.LiteralTemplate(url + "/g/" + strconv.Itoa(g)),
			Method: http.MethodPost, TimeoutMS: 29000, PassthroughBehavior: model.PassthroughWhenNoMatch},
		{Name: "disc", Type: model.IntegrationAWSProxy, URI: model.LiteralTemplate(f.disc.URL),
			Method: http.MethodPost, TimeoutMS: 29000, PassthroughBehavior: model.PassthroughWhenNoMatch},
	}
	routes := []*model.Route{
		{Key: "$default", Integration: "fn", TwoWay: true, Authorization: model.AuthorizationNone},
		{Key: "$disconnect", Integration: "disc", Authorization: model.AuthorizationNone},
	}
	return routes, integrations
}

// parseReply splits a tagged reply into its tag, generation and body.
func parseReply(reply string) (tag string, gen int, body string, err error) {
	parts := strings.SplitN(reply, " ", 3)
	if len(parts) != 3 {
		return "", 0, "", fmt.Errorf("reply %q is not a tagged backend answer", reply)
	}
	gen, err = strconv.Atoi(parts[1])
	if err != nil {
		return "", 0, "", fmt.Errorf("reply %q: %w", reply, err)
	}
	return parts[0], gen, parts[2], nil
}

// loadClient is one of many clients of the reload test, driven from its own
// goroutine, so it reports errors instead of failing the test.
type loadClient struct {
	id   int
	conn net.Conn
	br   *bufio.Reader
}

func dialLoadClient(t testing.TB, url string, id int) *loadClient {
	t.Helper()
	c := dial(t, url, nil)
	return &loadClient{id: id, conn: c.conn, br: c.br}
}

// roundTrip sends text and returns the next data message. A close frame, a
// read error or a fragmented reply is an error.
func (c *loadClient) roundTrip(text string) (string, error) {
	_ = c.conn.SetDeadline(time.Now().Add(testTimeout))
	if err := ws.WriteFrame(c.conn, ws.MaskFrame(ws.NewTextFrame([]byte(text)))); err != nil {
		return "", fmt.Errorf("client %d: send %q: %w", c.id, text, err)
	}
	return c.readData()
}

func (c *loadClient) readData() (string, error) {
	for {
		h, err := ws.ReadHeader(c.br)
		if err != nil {
			return "", fmt.Errorf("client %d: the connection was dropped: %w", c.id, err)
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(c.br, p); err != nil {
			return "", fmt.Errorf("client %d: the connection was dropped: %w", c.id, err)
		}
		switch {
		case h.OpCode == ws.OpClose:
			code, reason := ws.ParseCloseFrameData(p)
			return "", fmt.Errorf("client %d: the gateway closed the connection with %d %q", c.id, code, reason)
		case h.OpCode.IsControl():
			continue
		case !h.Fin || h.OpCode != ws.OpText:
			return "", fmt.Errorf("client %d: unexpected frame %v fin=%v %q", c.id, h.OpCode, h.Fin, p)
		}
		return string(p), nil
	}
}

// TestReloadUnderLoad is RT-30's acceptance test: 200 clients keep sending
// while the state is loaded 20 times. No connection drops, every message is
// answered exactly once by a deployment that was being served while it was
// in flight, and once the last Load has returned, every client's next
// message is answered by the final deployment.
func TestReloadUnderLoad(t *testing.T) {
	const (
		clients = 200
		reloads = 20
	)
	f := newReloadFixture(t, reloads+1)
	g := startGateway(t, f.states[0], Options{})

	conns := make([]*loadClient, clients)
	for i := range conns {
		conns[i] = dialLoadClient(t, g.url("/chat/test"), i)
	}

	// applied is the newest generation whose Load has returned, loading the
	// newest whose Load has begun. A message sent when applied was a and
	// answered when loading was l was handled by a generation in [a, l].
	var applied, loading atomic.Int64
	var answered atomic.Int64
	progress := make(chan struct{}, 1)
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				before := applied.Load()
				msg := fmt.Sprintf("c%d-m%d", c.id, n)
				reply, err := c.roundTrip(msg)
				if err != nil {
					errs <- fmt.Errorf("RT-30: %w", err)
					return
				}
				after := loading.Load()
				tag, gen, body, err := parseReply(reply)
				switch {
				case err != nil:
					errs <- fmt.Errorf("RT-30: client %d: %w", c.id, err)
					return
				case body != msg:
					errs <- fmt.Errorf("RT-30: client %d sent %q and got the answer to %q (lost or duplicated message)", c.id, msg, body)
					return
				case int64(gen) < before || int64(gen) > after:
					errs <- fmt.Errorf("RT-30: client %d: %q was answered by generation %d, but generations %d..%d were served while it was in flight", c.id, msg, gen, before, after)
					return
				case tag != f.tag(gen):
					errs <- fmt.Errorf("RT-30: client %d: generation %d answered from the %q backend, want %q", c.id, gen, tag, f.tag(gen))
					return
				}
				answered.Add(1)
				select {
				case progress <- struct{}{}:
				default:
				}
				if before == reloads {
					// This message was sent after the last Load returned and
					// the final deployment answered it.
					return
				}
			}
		}()
	}

	// waitAnswers waits until at least n messages have been answered.
	waitAnswers := func(n int64) {
		t.Helper()
		deadline := time.NewTimer(testTimeout)
		defer deadline.Stop()
		for answered.Load() < n {
			select {
			case <-progress:
			case err := <-errs:
				t.Fatal(err)
			case <-deadline.C:
				t.Fatalf("RT-30: only %d of %d messages answered within %s", answered.Load(), n, testTimeout)
			}
		}
	}

	start := time.Now()
	for gen := 1; gen <= reloads; gen++ {
		// Let every client get about one more answer between reloads, so
		// that reloads land while messages are in flight.
		waitAnswers(answered.Load() + clients)
		loading.Store(int64(gen))
		if err := g.srv.Load(f.states[gen]); err != nil {
			t.Fatalf("Load generation %d: %v", gen, err)
		}
		applied.Store(int64(gen))
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(testTimeout):
		t.Fatalf("RT-30: clients did not all get an answer from the final deployment within %s", testTimeout)
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	t.Logf("%d messages answered over %d reloads with %d clients in %s", answered.Load(), reloads, clients, time.Since(start).Round(time.Millisecond))

	// No $disconnect ran while the clients were connected.
	if n := len(f.disc.events); n != 0 {
		t.Fatalf("RT-30: %d $disconnect events while every client was still connected", n)
	}
	// Each client's next frame is the echo of its close frame: no message
	// was answered twice.
	for _, c := range conns {
		_ = c.conn.SetDeadline(time.Now().Add(testTimeout))
		if err := ws.WriteFrame(c.conn, ws.MaskFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(1000, "done")))); err != nil {
			t.Fatalf("client %d: send close: %v", c.id, err)
		}
	}
	for _, c := range conns {
		h, err := ws.ReadHeader(c.br)
		if err != nil {
			t.Fatalf("client %d: read close echo: %v", c.id, err)
		}
		if h.OpCode != ws.OpClose {
			t.Fatalf("RT-30: client %d got an extra %v frame after its last answer (a message answered twice)", c.id, h.OpCode)
		}
	}
	for range clients {
		ev, _ := f.disc.nextEvent(t, "DISCONNECT")
		if ev.RequestContext.DisconnectStatusCode != 1000 {
			t.Fatalf("RT-13: $disconnect status %d, want 1000", ev.RequestContext.DisconnectStatusCode)
		}
	}
}

// expectTagged sends msg on c and checks that generation gen answers it.
func expectTagged(t *testing.T, f *reloadFixture, c *wsClient, msg string, gen int) {
	t.Helper()
	c.send(msg)
	reply := c.readText()
	if want := f.tag(gen) + " " + strconv.Itoa(gen) + " " + msg; reply != want {
		t.Fatalf("RT-30: %q answered %q, want %q (generation %d)", msg, reply, want, gen)
	}
}

// TestReloadBadStateKeepsServing checks RT-30's last clause for Load: a
// state that does not compile is refused and the state served before keeps
// serving its live connections and new ones.
func TestReloadBadStateKeepsServing(t *testing.T) {
	f := newReloadFixture(t, 2)
	g := startGateway(t, f.states[0], Options{})
	c := dial(t, g.url("/chat/test"), nil)
	expectTagged(t, f, c, "before", 0)

	tests := []struct {
		name   string
		mutate func(st *state.State)
	}{
		{"stage runs a deployment missing from history", func(st *state.State) {
			st.API("chat").StageDeployments["test"] = "d-9999999999"
		}},
		{"route selection expression does not parse", func(st *state.State) {
			a := st.API("chat")
			a.Newest().Snapshot.RouteSelectionExpression = "${request.body"
		}},
		{"route uses an integration the deployment lacks", func(st *state.State) {
			a := st.API("chat")
			a.Newest().Snapshot.Routes[0].Integration = "missing"
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := f.states[1].Clone()
			tt.mutate(bad)
			if err := g.srv.Load(bad); err == nil {
				t.Fatal("RT-30: Load accepted a state that cannot be compiled")
			}
			if serial, _ := g.srv.Serial(); serial != f.states[0].Serial {
				t.Fatalf("RT-30: served serial %d after a failed Load, want %d", serial, f.states[0].Serial)
			}
			expectTagged(t, f, c, "live-"+strconv.Itoa(i), 0)
			fresh := dial(t, g.url("/chat/test"), nil)
			expectTagged(t, f, fresh, "fresh-"+strconv.Itoa(i), 0)
		})
	}
	if err := g.srv.Load(f.states[1]); err != nil {
		t.Fatal(err)
	}
	expectTagged(t, f, c, "after", 1)
}

// TestReloadRemovedStage checks RT-30 for a stage that the new state no
// longer has: its connections are closed with 1001 "Going away" (D-34) and
// the other stage's connections stay open and are served.
func TestReloadRemovedStage(t *testing.T) {
	f := newReloadFixture(t, 1, "a", "b")
	g := startGateway(t, f.states[0], Options{})
	a := dial(t, g.url("/chat/a"), nil)
	b := dial(t, g.url("/chat/b"), nil)
	expectTagged(t, f, a, "a1", 0)
	expectTagged(t, f, b, "b1", 0)

	next := f.states[0].Clone()
	next.Serial++
	api := next.API("chat")
	api.Config.Stages = api.Config.Stages[:1]
	delete(api.StageDeployments, "b")
	if err := g.srv.Load(next); err != nil {
		t.Fatal(err)
	}
	b.expectClose(1001, "Going away")
	b.close(1001, "")
	b.expectEOF()
	expectTagged(t, f, a, "a2", 0)
	if got := dialStatus(t, g.url("/chat/b"), nil); got != http.StatusNotFound {
		t.Fatalf("RT-30: handshake to the removed stage: HTTP %d, want 404", got)
	}

	t.Run("disconnect", func(t *testing.T) {
		// RT-13: $disconnect runs for every accepted connection, whichever
		// side closed it.
		select {
		case r := <-f.disc.events:
			ev := r.event(t)
			reason := ""
			if ev.RequestContext.DisconnectReason != nil {
				reason = *ev.RequestContext.DisconnectReason
			}
			if ev.RequestContext.Stage != "b" || ev.RequestContext.DisconnectStatusCode != 1001 || reason != "Going away" {
				t.Fatalf("RT-13: $disconnect of the removed stage: stage %q, %d %q; want b, 1001 \"Going away\"",
					ev.RequestContext.Stage, ev.RequestContext.DisconnectStatusCode, reason)
			}
		case <-time.After(testTimeout):
			t.Fatalf("RT-13: no $disconnect for a connection of a stage removed by reload within %s", testTimeout)
		}
	})
}

// writeStateFile writes st to path the way apply does: to a temporary file
// in the same directory, then renamed over path.
func writeStateFile(t testing.TB, path string, data []byte) {
	t.Helper()
	tmp, err := os.CreateTemp(filepath.Dir(path), ".state-*.tmp")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tmp.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := tmp.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		t.Fatal(err)
	}
}

func encodeState(t testing.TB, st *state.State) []byte {
	t.Helper()
	data, err := state.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestWatchStateFile checks RT-30 and D-46 through the state file: a state
// renamed into place serves within a second, live connections stay open,
// and a corrupt or uncompilable file is reported while the state served
// before keeps serving.
func TestWatchStateFile(t *testing.T) {
	f := newReloadFixture(t, 3)
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	writeStateFile(t, path, encodeState(t, f.states[0]))

	g := startGateway(t, f.states[0], Options{})
	ctx, cancel := context.WithCancel(context.Background())
	watchErrs := make(chan error, 16)
	watching := make(chan struct{})
	go func() {
		defer close(watching)
		g.srv.WatchStateFile(ctx, path, 0, func(err error) { watchErrs <- err })
	}()
	t.Cleanup(func() {
		cancel()
		<-watching
	})
	c := dial(t, g.url("/chat/test"), nil)
	expectTagged(t, f, c, "start", 0)

	// awaitGeneration sends messages until generation gen answers one, and
	// returns how long after since that took.
	awaitGeneration := func(gen int, since time.Time) time.Duration {
		t.Helper()
		for n := 0; ; n++ {
			msg := "poll-" + strconv.Itoa(n)
			c.send(msg)
			tag, got, body, err := parseReply(c.readText())
			if err != nil || body != msg {
				t.Fatalf("RT-30: poll %q: %v %q", msg, err, body)
			}
			if got == gen && tag == f.tag(gen) {
				return time.Since(since)
			}
			if d := time.Since(since); d > reloadLatencyBound {
				t.Fatalf("D-46: generation %d not served %s after the state file was renamed (still generation %d)", gen, d, got)
			}
		}
	}

	renamed := time.Now()
	writeStateFile(t, path, encodeState(t, f.states[1]))
	latency := awaitGeneration(1, renamed)
	t.Logf("D-46: new state served %s after the rename (watch interval %s)", latency.Round(time.Millisecond), DefaultWatchInterval)

	bad := f.states[2].Clone()
	bad.API("chat").Newest().Snapshot.RouteSelectionExpression = "${request.body"
	tests := []struct {
		name string
		data []byte
	}{
		{"corrupt JSON", []byte(`{"version": 1, "lineage": `)},
		{"future version", []byte(`{"version": 999, "lineage": "x", "serial": 9}`)},
		{"does not compile", encodeState(t, bad)},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writeStateFile(t, path, tt.data)
			select {
			case err := <-watchErrs:
				t.Logf("reported: %v", err)
			case <-time.After(testTimeout):
				t.Fatal("RT-30: a state file that fails to load was not reported")
			}
			expectTagged(t, f, c, "still-"+strconv.Itoa(i), 1)
		})
	}

	renamed = time.Now()
	writeStateFile(t, path, encodeState(t, f.states[2]))
	latency = awaitGeneration(2, renamed)
	t.Logf("D-46: state served %s after the rename that replaced a broken file", latency.Round(time.Millisecond))
	select {
	case err := <-watchErrs:
		t.Fatalf("RT-30: a good state file was reported: %v", err)
	default:
	}
}
