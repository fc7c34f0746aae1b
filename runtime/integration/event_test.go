package integration

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"
)

func ptr[T any](v T) *T { return &v }

// commonContext is the requestContext every testRequest carries.
func commonContext(eventType, routeKey string) events.APIGatewayWebsocketProxyRequestContext {
	return events.APIGatewayWebsocketProxyRequestContext{
		RouteKey:          routeKey,
		EventType:         eventType,
		ExtendedRequestID: "X1w2E3r4T5y6U7i=",
		RequestTime:       "09/Mar/2024:21:16:05 +0000",
		MessageDirection:  "IN",
		Stage:             "dev",
		ConnectedAt:       time.Date(2024, 3, 9, 21, 15, 4, 123_000_000, time.UTC).UnixMilli(),
		RequestTimeEpoch:  time.Date(2024, 3, 9, 21, 16, 5, 456_000_000, time.UTC).UnixMilli(),
		Identity:          events.APIGatewayRequestIdentity{SourceIP: "127.0.0.1", UserAgent: "test-agent/1.0"},
		RequestID:         "R1w2E3r4T5y6U7i=",
		DomainName:        "localhost:8080",
		ConnectionID:      "Q1w2E3r4T5y6U7i=",
		APIID:             "a1b2c3d4e5",
	}
}

var connectHeaders = map[string]string{
	"Host": "localhost:8080", "Upgrade": "websocket", "Connection": "Upgrade, X-Hop", "X-Hop": "hop",
	"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13",
	"Sec-WebSocket-Extensions": "permessage-deflate", "Sec-WebSocket-Protocol": "chat, superchat",
	"User-Agent": "test-agent/1.0", "x-api-key": "key-123", "X-Multi": "two",
	"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Port": "8080", "X-Forwarded-Proto": "http",
}

func multi(single map[string]string, overrides map[string][]string) map[string][]string {
	m := make(map[string][]string, len(single))
	for k, v := range single {
		m[k] = []string{v}
	}
	for k, v := range overrides {
		m[k] = v
	}
	return m
}

var testAuthorizer = &Authorizer{
	PrincipalID:        "user|1",
	IntegrationLatency: 42*time.Millisecond + 900*time.Microsecond,
	Context:            map[string]any{"userId": "u1", "score": 12.5, "admin": true, "count": 3.0, "big": 1e21},
}

func TestAWSProxyEvent(t *testing.T) {
	disconnectHeaders := map[string]string{"Host": "localhost:8080", "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""}
	tests := []struct {
		name   string
		req    func() *Request
		want   func() events.APIGatewayWebsocketProxyRequest
		raw    map[string]string // raw JSON of members the struct cannot tell apart from absent
		absent []string          // members that must not be present
	}{
		{
			name: "connect",
			req:  func() *Request { return testRequest(EventConnect) },
			want: func() events.APIGatewayWebsocketProxyRequest {
				return events.APIGatewayWebsocketProxyRequest{
					Headers:                         connectHeaders,
					MultiValueHeaders:               multi(connectHeaders, map[string][]string{"X-Multi": {"one", "two"}}),
					QueryStringParameters:           map[string]string{"room": "lobby", "tag": "b", "name": "Jürgen X", "flag": ""},
					MultiValueQueryStringParameters: map[string][]string{"room": {"lobby"}, "tag": {"a", "b"}, "name": {"Jürgen X"}, "flag": {""}},
					RequestContext:                  commonContext("CONNECT", "$connect"),
				}
			},
			raw:    map[string]string{"isBase64Encoded": "false"},
			absent: []string{"body", "stageVariables", "requestContext.messageId", "requestContext.authorizer", "requestContext.disconnectStatusCode", "requestContext.disconnectReason"},
		},
		{
			name: "connect without query, with authorizer and stage variables",
			req: func() *Request {
				r := testRequest(EventConnect)
				r.RawQuery = ""
				r.Headers = []Header{{Name: "host", Value: "localhost:8080"}, {Name: "X-Forwarded-For", Value: "10.0.0.9"}}
				r.Authorizer = testAuthorizer
				r.StageVariables = map[string]string{"room_service": "http://rooms:80/x", "b": "2"}
				return r
			},
			want: func() events.APIGatewayWebsocketProxyRequest {
				h := map[string]string{"host": "localhost:8080", "X-Forwarded-For": "127.0.0.1", "X-Forwarded-Port": "8080", "X-Forwarded-Proto": "http"}
				rc := commonContext("CONNECT", "$connect")
				rc.Authorizer = map[string]any{"principalId": "user|1", "integrationLatency": 42.0, "userId": "u1", "score": 12.5, "admin": true, "count": 3.0, "big": 1e21}
				return events.APIGatewayWebsocketProxyRequest{
					Headers:           h,
					MultiValueHeaders: multi(h, nil),
					StageVariables:    map[string]string{"room_service": "http://rooms:80/x", "b": "2"},
					RequestContext:    rc,
				}
			},
			raw: map[string]string{
				"requestContext.authorizer.integrationLatency": "42",
				"requestContext.authorizer.count":              "3",
				"requestContext.authorizer.admin":              "true",
				"requestContext.authorizer.big":                "1e+21",
			},
			absent: []string{"queryStringParameters", "multiValueQueryStringParameters", "body"},
		},
		{
			name: "message",
			req:  func() *Request { return testRequest(EventMessage) },
			want: func() events.APIGatewayWebsocketProxyRequest {
				rc := commonContext("MESSAGE", "sendmessage")
				rc.MessageID = "M1w2E3r4T5y6U7i="
				return events.APIGatewayWebsocketProxyRequest{
					RequestContext: rc,
					Body:           `{"action":"sendmessage","data":{"room":"r1","n":3,"tags":["x","y"]},"text":"héllo \"q\" <b>"}`,
				}
			},
			raw:    map[string]string{"isBase64Encoded": "false"},
			absent: []string{"headers", "multiValueHeaders", "queryStringParameters", "stageVariables", "requestContext.disconnectStatusCode", "requestContext.authorizer"},
		},
		{
			name: "message with control characters, invalid UTF-8, authorizer and stage variables",
			req: func() *Request {
				r := testRequest(EventMessage)
				r.Body = []byte("a\x00b\tc\u2028d\xffe\\")
				r.Authorizer = &Authorizer{PrincipalID: "p", Context: map[string]any{}}
				r.StageVariables = map[string]string{"v": "1"}
				return r
			},
			want: func() events.APIGatewayWebsocketProxyRequest {
				rc := commonContext("MESSAGE", "sendmessage")
				rc.MessageID = "M1w2E3r4T5y6U7i="
				rc.Authorizer = map[string]any{"principalId": "p", "integrationLatency": 0.0}
				return events.APIGatewayWebsocketProxyRequest{
					RequestContext: rc,
					StageVariables: map[string]string{"v": "1"},
					Body:           "a\x00b\tc\u2028d\ufffde\\",
				}
			},
			raw: map[string]string{"body": `"a\u0000b\tc\u2028d\ufffde\\"`},
		},
		{
			name: "empty message",
			req: func() *Request {
				r := testRequest(EventMessage)
				r.Body = nil
				return r
			},
			want: func() events.APIGatewayWebsocketProxyRequest {
				rc := commonContext("MESSAGE", "sendmessage")
				rc.MessageID = "M1w2E3r4T5y6U7i="
				return events.APIGatewayWebsocketProxyRequest{RequestContext: rc}
			},
			raw: map[string]string{"body": `""`},
		},
		{
			name: "disconnect",
			req:  func() *Request { return testRequest(EventDisconnect) },
			want: func() events.APIGatewayWebsocketProxyRequest {
				rc := commonContext("DISCONNECT", "$disconnect")
				rc.DisconnectStatusCode = 1001
				rc.DisconnectReason = ptr("Going away")
				return events.APIGatewayWebsocketProxyRequest{
					Headers:           disconnectHeaders,
					MultiValueHeaders: multi(disconnectHeaders, nil),
					RequestContext:    rc,
				}
			},
			raw:    map[string]string{"requestContext.disconnectStatusCode": "1001"},
			absent: []string{"body", "queryStringParameters", "multiValueQueryStringParameters", "requestContext.messageId"},
		},
		{
			name: "disconnect with an empty reason and an authorizer",
			req: func() *Request {
				r := testRequest(EventDisconnect)
				r.DisconnectStatusCode, r.DisconnectReason = 1006, ""
				r.Authorizer = &Authorizer{PrincipalID: "p", IntegrationLatency: 3 * time.Millisecond}
				return r
			},
			want: func() events.APIGatewayWebsocketProxyRequest {
				rc := commonContext("DISCONNECT", "$disconnect")
				rc.DisconnectStatusCode = 1006
				rc.DisconnectReason = ptr("")
				rc.Authorizer = map[string]any{"principalId": "p", "integrationLatency": 3.0}
				return events.APIGatewayWebsocketProxyRequest{
					Headers:           disconnectHeaders,
					MultiValueHeaders: multi(disconnectHeaders, nil),
					RequestContext:    rc,
				}
			},
			raw: map[string]string{"requestContext.disconnectReason": `""`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := newBackend(t, reply{body: `{"statusCode":200}`})
			iv := newTestInvoker(t)
			if _, err := invoke(t, iv, awsIntegration(be.URL+"/2015-03-31/functions/function/invocations"), tt.req()); err != nil {
				t.Fatalf("Invoke: %v", err)
			}
			got := be.last(t)
			if got.Method != "POST" || got.Path != "/2015-03-31/functions/function/invocations" {
				t.Errorf("request line = %s %s, want POST to the uri's path", got.Method, got.Path)
			}
			if ct := got.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			checkEvent(t, got.Body, tt.want(), tt.raw, tt.absent)
		})
	}
}

// checkEvent decodes raw into events.APIGatewayWebsocketProxyRequest and
// compares it with want, checks that re-encoding the struct loses nothing,
// and checks the raw JSON of members whose presence or type the struct hides.
func checkEvent(t *testing.T, raw []byte, want events.APIGatewayWebsocketProxyRequest, rawWant map[string]string, absent []string) {
	t.Helper()
	var ev events.APIGatewayWebsocketProxyRequest
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("decode event into events.APIGatewayWebsocketProxyRequest: %v\n%s", err, raw)
	}
	if diff := cmp.Diff(want, ev); diff != "" {
		t.Errorf("event mismatch (-want +got):\n%s\nraw: %s", diff, raw)
	}
	// No loss: the struct re-encoded holds exactly what was sent.
	again, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var sent, kept any
	if err := json.Unmarshal(raw, &sent); err != nil {
		t.Fatalf("event is not JSON: %v", err)
	}
	if err := json.Unmarshal(again, &kept); err != nil {
		t.Fatal(err)
	}
	// An empty body decodes to the zero value, which re-encoding omits.
	if m, ok := sent.(map[string]any); ok && m["body"] == "" {
		delete(m, "body")
	}
	if diff := cmp.Diff(sent, kept); diff != "" {
		t.Errorf("decoding into events.APIGatewayWebsocketProxyRequest loses data (-sent +kept):\n%s", diff)
	}
	for path, want := range rawWant {
		got, ok := rawMember(t, raw, path)
		if !ok {
			t.Errorf("member %s is missing", path)
		} else if got != want {
			t.Errorf("member %s = %s, want %s", path, got, want)
		}
	}
	for _, path := range absent {
		if got, ok := rawMember(t, raw, path); ok {
			t.Errorf("member %s = %s, want it absent", path, got)
		}
	}
}

// rawMember returns the raw JSON of the member at a dotted path.
func rawMember(t *testing.T, raw []byte, path string) (string, bool) {
	t.Helper()
	cur := json.RawMessage(raw)
	for name := range strings.SplitSeq(path, ".") {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(cur, &obj); err != nil {
			return "", false
		}
		next, ok := obj[name]
		if !ok {
			return "", false
		}
		cur = next
	}
	return string(cur), true
}

func TestAppendEventIsCompactAndOrdered(t *testing.T) {
	got := string(appendEvent(nil, testRequest(EventMessage)))
	want := `{"requestContext":{"routeKey":"sendmessage","eventType":"MESSAGE","extendedRequestId":"X1w2E3r4T5y6U7i=",` +
		`"requestTime":"09/Mar/2024:21:16:05 +0000","messageDirection":"IN","stage":"dev","connectedAt":1710018904123,` +
		`"requestTimeEpoch":1710019MS,"identity":{"sourceIp":"127.0.0.1","userAgent":"test-agent/1.0"},` +
		`"requestId":"R1w2E3r4T5y6U7i=","domainName":"localhost:8080","connectionId":"Q1w2E3r4T5y6U7i=","apiId":"a1b2c3d4e5",` +
		`"messageId":"M1w2E3r4T5y6U7i="},"body":"{\"action\":\"sendmessage\",\"data\":{\"room\":\"r1\",\"n\":3,\"tags\":[\"x\",\"y\"]},\"text\":\"héllo \\\"q\\\" <b>\"}","isBase64Encoded":false}`
	want = strings.Replace(want, "1710019MS", "1710018965456", 1)
	if got != want {
		t.Errorf("appendEvent =\n%s\nwant\n%s", got, want)
	}
}

func TestAppendEventDoesNotAllocate(t *testing.T) {
	req := testRequest(EventMessage)
	req.StageVariables = map[string]string{"a": "1", "b": "2"}
	req.Authorizer = testAuthorizer
	buf := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(100, func() { buf = appendEvent(buf[:0], req) })
	if allocs != 0 {
		t.Errorf("appendEvent allocates %v times per MESSAGE event, want 0", allocs)
	}
}

func BenchmarkAppendEventMessage(b *testing.B) {
	req := testRequest(EventMessage)
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = appendEvent(buf[:0], req)
	}
}

// BenchmarkMarshalEventStdlib is the encoding/json baseline for
// BenchmarkAppendEventMessage: the same MESSAGE event marshalled from
// aws-lambda-go's struct.
func BenchmarkMarshalEventStdlib(b *testing.B) {
	req := testRequest(EventMessage)
	rc := commonContext("MESSAGE", "sendmessage")
	rc.MessageID = req.MessageID
	ev := events.APIGatewayWebsocketProxyRequest{RequestContext: rc, Body: string(req.Body)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(ev); err != nil {
			b.Fatal(err)
		}
	}
}
