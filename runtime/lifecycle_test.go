package runtime

// End-to-end tests of the connection lifecycle: $connect (RT-10, RT-11,
// RT-12, D-33), $disconnect and its close codes (RT-13, D-34), ids (RT-14)
// and the connection timeouts (RT-15), with real sockets against a real
// Server.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgwctl/wsgwctl/config/model"
)

// lcSecret is the body integrations answer a refused $connect with; it must
// never reach the client (D-33).
const lcSecret = "integration-body-must-not-be-relayed"

// lcEvent is the requestContext of an AWS_PROXY event, read from the raw
// JSON rather than through aws-lambda-go's struct, so that the disconnect
// fields are checked as the gateway wrote them.
type lcEvent struct {
	EventType            string  `json:"eventType"`
	ConnectionID         string  `json:"connectionId"`
	RequestID            string  `json:"requestId"`
	ExtendedRequestID    string  `json:"extendedRequestId"`
	MessageID            string  `json:"messageId"`
	DisconnectStatusCode *int    `json:"disconnectStatusCode"`
	DisconnectReason     *string `json:"disconnectReason"`
	// Body is the event's body (MESSAGE).
	Body string `json:"-"`
}

// lcDecode reads the requestContext and body of a recorded AWS_PROXY event.
func lcDecode(t testing.TB, r recorded) lcEvent {
	t.Helper()
	var raw struct {
		RequestContext lcEvent `json:"requestContext"`
		Body           string  `json:"body"`
	}
	if err := json.Unmarshal(r.Body, &raw); err != nil {
		t.Fatalf("decode event %s: %v", r.Body, err)
	}
	ev := raw.RequestContext
	ev.Body = raw.Body
	return ev
}

// lcNext returns the next event of eventType for the connection id (any
// connection when id is ""), skipping events of other types and other
// connections. With noMessages it fails on a MESSAGE event of that
// connection, which the test did not expect to be delivered.
func lcNext(t testing.TB, b *backend, eventType, id string, noMessages bool) lcEvent {
	t.Helper()
	for {
		ev := lcDecode(t, b.next(t))
		if id != "" && ev.ConnectionID != id {
			continue
		}
		if noMessages && ev.EventType == "MESSAGE" {
			t.Fatalf("an unexpected MESSAGE event was delivered (body %d bytes: %.80q)", len(ev.Body), ev.Body)
		}
		if ev.EventType == eventType {
			return ev
		}
	}
}

// lcCheckDisconnect waits for the $disconnect of connection id and checks
// the code and reason it reports (RT-13, D-34).
func lcCheckDisconnect(t testing.TB, b *backend, id string, code int, reason string) {
	t.Helper()
	ev := lcNext(t, b, "DISCONNECT", id, false)
	if ev.DisconnectStatusCode == nil || ev.DisconnectReason == nil {
		t.Fatalf("RT-13: $disconnect event lacks disconnectStatusCode or disconnectReason")
	}
	if *ev.DisconnectStatusCode != code || *ev.DisconnectReason != reason {
		t.Fatalf("RT-13/D-34: $disconnect reports %d %q, want %d %q", *ev.DisconnectStatusCode, *ev.DisconnectReason, code, reason)
	}
}

// lcDo sends an HTTP request to the gateway and returns its status, header
// and body.
func lcDo(t testing.TB, method, url string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(string(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return resp.StatusCode, resp.Header, b
}

// lcConnectionsURL returns the @connections URL of a connection of stage
// test.
func lcConnectionsURL(g *testGateway, id string) string {
	return g.httpURL("/test/@connections/" + id)
}

// lcHandshake sends an opening handshake for path on a new TCP connection.
// A 101 response leaves the connection open as a wsClient; any other
// response is read whole, body included, and the connection closed.
func lcHandshake(t testing.TB, g *testGateway, path string, protocols ...string) (*http.Response, []byte, *wsClient) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", g.addr, testTimeout)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(testTimeout))
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n", path, g.addr)
	if len(protocols) > 0 {
		fmt.Fprintf(&b, "Sec-WebSocket-Protocol: %s\r\n", strings.Join(protocols, ", "))
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(nc, b.String()); err != nil {
		t.Fatalf("write handshake: %v", err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		t.Fatalf("read handshake response: %v", err)
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		// RFC 6455 section 1.3's example key and its accept value.
		if got := resp.Header.Get("Sec-WebSocket-Accept"); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
			t.Fatalf("101 with Sec-WebSocket-Accept %q", got)
		}
		_ = nc.SetDeadline(time.Time{})
		return resp, nil, &wsClient{t: t, conn: nc, br: br}
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read handshake response body: %v", err)
	}
	_ = nc.Close()
	return resp, body, nil
}

// lcSettle waits until the gateway reads from the client: a ping is
// answered only once the connection's reader runs, which it does only
// after the connection is registered for @connections. (The 101 reaches
// the client slightly earlier; see TestLifecycleReachableAfter101.)
func lcSettle(t testing.TB, c *wsClient) {
	t.Helper()
	c.writeFrame(ws.OpPing, true, []byte("settle"))
	for {
		f := c.readFrame()
		if f.op == ws.OpPong && string(f.payload) == "settle" {
			return
		}
	}
}

// lcUnreachableURL returns the URL of a port nothing listens on.
func lcUnreachableURL(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "http://" + addr + "/unreachable"
}

// lcBlockingReply answers nothing until the test ends (or the gateway gives
// up on the request), for integration timeouts.
func lcBlockingReply(t testing.TB) func(http.ResponseWriter, *http.Request, []byte) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	return func(_ http.ResponseWriter, r *http.Request, _ []byte) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
}

// lcStatusReply answers a $connect with status and headers, as a Lambda
// proxy result (AWS_PROXY) or as the HTTP response itself (HTTP_PROXY),
// with lcSecret as the body.
func lcStatusReply(kind string, status int, header map[string]string) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		if kind == model.IntegrationAWSProxy {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"statusCode": status, "headers": header, "body": lcSecret})
			return
		}
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, lcSecret)
	}
}

// lcRawReply answers with status, headers and body as they are.
func lcRawReply(status int, header map[string]string, body string) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// lcConnectAPI returns API "chat" whose $connect runs an integration of
// kind at connectURI, and whose $disconnect and $default go to an
// AWS_PROXY integration at discURI. An HTTP_PROXY $connect integration gets
// the connection id in the X-Connection-Id header.
func lcConnectAPI(kind, connectURI string, timeoutMS int, discURI string) *model.API {
	connect := &model.Integration{Name: "connect", Type: kind, URI: model.LiteralTemplate(connectURI), TimeoutMS: timeoutMS}
	if kind == model.IntegrationHTTPProxy {
		connect.RequestParameters = map[string]string{"integration.request.header.X-Connection-Id": "context.connectionId"}
	}
	return &model.API{
		Name: "chat",
		Integrations: []*model.Integration{
			connect,
			{Name: "disc", Type: model.IntegrationAWSProxy, URI: model.LiteralTemplate(discURI)},
		},
		Routes: []*model.Route{
			{Key: "$connect", Integration: "connect"},
			{Key: "$disconnect", Integration: "disc"},
			{Key: "$default", Integration: "disc"},
		},
	}
}

// lcConnectID returns the connection id a $connect integration request
// carried.
func lcConnectID(t testing.TB, kind string, r recorded) string {
	t.Helper()
	if kind == model.IntegrationAWSProxy {
		ev := lcDecode(t, r)
		if ev.EventType != "CONNECT" {
			t.Fatalf("RT-10: the $connect integration received a %s event", ev.EventType)
		}
		return ev.ConnectionID
	}
	id := r.Header.Get("X-Connection-Id")
	if id == "" {
		t.Fatalf("RT-41: the HTTP_PROXY $connect request carries no connection id")
	}
	return id
}

// lcNoEvents fails when b received anything more; call it after the gateway
// has shut down, when every integration call has ended.
func lcNoEvents(t testing.TB, b *backend, why string) {
	t.Helper()
	select {
	case r := <-b.events:
		t.Fatalf("%s: the backend received %s %s %s", why, r.Method, r.Path, r.Body)
	default:
	}
}

func TestLifecycleConnectStatus(t *testing.T) {
	aws, httpProxy := model.IntegrationAWSProxy, model.IntegrationHTTPProxy
	both := []string{aws, httpProxy}
	cases := []struct {
		name  string
		kinds []string
		// reply answers the $connect integration call; nil with unreachable.
		reply       func(t testing.TB, kind string) func(http.ResponseWriter, *http.Request, []byte)
		unreachable bool
		timeoutMS   int
		want        int
		// wantLocation is the Location header a refused handshake carries.
		wantLocation string
	}{
		{name: "RT-11 200 accepts", kinds: both, want: 101,
			reply: func(_ testing.TB, k string) func(http.ResponseWriter, *http.Request, []byte) {
				return lcStatusReply(k, 200, nil)
			}},
		{name: "RT-11 204 accepts", kinds: both, want: 101,
			reply: func(_ testing.TB, k string) func(http.ResponseWriter, *http.Request, []byte) {
				return lcStatusReply(k, 204, nil)
			}},
		{name: "RT-11 401 relayed", kinds: both, want: 401,
			reply: func(_ testing.TB, k string) func(http.ResponseWriter, *http.Request, []byte) {
				return lcStatusReply(k, 401, nil)
			}},
		{name: "RT-11 403 relayed", kinds: both, want: 403,
			reply: func(_ testing.TB, k string) func(http.ResponseWriter, *http.Request, []byte) {
				return lcStatusReply(k, 403, nil)
			}},
		{name: "RT-11 400 relayed", kinds: both, want: 400,
			reply: func(_ testing.TB, k string) func(http.ResponseWriter, *http.Request, []byte) {
				return lcStatusReply(k, 400, nil)
			}},
		{name: "RT-11 429 relayed", kinds: both, want: 429,
			reply: func(_ testing.TB, k string) func(http.ResponseWriter, *http.Request, []byte) {
				return lcStatusReply(k, 429, nil)
			}},
		{name: "RT-11 500 relayed", kinds: both, want: 500,
			reply: func(_ testing.TB, k string) func(http.ResponseWriter, *http.Request, []byte) {
				return lcStatusReply(k, 500, nil)
			}},
		{name: "D-33 302 relayed with Location", kinds: both, want: 302, wantLocation: "https://login.example.com/?next=chat",
			reply: func(_ testing.TB, k string) func(http.ResponseWriter, *http.Request, []byte) {
				return lcStatusReply(k, 302, map[string]string{"Location": "https://login.example.com/?next=chat"})
			}},
		{name: "RT-11 unreachable backend 502", kinds: both, unreachable: true, want: 502},
		{name: "RT-11 timeout 504", kinds: both, timeoutMS: 100, want: 504,
			reply: func(t testing.TB, _ string) func(http.ResponseWriter, *http.Request, []byte) {
				return lcBlockingReply(t)
			}},
		{name: "D-33 function error errorMessage 502", kinds: []string{aws}, want: 502,
			reply: func(testing.TB, string) func(http.ResponseWriter, *http.Request, []byte) {
				return lcRawReply(200, map[string]string{"Content-Type": "application/json"}, `{"errorMessage":"boom `+lcSecret+`","errorType":"Error"}`)
			}},
		{name: "D-33 function error X-Amz-Function-Error 502", kinds: []string{aws}, want: 502,
			reply: func(testing.TB, string) func(http.ResponseWriter, *http.Request, []byte) {
				return lcRawReply(200, map[string]string{"X-Amz-Function-Error": "Unhandled"}, `{"statusCode":200,"body":"`+lcSecret+`"}`)
			}},
		{name: "RT-11 invalid Lambda result 502", kinds: []string{aws}, want: 502,
			reply: func(testing.TB, string) func(http.ResponseWriter, *http.Request, []byte) {
				return lcRawReply(200, nil, "not a proxy result "+lcSecret)
			}},
		{name: "RT-11 invoke endpoint error 502", kinds: []string{aws}, want: 502,
			reply: func(testing.TB, string) func(http.ResponseWriter, *http.Request, []byte) {
				return lcRawReply(500, nil, lcSecret)
			}},
	}
	for _, tc := range cases {
		for _, kind := range tc.kinds {
			t.Run(kind+"/"+tc.name, func(t *testing.T) {
				disc := newBackend(t, nil)
				var fn *backend
				uri := lcUnreachableURL(t)
				if !tc.unreachable {
					fn = newBackend(t, tc.reply(t, kind))
					uri = fn.URL + "/connect"
				}
				timeout := tc.timeoutMS
				if timeout == 0 {
					timeout = 5000
				}
				g := startGateway(t, newState(t, lcConnectAPI(kind, uri, timeout, disc.URL)), Options{})

				resp, body, c := lcHandshake(t, g, "/chat/test")
				if resp.StatusCode != tc.want {
					t.Fatalf("RT-11: handshake status %d, want %d", resp.StatusCode, tc.want)
				}
				var id string
				if fn != nil {
					id = lcConnectID(t, kind, fn.next(t))
				}
				if tc.want == http.StatusSwitchingProtocols {
					lcSettle(t, c)
					if status, _, _ := lcDo(t, http.MethodGet, lcConnectionsURL(g, id), nil); status != http.StatusOK {
						t.Fatalf("RT-10: @connections GET of an accepted connection: %d, want 200", status)
					}
					c.close(1000, "done")
					lcCheckDisconnect(t, disc, id, 1000, "done")
					return
				}
				if got := resp.Header.Get("Location"); got != tc.wantLocation {
					t.Errorf("D-33: Location %q, want %q", got, tc.wantLocation)
				}
				if strings.Contains(string(body), lcSecret) || strings.Contains(fmt.Sprint(resp.Header), lcSecret) {
					t.Errorf("D-33: the refused handshake relays the integration's body: %q", body)
				}
				if id != "" {
					if status, _, _ := lcDo(t, http.MethodGet, lcConnectionsURL(g, id), nil); status != http.StatusGone {
						t.Errorf("RT-11: @connections GET of a refused connection: %d, want 410", status)
					}
				}
				// Shutdown waits for every goroutine of the gateway, so a
				// $disconnect for the refused connection would have been
				// called by the time it returns.
				g.shutdown()
				lcNoEvents(t, disc, "RT-11: a refused $connect must not run $disconnect")
			})
		}
	}
}

func TestLifecycleNoConnectRoute(t *testing.T) {
	disc := newBackend(t, nil)
	api := proxyAPI("chat", disc.URL, &model.Route{Key: "$disconnect"}, &model.Route{Key: "$default"})
	g := startGateway(t, newState(t, api), Options{})
	c := dial(t, g.url("/chat/test"), nil, "chat.v1")
	if c.Protocol != "" {
		t.Errorf("RT-12: subprotocol %q chosen without a $connect integration", c.Protocol)
	}
	c.send("hello")
	ev := lcNext(t, disc, "MESSAGE", "", false)
	if ev.Body != "hello" {
		t.Fatalf("RT-10: message body %q", ev.Body)
	}
	c.close(1000, "")
	lcCheckDisconnect(t, disc, ev.ConnectionID, 1000, "")
}

func TestLifecycleSubprotocol(t *testing.T) {
	cases := []struct {
		name   string
		kind   string
		offer  []string
		chosen string // the subprotocol the integration answers, "" for none
	}{
		{name: "RT-12 Lambda header returned", kind: model.IntegrationAWSProxy, offer: []string{"chat.v1", "chat.v2"}, chosen: "chat.v2"},
		{name: "RT-12 HTTP header returned", kind: model.IntegrationHTTPProxy, offer: []string{"chat.v1", "chat.v2"}, chosen: "chat.v1"},
		{name: "D-33 Lambda choice returned as is", kind: model.IntegrationAWSProxy, offer: []string{"chat.v1"}, chosen: "chat.v9"},
		{name: "D-33 HTTP choice returned as is", kind: model.IntegrationHTTPProxy, offer: nil, chosen: "chat.v9"},
		{name: "RT-12 Lambda no header no subprotocol", kind: model.IntegrationAWSProxy, offer: []string{"chat.v1", "chat.v2"}},
		{name: "RT-12 HTTP no header no subprotocol", kind: model.IntegrationHTTPProxy, offer: []string{"chat.v1", "chat.v2"}},
	}
	for _, tc := range cases {
		t.Run(tc.kind+"/"+tc.name, func(t *testing.T) {
			var header map[string]string
			if tc.chosen != "" {
				header = map[string]string{"Sec-WebSocket-Protocol": tc.chosen}
			}
			fn := newBackend(t, lcStatusReply(tc.kind, 200, header))
			disc := newBackend(t, nil)
			g := startGateway(t, newState(t, lcConnectAPI(tc.kind, fn.URL+"/connect", 5000, disc.URL)), Options{})

			resp, _, c := lcHandshake(t, g, "/chat/test", tc.offer...)
			if resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("RT-11: handshake status %d, want 101", resp.StatusCode)
			}
			if got := resp.Header.Values("Sec-WebSocket-Protocol"); strings.Join(got, ",") != tc.chosen {
				t.Errorf("RT-12: 101 carries Sec-WebSocket-Protocol %q, want %q", got, tc.chosen)
			}
			r := fn.next(t)
			offered := strings.Join(tc.offer, ", ")
			var sent string
			if tc.kind == model.IntegrationAWSProxy {
				sent = r.event(t).Headers["Sec-WebSocket-Protocol"]
			} else {
				sent = r.Header.Get("Sec-WebSocket-Protocol")
			}
			if sent != offered {
				t.Errorf("RT-12: the $connect integration saw Sec-WebSocket-Protocol %q, want the client's %q", sent, offered)
			}
			id := lcConnectID(t, tc.kind, r)
			c.close(1000, "")
			lcCheckDisconnect(t, disc, id, 1000, "")
		})
	}

	t.Run("RT-12 a client library sees the chosen subprotocol", func(t *testing.T) {
		fn := newBackend(t, lcStatusReply(model.IntegrationAWSProxy, 200, map[string]string{"Sec-WebSocket-Protocol": "b"}))
		g := startGateway(t, newState(t, lcConnectAPI(model.IntegrationAWSProxy, fn.URL, 5000, fn.URL)), Options{})
		c := dial(t, g.url("/chat/test"), nil, "a", "b")
		if c.Protocol != "b" {
			t.Fatalf("RT-12: negotiated subprotocol %q, want %q", c.Protocol, "b")
		}
	})
}

// lcClientSees is what the client must receive when its connection ends.
type lcClientSees int

const (
	// lcSeesGatewayClose: the gateway's close frame with exactly the code and
	// reason $disconnect reports.
	lcSeesGatewayClose lcClientSees = iota
	// lcSeesEcho: the echo of the client's own close frame, carrying its code.
	lcSeesEcho
	// lcSeesNothing: the client dropped the TCP connection itself.
	lcSeesNothing
	// lcSeesDrop: a client that stopped reading; the connection ends, and a
	// close frame, if one gets through, carries the code and reason.
	lcSeesDrop
)

func TestLifecycleDisconnectStatus(t *testing.T) {
	type action func(t *testing.T, g *testGateway, c *wsClient, id string)
	cases := []struct {
		name       string
		opts       Options
		act        action
		sees       lcClientSees
		wantCode   int
		wantReason string
	}{
		{name: "RT-13 client close with code and reason", sees: lcSeesEcho, wantCode: 4001, wantReason: "bye now",
			act: func(_ *testing.T, _ *testGateway, c *wsClient, _ string) { c.close(4001, "bye now") }},
		{name: "RT-13 client close 1000", sees: lcSeesEcho, wantCode: 1000, wantReason: "done",
			act: func(_ *testing.T, _ *testGateway, c *wsClient, _ string) { c.close(1000, "done") }},
		{name: "RT-13 client close without code 1005", sees: lcSeesEcho, wantCode: 1005, wantReason: "Client-side close frame status not set",
			act: func(_ *testing.T, _ *testGateway, c *wsClient, _ string) { c.close(0, "") }},
		{name: "D-34 TCP drop 1006", sees: lcSeesNothing, wantCode: 1006, wantReason: "",
			act: func(_ *testing.T, _ *testGateway, c *wsClient, _ string) { _ = c.conn.Close() }},
		{name: "RT-13 @connections DELETE 1000", sees: lcSeesGatewayClose, wantCode: 1000, wantReason: "Connection Closed Normally",
			act: func(t *testing.T, g *testGateway, _ *wsClient, id string) {
				if status, _, _ := lcDo(t, http.MethodDelete, lcConnectionsURL(g, id), nil); status != http.StatusNoContent {
					t.Fatalf("RT-2: DELETE status %d, want 204", status)
				}
			}},
		{name: "RT-15 idle timeout 1001", opts: Options{IdleTimeout: 300 * time.Millisecond}, sees: lcSeesGatewayClose, wantCode: 1001, wantReason: "Going away",
			act: func(*testing.T, *testGateway, *wsClient, string) {}},
		{name: "RT-15 maximum duration 1001", opts: Options{MaxConnectionDuration: 300 * time.Millisecond}, sees: lcSeesGatewayClose, wantCode: 1001, wantReason: "Going away",
			act: func(*testing.T, *testGateway, *wsClient, string) {}},
		{name: "RT-31 server shutdown 1001", sees: lcSeesGatewayClose, wantCode: 1001, wantReason: "Going away",
			act: func(_ *testing.T, g *testGateway, _ *wsClient, _ string) {
				// The test's cleanup waits for this shutdown to finish.
				go g.shutdown()
			}},
		{name: "D-37 protocol error 1002", sees: lcSeesGatewayClose, wantCode: 1002, wantReason: "Protocol error",
			act: func(_ *testing.T, _ *testGateway, c *wsClient, _ string) {
				c.writeFrame(ws.OpCode(0x3), true, []byte("x"))
			}},
		{name: "RT-20 binary frame 1003", sees: lcSeesGatewayClose, wantCode: 1003, wantReason: "Unsupported data",
			act: func(_ *testing.T, _ *testGateway, c *wsClient, _ string) {
				c.writeFrame(ws.OpBinary, true, []byte{0, 1, 2})
			}},
		{name: "RT-20 invalid UTF-8 1007", sees: lcSeesGatewayClose, wantCode: 1007, wantReason: "Invalid frame payload data",
			act: func(_ *testing.T, _ *testGateway, c *wsClient, _ string) {
				c.writeFrame(ws.OpText, true, []byte("ok\xff"))
			}},
		{name: "RT-26 slow consumer 1008", sees: lcSeesDrop, wantCode: 1008, wantReason: "Slow consumer",
			opts: Options{SendQueueMessages: 4, SendQueueBytes: 256 << 10, WriteTimeout: 200 * time.Millisecond, CloseTimeout: 200 * time.Millisecond},
			act: func(t *testing.T, g *testGateway, c *wsClient, id string) {
				frFlood(t, g, c, id)
			}},
		{name: "RT-20 message too big 1009", sees: lcSeesGatewayClose, wantCode: 1009, wantReason: "Message too big",
			act: func(_ *testing.T, _ *testGateway, c *wsClient, _ string) {
				c.writeFrame(ws.OpText, true, []byte(strings.Repeat("a", MaxFrameSize+1)))
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fn := newBackend(t, echoLambda)
			api := proxyAPI("chat", fn.URL,
				&model.Route{Key: "$connect"}, &model.Route{Key: "$disconnect"}, &model.Route{Key: "$default", TwoWay: true})
			g := startGateway(t, newState(t, api), tc.opts)
			c := dial(t, g.url("/chat/test"), nil)
			id := lcNext(t, fn, "CONNECT", "", false).ConnectionID
			lcSettle(t, c)

			tc.act(t, g, c, id)
			switch tc.sees {
			case lcSeesGatewayClose:
				code, reason, _ := frReadClose(t, c)
				if code != tc.wantCode || reason != tc.wantReason {
					t.Fatalf("D-34: the client received close %d %q, want %d %q", code, reason, tc.wantCode, tc.wantReason)
				}
				// The client's reply carries another code: $disconnect still
				// reports why the gateway closed.
				_ = frWrite(c, frFrame(ws.OpClose, true, 0, true, ws.NewCloseFrameBody(1000, "ack")))
				c.expectEOF()
			case lcSeesEcho:
				// The echo carries the client's code, or no code when the
				// client sent none.
				_, _, payload := frReadClose(t, c)
				var want []byte
				if tc.wantCode != 1005 {
					want = ws.NewCloseFrameBody(ws.StatusCode(tc.wantCode), "")
				}
				if !bytes.Equal(payload[:min(2, len(payload))], want) {
					t.Fatalf("D-34: echo close payload %q, want one carrying the client's code %d", payload, tc.wantCode)
				}
				c.expectEOF()
			case lcSeesDrop:
				// $disconnect comes first: the client reads what the
				// gateway wrote before dropping it only afterwards.
				lcCheckDisconnect(t, fn, id, tc.wantCode, tc.wantReason)
				frDrainSlow(t, c, tc.wantCode, tc.wantReason)
				return
			}
			lcCheckDisconnect(t, fn, id, tc.wantCode, tc.wantReason)
			if g.srv.isClosing() {
				return
			}
			if status, _, _ := lcDo(t, http.MethodGet, lcConnectionsURL(g, id), nil); status != http.StatusGone {
				t.Errorf("RT-2: @connections GET after $disconnect: %d, want 410", status)
			}
		})
	}
}

// lcIDPattern is the shape of connection, request and message ids (RT-14).
var lcIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{15}=$`)

func TestLifecycleNewIDNodeOf(t *testing.T) {
	seen := map[string]bool{}
	for _, node := range []uint16{0, 1, 2, 255, 256, 4097, 0x7fff, 0x8000, 65535} {
		t.Run(fmt.Sprintf("RT-14 node %d", node), func(t *testing.T) {
			for range 2000 {
				id := NewID(node)
				if !lcIDPattern.MatchString(id) || len(id) != IDLength {
					t.Fatalf("RT-14: NewID(%d) = %q, not 16 URL-safe base64 characters ending in '='", node, id)
				}
				if seen[id] {
					t.Fatalf("RT-14: NewID returned %q twice", id)
				}
				seen[id] = true
				if got, ok := NodeOf(id); !ok || got != node {
					t.Fatalf("RT-14: NodeOf(NewID(%d)) = %d, %v", node, got, ok)
				}
			}
		})
	}
	for _, bad := range []string{"", "abc", "AAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAA==", "AAAAAAAAAAAAAA+=", "AAAAAAAAAAAAAA/=", "AAAAAAAAAAAAAAA!", "AAAAAAAAAAAAAAAAA="} {
		t.Run(fmt.Sprintf("RT-14 NodeOf rejects %q", bad), func(t *testing.T) {
			if n, ok := NodeOf(bad); ok {
				t.Fatalf("RT-14: NodeOf(%q) = %d, true; want false", bad, n)
			}
		})
	}
}

func TestLifecycleIDs(t *testing.T) {
	fn := newBackend(t, echoLambda)
	api := proxyAPI("chat", fn.URL,
		&model.Route{Key: "$connect"}, &model.Route{Key: "$disconnect"}, &model.Route{Key: "echo", TwoWay: true})
	g := startGateway(t, newState(t, api), Options{})

	const conns = 25
	connIDs := map[string]bool{}
	reqIDs := map[string]bool{}
	check := func(kind, id string, set map[string]bool) {
		t.Helper()
		if !lcIDPattern.MatchString(id) {
			t.Fatalf("RT-14: %s %q is not 16 URL-safe base64 characters ending in '='", kind, id)
		}
		if set[id] {
			t.Fatalf("RT-14: %s %q is not unique", kind, id)
		}
		set[id] = true
	}
	for i := range conns {
		c := dial(t, g.url("/chat/test"), nil)
		ev := lcNext(t, fn, "CONNECT", "", false)
		check("connection id", ev.ConnectionID, connIDs)
		check("$connect requestId", ev.RequestID, reqIDs)
		check("$connect extendedRequestId", ev.ExtendedRequestID, reqIDs)
		id := ev.ConnectionID

		// No route and no $default: an error frame with a fresh request id.
		c.send(`{"action":"nope"}`)
		errID, rid := parseErrorFrame(t, "Forbidden", c.readText())
		if errID != id {
			t.Fatalf("RT-21: error frame connectionId %q, want %q", errID, id)
		}
		check("error frame requestId", rid, reqIDs)

		c.send(fmt.Sprintf(`{"action":"echo","n":%d}`, i))
		msg := lcNext(t, fn, "MESSAGE", id, false)
		check("MESSAGE requestId", msg.RequestID, reqIDs)
		check("MESSAGE extendedRequestId", msg.ExtendedRequestID, reqIDs)
		check("messageId", msg.MessageID, reqIDs)
		if got := c.readText(); got != fmt.Sprintf(`{"action":"echo","n":%d}`, i) {
			t.Fatalf("RT-24: echo %q", got)
		}
		c.close(1000, "")
		dev := lcNext(t, fn, "DISCONNECT", id, false)
		check("$disconnect requestId", dev.RequestID, reqIDs)
	}
}

// lcActiveUntilClose runs tick every interval until the client receives a
// close frame, answering nothing; it returns the close frame's code and
// reason and how many pongs arrived before it. tick returning false ends
// the test.
func lcActiveUntilClose(t *testing.T, c *wsClient, interval time.Duration, tick func() bool) (code int, reason string, pongs int) {
	t.Helper()
	type result struct {
		f   frame
		err error
	}
	frames := make(chan result, 16)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			f, err := c.tryReadFrame()
			frames <- result{f, err}
			if err != nil || f.op == ws.OpClose {
				return
			}
		}
	}()
	defer wg.Wait()
	tk := time.NewTicker(interval)
	defer tk.Stop()
	for {
		select {
		case <-tk.C:
			if !tick() {
				_ = c.conn.Close()
				t.FailNow()
			}
		case r := <-frames:
			switch {
			case r.err != nil:
				t.Fatalf("RT-15: the connection ended without a close frame: %v", r.err)
			case r.f.op == ws.OpPong:
				pongs++
			case r.f.op == ws.OpClose:
				cc, cr := ws.ParseCloseFrameData(r.f.payload)
				return int(cc), cr, pongs
			default:
				_ = c.conn.Close()
				t.Fatalf("RT-15: unexpected frame %v %q", r.f.op, r.f.payload)
			}
		}
	}
}

func TestLifecycleTimeouts(t *testing.T) {
	newGateway := func(t *testing.T, opts Options) (*testGateway, *backend) {
		fn := newBackend(t, echoLambda)
		api := proxyAPI("chat", fn.URL,
			&model.Route{Key: "$connect"}, &model.Route{Key: "$disconnect"}, &model.Route{Key: "$default"})
		return startGateway(t, newState(t, api), opts), fn
	}

	t.Run("RT-15 @connections POSTs keep a connection alive", func(t *testing.T) {
		const idle = 500 * time.Millisecond
		g, fn := newGateway(t, Options{IdleTimeout: idle})
		c := dial(t, g.url("/chat/test"), nil)
		id := lcNext(t, fn, "CONNECT", "", false).ConnectionID
		lcSettle(t, c)
		start := time.Now()
		tk := time.NewTicker(idle / 20)
		defer tk.Stop()
		for i := 0; time.Since(start) < 5*idle/2; i++ {
			<-tk.C
			msg := fmt.Sprintf("keep-%d", i)
			if status, _, _ := lcDo(t, http.MethodPost, lcConnectionsURL(g, id), []byte(msg)); status != http.StatusOK {
				t.Fatalf("RT-15: POST %d after %s: status %d; the pushes did not keep the connection alive", i, time.Since(start), status)
			}
			f := c.readFrame()
			if f.op != ws.OpText || string(f.payload) != msg {
				code, reason := ws.ParseCloseFrameData(f.payload)
				t.Fatalf("RT-15: after %s the client received %v %q (close %d %q), want %q", time.Since(start), f.op, f.payload, code, reason, msg)
			}
		}
		// Without traffic the idle timeout fires.
		code, reason, _ := frReadClose(t, c)
		if code != 1001 || reason != "Going away" {
			t.Fatalf("RT-15: idle close %d %q, want 1001 \"Going away\"", code, reason)
		}
		_ = frWrite(c, frFrame(ws.OpClose, true, 0, true, ws.NewCloseFrameBody(1001, "")))
		lcCheckDisconnect(t, fn, id, 1001, "Going away")
	})

	t.Run("RT-15 client messages keep a connection alive", func(t *testing.T) {
		const idle = 500 * time.Millisecond
		g, fn := newGateway(t, Options{IdleTimeout: idle})
		c := dial(t, g.url("/chat/test"), nil)
		id := lcNext(t, fn, "CONNECT", "", false).ConnectionID
		lcSettle(t, c)
		start := time.Now()
		tk := time.NewTicker(idle / 20)
		defer tk.Stop()
		for i := 0; time.Since(start) < 5*idle/2; i++ {
			<-tk.C
			c.send(fmt.Sprintf("in-%d", i))
		}
		// Still open: a push is accepted and is the next frame the client
		// sees, with no close frame before it.
		if status, _, _ := lcDo(t, http.MethodPost, lcConnectionsURL(g, id), []byte("still-open")); status != http.StatusOK {
			t.Fatalf("RT-15: POST after %s of client messages: %d; the connection was closed as idle", time.Since(start), status)
		}
		if f := c.readFrame(); f.op != ws.OpText || string(f.payload) != "still-open" {
			code, reason := ws.ParseCloseFrameData(f.payload)
			t.Fatalf("RT-15: the client received %v (close %d %q), want the push", f.op, code, reason)
		}
		c.close(1000, "")
		lcCheckDisconnect(t, fn, id, 1000, "")
	})

	t.Run("RT-15 pings do not keep a connection alive", func(t *testing.T) {
		const idle = 300 * time.Millisecond
		g, fn := newGateway(t, Options{IdleTimeout: idle})
		start := time.Now()
		c := dial(t, g.url("/chat/test"), nil)
		id := lcNext(t, fn, "CONNECT", "", false).ConnectionID
		code, reason, pongs := lcActiveUntilClose(t, c, idle/15, func() bool {
			if err := frWrite(c, frFrame(ws.OpPing, true, 0, true, []byte("are you there"))); err != nil {
				t.Errorf("RT-15: ping: %v", err)
				return false
			}
			return true
		})
		if code != 1001 || reason != "Going away" {
			t.Fatalf("RT-15: close %d %q, want 1001 \"Going away\"", code, reason)
		}
		if elapsed := time.Since(start); elapsed < idle {
			t.Fatalf("RT-15: idle close after %s, before the idle timeout %s", elapsed, idle)
		}
		if pongs == 0 {
			t.Errorf("RT-20: no ping was answered")
		}
		_ = frWrite(c, frFrame(ws.OpClose, true, 0, true, ws.NewCloseFrameBody(1001, "")))
		c.expectEOF()
		lcCheckDisconnect(t, fn, id, 1001, "Going away")
	})

	t.Run("RT-15 maximum duration closes an active connection", func(t *testing.T) {
		const maxDuration = 400 * time.Millisecond
		g, fn := newGateway(t, Options{MaxConnectionDuration: maxDuration})
		start := time.Now()
		c := dial(t, g.url("/chat/test"), nil)
		id := lcNext(t, fn, "CONNECT", "", false).ConnectionID
		i := 0
		code, reason, _ := lcActiveUntilClose(t, c, maxDuration/20, func() bool {
			i++
			if err := frWrite(c, frFrame(ws.OpText, true, 0, true, fmt.Appendf(nil, "busy-%d", i))); err != nil {
				t.Errorf("RT-15: send: %v", err)
				return false
			}
			return true
		})
		if code != 1001 || reason != "Going away" {
			t.Fatalf("RT-15: close %d %q, want 1001 \"Going away\"", code, reason)
		}
		if elapsed := time.Since(start); elapsed < maxDuration {
			t.Fatalf("RT-15: closed after %s, before the maximum duration %s", elapsed, maxDuration)
		}
		_ = frWrite(c, frFrame(ws.OpClose, true, 0, true, ws.NewCloseFrameBody(1001, "")))
		c.expectEOF()
		lcCheckDisconnect(t, fn, id, 1001, "Going away")
	})

	t.Run("RT-15 handshake read timeout", func(t *testing.T) {
		const handshake = 200 * time.Millisecond
		g, fn := newGateway(t, Options{HandshakeTimeout: handshake})
		start := time.Now()
		nc, err := net.DialTimeout("tcp", g.addr, testTimeout)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		// Half a request head: no blank line ends it.
		if _, err := io.WriteString(nc, "GET /chat/test HTTP/1.1\r\nHost: "+g.addr+"\r\nUpgrade: websocket\r\n"); err != nil {
			t.Fatal(err)
		}
		_ = nc.SetReadDeadline(time.Now().Add(testTimeout))
		n, err := io.Copy(io.Discard, nc)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("RT-15: the gateway kept a half-sent handshake open for %s", testTimeout)
		}
		if elapsed := time.Since(start); elapsed < handshake {
			t.Fatalf("RT-15: closed after %s, before the handshake timeout %s", elapsed, handshake)
		}
		if n != 0 {
			t.Logf("the gateway answered %d bytes before closing", n)
		}
		g.shutdown()
		lcNoEvents(t, fn, "RT-15: a handshake that never completed must not reach $connect")
	})
}

func TestLifecycleReachableAfter101(t *testing.T) {
	fn := newBackend(t, nil)
	g := startGateway(t, newState(t, frAPI(fn)), Options{})
	for i := range 200 {
		c := dial(t, g.url("/chat/test"), nil)
		id := lcNext(t, fn, "CONNECT", "", false).ConnectionID
		if status, _, _ := lcDo(t, http.MethodPost, lcConnectionsURL(g, id), []byte("first")); status != http.StatusOK {
			t.Fatalf("RT-2: connection %d: POST right after the 101: %d, want 200", i, status)
		}
		if got := c.readText(); got != "first" {
			t.Fatalf("RT-2: connection %d received %q", i, got)
		}
		_ = c.conn.Close()
	}
}
