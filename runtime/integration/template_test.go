package integration

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wsgwctl/wsgwctl/config/model"
)

// renderText compiles text for scope (stage variables per request) and
// renders it for req, with reply in response templates.
func renderText(t *testing.T, text string, scope tplScope, req *Request, reply *replyEnv) string {
	t.Helper()
	ct, err := compileTemplate(mustTemplate(t, text), scope, nil, false)
	if err != nil {
		t.Fatalf("compileTemplate(%q): %v", text, err)
	}
	env := newRenderEnv(req)
	if reply != nil {
		env.reply, env.hasReply = *reply, true
	}
	return string(ct.render(nil, &env))
}

func TestRenderTemplateVariables(t *testing.T) {
	msg := testRequest(EventMessage)
	msg.StageVariables = map[string]string{"env": "dev", "pad": "  x y  "}
	msg.Authorizer = testAuthorizer
	msg.Body = []byte(`{ "s": "héllo \"q\" \u00e9\ud83d\ude00 <b>", "n": -1.50e3, "t": true, "f": false, "z": null,
		"o": { "a" : [ 1 , 2 ], "b": "x y" }, "arr": ["a", {"k": "v"}], "odd key": "ok", "a\u0062": "escaped key",
		"dup": 1, "dup": 2, "items": [10, 20] }`)
	notJSON := testRequest(EventMessage)
	notJSON.Body = []byte(`hello "world"`)
	conn := testRequest(EventConnect)
	reply := &replyEnv{
		status:  404,
		header:  http.Header{"Content-Type": {"application/json"}, "X-Multi": {"a", "b"}},
		body:    jsonDoc{raw: []byte(`{"message": "  not found  ", "data": {"id": 7}}`)},
		latency: 1500 * time.Microsecond,
	}
	textReply := &replyEnv{status: 200, body: jsonDoc{raw: []byte("plain text")}}

	tests := []struct {
		name  string
		text  string
		scope tplScope
		req   *Request
		reply *replyEnv
		want  string
	}{
		{name: "literal only", text: "plain $${x} %%{y}", req: msg, want: "plain ${x} %{y}"},
		{name: "context", text: "${context.connectionId} ${context.routeKey} ${context.stage} ${context.apiId} ${context.eventType} ${context.messageId}", req: msg,
			want: "Q1w2E3r4T5y6U7i= sendmessage dev a1b2c3d4e5 MESSAGE M1w2E3r4T5y6U7i="},
		{name: "formatted context", text: "${context.connectedAt} ${context.requestTimeEpoch} ${context.requestTime}", req: msg,
			want: "1710018904123 1710018965456 09/Mar/2024:21:16:05 +0000"},
		{name: "authorizer context", text: "${context.authorizer.principalId}/${context.authorizer.score}/${context.authorizer.admin}/${context.authorizer.integrationLatency}", req: msg,
			want: "user|1/12.5/true/42"},
		{name: "context missing for the event", text: "[${context.messageId}][${jsonencode(context.messageId)}][${upper(context.disconnectReason)}]", req: conn,
			want: "[][null][]"},
		{name: "stage variables", text: "${stageVariables.env}|${trimspace(stageVariables.pad)}|${stageVariables.nope}", req: msg, want: "dev|x y|"},
		{name: "body string is unquoted and unescaped", text: "${request.body.s}", req: msg, want: "héllo \"q\" é😀 <b>"},
		{name: "body scalars as written", text: "${request.body.n} ${request.body.t} ${request.body.f} [${request.body.z}]", req: msg, want: "-1.50e3 true false []"},
		{name: "body object and array as compact JSON", text: "${request.body.o} ${request.body.arr}", req: msg,
			want: `{"a":[1,2],"b":"x y"} ["a",{"k":"v"}]`},
		{name: "body paths", text: `${request.body.o.a[1]} ${request.body.arr[1].k} ${request.body["odd key"]} ${request.body.items[0]}`, req: msg, want: "2 v ok 10"},
		{name: "escaped member name", text: "${request.body.ab}", req: msg, want: "escaped key"},
		{name: "first of duplicate members", text: "${request.body.dup}", req: msg, want: "1"},
		{name: "missing paths", text: "[${request.body.nope}${request.body.items[2]}${request.body.s.x}${request.body.o[0]}${request.body.items.x}]", req: msg, want: "[]"},
		{name: "non-JSON body is null", text: "[${request.body}${request.body.a}] ${jsonencode(request.body)} ${jsonencode(request.body.a)}", req: notJSON, want: "[] null null"},
		{name: "raw body", text: "${request.raw_body}|${jsonencode(request.raw_body)}", req: notJSON, want: `hello "world"|"hello \"world\""`},
		{name: "jsonencode body", text: "${jsonencode(request.body.o)} ${jsonencode(request.body.s)} ${jsonencode(request.body.n)} ${jsonencode(request.body.z)}", req: msg,
			want: `{"a":[1,2],"b":"x y"} "héllo \"q\" \u00e9\ud83d\ude00 <b>" -1.50e3 null`},
		{name: "jsonencode strings", text: "${jsonencode(context.stage)} ${jsonencode(stageVariables.env)}", req: msg, want: `"dev" "dev"`},
		{name: "upper and lower", text: "${upper(request.body.s)}|${lower(context.eventType)}|${upper(request.body.n)}", req: msg,
			want: "HÉLLO \"Q\" É😀 <B>|message|-1.50E3"},
		{name: "base64encode", text: "${base64encode(request.body.o.b)} ${base64encode(context.stage)}", req: msg, want: "eCB5 ZGV2"},
		{name: "urlencode", text: "${urlencode(request.body.o.b)} ${urlencode(request.body.s)}", req: msg,
			want: "x+y h%C3%A9llo+%22q%22+%C3%A9%F0%9F%98%80+%3Cb%3E"},
		{name: "trimspace", text: "[${trimspace(integration.response.body.message)}]", scope: scopeResponseTemplate, req: msg, reply: reply, want: "[not found]"},
		{name: "status code", text: "${integration.response.statuscode} ${jsonencode(integration.response.statuscode)} ${base64encode(integration.response.statuscode)}",
			scope: scopeResponseTemplate, req: msg, reply: reply, want: "404 404 NDA0"},
		{name: "headers are case-insensitive", text: "${integration.response.header.content-type}|${integration.response.header.CONTENT-TYPE}|${integration.response.header.x-multi}|[${integration.response.header.absent}]",
			scope: scopeResponseTemplate, req: msg, reply: reply, want: "application/json|application/json|a, b|[]"},
		{name: "reply body", text: "${integration.response.body.data.id} ${jsonencode(integration.response.body.data)} ${jsonencode(integration.response.body.nope)}",
			scope: scopeResponseTemplate, req: msg, reply: reply, want: `7 {"id":7} null`},
		{name: "reply raw body", text: "${integration.response.raw_body}", scope: scopeResponseTemplate, req: msg, reply: reply,
			want: `{"message": "  not found  ", "data": {"id": 7}}`},
		{name: "non-JSON reply body is null", text: "[${integration.response.body}] ${jsonencode(integration.response.body)} ${jsonencode(integration.response.raw_body)}",
			scope: scopeResponseTemplate, req: msg, reply: textReply, want: `[] null "plain text"`},
		{name: "request in a response template", text: "${request.body.o.b} ${context.connectionId}", scope: scopeResponseTemplate, req: msg, reply: reply,
			want: "x y Q1w2E3r4T5y6U7i="},
		{name: "integration context in a response template", text: "${context.integration.status} ${context.integrationLatency} ${context.integration.latency}",
			scope: scopeResponseTemplate, req: msg, reply: reply, want: "404 1 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := renderText(t, tt.text, tt.scope, tt.req, tt.reply); got != tt.want {
				t.Errorf("render(%s)\n got %q\nwant %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestCompileTemplateErrors(t *testing.T) {
	tests := []struct {
		name  string
		ref   model.Ref
		scope tplScope
		want  string
	}{
		{"integration in a uri", model.Ref{Root: "integration", Path: []model.PathStep{{Name: "response"}, {Name: "statuscode"}}}, scopeURI, "not available in an integration uri"},
		{"integration in a request template", model.Ref{Root: "integration", Path: []model.PathStep{{Name: "response"}, {Name: "body"}}}, scopeRequestTemplate, "not available in a request template"},
		{"unknown root", model.Ref{Root: "var", Path: []model.PathStep{{Name: "x"}}}, scopeResponseTemplate, `the root "var" is not available`},
		{"bare context", model.Ref{Root: "context"}, scopeURI, "context must be followed"},
		{"indexed stage variable", model.Ref{Root: "stageVariables", Path: []model.PathStep{{IsIndex: true}}}, scopeURI, "one variable name"},
		{"request attribute", model.Ref{Root: "request", Path: []model.PathStep{{Name: "header"}}}, scopeURI, "body or raw_body"},
		{"raw body path", model.Ref{Root: "request", Path: []model.PathStep{{Name: "raw_body"}, {Name: "x"}}}, scopeURI, "no attributes"},
		{"statuscode path", model.Ref{Root: "integration", Path: []model.PathStep{{Name: "response"}, {Name: "statuscode"}, {Name: "x"}}}, scopeResponseTemplate, "no attributes"},
		{"header without name", model.Ref{Root: "integration", Path: []model.PathStep{{Name: "response"}, {Name: "header"}}}, scopeResponseTemplate, "one header name"},
		{"unknown function", model.Ref{Root: "request", Path: []model.PathStep{{Name: "raw_body"}}, Func: "reverse"}, scopeURI, `unknown function "reverse"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl := model.Template{Parts: []model.TemplatePart{{Literal: "x"}, {Ref: &tt.ref}}}
			_, err := compileTemplate(tpl, tt.scope, nil, false)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("compileTemplate error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestFoldStageVariables(t *testing.T) {
	tpl := mustTemplate(t, "a/${stageVariables.x}/${upper(stageVariables.x)}/${jsonencode(stageVariables.nope)}/${context.stage}")
	ct, err := compileTemplate(tpl, scopeRequestTemplate, map[string]string{"x": "v"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(ct.parts) != 2 || ct.parts[0].kind != partLiteral || ct.parts[0].name != "a/v/V/null/" {
		t.Fatalf("folded parts = %+v, want one literal a/v/V/null/ and the context reference", ct.parts)
	}
	static, err := compileTemplate(mustTemplate(t, "http://h/${stageVariables.x}"), scopeURI, map[string]string{"x": "v"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if !static.static || static.text != "http://h/v" {
		t.Errorf("folded uri = %+v, want the static text http://h/v", static)
	}
}

func TestContextOutcomeVariables(t *testing.T) {
	req := testRequest(EventMessage)
	for _, name := range []string{"status", "integrationLatency", "integration.status", "integration.error", "error.message", "error.messageString",
		"error.responseType", "error.validationErrorString", "identity.apiKey", "identity.apiKeyId"} {
		if v, ok := req.ContextValue(name); ok {
			t.Errorf("ContextValue(%q) = %q before the gateway set it, want no value", name, v)
		}
	}
	req.Status = 200
	req.IntegrationStatus = 502
	req.IntegrationLatency = 12 * time.Millisecond
	req.IntegrationError = "boom"
	req.ErrorMessage = `Internal "server" error`
	req.ErrorResponseType = ResponseTypeIntegrationFailure
	req.ValidationError = "bad"
	req.APIKey, req.APIKeyID = "k", "key1"
	want := map[string]string{
		"status": "200", "integrationLatency": "12", "integration.latency": "12", "integration.status": "502",
		"integration.integrationStatus": "502", "integration.error": "boom", "error.message": `Internal "server" error`,
		"error.messageString": `"Internal \"server\" error"`, "error.responseType": "INTEGRATION_FAILURE",
		"error.validationErrorString": "bad", "identity.apiKey": "k", "identity.apiKeyId": "key1",
	}
	for name, w := range want {
		if v, ok := req.ContextValue(name); !ok || v != w {
			t.Errorf("ContextValue(%q) = %q, %v; want %q", name, v, ok, w)
		}
		if b, ok := req.AppendContextValue([]byte("x"), name); !ok || string(b) != "x"+w {
			t.Errorf("AppendContextValue(%q) = %q, %v; want x%s", name, b, ok, w)
		}
	}
}

func TestRenderDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector (sync.Pool drops items)")
	}
	req := testRequest(EventMessage)
	req.StageVariables = map[string]string{"env": "dev"}
	ct, err := compileTemplate(mustTemplate(t, `{"c": "${context.connectionId}", "t": ${context.requestTimeEpoch}, "e": "${upper(stageVariables.env)}", "room": "${request.body.data.room}", "body": ${jsonencode(request.body)}}`),
		scopeRequestTemplate, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 1024)
	allocs := testing.AllocsPerRun(100, func() {
		env := newRenderEnv(req)
		buf = ct.render(buf[:0], &env)
	})
	if allocs != 0 {
		t.Errorf("render allocates %.0f times per call, want 0", allocs)
	}
}

func BenchmarkRenderTemplate(b *testing.B) {
	req := testRequest(EventMessage)
	req.StageVariables = map[string]string{"env": "dev"}
	tpl, err := model.ParseTemplate(`{"connection": "${context.connectionId}", "at": ${context.requestTimeEpoch}, "env": "${upper(stageVariables.env)}", "room": "${request.body.data.room}", "tags": ${jsonencode(request.body.data.tags)}, "body": ${jsonencode(request.body)}}`)
	if err != nil {
		b.Fatal(err)
	}
	ct, err := compileTemplate(tpl, scopeRequestTemplate, nil, false)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		env := newRenderEnv(req)
		buf := getBuffer()
		*buf = ct.render(*buf, &env)
		putBuffer(buf)
	}
}
