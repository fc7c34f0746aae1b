package runtime

// End-to-end acceptance tests of the gateway features (issue 5): MOCK and
// HTTP integrations with their templates (RT-42, RT-43, CFG-2, D-44),
// request validation (RT-23, D-39), throttling (RT-25, D-41), metrics
// (RT-3, D-32), access and execution logs (RT-32) and reloads that fail to
// prepare (RT-30). Every test runs a real Server on a real socket.

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsgwctl/wsgwctl/config/model"
)

// tpl parses a template in its text form (HCL template syntax, as state
// stores it), failing the test on a syntax error.
func tpl(t testing.TB, s string) model.Template {
	t.Helper()
	tp, err := model.ParseTemplate(s)
	if err != nil {
		t.Fatalf("parse template %q: %v", s, err)
	}
	return tp
}

// featStage returns a stage with the defaults the configuration loader
// fills in (D-19) and the given variables.
func featStage(name string, vars map[string]string) *model.Stage {
	return &model.Stage{Name: name, Variables: vars, DefaultRouteSettings: model.DefaultRouteSettings()}
}

// throttledSettings returns rs with its throttle replaced: the effective
// settings of a `route_settings` block that sets only the throttle.
func throttledSettings(rs model.RouteSettings, rate float64, burst int) model.RouteSettings {
	rs.ThrottlingRateLimit, rs.ThrottlingBurstLimit = rate, burst
	return rs
}

// mockReply returns a MOCK integration that answers every message with the
// response template reply (and has no request template: the message passes
// through, has no statusCode, and so selects a 200).
func mockReply(t testing.TB, name, reply string) *model.Integration {
	t.Helper()
	return &model.Integration{
		Name: name,
		Type: model.IntegrationMock,
		Responses: []*model.IntegrationResponse{{
			Key:       model.RouteDefault,
			Templates: map[string]model.Template{model.RouteDefault: tpl(t, reply)},
		}},
	}
}

// withWhoami adds the two-way route "whoami" to api, which answers with the
// connection's id (see connectionID).
func withWhoami(t testing.TB, api *model.API) *model.API {
	t.Helper()
	api.Integrations = append(api.Integrations, mockReply(t, "whoami", "${context.connectionId}"))
	api.Routes = append(api.Routes, &model.Route{Key: "whoami", Integration: "whoami", TwoWay: true})
	return api
}

// connectionID asks the whoami route for c's connection id.
func connectionID(t testing.TB, c *wsClient) string {
	t.Helper()
	c.send(`{"action":"whoami"}`)
	id := c.readText()
	if len(id) != IDLength {
		t.Fatalf("whoami answered %q, not a connection id", id)
	}
	return id
}

// parseIDFrame checks that text is byte for byte the error frame of message
// with idKey ("requestId" or "messageId") and returns its ids.
func parseIDFrame(t testing.TB, message, idKey, text string) (connectionID, id string) {
	t.Helper()
	prefix := `{"message": "` + message + `", "connectionId":"`
	rest, ok := strings.CutPrefix(text, prefix)
	if !ok {
		t.Fatalf("frame %q does not start with %q", text, prefix)
	}
	connectionID, rest, _ = strings.Cut(rest, `"`)
	id = strings.TrimSuffix(strings.TrimPrefix(rest, `, "`+idKey+`":"`), `"}`)
	if want := string(errorFrame(message, connectionID, idKey, id)); text != want || len(id) != IDLength {
		t.Fatalf("frame %q, want the shape %q with a %d-character id", text, want, IDLength)
	}
	return connectionID, id
}

// expectNoRequest fails when the backend has received a request that no
// test step consumed.
func expectNoRequest(t testing.TB, b *backend, why string) {
	t.Helper()
	select {
	case r := <-b.events:
		t.Fatalf("%s: the backend received %s %s %q", why, r.Method, r.Path, r.Body)
	default:
	}
}

// testClock is an Options.Now that moves only when told to, so that token
// buckets never refill behind a test's back (RT-25).
type testClock struct{ ns atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}

func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// syncBuffer is a goroutine-safe buffer that tells waiters when it grows,
// for the access logs' and the logger's asynchronous writes.
type syncBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{changed: make(chan struct{}, 1)} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	n, err := b.buf.Write(p)
	b.mu.Unlock()
	select {
	case b.changed <- struct{}{}:
	default:
	}
	return n, err
}

// lines returns the complete lines written so far.
func (b *syncBuffer) lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return strings.Split(s[:i], "\n")
	}
	return nil
}

// waitLines waits until the buffer holds at least n complete lines that
// keep accepts, and returns those lines.
func (b *syncBuffer) waitLines(t testing.TB, n int, keep func(string) bool) []string {
	t.Helper()
	deadline := time.After(testTimeout)
	for {
		var got []string
		for _, l := range b.lines() {
			if keep(l) {
				got = append(got, l)
			}
		}
		if len(got) >= n {
			return got
		}
		select {
		case <-b.changed:
		case <-deadline:
			t.Fatalf("got %d lines within %s, want %d:\n%s", len(got), testTimeout, n, strings.Join(got, "\n"))
		}
	}
}

// TestRT43MockTwoWayRoute checks a MOCK two-way route (RT-43, RT-24, CFG-2):
// the multistage example's pong integration answers from its response
// template with the connection id, the stage's own variable and the message
// re-encoded with its member order and number spelling kept; the request
// template's statusCode selects the integration response (D-44), and a
// status no response matches sends nothing. A $connect MOCK's status,
// rendered from a stage variable, decides the handshake (RT-11).
func TestRT43MockTwoWayRoute(t *testing.T) {
	api := withWhoami(t, &model.API{
		Name: "inventory",
		Integrations: []*model.Integration{
			{
				Name:             "pong",
				Type:             model.IntegrationMock,
				RequestTemplates: map[string]model.Template{"$default": tpl(t, `{"statusCode":200}`)},
				Responses: []*model.IntegrationResponse{{
					Key: "$default",
					Templates: map[string]model.Template{"$default": tpl(t,
						`{"action": "pong", "connectionId": "${context.connectionId}", "environment": "${stageVariables.environment}", "echo": ${jsonencode(request.body)}}`+"\n")},
				}},
			},
			{
				Name:             "status",
				Type:             model.IntegrationMock,
				RequestTemplates: map[string]model.Template{"$default": tpl(t, `{"statusCode": ${request.body.code}}`)},
				Responses: []*model.IntegrationResponse{
					{Key: `/2\d\d/`, Templates: map[string]model.Template{"$default": tpl(t, `ok ${integration.response.statuscode}`)}},
					{Key: `/4\d\d/`, Templates: map[string]model.Template{"$default": tpl(t, `client ${integration.response.statuscode} ${request.body.note}`)}},
				},
			},
		},
		Routes: []*model.Route{
			{Key: "$connect", Integration: "gate"},
			{Key: "ping", Integration: "pong", TwoWay: true},
			{Key: "status", Integration: "status", TwoWay: true},
		},
		Stages: []*model.Stage{
			featStage("dev", map[string]string{"environment": "dev", "connect": "200"}),
			featStage("prod", map[string]string{"environment": "prod", "connect": "201"}),
			featStage("closed", map[string]string{"environment": "closed", "connect": "403"}),
		},
	})
	// The $connect MOCK's status comes from a stage variable: a 2xx accepts
	// the handshake, anything else is its status (RT-11).
	api.Integrations = append(api.Integrations, &model.Integration{
		Name:             "gate",
		Type:             model.IntegrationMock,
		RequestTemplates: map[string]model.Template{"$default": tpl(t, `{"statusCode":"${stageVariables.connect}"}`)},
	})
	// One call at a time per connection, so that "nothing sent" is seen as
	// the next message's reply arriving first.
	g := startGateway(t, newState(t, api), Options{MaxInflight: 1})

	for _, env := range []string{"dev", "prod"} {
		t.Run(env, func(t *testing.T) {
			c := dial(t, g.url("/inventory/"+env), nil)
			id := connectionID(t, c)
			c.send(`{"action":"ping", "n": 2.50, "s":"caf\u00e9", "list":[1, {"a":null}]}`)
			want := `{"action": "pong", "connectionId": "` + id + `", "environment": "` + env +
				`", "echo": {"action":"ping","n":2.50,"s":"caf\u00e9","list":[1,{"a":null}]}}` + "\n"
			if got := c.readText(); got != want {
				t.Fatalf("RT-43: pong reply\n got %q\nwant %q", got, want)
			}
		})
	}

	t.Run("$connect", func(t *testing.T) {
		if got := dialStatus(t, g.url("/inventory/closed"), nil); got != http.StatusForbidden {
			t.Fatalf("RT-11/RT-43: handshake to a stage whose $connect MOCK answers 403: %d", got)
		}
	})

	t.Run("statusCode selects the response", func(t *testing.T) {
		c := dial(t, g.url("/inventory/dev"), nil)
		tests := []struct {
			msg, want string
		}{
			{`{"action":"status","code":201}`, `ok 201`},
			{`{"action":"status","code":"404","note":"gone"}`, `client 404 gone`},
			// 302 matches no response: nothing is sent (D-44), so the next
			// frame is the next message's reply.
			{`{"action":"status","code":302}`, ``},
			{`{"action":"status","code":200}`, `ok 200`},
		}
		for _, tt := range tests {
			c.send(tt.msg)
			if tt.want == "" {
				continue
			}
			if got := c.readText(); got != tt.want {
				t.Fatalf("RT-43/D-44: %s answered %q, want %q", tt.msg, got, tt.want)
			}
		}
		// A statusCode that is no HTTP status fails the message (RT-22).
		c.send(`{"action":"status","code":99}`)
		parseErrorFrame(t, "Internal server error", c.readText())
	})
}

// TestRT42HTTPIntegrationResponses checks an HTTP integration's replies
// (RT-42, D-44): the backend's status selects the first /regex/ response
// that matches the whole code, else $default; templates see the status,
// headers (case-insensitively), the parsed body and the raw body; a 5xx
// fails the message (D-39); a status no response matches sends nothing.
func TestRT42HTTPIntegrationResponses(t *testing.T) {
	fn := newBackend(t, func(w http.ResponseWriter, _ *http.Request, body []byte) {
		var m struct {
			Status int `json:"status"`
		}
		_ = json.Unmarshal(body, &m)
		switch {
		case m.Status >= 200 && m.Status < 300:
			w.Header().Set("ETag", "v7")
			w.WriteHeader(m.Status)
			_, _ = w.Write([]byte(`{"item": {"id": 7, "name": "bolt"}}`))
		case m.Status >= 400 && m.Status < 500:
			w.WriteHeader(m.Status)
			_, _ = w.Write([]byte(`{"error":"no such item"}`))
		default:
			w.WriteHeader(m.Status)
			_, _ = w.Write([]byte(`moved "here"`))
		}
	})
	responses := []*model.IntegrationResponse{
		{Key: `/2\d\d/`, Templates: map[string]model.Template{"$default": tpl(t,
			`{"ok":true,"status":${integration.response.statuscode},"etag":"${integration.response.header.etag}","item":${jsonencode(integration.response.body.item)}}`)}},
		{Key: `/4\d\d/`, Templates: map[string]model.Template{"$default": tpl(t,
			`{"ok":false,"status":${integration.response.statuscode},"error":"${integration.response.body.error}"}`)}},
		{Key: "$default", Templates: map[string]model.Template{"$default": tpl(t,
			`{"other":${integration.response.statuscode},"raw":${jsonencode(integration.response.raw_body)}}`)}},
	}
	api := &model.API{
		Name: "shop",
		Integrations: []*model.Integration{
			{Name: "items", Type: model.IntegrationHTTP, URI: model.LiteralTemplate(fn.URL + "/items"), Responses: responses},
			{Name: "only2xx", Type: model.IntegrationHTTP, URI: model.LiteralTemplate(fn.URL + "/items"), Responses: responses[:1]},
		},
		Routes: []*model.Route{
			{Key: "get", Integration: "items", TwoWay: true},
			{Key: "strict", Integration: "only2xx", TwoWay: true},
		},
	}
	g := startGateway(t, newState(t, api), Options{MaxInflight: 1})
	c := dial(t, g.url("/shop/test"), nil)

	tests := []struct {
		name, msg, want string
	}{
		{"200 selects /2\\d\\d/", `{"action":"get","status":200}`, `{"ok":true,"status":200,"etag":"v7","item":{"id":7,"name":"bolt"}}`},
		{"201 selects /2\\d\\d/", `{"action":"get","status":201}`, `{"ok":true,"status":201,"etag":"v7","item":{"id":7,"name":"bolt"}}`},
		{"404 selects /4\\d\\d/", `{"action":"get","status":404}`, `{"ok":false,"status":404,"error":"no such item"}`},
		{"418 selects /4\\d\\d/", `{"action":"get","status":418}`, `{"ok":false,"status":418,"error":"no such item"}`},
		{"302 selects $default", `{"action":"get","status":302}`, `{"other":302,"raw":"moved \"here\""}`},
		{"2xx on a route with only /2\\d\\d/", `{"action":"strict","status":200}`, `{"ok":true,"status":200,"etag":"v7","item":{"id":7,"name":"bolt"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.send(tt.msg)
			if got := c.readText(); got != tt.want {
				t.Fatalf("RT-42/D-44: reply\n got %s\nwant %s", got, tt.want)
			}
			r := fn.next(t)
			if r.Method != http.MethodPost || r.Path != "/items" || string(r.Body) != tt.msg {
				t.Fatalf("RT-42: backend got %s %s %q, want POST /items with the message passed through", r.Method, r.Path, r.Body)
			}
		})
	}

	t.Run("404 with no matching response sends nothing", func(t *testing.T) {
		c.send(`{"action":"strict","status":404}`)
		c.send(`{"action":"strict","status":202}`)
		want := `{"ok":true,"status":202,"etag":"v7","item":{"id":7,"name":"bolt"}}`
		if got := c.readText(); got != want {
			t.Fatalf("D-44: after a 404 that no response matches, got %q, want the next reply %q", got, want)
		}
		fn.next(t)
		fn.next(t)
	})

	t.Run("500 fails the message", func(t *testing.T) {
		c.send(`{"action":"get","status":500}`)
		connID, _ := parseErrorFrame(t, "Internal server error", c.readText())
		if connID == "" {
			t.Fatal("D-39: error frame without a connection id")
		}
		fn.next(t)
	})
}

// TestRT42RequestTemplate checks that an HTTP integration sends exactly the
// rendered request template (RT-42, CFG-2): selected by
// template_selection_expression with $default as fallback, reshaping the
// message with request.body, request.raw_body, context.connectionId and the
// stage's variables, to a uri and headers resolved for the stage (D-24).
func TestRT42RequestTemplate(t *testing.T) {
	fn := newBackend(t, nil)
	api := withWhoami(t, &model.API{
		Name: "orders",
		Integrations: []*model.Integration{{
			Name:                        "svc",
			Type:                        model.IntegrationHTTP,
			URI:                         tpl(t, fn.URL+"/svc/${stageVariables.service}"),
			TemplateSelectionExpression: "${request.body.kind}",
			RequestParameters: map[string]string{
				"integration.request.header.X-Connection-Id": "context.connectionId",
				"integration.request.header.X-Environment":   "stageVariables.environment",
			},
			RequestTemplates: map[string]model.Template{
				"order":    tpl(t, `{"type":"order","from":"${context.connectionId}","env":"${stageVariables.environment}","items":${jsonencode(request.body.items)},"first":"${request.body.items[0].sku}"}`),
				"$default": tpl(t, `{"from":"${context.connectionId}","message":${jsonencode(request.body)},"raw":${jsonencode(request.raw_body)}}`),
			},
		}},
		Routes: []*model.Route{{Key: "$default", Integration: "svc"}},
		Stages: []*model.Stage{featStage("dev", map[string]string{"service": "orders-dev", "environment": "dev"})},
	})
	g := startGateway(t, newState(t, api), Options{})
	c := dial(t, g.url("/orders/dev"), nil)
	id := connectionID(t, c)

	tests := []struct {
		name, msg, want string
	}{
		{"selected template", `{"kind":"order","items":[{"sku":"A-1","qty":2}, {"sku":"B-2"}]}`,
			`{"type":"order","from":"` + id + `","env":"dev","items":[{"sku":"A-1","qty":2},{"sku":"B-2"}],"first":"A-1"}`},
		{"unknown key falls back to $default", `{"kind":"refund","amount":1.10}`,
			`{"from":"` + id + `","message":{"kind":"refund","amount":1.10},"raw":"{\"kind\":\"refund\",\"amount\":1.10}"}`},
		{"non-JSON message", `hello "there"`,
			`{"from":"` + id + `","message":null,"raw":"hello \"there\""}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.send(tt.msg)
			r := fn.next(t)
			if string(r.Body) != tt.want {
				t.Fatalf("RT-42: backend body\n got %s\nwant %s", r.Body, tt.want)
			}
			if r.Method != http.MethodPost || r.Path != "/svc/orders-dev" {
				t.Fatalf("CFG-2: backend got %s %s, want POST /svc/orders-dev", r.Method, r.Path)
			}
			if got := r.Header.Get("Content-Type"); got != "application/json" {
				t.Fatalf("RT-42: Content-Type %q, want application/json", got)
			}
			if r.Header.Get("X-Connection-Id") != id || r.Header.Get("X-Environment") != "dev" {
				t.Fatalf("D-24: mapped headers %v", r.Header)
			}
		})
	}
}

// TestD44Passthrough checks passthrough_behavior (RT-42, D-44) for HTTP and
// MOCK integrations: with no matching template NEVER (and
// WHEN_NO_TEMPLATES, when templates exist) answers the byte-exact
// "Unsupported Media Type" frame without calling the backend, and
// WHEN_NO_MATCH passes the message through unchanged.
func TestD44Passthrough(t *testing.T) {
	fn := newBackend(t, nil)
	templates := map[string]model.Template{"known": tpl(t, `{"known":${jsonencode(request.body.v)}}`)}
	httpIn := func(name, passthrough string) *model.Integration {
		return &model.Integration{
			Name: name, Type: model.IntegrationHTTP, URI: model.LiteralTemplate(fn.URL + "/" + name),
			TemplateSelectionExpression: "${request.body.kind}", RequestTemplates: templates,
			PassthroughBehavior: passthrough,
		}
	}
	mock := mockReply(t, "mock", "mocked")
	mock.PassthroughBehavior, mock.TemplateSelectionExpression = model.PassthroughNever, "${request.body.kind}"
	mock.RequestTemplates = map[string]model.Template{"known": tpl(t, `{"statusCode":200}`)}
	api := &model.API{
		Name: "pt",
		Integrations: []*model.Integration{
			httpIn("never", model.PassthroughNever),
			httpIn("nomatch", model.PassthroughWhenNoMatch),
			httpIn("notemplates", model.PassthroughWhenNoTemplates),
			mock,
		},
		Routes: []*model.Route{
			{Key: "never", Integration: "never"},
			{Key: "nomatch", Integration: "nomatch"},
			{Key: "notemplates", Integration: "notemplates"},
			{Key: "mock", Integration: "mock", TwoWay: true},
		},
	}
	g := startGateway(t, newState(t, api), Options{})
	c := dial(t, g.url("/pt/test"), nil)

	for _, route := range []string{"never", "notemplates"} {
		t.Run(route, func(t *testing.T) {
			c.send(`{"action":"` + route + `","kind":"other","v":1}`)
			connID, _ := parseErrorFrame(t, "Unsupported Media Type", c.readText())
			if len(connID) != IDLength {
				t.Fatalf("D-44: connection id %q", connID)
			}
			// The refused message was never sent: the next request the
			// backend sees is the matching one sent after the frame.
			c.send(`{"action":"` + route + `","kind":"known","v":[1,2]}`)
			if r := fn.next(t); r.Path != "/"+route || string(r.Body) != `{"known":[1,2]}` {
				t.Fatalf("D-44: backend got %s %q, want the rendered template of the matching message", r.Path, r.Body)
			}
		})
	}
	t.Run("nomatch", func(t *testing.T) {
		msg := `{"action":"nomatch","kind":"other", "v":1}`
		c.send(msg)
		if r := fn.next(t); r.Path != "/nomatch" || string(r.Body) != msg {
			t.Fatalf("RT-42: WHEN_NO_MATCH sent %s %q, want the message unchanged", r.Path, r.Body)
		}
	})
	t.Run("MOCK never", func(t *testing.T) {
		c.send(`{"action":"mock","kind":"other"}`)
		parseErrorFrame(t, "Unsupported Media Type", c.readText())
		c.send(`{"action":"mock","kind":"known"}`)
		if got := c.readText(); got != "mocked" {
			t.Fatalf("RT-43: MOCK answered %q, want mocked", got)
		}
	})
	expectNoRequest(t, fn, "D-44")
}

// Models of TestRT23Validation.
const (
	itemSchema = `{"$schema":"http://json-schema.org/draft-04/schema#","type":"object",
		"required":["sku","qty"],"properties":{"sku":{"type":"string","pattern":"^[A-Z]-[0-9]+$"},"qty":{"type":"integer","minimum":1}}}`
	noteSchema = `{"type":"object","required":["text"],"properties":{"text":{"type":"string","minLength":1}}}`
)

// TestRT23Validation checks request validation end to end (RT-23, D-39):
// the model is chosen by model_selection_expression with $default as
// fallback; a valid message reaches the backend; an invalid one, a non-JSON
// one, and one no model applies to get the byte-exact "Bad request body"
// frame with a messageId, and the backend is never called.
func TestRT23Validation(t *testing.T) {
	fn := newBackend(t, nil)
	api := &model.API{
		Name: "val",
		Models: []*model.Model{
			{Name: "item", Schema: itemSchema, ContentType: "application/json"},
			{Name: "note", Schema: noteSchema, ContentType: "application/json"},
		},
		Integrations: []*model.Integration{{Name: "be", Type: model.IntegrationHTTPProxy, URI: model.LiteralTemplate(fn.URL)}},
		Routes: []*model.Route{
			{Key: "put", Integration: "be", ModelSelectionExpression: "${request.body.kind}",
				RequestModels: map[string]string{"$default": "item", "note": "note"}},
			// No $default model: a key without a model fails.
			{Key: "strict", Integration: "be", ModelSelectionExpression: "${request.body.kind}",
				RequestModels: map[string]string{"note": "note"}},
			// Non-JSON messages go to $default (RT-21), validated against item.
			{Key: "$default", Integration: "be", ModelSelectionExpression: "$default",
				RequestModels: map[string]string{"$default": "item"}},
		},
	}
	g := startGateway(t, newState(t, api), Options{})
	c := dial(t, g.url("/val/test"), nil)
	var connID string
	seen := map[string]bool{}

	tests := []struct {
		name, msg string
		valid     bool
	}{
		{"valid item by $default", `{"action":"put","sku":"A-1","qty":2}`, true},
		{"invalid item", `{"action":"put","sku":"A-1","qty":0}`, false},
		{"item missing sku", `{"action":"put","qty":3}`, false},
		{"valid note by key", `{"action":"put","kind":"note","text":"hi"}`, true},
		{"note validated against note, not item", `{"action":"put","kind":"note","sku":"A-1","qty":2}`, false},
		{"strict: key with a model", `{"action":"strict","kind":"note","text":"x"}`, true},
		{"strict: no model for the key and no $default", `{"action":"strict","kind":"item","sku":"A-1","qty":2}`, false},
		{"non-JSON message against a model (D-39)", `sku=A-1&qty=2`, false},
		{"JSON on the static $default selection", `{"action":"other","sku":"B-22","qty":1}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.send(tt.msg)
			if tt.valid {
				if r := fn.next(t); string(r.Body) != tt.msg {
					t.Fatalf("RT-23: backend got %q, want the valid message %q", r.Body, tt.msg)
				}
				return
			}
			id, mid := parseIDFrame(t, "Bad request body", "messageId", c.readText())
			if connID == "" {
				connID = id
			}
			if id != connID || mid == id || seen[mid] {
				t.Fatalf("RT-23/D-35: frame ids connection %q message %q (connection %q, earlier message ids %v)", id, mid, connID, seen)
			}
			seen[mid] = true
		})
	}
	// Every valid message was consumed above in order; an invalid one that
	// reached the backend would be left over (the last invalid message was
	// answered before the last valid one was sent).
	expectNoRequest(t, fn, "RT-23: an invalid message reached the backend")
}

// TestRT25Throttling checks throttling end to end (RT-25, D-41) with a
// clock that moves only when the test says so: a route at rate 1 / burst 1
// answers its second message with the byte-exact "Too Many Requests" frame
// while another route of the stage is unaffected and the bucket is shared
// by every connection; it refills at the configured rate; $connect takes
// from the $connect route's bucket (429), with or without a $connect route,
// before its integration runs (D-26); a reload with the same settings keeps
// the buckets' tokens, one with changed settings starts them full.
func TestRT25Throttling(t *testing.T) {
	t.Run("messages", func(t *testing.T) {
		clock := newTestClock()
		stage := featStage("test", nil)
		stage.RouteSettings = map[string]model.RouteSettings{"limited": throttledSettings(stage.DefaultRouteSettings, 1, 1)}
		api := withWhoami(t, &model.API{
			Name:         "thr",
			Integrations: []*model.Integration{mockReply(t, "ok", `ok ${request.body.action}`)},
			Routes: []*model.Route{
				{Key: "limited", Integration: "ok", TwoWay: true},
				{Key: "free", Integration: "ok", TwoWay: true},
			},
			Stages: []*model.Stage{stage},
		})
		st := newState(t, api)
		g := startGateway(t, st, Options{Now: clock.Now})
		c := dial(t, g.url("/thr/test"), nil)
		other := dial(t, g.url("/thr/test"), nil)
		ids := map[*wsClient]string{c: connectionID(t, c), other: connectionID(t, other)}

		expectOK := func(c *wsClient, route string) {
			t.Helper()
			c.send(`{"action":"` + route + `"}`)
			if got := c.readText(); got != "ok "+route {
				t.Fatalf("RT-25: %s answered %q, want %q", route, got, "ok "+route)
			}
		}
		expectThrottled := func(c *wsClient, route string) {
			t.Helper()
			c.send(`{"action":"` + route + `"}`)
			if id, _ := parseErrorFrame(t, "Too Many Requests", c.readText()); id != ids[c] {
				t.Fatalf("RT-25: throttled frame names connection %s, want %s", id, ids[c])
			}
		}

		expectOK(c, "limited")
		expectThrottled(c, "limited")
		for range 5 {
			expectOK(c, "free")
		}
		expectThrottled(other, "limited") // D-41: one bucket per route, not per connection
		expectOK(other, "free")

		clock.Advance(999 * time.Millisecond)
		expectThrottled(c, "limited")
		clock.Advance(time.Millisecond) // rate 1: one token per second
		expectOK(c, "limited")
		expectThrottled(c, "limited")

		same := st.Clone()
		same.Serial++
		if err := g.srv.Load(same); err != nil {
			t.Fatal(err)
		}
		expectThrottled(c, "limited") // the reload did not refill the bucket

		changed := same.Clone()
		changed.Serial++
		changed.API("thr").Config.Stages[0].RouteSettings["limited"] = throttledSettings(stage.DefaultRouteSettings, 1, 2)
		if err := g.srv.Load(changed); err != nil {
			t.Fatal(err)
		}
		expectOK(c, "limited") // new settings: a new, full bucket of 2
		expectOK(other, "limited")
		expectThrottled(c, "limited")
		expectOK(c, "free")

		// A reload that fails leaves the buckets as they are: the served
		// settings did not change, so reloading them refills nothing.
		failed := changed.Clone()
		failed.Serial++
		failed.API("thr").Config.Stages[0].RouteSettings["limited"] = throttledSettings(stage.DefaultRouteSettings, 1, 5)
		failed.API("thr").Newest().Snapshot.Integrations[0].Responses[0].Key = "/(/"
		if err := g.srv.Load(failed); err == nil {
			t.Fatal("RT-30: Load accepted an integration that does not prepare")
		}
		expectThrottled(c, "limited")
		again := changed.Clone()
		again.Serial += 2
		if err := g.srv.Load(again); err != nil {
			t.Fatal(err)
		}
		expectThrottled(c, "limited")
	})

	for _, withRoute := range []bool{false, true} {
		t.Run("$connect route "+strconv.FormatBool(withRoute), func(t *testing.T) {
			clock := newTestClock()
			fn := newBackend(t, nil)
			stage := featStage("test", nil)
			stage.RouteSettings = map[string]model.RouteSettings{model.RouteConnect: throttledSettings(stage.DefaultRouteSettings, 1, 1)}
			api := &model.API{
				Name:         "thr",
				Integrations: []*model.Integration{{Name: "be", Type: model.IntegrationHTTPProxy, URI: model.LiteralTemplate(fn.URL)}},
				Routes:       []*model.Route{{Key: "$default", Integration: "be"}},
				Stages:       []*model.Stage{stage},
			}
			if withRoute {
				api.Routes = append(api.Routes, &model.Route{Key: model.RouteConnect, Integration: "be"})
			}
			st := newState(t, api)
			g := startGateway(t, st, Options{Now: clock.Now})
			url := g.url("/thr/test")
			// connects consumes the $connect integration's request of an
			// accepted handshake.
			connects := func() {
				t.Helper()
				if withRoute {
					fn.next(t)
				}
			}

			if got := dialStatus(t, url, nil); got != http.StatusSwitchingProtocols {
				t.Fatalf("RT-25: first handshake %d, want 101", got)
			}
			connects()
			if got := dialStatus(t, url, nil); got != http.StatusTooManyRequests {
				t.Fatalf("RT-25: second handshake %d, want 429", got)
			}
			expectNoRequest(t, fn, "D-26: a throttled $connect reached its integration")

			same := st.Clone()
			same.Serial++
			if err := g.srv.Load(same); err != nil {
				t.Fatal(err)
			}
			if got := dialStatus(t, url, nil); got != http.StatusTooManyRequests {
				t.Fatalf("RT-25: handshake after a reload with the same settings %d, want 429", got)
			}

			changed := same.Clone()
			changed.Serial++
			changed.API("thr").Config.Stages[0].RouteSettings[model.RouteConnect] = throttledSettings(stage.DefaultRouteSettings, 2, 1)
			if err := g.srv.Load(changed); err != nil {
				t.Fatal(err)
			}
			if got := dialStatus(t, url, nil); got != http.StatusSwitchingProtocols {
				t.Fatalf("RT-25: handshake after a reload with new settings %d, want 101", got)
			}
			connects()
			if got := dialStatus(t, url, nil); got != http.StatusTooManyRequests {
				t.Fatalf("RT-25: handshake over the new burst %d, want 429", got)
			}
			clock.Advance(500 * time.Millisecond) // rate 2
			if got := dialStatus(t, url, nil); got != http.StatusSwitchingProtocols {
				t.Fatalf("RT-25: handshake after the refill %d, want 101", got)
			}
			connects()
			expectNoRequest(t, fn, "D-26")
		})
	}
}

// scrapeMetrics GETs /metrics from the admin handler and returns every
// sample by its series: the name and its non-empty labels sorted, as in
// `wsgw_messages_total{api="a",direction="in",stage="s"}` (an empty label
// value is no label, as Prometheus reads it).
func scrapeMetrics(t testing.TB, srv *Server) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	srv.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("RT-3: GET /metrics: %d %s", rec.Code, rec.Body)
	}
	samples := map[string]float64{}
	for line := range strings.SplitSeq(rec.Body.String(), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		series, value, ok := cutSample(line)
		if !ok {
			t.Fatalf("RT-3: cannot parse sample line %q", line)
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("RT-3: sample line %q: %v", line, err)
		}
		samples[series] = v
	}
	return samples
}

// cutSample splits a sample line of the Prometheus text format into its
// canonical series key and its value.
func cutSample(line string) (series, value string, ok bool) {
	name, rest, hasLabels := strings.Cut(line, "{")
	if !hasLabels {
		name, value, ok = strings.Cut(line, " ")
		return name, value, ok
	}
	var labels []string
	for {
		rest = strings.TrimLeft(rest, ",")
		if strings.HasPrefix(rest, "}") {
			rest = rest[1:]
			break
		}
		key, r, found := strings.Cut(rest, `="`)
		if !found {
			return "", "", false
		}
		var val strings.Builder
		i := 0
		for ; i < len(r) && r[i] != '"'; i++ {
			if r[i] == '\\' && i+1 < len(r) {
				i++
			}
			val.WriteByte(r[i])
		}
		if i == len(r) {
			return "", "", false
		}
		if val.Len() > 0 {
			labels = append(labels, key+`="`+val.String()+`"`)
		}
		rest = r[i+1:]
	}
	sort.Strings(labels)
	value, _, _ = strings.Cut(strings.TrimSpace(rest), " ")
	if len(labels) == 0 {
		return name, value, true
	}
	return name + "{" + strings.Join(labels, ",") + "}", value, true
}

// TestRT3Metrics checks the /metrics values (RT-3, D-32) after a scripted
// pattern of traffic: 3 connects, 9 messages in of which 6 are answered plus
// 2 error frames and 1 forbidden frame out, one integration error, one
// execution error, one throttled and one forbidden message; the detailed
// route has series of its own with the route label, and the open
// connections gauge goes back to 0 after the disconnects.
func TestRT3Metrics(t *testing.T) {
	fail := newBackend(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		w.WriteHeader(http.StatusInternalServerError)
	})
	stage := featStage("test", nil)
	detailed := stage.DefaultRouteSettings
	detailed.DetailedMetricsEnabled = true
	stage.RouteSettings = map[string]model.RouteSettings{
		"echo":    detailed,
		"limited": throttledSettings(stage.DefaultRouteSettings, 1, 1),
	}
	api := &model.API{
		Name: "shop",
		Integrations: []*model.Integration{
			mockReply(t, "echo", "${request.raw_body}"),
			{Name: "fail", Type: model.IntegrationHTTP, URI: model.LiteralTemplate(fail.URL)},
		},
		Routes: []*model.Route{
			{Key: "echo", Integration: "echo", TwoWay: true},
			{Key: "oneway", Integration: "echo"},
			{Key: "limited", Integration: "echo", TwoWay: true},
			{Key: "fail", Integration: "fail", TwoWay: true},
			{Key: "noint"},
		},
		Stages: []*model.Stage{stage},
	}
	clock := newTestClock()
	g := startGateway(t, newState(t, api), Options{Now: clock.Now, MaxInflight: 1})
	a := dial(t, g.url("/shop/test"), nil)
	b := dial(t, g.url("/shop/test"), nil)
	c := dial(t, g.url("/shop/test"), nil)

	mid := scrapeMetrics(t, g.srv)
	for series, want := range map[string]float64{
		`wsgw_connects_total{api="shop",stage="test"}`:   3,
		`wsgw_connections_open{api="shop",stage="test"}`: 3,
	} {
		if got := mid[series]; got != want {
			t.Errorf("RT-3: while connected, %s = %v, want %v", series, got, want)
		}
	}

	a.send(`{"action":"echo","n":1}`)
	a.readText()
	a.send(`{"action":"echo","n":2}`)
	a.readText()
	b.send(`{"action":"oneway"}`)
	b.send(`{"action":"limited"}`)
	if got := b.readText(); got != `{"action":"limited"}` {
		t.Fatalf("limited answered %q", got)
	}
	b.send(`{"action":"limited"}`)
	parseErrorFrame(t, "Too Many Requests", b.readText())
	c.send(`{"action":"fail"}`)
	parseErrorFrame(t, "Internal server error", c.readText())
	fail.next(t)
	c.send(`{"action":"noint"}`)
	parseErrorFrame(t, "Internal server error", c.readText())
	c.send(`{"action":"nosuchroute"}`)
	parseErrorFrame(t, "Forbidden", c.readText())
	for _, cl := range []*wsClient{a, b, c} {
		cl.close(1000, "")
		cl.expectClose(1000, "")
	}
	// Shutdown waits for every call and $disconnect: after it the counters
	// are final, and the registry is still served.
	g.shutdown()

	got := scrapeMetrics(t, g.srv)
	const sl = `api="shop",stage="test"`
	want := map[string]float64{
		`wsgw_connects_total{` + sl + `}`:   3,
		`wsgw_connections_open{` + sl + `}`: 0,
		// The detailed route.
		`wsgw_messages_total{api="shop",direction="in",route="echo",stage="test"}`:                2,
		`wsgw_messages_total{api="shop",direction="out",route="echo",stage="test"}`:               2,
		`wsgw_integration_errors_total{api="shop",route="echo",stage="test"}`:                     0,
		`wsgw_client_errors_total{api="shop",route="echo",stage="test"}`:                          0,
		`wsgw_execution_errors_total{api="shop",route="echo",stage="test"}`:                       0,
		`wsgw_integration_latency_seconds_count{api="shop",route="echo",stage="test"}`:            2,
		`wsgw_integration_latency_seconds_bucket{api="shop",le="+Inf",route="echo",stage="test"}`: 2,
		// Every other route, and the forbidden message, share route="".
		`wsgw_messages_total{api="shop",direction="in",stage="test"}`:  6, // oneway, limited×2, fail, noint, nosuchroute
		`wsgw_messages_total{api="shop",direction="out",stage="test"}`: 5, // limited reply, throttled, fail, noint, forbidden
		`wsgw_integration_errors_total{` + sl + `}`:                    1, // fail
		`wsgw_client_errors_total{` + sl + `}`:                         2, // throttled, forbidden
		`wsgw_execution_errors_total{` + sl + `}`:                      1, // noint
		`wsgw_integration_latency_seconds_count{` + sl + `}`:           3, // oneway, limited, fail
	}
	for series, w := range want {
		v, ok := got[series]
		if !ok || v != w {
			t.Errorf("RT-3/D-32: %s = %v (present %v), want %v", series, v, ok, w)
		}
	}
	// Routes without detailed metrics have no series of their own.
	for series := range got {
		for _, route := range []string{"oneway", "limited", "fail", "noint"} {
			if strings.Contains(series, `route="`+route+`"`) {
				t.Errorf("D-32: route %s has no detailed metrics but has the series %s", route, series)
			}
		}
	}
}

// accessLogFormat is a JSON access-log format over the $context variables
// RT-32 tests check.
const accessLogFormat = `{"requestId":"$context.requestId","connectionId":"$context.connectionId","routeKey":"$context.routeKey","eventType":"$context.eventType","status":$context.status,"error":"$context.error.message"}`

// accessLine is one decoded line of accessLogFormat.
type accessLine struct {
	RequestID    string `json:"requestId"`
	ConnectionID string `json:"connectionId"`
	RouteKey     string `json:"routeKey"`
	EventType    string `json:"eventType"`
	Status       int    `json:"status"`
	Error        string `json:"error"`
}

// TestRT32AccessLogs checks access logs (RT-32): one line per CONNECT,
// MESSAGE and DISCONNECT event in the stage's $context format, to stdout
// (written asynchronously, so the test waits for the lines) and to a file
// that the gateway creates with its directory; refused handshakes and
// messages are logged with their status.
func TestRT32AccessLogs(t *testing.T) {
	stdout := newSyncBuffer()
	path := filepath.Join(t.TempDir(), "logs", "access.log")
	out := featStage("out", nil)
	out.AccessLog = &model.AccessLog{Destination: "stdout", Format: accessLogFormat}
	out.RouteSettings = map[string]model.RouteSettings{model.RouteConnect: throttledSettings(out.DefaultRouteSettings, 1, 1)}
	file := featStage("file", nil)
	file.AccessLog = &model.AccessLog{Destination: path, Format: `$context.eventType $context.routeKey $context.status $context.connectionId`}
	api := withWhoami(t, &model.API{
		Name:         "logs",
		Integrations: []*model.Integration{mockReply(t, "echo", "${request.raw_body}")},
		Routes:       []*model.Route{{Key: "echo", Integration: "echo", TwoWay: true}},
		Stages:       []*model.Stage{out, file},
	})
	clock := newTestClock()
	g := startGateway(t, newState(t, api), Options{Now: clock.Now, AccessLogStdout: stdout})

	c := dial(t, g.url("/logs/out"), nil)
	if got := dialStatus(t, g.url("/logs/out"), nil); got != http.StatusTooManyRequests {
		t.Fatalf("RT-25: second handshake %d, want 429", got)
	}
	id := connectionID(t, c)
	c.send(`{"action":"echo"}`)
	c.readText()
	c.send(`{"action":"nosuchroute"}`)
	_, forbiddenRID := parseErrorFrame(t, "Forbidden", c.readText())
	c.close(1000, "")
	c.expectClose(1000, "")

	lines := stdout.waitLines(t, 6, func(string) bool { return true })
	if len(lines) != 6 {
		t.Fatalf("RT-32: %d access log lines, want 6:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	var got []accessLine
	requestIDs := map[string]bool{}
	for _, l := range lines {
		var al accessLine
		if err := json.Unmarshal([]byte(l), &al); err != nil {
			t.Fatalf("RT-32: access log line %q is not the configured JSON format: %v", l, err)
		}
		if len(al.RequestID) != IDLength || requestIDs[al.RequestID] {
			t.Fatalf("RT-32: line %q: request id missing or repeated", l)
		}
		requestIDs[al.RequestID] = true
		if al.Status == http.StatusForbidden && al.RequestID != forbiddenRID {
			t.Fatalf("RT-32/D-35: the Forbidden line has request id %s, the frame %s", al.RequestID, forbiddenRID)
		}
		al.RequestID = ""
		if al.ConnectionID != id {
			if al.EventType != "CONNECT" || al.Status != http.StatusTooManyRequests {
				t.Fatalf("RT-32: line %q is of another connection than %s", l, id)
			}
			al.ConnectionID = "throttled"
		}
		got = append(got, al)
	}
	want := []accessLine{
		{ConnectionID: id, RouteKey: "$connect", EventType: "CONNECT", Status: 200, Error: "-"},
		{ConnectionID: "throttled", RouteKey: "$connect", EventType: "CONNECT", Status: 429, Error: "Too Many Requests"},
		{ConnectionID: id, RouteKey: "whoami", EventType: "MESSAGE", Status: 200, Error: "-"},
		{ConnectionID: id, RouteKey: "echo", EventType: "MESSAGE", Status: 200, Error: "-"},
		{ConnectionID: id, RouteKey: "-", EventType: "MESSAGE", Status: 403, Error: "Forbidden"},
		{ConnectionID: id, RouteKey: "$disconnect", EventType: "DISCONNECT", Status: 200, Error: "-"},
	}
	sortLines := func(ls []accessLine) {
		slices.SortFunc(ls, func(a, b accessLine) int {
			return strings.Compare(a.EventType+a.RouteKey+a.ConnectionID, b.EventType+b.RouteKey+b.ConnectionID)
		})
	}
	sortLines(got)
	sortLines(want)
	if !slices.Equal(got, want) {
		t.Fatalf("RT-32: access log lines\n got %+v\nwant %+v", got, want)
	}

	f := dial(t, g.url("/logs/file"), nil)
	fid := connectionID(t, f)
	f.close(1001, "")
	f.expectClose(1001, "")
	// Shutdown flushes and closes the access logs.
	g.shutdown()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("RT-32: file access log: %v", err)
	}
	// The whoami line is written after its reply, so it may follow the
	// DISCONNECT line.
	gotFile := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	sort.Strings(gotFile)
	wantFile := []string{"CONNECT $connect 200 " + fid, "DISCONNECT $disconnect 200 " + fid, "MESSAGE whoami 200 " + fid}
	if !strings.HasSuffix(string(data), "\n") || !slices.Equal(gotFile, wantFile) {
		t.Fatalf("RT-32: file access log\n got %q\nwant the lines %q", data, wantFile)
	}
	if n := strings.Count(stdout.String(), "\n"); n != 6 {
		t.Fatalf("RT-32: the file stage's lines also went to stdout (%d lines)", n)
	}
}

// String returns everything written.
func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// execRecord is one execution-log record of the JSON slog handler.
type execRecord struct {
	Level        string  `json:"level"`
	Msg          string  `json:"msg"`
	Stage        string  `json:"stage"`
	Route        string  `json:"route"`
	EventType    string  `json:"event_type"`
	Status       int     `json:"status"`
	ConnectionID string  `json:"connection_id"`
	RequestID    string  `json:"request_id"`
	Error        string  `json:"error"`
	RequestBody  *string `json:"request_body"`
	ResponseBody *string `json:"response_body"`
}

// TestRT32ExecutionLogs checks the execution logs of logging_level and
// data_trace_enabled (RT-32, D-19) through Options.Logger: INFO logs every
// event of the stage (failures at the error level), ERROR only failures,
// OFF nothing, and data tracing adds the message bodies.
func TestRT32ExecutionLogs(t *testing.T) {
	logs := newSyncBuffer()
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	level := func(name, lvl string, trace bool) *model.Stage {
		s := featStage(name, nil)
		s.DefaultRouteSettings.LoggingLevel, s.DefaultRouteSettings.DataTraceEnabled = lvl, trace
		return s
	}
	api := &model.API{
		Name:         "exec",
		Integrations: []*model.Integration{mockReply(t, "echo", `re: ${request.body.text}`)},
		Routes: []*model.Route{
			{Key: "echo", Integration: "echo", TwoWay: true},
			{Key: "noint", TwoWay: true},
		},
		Stages: []*model.Stage{
			level("info", model.LoggingInfo, false),
			level("error", model.LoggingError, false),
			level("off", model.LoggingOff, false),
			level("trace", model.LoggingInfo, true),
		},
	}
	g := startGateway(t, newState(t, api), Options{Logger: logger, MaxInflight: 1})
	ids := map[string]string{}
	for _, stage := range []string{"info", "error", "off", "trace"} {
		c := dial(t, g.url("/exec/"+stage), nil)
		c.send(`{"action":"echo","text":"hi"}`)
		if got := c.readText(); got != "re: hi" {
			t.Fatalf("echo answered %q", got)
		}
		c.send(`{"action":"noint"}`)
		connID, _ := parseErrorFrame(t, "Internal server error", c.readText())
		ids[stage] = connID
		c.send(`{"action":"nosuchroute"}`)
		parseErrorFrame(t, "Forbidden", c.readText())
		c.close(1000, "")
		c.expectClose(1000, "")
	}
	// After Shutdown every event has been logged.
	g.shutdown()

	type summary struct {
		level, msg, route, eventType string
		status                       int
	}
	byStage := map[string][]summary{}
	var trace []execRecord
	for _, l := range logs.lines() {
		var r execRecord
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if r.Msg != "route executed" && r.Msg != "route failed" {
			continue
		}
		if r.ConnectionID != ids[r.Stage] || len(r.RequestID) != IDLength {
			t.Fatalf("RT-32: record %q has connection %q / request %q, want connection %q", l, r.ConnectionID, r.RequestID, ids[r.Stage])
		}
		if traced := r.Stage == "trace" && r.EventType == "MESSAGE"; (r.RequestBody != nil) != traced {
			t.Fatalf("RT-32: record %q: request body present %v, want %v", l, r.RequestBody != nil, traced)
		}
		if r.Msg == "route failed" && r.Error == "" && r.Status < 400 {
			t.Fatalf("RT-32: failure record %q has neither an error nor a failing status", l)
		}
		byStage[r.Stage] = append(byStage[r.Stage], summary{r.Level, r.Msg, r.Route, r.EventType, r.Status})
		if r.Stage == "trace" {
			trace = append(trace, r)
		}
	}
	all := []summary{
		{"INFO", "route executed", "$connect", "CONNECT", 200},
		{"INFO", "route executed", "echo", "MESSAGE", 200},
		{"ERROR", "route failed", "noint", "MESSAGE", 500},
		{"ERROR", "route failed", "", "MESSAGE", 403},
		{"INFO", "route executed", "$disconnect", "DISCONNECT", 200},
	}
	failures := []summary{all[2], all[3]}
	// Records of one connection are not ordered: a reply is sent before its
	// record is written, and the next message or the close may be logged
	// first.
	sortSummaries := func(ss []summary) []summary {
		ss = slices.Clone(ss)
		slices.SortFunc(ss, func(a, b summary) int {
			return strings.Compare(a.eventType+a.route+strconv.Itoa(a.status), b.eventType+b.route+strconv.Itoa(b.status))
		})
		return ss
	}
	for stage, want := range map[string][]summary{"info": all, "error": failures, "off": nil, "trace": all} {
		if got, want := sortSummaries(byStage[stage]), sortSummaries(want); !slices.Equal(got, want) {
			t.Errorf("RT-32: logging on stage %s\n got %v\nwant %v", stage, got, want)
		}
	}
	for _, r := range trace {
		if r.Route != "echo" {
			continue
		}
		if r.RequestBody == nil || *r.RequestBody != `{"action":"echo","text":"hi"}` || r.ResponseBody == nil || *r.ResponseBody != "re: hi" {
			t.Errorf("RT-32: data trace of echo: request %v response %v", r.RequestBody, r.ResponseBody)
		}
	}
}

// TestRT30ReloadPrepareFailure checks that a state whose integration does
// not prepare (an integration response key that is not a valid regex) is
// refused with an error naming the integration, while the old state keeps
// serving live and new connections (RT-30).
func TestRT30ReloadPrepareFailure(t *testing.T) {
	api := &model.API{
		Name:         "rl",
		Integrations: []*model.Integration{mockReply(t, "pong", "pong ${stageVariables.v}")},
		Routes:       []*model.Route{{Key: "$default", Integration: "pong", TwoWay: true}},
		Stages:       []*model.Stage{featStage("test", map[string]string{"v": "1"})},
	}
	st := newState(t, api)
	g := startGateway(t, st, Options{})
	c := dial(t, g.url("/rl/test"), nil)
	c.send("x")
	if got := c.readText(); got != "pong 1" {
		t.Fatalf("before: %q", got)
	}

	bad := nextState(t, st, "rl", "d-0000000002",
		[]*model.Route{{Key: "$default", Integration: "broken", TwoWay: true, Authorization: model.AuthorizationNone}},
		[]*model.Integration{{
			Name: "broken", Type: model.IntegrationMock, Method: http.MethodPost, TimeoutMS: 29000,
			PassthroughBehavior: model.PassthroughWhenNoMatch,
			Responses:           []*model.IntegrationResponse{{Key: `/4\d(/`}},
		}})
	bad.API("rl").Config.Stages[0].Variables["v"] = "2"
	err := g.srv.Load(bad)
	if err == nil {
		t.Fatal("RT-30: Load accepted an integration that does not prepare")
	}
	for _, part := range []string{`integration "broken"`, "not a valid regular expression", `api.rl.stage["test"]`} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("RT-30: error %q does not name %s", err, part)
		}
	}
	if serial, _ := g.srv.Serial(); serial != st.Serial {
		t.Fatalf("RT-30: served serial %d after a failed Load, want %d", serial, st.Serial)
	}
	c.send("y")
	if got := c.readText(); got != "pong 1" {
		t.Fatalf("RT-30: live connection after a failed Load answered %q, want the old state's reply", got)
	}
	fresh := dial(t, g.url("/rl/test"), nil)
	fresh.send("z")
	if got := fresh.readText(); got != "pong 1" {
		t.Fatalf("RT-30: new connection after a failed Load answered %q", got)
	}

	good := bad.Clone()
	good.API("rl").Newest().Snapshot.Integrations[0].Responses = []*model.IntegrationResponse{{
		Key: `/2\d\d/`, Templates: map[string]model.Template{"$default": tpl(t, "fixed ${stageVariables.v}")},
	}}
	if err := g.srv.Load(good); err != nil {
		t.Fatal(err)
	}
	c.send("w")
	if got := c.readText(); got != "fixed 2" {
		t.Fatalf("RT-30: after a good Load answered %q, want %q", got, "fixed 2")
	}
}
