package integration

import (
	"strings"
	"testing"

	"github.com/wsgwctl/wsgwctl/config/model"
)

func TestRenderURI(t *testing.T) {
	msg := testRequest(EventMessage)
	msg.StageVariables = map[string]string{"host": "backend:9000", "Path": " /v1 "}
	msg.Authorizer = testAuthorizer
	notJSON := testRequest(EventMessage)
	notJSON.Body = []byte("hello world")
	tests := []struct {
		name    string
		tpl     string
		req     *Request
		want    string
		wantErr string
	}{
		{name: "static", tpl: "https://example.com/a?b=c", req: msg, want: "https://example.com/a?b=c"},
		{name: "stage variable", tpl: "http://${stageVariables.host}/x", req: msg, want: "http://backend:9000/x"},
		{name: "context values", tpl: "http://h/${context.connectionId}/${context.routeKey}/${context.messageId}/${context.stage}/${context.apiId}", req: msg,
			want: "http://h/Q1w2E3r4T5y6U7i=/sendmessage/M1w2E3r4T5y6U7i=/dev/a1b2c3d4e5"},
		{name: "nested context", tpl: "http://h/?ip=${context.identity.sourceIp}&p=${urlencode(context.authorizer.principalId)}&s=${context.authorizer.score}", req: msg,
			want: "http://h/?ip=127.0.0.1&p=user%7C1&s=12.5"},
		{name: "body path", tpl: "http://h/rooms/${request.body.data.room}/${request.body.data.tags[1]}/${request.body.data.n}", req: msg,
			want: "http://h/rooms/r1/y/3"},
		{name: "quoted body name", tpl: `http://h/${request.body["action"]}`, req: msg, want: "http://h/sendmessage"},
		{name: "body array renders as compact JSON", tpl: "http://h/?d=${urlencode(request.body.data.tags)}", req: msg, want: "http://h/?d=%5B%22x%22%2C%22y%22%5D"},
		{name: "jsonencode body", tpl: "http://h/?d=${jsonencode(request.body.data)}", req: msg,
			want: `http://h/?d={"room":"r1","n":3,"tags":["x","y"]}`},
		{name: "jsonencode string", tpl: "http://h/?d=${jsonencode(context.stage)}", req: msg, want: `http://h/?d="dev"`},
		{name: "upper lower trimspace", tpl: "http://h${trimspace(stageVariables.Path)}/${upper(context.stage)}/${lower(context.eventType)}", req: msg,
			want: "http://h/v1/DEV/message"},
		{name: "base64encode", tpl: "http://h/${base64encode(request.body.data.room)}", req: msg, want: "http://h/cjE="},
		{name: "raw body", tpl: "http://h/?m=${urlencode(request.raw_body)}", req: notJSON, want: "http://h/?m=hello+world"},
		{name: "missing values render empty", tpl: "http://h/${stageVariables.nope}${request.body.nope}${context.disconnectReason}${context.authorizer.nope}${upper(request.body.nope)}x", req: msg,
			want: "http://h/x"},
		{name: "missing values jsonencode as null", tpl: "http://h/${jsonencode(stageVariables.nope)}${jsonencode(request.body.nope)}${jsonencode(context.disconnectReason)}", req: msg,
			want: "http://h/nullnullnull"},
		{name: "body of a non-JSON message is null", tpl: "http://h/${request.body.a}${request.body}x${jsonencode(request.body)}", req: notJSON, want: "http://h/xnull"},
		{name: "request time", tpl: "http://h/${urlencode(context.requestTime)}/${context.requestTimeEpoch}", req: msg,
			want: "http://h/09%2FMar%2F2024%3A21%3A16%3A05+%2B0000/1710018965456"},
		{name: "relative", tpl: "/only/a/path", req: msg, wantErr: "not an absolute http or https URL"},
		{name: "no host", tpl: "http:///x", req: msg, wantErr: "not an absolute http or https URL"},
		{name: "other scheme", tpl: "ws://h/x", req: msg, wantErr: "not an absolute http or https URL"},
		{name: "empty", tpl: "${stageVariables.nope}", req: msg, wantErr: "not an absolute"},
		{name: "bad URL", tpl: "http://h/%zz", req: msg, wantErr: "not a valid URL"},
		{name: "integration root", tpl: "http://h/${integration.response.statuscode}", req: msg, wantErr: "not available in an integration uri"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := model.ParseTemplate(tt.tpl)
			if err != nil {
				t.Fatalf("ParseTemplate: %v", err)
			}
			got, err := RenderURI(tpl, tt.req)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("RenderURI = %q, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("RenderURI: %v", err)
			}
			if got != tt.want {
				t.Errorf("RenderURI = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestContextValue(t *testing.T) {
	msg := testRequest(EventMessage)
	msg.Authorizer = testAuthorizer
	disc := testRequest(EventDisconnect)
	conn := testRequest(EventConnect)
	tests := []struct {
		req    *Request
		name   string
		want   string
		wantOK bool
	}{
		{msg, "connectionId", "Q1w2E3r4T5y6U7i=", true},
		{msg, "connectedAt", "1710018904123", true},
		{msg, "domainName", "localhost:8080", true},
		{msg, "eventType", "MESSAGE", true},
		{msg, "messageId", "M1w2E3r4T5y6U7i=", true},
		{conn, "messageId", "", false},
		{msg, "routeKey", "sendmessage", true},
		{msg, "requestId", "R1w2E3r4T5y6U7i=", true},
		{msg, "extendedRequestId", "X1w2E3r4T5y6U7i=", true},
		{msg, "apiId", "a1b2c3d4e5", true},
		{msg, "stage", "dev", true},
		{msg, "requestTime", "09/Mar/2024:21:16:05 +0000", true},
		{msg, "requestTimeEpoch", "1710018965456", true},
		{msg, "messageDirection", "IN", true},
		{msg, "identity.sourceIp", "127.0.0.1", true},
		{msg, "identity.userAgent", "test-agent/1.0", true},
		{msg, "authorizer.principalId", "user|1", true},
		{msg, "authorizer.integrationLatency", "42", true},
		{msg, "authorizer.userId", "u1", true},
		{msg, "authorizer.score", "12.5", true},
		{msg, "authorizer.count", "3", true},
		{msg, "authorizer.admin", "true", true},
		{msg, "authorizer.big", "1e+21", true},
		{msg, "authorizer.absent", "", false},
		{conn, "authorizer.principalId", "", false},
		{disc, "disconnectStatusCode", "1001", true},
		{disc, "disconnectReason", "Going away", true},
		{msg, "disconnectStatusCode", "", false},
		{msg, "disconnectReason", "", false},
		{msg, "nonsense", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.req.EventType+"/"+tt.name, func(t *testing.T) {
			got, ok := tt.req.ContextValue(tt.name)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("ContextValue(%q) = %q, %v; want %q, %v", tt.name, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestCompiledOncePerIntegration(t *testing.T) {
	iv := NewInvoker(Options{})
	in := awsIntegration("http://127.0.0.1:1/x")
	a, b := iv.preparedFor(in), iv.preparedFor(in)
	if a != b {
		t.Error("preparedFor prepared the same integration twice")
	}
	if c := iv.preparedFor(awsIntegration("http://127.0.0.1:1/x")); c == a {
		t.Error("preparedFor shared a preparation between two integrations")
	}
}
