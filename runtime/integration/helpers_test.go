package integration

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/wsgwctl/wsgwctl/config/model"
)

// captured is one request a test backend received.
type captured struct {
	Method string
	Path   string
	Query  string
	Host   string
	Header http.Header
	Body   []byte
}

// backend is a test server that records requests and answers with reply.
type backend struct {
	*httptest.Server
	mu       sync.Mutex
	requests []captured
}

// reply describes a test backend's answer.
type reply struct {
	status int
	header map[string]string
	body   string
}

func newBackend(t *testing.T, rp reply) *backend {
	t.Helper()
	b := &backend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		b.mu.Lock()
		b.requests = append(b.requests, captured{
			Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Host: r.Host,
			Header: r.Header.Clone(), Body: body,
		})
		b.mu.Unlock()
		for k, v := range rp.header {
			w.Header().Set(k, v)
		}
		status := rp.status
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		io.WriteString(w, rp.body)
	}))
	t.Cleanup(b.Close)
	return b
}

// last returns the last request the backend received.
func (b *backend) last(t *testing.T) captured {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.requests) == 0 {
		t.Fatal("the backend received no request")
	}
	return b.requests[len(b.requests)-1]
}

var (
	testConnectedAt = time.Date(2024, 3, 9, 22, 15, 4, 123_000_000, time.FixedZone("CET", 3600))
	testRequestTime = time.Date(2024, 3, 9, 21, 16, 5, 456_000_000, time.UTC)
)

// testRequest returns a request of the given event type with every field
// that event carries filled in.
func testRequest(eventType string) *Request {
	req := &Request{
		EventType:         eventType,
		APIID:             "a1b2c3d4e5",
		Stage:             "dev",
		DomainName:        "localhost:8080",
		ConnectionID:      "Q1w2E3r4T5y6U7i=",
		ConnectedAt:       testConnectedAt,
		RequestID:         "R1w2E3r4T5y6U7i=",
		ExtendedRequestID: "X1w2E3r4T5y6U7i=",
		RequestTime:       testRequestTime,
		SourceIP:          "127.0.0.1",
		UserAgent:         "test-agent/1.0",
		Headers: []Header{
			{Name: "Host", Value: "localhost:8080"},
			{Name: "Upgrade", Value: "websocket"},
			{Name: "Connection", Value: "Upgrade, X-Hop"},
			{Name: "X-Hop", Value: "hop"},
			{Name: "Sec-WebSocket-Key", Value: "dGhlIHNhbXBsZSBub25jZQ=="},
			{Name: "Sec-WebSocket-Version", Value: "13"},
			{Name: "Sec-WebSocket-Extensions", Value: "permessage-deflate"},
			{Name: "Sec-WebSocket-Protocol", Value: "chat, superchat"},
			{Name: "User-Agent", Value: "test-agent/1.0"},
			{Name: "x-api-key", Value: "key-123"},
			{Name: "X-Multi", Value: "one"},
			{Name: "X-Multi", Value: "two"},
		},
		ForwardedPort:  "8080",
		ForwardedProto: "http",
		RawQuery:       "room=lobby&tag=a&tag=b&name=J%C3%BCrgen+X&flag",
	}
	switch eventType {
	case EventConnect:
		req.RouteKey = "$connect"
	case EventMessage:
		req.RouteKey = "sendmessage"
		req.MessageID = "M1w2E3r4T5y6U7i="
		req.Body = []byte(`{"action":"sendmessage","data":{"room":"r1","n":3,"tags":["x","y"]},"text":"héllo \"q\" <b>"}`)
	case EventDisconnect:
		req.RouteKey = "$disconnect"
		req.DisconnectStatusCode = 1001
		req.DisconnectReason = "Going away"
	}
	return req
}

// awsIntegration returns a fresh AWS_PROXY integration calling uri.
func awsIntegration(uri string) *model.Integration {
	return &model.Integration{Name: "fn", Type: model.IntegrationAWSProxy, URI: model.LiteralTemplate(uri), Method: "POST", TimeoutMS: 29000}
}

// httpIntegration returns a fresh HTTP_PROXY integration calling uri.
func httpIntegration(uri string) *model.Integration {
	return &model.Integration{Name: "svc", Type: model.IntegrationHTTPProxy, URI: model.LiteralTemplate(uri), TimeoutMS: 29000}
}

// newTestInvoker returns an Invoker with its own transport, closed when the
// test ends.
func newTestInvoker(t *testing.T) *Invoker {
	t.Helper()
	iv := NewInvoker(Options{Transport: newSharedTransport()})
	t.Cleanup(iv.CloseIdleConnections)
	return iv
}

func invoke(t *testing.T, iv *Invoker, in *model.Integration, req *Request) (*Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return iv.Invoke(ctx, in, req)
}
