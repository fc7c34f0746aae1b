package authorizer

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsgwctl/wsgwctl/runtime/integration"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// tokenEndpoint answers by the event's token query parameter: "deny…"
// denies, "unauth…" is a function error Unauthorized, "fail…" an HTTP 500,
// anything else is allowed with the token as principal and in the context.
func tokenEndpoint(t testing.TB) *endpoint {
	return newEndpoint(t, func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Query map[string]string `json:"queryStringParameters"`
		}
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		token := ev.Query["token"]
		switch {
		case strings.HasPrefix(token, "deny"):
			io.WriteString(w, `{"principalId":"`+token+`","policyDocument":{"Statement":[{"Action":"*","Effect":"Deny","Resource":"*"}]}}`)
		case strings.HasPrefix(token, "unauth"):
			io.WriteString(w, `{"errorMessage":"Unauthorized"}`)
		case strings.HasPrefix(token, "fail"):
			w.WriteHeader(http.StatusInternalServerError)
		default:
			io.WriteString(w, `{"principalId":"`+token+`","policyDocument":`+allowPolicy("*")+`,"context":{"token":"`+token+`"}}`)
		}
	})
}

func requestWithToken(token string) *integration.Request {
	req := connectRequest()
	req.RawQuery = "token=" + token
	return req
}

func cachingAuthorizer(t *testing.T, e *endpoint, clock *fakeClock, size int, sources ...string) *Authorizer {
	t.Helper()
	cfg := authorizerConfig(e.srv.URL+"/authorize", sources...)
	cfg.ResultTTLSeconds = 60
	return mustNew(t, cfg, Options{Transport: e.srv.Client().Transport, Now: clock.Now, CacheSize: size})
}

func TestAuthorizeCache(t *testing.T) {
	type step struct {
		advance time.Duration
		token   string
		stage   string // "" means live
		status  int
		cached  bool
		calls   int64 // total calls after the step
	}
	tests := []struct {
		name  string
		size  int
		steps []step
	}{
		{"allow hit then expiry", 0, []step{
			{token: "alice", status: 200, calls: 1},
			{token: "alice", status: 200, cached: true, calls: 1},
			{advance: 59 * time.Second, token: "alice", status: 200, cached: true, calls: 1},
			{advance: time.Second, token: "alice", status: 200, calls: 2},
			{token: "alice", status: 200, cached: true, calls: 2},
		}},
		{"identities are separate", 0, []step{
			{token: "alice", status: 200, calls: 1},
			{token: "bob", status: 200, calls: 2},
			{token: "alice", status: 200, cached: true, calls: 2},
			{token: "bob", status: 200, cached: true, calls: 2},
		}},
		{"stages are separate", 0, []step{
			{token: "alice", status: 200, calls: 1},
			{token: "alice", stage: "test", status: 200, calls: 2},
			{token: "alice", stage: "test", status: 200, cached: true, calls: 2},
		}},
		{"deny is cached", 0, []step{
			{token: "deny-1", status: 403, calls: 1},
			{token: "deny-1", status: 403, cached: true, calls: 1},
			{advance: time.Minute, token: "deny-1", status: 403, calls: 2},
		}},
		{"unauthorized is not cached", 0, []step{
			{token: "unauth-1", status: 401, calls: 1},
			{token: "unauth-1", status: 401, calls: 2},
		}},
		{"failures are not cached", 0, []step{
			{token: "fail-1", status: 500, calls: 1},
			{token: "fail-1", status: 500, calls: 2},
		}},
		{"bounded", 2, []step{
			{token: "a", status: 200, calls: 1},
			{token: "b", status: 200, calls: 2},
			{token: "c", status: 200, calls: 3}, // evicts a
			{token: "b", status: 200, cached: true, calls: 3},
			{token: "c", status: 200, cached: true, calls: 3},
			{token: "a", status: 200, calls: 4}, // evicts b
			{token: "b", status: 200, calls: 5},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tokenEndpoint(t)
			clock := newFakeClock()
			a := cachingAuthorizer(t, e, clock, tt.size, "route.request.querystring.token")
			for i, s := range tt.steps {
				clock.Advance(s.advance)
				req := requestWithToken(s.token)
				if s.stage != "" {
					req.Stage = s.stage
				}
				res, _ := a.Authorize(context.Background(), req)
				if res.Status != s.status || res.Cached != s.cached || e.calls.Load() != s.calls {
					t.Fatalf("RT-50: step %d (%s): status %d cached %v calls %d; want %d %v %d",
						i, s.token, res.Status, res.Cached, e.calls.Load(), s.status, s.cached, s.calls)
				}
				if s.status == 200 && res.PrincipalID != s.token {
					t.Fatalf("RT-50: step %d: principal %q, want %q", i, res.PrincipalID, s.token)
				}
				if s.cached && res.Latency != 0 {
					t.Errorf("RT-50: step %d: cached result has latency %v", i, res.Latency)
				}
				if s.status == 200 && res.Context["token"] != s.token {
					t.Errorf("D-42: step %d: context %v", i, res.Context)
				}
			}
		})
	}
}

func TestAuthorizeNoCacheWithoutIdentitySources(t *testing.T) {
	e := tokenEndpoint(t)
	a := cachingAuthorizer(t, e, newFakeClock(), 0)
	for i := range 3 {
		res, err := a.Authorize(context.Background(), requestWithToken("alice"))
		if err != nil || res.Status != 200 || res.Cached {
			t.Fatalf("RT-50: call %d: %+v, %v", i, res, err)
		}
	}
	if got := e.calls.Load(); got != 3 {
		t.Errorf("RT-50: %d calls, want 3: without identity sources every client would share one cache key", got)
	}
}

func TestResultCacheEvictsExpired(t *testing.T) {
	c := newResultCache(time.Minute, 10)
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 5 {
		c.put(fmt.Sprint(i), Result{Status: 200}, now)
	}
	if c.len() != 5 {
		t.Fatalf("len %d, want 5", c.len())
	}
	later := now.Add(time.Minute)
	c.put("new", Result{Status: 403}, later)
	if c.len() != 1 {
		t.Errorf("RT-50: len %d after the others expired, want 1", c.len())
	}
	if r, ok := c.get("new", later); !ok || r.Status != 403 {
		t.Errorf("RT-50: get(new) = %+v, %v", r, ok)
	}
	if _, ok := c.get("new", later.Add(time.Minute)); ok || c.len() != 0 {
		t.Errorf("RT-50: expired entry returned or kept (len %d)", c.len())
	}
	c.put("k", Result{Status: 200}, later)
	c.put("k", Result{Status: 403}, later)
	if r, _ := c.get("k", later); r.Status != 403 || c.len() != 1 {
		t.Errorf("RT-50: replacing an entry gave %+v, len %d", r, c.len())
	}
}

func TestCacheKeyUnambiguous(t *testing.T) {
	keys := map[string][]string{}
	for _, vs := range [][]string{{"a", "b"}, {"ab", ""}, {"a:b"}, {"1:a", "b"}, {"a", "b", ""}} {
		k := cacheKey("api", "live", vs)
		if prev, ok := keys[k]; ok {
			t.Errorf("RT-50: %q and %q share the key %q", prev, vs, k)
		}
		keys[k] = vs
	}
}

func TestAuthorizeConcurrent(t *testing.T) {
	tokens := []string{"alice", "bob", "carol", "dave", "erin", "deny-x"}
	const workers, rounds = 8, 25
	tests := []struct {
		name string
		size int
		// maxCalls bounds the authorizer calls: with room for every token
		// and a TTL the test never reaches, each token misses at most once
		// per worker (concurrent first lookups).
		maxCalls int64
	}{
		{"room for all", 16, int64(len(tokens) * workers)},
		{"eviction pressure", 2, workers * rounds},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tokenEndpoint(t)
			clock := newFakeClock()
			a := cachingAuthorizer(t, e, clock, tt.size, "route.request.querystring.token")
			var wg sync.WaitGroup
			errs := make(chan error, workers*rounds)
			for w := range workers {
				wg.Go(func() {
					for i := range rounds {
						if i%10 == 0 {
							clock.Advance(time.Second) // stays far below the 60 s TTL
						}
						token := tokens[(w+i)%len(tokens)]
						res, err := a.Authorize(context.Background(), requestWithToken(token))
						switch {
						case err != nil:
							errs <- err
						case token == "deny-x" && res.Status != 403:
							errs <- fmt.Errorf("%s: status %d", token, res.Status)
						case token != "deny-x" && (res.Status != 200 || res.PrincipalID != token || res.Context["token"] != token):
							errs <- fmt.Errorf("%s: got %+v", token, res)
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("RT-50: concurrent Authorize: %v", err)
			}
			if n := a.cache.len(); n > tt.size {
				t.Errorf("RT-50: cache holds %d entries, bound is %d", n, tt.size)
			}
			if calls := e.calls.Load(); calls > tt.maxCalls {
				t.Errorf("RT-50: %d authorizer calls for %d authorizations, want at most %d", calls, workers*rounds, tt.maxCalls)
			}
		})
	}
}

func BenchmarkAuthorizeCached(b *testing.B) {
	e := tokenEndpoint(b)
	cfg := authorizerConfig(e.srv.URL+"/authorize", "route.request.querystring.token", "route.request.header.X-Client-Id")
	cfg.ResultTTLSeconds = 300
	a, err := New(cfg, nil, Options{Transport: e.srv.Client().Transport})
	if err != nil {
		b.Fatal(err)
	}
	req := requestWithToken("alice")
	if res, _ := a.Authorize(context.Background(), req); res.Status != 200 {
		b.Fatalf("status %d", res.Status)
	}
	b.ReportAllocs()
	for b.Loop() {
		if res, _ := a.Authorize(context.Background(), req); !res.Cached {
			b.Fatal("not cached")
		}
	}
}
