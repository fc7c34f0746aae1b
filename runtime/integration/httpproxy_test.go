package integration

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHTTPProxyRequest(t *testing.T) {
	tests := []struct {
		name      string
		event     string
		method    string
		wantQuery string
		wantHost  string
		// header values wanted; nil means absent
		want map[string][]string
		body string
	}{
		{
			name: "connect", event: EventConnect,
			wantQuery: "fixed=1&room=lobby&tag=a&tag=b&name=J%C3%BCrgen+X&flag",
			wantHost:  "localhost:8080",
			want: map[string][]string{
				"Sec-Websocket-Protocol":   {"chat, superchat"},
				"User-Agent":               {"test-agent/1.0"},
				"X-Api-Key":                {"key-123"},
				"X-Multi":                  {"one", "two"},
				"X-Forwarded-For":          {"127.0.0.1"},
				"X-Forwarded-Port":         {"8080"},
				"X-Forwarded-Proto":        {"http"},
				"Upgrade":                  nil,
				"Connection":               nil,
				"X-Hop":                    nil,
				"Sec-Websocket-Key":        nil,
				"Sec-Websocket-Version":    nil,
				"Sec-Websocket-Extensions": nil,
				"X-Restapi":                nil,
			},
		},
		{
			name: "message", event: EventMessage, method: "PUT",
			wantQuery: "fixed=1",
			body:      string(testRequest(EventMessage).Body),
			want: map[string][]string{
				"X-Api-Key":              nil,
				"Sec-Websocket-Protocol": nil,
				"X-Forwarded-For":        nil,
				"X-Multi":                nil,
			},
		},
		{
			name: "disconnect", event: EventDisconnect,
			wantQuery: "fixed=1",
			wantHost:  "localhost:8080",
			want: map[string][]string{
				"X-Api-Key":              {""},
				"X-Forwarded-For":        {""},
				"X-Restapi":              {""},
				"User-Agent":             nil,
				"Sec-Websocket-Protocol": nil,
				"X-Multi":                nil,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := newBackend(t, reply{})
			in := httpIntegration(be.URL + "/path?fixed=1")
			in.Method = tt.method
			if _, err := invoke(t, newTestInvoker(t), in, testRequest(tt.event)); err != nil {
				t.Fatalf("Invoke: %v", err)
			}
			got := be.last(t)
			wantMethod := tt.method
			if wantMethod == "" {
				wantMethod = "POST"
			}
			if got.Method != wantMethod || got.Path != "/path" || got.Query != tt.wantQuery {
				t.Errorf("request = %s %s?%s, want %s /path?%s", got.Method, got.Path, got.Query, wantMethod, tt.wantQuery)
			}
			wantHost := tt.wantHost
			if wantHost == "" {
				wantHost = strings.TrimPrefix(be.URL, "http://")
			}
			if got.Host != wantHost {
				t.Errorf("Host = %q, want %q", got.Host, wantHost)
			}
			for name, want := range tt.want {
				if diff := cmp.Diff(want, got.Header[name]); diff != "" {
					t.Errorf("header %s (-want +got):\n%s", name, diff)
				}
			}
			if string(got.Body) != tt.body {
				t.Errorf("body = %q, want %q", got.Body, tt.body)
			}
		})
	}
}

func TestHTTPProxyResponse(t *testing.T) {
	big := strings.Repeat("x", MaxReplyBytes+1)
	tests := []struct {
		name     string
		event    string
		reply    reply
		want     *Response
		wantKind Kind
	}{
		{name: "ok", event: EventMessage, reply: reply{body: "pong", header: map[string]string{"X-Reply": "1"}},
			want: &Response{StatusCode: 200, Body: []byte("pong"), HasBody: true}},
		{name: "404 is a reply", event: EventMessage, reply: reply{status: 404, body: "nope"},
			want: &Response{StatusCode: 404, Body: []byte("nope"), HasBody: true}},
		{name: "500 is a reply", event: EventMessage, reply: reply{status: 500},
			want: &Response{StatusCode: 500, HasBody: true}},
		{name: "connect redirect", event: EventConnect, reply: reply{status: 302, header: map[string]string{"Location": "/elsewhere"}},
			want: &Response{StatusCode: 302, HasBody: true}},
		{name: "subprotocol", event: EventConnect, reply: reply{header: map[string]string{"Sec-WebSocket-Protocol": "chat"}},
			want: &Response{StatusCode: 200, HasBody: true}},
		{name: "largest message reply", event: EventMessage, reply: reply{body: big[:MaxReplyBytes]},
			want: &Response{StatusCode: 200, Body: []byte(big[:MaxReplyBytes]), HasBody: true}},
		{name: "message reply too large", event: EventMessage, reply: reply{body: big}, wantKind: KindInvalidReply},
		{name: "connect reply too large", event: EventConnect, reply: reply{status: 403, body: big},
			want: &Response{StatusCode: 403}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := newBackend(t, tt.reply)
			resp, err := invoke(t, newTestInvoker(t), httpIntegration(be.URL), testRequest(tt.event))
			if tt.wantKind != 0 {
				var ie *Error
				if !errors.As(err, &ie) || ie.Kind != tt.wantKind {
					t.Fatalf("Invoke = %v, want kind %v", err, tt.wantKind)
				}
				return
			}
			if err != nil {
				t.Fatalf("Invoke: %v", err)
			}
			if resp.StatusCode != tt.want.StatusCode || resp.HasBody != tt.want.HasBody || string(resp.Body) != string(tt.want.Body) || resp.Binary {
				t.Errorf("response = %d %q HasBody=%v Binary=%v, want %d %q HasBody=%v",
					resp.StatusCode, resp.Body, resp.HasBody, resp.Binary, tt.want.StatusCode, tt.want.Body, tt.want.HasBody)
			}
			for k, v := range tt.reply.header {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestRequestParameters(t *testing.T) {
	params := map[string]string{
		"integration.request.header.X-Ctx":           "context.connectionId",
		"integration.request.header.X-Event":         "context.eventType",
		"integration.request.header.X-Auth":          "context.authorizer.userId",
		"integration.request.header.X-Source":        "context.identity.sourceIp",
		"integration.request.header.X-Stage":         "stageVariables.room_service",
		"integration.request.header.X-Client-Key":    "route.request.header.X-API-KEY",
		"integration.request.header.X-Multi-Last":    "route.request.header.x-multi",
		"integration.request.header.X-Room":          "route.request.body.data.room",
		"integration.request.header.X-Tags":          "route.request.body.data['tags']",
		"integration.request.header.X-Static":        "'fixed value'",
		"integration.request.header.X-Api-Key":       "'mapped-key'",
		"integration.request.header.X-Missing":       "stageVariables.nope",
		"integration.request.header.X-Missing-Hdr":   "route.request.header.nope",
		"integration.request.header.X-Missing-Body":  "route.request.body.nope",
		"integration.request.header.X-Missing-Ctx":   "context.disconnectReason",
		"integration.request.querystring.tag":        "route.request.querystring.tag",
		"integration.request.querystring.who":        "route.request.querystring.name",
		"integration.request.querystring.fixed":      "'re placed'",
		"integration.request.querystring.missing":    "route.request.querystring.nope",
		"integration.request.querystring.room":       "route.request.body.data.room",
		"integration.request.querystring.stage_name": "context.stage",
	}
	tests := []struct {
		name      string
		typ       string
		event     string
		wantQuery url.Values
		want      map[string][]string
	}{
		{
			name: "AWS_PROXY message", typ: "AWS_PROXY", event: EventMessage,
			wantQuery: url.Values{"fixed": {"re placed"}, "keep": {"1"}, "tag": {"b"}, "who": {"Jürgen X"}, "room": {"r1"}, "stage_name": {"dev"}},
			want: map[string][]string{
				"X-Ctx": {"Q1w2E3r4T5y6U7i="}, "X-Event": {"MESSAGE"}, "X-Auth": {"u1"}, "X-Source": {"127.0.0.1"},
				"X-Stage": {"http://rooms:80/x"}, "X-Client-Key": {"key-123"}, "X-Multi-Last": {"two"},
				"X-Room": {"r1"}, "X-Tags": {"[x, y]"}, "X-Static": {"fixed value"}, "X-Api-Key": {"mapped-key"},
				"X-Missing": nil, "X-Missing-Hdr": nil, "X-Missing-Body": nil, "X-Missing-Ctx": nil,
			},
		},
		{
			name: "HTTP_PROXY connect", typ: "HTTP_PROXY", event: EventConnect,
			wantQuery: url.Values{"fixed": {"re placed"}, "keep": {"1"}, "tag": {"b"}, "who": {"Jürgen X"}, "stage_name": {"dev"},
				"room": {"lobby"}, "name": {"Jürgen X"}, "flag": {""}},
			want: map[string][]string{
				"X-Ctx": {"Q1w2E3r4T5y6U7i="}, "X-Event": {"CONNECT"}, "X-Client-Key": {"key-123"},
				"X-Api-Key": {"mapped-key"}, "X-Room": nil, "X-Tags": nil, "X-Static": {"fixed value"},
				"X-Multi": {"one", "two"},
			},
		},
		{
			name: "HTTP_PROXY disconnect", typ: "HTTP_PROXY", event: EventDisconnect,
			wantQuery: url.Values{"fixed": {"re placed"}, "keep": {"1"}, "tag": {"b"}, "who": {"Jürgen X"}, "stage_name": {"dev"}},
			want: map[string][]string{
				"X-Event": {"DISCONNECT"}, "X-Missing-Ctx": {"Going away"}, "X-Api-Key": {"mapped-key"}, "X-Restapi": {""},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := newBackend(t, reply{body: `{}`})
			in := httpIntegration(be.URL + "/p?fixed=1&keep=1")
			in.Type = tt.typ
			in.RequestParameters = params
			req := testRequest(tt.event)
			req.StageVariables = map[string]string{"room_service": "http://rooms:80/x"}
			req.Authorizer = testAuthorizer
			if _, err := invoke(t, newTestInvoker(t), in, req); err != nil {
				t.Fatalf("Invoke: %v", err)
			}
			got := be.last(t)
			q, err := url.ParseQuery(got.Query)
			if err != nil {
				t.Fatalf("query %q: %v", got.Query, err)
			}
			if diff := cmp.Diff(tt.wantQuery, q); diff != "" {
				t.Errorf("query %q (-want +got):\n%s", got.Query, diff)
			}
			for name, want := range tt.want {
				if diff := cmp.Diff(want, got.Header[name]); diff != "" {
					t.Errorf("header %s (-want +got):\n%s", name, diff)
				}
			}
		})
	}
}

func TestRequestParameterHost(t *testing.T) {
	be := newBackend(t, reply{})
	in := httpIntegration(be.URL)
	in.RequestParameters = map[string]string{"integration.request.header.host": "'backend.internal'"}
	if _, err := invoke(t, newTestInvoker(t), in, testRequest(EventConnect)); err != nil {
		t.Fatal(err)
	}
	if got := be.last(t).Host; got != "backend.internal" {
		t.Errorf("Host = %q, want the mapped backend.internal", got)
	}
}

func TestDynamicURI(t *testing.T) {
	be := newBackend(t, reply{})
	in := httpIntegration("")
	in.URI = mustTemplate(t, "${stageVariables.base}/rooms/${urlencode(request.body.data.room)}?c=${context.connectionId}")
	req := testRequest(EventMessage)
	req.StageVariables = map[string]string{"base": be.URL}
	if _, err := invoke(t, newTestInvoker(t), in, req); err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	got := be.last(t)
	if got.Path != "/rooms/r1" || got.Query != "c=Q1w2E3r4T5y6U7i=" {
		t.Errorf("request = %s?%s, want /rooms/r1?c=Q1w2E3r4T5y6U7i=", got.Path, got.Query)
	}
	if got.Header.Get("X-Forwarded-For") != "" {
		t.Error("a MESSAGE request carries X-Forwarded-For")
	}
	if _, ok := got.Header[http.CanonicalHeaderKey("x-api-key")]; ok {
		t.Error("a MESSAGE request carries handshake headers")
	}
}
