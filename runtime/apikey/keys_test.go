package apikey

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/runtime/throttle"
)

const (
	mobileValue  = "local-mobile-key-0123456789"
	partnerValue = "local-partner-key-0123456789"
	offValue     = "disabled-key-0123456789"
	orphanValue  = "orphan-key-000000000000"
)

// config returns api keys and usage plans in the shape of
// examples/authorizer: "standard" covers orders/live and orders/beta with a
// throttle and a quota, "partners" covers orders/live without limits.
func config(quota *model.Quota, thr *model.Throttle) ([]*model.APIKey, []*model.UsagePlan) {
	keys := []*model.APIKey{
		{Name: "mobile", Value: mobileValue, Enabled: true},
		{Name: "off", Value: offValue, Enabled: false},
		{Name: "orphan", Value: orphanValue, Enabled: true},
		{Name: "partner", Value: partnerValue, Enabled: true},
	}
	plans := []*model.UsagePlan{
		{Name: "partners", Stages: []model.UsagePlanStage{{API: "orders", Stage: "live"}}, APIKeys: []string{"partner"}},
		{Name: "standard", Stages: []model.UsagePlanStage{{API: "orders", Stage: "live"}, {API: "orders", Stage: "beta"}},
			Throttle: thr, Quota: quota, APIKeys: []string{"mobile", "off"}},
	}
	return keys, plans
}

// compileConfig compiles config(quota, thr) with fresh stores.
func compileConfig(t testing.TB, quota *model.Quota, thr *model.Throttle) *Keys {
	t.Helper()
	keys, plans := config(quota, thr)
	return mustCompile(t, keys, plans, nil, nil)
}

func mustCompile(t testing.TB, keys []*model.APIKey, plans []*model.UsagePlan, b *throttle.Set, c *Counters) *Keys {
	t.Helper()
	ks, err := Compile(keys, plans, b, c)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return ks
}

// TestCheckOutcomes: each outcome of RT-51 with its status.
func TestCheckOutcomes(t *testing.T) {
	ks := compileConfig(t, &model.Quota{Limit: 100, Period: "DAY"}, &model.Throttle{BurstLimit: 100, RateLimit: 10})
	now := time.Now()
	cases := []struct {
		name, api, stage, value string
		reason                  Reason
		status                  int
		keyID, plan             string
	}{
		{"missing", "orders", "live", "", Missing, 403, "", ""},
		{"unknown", "orders", "live", "local-mobile-key-012345678X", Unknown, 403, "", ""},
		{"prefix of a key", "orders", "live", mobileValue[:20], Unknown, 403, "", ""},
		{"disabled", "orders", "live", offValue, Disabled, 403, "off", ""},
		{"in no plan", "orders", "live", orphanValue, NotInPlan, 403, "orphan", ""},
		{"plan does not cover stage", "orders", "dev", mobileValue, NotInPlan, 403, "mobile", ""},
		{"plan does not cover api", "chat", "live", mobileValue, NotInPlan, 403, "mobile", ""},
		{"allowed", "orders", "live", mobileValue, Allowed, 200, "mobile", "standard"},
		{"allowed on second stage", "orders", "beta", mobileValue, Allowed, 200, "mobile", "standard"},
		{"allowed without limits", "orders", "live", partnerValue, Allowed, 200, "partner", "partners"},
		{"other plan's stage", "orders", "beta", partnerValue, NotInPlan, 403, "partner", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := ks.Check(c.api, c.stage, c.value, now)
			if o.Reason != c.reason || o.Status != c.status || o.KeyID != c.keyID || o.Plan != c.plan {
				t.Fatalf("RT-51: Check = %+v, want reason %v status %d key %q plan %q", o, c.reason, c.status, c.keyID, c.plan)
			}
			if o.Ref != RefOf(c.value) {
				t.Errorf("Ref = %v, want RefOf(value)", o.Ref)
			}
			if o.Reason.Status() != o.Status {
				t.Errorf("Status %d is not Reason.Status() %d", o.Status, o.Reason.Status())
			}
		})
	}
}

// TestNilKeys: a nil *Keys has no keys.
func TestNilKeys(t *testing.T) {
	var ks *Keys
	if o := ks.Check("a", "s", mobileValue, time.Now()); o.Reason != Unknown || o.Status != 403 {
		t.Fatalf("RT-51: nil Keys Check = %+v, want Unknown 403", o)
	}
	if o := ks.Check("a", "s", "", time.Now()); o.Reason != Missing {
		t.Fatalf("RT-51: nil Keys Check of no key = %+v, want Missing", o)
	}
	if ks.Len() != 0 {
		t.Fatalf("Len = %d", ks.Len())
	}
}

// TestThrottle: the plan's token bucket is per key (RT-25, D-41): burst
// requests at once, then rate per second; 429 Throttled beyond.
func TestThrottle(t *testing.T) {
	keys, plans := config(nil, &model.Throttle{BurstLimit: 3, RateLimit: 1})
	plans = append(plans, &model.UsagePlan{Name: "second", Stages: []model.UsagePlanStage{{API: "chat", Stage: "live"}},
		Throttle: &model.Throttle{BurstLimit: 1, RateLimit: 1}, APIKeys: []string{"partner"}})
	ks := mustCompile(t, keys, plans, nil, nil)
	base := time.Now()
	steps := []struct {
		at     time.Duration
		value  string
		stage  string
		reason Reason
	}{
		{0, mobileValue, "live", Allowed},
		{0, mobileValue, "beta", Allowed}, // one bucket per key and plan, shared by its stages
		{0, mobileValue, "live", Allowed},
		{0, mobileValue, "live", Throttled},
		{0, partnerValue, "live", Allowed}, // another key, no throttle in its plan
		{500 * time.Millisecond, mobileValue, "live", Throttled},
		{time.Second, mobileValue, "live", Allowed},
		{time.Second, mobileValue, "live", Throttled},
	}
	for i, s := range steps {
		o := ks.Check("orders", s.stage, s.value, base.Add(s.at))
		if o.Reason != s.reason {
			t.Fatalf("RT-25: step %d (+%s %s): Check = %+v, want %v", i, s.at, s.stage, o, s.reason)
		}
		if s.reason == Throttled && (o.Status != 429 || o.KeyID != "mobile" || o.Plan != "standard") {
			t.Fatalf("RT-25: throttled outcome = %+v, want 429 for mobile in standard", o)
		}
	}
}

// TestQuotaPeriods: quotas count per UTC calendar period and start again
// at the period's boundary: midnight UTC, Sunday 00:00 UTC, the 1st of the
// month 00:00 UTC (D-41).
func TestQuotaPeriods(t *testing.T) {
	utc := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	cases := []struct {
		period string
		fill   time.Time   // two requests use the limit of 2 here
		same   []time.Time // still the same period: refused
		next   time.Time   // the next period: allowed again
	}{
		{"DAY", utc("2025-03-14T00:00:00Z"),
			[]time.Time{utc("2025-03-14T23:59:59.999999999Z"), utc("2025-03-15T01:30:00+02:00")},
			utc("2025-03-15T00:00:00Z")},
		{"WEEK", utc("2025-03-09T00:00:00Z"), // a Sunday
			[]time.Time{utc("2025-03-10T00:00:00Z"), utc("2025-03-15T23:59:59Z")}, // Monday does not start a week
			utc("2025-03-16T00:00:00Z")},
		{"WEEK", utc("2025-12-31T12:00:00Z"), // the week of Sunday 2025-12-28
			[]time.Time{utc("2026-01-01T00:00:00Z"), utc("2026-01-03T23:59:59Z")},
			utc("2026-01-04T00:00:00Z")},
		{"MONTH", utc("2024-02-01T00:00:00Z"),
			[]time.Time{utc("2024-02-29T23:59:59Z"), utc("2024-03-01T00:30:00+01:00")},
			utc("2024-03-01T00:00:00Z")},
		{"MONTH", utc("2025-12-31T23:00:00Z"),
			[]time.Time{utc("2025-12-31T23:59:59Z")},
			utc("2026-01-01T00:00:00Z")},
	}
	for _, c := range cases {
		t.Run(c.period+" "+c.fill.Format(time.DateOnly), func(t *testing.T) {
			ks := compileConfig(t, &model.Quota{Limit: 2, Period: c.period}, nil)
			for i := range 2 {
				if o := ks.Check("orders", "live", mobileValue, c.fill); o.Reason != Allowed {
					t.Fatalf("D-41: request %d = %+v, want Allowed", i, o)
				}
			}
			for _, at := range c.same {
				if o := ks.Check("orders", "live", mobileValue, at); o.Reason != QuotaExceeded || o.Status != 429 {
					t.Fatalf("D-41: at %s (same %s) = %+v, want QuotaExceeded 429", at, c.period, o)
				}
			}
			for i := range 2 {
				if o := ks.Check("orders", "beta", mobileValue, c.next); o.Reason != Allowed {
					t.Fatalf("D-41: at %s (next %s) request %d = %+v, want Allowed", c.next, c.period, i, o)
				}
			}
			if o := ks.Check("orders", "live", mobileValue, c.next); o.Reason != QuotaExceeded {
				t.Fatalf("D-41: third request of the next period = %+v, want QuotaExceeded", o)
			}
		})
	}
}

// TestQuotaClockBack: a time before the current period (a clock stepped
// back) counts in the current period rather than reopening an old one.
func TestQuotaClockBack(t *testing.T) {
	c := newCounter(2, Day)
	day2 := time.Date(2025, 3, 15, 0, 0, 1, 0, time.UTC)
	if !c.Take(day2) || !c.Take(day2.Add(-2*time.Second)) || c.Take(day2) {
		t.Fatal("D-41: a time stepped back into the previous day must count in the current day")
	}
	if got := c.Used(day2); got != 2 {
		t.Fatalf("Used = %d, want 2", got)
	}
	if got := c.Used(day2.Add(24 * time.Hour)); got != 0 {
		t.Fatalf("Used in the next period = %d, want 0", got)
	}
}

// TestQuotaZeroAndThrottledNotCounted: a limit of 0 refuses every request;
// a request the throttle refuses is not counted against the quota.
func TestQuotaZeroAndThrottledNotCounted(t *testing.T) {
	now := time.Now()
	ks := compileConfig(t, &model.Quota{Limit: 0, Period: "DAY"}, nil)
	if o := ks.Check("orders", "live", mobileValue, now); o.Reason != QuotaExceeded {
		t.Fatalf("D-41: limit 0: Check = %+v, want QuotaExceeded", o)
	}

	counters := new(Counters)
	keys, plans := config(&model.Quota{Limit: 10, Period: "DAY"}, &model.Throttle{BurstLimit: 1, RateLimit: 0})
	ks = mustCompile(t, keys, plans, new(throttle.Set), counters)
	for range 5 {
		ks.Check("orders", "live", mobileValue, now)
	}
	if used := counters.Get("standard/mobile", 10, Day).Used(now); used != 1 {
		t.Fatalf("D-41: quota counted %d requests, want 1 (throttled ones are not counted)", used)
	}
}

// TestCheckRef: a connection's messages are checked by the handshake's Ref
// against the current configuration (D-41).
func TestCheckRef(t *testing.T) {
	b, c := new(throttle.Set), new(Counters)
	keys, plans := config(&model.Quota{Limit: 3, Period: "DAY"}, nil)
	ks := mustCompile(t, keys, plans, b, c)
	now := time.Now()
	hs := ks.Check("orders", "live", mobileValue, now)
	if hs.Reason != Allowed {
		t.Fatalf("handshake = %+v", hs)
	}
	for i, want := range []Reason{Allowed, Allowed, QuotaExceeded} {
		if o := ks.CheckRef("orders", "live", hs.Ref, now); o.Reason != want || o.KeyID != "mobile" {
			t.Fatalf("D-41: message %d = %+v, want %v (handshake and messages share the quota)", i, o, want)
		}
	}
	if o := ks.CheckRef("orders", "live", Ref{}, now); o.Reason != Missing {
		t.Fatalf("zero Ref = %+v, want Missing", o)
	}

	keys[0].Enabled = false
	ks = mustCompile(t, keys, plans, b, c)
	if o := ks.CheckRef("orders", "live", hs.Ref, now); o.Reason != Disabled || o.Status != 403 {
		t.Fatalf("RT-51: message after the key was disabled = %+v, want Disabled 403", o)
	}
	keys[0].Value = "a-new-value-for-mobile-key"
	ks = mustCompile(t, keys, plans, b, c)
	if o := ks.CheckRef("orders", "live", hs.Ref, now); o.Reason != Unknown {
		t.Fatalf("RT-51: message after the key's value changed = %+v, want Unknown", o)
	}
}

// TestReloadKeepsCounts: compiling again with the same stores keeps tokens
// and quota counts; a changed limit applies to the count, a changed period
// starts over, and keys no longer configured are swept.
func TestReloadKeepsCounts(t *testing.T) {
	buckets, counters := new(throttle.Set), new(Counters)
	now := time.Now()
	compile := func(q *model.Quota, thr *model.Throttle) *Keys {
		t.Helper()
		keys, plans := config(q, thr)
		ks := mustCompile(t, keys, plans, buckets, counters)
		buckets.Sweep()
		counters.Sweep()
		return ks
	}
	take := func(ks *Keys, n int, want Reason) {
		t.Helper()
		for i := range n {
			if o := ks.Check("orders", "live", mobileValue, now); o.Reason != want {
				t.Fatalf("request %d = %+v, want %v", i, o, want)
			}
		}
	}
	day := &model.Quota{Limit: 5, Period: "DAY"}
	ks := compile(day, nil)
	take(ks, 3, Allowed)
	ks = compile(&model.Quota{Limit: 5, Period: "DAY"}, nil)
	take(ks, 2, Allowed)
	take(ks, 1, QuotaExceeded)
	ks = compile(&model.Quota{Limit: 7, Period: "DAY"}, nil) // raised: 2 more
	take(ks, 2, Allowed)
	take(ks, 1, QuotaExceeded)
	ks = compile(&model.Quota{Limit: 7, Period: "WEEK"}, nil) // new period kind: new count
	take(ks, 7, Allowed)
	take(ks, 1, QuotaExceeded)

	thr := &model.Throttle{BurstLimit: 2, RateLimit: 0}
	ks = compile(nil, thr)
	take(ks, 2, Allowed)
	ks = compile(nil, &model.Throttle{BurstLimit: 2, RateLimit: 0})
	take(ks, 1, Throttled) // tokens kept across the reload

	if counters.Len() != 0 {
		t.Fatalf("counters after a reload without quotas: Len = %d, want 0", counters.Len())
	}
	if buckets.Len() != 2 { // mobile and off in standard
		t.Fatalf("buckets: Len = %d, want 2", buckets.Len())
	}
}

// TestConcurrentChecks: under concurrency a quota admits exactly its limit
// and a throttle exactly its burst (run with -race).
func TestConcurrentChecks(t *testing.T) {
	cases := []struct {
		name  string
		quota *model.Quota
		thr   *model.Throttle
		want  int
		other Reason
	}{
		{"quota", &model.Quota{Limit: 500, Period: "MONTH"}, nil, 500, QuotaExceeded},
		{"throttle", nil, &model.Throttle{BurstLimit: 300, RateLimit: 0}, 300, Throttled},
		{"both", &model.Quota{Limit: 200, Period: "DAY"}, &model.Throttle{BurstLimit: 300, RateLimit: 0}, 200, 0},
	}
	const workers, each = 8, 200
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ks := compileConfig(t, c.quota, c.thr)
			now := time.Now()
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				allowed int
				other   = map[Reason]int{}
				start   = make(chan struct{})
			)
			for w := range workers {
				wg.Go(func() {
					<-start
					local, loc := 0, map[Reason]int{}
					for i := range each {
						var o Outcome
						if (w+i)%2 == 0 {
							o = ks.Check("orders", "live", mobileValue, now)
						} else {
							o = ks.CheckRef("orders", "beta", RefOf(mobileValue), now)
						}
						if o.Reason == Allowed {
							local++
						} else {
							loc[o.Reason]++
						}
					}
					mu.Lock()
					allowed += local
					for r, n := range loc {
						other[r] += n
					}
					mu.Unlock()
				})
			}
			close(start)
			wg.Wait()
			if allowed != c.want {
				t.Fatalf("D-41: %d requests allowed, want exactly %d (others: %v)", allowed, c.want, other)
			}
			if c.other != 0 && other[c.other] != workers*each-c.want {
				t.Fatalf("D-41: refusals %v, want %d %v", other, workers*each-c.want, c.other)
			}
		})
	}
}

// TestCompileErrors: configurations AWS refuses or that would make a
// check ambiguous fail to compile, and the error never shows a key value.
func TestCompileErrors(t *testing.T) {
	cases := []struct {
		name   string
		edit   func(k []*model.APIKey, p []*model.UsagePlan) ([]*model.APIKey, []*model.UsagePlan)
		errHas string
	}{
		{"duplicate name", func(k []*model.APIKey, p []*model.UsagePlan) ([]*model.APIKey, []*model.UsagePlan) {
			return append(k, &model.APIKey{Name: "mobile", Value: "another-value-000000000"}), p
		}, `api_key "mobile" is defined twice`},
		{"duplicate value", func(k []*model.APIKey, p []*model.UsagePlan) ([]*model.APIKey, []*model.UsagePlan) {
			return append(k, &model.APIKey{Name: "twin", Value: mobileValue, Enabled: true}), p
		}, `api_keys "mobile" and "twin" have the same value`},
		{"empty value", func(k []*model.APIKey, p []*model.UsagePlan) ([]*model.APIKey, []*model.UsagePlan) {
			return append(k, &model.APIKey{Name: "empty"}), p
		}, `api_key "empty" has an empty value`},
		{"undefined key", func(k []*model.APIKey, p []*model.UsagePlan) ([]*model.APIKey, []*model.UsagePlan) {
			p[0].APIKeys = append(p[0].APIKeys, "ghost")
			return k, p
		}, `api_key "ghost" is not defined`},
		{"bad period", func(k []*model.APIKey, p []*model.UsagePlan) ([]*model.APIKey, []*model.UsagePlan) {
			p[1].Quota = &model.Quota{Limit: 1, Period: "YEAR"}
			return k, p
		}, `usage_plan "standard": parse quota period "YEAR"`},
		{"key in two plans for one stage", func(k []*model.APIKey, p []*model.UsagePlan) ([]*model.APIKey, []*model.UsagePlan) {
			p[0].APIKeys = append(p[0].APIKeys, "mobile")
			return k, p
		}, `api_key "mobile" is also in usage_plan "partners", which covers api "orders" stage "live" too`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k, p := c.edit(config(nil, nil))
			_, err := Compile(k, p, nil, nil)
			if err == nil || !strings.Contains(err.Error(), c.errHas) {
				t.Fatalf("Compile error = %v, want one containing %q", err, c.errHas)
			}
			if strings.Contains(err.Error(), mobileValue) {
				t.Fatalf("error %q shows a key value", err)
			}
		})
	}

	t.Run("same plan lists a key and a stage twice", func(t *testing.T) {
		k, p := config(nil, nil)
		p[1].APIKeys = append(p[1].APIKeys, "mobile")
		p[1].Stages = append(p[1].Stages, model.UsagePlanStage{API: "orders", Stage: "live"})
		if _, err := Compile(k, p, nil, nil); err != nil {
			t.Fatalf("Compile = %v, want success", err)
		}
	})
}

// TestPeriodBounds: period boundaries in UTC, whatever the time's zone.
func TestPeriodBounds(t *testing.T) {
	plus5 := time.FixedZone("+05", 5*3600)
	cases := []struct {
		p          Period
		at         time.Time
		start, end string
	}{
		{Day, time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC), "2025-03-14", "2025-03-15"},
		{Day, time.Date(2025, 3, 15, 3, 0, 0, 0, plus5), "2025-03-14", "2025-03-15"},
		{Week, time.Date(2025, 3, 16, 0, 0, 0, 0, time.UTC), "2025-03-16", "2025-03-23"},
		{Week, time.Date(2025, 3, 22, 23, 59, 59, 0, time.UTC), "2025-03-16", "2025-03-23"},
		{Week, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), "2025-12-28", "2026-01-04"},
		{Month, time.Date(2024, 2, 29, 23, 0, 0, 0, time.UTC), "2024-02-01", "2024-03-01"},
		{Month, time.Date(2025, 12, 31, 23, 0, 0, 0, time.UTC), "2025-12-01", "2026-01-01"},
	}
	for _, c := range cases {
		t.Run(c.p.String()+" "+c.at.String(), func(t *testing.T) {
			s, e := c.p.Bounds(c.at)
			if s.Format(time.DateOnly) != c.start || e.Format(time.DateOnly) != c.end ||
				s.Location() != time.UTC || s.Hour() != 0 || e.Hour() != 0 {
				t.Fatalf("D-41: Bounds = %s, %s; want %s, %s at 00:00 UTC", s, e, c.start, c.end)
			}
			if c.p == Week && s.Weekday() != time.Sunday {
				t.Fatalf("D-41: week starts on %s, want Sunday", s.Weekday())
			}
		})
	}
}

// TestParsePeriod: the three periods and nothing else.
func TestParsePeriod(t *testing.T) {
	for _, s := range []string{"DAY", "WEEK", "MONTH"} {
		p, err := ParsePeriod(s)
		if err != nil || p.String() != s {
			t.Errorf("ParsePeriod(%q) = %v, %v", s, p, err)
		}
	}
	for _, s := range []string{"", "day", "YEAR"} {
		if _, err := ParsePeriod(s); err == nil {
			t.Errorf("ParsePeriod(%q) succeeded", s)
		}
	}
}

// TestReasonStrings: every reason has a description and a status.
func TestReasonStrings(t *testing.T) {
	want := map[Reason]int{Allowed: 200, Missing: 403, Unknown: 403, Disabled: 403, NotInPlan: 403, Throttled: 429, QuotaExceeded: 429}
	for r, status := range want {
		if r.Status() != status || strings.HasPrefix(r.String(), "Reason(") {
			t.Errorf("%d: String %q Status %d, want status %d", r, r, r.Status(), status)
		}
	}
}

// TestCheckDoesNotAllocate: the per-handshake and per-message checks do not
// allocate, for key values longer than the compiler's 32-byte conversion
// buffer too.
func TestCheckDoesNotAllocate(t *testing.T) {
	value := mobileValue + "-padded-past-32-bytes"
	keys, plans := config(&model.Quota{Limit: 1 << 40, Period: "DAY"}, &model.Throttle{BurstLimit: 1 << 30, RateLimit: 1e9})
	keys[0].Value = value
	ks := mustCompile(t, keys, plans, nil, nil)
	now := time.Now()
	ref := RefOf(value)
	if n := testing.AllocsPerRun(100, func() { ks.Check("orders", "live", value, now) }); n != 0 {
		t.Errorf("Check allocates %.1f times per call", n)
	}
	if n := testing.AllocsPerRun(100, func() { ks.CheckRef("orders", "live", ref, now) }); n != 0 {
		t.Errorf("CheckRef allocates %.1f times per call", n)
	}
}
