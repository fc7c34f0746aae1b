package authorizer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/runtime/integration"
)

// testTimeout bounds every wait of these tests.
const testTimeout = 10 * time.Second

// defaultARN is the method ARN of connectRequest with the default region
// and account.
const defaultARN = "arn:aws:execute-api:local:000000000000:abc123/live/$connect"

// connectRequest returns the CONNECT request the gateway would build for a
// handshake carrying a token in the query and a client id header.
func connectRequest() *integration.Request {
	connected := time.Date(2025, 3, 4, 5, 6, 7, 890_000_000, time.UTC)
	return &integration.Request{
		EventType:         integration.EventConnect,
		RouteKey:          "$connect",
		APIID:             "abc123",
		Stage:             "live",
		DomainName:        "127.0.0.1:8080",
		ConnectionID:      "Q0hBVFRZQ09OTjE=",
		ConnectedAt:       connected,
		RequestID:         "UkVRVUVTVElEMDE=",
		ExtendedRequestID: "RVhURU5ERURJRDE=",
		RequestTime:       connected.Add(time.Millisecond),
		SourceIP:          "127.0.0.1",
		UserAgent:         "test-client/1.0",
		Headers: []integration.Header{
			{Name: "Host", Value: "127.0.0.1:8080"},
			{Name: "Upgrade", Value: "websocket"},
			{Name: "X-Client-Id", Value: "ios-4.2"},
			{Name: "X-Multi", Value: "one"},
			{Name: "X-Multi", Value: "two"},
			{Name: "x-forwarded-for", Value: "10.9.9.9"},
		},
		ForwardedPort:  "8080",
		ForwardedProto: "http",
		RawQuery:       "token=abc&room=a&room=b%20c",
		StageVariables: map[string]string{"authHost": "127.0.0.1"},
	}
}

// endpoint is an httptest authorizer endpoint that counts calls and keeps
// the last event body.
type endpoint struct {
	srv   *httptest.Server
	calls atomic.Int64
	mu    sync.Mutex
	last  []byte
}

func newEndpoint(t testing.TB, h http.HandlerFunc) *endpoint {
	t.Helper()
	e := &endpoint{}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		e.last = body
		e.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		h(w, r)
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *endpoint) lastEvent() []byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.last
}

// answer answers with status, headers and body.
func answer(status int, header map[string]string, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// authorizerConfig returns an authorizer block calling uri.
func authorizerConfig(uri string, sources ...string) *model.Authorizer {
	return &model.Authorizer{
		Name:            "session",
		Type:            "REQUEST",
		URI:             model.LiteralTemplate(uri),
		IdentitySources: sources,
		TimeoutMS:       5000,
	}
}

func mustNew(t *testing.T, cfg *model.Authorizer, opts Options) *Authorizer {
	t.Helper()
	a, err := New(cfg, map[string]string{"authHost": "127.0.0.1"}, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

func allowPolicy(resource string) string {
	return `{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"` + resource + `"}]}`
}

func TestAuthorizeOutcomes(t *testing.T) {
	big := `{"principalId":"` + strings.Repeat("x", integration.MaxLambdaResultBytes) + `","policyDocument":` + allowPolicy("*") + `}`
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		status    int
		principal string
		context   map[string]any
		usageKey  string
		errText   string // for 500s: part of the error
	}{
		{
			name: "allow with context and usage key",
			handler: answer(200, nil, `{"principalId":"user-1","policyDocument":`+allowPolicy(defaultARN)+
				`,"context":{"stringKey":"stringval","numberKey":123,"booleanKey":true,"nullKey":null},"usageIdentifierKey":"key-0123456789abcdefghij"}`),
			status: 200, principal: "user-1",
			context:  map[string]any{"stringKey": "stringval", "numberKey": float64(123), "booleanKey": true},
			usageKey: "key-0123456789abcdefghij",
		},
		{
			name: "allow with lists and wildcards",
			handler: answer(200, nil, `{"principalId":"user-2","policyDocument":{"Version":"2012-10-17","Statement":[`+
				`{"Action":["execute-api:*"],"Effect":"Allow","Resource":["arn:aws:execute-api:*:*:abc123/live/*"]}]}}`),
			status: 200, principal: "user-2",
		},
		{
			name:    "allow with one statement object and action *",
			handler: answer(200, nil, `{"principalId":"user-3","policyDocument":{"Statement":{"Action":"*","Effect":"Allow","Resource":"*"}}}`),
			status:  200, principal: "user-3",
		},
		{
			name:    "allow without principalId",
			handler: answer(200, nil, `{"policyDocument":`+allowPolicy("*")+`}`),
			status:  200,
		},
		{
			name: "explicit deny wins",
			handler: answer(200, nil, `{"principalId":"user-4","policyDocument":{"Statement":[`+
				`{"Action":"*","Effect":"Allow","Resource":"*"},{"Action":"execute-api:Invoke","Effect":"Deny","Resource":"`+defaultARN+`"}]},"context":{"k":"v"}}`),
			status: 403, principal: "user-4",
		},
		{
			name:    "deny",
			handler: answer(200, nil, `{"principalId":"user-5","policyDocument":{"Statement":[{"Action":"execute-api:Invoke","Effect":"Deny","Resource":"*"}]}}`),
			status:  403, principal: "user-5",
		},
		{
			name:    "allow for another stage only",
			handler: answer(200, nil, `{"principalId":"user-6","policyDocument":`+allowPolicy("arn:aws:execute-api:local:000000000000:abc123/test/$connect")+`}`),
			status:  403, principal: "user-6",
		},
		{
			name:    "allow for another region only",
			handler: answer(200, nil, `{"principalId":"user-6","policyDocument":`+allowPolicy("arn:aws:execute-api:us-east-1:*:abc123/live/$connect")+`}`),
			status:  403, principal: "user-6",
		},
		{
			name:    "allow of another action only",
			handler: answer(200, nil, `{"principalId":"user-7","policyDocument":{"Statement":[{"Action":"execute-api:ManageConnections","Effect":"Allow","Resource":"*"}]}}`),
			status:  403, principal: "user-7",
		},
		{
			name:    "no statements",
			handler: answer(200, nil, `{"principalId":"user-8","policyDocument":{"Version":"2012-10-17","Statement":[]}}`),
			status:  403, principal: "user-8",
		},
		{name: "HTTP 401", handler: answer(401, nil, `{"message":"Unauthorized"}`), status: 401},
		{name: "HTTP 401 without body", handler: answer(401, nil, ``), status: 401},
		{name: "function error Unauthorized", handler: answer(200, nil, `{"errorMessage":"Unauthorized","errorType":"Error"}`), status: 401},
		{
			name:    "flagged function error Unauthorized",
			handler: answer(200, map[string]string{"X-Amz-Function-Error": "Unhandled"}, `{"errorMessage":"Unauthorized"}`),
			status:  401,
		},
		{
			name:    "flagged function error",
			handler: answer(200, map[string]string{"X-Amz-Function-Error": "Unhandled"}, `{"errorMessage":"boom","errorType":"Error"}`),
			status:  500, errText: "boom",
		},
		{
			name:    "flagged function error without details",
			handler: answer(200, map[string]string{"X-Amz-Function-Error": "Unhandled"}, `oops`),
			status:  500, errText: "the function failed",
		},
		{name: "function error", handler: answer(200, nil, `{"errorMessage":"unauthorized","errorType":"Error"}`), status: 500, errText: "unauthorized"},
		{name: "HTTP 500", handler: answer(500, nil, `{}`), status: 500, errText: "HTTP 500"},
		{name: "HTTP 403", handler: answer(403, nil, `{}`), status: 500, errText: "HTTP 403"},
		{name: "HTTP 302", handler: answer(302, map[string]string{"Location": "/elsewhere"}, ``), status: 500, errText: "HTTP 302"},
		{name: "not JSON", handler: answer(200, nil, `allow`), status: 500, errText: "not a JSON object"},
		{name: "empty reply", handler: answer(200, nil, ``), status: 500, errText: "not a JSON object"},
		{name: "truncated JSON", handler: answer(200, nil, `{"principalId":"x","policyDocument":`), status: 500, errText: "not an authorizer result"},
		{name: "no policyDocument", handler: answer(200, nil, `{"principalId":"x"}`), status: 500, errText: "no policyDocument"},
		{
			name:    "lower-case effect",
			handler: answer(200, nil, `{"principalId":"x","policyDocument":{"Statement":[{"Action":"*","Effect":"allow","Resource":"*"}]}}`),
			status:  500, errText: `Effect "allow"`,
		},
		{
			name:    "action not a string",
			handler: answer(200, nil, `{"principalId":"x","policyDocument":{"Statement":[{"Action":5,"Effect":"Allow","Resource":"*"}]}}`),
			status:  500, errText: "not an authorizer result",
		},
		{
			name:    "context object value",
			handler: answer(200, nil, `{"principalId":"x","policyDocument":`+allowPolicy("*")+`,"context":{"nested":{"a":1}}}`),
			status:  500, errText: `context value "nested"`,
		},
		{
			name:    "context array value",
			handler: answer(200, nil, `{"principalId":"x","policyDocument":`+allowPolicy("*")+`,"context":{"list":[1]}}`),
			status:  500, errText: `context value "list"`,
		},
		{
			name:    "principalId not a string",
			handler: answer(200, nil, `{"principalId":7,"policyDocument":`+allowPolicy("*")+`}`),
			status:  500, errText: "not an authorizer result",
		},
		{name: "reply too large", handler: answer(200, nil, big), status: 500, errText: "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEndpoint(t, tt.handler)
			a := mustNew(t, authorizerConfig(e.srv.URL+"/authorize", "route.request.querystring.token"), Options{Transport: e.srv.Client().Transport})
			res, err := a.Authorize(context.Background(), connectRequest())
			if res == nil {
				t.Fatalf("RT-50: Authorize returned no Result (err %v)", err)
			}
			if res.Status != tt.status {
				t.Fatalf("RT-50/D-45: status %d, want %d (err %v)", res.Status, tt.status, err)
			}
			if got := e.calls.Load(); got != 1 {
				t.Errorf("RT-50: %d authorizer calls, want 1", got)
			}
			if tt.status == 500 {
				if err == nil || !strings.Contains(err.Error(), tt.errText) || !strings.Contains(err.Error(), `authorizer "session"`) {
					t.Errorf("RT-50: error %v, want one naming the authorizer and containing %q", err, tt.errText)
				}
				if res.ResponseType() != integration.ResponseTypeAuthorizerFailure {
					t.Errorf("RT-50: response type %q", res.ResponseType())
				}
				return
			}
			if err != nil {
				t.Fatalf("RT-50: unexpected error for status %d: %v", res.Status, err)
			}
			if res.PrincipalID != tt.principal {
				t.Errorf("RT-50: principal %q, want %q", res.PrincipalID, tt.principal)
			}
			if diff := cmp.Diff(tt.context, res.Context); diff != "" {
				t.Errorf("D-42: context (-want +got):\n%s", diff)
			}
			if res.UsageIdentifierKey != tt.usageKey {
				t.Errorf("D-26: usageIdentifierKey %q, want %q", res.UsageIdentifierKey, tt.usageKey)
			}
			if res.Cached {
				t.Errorf("RT-50: Cached without caching configured")
			}
			if res.Latency <= 0 {
				t.Errorf("RT-40: latency %v after a call, want > 0", res.Latency)
			}
			auth := res.Authorizer()
			if (auth != nil) != (tt.status == 200) {
				t.Fatalf("RT-40: Authorizer() = %+v for status %d", auth, tt.status)
			}
			if auth != nil && (auth.PrincipalID != tt.principal || auth.IntegrationLatency != res.Latency || !cmp.Equal(auth.Context, res.Context)) {
				t.Errorf("RT-40: Authorizer() = %+v, want the result's principal, latency and context", auth)
			}
			wantType := map[int]string{200: "", 401: integration.ResponseTypeUnauthorized, 403: integration.ResponseTypeAccessDenied}[tt.status]
			if res.ResponseType() != wantType {
				t.Errorf("RT-50: response type %q, want %q", res.ResponseType(), wantType)
			}
		})
	}
}

func TestAuthorizeUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	a := mustNew(t, authorizerConfig(url+"/authorize"), Options{})
	res, err := a.Authorize(context.Background(), connectRequest())
	if res.Status != 500 || err == nil {
		t.Fatalf("RT-50: unreachable authorizer gave %d, %v; want 500 and an error", res.Status, err)
	}
	if errors.Is(err, ErrTimeout) {
		t.Errorf("RT-50: unreachable reported as timeout: %v", err)
	}
}

func TestAuthorizeTimeout(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	e := newEndpoint(t, func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) }) // runs before the server closes
	cfg := authorizerConfig(e.srv.URL + "/authorize")
	cfg.TimeoutMS = 50
	a := mustNew(t, cfg, Options{Transport: e.srv.Client().Transport})
	res, err := a.Authorize(context.Background(), connectRequest())
	if res.Status != 500 || !errors.Is(err, ErrTimeout) {
		t.Fatalf("RT-50: blocked authorizer gave %d, %v; want 500 and ErrTimeout", res.Status, err)
	}
	select {
	case <-entered:
	default:
		t.Fatalf("RT-50: the authorizer was never called")
	}
	if res.Latency < 50*time.Millisecond {
		t.Errorf("RT-50: latency %v, want at least the 50ms timeout", res.Latency)
	}
}

func TestAuthorizeCallerCancels(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	e := newEndpoint(t, func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })
	a := mustNew(t, authorizerConfig(e.srv.URL+"/authorize"), Options{Transport: e.srv.Client().Transport})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-entered:
		case <-time.After(testTimeout):
		}
		cancel()
	}()
	res, err := a.Authorize(ctx, connectRequest())
	if res.Status != 500 || !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
		t.Fatalf("RT-50: cancelled call gave %d, %v; want 500 and context.Canceled", res.Status, err)
	}
}

func TestAuthorizeEvent(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		mutate  func(*integration.Request)
		stageVs map[string]string
		arn     string
		query   map[string]string
		mquery  map[string][]string
		stage   map[string]string
	}{
		{
			name:   "defaults",
			arn:    defaultARN,
			query:  map[string]string{"token": "abc", "room": "b c"},
			mquery: map[string][]string{"token": {"abc"}, "room": {"a", "b c"}},
			stage:  map[string]string{"authHost": "127.0.0.1"},
		},
		{
			name:   "region and account, no query, no stage variables",
			opts:   Options{Region: "eu-west-1", Account: "123456789012"},
			mutate: func(r *integration.Request) { r.RawQuery = ""; r.StageVariables = nil },
			arn:    "arn:aws:execute-api:eu-west-1:123456789012:abc123/live/$connect",
			query:  map[string]string{},
			mquery: map[string][]string{},
			stage:  map[string]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEndpoint(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || r.URL.Path != "/authorize" {
					w.WriteHeader(http.StatusBadRequest)
					return
				}
				io.WriteString(w, `{"principalId":"p","policyDocument":`+allowPolicy(tt.arn)+`}`)
			})
			tt.opts.Transport = e.srv.Client().Transport
			a := mustNew(t, authorizerConfig(e.srv.URL+"/authorize"), tt.opts)
			req := connectRequest()
			if tt.mutate != nil {
				tt.mutate(req)
			}
			res, err := a.Authorize(context.Background(), req)
			if err != nil || res.Status != 200 {
				t.Fatalf("RT-50: status %d, %v; want 200 (the policy allows the expected method ARN)", res.Status, err)
			}
			raw := e.lastEvent()

			var ev events.APIGatewayCustomAuthorizerRequestTypeRequest
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatalf("RT-50: event does not decode: %v\n%s", err, raw)
			}
			wantHeaders := map[string]string{
				"Host": "127.0.0.1:8080", "Upgrade": "websocket", "X-Client-Id": "ios-4.2", "X-Multi": "two",
				"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Port": "8080", "X-Forwarded-Proto": "http",
			}
			wantMulti := map[string][]string{
				"Host": {"127.0.0.1:8080"}, "Upgrade": {"websocket"}, "X-Client-Id": {"ios-4.2"}, "X-Multi": {"one", "two"},
				"X-Forwarded-For": {"127.0.0.1"}, "X-Forwarded-Port": {"8080"}, "X-Forwarded-Proto": {"http"},
			}
			checks := []struct {
				what      string
				got, want any
			}{
				{"type", ev.Type, "REQUEST"},
				{"methodArn", ev.MethodArn, tt.arn},
				{"headers", ev.Headers, wantHeaders},
				{"multiValueHeaders", ev.MultiValueHeaders, wantMulti},
				{"queryStringParameters", ev.QueryStringParameters, tt.query},
				{"multiValueQueryStringParameters", ev.MultiValueQueryStringParameters, tt.mquery},
				{"stageVariables", ev.StageVariables, tt.stage},
				{"requestContext.stage", ev.RequestContext.Stage, "live"},
				{"requestContext.requestId", ev.RequestContext.RequestID, "UkVRVUVTVElEMDE="},
				{"requestContext.apiId", ev.RequestContext.APIID, "abc123"},
				{"requestContext.identity.sourceIp", ev.RequestContext.Identity.SourceIP, "127.0.0.1"},
			}
			for _, c := range checks {
				if diff := cmp.Diff(c.want, c.got); diff != "" {
					t.Errorf("RT-50: event %s (-want +got):\n%s", c.what, diff)
				}
			}

			// The requestContext is the CONNECT context (D-45).
			var outer struct {
				RequestContext events.APIGatewayWebsocketProxyRequestContext `json:"requestContext"`
			}
			if err := json.Unmarshal(raw, &outer); err != nil {
				t.Fatalf("D-45: requestContext does not decode: %v", err)
			}
			rc := outer.RequestContext
			want := events.APIGatewayWebsocketProxyRequestContext{
				Stage: "live", RequestID: "UkVRVUVTVElEMDE=", Identity: events.APIGatewayRequestIdentity{SourceIP: "127.0.0.1", UserAgent: "test-client/1.0"},
				APIID: "abc123", ConnectedAt: req.ConnectedAt.UnixMilli(), ConnectionID: "Q0hBVFRZQ09OTjE=", DomainName: "127.0.0.1:8080",
				EventType: "CONNECT", ExtendedRequestID: "RVhURU5ERURJRDE=", MessageDirection: "IN",
				RequestTime: "04/Mar/2025:05:06:07 +0000", RequestTimeEpoch: req.RequestTime.UnixMilli(), RouteKey: "$connect",
			}
			if diff := cmp.Diff(want, rc); diff != "" {
				t.Errorf("D-45: requestContext (-want +got):\n%s", diff)
			}

			// The maps are present even when empty (RT-50: {} when none).
			var present map[string]json.RawMessage
			if err := json.Unmarshal(raw, &present); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"queryStringParameters", "multiValueQueryStringParameters", "stageVariables", "headers", "multiValueHeaders"} {
				if v, ok := present[k]; !ok || v[0] != '{' {
					t.Errorf("RT-50: event member %s is %s, want an object", k, v)
				}
			}
			if _, ok := present["body"]; ok {
				t.Errorf("D-42: the authorizer event has a body")
			}
		})
	}
}

func TestAuthorizeIdentitySources(t *testing.T) {
	tests := []struct {
		name    string
		sources []string
		stageVs map[string]string
		mutate  func(*integration.Request)
		status  int
	}{
		{"no sources", nil, nil, nil, 200},
		{"header present", []string{"route.request.header.X-Client-Id"}, nil, nil, 200},
		{"header name case-insensitive", []string{"route.request.header.x-client-id"}, nil, nil, 200},
		{"header missing", []string{"route.request.header.Authorization"}, nil, nil, 401},
		{"header empty", []string{"route.request.header.X-Client-Id"}, nil, func(r *integration.Request) {
			r.Headers = []integration.Header{{Name: "X-Client-Id", Value: ""}}
		}, 401},
		{"header last value empty", []string{"route.request.header.X-Client-Id"}, nil, func(r *integration.Request) {
			r.Headers = []integration.Header{{Name: "X-Client-Id", Value: "a"}, {Name: "x-client-id", Value: ""}}
		}, 401},
		{"query present", []string{"route.request.querystring.token"}, nil, nil, 200},
		{"query escaped", []string{"route.request.querystring.room"}, nil, func(r *integration.Request) { r.RawQuery = "room=b%20c" }, 200},
		{"query name case-sensitive", []string{"route.request.querystring.Token"}, nil, nil, 401},
		{"query missing", []string{"route.request.querystring.token"}, nil, func(r *integration.Request) { r.RawQuery = "" }, 401},
		{"query empty", []string{"route.request.querystring.token"}, nil, func(r *integration.Request) { r.RawQuery = "token=" }, 401},
		{"query without value", []string{"route.request.querystring.token"}, nil, func(r *integration.Request) { r.RawQuery = "token" }, 401},
		{"stage variable present", []string{"stageVariables.authHost"}, map[string]string{"authHost": "h"}, nil, 200},
		{"stage variable missing", []string{"stageVariables.authHost"}, nil, nil, 401},
		{"stage variable empty", []string{"stageVariables.authHost"}, map[string]string{"authHost": ""}, nil, 401},
		{"context present", []string{"context.identity.sourceIp"}, nil, nil, 200},
		{"context empty", []string{"context.identity.userAgent"}, nil, func(r *integration.Request) { r.UserAgent = "" }, 401},
		{"context missing", []string{"context.identity.apiKey"}, nil, nil, 401},
		{"context unknown", []string{"context.nope"}, nil, nil, 401},
		{"all present", []string{"route.request.header.X-Client-Id", "route.request.querystring.token", "stageVariables.authHost", "context.connectionId"},
			map[string]string{"authHost": "h"}, nil, 200},
		{"one of several missing", []string{"route.request.header.X-Client-Id", "route.request.querystring.token", "stageVariables.authHost", "context.connectionId"},
			map[string]string{"authHost": "h"}, func(r *integration.Request) { r.ConnectionID = "" }, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEndpoint(t, answer(200, nil, `{"principalId":"p","policyDocument":`+allowPolicy("*")+`}`))
			a, err := New(authorizerConfig(e.srv.URL+"/authorize", tt.sources...), tt.stageVs, Options{Transport: e.srv.Client().Transport})
			if err != nil {
				t.Fatal(err)
			}
			req := connectRequest()
			if tt.mutate != nil {
				tt.mutate(req)
			}
			res, err := a.Authorize(context.Background(), req)
			if err != nil || res.Status != tt.status {
				t.Fatalf("RT-50/D-45: status %d, %v; want %d", res.Status, err, tt.status)
			}
			wantCalls := int64(1)
			if tt.status == 401 {
				wantCalls = 0
				if res.ResponseType() != integration.ResponseTypeUnauthorized || res.Latency != 0 {
					t.Errorf("RT-50: 401 result %+v", res)
				}
			}
			if got := e.calls.Load(); got != wantCalls {
				t.Errorf("RT-50: %d authorizer calls, want %d (identity sources are checked first)", got, wantCalls)
			}
		})
	}
}

func TestNew(t *testing.T) {
	stageRef := func(name string) model.TemplatePart {
		return model.TemplatePart{Ref: &model.Ref{Root: "stageVariables", Path: []model.PathStep{{Name: name}}}}
	}
	tests := []struct {
		name    string
		cfg     *model.Authorizer
		uri     string
		errText string
	}{
		{
			name: "uri with stage variable",
			cfg: &model.Authorizer{Name: "a", Type: "REQUEST", URI: model.Template{Parts: []model.TemplatePart{
				{Literal: "http://"}, stageRef("authHost"), {Literal: ":9100/authorize"},
			}}},
			uri: "http://127.0.0.1:9100/authorize",
		},
		{name: "type defaults", cfg: &model.Authorizer{Name: "a", URI: model.LiteralTemplate("https://auth.example/x")}, uri: "https://auth.example/x"},
		{name: "nil", cfg: nil, errText: "no authorizer"},
		{name: "TOKEN type", cfg: &model.Authorizer{Name: "a", Type: "TOKEN", URI: model.LiteralTemplate("http://h/")}, errText: `type "TOKEN"`},
		{name: "relative uri", cfg: &model.Authorizer{Name: "a", URI: model.LiteralTemplate("/authorize")}, errText: "absolute"},
		{name: "missing stage variable", cfg: &model.Authorizer{Name: "a", URI: model.Template{Parts: []model.TemplatePart{stageRef("nope"), {Literal: "/x"}}}}, errText: "absolute"},
		{
			name: "context in uri",
			cfg: &model.Authorizer{Name: "a", URI: model.Template{Parts: []model.TemplatePart{
				{Literal: "http://h/"}, {Ref: &model.Ref{Root: "context", Path: []model.PathStep{{Name: "connectionId"}}}},
			}}},
			errText: "only stageVariables",
		},
		{name: "bad identity source", cfg: &model.Authorizer{Name: "a", URI: model.LiteralTemplate("http://h/"), IdentitySources: []string{"method.request.header.Auth"}}, errText: `identity source "method.request.header.Auth"`},
		{name: "empty identity source name", cfg: &model.Authorizer{Name: "a", URI: model.LiteralTemplate("http://h/"), IdentitySources: []string{"route.request.header."}}, errText: "names nothing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := New(tt.cfg, map[string]string{"authHost": "127.0.0.1"}, Options{})
			if tt.errText != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("New error %v, want one containing %q", err, tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.URI() != tt.uri || a.Name() != "a" {
				t.Errorf("CFG-2: uri %q name %q, want %q", a.URI(), a.Name(), tt.uri)
			}
		})
	}
}

func TestMethodARN(t *testing.T) {
	if got := MethodARN("local", "000000000000", "abc123", "live"); got != defaultARN {
		t.Errorf("D-45: MethodARN = %q, want %q", got, defaultARN)
	}
}
