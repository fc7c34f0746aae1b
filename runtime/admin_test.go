package runtime

// Tests of the admin handler (RT-3, D-32): liveness, readiness through the
// server's whole life, and the status document.

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/wsgwctl/wsgwctl/config/model"
)

// adminSignalListener closes accepting when Accept is first called, which
// happens after Serve has registered the listener.
type adminSignalListener struct {
	net.Listener
	once      sync.Once
	accepting chan struct{}
}

func (l *adminSignalListener) Accept() (net.Conn, error) {
	l.once.Do(func() { close(l.accepting) })
	return l.Listener.Accept()
}

// adminGet calls the admin handler and returns the status, content type and
// body.
func adminGet(t testing.TB, h http.Handler, path string) (int, string, []byte) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Header().Get("Content-Type"), rec.Body.Bytes()
}

// adminStatus fetches and decodes /status.
func adminStatus(t testing.TB, h http.Handler) Status {
	t.Helper()
	code, ctype, body := adminGet(t, h, "/status")
	if code != http.StatusOK || ctype != "application/json" {
		t.Fatalf("D-32: /status: HTTP %d Content-Type %q", code, ctype)
	}
	var st Status
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("D-32: /status is not JSON: %v\n%s", err, body)
	}
	return st
}

// adminCounts returns the open connections per "api/stage" and the
// deployment per "api/stage" of a status document.
func adminCounts(st Status) (conns map[string]int, deployments map[string]string) {
	conns, deployments = map[string]int{}, map[string]string{}
	for _, a := range st.APIs {
		for _, s := range a.Stages {
			conns[a.Name+"/"+s.Name] = s.Connections
			deployments[a.Name+"/"+s.Name] = s.Deployment
		}
	}
	return conns, deployments
}

func TestD32AdminLifecycle(t *testing.T) {
	var holdDisconnect atomic.Bool
	hold := make(chan struct{})
	fn := newBackend(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		var ev events.APIGatewayWebsocketProxyRequest
		_ = json.Unmarshal(body, &ev)
		if ev.RequestContext.EventType == "DISCONNECT" && holdDisconnect.Load() {
			select {
			case <-hold:
			case <-r.Context().Done():
			}
		}
		echoLambda(w, r, body)
	})
	routes := func() []*model.Route {
		return []*model.Route{{Key: "$disconnect"}, {Key: "$default", TwoWay: true}}
	}
	chat := proxyAPI("chat", fn.URL, routes()...)
	chat.Stages = []*model.Stage{{Name: "prod"}, {Name: "test"}}
	other := proxyAPI("other", fn.URL, routes()...)
	st := newState(t, chat, other)

	ignore := goleak.IgnoreCurrent()
	srv := NewServer(Options{})
	h := srv.AdminHandler()
	var released, shutDown bool
	defer func() {
		if !released {
			close(hold)
		}
		if !shutDown {
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			_ = srv.Shutdown(ctx)
		}
	}()

	readyz := func(t *testing.T, want int) {
		t.Helper()
		if code, _, body := adminGet(t, h, "/readyz"); code != want {
			t.Fatalf("D-32: /readyz: HTTP %d %q, want %d", code, body, want)
		}
	}
	healthz := func(t *testing.T) {
		t.Helper()
		if code, _, _ := adminGet(t, h, "/healthz"); code != http.StatusOK {
			t.Fatalf("D-32: /healthz: HTTP %d, want 200", code)
		}
	}

	// Before Load and Serve.
	healthz(t)
	readyz(t, http.StatusServiceUnavailable)
	if s := adminStatus(t, h); s.Ready || s.Serial != 0 || len(s.APIs) != 0 {
		t.Fatalf("D-32: /status before Load: %+v", s)
	}

	// Loaded, no listener yet.
	if err := srv.Load(st); err != nil {
		t.Fatal(err)
	}
	readyz(t, http.StatusServiceUnavailable)

	// Serving.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sl := &adminSignalListener{Listener: ln, accepting: make(chan struct{})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sl) }()
	<-sl.accepting
	healthz(t)
	readyz(t, http.StatusOK)
	g := &testGateway{t: t, srv: srv, addr: ln.Addr().String()}

	s := adminStatus(t, h)
	if !s.Ready || s.Serial != st.Serial || s.Lineage != st.Lineage || s.LoadedAt == nil {
		t.Fatalf("D-32: /status header: ready %v serial %d lineage %q loaded_at %v", s.Ready, s.Serial, s.Lineage, s.LoadedAt)
	}
	want := []StatusAPI{
		{Name: "chat", ID: st.APIs[0].ID, Stages: []StatusStage{
			{Name: "prod", Deployment: testDeploymentID, Path: "/chat/prod"},
			{Name: "test", Deployment: testDeploymentID, Path: "/chat/test"},
		}},
		{Name: "other", ID: st.APIs[1].ID, Stages: []StatusStage{
			{Name: "test", Deployment: testDeploymentID, Path: "/other/test"},
		}},
	}
	if diff := cmp.Diff(want, s.APIs); diff != "" {
		t.Fatalf("D-32: /status apis (-want +got):\n%s", diff)
	}

	// open connects a client and waits until it is registered: a message's
	// reply comes only from a registered connection.
	open := func(path string) *wsClient {
		c := dial(t, g.url(path), nil)
		c.send("hello")
		fn.nextEvent(t, "MESSAGE")
		if got := c.readText(); got != "hello" {
			t.Fatalf("echo: %q", got)
		}
		return c
	}
	checkCounts := func(want map[string]int, total int) {
		t.Helper()
		s := adminStatus(t, h)
		got, _ := adminCounts(s)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("D-32: open connections per stage (-want +got):\n%s", diff)
		}
		if s.Total.Connections != total {
			t.Fatalf("D-32: total connections %d, want %d", s.Total.Connections, total)
		}
	}
	p1 := open("/chat/prod")
	open("/chat/prod")
	o1 := open("/other/test")
	checkCounts(map[string]int{"chat/prod": 2, "chat/test": 0, "other/test": 1}, 3)

	p1.close(1000, "")
	p1.expectClose(1000, "")
	fn.nextEvent(t, "DISCONNECT") // the registry forgets a connection before $disconnect runs
	checkCounts(map[string]int{"chat/prod": 1, "chat/test": 0, "other/test": 1}, 2)

	// A new deployment of chat shows in /status; live connections stay.
	next := nextState(t, st, "chat", "d-0000000002", st.APIs[0].Config.Routes, st.APIs[0].Config.Integrations)
	if err := srv.Load(next); err != nil {
		t.Fatal(err)
	}
	s = adminStatus(t, h)
	if s.Serial != next.Serial {
		t.Fatalf("D-32: /status serial %d after reload, want %d", s.Serial, next.Serial)
	}
	_, deployments := adminCounts(s)
	if diff := cmp.Diff(map[string]string{"chat/prod": "d-0000000002", "chat/test": "d-0000000002", "other/test": testDeploymentID}, deployments); diff != "" {
		t.Fatalf("D-32: deployments after reload (-want +got):\n%s", diff)
	}
	checkCounts(map[string]int{"chat/prod": 1, "chat/test": 0, "other/test": 1}, 2)

	// Shutdown: /readyz turns 503 as soon as it begins, while $disconnect
	// calls are still running; /healthz stays 200.
	holdDisconnect.Store(true)
	shutdownErr := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		shutdownErr <- srv.Shutdown(ctx)
	}()
	fn.nextEvent(t, "DISCONNECT")
	select {
	case err := <-shutdownErr:
		t.Fatalf("Shutdown returned %v while a $disconnect call was held", err)
	default:
	}
	readyz(t, http.StatusServiceUnavailable)
	healthz(t)
	if s := adminStatus(t, h); s.Ready {
		t.Fatalf("D-32: /status says ready during shutdown")
	}
	close(hold)
	released = true
	o1.expectClose(1001, "Going away")
	if err := <-shutdownErr; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	shutDown = true
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	readyz(t, http.StatusServiceUnavailable)
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	goleak.VerifyNone(t, ignore)
}

func TestD32AdminMethodsAndPaths(t *testing.T) {
	srv := NewServer(Options{})
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	h := srv.AdminHandler()
	tests := []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/healthz", http.StatusOK},
		{http.MethodHead, "/healthz", http.StatusOK},
		{http.MethodPost, "/healthz", http.StatusMethodNotAllowed},
		{http.MethodPost, "/status", http.StatusMethodNotAllowed},
		{http.MethodGet, "/nope", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.want {
				t.Fatalf("D-32: %s %s: HTTP %d, want %d", tt.method, tt.path, rec.Code, tt.want)
			}
		})
	}
}
