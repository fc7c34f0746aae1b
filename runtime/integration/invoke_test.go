package integration

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/wsgwctl/wsgwctl/config/model"
)

func TestAWSProxyResult(t *testing.T) {
	tests := []struct {
		name     string
		reply    reply
		want     *Response
		wantKind Kind
		wantErr  string // substring of the error, with wantKind
	}{
		{name: "full result", reply: reply{body: `{"statusCode":201,"headers":{"X-One":"1","x-both":"single"},"multiValueHeaders":{"X-Both":["m1","m2"]},"body":"hello","isBase64Encoded":false}`},
			want: &Response{StatusCode: 201, Header: http.Header{"X-One": {"1"}, "X-Both": {"m1", "m2"}}, Body: []byte("hello"), HasBody: true}},
		{name: "statusCode absent", reply: reply{body: `{"body":"hi"}`},
			want: &Response{StatusCode: 200, Body: []byte("hi"), HasBody: true}},
		{name: "statusCode as a string", reply: reply{body: `{"statusCode":"403"}`},
			want: &Response{StatusCode: 403}},
		{name: "body absent", reply: reply{body: `{"statusCode":200}`},
			want: &Response{StatusCode: 200}},
		{name: "body null", reply: reply{body: `{"statusCode":200,"body":null}`},
			want: &Response{StatusCode: 200}},
		{name: "empty body string", reply: reply{body: `{"body":""}`},
			want: &Response{StatusCode: 200, Body: []byte{}, HasBody: true}},
		{name: "null reply", reply: reply{body: "null\n"},
			want: &Response{StatusCode: 200}},
		{name: "empty reply", reply: reply{body: ""},
			want: &Response{StatusCode: 200}},
		{name: "base64 text", reply: reply{body: `{"body":"aMOpbGxv","isBase64Encoded":true}`},
			want: &Response{StatusCode: 200, Body: []byte("héllo"), HasBody: true}},
		{name: "base64 binary", reply: reply{body: `{"body":"AP8B","isBase64Encoded":true}`},
			want: &Response{StatusCode: 200, Body: []byte{0, 0xff, 1}, HasBody: true, Binary: true}},
		{name: "function error reply", reply: reply{body: `{"errorMessage":"boom","errorType":"Error","stackTrace":[]}`},
			wantKind: KindFunctionError, wantErr: "boom"},
		{name: "function error header", reply: reply{header: map[string]string{"X-Amz-Function-Error": "Unhandled"}, body: `{"errorMessage":"Unauthorized","errorType":"Error"}`},
			wantKind: KindFunctionError, wantErr: "Unauthorized"},
		{name: "function error header with an odd body", reply: reply{header: map[string]string{"X-Amz-Function-Error": "Unhandled"}, body: `"oops"`},
			wantKind: KindFunctionError},
		{name: "endpoint answers 500", reply: reply{status: 500, body: `{"statusCode":200}`},
			wantKind: KindInvalidReply, wantErr: "HTTP 500"},
		{name: "endpoint answers 502", reply: reply{status: 502}, wantKind: KindInvalidReply},
		{name: "endpoint answers 404", reply: reply{status: 404, body: `{"message":"Function not found"}`}, wantKind: KindInvalidReply},
		{name: "not JSON", reply: reply{body: `hello`}, wantKind: KindInvalidReply},
		{name: "a JSON string", reply: reply{body: `"hello"`}, wantKind: KindInvalidReply},
		{name: "a JSON array", reply: reply{body: `[1]`}, wantKind: KindInvalidReply},
		{name: "truncated object", reply: reply{body: `{"statusCode":200`}, wantKind: KindInvalidReply},
		{name: "body of the wrong type", reply: reply{body: `{"body":{"a":1}}`}, wantKind: KindInvalidReply},
		{name: "statusCode out of range", reply: reply{body: `{"statusCode":42}`}, wantKind: KindInvalidReply},
		{name: "bad base64", reply: reply{body: `{"body":"***","isBase64Encoded":true}`}, wantKind: KindInvalidReply},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := newBackend(t, tt.reply)
			resp, err := invoke(t, newTestInvoker(t), awsIntegration(be.URL), testRequest(EventMessage))
			if tt.wantKind != 0 {
				var ie *Error
				if !errors.As(err, &ie) || ie.Kind != tt.wantKind {
					t.Fatalf("Invoke = %v, %v; want an *Error of kind %v", resp, err, tt.wantKind)
				}
				if !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), `"fn"`) {
					t.Errorf("error %q does not name the integration or contain %q", err, tt.wantErr)
				}
				if ie.HandshakeStatus() != http.StatusBadGateway {
					t.Errorf("HandshakeStatus = %d, want 502", ie.HandshakeStatus())
				}
				return
			}
			if err != nil {
				t.Fatalf("Invoke: %v", err)
			}
			if resp.Latency <= 0 {
				t.Errorf("Latency = %v, want > 0", resp.Latency)
			}
			if diff := cmp.Diff(tt.want, resp, cmpopts.IgnoreFields(Response{}, "Latency"), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("response mismatch (-want +got):\n%s", diff)
			}
			if tt.want.HasBody && resp.Body == nil {
				t.Error("Body is nil, want a non-nil body when HasBody")
			}
		})
	}
}

func TestFunctionErrorDetails(t *testing.T) {
	be := newBackend(t, reply{header: map[string]string{"X-Amz-Function-Error": "Unhandled"}, body: `{"errorMessage":"Unauthorized","errorType":"AuthError"}`})
	_, err := invoke(t, newTestInvoker(t), awsIntegration(be.URL), testRequest(EventConnect))
	var ie *Error
	if !errors.As(err, &ie) {
		t.Fatalf("Invoke error = %v, want *Error", err)
	}
	if ie.Kind != KindFunctionError || ie.ErrorMessage != "Unauthorized" || ie.ErrorType != "AuthError" || ie.StatusCode != 200 {
		t.Errorf("error = %+v, want a function error with its message, type and status", ie)
	}
}

// blockingBackend returns a server whose handler signals arrived and then
// waits until the client goes away or the test ends.
func blockingBackend(t *testing.T) (*httptest.Server, <-chan struct{}) {
	t.Helper()
	arrived := make(chan struct{}, 16)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	return srv, arrived
}

func TestTimeouts(t *testing.T) {
	for _, typ := range []string{model.IntegrationAWSProxy, model.IntegrationHTTPProxy} {
		t.Run("integration timeout/"+typ, func(t *testing.T) {
			srv, _ := blockingBackend(t)
			in := &model.Integration{Name: "slow", Type: typ, URI: model.LiteralTemplate(srv.URL), TimeoutMS: 50}
			_, err := NewInvoker(Options{}).Invoke(context.Background(), in, testRequest(EventMessage))
			var ie *Error
			if !errors.As(err, &ie) || ie.Kind != KindTimeout {
				t.Fatalf("Invoke error = %v, want KindTimeout", err)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Error("errors.Is(err, context.DeadlineExceeded) = false for a timeout")
			}
			if ie.HandshakeStatus() != http.StatusGatewayTimeout {
				t.Errorf("HandshakeStatus = %d, want 504", ie.HandshakeStatus())
			}
		})
	}
	t.Run("caller cancels", func(t *testing.T) {
		srv, arrived := blockingBackend(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			<-arrived
			cancel()
		}()
		_, err := NewInvoker(Options{}).Invoke(ctx, awsIntegration(srv.URL), testRequest(EventMessage))
		var ie *Error
		if !errors.As(err, &ie) || ie.Kind != KindCanceled {
			t.Fatalf("Invoke error = %v, want KindCanceled", err)
		}
		if !errors.Is(err, context.Canceled) {
			t.Error("errors.Is(err, context.Canceled) = false")
		}
		if ie.HandshakeStatus() != http.StatusBadGateway {
			t.Errorf("HandshakeStatus = %d, want 502", ie.HandshakeStatus())
		}
	})
	t.Run("caller deadline is not an integration timeout", func(t *testing.T) {
		srv, _ := blockingBackend(t)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := NewInvoker(Options{}).Invoke(ctx, awsIntegration(srv.URL), testRequest(EventMessage))
		var ie *Error
		if !errors.As(err, &ie) || ie.Kind != KindCanceled {
			t.Fatalf("Invoke error = %v, want KindCanceled", err)
		}
	})
}

func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	for _, typ := range []string{model.IntegrationAWSProxy, model.IntegrationHTTPProxy} {
		t.Run(typ, func(t *testing.T) {
			in := &model.Integration{Name: "gone", Type: typ, URI: model.LiteralTemplate("http://" + addr + "/x"), TimeoutMS: 5000}
			_, err := invoke(t, newTestInvoker(t), in, testRequest(EventConnect))
			var ie *Error
			if !errors.As(err, &ie) || ie.Kind != KindUnreachable {
				t.Fatalf("Invoke error = %v, want KindUnreachable", err)
			}
			if ie.HandshakeStatus() != http.StatusBadGateway {
				t.Errorf("HandshakeStatus = %d, want 502", ie.HandshakeStatus())
			}
			var opErr *net.OpError
			if !errors.As(err, &opErr) {
				t.Errorf("error %v does not wrap the dial error", err)
			}
		})
	}
}

func TestUnsupportedAndInvalidRequests(t *testing.T) {
	be := newBackend(t, reply{})
	tests := []struct {
		name string
		in   *model.Integration
		want Kind
	}{
		{"HTTP without a uri", &model.Integration{Name: "h", Type: model.IntegrationHTTP}, KindInvalidRequest},
		{"MOCK with a bad response key", &model.Integration{Name: "m", Type: model.IntegrationMock,
			Responses: []*model.IntegrationResponse{{Key: "/(/"}}}, KindInvalidRequest},
		{"unknown type", &model.Integration{Name: "u", Type: "GRPC", URI: model.LiteralTemplate(be.URL)}, KindUnsupported},
		{"relative uri", httpIntegration("/just/a/path"), KindInvalidRequest},
		{"ftp uri", awsIntegration("ftp://example.com/x"), KindInvalidRequest},
		{"uri rendering empty", &model.Integration{Name: "e", Type: model.IntegrationHTTPProxy, URI: mustTemplate(t, "${stageVariables.missing}")}, KindInvalidRequest},
		{"bad method", &model.Integration{Name: "b", Type: model.IntegrationHTTPProxy, URI: model.LiteralTemplate(be.URL), Method: "BAD METHOD"}, KindInvalidRequest},
		{"bad parameter", &model.Integration{Name: "p", Type: model.IntegrationHTTPProxy, URI: model.LiteralTemplate(be.URL),
			RequestParameters: map[string]string{"integration.request.header.X": "route.request.body.a[*]"}}, KindInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := invoke(t, newTestInvoker(t), tt.in, testRequest(EventMessage))
			var ie *Error
			if !errors.As(err, &ie) || ie.Kind != tt.want {
				t.Fatalf("Invoke error = %v, want kind %v", err, tt.want)
			}
			if tt.want == KindUnsupported && !strings.Contains(err.Error(), tt.in.Type) {
				t.Errorf("error %q does not name the type %s", err, tt.in.Type)
			}
		})
	}
	be.mu.Lock()
	defer be.mu.Unlock()
	if len(be.requests) != 0 {
		t.Errorf("the backend was called %d times, want 0", len(be.requests))
	}
}

func mustTemplate(t *testing.T, s string) model.Template {
	t.Helper()
	tpl, err := model.ParseTemplate(s)
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

// connCounter counts the connections a test server accepts.
func countingBackend(t *testing.T, body string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(body))
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

func TestKeepAlive(t *testing.T) {
	for _, typ := range []string{model.IntegrationAWSProxy, model.IntegrationHTTPProxy} {
		t.Run(typ, func(t *testing.T) {
			srv, conns := countingBackend(t, `{"statusCode":200,"body":"ok"}`)
			iv := newTestInvoker(t)
			in := &model.Integration{Name: "ka", Type: typ, URI: model.LiteralTemplate(srv.URL + "/x"), TimeoutMS: 5000}
			const n = 25
			for i := range n {
				for _, ev := range []string{EventConnect, EventMessage, EventDisconnect} {
					if _, err := invoke(t, iv, in, testRequest(ev)); err != nil {
						t.Fatalf("call %d (%s): %v", i, ev, err)
					}
				}
			}
			if got := conns.Load(); got != 1 {
				t.Errorf("%d sequential calls opened %d connections, want 1", 3*n, got)
			}
		})
	}
}

func TestConcurrentInvokes(t *testing.T) {
	srv, conns := countingBackend(t, `{"statusCode":200,"body":"ok"}`)
	iv := newTestInvoker(t)
	in := awsIntegration(srv.URL)
	const workers, calls = 16, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers*calls)
	for range workers {
		wg.Go(func() {
			for range calls {
				resp, err := invoke(t, iv, in, testRequest(EventMessage))
				if err != nil {
					errs <- err
					continue
				}
				if string(resp.Body) != "ok" {
					errs <- errors.New("body " + string(resp.Body))
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// The pool keeps the connections: more calls open none.
	opened := conns.Load()
	for range calls {
		if _, err := invoke(t, iv, in, testRequest(EventMessage)); err != nil {
			t.Fatal(err)
		}
	}
	if got := conns.Load(); got != opened {
		t.Errorf("sequential calls after the concurrent ones opened %d new connections, want 0", got-opened)
	}
}

func TestCloseIdleConnections(t *testing.T) {
	srv, conns := countingBackend(t, `{}`)
	iv := newTestInvoker(t)
	in := awsIntegration(srv.URL)
	for range 2 {
		if _, err := invoke(t, iv, in, testRequest(EventMessage)); err != nil {
			t.Fatal(err)
		}
		iv.CloseIdleConnections()
	}
	if got := conns.Load(); got != 2 {
		t.Errorf("calls separated by CloseIdleConnections opened %d connections, want 2", got)
	}
}

func BenchmarkInvokeAWSProxyMessage(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 4096)
		for {
			if _, err := r.Body.Read(buf); err != nil {
				break
			}
		}
		w.Write([]byte(`{"statusCode":200,"body":"{\"ok\":true}"}`))
	}))
	defer srv.Close()
	iv := NewInvoker(Options{Transport: newSharedTransport()})
	defer iv.CloseIdleConnections()
	in := awsIntegration(srv.URL + "/2015-03-31/functions/function/invocations")
	req := testRequest(EventMessage)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := iv.Invoke(ctx, in, req); err != nil {
			b.Fatal(err)
		}
	}
}
