package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path"
	goruntime "runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/runtime/integration"
)

// Issue 6 hardening: backends that hang, reset, answer garbage or
// gigabytes never crash the gateway, never grow its memory without bound
// and never stall other connections (RT-44, RT-22, RT-11, RT-31).

// Bounds of the hardening tests.
const (
	// hardShortTimeoutMS is the timeout_ms of integrations that hang.
	hardShortTimeoutMS = 300
	// hardTimeoutMS is the timeout_ms of integrations that misbehave
	// otherwise: their call must end well before it.
	hardTimeoutMS = 8000
	// hardMaxGrowth bounds the heap growth, and the bytes a streaming
	// backend manages to write, while the gateway handles an endless reply.
	hardMaxGrowth = 64 << 20
)

// Ways a hardRogue backend misbehaves, named by the last element of the
// request path.
const (
	rogueHang             = "hang"              // never answers until released
	rogueResetHead        = "reset-head"        // resets the connection before answering
	rogueResetBody        = "reset-body"        // resets the connection in the middle of the body
	rogueGarbageJSON      = "garbage-json"      // 200 with a body that is not JSON
	rogueGarbageBinary    = "garbage-binary"    // 200 with binary junk
	rogueGarbageStatus    = "garbage-status"    // no HTTP at all
	rogueTruncatedChunked = "truncated-chunked" // a chunked body cut off mid-chunk
	rogueBadChunk         = "bad-chunk"         // a chunk size that is not hex
	rogueEndless          = "endless"           // a chunked body of zeros that never ends
	rogueHugeLength       = "huge-length"       // Content-Length of 1 TiB, zeros
	rogueHangBody         = "hang-body"         // sends the head and part of the body, then hangs
	rogueHugeHeaders      = "huge-headers"      // a response head that never ends
	rogueEndless1xx       = "endless-1xx"       // informational responses, forever
)

// hardRogue is a backend that misbehaves the way each request's path says.
// Requests are recorded (embedded backend) before it misbehaves.
type hardRogue struct {
	*backend
	release     chan struct{}
	releaseOnce sync.Once
	// streamed receives, for every streaming reply that has ended, how many
	// bytes the backend managed to write.
	streamed chan int64
}

// newHardRogue starts a rogue backend. Tests whose gateway calls it must
// register releaseAll as a cleanup after startGateway, so that hanging
// handlers end before the gateway's shutdown and leak check.
func newHardRogue(t testing.TB) *hardRogue {
	t.Helper()
	h := &hardRogue{release: make(chan struct{}), streamed: make(chan int64, 64)}
	h.backend = newBackend(t, h.serve)
	return h
}

// releaseAll lets every hanging request, present and future, end, and
// stops every stream.
func (h *hardRogue) releaseAll() { h.releaseOnce.Do(func() { close(h.release) }) }

func (h *hardRogue) serve(w http.ResponseWriter, r *http.Request, _ []byte) {
	switch path.Base(r.URL.Path) {
	case rogueHang:
		// The request's context is ignored on purpose: a hung backend does
		// not notice that the gateway gave up.
		<-h.release
	case rogueResetHead:
		hardHijack(w, "", true)
	case rogueResetBody:
		hardHijack(w, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"statusCode\":200,\"body\":\"cut", true)
	case rogueGarbageJSON:
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"statusCode": 200, "body": "unterminated`)
	case rogueGarbageBinary:
		_, _ = w.Write([]byte{0xff, 0x00, 0xfe, '{', 0x80, 0x81})
	case rogueGarbageStatus:
		hardHijack(w, "SSH-2.0-OpenSSH_9.0\r\n\x00\x01\x02\r\n\r\n", false)
	case rogueTruncatedChunked:
		hardHijack(w, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n{\"statusCode\":200,\"body\":\"cut", false)
	case rogueBadChunk:
		hardHijack(w, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", false)
	case rogueEndless:
		w.Header().Set("Content-Type", "application/json")
		h.stream(w, r)
	case rogueHugeLength:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "1099511627776")
		h.stream(w, r)
	case rogueHangBody:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"statusCode":200,"body":"`)
		_ = http.NewResponseController(w).Flush()
		<-h.release
	case rogueHugeHeaders:
		h.streamRaw(w, "HTTP/1.1 200 OK\r\n", "X-Junk: "+strings.Repeat("j", 1000)+"\r\n")
	case rogueEndless1xx:
		h.streamRaw(w, "", "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n")
	}
}

// streamRaw takes the connection over, writes head once, then repeat until
// the write fails or the backend is released, and reports how many bytes
// it wrote.
func (h *hardRogue) streamRaw(w http.ResponseWriter, head, repeat string) {
	nc, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(fmt.Sprintf("hijack the backend connection: %v", err))
	}
	defer nc.Close()
	n, _ := io.WriteString(nc, head)
	written := int64(n)
	defer func() { h.streamed <- written }()
	chunk := []byte(strings.Repeat(repeat, max(1, (64<<10)/len(repeat))))
	for {
		select {
		case <-h.release:
			return
		default:
		}
		m, err := nc.Write(chunk)
		written += int64(m)
		if err != nil {
			return
		}
	}
}

// stream writes zeros until the write fails, the gateway's request ends or
// the backend is released, and reports how many bytes it wrote.
func (h *hardRogue) stream(w http.ResponseWriter, r *http.Request) {
	zeros := make([]byte, 64<<10)
	var n int64
	defer func() { h.streamed <- n }()
	for {
		select {
		case <-h.release:
			return
		case <-r.Context().Done():
			return
		default:
		}
		m, err := w.Write(zeros)
		n += int64(m)
		if err != nil {
			return
		}
	}
}

// hardHijack takes the connection over, writes raw, then closes it: with
// a reset (SO_LINGER 0) when reset is true, else with a FIN.
func hardHijack(w http.ResponseWriter, raw string, reset bool) {
	nc, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(fmt.Sprintf("hijack the backend connection: %v", err))
	}
	if raw != "" {
		_, _ = io.WriteString(nc, raw)
	}
	if tc, ok := nc.(*net.TCPConn); ok && reset {
		_ = tc.SetLinger(0)
	}
	_ = nc.Close()
}

// nextStreamed returns how many bytes the next streaming reply wrote
// before it ended; it fails when the stream does not end, which means the
// gateway neither read it all nor let go of the connection.
func (h *hardRogue) nextStreamed(t testing.TB) int64 {
	t.Helper()
	select {
	case n := <-h.streamed:
		return n
	case <-time.After(testTimeout):
		t.Fatalf("RT-44: the backend was still streaming %s after the gateway answered: the gateway holds the connection open", testTimeout)
		return 0
	}
}

// hardIntegration returns an integration of type typ calling the rogue
// behaviour at base.
func hardIntegration(name, typ, base, behaviour string, timeoutMS int) *model.Integration {
	return &model.Integration{Name: name, Type: typ, URI: model.LiteralTemplate(base + "/" + behaviour), TimeoutMS: timeoutMS}
}

// hardTimeout returns the timeout_ms the hardening tests give an
// integration of behaviour.
func hardTimeout(behaviour string) int {
	if behaviour == rogueHang || behaviour == rogueHangBody {
		return hardShortTimeoutMS
	}
	return hardTimeoutMS
}

// hardStreams reports whether a behaviour streams without end.
func hardStreams(behaviour string) bool {
	switch behaviour {
	case rogueEndless, rogueHugeLength, rogueHugeHeaders, rogueEndless1xx:
		return true
	}
	return false
}

// hardEchoAPI returns the API "main", whose $default route echoes through
// a well-behaved AWS_PROXY backend: the client every hardening test checks
// the gateway still serves.
func hardEchoAPI(echoURL string, extra ...*model.Route) *model.API {
	return proxyAPI("main", echoURL, append([]*model.Route{{Key: "$default", TwoWay: true}}, extra...)...)
}

// hardCheckServes dials a new client on the main API and checks that a
// message makes the round trip through a well-behaved backend.
func hardCheckServes(t testing.TB, g *testGateway, why string) {
	t.Helper()
	c := dial(t, g.url("/main/test"), nil)
	hardEcho(t, c, why)
	_ = c.conn.Close()
}

// hardEcho sends a message to the echo route on c and expects it back.
func hardEcho(t testing.TB, c *wsClient, why string) {
	t.Helper()
	msg := fmt.Sprintf(`{"action":"echo","why":%q}`, why)
	c.send(msg)
	if got := c.readText(); got != msg {
		t.Fatalf("RT-44 (%s): a well-behaved client got %q, want its echo %q", why, got, msg)
	}
}

// hardHeapWatch samples the heap in use until the returned function is
// called, which returns the largest growth seen over the heap at the start
// (after a collection). Sampling is a measurement, not a synchronisation:
// the caller decides when to stop on its own events.
func hardHeapWatch() (stop func() uint64) {
	goruntime.GC()
	var m goruntime.MemStats
	goruntime.ReadMemStats(&m)
	base, peak := m.HeapInuse, m.HeapInuse
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			var m goruntime.MemStats
			goruntime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		return peak - base
	}
}

// hardBehaviours lists what the rogue backend does on message routes, per
// integration type. Every one of them fails the message.
var hardBehaviours = map[string][]string{
	model.IntegrationAWSProxy: {
		rogueHang, rogueHangBody, rogueResetHead, rogueResetBody, rogueGarbageJSON, rogueGarbageBinary,
		rogueGarbageStatus, rogueTruncatedChunked, rogueBadChunk, rogueEndless, rogueHugeLength,
		rogueHugeHeaders, rogueEndless1xx,
	},
	model.IntegrationHTTPProxy: {
		rogueHang, rogueHangBody, rogueResetHead, rogueResetBody, rogueGarbageStatus, rogueTruncatedChunked,
		rogueBadChunk, rogueEndless, rogueHugeLength, rogueHugeHeaders, rogueEndless1xx,
	},
}

// hardTypeTag is the short name of an integration type in route keys and
// API names.
func hardTypeTag(typ string) string {
	return strings.ToLower(strings.TrimSuffix(typ, "_PROXY"))
}

// TestHardeningBadBackendMessages sends a message to a two-way route whose
// backend misbehaves: the client gets RT-22's error frame within the
// integration's timeout, its connection keeps working, the gateway never
// reads an endless reply to its end nor grows its heap with it, and a new
// well-behaved client is served afterwards.
func TestHardeningBadBackendMessages(t *testing.T) {
	rogue := newHardRogue(t)
	echo := newBackend(t, echoLambda)
	api := hardEchoAPI(echo.URL, &model.Route{Key: "echo", TwoWay: true})
	for _, typ := range []string{model.IntegrationAWSProxy, model.IntegrationHTTPProxy} {
		for _, b := range hardBehaviours[typ] {
			key := hardTypeTag(typ) + "-" + b
			api.Integrations = append(api.Integrations, hardIntegration(key, typ, rogue.URL, b, hardTimeout(b)))
			api.Routes = append(api.Routes, &model.Route{Key: key, Integration: key, TwoWay: true})
		}
	}
	g := startGateway(t, newState(t, api), Options{})
	t.Cleanup(rogue.releaseAll) // before the gateway's shutdown

	for _, typ := range []string{model.IntegrationAWSProxy, model.IntegrationHTTPProxy} {
		for _, b := range hardBehaviours[typ] {
			key := hardTypeTag(typ) + "-" + b
			t.Run(key, func(t *testing.T) {
				streams := hardStreams(b)
				c := dial(t, g.url("/main/test"), nil)
				var stopWatch func() uint64
				if streams {
					stopWatch = hardHeapWatch()
				}
				start := time.Now()
				c.send(`{"action":"` + key + `"}`)
				if r := rogue.next(t); path.Base(r.Path) != b {
					t.Fatalf("the backend got %s, want a call of %s", r.Path, b)
				}
				got := c.readText()
				elapsed := time.Since(start)
				var streamed int64
				if streams {
					streamed = rogue.nextStreamed(t)
				}
				var growth uint64
				if stopWatch != nil {
					growth = stopWatch()
				}
				parseErrorFrame(t, integration.MessageInternalServerError, got)

				timeout := time.Duration(hardTimeout(b)) * time.Millisecond
				switch {
				case timeout == hardShortTimeoutMS*time.Millisecond && elapsed < timeout:
					t.Fatalf("RT-44: the error frame came after %s, before timeout_ms %s elapsed", elapsed, timeout)
				case timeout != hardShortTimeoutMS*time.Millisecond && elapsed >= timeout:
					t.Fatalf("RT-44: the call took %s: it ended by the integration's timeout_ms, not by the bad reply", elapsed)
				}
				if streams {
					if streamed >= hardMaxGrowth {
						t.Errorf("RT-44: the backend wrote %d bytes of an endless reply: the gateway reads past its reply limit", streamed)
					}
					if growth >= hardMaxGrowth {
						t.Errorf("RT-44: the heap grew by %d bytes while an endless reply was refused", growth)
					}
					t.Logf("backend wrote %d bytes before the gateway let go; heap growth %d bytes", streamed, growth)
				}

				// The connection stays open, and a new client is served.
				hardEcho(t, c, "same connection after "+key)
				hardCheckServes(t, g, "after "+key)
			})
		}
	}
}

// hardConnectStatus is the status a handshake gets when its $connect
// backend misbehaves (RT-11, D-33): 504 for a timeout, 502 for a failed
// call. An HTTP_PROXY backend answering 200 with an endless body accepts
// the connection: a $connect reply body is never relayed, so the gateway
// stops reading it at integration.MaxReplyBytes and the status decides.
func hardConnectStatus(typ, behaviour string) int {
	switch {
	case behaviour == rogueHang || behaviour == rogueHangBody:
		return http.StatusGatewayTimeout
	case typ == model.IntegrationHTTPProxy && (behaviour == rogueEndless || behaviour == rogueHugeLength):
		return http.StatusSwitchingProtocols
	}
	return http.StatusBadGateway
}

// TestHardeningBadConnectBackend runs handshakes whose $connect backend
// misbehaves: each is answered with RT-11's status within the
// integration's timeout, without the gateway reading an endless reply or
// growing its heap with it, and a well-behaved client is served afterwards.
func TestHardeningBadConnectBackend(t *testing.T) {
	rogue := newHardRogue(t)
	echo := newBackend(t, echoLambda)
	apis := []*model.API{hardEchoAPI(echo.URL, &model.Route{Key: "echo", TwoWay: true})}
	for _, typ := range []string{model.IntegrationAWSProxy, model.IntegrationHTTPProxy} {
		for _, b := range hardBehaviours[typ] {
			name := "c-" + hardTypeTag(typ) + "-" + b
			apis = append(apis, &model.API{
				Name:         name,
				Integrations: []*model.Integration{hardIntegration("connect", typ, rogue.URL, b, hardTimeout(b)), {Name: "echo", Type: model.IntegrationAWSProxy, URI: model.LiteralTemplate(echo.URL)}},
				Routes:       []*model.Route{{Key: "$connect", Integration: "connect"}, {Key: "$default", Integration: "echo", TwoWay: true}},
			})
		}
	}
	g := startGateway(t, newState(t, apis...), Options{})
	t.Cleanup(rogue.releaseAll) // before the gateway's shutdown

	for _, typ := range []string{model.IntegrationAWSProxy, model.IntegrationHTTPProxy} {
		for _, b := range hardBehaviours[typ] {
			name := "c-" + hardTypeTag(typ) + "-" + b
			t.Run(name, func(t *testing.T) {
				streams := hardStreams(b)
				var stopWatch func() uint64
				if streams {
					stopWatch = hardHeapWatch()
				}
				start := time.Now()
				c, err := tryDial(t, g.url("/"+name+"/test"), nil)
				elapsed := time.Since(start)
				status := http.StatusSwitchingProtocols
				if err != nil {
					var se ws.StatusError
					if !errors.As(err, &se) {
						t.Fatalf("RT-11: the handshake failed without an HTTP status: %v", err)
					}
					status = int(se)
				}
				if r := rogue.next(t); path.Base(r.Path) != b {
					t.Fatalf("the backend got %s, want a call of %s", r.Path, b)
				}
				var streamed int64
				if streams {
					streamed = rogue.nextStreamed(t)
				}
				var growth uint64
				if stopWatch != nil {
					growth = stopWatch()
				}
				if want := hardConnectStatus(typ, b); status != want {
					t.Fatalf("RT-11: the handshake got %d, want %d", status, want)
				}
				timeout := time.Duration(hardTimeout(b)) * time.Millisecond
				if timeout != hardShortTimeoutMS*time.Millisecond && elapsed >= timeout {
					t.Fatalf("RT-11: the handshake took %s: it ended by the integration's timeout_ms, not by the bad reply", elapsed)
				}
				if streams {
					if streamed >= hardMaxGrowth {
						t.Errorf("RT-11: the $connect backend wrote %d bytes of an endless reply: the gateway reads past its reply limit", streamed)
					}
					if growth >= hardMaxGrowth {
						t.Errorf("RT-11: the heap grew by %d bytes while an endless $connect reply was read", growth)
					}
					t.Logf("backend wrote %d bytes before the gateway let go; heap growth %d bytes", streamed, growth)
				}
				if c != nil {
					// An accepted connection works.
					msg := `{"action":"accepted"}`
					c.send(msg)
					if got := c.readText(); got != msg {
						t.Fatalf("RT-24: the accepted connection echoed %q, want %q", got, msg)
					}
					_ = c.conn.Close()
				}
				hardCheckServes(t, g, "after "+name)
			})
		}
	}
}

// TestHardeningHangingBackendDoesNotStallOthers holds integration calls
// and a $connect on a backend that never answers: a connection whose calls
// all hang stops only its own reading (RT-44), while other connections'
// messages and other handshakes keep flowing; once the backend answers, the
// held calls and handshake complete.
func TestHardeningHangingBackendDoesNotStallOthers(t *testing.T) {
	for _, typ := range []string{model.IntegrationAWSProxy, model.IntegrationHTTPProxy} {
		t.Run(hardTypeTag(typ), func(t *testing.T) {
			rogue := newHardRogue(t)
			echo := newBackend(t, echoLambda)
			main := hardEchoAPI(echo.URL, &model.Route{Key: "echo", TwoWay: true}, &model.Route{Key: "stall", Integration: "stall", TwoWay: true})
			// The default timeout_ms (29 s) outlasts the test: these calls
			// are pending until the backend is released.
			main.Integrations = append(main.Integrations, hardIntegration("stall", typ, rogue.URL, rogueHang, 29000))
			slowConnect := &model.API{
				Name:         "slowconnect",
				Integrations: []*model.Integration{hardIntegration("connect", typ, rogue.URL, rogueHang, 29000)},
				Routes:       []*model.Route{{Key: "$connect", Integration: "connect"}},
			}
			const inflight = 2
			g := startGateway(t, newState(t, main, slowConnect), Options{MaxInflight: inflight})
			t.Cleanup(rogue.releaseAll) // before the gateway's shutdown

			// A fills its in-flight calls and one more message waits.
			a := dial(t, g.url("/main/test"), nil)
			for range inflight + 1 {
				a.send(`{"action":"stall"}`)
			}
			for range inflight {
				rogue.next(t)
			}
			// A handshake waits on $connect.
			type dialed struct {
				nc  net.Conn
				err error
			}
			pending := make(chan dialed, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
				defer cancel()
				nc, _, _, err := ws.Dial(ctx, g.url("/slowconnect/test"))
				pending <- dialed{nc, err}
			}()
			rogue.next(t)

			// Meanwhile other clients connect and their messages flow.
			b := dial(t, g.url("/main/test"), nil)
			for i := range 20 {
				hardEcho(t, b, fmt.Sprintf("message %d while calls hang", i))
			}
			hardCheckServes(t, g, "handshake while calls hang")
			select {
			case d := <-pending:
				t.Fatalf("RT-11: the handshake held by $connect ended early: %v", d.err)
			default:
			}

			// The backend answers: the held handshake and calls complete,
			// and A reads again.
			rogue.releaseAll()
			var d dialed
			select {
			case d = <-pending:
			case <-time.After(testTimeout):
				t.Fatalf("RT-11: the held handshake did not complete within %s of its backend answering", testTimeout)
			}
			if d.err != nil {
				t.Fatalf("RT-11: the held handshake failed once its backend answered: %v", d.err)
			}
			_ = d.nc.Close()
			msg := `{"action":"echo","after":"release"}`
			a.send(msg)
			for {
				// HTTP_PROXY relays the released calls' empty replies
				// (RT-24); AWS_PROXY's empty results send nothing.
				_, p := a.readMessage()
				if len(p) == 0 {
					continue
				}
				if string(p) != msg {
					t.Fatalf("RT-44: after the release A got %q, want %q", p, msg)
				}
				break
			}
		})
	}
}

// TestHardeningHangingDisconnectShutdown gives the stage a $disconnect
// backend that never answers: the gateway keeps serving other clients
// while $disconnect calls hang, and Shutdown still returns by its deadline
// (RT-31), cancelling them.
func TestHardeningHangingDisconnectShutdown(t *testing.T) {
	for _, typ := range []string{model.IntegrationAWSProxy, model.IntegrationHTTPProxy} {
		t.Run(hardTypeTag(typ), func(t *testing.T) {
			rogue := newHardRogue(t)
			echo := newBackend(t, echoLambda)
			main := hardEchoAPI(echo.URL, &model.Route{Key: "echo", TwoWay: true}, &model.Route{Key: "$disconnect", Integration: "disconnect"})
			main.Integrations = append(main.Integrations, hardIntegration("disconnect", typ, rogue.URL, rogueHang, 29000))
			g := startGateway(t, newState(t, main), Options{CloseTimeout: 200 * time.Millisecond})
			t.Cleanup(rogue.releaseAll) // before the gateway's leak check

			first := dial(t, g.url("/main/test"), nil)
			first.close(1000, "bye")
			first.expectClose(1000, "")
			rogue.next(t) // its $disconnect hangs

			second := dial(t, g.url("/main/test"), nil)
			hardEcho(t, second, "while $disconnect hangs")

			const grace = 500 * time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), grace)
			defer cancel()
			start := time.Now()
			err := g.srv.Shutdown(ctx)
			elapsed := time.Since(start)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("RT-31: Shutdown with hanging $disconnect calls returned %v, want the deadline's error", err)
			}
			if limit := grace + 2*time.Second; elapsed > limit {
				t.Fatalf("RT-31: Shutdown took %s with a deadline of %s", elapsed, grace)
			}
			// The second client was closed with 1001 (RT-31).
			second.expectClose(1001, "Going away")
		})
	}
}

// TestHardeningConcurrentEndlessReplies has one client keep MaxInflight
// calls to backends that stream endless replies at once: the gateway's heap
// must stay bounded by a budget that does not multiply with the calls a
// client can start (issue 6: gigabytes never grow memory without bound).
func TestHardeningConcurrentEndlessReplies(t *testing.T) {
	for _, typ := range []string{model.IntegrationAWSProxy, model.IntegrationHTTPProxy} {
		t.Run(hardTypeTag(typ), func(t *testing.T) {
			rogue := newHardRogue(t)
			echo := newBackend(t, echoLambda)
			api := hardEchoAPI(echo.URL, &model.Route{Key: "echo", TwoWay: true}, &model.Route{Key: "endless", Integration: "endless", TwoWay: true})
			api.Integrations = append(api.Integrations, hardIntegration("endless", typ, rogue.URL, rogueEndless, hardTimeoutMS))
			// A budget below the growth bound: calls that do not fit fail
			// instead of buffering (integration.Options.ReplyBudget).
			g := startGateway(t, newState(t, api), Options{MaxInflight: DefaultMaxInflight, ReplyBudget: 32 << 20})
			t.Cleanup(rogue.releaseAll)

			c := dial(t, g.url("/main/test"), nil)
			stopWatch := hardHeapWatch()
			for range DefaultMaxInflight {
				c.send(`{"action":"endless"}`)
			}
			var total int64
			for range DefaultMaxInflight {
				parseErrorFrame(t, integration.MessageInternalServerError, c.readText())
				total += rogue.nextStreamed(t)
			}
			growth := stopWatch()
			t.Logf("%d concurrent endless replies: backends wrote %d bytes, heap growth %d bytes", DefaultMaxInflight, total, growth)
			if growth >= hardMaxGrowth {
				t.Errorf("RT-44: the heap grew by %d bytes while one client's %d calls got endless replies", growth, DefaultMaxInflight)
			}
			hardCheckServes(t, g, "after concurrent endless replies")
		})
	}
}
