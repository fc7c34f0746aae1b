package runtime

// End-to-end tests of the @connections API (RT-2, D-27..D-30) through the
// real AWS SDK client, and of the paths and answers the SDK does not reach,
// with raw HTTP.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/gobwas/ws"

	"github.com/wsgwctl/wsgwctl/config/model"
)

// connsClock is a clock the test moves by hand, so that the second-precision
// timestamps of GetConnection can be checked exactly.
type connsClock struct{ ns atomic.Int64 }

func newConnsClock(t time.Time) *connsClock {
	c := &connsClock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *connsClock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *connsClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// connsSDK returns an ApiGatewayManagementApi client whose endpoint is the
// gateway's base (e.g. "/test" or "/chat/test"), configured the way a user
// of a local gateway configures it.
func connsSDK(t testing.TB, g *testGateway, base string) *apigatewaymanagementapi.Client {
	t.Helper()
	tr := &http.Transport{}
	// Registered after startGateway's cleanup, so it runs before the leak
	// check.
	t.Cleanup(tr.CloseIdleConnections)
	return apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		BaseEndpoint:     aws.String(g.httpURL(base)),
		Region:           "local",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDLOCAL", "local-secret", ""),
		RetryMaxAttempts: 1,
		HTTPClient:       &http.Client{Transport: tr, Timeout: testTimeout},
	})
}

// connsCtx returns a context bounded by testTimeout.
func connsCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// connsGateway serves API "chat" (stages test and prod) and API "other"
// (stage test), all with $connect, $disconnect and a two-way $default that
// echoes, and returns the gateway and the backend.
func connsGateway(t testing.TB, opts Options) (*testGateway, *backend) {
	t.Helper()
	fn := newBackend(t, echoLambda)
	routes := func() []*model.Route {
		return []*model.Route{{Key: "$connect"}, {Key: "$disconnect"}, {Key: "$default", TwoWay: true}}
	}
	chat := proxyAPI("chat", fn.URL, routes()...)
	chat.Stages = []*model.Stage{{Name: "test"}, {Name: "prod"}}
	other := proxyAPI("other", fn.URL, routes()...)
	return startGateway(t, newState(t, chat, other), opts), fn
}

// connsDial connects to path and returns the client and its connection id.
// It returns once the gateway has registered the connection: the 101 can
// reach the client just before that, but a message is only read, and
// echoed by the stage's $default route, after it.
func connsDial(t testing.TB, g *testGateway, fn *backend, path string, header http.Header) (*wsClient, string) {
	t.Helper()
	c := dial(t, g.url(path), header)
	ev, _ := fn.nextEvent(t, "CONNECT")
	c.send("registered?")
	fn.nextEvent(t, "MESSAGE")
	if got := c.readText(); got != "registered?" {
		t.Fatalf("echo after connect: %q", got)
	}
	return c, ev.RequestContext.ConnectionID
}

// connsRaw sends a raw HTTP request to the gateway.
func connsRaw(t testing.TB, g *testGateway, method, path string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, g.httpURL(path), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return routingHTTP(t, req)
}

func TestRT2PostToConnection(t *testing.T) {
	g, fn := connsGateway(t, Options{})
	c, id := connsDial(t, g, fn, "/chat/test", nil)
	for _, base := range []string{"/test", "/chat/test"} {
		t.Run(base, func(t *testing.T) {
			api := connsSDK(t, g, base)
			tests := []struct {
				name string
				data []byte
			}{
				{"small", []byte(`{"hello":"wörld"}`)},
				{"empty", []byte{}},
				{"one frame", bytes.Repeat([]byte("a"), MaxFrameSize)},
				{"100 KB", bytes.Repeat([]byte("0123456789"), 10240)},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					out, err := api.PostToConnection(connsCtx(t), &apigatewaymanagementapi.PostToConnectionInput{
						ConnectionId: aws.String(id), Data: tt.data,
					})
					if err != nil || out == nil {
						t.Fatalf("RT-2: PostToConnection: %v", err)
					}
					got := routingReadFragments(t, c, ws.OpText)
					if got != string(tt.data) {
						t.Fatalf("RT-2: the client received %d bytes, want exactly the %d posted", len(got), len(tt.data))
					}
				})
			}
		})
	}
	t.Run("connection still works", func(t *testing.T) {
		c.send("still here")
		if got := c.readText(); got != "still here" {
			t.Fatalf("echo after posts: %q", got)
		}
	})
}

func TestRT2PostLimitsD27(t *testing.T) {
	g, fn := connsGateway(t, Options{})
	c, id := connsDial(t, g, fn, "/chat/test", nil)

	t.Run("131072 bytes are delivered in 32768-byte frames", func(t *testing.T) {
		data := bytes.Repeat([]byte("x"), MaxMessageSize)
		resp, body := connsRaw(t, g, http.MethodPost, "/test/@connections/"+id, data)
		if resp.StatusCode != http.StatusOK || len(body) != 0 {
			t.Fatalf("RT-2: POST of %d bytes: HTTP %d %q, want 200 with an empty body", len(data), resp.StatusCode, body)
		}
		var sizes []int
		for {
			f := c.readFrame()
			sizes = append(sizes, len(f.payload))
			if f.fin {
				break
			}
		}
		if want := []int{MaxFrameSize, MaxFrameSize, MaxFrameSize, MaxFrameSize}; !slices.Equal(sizes, want) {
			t.Fatalf("D-27: frame sizes %v, want %v", sizes, want)
		}
	})
	t.Run("131073 bytes are too large", func(t *testing.T) {
		data := bytes.Repeat([]byte("x"), MaxMessageSize+1)
		resp, body := connsRaw(t, g, http.MethodPost, "/test/@connections/"+id, data)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || resp.Header.Get("x-amzn-ErrorType") != "PayloadTooLargeException" {
			t.Fatalf("RT-2: POST of %d bytes: HTTP %d %s, want 413 PayloadTooLargeException", len(data), resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"))
		}
		var msg struct{ Message string }
		if err := json.Unmarshal(body, &msg); err != nil {
			t.Fatalf("RT-2: 413 body %q is not {\"message\":...}: %v", body, err)
		}
		if !strings.Contains(msg.Message, "131073") || !strings.Contains(msg.Message, "131072") {
			t.Fatalf("D-30: 413 message %q does not name the size 131073 and the limit 131072", msg.Message)
		}
		// Nothing was delivered: the next message the client gets is the
		// echo of its own.
		c.send("after 413")
		if got := c.readText(); got != "after 413" {
			t.Fatalf("RT-2: after a refused POST the client received %q", got)
		}
	})
	t.Run("SDK gets PayloadTooLargeException", func(t *testing.T) {
		_, err := connsSDK(t, g, "/test").PostToConnection(connsCtx(t), &apigatewaymanagementapi.PostToConnectionInput{
			ConnectionId: aws.String(id), Data: bytes.Repeat([]byte("y"), MaxMessageSize+1),
		})
		var tooLarge *types.PayloadTooLargeException
		if !errors.As(err, &tooLarge) {
			t.Fatalf("RT-2: PostToConnection of 131073 bytes: %v, want PayloadTooLargeException", err)
		}
	})
}

func TestRT2GetConnection(t *testing.T) {
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	clock := newConnsClock(t0)
	g, fn := connsGateway(t, Options{Now: clock.now})
	c, id := connsDial(t, g, fn, "/chat/test", http.Header{"User-Agent": {"conns-agent/2.0"}})
	api := connsSDK(t, g, "/chat/test")

	get := func(t *testing.T) *apigatewaymanagementapi.GetConnectionOutput {
		t.Helper()
		out, err := api.GetConnection(connsCtx(t), &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)})
		if err != nil {
			t.Fatalf("RT-2: GetConnection: %v", err)
		}
		if out.ConnectedAt == nil || out.LastActiveAt == nil || out.Identity == nil {
			t.Fatalf("RT-2: GetConnection is missing fields: %+v", out)
		}
		return out
	}
	check := func(t *testing.T, out *apigatewaymanagementapi.GetConnectionOutput, lastActive time.Time) {
		t.Helper()
		if !out.ConnectedAt.Equal(t0) {
			t.Fatalf("RT-2: connectedAt %v, want %v", out.ConnectedAt, t0)
		}
		if !out.LastActiveAt.Equal(lastActive) {
			t.Fatalf("D-30: lastActiveAt %v, want %v", out.LastActiveAt, lastActive)
		}
		if aws.ToString(out.Identity.SourceIp) != "127.0.0.1" || aws.ToString(out.Identity.UserAgent) != "conns-agent/2.0" {
			t.Fatalf("RT-2: identity sourceIp %q userAgent %q", aws.ToString(out.Identity.SourceIp), aws.ToString(out.Identity.UserAgent))
		}
	}

	t.Run("after connect", func(t *testing.T) { check(t, get(t), t0) })
	t.Run("a message moves lastActiveAt", func(t *testing.T) {
		clock.advance(5 * time.Second)
		c.send("ping")
		fn.nextEvent(t, "MESSAGE")
		c.readText()
		check(t, get(t), t0.Add(5*time.Second))
	})
	t.Run("a post moves lastActiveAt", func(t *testing.T) {
		clock.advance(7 * time.Second)
		if _, err := api.PostToConnection(connsCtx(t), &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		c.readText()
		check(t, get(t), t0.Add(12*time.Second))
	})
	t.Run("GET does not move lastActiveAt", func(t *testing.T) {
		clock.advance(time.Second)
		check(t, get(t), t0.Add(12*time.Second))
	})
	t.Run("raw JSON", func(t *testing.T) {
		resp, body := connsRaw(t, g, http.MethodGet, "/test/@connections/"+id, nil)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("D-30: GET: HTTP %d Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		want := `{"connectedAt":"2026-03-04T05:06:07Z","identity":{"sourceIp":"127.0.0.1","userAgent":"conns-agent/2.0"},"lastActiveAt":"2026-03-04T05:06:19Z"}`
		if got := string(body); got != want {
			t.Fatalf("RT-2: GET body %s, want %s", got, want)
		}
	})
}

func TestRT2DeleteConnection(t *testing.T) {
	g, fn := connsGateway(t, Options{})
	c, id := connsDial(t, g, fn, "/chat/test", nil)
	api := connsSDK(t, g, "/chat/test")

	if _, err := api.DeleteConnection(connsCtx(t), &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String(id)}); err != nil {
		t.Fatalf("RT-2: DeleteConnection: %v", err)
	}
	c.expectClose(1000, "Connection Closed Normally")
	c.close(1000, "")
	c.expectEOF()
	ev, _ := fn.nextEvent(t, "DISCONNECT")
	rc := ev.RequestContext
	if rc.ConnectionID != id || rc.DisconnectStatusCode != 1000 || rc.DisconnectReason == nil || *rc.DisconnectReason != "Connection Closed Normally" {
		t.Fatalf("RT-2/D-30: $disconnect after DELETE: %s %d %v, want %s 1000 \"Connection Closed Normally\"",
			rc.ConnectionID, rc.DisconnectStatusCode, rc.DisconnectReason, id)
	}
	var gone *types.GoneException
	if _, err := api.DeleteConnection(connsCtx(t), &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String(id)}); !errors.As(err, &gone) {
		t.Fatalf("RT-2: second DeleteConnection: %v, want GoneException", err)
	}

	t.Run("raw status", func(t *testing.T) {
		c2, id2 := connsDial(t, g, fn, "/chat/test", nil)
		resp, body := connsRaw(t, g, http.MethodDelete, "/test/@connections/"+id2, nil)
		if resp.StatusCode != http.StatusNoContent || len(body) != 0 {
			t.Fatalf("RT-2: DELETE: HTTP %d %q, want 204", resp.StatusCode, body)
		}
		c2.expectClose(1000, "Connection Closed Normally")
	})
}

func TestRT2GoneD29(t *testing.T) {
	g, fn := connsGateway(t, Options{})
	_, id := connsDial(t, g, fn, "/chat/test", nil)
	closed, closedID := connsDial(t, g, fn, "/chat/test", nil)
	closed.close(1000, "")
	closed.expectClose(1000, "")
	fn.nextEvent(t, "DISCONNECT") // the registry forgets a connection before $disconnect runs

	tests := []struct {
		name string
		base string
		id   string
	}{
		{"unknown id", "/test", NewID(0)},
		{"malformed id", "/test", "not-an-id"},
		{"closed connection", "/test", closedID},
		{"closed connection, api path", "/chat/test", closedID},
		{"wrong stage", "/prod", id},
		{"wrong stage, api path", "/chat/prod", id},
		{"wrong api", "/other/test", id},
		{"unknown stage", "/nosuch", id},
		{"unknown api", "/nosuch/test", id},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := connsSDK(t, g, tt.base)
			ctx := connsCtx(t)
			var gone *types.GoneException
			_, err := api.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(tt.id)})
			if !errors.As(err, &gone) {
				t.Fatalf("RT-2/D-29: GetConnection: %v, want GoneException", err)
			}
			_, err = api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(tt.id), Data: []byte("x")})
			if !errors.As(err, &gone) {
				t.Fatalf("RT-2/D-29: PostToConnection: %v, want GoneException", err)
			}
			_, err = api.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String(tt.id)})
			if !errors.As(err, &gone) {
				t.Fatalf("RT-2/D-29: DeleteConnection: %v, want GoneException", err)
			}
		})
	}

	t.Run("410 has an empty body", func(t *testing.T) {
		for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
			resp, body := connsRaw(t, g, method, "/test/@connections/"+closedID, []byte("x"))
			if resp.StatusCode != http.StatusGone || resp.Header.Get("x-amzn-ErrorType") != "GoneException" || len(body) != 0 {
				t.Fatalf("D-30: %s of a closed connection: HTTP %d %s body %q, want 410 GoneException with an empty body",
					method, resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), body)
			}
		}
	})

	t.Run("live connection is untouched", func(t *testing.T) {
		out, err := connsSDK(t, g, "/test").GetConnection(connsCtx(t), &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)})
		if err != nil || out.ConnectedAt == nil {
			t.Fatalf("RT-2: GetConnection of the live connection: %v", err)
		}
	})
}

func TestRT2PathSpellings(t *testing.T) {
	g, fn := connsGateway(t, Options{})
	c, id := connsDial(t, g, fn, "/chat/test", nil)
	escapedID := strings.ReplaceAll(id, "=", "%3D")
	paths := []string{
		"/test/@connections/" + id,
		"/test/%40connections/" + id,
		"/chat/test/@connections/" + id,
		"/chat/test/%40connections/" + id,
		"/test/%40connections/" + escapedID,
		"/chat/test/@connections/" + escapedID,
	}
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			resp, body := connsRaw(t, g, http.MethodGet, path, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("RT-2: GET %s: HTTP %d %q", path, resp.StatusCode, body)
			}
			msg := "posted via " + path
			resp, body = connsRaw(t, g, http.MethodPost, path, []byte(msg))
			if resp.StatusCode != http.StatusOK || len(body) != 0 {
				t.Fatalf("RT-2: POST %s: HTTP %d %q, want 200 with an empty body", path, resp.StatusCode, body)
			}
			if got := c.readText(); got != msg {
				t.Fatalf("RT-2: POST %s delivered %q", path, got)
			}
		})
	}
	t.Run("below an @connections id", func(t *testing.T) {
		resp, _ := connsRaw(t, g, http.MethodGet, "/chat/test/@connections/"+id+"/more", nil)
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("D-31: GET below a connection: HTTP %d, want 404", resp.StatusCode)
		}
	})
}

func TestD28ConnectionsAuthorization(t *testing.T) {
	g, fn := connsGateway(t, Options{})
	c, id := connsDial(t, g, fn, "/chat/test", nil)
	handler := g.srv.httpSrv.Handler

	serve := func(method, remoteAddr, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "/test/@connections/"+id, strings.NewReader(body))
		req.RemoteAddr = remoteAddr
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		return rec
	}
	for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
		t.Run("non-loopback "+method, func(t *testing.T) {
			rec := serve(method, "203.0.113.5:1234", "from outside")
			if rec.Code != http.StatusForbidden || rec.Header().Get("x-amzn-ErrorType") != "ForbiddenException" {
				t.Fatalf("D-28: %s from 203.0.113.5: HTTP %d %s, want 403 ForbiddenException", method, rec.Code, rec.Header().Get("x-amzn-ErrorType"))
			}
			if got := rec.Body.String(); got != `{"message":"Forbidden"}` {
				t.Fatalf("D-30: 403 body %q, want {\"message\":\"Forbidden\"}", got)
			}
		})
	}
	t.Run("refused calls did nothing", func(t *testing.T) {
		c.send("still open")
		if got := c.readText(); got != "still open" {
			t.Fatalf("D-28: after refused calls the client received %q", got)
		}
	})
	for _, addr := range []string{"127.0.0.1:1234", "127.9.9.9:1", "[::1]:1234"} {
		t.Run("loopback "+addr, func(t *testing.T) {
			rec := serve(http.MethodGet, addr, "")
			if rec.Code != http.StatusOK {
				t.Fatalf("D-28: GET from %s: HTTP %d %q, want 200", addr, rec.Code, rec.Body)
			}
		})
	}
	t.Run("SDK ForbiddenException", func(t *testing.T) {
		// The SDK maps the 403 to its ForbiddenException type.
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.RemoteAddr = "203.0.113.5:1234"
			handler.ServeHTTP(w, r)
		}))
		defer srv.Close()
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		api := apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
			BaseEndpoint: aws.String(srv.URL + "/test"), Region: "local", RetryMaxAttempts: 1,
			Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "local-secret", ""),
			HTTPClient:  &http.Client{Transport: tr, Timeout: testTimeout},
		})
		var forbidden *types.ForbiddenException
		if _, err := api.GetConnection(connsCtx(t), &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)}); !errors.As(err, &forbidden) {
			t.Fatalf("D-28: %v, want ForbiddenException", err)
		}
	})
}

func TestD28CredentialsConfiguredRefuseUnsigned(t *testing.T) {
	fn := newBackend(t, echoLambda)
	st := newState(t, proxyAPI("chat", fn.URL, &model.Route{Key: "$connect"}, &model.Route{Key: "$default", TwoWay: true}))
	st.Credentials = []*model.Credentials{{Name: "ops", AccessKeyID: "AKIDOPS0000000000000", SecretAccessKey: "s3cr3t"}}
	g := startGateway(t, st, Options{})
	_, id := connsDial(t, g, fn, "/chat/test", nil)
	resp, body := connsRaw(t, g, http.MethodGet, "/test/@connections/"+id, nil)
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("x-amzn-ErrorType") != "ForbiddenException" {
		t.Fatalf("D-28: unsigned loopback call with credentials configured: HTTP %d %s %q, want 403 ForbiddenException",
			resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), body)
	}
	// A signature by unknown credentials is refused as well.
	_, err := connsSDK(t, g, "/test").GetConnection(connsCtx(t), &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)})
	var forbidden *types.ForbiddenException
	if !errors.As(err, &forbidden) {
		t.Fatalf("D-28: call signed by unknown credentials: %v, want ForbiddenException", err)
	}
}

func TestRT2GoneWhileConnectRuns(t *testing.T) {
	hold := make(chan struct{})
	fn := newBackend(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		var ev events.APIGatewayWebsocketProxyRequest
		_ = json.Unmarshal(body, &ev)
		if ev.RequestContext.EventType == "CONNECT" {
			select {
			case <-hold:
			case <-r.Context().Done():
			}
		}
		echoLambda(w, r, body)
	})
	api := proxyAPI("chat", fn.URL, &model.Route{Key: "$connect"}, &model.Route{Key: "$default", TwoWay: true})
	g := startGateway(t, newState(t, api), Options{})
	released := false
	t.Cleanup(func() {
		if !released {
			close(hold)
		}
	})

	type dialed struct {
		conn net.Conn
		br   *bufio.Reader
		err  error
	}
	done := make(chan dialed, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		conn, br, _, err := ws.Dialer{Timeout: testTimeout}.Dial(ctx, g.url("/chat/test"))
		done <- dialed{conn, br, err}
	}()
	ev, _ := fn.nextEvent(t, "CONNECT")
	id := ev.RequestContext.ConnectionID
	sdk := connsSDK(t, g, "/chat/test")

	var gone *types.GoneException
	if _, err := sdk.GetConnection(connsCtx(t), &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)}); !errors.As(err, &gone) {
		t.Fatalf("RT-2: GetConnection while $connect runs: %v, want GoneException", err)
	}
	if _, err := sdk.PostToConnection(connsCtx(t), &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: []byte("early")}); !errors.As(err, &gone) {
		t.Fatalf("RT-2: PostToConnection while $connect runs: %v, want GoneException", err)
	}

	close(hold)
	released = true
	d := <-done
	if d.err != nil {
		t.Fatalf("dial: %v", d.err)
	}
	t.Cleanup(func() { _ = d.conn.Close() })
	if d.br == nil {
		d.br = bufio.NewReader(d.conn)
	}
	c := &wsClient{t: t, conn: d.conn, br: d.br}
	// The upgrade response may reach the client just before the gateway
	// registers the connection; a message's echo comes only after that.
	c.send("registered?")
	if got := c.readText(); got != "registered?" {
		t.Fatalf("echo: %q", got)
	}
	if _, err := sdk.PostToConnection(connsCtx(t), &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: []byte("now")}); err != nil {
		t.Fatalf("RT-2: PostToConnection after $connect: %v", err)
	}
	if got := c.readText(); got != "now" {
		t.Fatalf("RT-2: the client received %q, want %q (and nothing posted before $connect finished)", got, "now")
	}
}
