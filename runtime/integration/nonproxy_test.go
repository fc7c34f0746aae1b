package integration

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/wsgwctl/wsgwctl/config/model"
)

// pongIntegration is the "pong" MOCK integration of
// examples/multistage/inventory.wsgw.hcl, as the configuration loader
// builds it (jsonencode({ statusCode = 200 }) is folded into text, and the
// heredoc keeps its final newline).
func pongIntegration() *model.Integration {
	ref := func(root string, fn string, path ...string) model.TemplatePart {
		r := &model.Ref{Root: root, Func: fn}
		for _, p := range path {
			r.Path = append(r.Path, model.PathStep{Name: p})
		}
		return model.TemplatePart{Ref: r}
	}
	lit := func(s string) model.TemplatePart { return model.TemplatePart{Literal: s} }
	return &model.Integration{
		Name:                "pong",
		Type:                model.IntegrationMock,
		Method:              "POST",
		TimeoutMS:           29000,
		PassthroughBehavior: model.PassthroughWhenNoMatch,
		RequestTemplates:    map[string]model.Template{"$default": model.LiteralTemplate(`{"statusCode":200}`)},
		Responses: []*model.IntegrationResponse{{
			Key: "$default",
			Templates: map[string]model.Template{"$default": {Parts: []model.TemplatePart{
				lit(`{"action": "pong", "connectionId": "`), ref("context", "", "connectionId"),
				lit(`", "environment": "`), ref("stageVariables", "", "environment"),
				lit(`", "echo": `), ref("request", "jsonencode", "body"),
				lit("}\n"),
			}}},
		}},
	}
}

func prepareT(t *testing.T, in *model.Integration, stageVariables map[string]string) *Prepared {
	t.Helper()
	p, err := NewInvoker(Options{}).Prepare(in, stageVariables)
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	return p
}

func call(t *testing.T, iv *Invoker, p *Prepared, req *Request) (*Response, error) {
	t.Helper()
	return iv.Call(context.Background(), p, req)
}

func TestMockMultistagePong(t *testing.T) {
	p := prepareT(t, pongIntegration(), map[string]string{"environment": "dev", "service": "inventory-dev"})
	req := testRequest(EventMessage)
	req.Body = []byte(`{"action": "ping", "n": [1, 2]}`)
	resp, err := call(t, NewInvoker(Options{}), p, req)
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	want := `{"action": "pong", "connectionId": "Q1w2E3r4T5y6U7i=", "environment": "dev", "echo": {"action":"ping","n":[1,2]}}` + "\n"
	if !resp.HasBody || string(resp.Body) != want {
		t.Fatalf("RT-43: MOCK reply = %q (HasBody %v), want %q", resp.Body, resp.HasBody, want)
	}
	if resp.StatusCode != 200 || resp.Binary || resp.Header != nil {
		t.Errorf("RT-43: StatusCode %d, Binary %v, Header %v; want 200, false, nil", resp.StatusCode, resp.Binary, resp.Header)
	}
	if !json.Valid(resp.Body) {
		t.Error("the pong reply is not JSON")
	}
	// The stage variables were folded in by Prepare: the request's own do
	// not matter.
	req.StageVariables = map[string]string{"environment": "prod"}
	if resp, err := call(t, NewInvoker(Options{}), p, req); err != nil || string(resp.Body) != want {
		t.Errorf("after changing req.StageVariables: %q, %v; want the prepared stage's reply", resp.Body, err)
	}
	// Invoke resolves stage variables per request.
	resp, err = NewInvoker(Options{}).Invoke(context.Background(), pongIntegration(), req)
	if err != nil || !strings.Contains(string(resp.Body), `"environment": "prod"`) {
		t.Errorf("Invoke reply = %q, %v; want environment prod", resp.Body, err)
	}
}

// statusResponses are integration responses that show which one was
// selected: a 2xx regex, a 4xx regex, then $default.
func statusResponses() []*model.IntegrationResponse {
	tpl := func(s string) map[string]model.Template {
		return map[string]model.Template{"$default": model.LiteralTemplate(s)}
	}
	return []*model.IntegrationResponse{
		{Key: "$default", Templates: tpl("default")},
		{Key: `/2\d\d/`, Templates: tpl("2xx")},
		{Key: `/20\d/`, Templates: tpl("20x, never: the 2xx regex comes first")},
		{Key: `/4\d\d|3/`, Templates: tpl("4xx or 3")},
		{Key: `/5/`, Templates: tpl("5, never: regexes are anchored")},
	}
}

func TestMockStatusSelectsResponse(t *testing.T) {
	tests := []struct {
		name       string
		template   string
		body       string
		noTemplate bool
		wantStatus int
		wantBody   string
		wantErr    Kind
	}{
		{name: "statusCode number", template: `{"statusCode": 201}`, wantStatus: 201, wantBody: "2xx"},
		{name: "statusCode string", template: `{"statusCode": "404"}`, wantStatus: 404, wantBody: "4xx or 3"},
		{name: "first regex in source order wins", template: `{"statusCode": 200}`, wantStatus: 200, wantBody: "2xx"},
		{name: "whole code is matched", template: `{"statusCode": 500}`, wantStatus: 500, wantBody: "default"},
		{name: "no statusCode is 200", template: `{"other": 1}`, wantStatus: 200, wantBody: "2xx"},
		{name: "null statusCode is 200", template: `{"statusCode": null}`, wantStatus: 200, wantBody: "2xx"},
		{name: "not JSON is 200", template: `statusCode: 404`, wantStatus: 200, wantBody: "2xx"},
		{name: "not an object is 200", template: `[404]`, wantStatus: 200, wantBody: "2xx"},
		{name: "rendered statusCode", template: `{"statusCode": ${request.body.want}}`, body: `{"want": 302}`, wantStatus: 302, wantBody: "default"},
		{name: "passthrough uses the message", noTemplate: true, body: `{"statusCode": 404}`, wantStatus: 404, wantBody: "4xx or 3"},
		{name: "status out of range", template: `{"statusCode": 700}`, wantErr: KindInvalidRequest},
		{name: "fractional status", template: `{"statusCode": 200.5}`, wantErr: KindInvalidRequest},
		{name: "boolean status", template: `{"statusCode": true}`, wantErr: KindInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &model.Integration{Name: "m", Type: model.IntegrationMock, Responses: statusResponses()}
			if !tt.noTemplate {
				in.RequestTemplates = map[string]model.Template{"$default": mustTemplate(t, tt.template)}
			}
			req := testRequest(EventMessage)
			if tt.body != "" {
				req.Body = []byte(tt.body)
			}
			resp, err := call(t, NewInvoker(Options{}), prepareT(t, in, nil), req)
			if tt.wantErr != 0 {
				var ie *Error
				if !errors.As(err, &ie) || ie.Kind != tt.wantErr || ie.Integration != "m" {
					t.Fatalf("Call error = %v, want kind %v naming the integration", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Call: %v", err)
			}
			if resp.StatusCode != tt.wantStatus || string(resp.Body) != tt.wantBody || !resp.HasBody {
				t.Errorf("RT-43/D-44: status %d body %q (HasBody %v), want %d %q", resp.StatusCode, resp.Body, resp.HasBody, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

func TestMockWithoutReply(t *testing.T) {
	req200 := map[string]model.Template{"$default": model.LiteralTemplate(`{"statusCode": 200}`)}
	tests := []struct {
		name      string
		responses []*model.IntegrationResponse
	}{
		{"no response block", nil},
		{"no response matches", []*model.IntegrationResponse{{Key: `/4\d\d/`, Templates: map[string]model.Template{"$default": model.LiteralTemplate("x")}}}},
		{"no template for the key", []*model.IntegrationResponse{{Key: "$default", TemplateSelectionExpression: "$request.body.action",
			Templates: map[string]model.Template{"other": model.LiteralTemplate("x")}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &model.Integration{Name: "m", Type: model.IntegrationMock, RequestTemplates: req200, Responses: tt.responses}
			resp, err := call(t, NewInvoker(Options{}), prepareT(t, in, nil), testRequest(EventMessage))
			if err != nil {
				t.Fatalf("Call: %v", err)
			}
			if resp.HasBody || resp.Body != nil || resp.StatusCode != 200 {
				t.Errorf("D-44: reply %q (HasBody %v, status %d), want nothing with status 200", resp.Body, resp.HasBody, resp.StatusCode)
			}
		})
	}
}

func TestMockConnect(t *testing.T) {
	for _, status := range []int{200, 403} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			in := &model.Integration{Name: "m", Type: model.IntegrationMock,
				RequestTemplates: map[string]model.Template{"$default": model.LiteralTemplate(`{"statusCode": ` + strconv.Itoa(status) + `}`)}}
			resp, err := call(t, NewInvoker(Options{}), prepareT(t, in, nil), testRequest(EventConnect))
			if err != nil || resp.StatusCode != status {
				t.Fatalf("RT-43: $connect MOCK = %+v, %v; want status %d", resp, err, status)
			}
		})
	}
}

// recorder is a backend that records request bodies and answers each
// request with the status its JSON body's "status" member names (200 by
// default) and the body of its "reply" member.
type recorder struct {
	*httptest.Server
	mu       sync.Mutex
	requests []captured
}

func newRecorder(t *testing.T, header map[string]string) *recorder {
	t.Helper()
	rec := &recorder{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.requests = append(rec.requests, captured{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
		rec.mu.Unlock()
		var ask struct {
			Status int    `json:"status"`
			Reply  string `json:"reply"`
		}
		_ = json.Unmarshal(body, &ask)
		if ask.Status == 0 {
			ask.Status = 200
		}
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(ask.Status)
		io.WriteString(w, ask.Reply)
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (r *recorder) bodies() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, c := range r.requests {
		out = append(out, string(c.Body))
	}
	return out
}

func TestHTTPTemplateSelectionAndPassthrough(t *testing.T) {
	jsonOnly := map[string]string{"json": `{"kind": "json", "c": "${context.connectionId}", "data": ${jsonencode(request.body.data)}}`}
	withDefault := map[string]string{"json": jsonOnly["json"], "$default": `default ${request.raw_body}`}
	tests := []struct {
		name        string
		templates   map[string]string
		selection   string
		passthrough string
		body        string
		want        string // the body the backend receives
		wantErr     bool
	}{
		{name: "selected template", templates: withDefault, selection: "$request.body.format", body: `{"format": "json", "data": [1]}`,
			want: `{"kind": "json", "c": "Q1w2E3r4T5y6U7i=", "data": [1]}`},
		{name: "fallback to $default", templates: withDefault, selection: "$request.body.format", body: `{"format": "xml"}`, want: `default {"format": "xml"}`},
		{name: "non-JSON message uses $default", templates: withDefault, selection: "$request.body.format", body: `hi`, want: `default hi`},
		{name: "no expression uses $default", templates: withDefault, body: `{"format": "json"}`, want: `default {"format": "json"}`},
		{name: "static expression", templates: withDefault, selection: "json", body: `{"data": "x"}`, want: `{"kind": "json", "c": "Q1w2E3r4T5y6U7i=", "data": "x"}`},
		{name: "WHEN_NO_MATCH passes an unmatched message through", templates: jsonOnly, selection: "$request.body.format", passthrough: model.PassthroughWhenNoMatch,
			body: `{"format": "xml"}`, want: `{"format": "xml"}`},
		{name: "default behaviour is WHEN_NO_MATCH", templates: jsonOnly, selection: "$request.body.format", body: `{"format": "xml"}`, want: `{"format": "xml"}`},
		{name: "WHEN_NO_TEMPLATES without templates passes through", passthrough: model.PassthroughWhenNoTemplates, body: `{"a": 1}`, want: `{"a": 1}`},
		{name: "WHEN_NO_TEMPLATES with unmatched templates fails", templates: jsonOnly, selection: "$request.body.format", passthrough: model.PassthroughWhenNoTemplates,
			body: `{"format": "xml"}`, wantErr: true},
		{name: "WHEN_NO_TEMPLATES with a match", templates: jsonOnly, selection: "$request.body.format", passthrough: model.PassthroughWhenNoTemplates,
			body: `{"format": "json"}`, want: `{"kind": "json", "c": "Q1w2E3r4T5y6U7i=", "data": null}`},
		{name: "NEVER without templates fails", passthrough: model.PassthroughNever, body: `{"a": 1}`, wantErr: true},
		{name: "NEVER with unmatched templates fails", templates: jsonOnly, selection: "$request.body.format", passthrough: model.PassthroughNever,
			body: `{"format": "xml"}`, wantErr: true},
		{name: "NEVER with a match", templates: withDefault, passthrough: model.PassthroughNever, body: `x`, want: `default x`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(t, nil)
			in := &model.Integration{Name: "h", Type: model.IntegrationHTTP, URI: model.LiteralTemplate(rec.URL + "/in"),
				TemplateSelectionExpression: tt.selection, PassthroughBehavior: tt.passthrough}
			if tt.templates != nil {
				in.RequestTemplates = map[string]model.Template{}
				for k, v := range tt.templates {
					in.RequestTemplates[k] = mustTemplate(t, v)
				}
			}
			req := testRequest(EventMessage)
			req.Body = []byte(tt.body)
			iv := newTestInvoker(t)
			resp, err := call(t, iv, prepareT(t, in, nil), req)
			if tt.wantErr {
				var ie *Error
				if !errors.As(err, &ie) || ie.Kind != KindUnsupportedMediaType {
					t.Fatalf("RT-42: Call error = %v, want KindUnsupportedMediaType", err)
				}
				if ie.ClientMessage() != "Unsupported Media Type" || ie.ResponseType() != "UNSUPPORTED_MEDIA_TYPE" || ie.HandshakeStatus() != 415 {
					t.Errorf("D-44: ClientMessage %q, ResponseType %q, HandshakeStatus %d", ie.ClientMessage(), ie.ResponseType(), ie.HandshakeStatus())
				}
				if n := len(rec.bodies()); n != 0 {
					t.Errorf("RT-42: the backend was called %d times", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("Call: %v", err)
			}
			if got := rec.bodies(); len(got) != 1 || got[0] != tt.want {
				t.Errorf("RT-42: backend received %q, want %q", got, tt.want)
			}
			if resp.HasBody {
				t.Errorf("D-44: an integration without responses replied %q", resp.Body)
			}
		})
	}
}

func TestHTTPRequestShape(t *testing.T) {
	rec := newRecorder(t, nil)
	in := &model.Integration{Name: "h", Type: model.IntegrationHTTP, Method: "PUT",
		URI:               mustTemplate(t, "${stageVariables.base}/rooms/${request.body.room}?x=1"),
		RequestParameters: map[string]string{"integration.request.header.X-Conn": "context.connectionId", "integration.request.querystring.env": "stageVariables.env", "integration.request.header.X-None": "stageVariables.unset"},
		RequestTemplates:  map[string]model.Template{"$default": mustTemplate(t, `{"room": "${request.body.room}"}`)},
	}
	p := prepareT(t, in, map[string]string{"base": rec.URL, "env": "dev"})
	if p.staticURL != nil || p.uri == nil {
		t.Fatalf("the uri depends on the message but was prepared static")
	}
	req := testRequest(EventMessage)
	req.Body = []byte(`{"room": "r9"}`)
	if _, err := call(t, newTestInvoker(t), p, req); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	got := rec.requests[0]
	rec.mu.Unlock()
	if got.Method != "PUT" || got.Path != "/rooms/r9" || got.Query != "x=1&env=dev" || string(got.Body) != `{"room": "r9"}` {
		t.Errorf("RT-42: request %s %s?%s %q", got.Method, got.Path, got.Query, got.Body)
	}
	if got.Header.Get("X-Conn") != "Q1w2E3r4T5y6U7i=" || got.Header.Get("Content-Type") != "application/json" {
		t.Errorf("D-24: headers %v", got.Header)
	}
	if _, ok := got.Header["X-None"]; ok {
		t.Error("D-24: a parameter from an unset stage variable was sent")
	}
}

func TestHTTPResponseSelection(t *testing.T) {
	rec := newRecorder(t, map[string]string{"Content-Type": "application/json", "X-Trace": "t-1"})
	in := &model.Integration{Name: "h", Type: model.IntegrationHTTP, URI: model.LiteralTemplate(rec.URL),
		Responses: []*model.IntegrationResponse{
			{Key: `/2\d\d/`, Templates: map[string]model.Template{"$default": mustTemplate(t,
				`{"status": ${integration.response.statuscode}, "type": "${integration.response.header.content-type}", "trace": "${integration.response.header.X-TRACE}", "data": ${jsonencode(integration.response.body.data)}}`)}},
			{Key: `/4\d\d/`, TemplateSelectionExpression: "$request.body.format", Templates: map[string]model.Template{
				"json":     mustTemplate(t, `{"error": ${jsonencode(integration.response.raw_body)}, "request": "${context.requestId}"}`),
				"$default": mustTemplate(t, `client error ${trimspace(integration.response.body.message)}`),
			}},
			{Key: "$default", Templates: map[string]model.Template{"$default": mustTemplate(t, `${integration.response.raw_body}`)}},
		}}
	p := prepareT(t, in, nil)
	tests := []struct {
		name, body string
		wantStatus int
		want       string
	}{
		{"2xx", `{"status": 201, "reply": "{\"data\": {\"id\": 1}}"}`, 201, `{"status": 201, "type": "application/json", "trace": "t-1", "data": {"id":1}}`},
		{"4xx", `{"status": 404, "reply": "{\"message\": \" gone \"}"}`, 404, `client error gone`},
		{"4xx selects a template by the message", `{"status": 400, "format": "json", "reply": "bad"}`, 400, `{"error": "bad", "request": "R1w2E3r4T5y6U7i="}`},
		{"5xx falls back to $default", `{"status": 503, "reply": "down"}`, 503, `down`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := testRequest(EventMessage)
			req.Body = []byte(tt.body)
			resp, err := call(t, newTestInvoker(t), p, req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus || !resp.HasBody || string(resp.Body) != tt.want {
				t.Errorf("D-44: status %d reply %q, want %d %q", resp.StatusCode, resp.Body, tt.wantStatus, tt.want)
			}
			if resp.Header.Get("X-Trace") != "t-1" {
				t.Errorf("Response.Header = %v, want the backend's", resp.Header)
			}
		})
	}
}

func TestContentHandling(t *testing.T) {
	binary := string([]byte{0xff, 0x00, 0xfe})
	binaryBackend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, binary)
	}))
	t.Cleanup(binaryBackend.Close)
	rec := newRecorder(t, nil)
	passthroughResponse := []*model.IntegrationResponse{{Key: "$default"}}
	rawResponse := []*model.IntegrationResponse{{Key: "$default", Templates: map[string]model.Template{"$default": mustTemplate(t, "raw=${integration.response.raw_body}")}}}
	tests := []struct {
		name       string
		handling   string
		uri        string
		template   string
		responses  []*model.IntegrationResponse
		body       string
		wantSent   string
		wantType   string
		wantReply  string
		wantBinary bool
		wantErr    bool
	}{
		{name: "CONVERT_TO_BINARY decodes the payload", handling: ContentHandlingConvertToBinary, uri: rec.URL, template: "${request.body.data}\n",
			body: `{"data": "/wD+"}`, wantSent: binary, wantType: "application/octet-stream"},
		{name: "CONVERT_TO_BINARY of a passed-through message", handling: ContentHandlingConvertToBinary, uri: rec.URL,
			body: `aGk=`, wantSent: "hi", wantType: "application/octet-stream"},
		{name: "CONVERT_TO_BINARY of text that is not base64", handling: ContentHandlingConvertToBinary, uri: rec.URL, body: `not base64!`, wantErr: true},
		{name: "CONVERT_TO_TEXT leaves a text payload", handling: ContentHandlingConvertToText, uri: rec.URL, body: `{"a": "é"}`,
			wantSent: `{"a": "é"}`, wantType: "application/json"},
		{name: "CONVERT_TO_TEXT encodes a binary reply", handling: ContentHandlingConvertToText, uri: binaryBackend.URL, responses: rawResponse,
			body: `{}`, wantSent: "-", wantReply: "raw=/wD+"},
		{name: "CONVERT_TO_TEXT passes a binary reply through as base64", handling: ContentHandlingConvertToText, uri: binaryBackend.URL, responses: passthroughResponse,
			body: `{}`, wantSent: "-", wantReply: "/wD+"},
		{name: "without content handling a binary reply is binary", uri: binaryBackend.URL, responses: passthroughResponse,
			body: `{}`, wantSent: "-", wantReply: binary, wantBinary: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &model.Integration{Name: "h", Type: model.IntegrationHTTP, URI: model.LiteralTemplate(tt.uri), ContentHandling: tt.handling, Responses: tt.responses}
			if tt.template != "" {
				in.RequestTemplates = map[string]model.Template{"$default": mustTemplate(t, tt.template)}
			}
			before := len(rec.bodies())
			req := testRequest(EventMessage)
			req.Body = []byte(tt.body)
			resp, err := call(t, newTestInvoker(t), prepareT(t, in, nil), req)
			if tt.wantErr {
				var ie *Error
				if !errors.As(err, &ie) || ie.Kind != KindInvalidRequest || len(rec.bodies()) != before {
					t.Fatalf("Call error = %v (backend calls %d), want KindInvalidRequest without a call", err, len(rec.bodies())-before)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantSent != "-" {
				rec.mu.Lock()
				got := rec.requests[len(rec.requests)-1]
				rec.mu.Unlock()
				if string(got.Body) != tt.wantSent || got.Header.Get("Content-Type") != tt.wantType {
					t.Errorf("sent %q as %q, want %q as %q", got.Body, got.Header.Get("Content-Type"), tt.wantSent, tt.wantType)
				}
			}
			if tt.wantReply != "" && (string(resp.Body) != tt.wantReply || resp.Binary != tt.wantBinary) {
				t.Errorf("reply %q (Binary %v), want %q (Binary %v)", resp.Body, resp.Binary, tt.wantReply, tt.wantBinary)
			}
		})
	}
}

func TestPrepareErrors(t *testing.T) {
	base := func() *model.Integration {
		return &model.Integration{Name: "broken", Type: model.IntegrationHTTP, URI: model.LiteralTemplate("http://127.0.0.1:1/x")}
	}
	tests := []struct {
		name   string
		modify func(in *model.Integration)
		want   string
	}{
		{"bad response regex", func(in *model.Integration) {
			in.Responses = []*model.IntegrationResponse{{Key: `/2\d(/`}}
		}, `response "/2\\d(/": the key is not a valid regular expression`},
		{"bad response key", func(in *model.Integration) { in.Responses = []*model.IntegrationResponse{{Key: "200"}} }, `neither "$default" nor a /regex/`},
		{"two $default responses", func(in *model.Integration) {
			in.Responses = []*model.IntegrationResponse{{Key: "$default"}, {Key: "$default"}}
		}, `more than one response "$default"`},
		{"bad template selection expression", func(in *model.Integration) { in.TemplateSelectionExpression = "${request.body" }, "template_selection_expression:"},
		{"bad response selection expression", func(in *model.Integration) {
			in.Responses = []*model.IntegrationResponse{{Key: "$default", TemplateSelectionExpression: "$request.header.x"}}
		}, `response "$default": template_selection_expression:`},
		{"bad passthrough", func(in *model.Integration) { in.PassthroughBehavior = "SOMETIMES" }, "passthrough_behavior"},
		{"bad content handling", func(in *model.Integration) { in.ContentHandling = "CONVERT_TO_HEX" }, "content_handling"},
		{"bad method", func(in *model.Integration) { in.Method = "GET /" }, "not a valid HTTP method"},
		{"bad static uri", func(in *model.Integration) { in.URI = mustTemplate(t, "${stageVariables.base}/x") }, "not an absolute http or https URL"},
		{"response root in a request template", func(in *model.Integration) {
			in.RequestTemplates = map[string]model.Template{"k": mustTemplate(t, "${integration.response.body}")}
		}, `request template "k": reference integration.response.body`},
		{"bad request parameter", func(in *model.Integration) {
			in.RequestParameters = map[string]string{"integration.request.body.x": "'a'"}
		}, "request parameter"},
		{"unknown type", func(in *model.Integration) { in.Type = "GRPC" }, "unsupported integration type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base()
			tt.modify(in)
			_, err := NewInvoker(Options{}).Prepare(in, map[string]string{"base": "relative"})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), `integration "broken"`) {
				t.Fatalf("Prepare error = %v, want one naming integration \"broken\" and containing %q", err, tt.want)
			}
		})
	}
}

func TestPrepareFoldsStageVariables(t *testing.T) {
	in := &model.Integration{Name: "svc", Type: model.IntegrationHTTPProxy, URI: mustTemplate(t, "http://${stageVariables.host}/${stageVariables.path}"),
		RequestParameters: map[string]string{"integration.request.header.X-Env": "stageVariables.env"}}
	p := prepareT(t, in, map[string]string{"host": "127.0.0.1:9", "path": "v1", "env": "prod"})
	if p.staticURL == nil || p.staticURL.String() != "http://127.0.0.1:9/v1" {
		t.Errorf("prepared uri = %v, want the static http://127.0.0.1:9/v1", p.staticURL)
	}
	if len(p.params) != 1 || p.params[0].kind != sourceStatic || p.params[0].arg != "prod" {
		t.Errorf("prepared parameters = %+v, want a static prod", p.params)
	}
}

func BenchmarkMockTwoWaySmallTemplate(b *testing.B) {
	iv := NewInvoker(Options{})
	p, err := iv.Prepare(pongIntegration(), map[string]string{"environment": "dev"})
	if err != nil {
		b.Fatal(err)
	}
	req := testRequest(EventMessage)
	req.Body = []byte(`{"action":"ping","seq":42}`)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := iv.Call(ctx, p, req)
		if err != nil || !resp.HasBody {
			b.Fatal(err)
		}
	}
}
