package runtime

// End-to-end acceptance tests of the gateway's security (issue 6): CUSTOM
// authorizers (RT-50, RT-40, D-45), API keys and usage plans (RT-51, D-26,
// D-41), SigV4 on AWS_IAM handshakes (RT-52) and on @connections calls
// (RT-2, D-28), TLS with SNI certificates and domain mappings (CLI-9, RT-1),
// and the per-address, target and header limits of the hardening work.
// Every test runs a real Server on real sockets; signatures are made by
// aws-sdk-go-v2's own signer and ApiGatewayManagementApi client.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/gobwas/ws"

	"github.com/wsgwctl/wsgwctl/config/model"
)

// The region and account the security tests give the gateway (D-45) and
// sign for (RT-52).
const (
	secRegion  = "eu-west-1"
	secAccount = "123456789012"
)

// secAuthContext is the context an allowing authorizer returns: one value
// of each JSON type AWS accepts (D-42).
var secAuthContext = map[string]any{"user": "alice", "n": 42, "admin": true, "ratio": 1.5}

// secAuthEvent is the part of a REQUEST-authorizer event the tests check.
type secAuthEvent struct {
	Type                  string            `json:"type"`
	MethodArn             string            `json:"methodArn"`
	Headers               map[string]string `json:"headers"`
	QueryStringParameters map[string]string `json:"queryStringParameters"`
	StageVariables        map[string]string `json:"stageVariables"`
	RequestContext        struct {
		RouteKey     string `json:"routeKey"`
		EventType    string `json:"eventType"`
		ConnectionID string `json:"connectionId"`
		APIID        string `json:"apiId"`
		Stage        string `json:"stage"`
	} `json:"requestContext"`
}

// secAuthEventOf decodes an authorizer call the backend recorded.
func secAuthEventOf(t testing.TB, r recorded) secAuthEvent {
	t.Helper()
	var ev secAuthEvent
	if err := json.Unmarshal(r.Body, &ev); err != nil {
		t.Fatalf("RT-50: the authorizer event %s is not JSON: %v", r.Body, err)
	}
	return ev
}

// secStatement is one statement of an authorizer's policy.
func secStatement(effect, resource string) map[string]any {
	return map[string]any{"Effect": effect, "Action": "execute-api:Invoke", "Resource": resource}
}

// secAllowResult is an authorizer result allowing resource, with
// secAuthContext and, unless empty, a usageIdentifierKey.
func secAllowResult(resource, usageIdentifierKey string) map[string]any {
	res := map[string]any{
		"principalId":    "user-1",
		"policyDocument": map[string]any{"Version": "2012-10-17", "Statement": []any{secStatement("Allow", resource)}},
		"context":        secAuthContext,
	}
	if usageIdentifierKey != "" {
		res["usageIdentifierKey"] = usageIdentifierKey
	}
	return res
}

// secAuthorizerReply is a REQUEST authorizer that answers according to the
// event's token query parameter, one token per outcome RT-50 and D-45 name.
func secAuthorizerReply(w http.ResponseWriter, r *http.Request, body []byte) {
	var ev secAuthEvent
	if json.Unmarshal(body, &ev) != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	arn := ev.MethodArn
	reply := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	switch ev.QueryStringParameters["token"] {
	case "allow":
		reply(secAllowResult(arn, ""))
	case "wildcard":
		reply(secAllowResult("arn:aws:execute-api:"+secRegion+":"+secAccount+":*/test/$conn?ct", ""))
	case "key-good":
		reply(secAllowResult(arn, secKeyGood))
	case "key-bogus":
		reply(secAllowResult(arn, "bogus-key-value-00000000"))
	case "deny":
		reply(map[string]any{
			"principalId": "user-1",
			"policyDocument": map[string]any{"Version": "2012-10-17", "Statement": []any{
				secStatement("Allow", "*"), secStatement("Deny", arn),
			}},
		})
	case "nomatch":
		// The same API and stage, another route.
		reply(secAllowResult(strings.TrimSuffix(arn, "$connect")+"$default", ""))
	case "http401":
		w.WriteHeader(http.StatusUnauthorized)
	case "unauthorized":
		reply(map[string]any{"errorMessage": "Unauthorized", "errorType": "Error"})
	case "unauthorized-flagged":
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		reply(map[string]any{"errorMessage": "Unauthorized"})
	case "fnerror":
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		reply(map[string]any{"errorMessage": "boom", "errorType": "Error"})
	case "garbage":
		_, _ = io.WriteString(w, "<html>not an authorizer result</html>")
	case "badeffect":
		reply(map[string]any{
			"principalId":    "user-1",
			"policyDocument": map[string]any{"Version": "2012-10-17", "Statement": []any{secStatement("allow", arn)}},
		})
	case "http500":
		w.WriteHeader(http.StatusInternalServerError)
	case "slow":
		// Answers only after the gateway gave up (timeout_ms) and
		// dropped the request.
		select {
		case <-r.Context().Done():
		case <-time.After(testTimeout):
		}
	default:
		w.WriteHeader(http.StatusBadRequest)
	}
}

// secDeadURL returns the URL of a port on which nothing listens.
func secDeadURL(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "http://" + addr
}

// secEventAuthorizer returns requestContext.authorizer of a recorded
// AWS_PROXY event with its JSON types, and whether it is present.
func secEventAuthorizer(t testing.TB, r recorded) (map[string]any, bool) {
	t.Helper()
	var ev struct {
		RequestContext struct {
			Authorizer map[string]any `json:"authorizer"`
		} `json:"requestContext"`
	}
	if err := json.Unmarshal(r.Body, &ev); err != nil {
		t.Fatalf("decode event %s: %v", r.Body, err)
	}
	return ev.RequestContext.Authorizer, ev.RequestContext.Authorizer != nil
}

// secCheckEventAuthorizer checks that an event carries the allowing
// authorizer's principal, latency and context with their JSON types (RT-40,
// D-42).
func secCheckEventAuthorizer(t testing.TB, eventType string, r recorded) {
	t.Helper()
	a, ok := secEventAuthorizer(t, r)
	if !ok {
		t.Fatalf("RT-40: the %s event has no requestContext.authorizer: %s", eventType, r.Body)
	}
	latency, isNumber := a["integrationLatency"].(float64)
	if !isNumber || latency < 0 || latency != float64(int64(latency)) {
		t.Errorf("RT-40/D-42: %s event: authorizer.integrationLatency %#v is not a whole number of milliseconds", eventType, a["integrationLatency"])
	}
	want := map[string]any{"principalId": "user-1", "user": "alice", "n": float64(42), "admin": true, "ratio": 1.5}
	for k, v := range want {
		if a[k] != v {
			t.Errorf("RT-40/D-42: %s event: authorizer.%s = %#v, want %#v", eventType, k, a[k], v)
		}
	}
	if len(a) != len(want)+1 {
		t.Errorf("RT-40: %s event: authorizer has keys %v, want principalId, integrationLatency and the context keys", eventType, a)
	}
}

// TestRT50CustomAuthorizer runs a CUSTOM authorizer through every outcome
// of RT-50 and D-45: an allowed connection carries the authorizer's
// principal and context on its CONNECT, MESSAGE and DISCONNECT events and in
// templates; Deny and no matching statement are 403; HTTP 401 and the
// function error "Unauthorized" are 401; every other failure is 500; a
// missing identity source is 401 without a call. A refused handshake never
// reaches the $connect integration (D-26).
func TestRT50CustomAuthorizer(t *testing.T) {
	auth := newBackend(t, secAuthorizerReply)
	fn := newBackend(t, echoLambda)
	httpBackend := newBackend(t, nil)
	api := proxyAPI("secure", fn.URL,
		&model.Route{Key: "$connect", Authorization: model.AuthorizationCustom, Authorizer: "session"},
		&model.Route{Key: "$disconnect"},
		&model.Route{Key: "$default", TwoWay: true},
	)
	api.Authorizers = []*model.Authorizer{{
		Name:            "session",
		Type:            "REQUEST",
		URI:             tpl(t, "${stageVariables.authURL}/authorize"),
		IdentitySources: []string{"route.request.querystring.token", "route.request.header.X-Client-Id"},
		TimeoutMS:       1000,
	}}
	api.Integrations = append(api.Integrations, &model.Integration{
		Name: "tpl",
		Type: model.IntegrationHTTP,
		URI:  model.LiteralTemplate(httpBackend.URL + "/tpl"),
		RequestTemplates: map[string]model.Template{"$default": tpl(t,
			`{"principal":"${context.authorizer.principalId}","user":"${context.authorizer.user}","n":${context.authorizer.n},"admin":${context.authorizer.admin},"ratio":${context.authorizer.ratio}}`)},
	})
	api.Routes = append(api.Routes, &model.Route{Key: "tpl", Integration: "tpl"})
	api.Stages = []*model.Stage{
		featStage("test", map[string]string{"authURL": auth.URL}),
		featStage("dead", map[string]string{"authURL": secDeadURL(t)}),
	}
	g := startGateway(t, newState(t, api), Options{Region: secRegion, Account: secAccount})
	client := http.Header{"X-Client-Id": {"ios-4.2"}}

	t.Run("Allow", func(t *testing.T) {
		c := dial(t, g.url("/secure/test?token=allow"), client)
		aev := secAuthEventOf(t, auth.next(t))
		connectEv, connectRec := fn.nextEvent(t, "CONNECT")
		rc := connectEv.RequestContext
		wantARN := "arn:aws:execute-api:" + secRegion + ":" + secAccount + ":" + rc.APIID + "/test/$connect"
		if aev.Type != "REQUEST" || aev.MethodArn != wantARN {
			t.Errorf("RT-50/D-45: authorizer event type %q methodArn %q, want REQUEST %q (Options.Region and Account)", aev.Type, aev.MethodArn, wantARN)
		}
		if aev.RequestContext.ConnectionID != rc.ConnectionID || aev.RequestContext.EventType != "CONNECT" ||
			aev.RequestContext.RouteKey != "$connect" || aev.RequestContext.APIID != rc.APIID || aev.RequestContext.Stage != "test" {
			t.Errorf("D-45: authorizer requestContext %+v, want the CONNECT context of connection %s", aev.RequestContext, rc.ConnectionID)
		}
		if aev.QueryStringParameters["token"] != "allow" || aev.Headers["X-Client-Id"] != "ios-4.2" || aev.StageVariables["authURL"] != auth.URL {
			t.Errorf("RT-50: authorizer event query %v, headers %v, stageVariables %v lack the handshake's values",
				aev.QueryStringParameters, aev.Headers, aev.StageVariables)
		}
		secCheckEventAuthorizer(t, "CONNECT", connectRec)

		c.send(`{"action":"hello"}`)
		if got := c.readText(); got != `{"action":"hello"}` {
			t.Fatalf("echo: %q", got)
		}
		_, msgRec := fn.nextEvent(t, "MESSAGE")
		secCheckEventAuthorizer(t, "MESSAGE", msgRec)

		c.send(`{"action":"tpl"}`)
		want := `{"principal":"user-1","user":"alice","n":42,"admin":true,"ratio":1.5}`
		if got := httpBackend.next(t); string(got.Body) != want {
			t.Errorf("RT-40/D-42: the request template rendered %s, want %s", got.Body, want)
		}

		c.close(1000, "")
		c.expectClose(1000, "")
		_, discRec := fn.nextEvent(t, "DISCONNECT")
		secCheckEventAuthorizer(t, "DISCONNECT", discRec)
	})

	parent := t
	t.Run("Allow by wildcard resource", func(t *testing.T) {
		// The connection stays open until the whole test ends: its
		// $disconnect must not run while the refusals below are checked.
		if _, err := tryDial(parent, g.url("/secure/test?token=wildcard"), client); err != nil {
			t.Fatalf("D-45: a policy allowing .../*/test/$conn?ct: %v, want the handshake accepted", err)
		}
		auth.next(t)
		fn.nextEvent(t, "CONNECT")
	})

	tests := []struct {
		name   string
		path   string
		header http.Header
		want   int
		// called is whether the authorizer endpoint must have been
		// called.
		called bool
	}{
		{"explicit Deny", "/secure/test?token=deny", client, http.StatusForbidden, true},
		{"no matching statement", "/secure/test?token=nomatch", client, http.StatusForbidden, true},
		{"authorizer HTTP 401", "/secure/test?token=http401", client, http.StatusUnauthorized, true},
		{"function error Unauthorized", "/secure/test?token=unauthorized", client, http.StatusUnauthorized, true},
		{"flagged function error Unauthorized", "/secure/test?token=unauthorized-flagged", client, http.StatusUnauthorized, true},
		{"other function error", "/secure/test?token=fnerror", client, http.StatusInternalServerError, true},
		{"garbage reply", "/secure/test?token=garbage", client, http.StatusInternalServerError, true},
		{"invalid Effect", "/secure/test?token=badeffect", client, http.StatusInternalServerError, true},
		{"authorizer HTTP 500", "/secure/test?token=http500", client, http.StatusInternalServerError, true},
		{"authorizer timeout", "/secure/test?token=slow", client, http.StatusInternalServerError, true},
		{"authorizer unreachable", "/secure/dead?token=allow", client, http.StatusInternalServerError, false},
		{"missing query identity source", "/secure/test", client, http.StatusUnauthorized, false},
		{"empty query identity source", "/secure/test?token=", client, http.StatusUnauthorized, false},
		{"missing header identity source", "/secure/test?token=allow", nil, http.StatusUnauthorized, false},
		{"empty header identity source", "/secure/test?token=allow", http.Header{"X-Client-Id": {""}}, http.StatusUnauthorized, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := dialStatus(t, g.url(tt.path), tt.header); got != tt.want {
				t.Fatalf("RT-50/D-45: %s: handshake HTTP %d, want %d", tt.name, got, tt.want)
			}
			if tt.called {
				auth.next(t)
			} else {
				expectNoRequest(t, auth, "RT-50: the authorizer must not be called")
			}
			expectNoRequest(t, fn, "D-26: a refused handshake must not reach the $connect integration")
		})
	}
}

// TestRT50AuthorizerResultCache checks result caching (RT-50): with
// result_ttl_seconds, a second handshake with the same identity-source
// values is decided without calling the authorizer, allowed or denied, and
// still carries the principal; other values, 401 outcomes and an expired
// entry (by Options.Now) call it again.
func TestRT50AuthorizerResultCache(t *testing.T) {
	auth := newBackend(t, secAuthorizerReply)
	fn := newBackend(t, echoLambda)
	api := proxyAPI("cached", fn.URL,
		&model.Route{Key: "$connect", Authorization: model.AuthorizationCustom, Authorizer: "session"},
		&model.Route{Key: "$default", TwoWay: true},
	)
	api.Authorizers = []*model.Authorizer{{
		Name:             "session",
		Type:             "REQUEST",
		URI:              model.LiteralTemplate(auth.URL + "/authorize"),
		IdentitySources:  []string{"route.request.querystring.token", "route.request.header.X-Client-Id"},
		TimeoutMS:        3000,
		ResultTTLSeconds: 300,
	}}
	clock := newTestClock()
	g := startGateway(t, newState(t, api), Options{Now: clock.Now, IdleTimeout: time.Hour, MaxConnectionDuration: time.Hour})
	ios := http.Header{"X-Client-Id": {"ios"}}
	android := http.Header{"X-Client-Id": {"android"}}

	steps := []struct {
		name    string
		token   string
		header  http.Header
		advance time.Duration
		want    int
		called  bool
	}{
		{"first allow", "allow", ios, 0, http.StatusSwitchingProtocols, true},
		{"same identity, cached", "allow", ios, 0, http.StatusSwitchingProtocols, false},
		{"same identity before the TTL ends", "allow", ios, 299 * time.Second, http.StatusSwitchingProtocols, false},
		{"other header value", "allow", android, 0, http.StatusSwitchingProtocols, true},
		{"first deny", "deny", ios, 0, http.StatusForbidden, true},
		{"deny cached", "deny", ios, 0, http.StatusForbidden, false},
		{"first 401", "http401", ios, 0, http.StatusUnauthorized, true},
		{"401 not cached", "http401", ios, 0, http.StatusUnauthorized, true},
		{"after the TTL", "allow", ios, 2 * time.Second, http.StatusSwitchingProtocols, true},
	}
	for _, s := range steps {
		clock.Advance(s.advance)
		url := g.url("/cached/test?token=" + s.token)
		if s.want != http.StatusSwitchingProtocols {
			if got := dialStatus(t, url, s.header); got != s.want {
				t.Fatalf("RT-50: %s: HTTP %d, want %d", s.name, got, s.want)
			}
		} else {
			dial(t, url, s.header)
			_, rec := fn.nextEvent(t, "CONNECT")
			if a, ok := secEventAuthorizer(t, rec); !ok || a["principalId"] != "user-1" || a["user"] != "alice" {
				t.Fatalf("RT-50/RT-40: %s: CONNECT authorizer %v, want the (cached) principal and context", s.name, a)
			}
		}
		if s.called {
			auth.next(t)
		} else {
			expectNoRequest(t, auth, "RT-50: "+s.name+": a cached result must answer without a call")
		}
	}
}

// API key values of the RT-51 tests (20 characters or more).
const (
	secKeyGood     = "good-key-0123456789abcdef"
	secKeyOff      = "off-key-0123456789abcdef"
	secKeyLoner    = "loner-key-0123456789abcdef"
	secKeyProdOnly = "prod-key-0123456789abcdef"
	secKeyTight    = "tight-key-0123456789abcdef"
	secKeyCapped   = "capped-key-0123456789abcdef"
)

// secKeys returns the api keys of the RT-51 tests and their usage plans on
// api: "good" and "off" (disabled) in a plan for stage test, "loner" in no
// plan, "prodonly" in a plan for stage prod only, "tight" throttled to a
// burst of 2 at 1 per second, "capped" with a quota of 3 a day.
func secKeys(api string) ([]*model.APIKey, []*model.UsagePlan) {
	test := []model.UsagePlanStage{{API: api, Stage: "test"}}
	keys := []*model.APIKey{
		{Name: "good", Value: secKeyGood, Enabled: true},
		{Name: "off", Value: secKeyOff, Enabled: false},
		{Name: "loner", Value: secKeyLoner, Enabled: true},
		{Name: "prodonly", Value: secKeyProdOnly, Enabled: true},
		{Name: "tight", Value: secKeyTight, Enabled: true},
		{Name: "capped", Value: secKeyCapped, Enabled: true},
	}
	plans := []*model.UsagePlan{
		{Name: "basic", Stages: test, APIKeys: []string{"good", "off"}},
		{Name: "prodplan", Stages: []model.UsagePlanStage{{API: api, Stage: "prod"}}, APIKeys: []string{"prodonly"}},
		{Name: "tight", Stages: test, Throttle: &model.Throttle{BurstLimit: 2, RateLimit: 1}, APIKeys: []string{"tight"}},
		{Name: "capped", Stages: test, Quota: &model.Quota{Limit: 3, Period: "DAY"}, APIKeys: []string{"capped"}},
	}
	return keys, plans
}

// secKeyHeader returns the x-api-key header carrying value.
func secKeyHeader(value string) http.Header { return http.Header{"X-Api-Key": {value}} }

// secKeyID asks the keyid route for the connection's context.identity.apiKeyId.
func secKeyID(t testing.TB, c *wsClient) string {
	t.Helper()
	c.send(`{"action":"keyid"}`)
	return c.readText()
}

// TestRT51APIKeys checks API keys on $connect (RT-51, D-26, D-41): a key
// that is missing, unknown, disabled or in no usage plan of the stage is
// 403 before the $connect integration runs; a valid key is accepted and is
// context.identity.apiKeyId in templates and access logs; the plan's
// throttle refuses handshakes (429) and messages (Too Many Requests) and
// refills by Options.Now; an exhausted quota refuses both until the next
// period.
func TestRT51APIKeys(t *testing.T) {
	connectFn := newBackend(t, echoLambda)
	stdout := newSyncBuffer()
	test := featStage("test", nil)
	test.AccessLog = &model.AccessLog{Destination: "stdout", Format: `$context.eventType $context.status $context.identity.apiKeyId $context.error.responseType`}
	api := &model.API{
		Name: "keys",
		Integrations: []*model.Integration{
			{Name: "fn", Type: model.IntegrationAWSProxy, URI: model.LiteralTemplate(connectFn.URL)},
			mockReply(t, "keyid", "${context.identity.apiKeyId}"),
		},
		Routes: []*model.Route{
			{Key: "$connect", Integration: "fn", APIKeyRequired: true},
			{Key: "keyid", Integration: "keyid", TwoWay: true},
		},
		Stages: []*model.Stage{test, featStage("prod", nil)},
	}
	st := newState(t, api)
	st.APIKeys, st.UsagePlans = secKeys("keys")
	clock := newTestClock()
	g := startGateway(t, st, Options{Now: clock.Now, AccessLogStdout: stdout, IdleTimeout: 72 * time.Hour, MaxConnectionDuration: 72 * time.Hour})
	accessLine := func(t *testing.T, line string) {
		t.Helper()
		stdout.waitLines(t, 1, func(l string) bool { return l == line })
	}

	refused := []struct {
		name   string
		path   string
		header http.Header
		want   int
		line   string
	}{
		{"missing key", "/keys/test", nil, http.StatusForbidden, "CONNECT 403 - INVALID_API_KEY"},
		{"empty key", "/keys/test", secKeyHeader(""), http.StatusForbidden, ""},
		{"unknown key", "/keys/test", secKeyHeader("no-such-key-0123456789"), http.StatusForbidden, ""},
		{"disabled key", "/keys/test", secKeyHeader(secKeyOff), http.StatusForbidden, "CONNECT 403 off INVALID_API_KEY"},
		{"key in no plan", "/keys/test", secKeyHeader(secKeyLoner), http.StatusForbidden, "CONNECT 403 loner INVALID_API_KEY"},
		{"key in a plan of another stage", "/keys/test", secKeyHeader(secKeyProdOnly), http.StatusForbidden, "CONNECT 403 prodonly INVALID_API_KEY"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			if got := dialStatus(t, g.url(tt.path), tt.header); got != tt.want {
				t.Fatalf("RT-51: %s: handshake HTTP %d, want %d", tt.name, got, tt.want)
			}
			expectNoRequest(t, connectFn, "D-26: a refused key must not reach the $connect integration")
			if tt.line != "" {
				accessLine(t, tt.line)
			}
		})
	}

	t.Run("valid key", func(t *testing.T) {
		c := dial(t, g.url("/keys/test"), secKeyHeader(secKeyGood))
		connectFn.nextEvent(t, "CONNECT")
		if got := secKeyID(t, c); got != "good" {
			t.Fatalf("RT-51: context.identity.apiKeyId in a template = %q, want good", got)
		}
		accessLine(t, "CONNECT 200 good -")
		accessLine(t, "MESSAGE 200 good -")
		// The key's plan covers stage prod only for prodonly.
		dial(t, g.url("/keys/prod"), secKeyHeader(secKeyProdOnly))
		connectFn.nextEvent(t, "CONNECT")
	})

	t.Run("usage plan throttle", func(t *testing.T) {
		c := dial(t, g.url("/keys/test"), secKeyHeader(secKeyTight)) // token 1 of 2
		connectFn.nextEvent(t, "CONNECT")
		if got := secKeyID(t, c); got != "tight" { // token 2 of 2
			t.Fatalf("RT-51: apiKeyId %q, want tight", got)
		}
		c.send(`{"action":"keyid"}`)
		parseErrorFrame(t, messageTooManyRequests, c.readText())
		accessLine(t, "MESSAGE 429 tight THROTTLED")
		if got := dialStatus(t, g.url("/keys/test"), secKeyHeader(secKeyTight)); got != http.StatusTooManyRequests {
			t.Fatalf("RT-51/D-41: handshake with a throttled key: HTTP %d, want 429", got)
		}
		expectNoRequest(t, connectFn, "D-26: a throttled key must not reach the $connect integration")
		accessLine(t, "CONNECT 429 tight THROTTLED")
		// Other keys have buckets of their own.
		dial(t, g.url("/keys/test"), secKeyHeader(secKeyGood))
		connectFn.nextEvent(t, "CONNECT")
		clock.Advance(time.Second)
		if got := secKeyID(t, c); got != "tight" {
			t.Fatalf("RT-51: after a second the key's bucket has a token again; got %q", got)
		}
	})

	t.Run("quota", func(t *testing.T) {
		c := dial(t, g.url("/keys/test"), secKeyHeader(secKeyCapped)) // 1 of 3
		connectFn.nextEvent(t, "CONNECT")
		for i := 2; i <= 3; i++ {
			if got := secKeyID(t, c); got != "capped" {
				t.Fatalf("RT-51: request %d of a quota of 3: %q", i, got)
			}
		}
		c.send(`{"action":"keyid"}`)
		parseErrorFrame(t, messageTooManyRequests, c.readText())
		accessLine(t, "MESSAGE 429 capped QUOTA_EXCEEDED")
		if got := dialStatus(t, g.url("/keys/test"), secKeyHeader(secKeyCapped)); got != http.StatusTooManyRequests {
			t.Fatalf("RT-51: handshake with an exhausted quota: HTTP %d, want 429", got)
		}
		expectNoRequest(t, connectFn, "D-26: a key over quota must not reach the $connect integration")
		accessLine(t, "CONNECT 429 capped QUOTA_EXCEEDED")
		clock.Advance(24 * time.Hour)
		if got := secKeyID(t, c); got != "capped" {
			t.Fatalf("RT-51: the next day's quota admits the key again; got %q", got)
		}
	})

	t.Run("key disabled by a reload", func(t *testing.T) {
		c := dial(t, g.url("/keys/test"), secKeyHeader(secKeyGood))
		connectFn.nextEvent(t, "CONNECT")
		next := st.Clone()
		next.Serial++
		for _, k := range next.APIKeys {
			if k.Name == "good" {
				k.Enabled = false
			}
		}
		if err := g.srv.Load(next); err != nil {
			t.Fatalf("Load: %v", err)
		}
		// D-41: each message is checked by the configuration in force.
		c.send(`{"action":"keyid"}`)
		parseErrorFrame(t, messageForbidden, c.readText())
		if got := dialStatus(t, g.url("/keys/test"), secKeyHeader(secKeyGood)); got != http.StatusForbidden {
			t.Fatalf("RT-51: handshake with a key disabled by a reload: HTTP %d, want 403", got)
		}
		expectNoRequest(t, connectFn, "D-26: a refused key must not reach the $connect integration")
	})
}

// TestRT51UsageIdentifierKey checks api_key_selection_expression
// $context.authorizer.usageIdentifierKey (RT-51, D-26): the key is the one
// the authorizer returned, whatever x-api-key says, and is checked after the
// authorizer.
func TestRT51UsageIdentifierKey(t *testing.T) {
	auth := newBackend(t, secAuthorizerReply)
	connectFn := newBackend(t, echoLambda)
	api := &model.API{
		Name:                      "uik",
		APIKeySelectionExpression: "$context.authorizer.usageIdentifierKey",
		Integrations: []*model.Integration{
			{Name: "fn", Type: model.IntegrationAWSProxy, URI: model.LiteralTemplate(connectFn.URL)},
			mockReply(t, "keyid", "${context.identity.apiKeyId}"),
		},
		Authorizers: []*model.Authorizer{{
			Name: "session", Type: "REQUEST", URI: model.LiteralTemplate(auth.URL),
			IdentitySources: []string{"route.request.querystring.token"}, TimeoutMS: 3000,
		}},
		Routes: []*model.Route{
			{Key: "$connect", Integration: "fn", Authorization: model.AuthorizationCustom, Authorizer: "session", APIKeyRequired: true},
			{Key: "keyid", Integration: "keyid", TwoWay: true},
		},
	}
	st := newState(t, api)
	st.APIKeys, st.UsagePlans = secKeys("uik")
	g := startGateway(t, st, Options{Region: secRegion, Account: secAccount})

	t.Run("key from the authorizer", func(t *testing.T) {
		c := dial(t, g.url("/uik/test?token=key-good"), secKeyHeader("ignored-header-value-000"))
		auth.next(t)
		_, rec := connectFn.nextEvent(t, "CONNECT")
		secCheckEventAuthorizer(t, "CONNECT", rec)
		if got := secKeyID(t, c); got != "good" {
			t.Fatalf("RT-51: apiKeyId %q, want good (the authorizer's usageIdentifierKey)", got)
		}
	})
	refused := []struct {
		name, token string
		header      http.Header
		want        int
	}{
		{"unknown usageIdentifierKey", "key-bogus", secKeyHeader(secKeyGood), http.StatusForbidden},
		{"no usageIdentifierKey", "allow", secKeyHeader(secKeyGood), http.StatusForbidden},
		{"authorizer denies a valid key", "deny", nil, http.StatusForbidden},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			if got := dialStatus(t, g.url("/uik/test?token="+tt.token), tt.header); got != tt.want {
				t.Fatalf("RT-51/D-26: %s: HTTP %d, want %d", tt.name, got, tt.want)
			}
			auth.next(t) // D-26: the authorizer runs before the key check
			expectNoRequest(t, connectFn, "D-26: a refused handshake must not reach the $connect integration")
		})
	}
}

// Credentials of the SigV4 tests.
const (
	secAccessKeyID = "AKIDSECURITYTEST0001"
	secSecret      = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECURITY01"
	secAccessKey2  = "AKIDSECURITYTEST0002"
	secSecret2     = "second-secret-of-the-security-tests-0002"
)

// secEmptySHA256 is the payload hash of a request without a body.
var secEmptySHA256 = func() string { s := sha256.Sum256(nil); return hex.EncodeToString(s[:]) }()

// secCreds returns the aws.Credentials of a key pair.
func secCreds(id, secret string) aws.Credentials {
	return aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}
}

// secSignedHeaders signs a GET of path on the gateway in the Authorization
// header form with the SDK's signer, at the given time, and returns the
// headers the dialer must add: X-Client-Id (a header of the client's own,
// signed), X-Amz-Date and Authorization. Host is the one the dialer sends.
func secSignedHeaders(t testing.TB, g *testGateway, path string, creds aws.Credentials, service string, at time.Time) http.Header {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, g.httpURL(path), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Client-Id", "ios")
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, secEmptySHA256, service, secRegion, at); err != nil {
		t.Fatalf("SignHTTP: %v", err)
	}
	return req.Header
}

// secPresignedURL presigns a GET of path on the gateway with the SDK's
// signer, valid for expires from at, and returns it as a ws:// URL.
func secPresignedURL(t testing.TB, g *testGateway, path string, creds aws.Credentials, expires time.Duration, at time.Time) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, g.httpURL(path), nil)
	if err != nil {
		t.Fatal(err)
	}
	q := req.URL.Query()
	q.Set("X-Amz-Expires", strconv.Itoa(int(expires/time.Second)))
	req.URL.RawQuery = q.Encode()
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, secEmptySHA256, "execute-api", secRegion, at)
	if err != nil {
		t.Fatalf("PresignHTTP: %v", err)
	}
	return "ws" + strings.TrimPrefix(u, "http")
}

// TestRT52SigV4Handshake checks AWS_IAM on $connect (RT-52): handshakes
// signed by the SDK's signer, in the header form and as a presigned URL,
// are accepted; unsigned, tampered, expired, skewed, unknown-key,
// wrong-secret and wrong-service handshakes get 403 before the $connect
// integration runs (D-26). Time is the gateway's Options.Now.
func TestRT52SigV4Handshake(t *testing.T) {
	fn := newBackend(t, echoLambda)
	api := proxyAPI("iam", fn.URL,
		&model.Route{Key: "$connect", Authorization: model.AuthorizationIAM},
		&model.Route{Key: "$default", TwoWay: true},
	)
	st := newState(t, api)
	st.Credentials = []*model.Credentials{
		{Name: "ops", AccessKeyID: secAccessKeyID, SecretAccessKey: secSecret},
		{Name: "ci", AccessKeyID: secAccessKey2, SecretAccessKey: secSecret2},
	}
	clock := newTestClock()
	g := startGateway(t, st, Options{Now: clock.Now, IdleTimeout: time.Hour, MaxConnectionDuration: time.Hour})
	good := secCreds(secAccessKeyID, secSecret)
	withToken := good
	withToken.SessionToken = "session-token"
	now := clock.Now()

	accept := func(t *testing.T, what, url string, header http.Header) {
		t.Helper()
		c, err := tryDial(t, url, header)
		if err != nil {
			t.Fatalf("RT-52: %s: %v, want the handshake accepted", what, err)
		}
		fn.nextEvent(t, "CONNECT")
		c.send("signed")
		if got := c.readText(); got != "signed" {
			t.Fatalf("echo: %q", got)
		}
		fn.nextEvent(t, "MESSAGE")
	}
	refuse := func(t *testing.T, what, url string, header http.Header) {
		t.Helper()
		if got := dialStatus(t, url, header); got != http.StatusForbidden {
			t.Fatalf("RT-52: %s: HTTP %d, want 403", what, got)
		}
		expectNoRequest(t, fn, "D-26: "+what+" must not reach the $connect integration")
	}

	presigned := secPresignedURL(t, g, "/iam/test?room=1", good, time.Minute, now)
	tests := []struct {
		name   string
		url    string
		header http.Header
		ok     bool
	}{
		{"header signature", g.url("/iam/test?room=1"), secSignedHeaders(t, g, "/iam/test?room=1", good, "execute-api", now), true},
		{"header signature by the second credentials", g.url("/iam/test"), secSignedHeaders(t, g, "/iam/test", secCreds(secAccessKey2, secSecret2), "execute-api", now), true},
		{"header signature 4 minutes old", g.url("/iam/test"), secSignedHeaders(t, g, "/iam/test", good, "execute-api", now.Add(-4*time.Minute)), true},
		{"presigned URL", presigned, nil, true},
		{"presigned URL with a session token", secPresignedURL(t, g, "/iam/test", withToken, time.Minute, now), nil, true},
		{"header signature with a session token", g.url("/iam/test"), secSignedHeaders(t, g, "/iam/test", withToken, "execute-api", now), true},
		{"unsigned", g.url("/iam/test"), nil, false},
		{"header signature, query changed", g.url("/iam/test?room=2"), secSignedHeaders(t, g, "/iam/test?room=1", good, "execute-api", now), false},
		{"header signature, parameter added", g.url("/iam/test?room=1&x"), secSignedHeaders(t, g, "/iam/test?room=1", good, "execute-api", now), false},
		{"header signature, signed header changed", g.url("/iam/test"), func() http.Header {
			h := secSignedHeaders(t, g, "/iam/test", good, "execute-api", now)
			h.Set("X-Client-Id", "android")
			return h
		}(), false},
		{"presigned URL, parameter added", presigned + "&room=2", nil, false},
		{"presigned URL, expiry changed", strings.Replace(presigned, "X-Amz-Expires=60", "X-Amz-Expires=600", 1), nil, false},
		{"presigned URL, signature changed", presigned[:len(presigned)-1] + map[bool]string{true: "1", false: "0"}[strings.HasSuffix(presigned, "0")], nil, false},
		{"skewed X-Amz-Date, 6 minutes old", g.url("/iam/test"), secSignedHeaders(t, g, "/iam/test", good, "execute-api", now.Add(-6*time.Minute)), false},
		{"skewed X-Amz-Date, 6 minutes ahead", g.url("/iam/test"), secSignedHeaders(t, g, "/iam/test", good, "execute-api", now.Add(6*time.Minute)), false},
		{"presigned URL signed 2 minutes ago for 60 seconds", secPresignedURL(t, g, "/iam/test", good, time.Minute, now.Add(-2*time.Minute)), nil, false},
		{"unknown key", g.url("/iam/test"), secSignedHeaders(t, g, "/iam/test", secCreds("AKIDUNKNOWN000000000", secSecret), "execute-api", now), false},
		{"wrong secret", g.url("/iam/test"), secSignedHeaders(t, g, "/iam/test", secCreds(secAccessKeyID, secSecret2), "execute-api", now), false},
		{"other service", g.url("/iam/test"), secSignedHeaders(t, g, "/iam/test", good, "s3", now), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.ok {
				accept(t, tt.name, tt.url, tt.header)
			} else {
				refuse(t, tt.name, tt.url, tt.header)
			}
		})
	}

	t.Run("presigned URL expires by the gateway's clock", func(t *testing.T) {
		u := secPresignedURL(t, g, "/iam/test", good, time.Minute, clock.Now())
		accept(t, "fresh presigned URL", u, nil)
		clock.Advance(59 * time.Second)
		accept(t, "presigned URL 59 s into its 60", u, nil)
		clock.Advance(2 * time.Second)
		refuse(t, "expired presigned URL", u, nil)
	})
	t.Run("header signature ages by the gateway's clock", func(t *testing.T) {
		h := secSignedHeaders(t, g, "/iam/test", good, "execute-api", clock.Now())
		accept(t, "fresh signature", g.url("/iam/test"), h)
		clock.Advance(5*time.Minute + time.Second)
		refuse(t, "signature older than 5 minutes", g.url("/iam/test"), h)
	})
}

// TestRT52SigV4WithoutCredentials checks that an AWS_IAM route refuses
// every handshake (403) when no credentials are configured to verify
// signatures against.
func TestRT52SigV4WithoutCredentials(t *testing.T) {
	fn := newBackend(t, echoLambda)
	api := proxyAPI("iam", fn.URL, &model.Route{Key: "$connect", Authorization: model.AuthorizationIAM})
	g := startGateway(t, newState(t, api), Options{})
	h := secSignedHeaders(t, g, "/iam/test", secCreds(secAccessKeyID, secSecret), "execute-api", time.Now())
	if got := dialStatus(t, g.url("/iam/test"), h); got != http.StatusForbidden {
		t.Fatalf("RT-52: signed handshake with no credentials configured: HTTP %d, want 403", got)
	}
	expectNoRequest(t, fn, "D-26: a refused handshake must not reach the $connect integration")
}

// secSDK returns the real ApiGatewayManagementApi client for the gateway's
// base ("/test", "/chat/test"), signing with id and secret; wrap, when not
// nil, wraps its transport.
func secSDK(t testing.TB, baseURL, id, secret string, wrap func(http.RoundTripper) http.RoundTripper) *apigatewaymanagementapi.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	var rt http.RoundTripper = tr
	if wrap != nil {
		rt = wrap(tr)
	}
	return apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		BaseEndpoint:     aws.String(baseURL),
		Region:           secRegion,
		Credentials:      credentials.NewStaticCredentialsProvider(id, secret, ""),
		RetryMaxAttempts: 1,
		HTTPClient:       &http.Client{Transport: rt, Timeout: testTimeout},
	})
}

// secTamper is a transport that sends POST requests with another body of
// the same length as the one the SDK signed.
type secTamper struct {
	next http.RoundTripper
	body []byte
}

func (s secTamper) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodPost {
		return s.next.RoundTrip(r)
	}
	signed, err := io.ReadAll(r.Body)
	_ = r.Body.Close()
	if err != nil {
		return nil, err
	}
	if len(signed) != len(s.body) {
		return nil, errors.New("secTamper: the replacement body must have the signed body's length")
	}
	r = r.Clone(r.Context())
	r.Body = io.NopCloser(bytes.NewReader(s.body))
	r.GetBody = nil
	return s.next.RoundTrip(r)
}

// TestRT2ConnectionsSigV4 checks the @connections API with credentials
// configured (RT-2, D-28): the real client signing with either configured
// key posts, gets and deletes, also from a non-loopback address; a wrong
// secret, an unknown key, an unsigned call and a body other than the signed
// one are ForbiddenException, and reach nothing.
func TestRT2ConnectionsSigV4(t *testing.T) {
	fn := newBackend(t, echoLambda)
	st := newState(t, proxyAPI("chat", fn.URL, &model.Route{Key: "$connect"}, &model.Route{Key: "$disconnect"}, &model.Route{Key: "$default", TwoWay: true}))
	st.Credentials = []*model.Credentials{
		{Name: "ops", AccessKeyID: secAccessKeyID, SecretAccessKey: secSecret},
		{Name: "ci", AccessKeyID: secAccessKey2, SecretAccessKey: secSecret2},
	}
	g := startGateway(t, st, Options{})
	c, id := connsDial(t, g, fn, "/chat/test", nil)
	// nothingDelivered checks that no refused call reached the client: the
	// echo of a message sent now is the next thing it receives.
	nothingDelivered := func(t *testing.T) {
		t.Helper()
		c.send("ping")
		if got := c.readText(); got != "ping" {
			t.Fatalf("D-28: a refused call delivered %q", got)
		}
		fn.nextEvent(t, "MESSAGE")
	}

	t.Run("signed", func(t *testing.T) {
		for _, tc := range []struct{ base, id, secret string }{
			{"/test", secAccessKeyID, secSecret},
			{"/chat/test", secAccessKey2, secSecret2},
		} {
			api := secSDK(t, g.httpURL(tc.base), tc.id, tc.secret, nil)
			msg := "hello via " + tc.base
			if _, err := api.PostToConnection(connsCtx(t), &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: []byte(msg)}); err != nil {
				t.Fatalf("RT-2: signed PostToConnection on %s by %s: %v", tc.base, tc.id, err)
			}
			if got := c.readText(); got != msg {
				t.Fatalf("RT-2: the client received %q, want %q", got, msg)
			}
			out, err := api.GetConnection(connsCtx(t), &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)})
			if err != nil {
				t.Fatalf("RT-2: signed GetConnection: %v", err)
			}
			if out.Identity == nil || aws.ToString(out.Identity.SourceIp) != "127.0.0.1" {
				t.Fatalf("RT-2: GetConnection identity %+v", out.Identity)
			}
		}
	})

	t.Run("signed from a non-loopback address", func(t *testing.T) {
		// D-28: with credentials, the signature decides, not the source.
		handler := g.srv.httpSrv.Handler
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.RemoteAddr = "203.0.113.5:1234"
			handler.ServeHTTP(w, r)
		}))
		defer srv.Close()
		api := secSDK(t, srv.URL+"/test", secAccessKeyID, secSecret, nil)
		if _, err := api.GetConnection(connsCtx(t), &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)}); err != nil {
			t.Fatalf("D-28: signed GetConnection from 203.0.113.5: %v", err)
		}
	})

	refused := []struct {
		name string
		api  *apigatewaymanagementapi.Client
	}{
		{"wrong secret", secSDK(t, g.httpURL("/test"), secAccessKeyID, secSecret2, nil)},
		{"unknown key", secSDK(t, g.httpURL("/test"), "AKIDUNKNOWN000000000", secSecret, nil)},
		{"tampered body", secSDK(t, g.httpURL("/test"), secAccessKeyID, secSecret, func(rt http.RoundTripper) http.RoundTripper {
			return secTamper{next: rt, body: []byte("tampered")}
		})},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			var forbidden *types.ForbiddenException
			_, err := tt.api.PostToConnection(connsCtx(t), &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: []byte("original")})
			if !errors.As(err, &forbidden) {
				t.Fatalf("RT-2/D-28: %s: PostToConnection: %v, want ForbiddenException", tt.name, err)
			}
			if tt.name != "tampered body" {
				if _, err := tt.api.GetConnection(connsCtx(t), &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)}); !errors.As(err, &forbidden) {
					t.Fatalf("RT-2/D-28: %s: GetConnection: %v, want ForbiddenException", tt.name, err)
				}
				if _, err := tt.api.DeleteConnection(connsCtx(t), &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String(id)}); !errors.As(err, &forbidden) {
					t.Fatalf("RT-2/D-28: %s: DeleteConnection: %v, want ForbiddenException", tt.name, err)
				}
			}
			nothingDelivered(t)
		})
	}

	t.Run("signed body over the limit", func(t *testing.T) {
		// RT-2: 413, as without credentials; the signature over a body
		// the gateway does not read in full cannot decide it.
		api := secSDK(t, g.httpURL("/test"), secAccessKeyID, secSecret, nil)
		for _, size := range []int{MaxMessageSize + 1, 3 * MaxMessageSize} {
			_, err := api.PostToConnection(connsCtx(t), &apigatewaymanagementapi.PostToConnectionInput{
				ConnectionId: aws.String(id), Data: bytes.Repeat([]byte("y"), size),
			})
			var tooLarge *types.PayloadTooLargeException
			if !errors.As(err, &tooLarge) {
				t.Fatalf("RT-2: signed PostToConnection of %d bytes with credentials configured: %v, want PayloadTooLargeException", size, err)
			}
		}
		nothingDelivered(t)
	})

	t.Run("unsigned", func(t *testing.T) {
		for _, method := range []string{http.MethodPost, http.MethodGet, http.MethodDelete} {
			resp, body := connsRaw(t, g, method, "/test/@connections/"+id, []byte("unsigned"))
			if resp.StatusCode != http.StatusForbidden || resp.Header.Get("x-amzn-ErrorType") != "ForbiddenException" || string(body) != `{"message":"Forbidden"}` {
				t.Fatalf("D-28/D-30: unsigned %s from loopback with credentials configured: HTTP %d %s %q, want 403 ForbiddenException {\"message\":\"Forbidden\"}",
					method, resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), body)
			}
		}
		nothingDelivered(t)
	})

	t.Run("signed delete", func(t *testing.T) {
		api := secSDK(t, g.httpURL("/test"), secAccessKeyID, secSecret, nil)
		if _, err := api.DeleteConnection(connsCtx(t), &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String(id)}); err != nil {
			t.Fatalf("RT-2: signed DeleteConnection: %v", err)
		}
		c.expectClose(1000, "Connection Closed Normally")
		fn.nextEvent(t, "DISCONNECT")
	})
}

// secCert is a self-signed certificate generated for a test.
type secCert struct {
	tls  tls.Certificate
	x509 *x509.Certificate
	// certPEM and keyPEM are its files' contents.
	certPEM, keyPEM []byte
}

// newSecCert generates a self-signed ECDSA certificate for host.
func newSecCert(t testing.TB, host string) *secCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: host},
		DNSNames:              []string{host},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	c := &secCert{
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
	if c.tls, err = tls.X509KeyPair(c.certPEM, c.keyPEM); err != nil {
		t.Fatal(err)
	}
	if c.x509, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	return c
}

// write writes the certificate and its key as name.pem and name-key.pem in
// dir.
func (c *secCert) write(t testing.TB, dir, name string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name+".pem"), c.certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+"-key.pem"), c.keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
}

// secServeTLS serves the gateway on a second, TLS listener on 127.0.0.1:0,
// as serve --tls-cert does, and returns its address. Cleanup shuts the
// gateway down and waits for that Serve too, before startGateway's leak
// check.
func secServeTLS(t testing.TB, g *testGateway, def *tls.Certificate) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- g.srv.Serve(tls.NewListener(ln, g.srv.TLSConfig(def))) }()
	t.Cleanup(func() {
		g.shutdown()
		if err := <-done; err != nil {
			t.Errorf("Serve on the TLS listener: %v", err)
		}
	})
	return ln.Addr().String()
}

// secTLSDial performs a TLS handshake with addr and returns the connection
// state.
func secTLSDial(addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: testTimeout}, Config: cfg}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer nc.Close()
	return nc.(*tls.Conn).ConnectionState(), nil
}

// TestCLI9TLSAndRT1DomainNames checks wss:// serving (CLI-9, RT-1): TLS
// below 1.2 is refused and 1.2 and 1.3 are accepted; SNI picks each
// domain_name's certificate (files relative to Options.Dir) and falls back
// to the --tls-cert one; a domain mapping routes wss://HOST/base to its
// stage, which sees the connection as https; a state whose certificate
// cannot be loaded is refused and the served certificates stay.
func TestCLI9TLSAndRT1DomainNames(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "certs"), 0o700); err != nil {
		t.Fatal(err)
	}
	certA, certB, def := newSecCert(t, "a.example.com"), newSecCert(t, "b.example.com"), newSecCert(t, "gateway.local")
	certA.write(t, filepath.Join(dir, "certs"), "a")
	certB.write(t, filepath.Join(dir, "certs"), "b")
	roots := x509.NewCertPool()
	for _, c := range []*secCert{certA, certB, def} {
		roots.AddCert(c.x509)
	}

	fn := newBackend(t, echoLambda)
	chat := proxyAPI("chat", fn.URL, &model.Route{Key: "$connect"}, &model.Route{Key: "$default", TwoWay: true})
	chat.Stages = []*model.Stage{featStage("test", nil), featStage("prod", nil)}
	st := newState(t, chat)
	st.DomainNames = []*model.DomainName{
		{Host: "a.example.com", CertificateFile: "certs/a.pem", PrivateKeyFile: "certs/a-key.pem",
			Mappings: []model.Mapping{{BasePath: "base", API: "chat", Stage: "test"}}},
		{Host: "b.example.com", CertificateFile: filepath.Join(dir, "certs", "b.pem"), PrivateKeyFile: filepath.Join(dir, "certs", "b-key.pem"),
			Mappings: []model.Mapping{{BasePath: "", API: "chat", Stage: "prod"}}},
	}
	g := startGateway(t, st, Options{Dir: dir})
	addr := secServeTLS(t, g, &def.tls)
	parent := t

	t.Run("versions", func(t *testing.T) {
		tests := []struct {
			name     string
			min, max uint16
			ok       bool
		}{
			{"TLS 1.0", tls.VersionTLS10, tls.VersionTLS10, false},
			{"TLS 1.1", tls.VersionTLS10, tls.VersionTLS11, false},
			{"TLS 1.2", tls.VersionTLS12, tls.VersionTLS12, true},
			{"TLS 1.3", tls.VersionTLS13, tls.VersionTLS13, true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				cs, err := secTLSDial(addr, &tls.Config{ServerName: "a.example.com", RootCAs: roots, MinVersion: tt.min, MaxVersion: tt.max})
				switch {
				case tt.ok && err != nil:
					t.Fatalf("CLI-9: %s handshake refused: %v", tt.name, err)
				case tt.ok && cs.Version != tt.max:
					t.Fatalf("CLI-9: negotiated version %x, want %x", cs.Version, tt.max)
				case !tt.ok && err == nil:
					t.Fatalf("CLI-9: a %s client was accepted (version %x); TLS 1.2 is the minimum", tt.name, cs.Version)
				case !tt.ok && !strings.Contains(err.Error(), "protocol version"):
					t.Fatalf("CLI-9: %s refused with %v, want a protocol version alert", tt.name, err)
				}
			})
		}
	})

	t.Run("SNI", func(t *testing.T) {
		tests := []struct {
			serverName string
			want       *secCert
			verify     bool
		}{
			{"a.example.com", certA, true},
			{"b.example.com", certB, true},
			{"A.Example.COM", certA, true},
			{"c.example.com", def, false},
			{"", def, false},
		}
		for _, tt := range tests {
			t.Run("server name "+tt.serverName, func(t *testing.T) {
				cfg := &tls.Config{ServerName: tt.serverName, RootCAs: roots, InsecureSkipVerify: !tt.verify}
				cs, err := secTLSDial(addr, cfg)
				if err != nil {
					t.Fatalf("RT-1: TLS handshake with server name %q: %v", tt.serverName, err)
				}
				if got := cs.PeerCertificates[0]; !bytes.Equal(got.Raw, tt.want.x509.Raw) {
					t.Fatalf("RT-1: server name %q got the certificate of %v, want %v", tt.serverName, got.DNSNames, tt.want.x509.DNSNames)
				}
			})
		}
	})

	wss := func(t *testing.T, host, path string) (*wsClient, error) {
		t.Helper()
		d := ws.Dialer{
			Timeout:   testTimeout,
			TLSConfig: &tls.Config{RootCAs: roots, ServerName: host},
			NetDial: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			},
		}
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		_, port, _ := net.SplitHostPort(addr)
		nc, br, _, err := d.Dial(ctx, "wss://"+host+":"+port+path)
		if err != nil {
			return nil, err
		}
		t.Cleanup(func() { _ = nc.Close() })
		c := &wsClient{t: t, conn: nc, br: br}
		if br == nil {
			c.br = bufio.NewReader(nc)
		}
		return c, nil
	}

	t.Run("domain mappings over wss", func(t *testing.T) {
		_, port, _ := net.SplitHostPort(addr)
		for _, tc := range []struct{ host, path, stage string }{
			{"a.example.com", "/base", "test"},
			{"b.example.com", "/", "prod"},
		} {
			c, err := wss(t, tc.host, tc.path)
			if err != nil {
				t.Fatalf("RT-1: wss://%s%s: %v", tc.host, tc.path, err)
			}
			ev, _ := fn.nextEvent(t, "CONNECT")
			if ev.RequestContext.Stage != tc.stage || ev.RequestContext.DomainName != tc.host+":"+port {
				t.Fatalf("RT-1: wss://%s%s served stage %q domainName %q, want %q %q", tc.host, tc.path, ev.RequestContext.Stage, ev.RequestContext.DomainName, tc.stage, tc.host+":"+port)
			}
			if got := ev.Headers["X-Forwarded-Proto"]; got != "https" {
				t.Errorf("RT-40/D-42: X-Forwarded-Proto over TLS is %q, want https", got)
			}
			c.send("over tls")
			if got := c.readText(); got != "over tls" {
				t.Fatalf("echo over wss: %q", got)
			}
		}
		var se ws.StatusError
		if _, err := wss(t, "a.example.com", "/other"); !errors.As(err, &se) || int(se) != http.StatusNotFound {
			t.Fatalf("RT-1: an unmapped base path over wss: %v, want HTTP 404", err)
		}
	})

	t.Run("without a default certificate", func(t *testing.T) {
		// TLSConfig(nil): a name no domain_name has is refused.
		noDefault := secServeTLS(parent, g, nil)
		if _, err := secTLSDial(noDefault, &tls.Config{ServerName: "c.example.com", InsecureSkipVerify: true}); err == nil {
			t.Fatal("RT-1: without a default certificate, an unknown server name was served")
		}
		cs, err := secTLSDial(noDefault, &tls.Config{ServerName: "b.example.com", RootCAs: roots})
		if err != nil || !bytes.Equal(cs.PeerCertificates[0].Raw, certB.x509.Raw) {
			t.Fatalf("RT-1: without a default certificate, b.example.com: %v", err)
		}
	})

	t.Run("certificate that does not load", func(t *testing.T) {
		bad := st.Clone()
		bad.Serial++
		bad.DomainNames[0].CertificateFile = "certs/missing.pem"
		err := g.srv.Load(bad)
		if err == nil || !strings.Contains(err.Error(), "a.example.com") {
			t.Fatalf("RT-30: Load with a missing certificate: %v, want an error naming domain_name a.example.com", err)
		}
		cs, err := secTLSDial(addr, &tls.Config{ServerName: "a.example.com", RootCAs: roots})
		if err != nil || !bytes.Equal(cs.PeerCertificates[0].Raw, certA.x509.Raw) {
			t.Fatalf("RT-30: after a failed load a.example.com must keep its certificate: %v", err)
		}
	})
}

// secDialFrom is tryDial from the local address ip: every 127.0.0.0/8
// address reaches the gateway's 127.0.0.1 listener, which makes distinct
// source addresses for the per-address limits.
func secDialFrom(t testing.TB, ip, url string) (*wsClient, error) {
	t.Helper()
	d := ws.Dialer{
		Timeout: testTimeout,
		NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			nd := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
			return nd.DialContext(ctx, network, addr)
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	nc, br, _, err := d.Dial(ctx, url)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = nc.Close() })
	c := &wsClient{t: t, conn: nc, br: br}
	if br == nil {
		c.br = bufio.NewReader(nc)
	}
	return c, nil
}

// secStatusFrom returns the HTTP status of a handshake from ip: 101, or the
// status that refused it. An accepted connection stays open.
func secStatusFrom(t testing.TB, ip, url string) (int, *wsClient) {
	t.Helper()
	c, err := secDialFrom(t, ip, url)
	if err == nil {
		return http.StatusSwitchingProtocols, c
	}
	var se ws.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("dial %s from %s: %v", url, ip, err)
	}
	return int(se), nil
}

// secLimitsGateway serves API "lim" ($connect, $disconnect, echoing
// $default) with opts.
func secLimitsGateway(t testing.TB, opts Options) (*testGateway, *backend) {
	t.Helper()
	fn := newBackend(t, echoLambda)
	api := proxyAPI("lim", fn.URL, &model.Route{Key: "$connect"}, &model.Route{Key: "$disconnect"}, &model.Route{Key: "$default", TwoWay: true})
	return startGateway(t, newState(t, api), opts), fn
}

// TestLimitsConnectionsPerIP checks --max-connections-per-ip (issue 6
// hardening): the handshake beyond the limit from one address gets 503
// before $connect runs, other addresses are not affected, and closing a
// connection frees its slot.
func TestLimitsConnectionsPerIP(t *testing.T) {
	g, fn := secLimitsGateway(t, Options{MaxConnectionsPerIP: 3})
	url := g.url("/lim/test")
	var open []*wsClient
	for i := 0; i < 3; i++ {
		status, c := secStatusFrom(t, "127.0.0.1", url)
		if status != http.StatusSwitchingProtocols {
			t.Fatalf("max-connections-per-ip: handshake %d of 3: HTTP %d", i+1, status)
		}
		fn.nextEvent(t, "CONNECT")
		open = append(open, c)
	}
	if status, _ := secStatusFrom(t, "127.0.0.1", url); status != http.StatusServiceUnavailable {
		t.Fatalf("max-connections-per-ip: 4th handshake from 127.0.0.1: HTTP %d, want 503", status)
	}
	expectNoRequest(t, fn, "max-connections-per-ip: a refused handshake must not reach $connect")
	if status, _ := secStatusFrom(t, "127.0.0.2", url); status != http.StatusSwitchingProtocols {
		t.Fatalf("max-connections-per-ip: handshake from 127.0.0.2: HTTP %d, want 101 (the limit is per address)", status)
	}
	fn.nextEvent(t, "CONNECT")

	open[0].close(1000, "")
	open[0].expectClose(1000, "")
	// The slot is freed before $disconnect runs.
	fn.nextEvent(t, "DISCONNECT")
	if status, _ := secStatusFrom(t, "127.0.0.1", url); status != http.StatusSwitchingProtocols {
		t.Fatalf("max-connections-per-ip: handshake after a close: HTTP %d, want 101", status)
	}
	fn.nextEvent(t, "CONNECT")
	if status, _ := secStatusFrom(t, "127.0.0.1", url); status != http.StatusServiceUnavailable {
		t.Fatalf("max-connections-per-ip: handshake beyond the limit again: HTTP %d, want 503", status)
	}
}

// TestLimitsRefusedHandshakesFreeTheirSlot checks that a handshake that
// $connect refuses gives its per-address slot back (issue 6 hardening): an
// address at --max-connections-per-ip 1 can connect after any number of
// refused attempts.
func TestLimitsRefusedHandshakesFreeTheirSlot(t *testing.T) {
	fn := newBackend(t, func(w http.ResponseWriter, _ *http.Request, body []byte) {
		var ev struct {
			Query map[string]string `json:"queryStringParameters"`
		}
		_ = json.Unmarshal(body, &ev)
		status := http.StatusOK
		if ev.Query["deny"] != "" {
			status = http.StatusForbidden
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"statusCode": status})
	})
	g := startGateway(t, newState(t, proxyAPI("lim", fn.URL, &model.Route{Key: "$connect"})), Options{MaxConnectionsPerIP: 1})
	for i := 0; i < 3; i++ {
		if got := dialStatus(t, g.url("/lim/test?deny=1"), nil); got != http.StatusForbidden {
			t.Fatalf("RT-11: refused $connect %d: HTTP %d, want 403", i+1, got)
		}
		fn.nextEvent(t, "CONNECT")
	}
	dial(t, g.url("/lim/test"), nil)
	fn.nextEvent(t, "CONNECT")
	if got := dialStatus(t, g.url("/lim/test"), nil); got != http.StatusServiceUnavailable {
		t.Fatalf("max-connections-per-ip: second connection: HTTP %d, want 503", got)
	}
}

// TestLimitsMaxConnections checks --max-connections (issue 6 hardening):
// the gateway-wide limit refuses every address with 503 once reached, and
// a close frees a slot.
func TestLimitsMaxConnections(t *testing.T) {
	g, fn := secLimitsGateway(t, Options{MaxConnections: 2})
	url := g.url("/lim/test")
	first, _ := secDialFrom(t, "127.0.0.1", url)
	if first == nil {
		t.Fatal("max-connections: first handshake refused")
	}
	fn.nextEvent(t, "CONNECT")
	if status, _ := secStatusFrom(t, "127.0.0.2", url); status != http.StatusSwitchingProtocols {
		t.Fatalf("max-connections: second handshake: HTTP %d", status)
	}
	fn.nextEvent(t, "CONNECT")
	for _, ip := range []string{"127.0.0.1", "127.0.0.3"} {
		if status, _ := secStatusFrom(t, ip, url); status != http.StatusServiceUnavailable {
			t.Fatalf("max-connections: third handshake from %s: HTTP %d, want 503", ip, status)
		}
	}
	expectNoRequest(t, fn, "max-connections: a refused handshake must not reach $connect")
	first.close(1000, "")
	first.expectClose(1000, "")
	fn.nextEvent(t, "DISCONNECT")
	if status, _ := secStatusFrom(t, "127.0.0.3", url); status != http.StatusSwitchingProtocols {
		t.Fatalf("max-connections: handshake after a close: HTTP %d, want 101", status)
	}
	fn.nextEvent(t, "CONNECT")
}

// TestLimitsNewConnectionsPerIP checks --new-connections-per-ip (issue 6
// hardening): an address may start that many handshakes at once and then
// that many per second of Options.Now; more get 429 before $connect runs;
// other addresses have allowances of their own.
func TestLimitsNewConnectionsPerIP(t *testing.T) {
	clock := newTestClock()
	g, fn := secLimitsGateway(t, Options{Now: clock.Now, NewConnectionsPerIP: 2})
	url := g.url("/lim/test")
	expect := func(ip string, want int, what string) {
		t.Helper()
		status, _ := secStatusFrom(t, ip, url)
		if status != want {
			t.Fatalf("new-connections-per-ip: %s from %s: HTTP %d, want %d", what, ip, status, want)
		}
		if want == http.StatusSwitchingProtocols {
			fn.nextEvent(t, "CONNECT")
		} else {
			expectNoRequest(t, fn, "new-connections-per-ip: a refused handshake must not reach $connect")
		}
	}
	expect("127.0.0.1", http.StatusSwitchingProtocols, "handshake 1 of a burst of 2")
	expect("127.0.0.1", http.StatusSwitchingProtocols, "handshake 2 of a burst of 2")
	expect("127.0.0.1", http.StatusTooManyRequests, "handshake 3 at the same instant")
	expect("127.0.0.2", http.StatusSwitchingProtocols, "another address's first handshake")
	clock.Advance(500 * time.Millisecond)
	expect("127.0.0.1", http.StatusSwitchingProtocols, "the handshake half a second later")
	expect("127.0.0.1", http.StatusTooManyRequests, "a second handshake half a second later")
	clock.Advance(time.Second)
	expect("127.0.0.1", http.StatusSwitchingProtocols, "handshake 1 a second later")
	expect("127.0.0.1", http.StatusSwitchingProtocols, "handshake 2 a second later")
	expect("127.0.0.1", http.StatusTooManyRequests, "handshake 3 a second later")
}

// secRawHead sends a raw request head to the gateway on a connection of its
// own and returns the response's status.
func secRawHead(t testing.TB, addr, head string) int {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(testTimeout))
	if _, err := io.WriteString(nc, head); err != nil {
		t.Fatalf("write head: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// secUpgradeHead is a WebSocket handshake head for target with extra
// header lines.
func secUpgradeHead(host, target string, extra ...string) string {
	var b strings.Builder
	b.WriteString("GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n")
	for _, l := range extra {
		b.WriteString(l + "\r\n")
	}
	b.WriteString("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + routingWSKey + "\r\n\r\n")
	return b.String()
}

// TestLimitsRequestSize checks the request limits (issue 6 hardening): a
// request target over 4096 bytes gets 414 and one of 4096 is served; a
// request head over Options.MaxHeaderBytes gets 431 and one under it is
// served.
func TestLimitsRequestSize(t *testing.T) {
	const maxHeader = 8 << 10
	g, fn := secLimitsGateway(t, Options{MaxHeaderBytes: maxHeader})
	target := func(n int) string {
		prefix := "/lim/test?pad="
		return prefix + strings.Repeat("a", n-len(prefix))
	}
	tests := []struct {
		name string
		head string
		want int
	}{
		{"target of 4096 bytes", secUpgradeHead(g.addr, target(DefaultMaxURLLength)), http.StatusSwitchingProtocols},
		{"target of 4097 bytes", secUpgradeHead(g.addr, target(DefaultMaxURLLength+1)), http.StatusRequestURITooLong},
		{"non-upgrade target of 4097 bytes", "GET " + target(DefaultMaxURLLength+1) + " HTTP/1.1\r\nHost: " + g.addr + "\r\n\r\n", http.StatusRequestURITooLong},
		{"head under MaxHeaderBytes", secUpgradeHead(g.addr, "/lim/test", "X-Pad: "+strings.Repeat("p", maxHeader-512)), http.StatusSwitchingProtocols},
		{"head just over MaxHeaderBytes", secUpgradeHead(g.addr, "/lim/test", "X-Pad: "+strings.Repeat("p", maxHeader)), http.StatusRequestHeaderFieldsTooLarge},
		{"head far over MaxHeaderBytes", secUpgradeHead(g.addr, "/lim/test", "X-Pad: "+strings.Repeat("p", 4*maxHeader)), http.StatusRequestHeaderFieldsTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := secRawHead(t, g.addr, tt.head); got != tt.want {
				t.Fatalf("request limits: %s (%d bytes): HTTP %d, want %d", tt.name, len(tt.head), got, tt.want)
			}
			if tt.want == http.StatusSwitchingProtocols {
				// secRawHead has closed the connection.
				fn.nextEvent(t, "CONNECT")
				fn.nextEvent(t, "DISCONNECT")
			} else {
				expectNoRequest(t, fn, "request limits: a refused request must not reach $connect")
			}
		})
	}
}
