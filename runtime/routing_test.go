package runtime

// End-to-end tests of endpoints (RT-1, D-31), route selection (RT-21, D-35,
// D-38), integration failures and replies (RT-22, RT-24, D-27, D-39, D-40),
// the proxy events and requests (RT-40, RT-41, D-42, D-43) and integration
// concurrency (RT-44), over real sockets against a real Server.

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/gobwas/ws"
	"github.com/google/go-cmp/cmp"

	"github.com/wsgwctl/wsgwctl/config/model"
)

// routingWSKey is the Sec-WebSocket-Key of raw handshakes.
const routingWSKey = "dGhlIHNhbXBsZSBub25jZQ=="

// routingRawDial performs a WebSocket handshake for target on a new TCP
// connection to addr, writing the request head byte for byte: headerLines
// (which must include Host) keep the casing given, then the upgrade headers
// follow. It returns the server's response and, when it is 101, a client on
// the connection (nil otherwise; the connection is then closed).
func routingRawDial(t testing.TB, addr, target string, headerLines ...string) (*wsClient, *http.Response) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, testTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	var head strings.Builder
	head.WriteString("GET " + target + " HTTP/1.1\r\n")
	for _, l := range headerLines {
		head.WriteString(l + "\r\n")
	}
	head.WriteString("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + routingWSKey + "\r\n\r\n")
	_ = nc.SetDeadline(time.Now().Add(testTimeout))
	if _, err := io.WriteString(nc, head.String()); err != nil {
		_ = nc.Close()
		t.Fatalf("write handshake: %v", err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		_ = nc.Close()
		t.Fatalf("read handshake response for %s: %v", target, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		_ = nc.Close()
		return nil, resp
	}
	_ = nc.SetDeadline(time.Time{})
	t.Cleanup(func() { _ = nc.Close() })
	return &wsClient{t: t, conn: nc, br: br}, resp
}

// routingHTTP sends req on a connection of its own and returns the response
// and its body.
func routingHTTP(t testing.TB, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: testTimeout}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body of %s %s: %v", req.Method, req.URL, err)
	}
	return resp, body
}

// routingCheckID fails the test unless id has the shape of RT-14 / D-35.
func routingCheckID(t testing.TB, what, id string) {
	t.Helper()
	if len(id) != IDLength || !strings.HasSuffix(id, "=") {
		t.Fatalf("RT-14/D-35: %s %q is not a 16-character id ending in '='", what, id)
	}
	if _, ok := NodeOf(id); !ok {
		t.Fatalf("RT-14/D-35: %s %q is not an id the gateway makes", what, id)
	}
}

// routingAPI returns an API whose routes each call their own AWS_PROXY
// integration at base + "/" + key, so that the path a backend receives
// names the route whose integration ran.
func routingAPI(name, expr, base string, twoWay bool, keys ...string) *model.API {
	api := &model.API{Name: name, RouteSelectionExpression: expr}
	for i, key := range keys {
		in := "i" + strconv.Itoa(i)
		api.Integrations = append(api.Integrations, &model.Integration{
			Name: in, Type: model.IntegrationAWSProxy, URI: model.LiteralTemplate(base + "/" + url.PathEscape(key)),
		})
		api.Routes = append(api.Routes, &model.Route{Key: key, Integration: in, TwoWay: twoWay})
	}
	return api
}

// routingExpect waits for the next backend request and checks that it is a
// MESSAGE event handled by the route key want.
func routingExpect(t testing.TB, fn *backend, want, body string) events.APIGatewayWebsocketProxyRequest {
	t.Helper()
	r := fn.next(t)
	ev := r.event(t)
	if r.Path != "/"+want || ev.RequestContext.RouteKey != want {
		t.Fatalf("RT-21: message %s reached route %q (integration path %q), want %q", body, ev.RequestContext.RouteKey, r.Path, want)
	}
	if ev.RequestContext.EventType != "MESSAGE" || ev.Body != body {
		t.Fatalf("RT-21: route %q got a %s event with body %q, want MESSAGE %q", want, ev.RequestContext.EventType, ev.Body, body)
	}
	return ev
}

func TestRT1StageURLsAndD31Paths(t *testing.T) {
	fn := newBackend(t, nil)
	chat := proxyAPI("chat", fn.URL, &model.Route{Key: "$default"})
	chat.Stages = []*model.Stage{{Name: "test"}, {Name: "prod"}}
	g := startGateway(t, newState(t, chat), Options{})

	t.Run("upgrade", func(t *testing.T) {
		tests := []struct {
			path string
			want int
		}{
			{"/chat/test", http.StatusSwitchingProtocols},
			{"/chat/prod", http.StatusSwitchingProtocols},
			{"/chat/test?token=1", http.StatusSwitchingProtocols},
			{"/chat", http.StatusNotFound},
			{"/chat/", http.StatusNotFound},
			{"/chat/test/more", http.StatusNotFound},
			{"/other/test", http.StatusNotFound},
			{"/chat/staging", http.StatusNotFound},
			{"/test", http.StatusNotFound},
			{"/", http.StatusNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.path, func(t *testing.T) {
				if got := dialStatus(t, g.url(tt.path), nil); got != tt.want {
					t.Fatalf("RT-1/D-31: upgrade to %s: got HTTP %d, want %d", tt.path, got, tt.want)
				}
			})
		}
	})

	t.Run("non-upgrade", func(t *testing.T) {
		tests := []struct {
			name    string
			method  string
			path    string
			header  http.Header
			want    int
			upgrade bool
		}{
			{"GET stage", http.MethodGet, "/chat/test", nil, http.StatusUpgradeRequired, true},
			{"POST stage", http.MethodPost, "/chat/prod", nil, http.StatusUpgradeRequired, true},
			{"GET upgrade without key", http.MethodGet, "/chat/test", http.Header{"Upgrade": {"websocket"}, "Connection": {"Upgrade"}, "Sec-Websocket-Version": {"13"}}, http.StatusUpgradeRequired, true},
			{"POST with upgrade headers", http.MethodPost, "/chat/test", http.Header{"Upgrade": {"websocket"}, "Connection": {"Upgrade"}, "Sec-Websocket-Version": {"13"}, "Sec-Websocket-Key": {routingWSKey}}, http.StatusUpgradeRequired, true},
			{"GET api only", http.MethodGet, "/chat", nil, http.StatusNotFound, false},
			{"GET below stage", http.MethodGet, "/chat/test/more", nil, http.StatusNotFound, false},
			{"GET unknown stage", http.MethodGet, "/chat/nope", nil, http.StatusNotFound, false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				req, err := http.NewRequest(tt.method, g.httpURL(tt.path), strings.NewReader("x"))
				if err != nil {
					t.Fatal(err)
				}
				for k, v := range tt.header {
					req.Header[k] = v
				}
				resp, _ := routingHTTP(t, req)
				if resp.StatusCode != tt.want {
					t.Fatalf("D-31: %s %s: got HTTP %d, want %d", tt.method, tt.path, resp.StatusCode, tt.want)
				}
				if got := resp.Header.Get("Upgrade"); tt.upgrade && got != "websocket" {
					t.Fatalf("D-31: 426 for %s %s carries Upgrade %q, want websocket", tt.method, tt.path, got)
				}
			})
		}
	})
}

func TestRT1DomainNameMappings(t *testing.T) {
	fn := newBackend(t, nil)
	chat := proxyAPI("chat", fn.URL, &model.Route{Key: "$connect"}, &model.Route{Key: "$default"})
	chat.Stages = []*model.Stage{{Name: "test"}, {Name: "prod"}}
	st := newState(t, chat)
	st.DomainNames = []*model.DomainName{
		{Host: "ws.example.com", Mappings: []model.Mapping{{BasePath: "v1", API: "chat", Stage: "test"}}},
		{Host: "root.example.com", Mappings: []model.Mapping{{BasePath: "", API: "chat", Stage: "prod"}}},
	}
	g := startGateway(t, st, Options{})

	tests := []struct {
		name      string
		host      string
		target    string
		want      int
		wantStage string
	}{
		{"base path", "ws.example.com", "/v1", http.StatusSwitchingProtocols, "test"},
		{"base path with query", "ws.example.com", "/v1?a=b", http.StatusSwitchingProtocols, "test"},
		{"host case and port", "WS.Example.com:443", "/v1", http.StatusSwitchingProtocols, "test"},
		{"empty base path", "root.example.com", "/", http.StatusSwitchingProtocols, "prod"},
		{"empty base path with port", "root.example.com:8443", "/", http.StatusSwitchingProtocols, "prod"},
		{"unmapped base path", "ws.example.com", "/v2", http.StatusNotFound, ""},
		{"mapped host, root", "ws.example.com", "/", http.StatusNotFound, ""},
		{"below base path", "ws.example.com", "/v1/more", http.StatusNotFound, ""},
		{"unmapped host", "other.example.com", "/v1", http.StatusNotFound, ""},
		{"root host, other path", "root.example.com", "/v1", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, resp := routingRawDial(t, g.addr, tt.target, "Host: "+tt.host)
			if resp.StatusCode != tt.want {
				t.Fatalf("RT-1: handshake for Host %s %s: got HTTP %d, want %d", tt.host, tt.target, resp.StatusCode, tt.want)
			}
			if c == nil {
				return
			}
			ev, _ := fn.nextEvent(t, "CONNECT")
			if ev.RequestContext.Stage != tt.wantStage || ev.RequestContext.DomainName != tt.host {
				t.Fatalf("RT-1/D-42: Host %s %s served stage %q with domainName %q, want stage %q and domainName %q",
					tt.host, tt.target, ev.RequestContext.Stage, ev.RequestContext.DomainName, tt.wantStage, tt.host)
			}
			c.close(1000, "")
			c.expectClose(1000, "")
		})
	}

	t.Run("non-upgrade to a mapping", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodGet, g.httpURL("/v1"), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "ws.example.com"
		resp, _ := routingHTTP(t, req)
		if resp.StatusCode != http.StatusUpgradeRequired || resp.Header.Get("Upgrade") != "websocket" {
			t.Fatalf("D-31: GET to a domain mapping: got HTTP %d Upgrade %q, want 426 websocket", resp.StatusCode, resp.Header.Get("Upgrade"))
		}
	})
}

func TestRT21RouteSelection(t *testing.T) {
	fn := newBackend(t, nil)
	api := routingAPI("chat", "$request.body.action", fn.URL, false,
		"$connect", "$disconnect", "$default", "join", "Join", "[a, b]", "42", "true", "{k=v}")
	g := startGateway(t, newState(t, api), Options{})
	c := dial(t, g.url("/chat/test"), nil)
	if r := fn.next(t); r.Path != "/$connect" {
		t.Fatalf("RT-10: first request went to %q, want the $connect integration", r.Path)
	}

	tests := []struct {
		name string
		msg  string
		want string
	}{
		{"custom route", `{"action":"join"}`, "join"},
		{"case-sensitive key", `{"action":"Join"}`, "Join"},
		{"no match", `{"action":"JOIN"}`, "$default"},
		{"missing path", `{"other":"join"}`, "$default"},
		{"array value", `{"action":["a","b"]}`, "[a, b]"},
		{"number value", `{"action":42}`, "42"},
		{"literal value", `{"action":true}`, "true"},
		{"object value", `{"action":{"k":"v"}}`, "{k=v}"},
		{"non-JSON", `join`, "$default"},
		{"truncated JSON", `{"action":"join"`, "$default"},
		{"$connect action", `{"action":"$connect"}`, "$default"},
		{"$disconnect action", `{"action":"$disconnect"}`, "$default"},
		{"$default action", `{"action":"$default"}`, "$default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.send(tt.msg)
			routingExpect(t, fn, tt.want, tt.msg)
		})
	}
}

func TestRT21AWSDocumentationTable(t *testing.T) {
	// The payload and the six rows of the AWS documentation's table of
	// route selection expressions.
	const payload = `{"service":"chat","action":"join","data":{"room":"room1234"}}`
	rows := []struct {
		expr string
		want string
	}{
		{`$request.body.action`, "join"},
		{`${request.body.action}`, "join"},
		{`${request.body.service}/${request.body.action}`, "chat/join"},
		{`${request.body.action}-${request.body.invalidPath}`, "join-"},
		{`action`, "action"},
		{`\$default`, "$default"},
	}
	// Every API has a route for each row's result, so a wrong evaluation
	// reaches a route other than the expected one.
	keys := []string{"$default", "join", "chat/join", "join-", "action", "chat", "room1234"}
	fn := newBackend(t, nil)
	var apis []*model.API
	for i, row := range rows {
		apis = append(apis, routingAPI("row"+strconv.Itoa(i+1), row.expr, fn.URL, false, keys...))
	}
	g := startGateway(t, newState(t, apis...), Options{})
	for i, row := range rows {
		t.Run(row.expr, func(t *testing.T) {
			c := dial(t, g.url("/row"+strconv.Itoa(i+1)+"/test"), nil)
			c.send(payload)
			routingExpect(t, fn, row.want, payload)
		})
	}
}

func TestRT21ForbiddenWithoutDefault(t *testing.T) {
	fn := newBackend(t, nil)
	api := routingAPI("strict", "$request.body.action", fn.URL, false, "$connect", "$disconnect", "join")
	g := startGateway(t, newState(t, api), Options{})
	c := dial(t, g.url("/strict/test"), nil)
	connectEv, _ := fn.nextEvent(t, "CONNECT")
	id := connectEv.RequestContext.ConnectionID

	seen := map[string]bool{}
	for _, msg := range []string{`{"action":"nope"}`, `not json`, `{"action":"$connect"}`, `{"action":"$disconnect"}`, `{"action":"$default"}`, `{"action":"nope"}`} {
		c.send(msg)
		got := c.readText()
		cid, rid := parseErrorFrame(t, "Forbidden", got)
		if cid != id {
			t.Fatalf("RT-21: Forbidden frame for %s names connection %q, want %q", msg, cid, id)
		}
		routingCheckID(t, "requestId of a Forbidden frame", rid)
		if seen[rid] || rid == id {
			t.Fatalf("D-35: requestId %q of the Forbidden frame for %s is not fresh", rid, msg)
		}
		seen[rid] = true
		if want := errorFrameText("Forbidden", id, rid); got != want {
			t.Fatalf("RT-21: got %q, want %q", got, want)
		}
	}
	// The connection stays open and routes the next message.
	c.send(`{"action":"join"}`)
	routingExpect(t, fn, "join", `{"action":"join"}`)
	c.close(1000, "")
	c.expectClose(1000, "")
	if ev, _ := fn.nextEvent(t, "DISCONNECT"); ev.RequestContext.DisconnectStatusCode != 1000 {
		t.Fatalf("RT-13: $disconnect after Forbidden frames reports %d", ev.RequestContext.DisconnectStatusCode)
	}
}

// routingFailureBackend answers per path: the integration failures and non-failures
// of RT-22 and D-39. Every request carrying X-Request-Id (HTTP_PROXY) or an
// AWS_PROXY event is recorded.
func routingFailureBackend(t testing.TB, release <-chan struct{}) *backend {
	return newBackend(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		switch strings.TrimSuffix(r.URL.Path, "/") {
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-release:
			}
		case "/fnerror":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"errorMessage":"boom","errorType":"Error"}`)
		case "/fnerrorheader":
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			_, _ = io.WriteString(w, `{"statusCode":200,"body":"must not be sent"}`)
		case "/notjson":
			_, _ = io.WriteString(w, `this is not JSON`)
		case "/h500":
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, "must not be sent")
		case "/h502":
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, "must not be sent")
		case "/h404":
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, "not here")
		case "/h400":
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":"bad"}`)
		case "/l500":
			lambdaReply(500, "lambda says 500")(w, r, body)
		case "/whoami":
			var ev events.APIGatewayWebsocketProxyRequest
			_ = json.Unmarshal(body, &ev)
			lambdaReply(200, ev.RequestContext.ConnectionID)(w, r, body)
		}
	})
}

// routingDeadURL returns the URL of a port on which nothing listens.
func routingDeadURL(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "http://" + addr
}

func TestRT22IntegrationFailures(t *testing.T) {
	release := make(chan struct{})
	bk := routingFailureBackend(t, release)
	dead := routingDeadURL(t)
	reqID := map[string]string{"integration.request.header.X-Request-Id": "context.requestId"}
	integrations := []*model.Integration{
		{Name: "unreachable", Type: model.IntegrationAWSProxy, URI: model.LiteralTemplate(dead + "/fn")},
		{Name: "timeout", Type: model.IntegrationAWSProxy, URI: model.LiteralTemplate(bk.URL + "/slow"), TimeoutMS: 50},
		{Name: "fnerror", Type: model.IntegrationAWSProxy, URI: model.LiteralTemplate(bk.URL + "/fnerror")},
		{Name: "fnerrorheader", Type: model.IntegrationAWSProxy, URI: model.LiteralTemplate(bk.URL + "/fnerrorheader")},
		{Name: "notjson", Type: model.IntegrationAWSProxy, URI: model.LiteralTemplate(bk.URL + "/notjson")},
		{Name: "invoke500", Type: model.IntegrationAWSProxy, URI: model.LiteralTemplate(bk.URL + "/h500")},
		{Name: "http500", Type: model.IntegrationHTTPProxy, URI: model.LiteralTemplate(bk.URL + "/h500"), RequestParameters: reqID},
		{Name: "http502", Type: model.IntegrationHTTPProxy, URI: model.LiteralTemplate(bk.URL + "/h502"), RequestParameters: reqID},
		{Name: "http404", Type: model.IntegrationHTTPProxy, URI: model.LiteralTemplate(bk.URL + "/h404"), RequestParameters: reqID},
		{Name: "http400", Type: model.IntegrationHTTPProxy, URI: model.LiteralTemplate(bk.URL + "/h400"), RequestParameters: reqID},
		{Name: "lambda500", Type: model.IntegrationAWSProxy, URI: model.LiteralTemplate(bk.URL + "/l500")},
		{Name: "whoami", Type: model.IntegrationAWSProxy, URI: model.LiteralTemplate(bk.URL + "/whoami")},
	}
	api := &model.API{Name: "errs", Integrations: integrations}
	for _, in := range integrations {
		api.Routes = append(api.Routes,
			&model.Route{Key: in.Name, Integration: in.Name, TwoWay: true},
			&model.Route{Key: in.Name + "-oneway", Integration: in.Name})
	}
	g := startGateway(t, newState(t, api), Options{})
	t.Cleanup(func() { close(release) }) // runs before the gateway's shutdown

	tests := []struct {
		route string
		// fails: the client gets the Internal server error frame; else reply
		// is what a two-way route sends.
		fails bool
		reply string
		// recorded: the backend sees the request and its request id.
		recorded bool
	}{
		{route: "unreachable", fails: true},
		{route: "timeout", fails: true, recorded: true},
		{route: "fnerror", fails: true, recorded: true},
		{route: "fnerrorheader", fails: true, recorded: true},
		{route: "notjson", fails: true, recorded: true},
		{route: "invoke500", fails: true, recorded: true},
		{route: "http500", fails: true, recorded: true},
		{route: "http502", fails: true, recorded: true},
		{route: "http404", reply: "not here", recorded: true},
		{route: "http400", reply: `{"error":"bad"}`, recorded: true},
		{route: "lambda500", reply: "lambda says 500", recorded: true},
	}
	for _, tt := range tests {
		for _, oneWay := range []bool{false, true} {
			route := tt.route
			if oneWay {
				route += "-oneway"
			}
			if oneWay && !tt.fails {
				continue // RT-24 covers one-way routes that succeed.
			}
			t.Run(route, func(t *testing.T) {
				c := dial(t, g.url("/errs/test"), nil)
				msg := `{"action":"` + route + `"}`
				c.send(msg)
				var requestID string
				if tt.recorded {
					r := bk.next(t)
					if r.Method == http.MethodPost && r.Header.Get("X-Request-Id") == "" {
						requestID = r.event(t).RequestContext.RequestID
					} else {
						requestID = r.Header.Get("X-Request-Id")
					}
				}
				got := c.readText()

				// The connection is still open and routes the next message;
				// its reply names the connection id.
				c.send(`{"action":"whoami"}`)
				bk.next(t)
				id := c.readText()
				routingCheckID(t, "connection id", id)

				if !tt.fails {
					if got != tt.reply {
						t.Fatalf("D-39: route %s: got %q, want the backend's reply %q", route, got, tt.reply)
					}
					return
				}
				want := "Internal server error"
				cid, rid := parseErrorFrame(t, want, got)
				if cid != id {
					t.Fatalf("RT-22: error frame names connection %q, want %q", cid, id)
				}
				routingCheckID(t, "requestId of the error frame", rid)
				if requestID != "" && rid != requestID {
					t.Fatalf("D-35: error frame's requestId %q is not the failed message's request id %q", rid, requestID)
				}
			})
		}
	}
}

func TestRT24RepliesAndD40(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 70000/16) // 70000 bytes
	nonUTF8 := []byte{0xff, 0xfe, 'a', 0x00, 0xc3}
	replies := map[string]func(http.ResponseWriter, *http.Request, []byte){
		"/echo": echoLambda,
		"/nobody": func(w http.ResponseWriter, _ *http.Request, _ []byte) {
			_, _ = io.WriteString(w, `{"statusCode":200,"headers":{"x":"y"}}`)
		},
		"/nullbody": func(w http.ResponseWriter, _ *http.Request, _ []byte) {
			_, _ = io.WriteString(w, `{"statusCode":200,"body":null}`)
		},
		"/emptybody": lambdaReply(200, ""),
		"/b64text": func(w http.ResponseWriter, _ *http.Request, _ []byte) {
			_ = json.NewEncoder(w).Encode(map[string]any{"statusCode": 200, "isBase64Encoded": true, "body": base64.StdEncoding.EncodeToString([]byte("héllo wörld"))})
		},
		"/b64binary": func(w http.ResponseWriter, _ *http.Request, _ []byte) {
			_ = json.NewEncoder(w).Encode(map[string]any{"statusCode": 200, "isBase64Encoded": true, "body": base64.StdEncoding.EncodeToString(nonUTF8)})
		},
		"/big": lambdaReply(200, big),
		"/proxy": func(w http.ResponseWriter, _ *http.Request, body []byte) {
			_, _ = w.Write(append([]byte("proxied:"), body...))
		},
	}
	bk := newBackend(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		replies[r.URL.Path](w, r, body)
	})
	api := &model.API{Name: "replies"}
	for _, path := range []string{"/echo", "/nobody", "/nullbody", "/emptybody", "/b64text", "/b64binary", "/big", "/proxy"} {
		name := strings.TrimPrefix(path, "/")
		typ := model.IntegrationAWSProxy
		if name == "proxy" {
			typ = model.IntegrationHTTPProxy
		}
		api.Integrations = append(api.Integrations, &model.Integration{Name: name, Type: typ, URI: model.LiteralTemplate(bk.URL + path)})
		api.Routes = append(api.Routes,
			&model.Route{Key: name, Integration: name, TwoWay: true},
			&model.Route{Key: name + "-oneway", Integration: name})
	}
	// One integration call at a time per connection: a reply to a message,
	// if any, is queued before the next message's integration runs, so the
	// frame after a message that must send nothing is the next reply.
	g := startGateway(t, newState(t, api), Options{MaxInflight: 1})

	// marker sends a message to the two-way echo route and checks that its
	// echo is the next message the client receives.
	marker := func(t *testing.T, c *wsClient, after string) {
		t.Helper()
		msg := `{"action":"echo","marker":"after ` + after + `"}`
		c.send(msg)
		bk.next(t)
		if op, got := c.readMessage(); op != ws.OpText || string(got) != msg {
			t.Fatalf("RT-24/D-40: after %s the client received %v %q, want nothing before the echo %q", after, op, got, msg)
		}
	}

	t.Run("one-way sends nothing", func(t *testing.T) {
		c := dial(t, g.url("/replies/test"), nil)
		for _, route := range []string{"echo-oneway", "proxy-oneway", "b64text-oneway", "big-oneway"} {
			c.send(`{"action":"` + route + `"}`)
			bk.next(t)
			marker(t, c, route)
		}
	})
	t.Run("two-way Lambda body", func(t *testing.T) {
		c := dial(t, g.url("/replies/test"), nil)
		msg := `{"action":"echo","x":"ü"}`
		c.send(msg)
		bk.next(t)
		if op, got := c.readMessage(); op != ws.OpText || string(got) != msg {
			t.Fatalf("RT-24: two-way echo: got %v %q, want text %q", op, got, msg)
		}
	})
	t.Run("two-way HTTP_PROXY body", func(t *testing.T) {
		c := dial(t, g.url("/replies/test"), nil)
		msg := `{"action":"proxy"}`
		c.send(msg)
		if r := bk.next(t); string(r.Body) != msg {
			t.Fatalf("RT-41: HTTP_PROXY body %q, want the message %q", r.Body, msg)
		}
		if got := c.readText(); got != "proxied:"+msg {
			t.Fatalf("RT-24: two-way HTTP_PROXY: got %q, want %q", got, "proxied:"+msg)
		}
	})
	t.Run("Lambda result without body", func(t *testing.T) {
		c := dial(t, g.url("/replies/test"), nil)
		for _, route := range []string{"nobody", "nullbody"} {
			c.send(`{"action":"` + route + `"}`)
			bk.next(t)
			marker(t, c, route)
		}
	})
	t.Run("Lambda empty body", func(t *testing.T) {
		c := dial(t, g.url("/replies/test"), nil)
		c.send(`{"action":"emptybody"}`)
		bk.next(t)
		// An empty string body is a body: one empty text frame.
		if op, got := c.readMessage(); op != ws.OpText || len(got) != 0 {
			t.Fatalf("D-40: body \"\" sent %v %q, want an empty text message", op, got)
		}
	})
	t.Run("base64 UTF-8 is text", func(t *testing.T) {
		c := dial(t, g.url("/replies/test"), nil)
		c.send(`{"action":"b64text"}`)
		bk.next(t)
		if op, got := c.readMessage(); op != ws.OpText || string(got) != "héllo wörld" {
			t.Fatalf("D-40: base64 UTF-8 body: got %v %q, want text %q", op, got, "héllo wörld")
		}
	})
	t.Run("base64 non-UTF-8 is binary", func(t *testing.T) {
		c := dial(t, g.url("/replies/test"), nil)
		c.send(`{"action":"b64binary"}`)
		bk.next(t)
		if op, got := c.readMessage(); op != ws.OpBinary || !bytes.Equal(got, nonUTF8) {
			t.Fatalf("D-40: base64 non-UTF-8 body: got %v %x, want binary %x", op, got, nonUTF8)
		}
	})
	t.Run("large reply is fragmented", func(t *testing.T) {
		c := dial(t, g.url("/replies/test"), nil)
		c.send(`{"action":"big"}`)
		bk.next(t)
		got := routingReadFragments(t, c, ws.OpText)
		if got != big {
			t.Fatalf("D-27: reassembled reply of %d bytes differs from the %d-byte body", len(got), len(big))
		}
	})
}

// routingReadFragments reads one data message frame by frame, checking that
// it starts with op, that every frame carries at most MaxFrameSize bytes
// (D-27) and that only the last is final; it returns the reassembled text.
func routingReadFragments(t testing.TB, c *wsClient, op ws.OpCode) string {
	t.Helper()
	var msg []byte
	var sizes []int
	for i := 0; ; i++ {
		f := c.readFrame()
		if f.op.IsControl() {
			t.Fatalf("got control frame %v inside a message", f.op)
		}
		want := ws.OpContinuation
		if i == 0 {
			want = op
		}
		if f.op != want {
			t.Fatalf("D-27: frame %d has opcode %v, want %v", i, f.op, want)
		}
		if len(f.payload) > MaxFrameSize {
			t.Fatalf("D-27: frame %d carries %d bytes, more than %d", i, len(f.payload), MaxFrameSize)
		}
		sizes = append(sizes, len(f.payload))
		msg = append(msg, f.payload...)
		if f.fin {
			break
		}
	}
	if len(msg) > MaxFrameSize && len(sizes) < 2 {
		t.Fatalf("D-27: a %d-byte message came in %d frame(s)", len(msg), len(sizes))
	}
	return string(msg)
}

// routingDecodeStrict decodes an AWS_PROXY event, failing on any member
// that events.APIGatewayWebsocketProxyRequest does not have (RT-40: the
// event decodes without loss).
func routingDecodeStrict(t testing.TB, body []byte) events.APIGatewayWebsocketProxyRequest {
	t.Helper()
	var ev events.APIGatewayWebsocketProxyRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("RT-40: event does not decode without loss into events.APIGatewayWebsocketProxyRequest: %v\n%s", err, body)
	}
	return ev
}

// routingMembers returns the top-level and requestContext member names of
// an event.
func routingMembers(t testing.TB, body []byte) (top, requestContext []string) {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	var rc map[string]json.RawMessage
	if err := json.Unmarshal(m["requestContext"], &rc); err != nil {
		t.Fatal(err)
	}
	for k := range m {
		top = append(top, k)
	}
	for k := range rc {
		requestContext = append(requestContext, k)
	}
	slices.Sort(top)
	slices.Sort(requestContext)
	return top, requestContext
}

func TestRT40ProxyEvents(t *testing.T) {
	fn := newBackend(t, echoLambda)
	api := proxyAPI("rt40", fn.URL,
		&model.Route{Key: "$connect"}, &model.Route{Key: "$disconnect"}, &model.Route{Key: "$default", TwoWay: true})
	api.Stages = []*model.Stage{
		{Name: "vars", Variables: map[string]string{"x": "1", "backend": "http://b:9/p"}},
		{Name: "plain"},
	}
	st := newState(t, api)
	apiID := st.APIs[0].ID
	g := startGateway(t, st, Options{})
	_, port, _ := net.SplitHostPort(g.addr)

	const host = "Gw.Example.test"
	const agent = "rt40-agent/1.0"
	before := time.Now()
	c, resp := routingRawDial(t, g.addr, "/rt40/vars?a=1&b=2&a=3&empty=",
		"Host: "+host, "x-custom-Header: v", "User-Agent: "+agent, "X-Multi: one", "X-Multi: two")
	if c == nil {
		t.Fatalf("RT-1: handshake: HTTP %d", resp.StatusCode)
	}
	_, connectRec := fn.nextEvent(t, "CONNECT")
	after := time.Now()
	connect := routingDecodeStrict(t, connectRec.Body)
	rc := connect.RequestContext
	id := rc.ConnectionID

	checkTime := func(t *testing.T, what string, ev events.APIGatewayWebsocketProxyRequest, lo, hi time.Time) {
		t.Helper()
		rc := ev.RequestContext
		if rc.ConnectedAt < before.UnixMilli() || rc.ConnectedAt > after.UnixMilli() {
			t.Fatalf("RT-40: %s connectedAt %d outside [%d, %d] (ms)", what, rc.ConnectedAt, before.UnixMilli(), after.UnixMilli())
		}
		if rc.RequestTimeEpoch < lo.UnixMilli() || rc.RequestTimeEpoch > hi.UnixMilli() || rc.RequestTimeEpoch < rc.ConnectedAt {
			t.Fatalf("RT-40: %s requestTimeEpoch %d outside [%d, %d] (ms)", what, rc.RequestTimeEpoch, lo.UnixMilli(), hi.UnixMilli())
		}
		rt, err := time.Parse("02/Jan/2006:15:04:05 -0700", rc.RequestTime)
		if err != nil {
			t.Fatalf("RT-40: %s requestTime %q: %v", what, rc.RequestTime, err)
		}
		if !strings.HasSuffix(rc.RequestTime, " +0000") || rt.Unix() != rc.RequestTimeEpoch/1000 {
			t.Fatalf("RT-40/D-42: %s requestTime %q is not requestTimeEpoch %d in UTC", what, rc.RequestTime, rc.RequestTimeEpoch)
		}
	}
	checkCommon := func(t *testing.T, what string, ev events.APIGatewayWebsocketProxyRequest, routeKey, eventType string) {
		t.Helper()
		rc := ev.RequestContext
		if rc.RouteKey != routeKey || rc.EventType != eventType {
			t.Fatalf("RT-40: %s routeKey %q eventType %q, want %q %q", what, rc.RouteKey, rc.EventType, routeKey, eventType)
		}
		if rc.ConnectionID != id || rc.Stage != "vars" || rc.APIID != apiID || rc.DomainName != host || rc.MessageDirection != "IN" {
			t.Fatalf("RT-40: %s context: connectionId %q stage %q apiId %q domainName %q messageDirection %q; want %q vars %q %q IN",
				what, rc.ConnectionID, rc.Stage, rc.APIID, rc.DomainName, rc.MessageDirection, id, apiID, host)
		}
		if rc.Identity.SourceIP != "127.0.0.1" || rc.Identity.UserAgent != agent {
			t.Fatalf("RT-40: %s identity %+v, want sourceIp 127.0.0.1 userAgent %q", what, rc.Identity, agent)
		}
		routingCheckID(t, what+" requestId", rc.RequestID)
		routingCheckID(t, what+" extendedRequestId", rc.ExtendedRequestID)
		if rc.RequestID == rc.ExtendedRequestID {
			t.Fatalf("RT-40: %s requestId and extendedRequestId are both %q", what, rc.RequestID)
		}
		if diff := cmp.Diff(map[string]string{"x": "1", "backend": "http://b:9/p"}, ev.StageVariables); diff != "" {
			t.Fatalf("RT-40: %s stageVariables (-want +got):\n%s", what, diff)
		}
		if ev.IsBase64Encoded {
			t.Fatalf("RT-40: %s isBase64Encoded is true", what)
		}
	}

	t.Run("CONNECT", func(t *testing.T) {
		routingCheckID(t, "connectionId", id)
		checkCommon(t, "CONNECT", connect, "$connect", "CONNECT")
		checkTime(t, "CONNECT", connect, before, after)
		if rc.MessageID != nil || connect.Body != "" || rc.DisconnectReason != nil || rc.DisconnectStatusCode != 0 {
			t.Fatalf("RT-40/D-42: CONNECT carries messageId %v, body %q or disconnect fields", rc.MessageID, connect.Body)
		}
		if bytes.Contains(connectRec.Body, []byte(`"body"`)) {
			t.Fatalf("D-42: CONNECT event has a body member: %s", connectRec.Body)
		}
		wantHeaders := map[string]string{
			"Host":                  host,
			"x-custom-Header":       "v",
			"User-Agent":            agent,
			"X-Multi":               "two",
			"Upgrade":               "websocket",
			"Connection":            "Upgrade",
			"Sec-WebSocket-Version": "13",
			"Sec-WebSocket-Key":     routingWSKey,
			"X-Forwarded-For":       "127.0.0.1",
			"X-Forwarded-Port":      port,
			"X-Forwarded-Proto":     "http",
		}
		if diff := cmp.Diff(wantHeaders, connect.Headers); diff != "" {
			t.Fatalf("D-42: CONNECT headers (-want +got):\n%s", diff)
		}
		wantMulti := map[string][]string{}
		for k, v := range wantHeaders {
			wantMulti[k] = []string{v}
		}
		wantMulti["X-Multi"] = []string{"one", "two"}
		if diff := cmp.Diff(wantMulti, connect.MultiValueHeaders); diff != "" {
			t.Fatalf("D-42: CONNECT multiValueHeaders (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(map[string]string{"a": "3", "b": "2", "empty": ""}, connect.QueryStringParameters); diff != "" {
			t.Fatalf("D-42: queryStringParameters (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(map[string][]string{"a": {"1", "3"}, "b": {"2"}, "empty": {""}}, connect.MultiValueQueryStringParameters); diff != "" {
			t.Fatalf("D-42: multiValueQueryStringParameters (-want +got):\n%s", diff)
		}
	})

	t.Run("MESSAGE", func(t *testing.T) {
		msgs := []string{`{"action":"anything","n":[1,2]}`, "plain text \u00e9"}
		var ids []string
		for _, msg := range msgs {
			lo := time.Now()
			c.send(msg)
			_, rec := fn.nextEvent(t, "MESSAGE")
			hi := time.Now()
			if got := c.readText(); got != msg {
				t.Fatalf("RT-24: echo %q, want %q", got, msg)
			}
			ev := routingDecodeStrict(t, rec.Body)
			checkCommon(t, "MESSAGE", ev, "$default", "MESSAGE")
			checkTime(t, "MESSAGE", ev, lo, hi)
			if ev.RequestContext.ConnectedAt != rc.ConnectedAt {
				t.Fatalf("RT-40: MESSAGE connectedAt %d differs from CONNECT's %d", ev.RequestContext.ConnectedAt, rc.ConnectedAt)
			}
			if ev.Body != msg {
				t.Fatalf("RT-40: MESSAGE body %q, want %q", ev.Body, msg)
			}
			mid, ok := ev.RequestContext.MessageID.(string)
			if !ok {
				t.Fatalf("RT-40: MESSAGE messageId %v is not a string", ev.RequestContext.MessageID)
			}
			routingCheckID(t, "messageId", mid)
			ids = append(ids, mid, ev.RequestContext.RequestID)
			if ev.Headers != nil || ev.MultiValueHeaders != nil || ev.QueryStringParameters != nil || ev.MultiValueQueryStringParameters != nil {
				t.Fatalf("RT-40: MESSAGE carries handshake headers or query parameters: %s", rec.Body)
			}
			if ev.RequestContext.DisconnectReason != nil || ev.RequestContext.DisconnectStatusCode != 0 {
				t.Fatalf("RT-40: MESSAGE carries disconnect fields: %s", rec.Body)
			}
		}
		ids = append(ids, rc.RequestID)
		slices.Sort(ids)
		if len(slices.Compact(ids)) != 5 {
			t.Fatalf("D-35: messageIds and requestIds are not unique: %v", ids)
		}
	})

	t.Run("DISCONNECT", func(t *testing.T) {
		lo := time.Now()
		c.close(4001, "client done")
		c.expectClose(4001, "")
		_, rec := fn.nextEvent(t, "DISCONNECT")
		hi := time.Now()
		ev := routingDecodeStrict(t, rec.Body)
		checkCommon(t, "DISCONNECT", ev, "$disconnect", "DISCONNECT")
		checkTime(t, "DISCONNECT", ev, lo, hi)
		wantHeaders := map[string]string{"Host": host, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""}
		if diff := cmp.Diff(wantHeaders, ev.Headers); diff != "" {
			t.Fatalf("D-42: DISCONNECT headers (-want +got):\n%s", diff)
		}
		wantMulti := map[string][]string{"Host": {host}, "x-api-key": {""}, "X-Forwarded-For": {""}, "x-restapi": {""}}
		if diff := cmp.Diff(wantMulti, ev.MultiValueHeaders); diff != "" {
			t.Fatalf("D-42: DISCONNECT multiValueHeaders (-want +got):\n%s", diff)
		}
		rc := ev.RequestContext
		if rc.DisconnectStatusCode != 4001 || rc.DisconnectReason == nil || *rc.DisconnectReason != "client done" {
			t.Fatalf("RT-13: DISCONNECT status %d reason %v, want 4001 \"client done\"", rc.DisconnectStatusCode, rc.DisconnectReason)
		}
		if rc.MessageID != nil || ev.Body != "" || ev.QueryStringParameters != nil || ev.MultiValueQueryStringParameters != nil {
			t.Fatalf("RT-40/D-42: DISCONNECT carries messageId, body or query: %s", rec.Body)
		}
		top, inner := routingMembers(t, rec.Body)
		if slices.Contains(top, "body") || slices.Contains(inner, "messageId") {
			t.Fatalf("D-42: DISCONNECT has body or messageId members: %s", rec.Body)
		}
	})

	t.Run("members", func(t *testing.T) {
		top, inner := routingMembers(t, connectRec.Body)
		wantTop := []string{"headers", "isBase64Encoded", "multiValueHeaders", "multiValueQueryStringParameters", "queryStringParameters", "requestContext", "stageVariables"}
		if diff := cmp.Diff(wantTop, top); diff != "" {
			t.Fatalf("RT-40: CONNECT members (-want +got):\n%s", diff)
		}
		wantInner := []string{"apiId", "connectedAt", "connectionId", "domainName", "eventType", "extendedRequestId", "identity", "messageDirection", "requestId", "requestTime", "requestTimeEpoch", "routeKey", "stage"}
		if diff := cmp.Diff(wantInner, inner); diff != "" {
			t.Fatalf("RT-40: CONNECT requestContext members (-want +got):\n%s", diff)
		}
	})

	t.Run("stage without variables and no query", func(t *testing.T) {
		c := dial(t, g.url("/rt40/plain"), nil)
		_, rec := fn.nextEvent(t, "CONNECT")
		top, _ := routingMembers(t, rec.Body)
		for _, m := range []string{"stageVariables", "queryStringParameters", "multiValueQueryStringParameters", "body"} {
			if slices.Contains(top, m) {
				t.Fatalf("RT-40/D-42: CONNECT to a stage without variables and without a query has %q: %s", m, rec.Body)
			}
		}
		c.send("hi")
		_, rec = fn.nextEvent(t, "MESSAGE")
		c.readText()
		top, _ = routingMembers(t, rec.Body)
		if slices.Contains(top, "stageVariables") {
			t.Fatalf("RT-40: MESSAGE on a stage without variables has stageVariables: %s", rec.Body)
		}
		ev := routingDecodeStrict(t, rec.Body)
		if ev.RequestContext.Stage != "plain" || ev.Body != "hi" {
			t.Fatalf("RT-40: MESSAGE stage %q body %q", ev.RequestContext.Stage, ev.Body)
		}
	})
}

func TestRT41HTTPProxyRequests(t *testing.T) {
	bk := newBackend(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if len(body) > 0 {
			_, _ = w.Write(append([]byte("pong:"), body...))
		}
	})
	in := &model.Integration{
		Name: "hp", Type: model.IntegrationHTTPProxy, Method: http.MethodPut,
		URI: model.LiteralTemplate(bk.URL + "/hp/path?fixed=1"),
		RequestParameters: map[string]string{
			"integration.request.header.X-Conn":      "context.connectionId",
			"integration.request.header.X-Room":      "route.request.body.room",
			"integration.request.header.X-Nested":    "route.request.body.data.items[1]",
			"integration.request.header.X-Static":    "'static'",
			"integration.request.header.X-Stage":     "stageVariables.x",
			"integration.request.header.X-Custom":    "route.request.header.x-custom-Header",
			"integration.request.querystring.cid":    "context.connectionId",
			"integration.request.querystring.token2": "route.request.querystring.token",
		},
	}
	api := &model.API{
		Name:         "rt41",
		Integrations: []*model.Integration{in},
		Routes: []*model.Route{
			{Key: "$connect", Integration: "hp"},
			{Key: "$disconnect", Integration: "hp"},
			{Key: "send", Integration: "hp", TwoWay: true},
		},
		Stages: []*model.Stage{{Name: "test", Variables: map[string]string{"x": "stagevalue"}}},
	}
	g := startGateway(t, newState(t, api), Options{})
	_, port, _ := net.SplitHostPort(g.addr)

	const host = "rt41.example.test"
	c, resp := routingRawDial(t, g.addr, "/rt41/test?token=abc&z=1", "Host: "+host, "x-custom-Header: hv", "User-Agent: rt41")
	if c == nil {
		t.Fatalf("RT-11: handshake: HTTP %d", resp.StatusCode)
	}
	connect := bk.next(t)
	id := connect.Header.Get("X-Conn")
	routingCheckID(t, "context.connectionId", id)

	header := func(t *testing.T, what string, r recorded, want map[string]string) {
		t.Helper()
		for k, v := range want {
			if got, ok := r.Header[http.CanonicalHeaderKey(k)]; !ok || len(got) != 1 || got[0] != v {
				t.Errorf("RT-41/D-43: %s header %s = %q, want %q", what, k, got, v)
			}
		}
	}
	t.Run("$connect", func(t *testing.T) {
		if connect.Method != http.MethodPut || connect.Path != "/hp/path" || len(connect.Body) != 0 {
			t.Fatalf("RT-41: $connect request %s %s with body %q, want PUT /hp/path and no body", connect.Method, connect.Path, connect.Body)
		}
		q, err := url.ParseQuery(connect.Query)
		if err != nil {
			t.Fatal(err)
		}
		wantQ := url.Values{"fixed": {"1"}, "token": {"abc"}, "z": {"1"}, "cid": {id}, "token2": {"abc"}}
		if diff := cmp.Diff(wantQ, q); diff != "" {
			t.Fatalf("D-43: $connect query %q (-want +got):\n%s", connect.Query, diff)
		}
		if !strings.HasPrefix(connect.Query, "fixed=1&token=abc&z=1") {
			t.Fatalf("D-43: the handshake's query is not appended to the uri's: %q", connect.Query)
		}
		header(t, "$connect", connect, map[string]string{
			"x-custom-Header":   "hv",
			"User-Agent":        "rt41",
			"X-Custom":          "hv",
			"X-Conn":            id,
			"X-Static":          "static",
			"X-Stage":           "stagevalue",
			"X-Forwarded-For":   "127.0.0.1",
			"X-Forwarded-Port":  port,
			"X-Forwarded-Proto": "http",
		})
		if connect.Header.Get("X-Room") != "" || connect.Header.Get("X-Nested") != "" {
			t.Errorf("D-24: body mappings on $connect (no body) set X-Room %q X-Nested %q", connect.Header.Get("X-Room"), connect.Header.Get("X-Nested"))
		}
	})

	t.Run("message", func(t *testing.T) {
		msg := `{"action":"send","room":"r1","data":{"items":["a","b"]}}`
		c.send(msg)
		r := bk.next(t)
		if r.Method != http.MethodPut || r.Path != "/hp/path" || string(r.Body) != msg {
			t.Fatalf("RT-41: message request %s %s body %q, want PUT /hp/path with the message", r.Method, r.Path, r.Body)
		}
		q, err := url.ParseQuery(r.Query)
		if err != nil {
			t.Fatal(err)
		}
		// route.request.querystring.X is a $connect source (D-24); what it
		// gives on other routes is not specified.
		q.Del("token2")
		if diff := cmp.Diff(url.Values{"fixed": {"1"}, "cid": {id}}, q); diff != "" {
			t.Fatalf("RT-41: message query %q (-want +got):\n%s", r.Query, diff)
		}
		header(t, "message", r, map[string]string{"X-Conn": id, "X-Room": "r1", "X-Nested": "b", "X-Static": "static", "X-Stage": "stagevalue"})
		if got := c.readText(); got != "pong:"+msg {
			t.Fatalf("RT-24: two-way HTTP_PROXY reply %q, want %q", got, "pong:"+msg)
		}
		// A missing body path leaves its header out.
		msg = `{"action":"send"}`
		c.send(msg)
		r = bk.next(t)
		if _, ok := r.Header["X-Room"]; ok {
			t.Fatalf("D-24: X-Room set to %q for a message without room", r.Header.Get("X-Room"))
		}
		c.readText()
	})

	t.Run("$disconnect", func(t *testing.T) {
		c.close(1000, "bye")
		c.expectClose(1000, "")
		r := bk.next(t)
		if r.Method != http.MethodPut || r.Path != "/hp/path" || len(r.Body) != 0 {
			t.Fatalf("RT-41: $disconnect request %s %s body %q, want PUT /hp/path with no body", r.Method, r.Path, r.Body)
		}
		for _, name := range []string{"X-Api-Key", "X-Forwarded-For", "X-Restapi"} {
			if got, ok := r.Header[name]; !ok || len(got) != 1 || got[0] != "" {
				t.Errorf("D-43/D-42: $disconnect header %s = %q, want one empty value", name, got)
			}
		}
		header(t, "$disconnect", r, map[string]string{"X-Conn": id, "X-Static": "static", "X-Stage": "stagevalue"})
		if _, ok := r.Header["X-Custom-Header"]; ok {
			t.Errorf("D-42: $disconnect carries handshake header x-custom-Header")
		}
	})
}

func TestRT44SlowIntegrationDoesNotBlockOthers(t *testing.T) {
	release := make(chan struct{})
	bk := newBackend(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.URL.Path == "/slow" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			lambdaReply(200, "slow done")(w, r, body)
			return
		}
		echoLambda(w, r, body)
	})
	api := &model.API{
		Name: "rt44",
		Integrations: []*model.Integration{
			{Name: "slow", Type: model.IntegrationAWSProxy, URI: model.LiteralTemplate(bk.URL + "/slow")},
			{Name: "echo", Type: model.IntegrationAWSProxy, URI: model.LiteralTemplate(bk.URL + "/echo")},
		},
		Routes: []*model.Route{
			{Key: "slow", Integration: "slow", TwoWay: true},
			{Key: "$default", Integration: "echo", TwoWay: true},
		},
	}
	g := startGateway(t, newState(t, api), Options{})
	released := false
	t.Cleanup(func() {
		if !released {
			close(release)
		}
	})

	a := dial(t, g.url("/rt44/test"), nil)
	b := dial(t, g.url("/rt44/test"), nil)
	a.send(`{"action":"slow"}`)
	if r := bk.next(t); r.Path != "/slow" {
		t.Fatalf("the slow call did not start: %s", r.Path)
	}
	// While a's call is blocked, b's messages and a's own next message are
	// handled.
	for i := range 3 {
		msg := fmt.Sprintf(`{"action":"echo","i":%d}`, i)
		b.send(msg)
		bk.next(t)
		if got := b.readText(); got != msg {
			t.Fatalf("RT-44: other connection got %q, want %q", got, msg)
		}
	}
	a.send(`{"action":"echo","from":"a"}`)
	bk.next(t)
	if got := a.readText(); got != `{"action":"echo","from":"a"}` {
		t.Fatalf("RT-44: a's second message got %q while its first call was running", got)
	}
	close(release)
	released = true
	if got := a.readText(); got != "slow done" {
		t.Fatalf("RT-44: slow reply %q", got)
	}
}

// routingCountingServer starts a backend that counts the TCP connections it
// accepts; handle answers each request.
func routingCountingServer(t testing.TB, handle func(w http.ResponseWriter, r *http.Request, body []byte)) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		handle(w, r, body)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

func TestRT44BackendKeepAlive(t *testing.T) {
	fn, fnConns := routingCountingServer(t, echoLambda)
	hp, hpConns := routingCountingServer(t, func(w http.ResponseWriter, _ *http.Request, body []byte) { _, _ = w.Write(body) })
	api := &model.API{
		Name: "keepalive",
		Integrations: []*model.Integration{
			{Name: "fn", Type: model.IntegrationAWSProxy, URI: model.LiteralTemplate(fn.URL + "/fn")},
			{Name: "hp", Type: model.IntegrationHTTPProxy, URI: model.LiteralTemplate(hp.URL + "/hp")},
		},
		Routes: []*model.Route{
			{Key: "$default", Integration: "fn", TwoWay: true},
			{Key: "hp", Integration: "hp", TwoWay: true},
		},
	}
	g := startGateway(t, newState(t, api), Options{})
	c := dial(t, g.url("/keepalive/test"), nil)
	const n = 40
	for _, tt := range []struct {
		name  string
		msg   string
		conns *atomic.Int64
	}{
		{"AWS_PROXY", `{"action":"fn","i":%d}`, fnConns},
		{"HTTP_PROXY", `{"action":"hp","i":%d}`, hpConns},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for i := range n {
				msg := fmt.Sprintf(tt.msg, i)
				c.send(msg)
				if got := c.readText(); got != msg {
					t.Fatalf("echo %d: got %q, want %q", i, got, msg)
				}
			}
			// Other tests' shutdowns may close idle connections of the shared
			// transport: a handful of new connections is reuse, one per
			// message is not.
			if got := tt.conns.Load(); got > 5 {
				t.Fatalf("RT-44: %d sequential messages opened %d backend connections, want them reused (keep-alive)", n, got)
			}
		})
	}
}
