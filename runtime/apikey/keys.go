package apikey

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"time"

	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/runtime/throttle"
)

// BucketPrefix starts the key of every usage-plan bucket that Compile asks
// a throttle.Set for: "usage_plan:PLAN/KEY". Route buckets must not use it
// (the gateway's "apiID/stage/routeKey" keys cannot: API ids have no colon).
const BucketPrefix = "usage_plan:"

// Reason says why Check gave its outcome.
type Reason uint8

// The reasons of an Outcome, with the HTTP status each one means.
const (
	// Allowed (200): the key is enabled, in a usage plan that covers the
	// stage, and within the plan's throttle and quota.
	Allowed Reason = iota
	// Missing (403): no key was presented.
	Missing
	// Unknown (403): the value is no configured api_key's.
	Unknown
	// Disabled (403): the api_key has enabled = false.
	Disabled
	// NotInPlan (403): no usage plan of the key covers the API and stage.
	NotInPlan
	// Throttled (429): the plan's per-key token bucket is empty.
	Throttled
	// QuotaExceeded (429): the key used the plan's quota for this period.
	QuotaExceeded
)

// String describes the reason for logs.
func (r Reason) String() string {
	switch r {
	case Allowed:
		return "allowed"
	case Missing:
		return "no api key"
	case Unknown:
		return "unknown api key"
	case Disabled:
		return "api key disabled"
	case NotInPlan:
		return "api key in no usage plan for this stage"
	case Throttled:
		return "usage plan throttle exceeded"
	case QuotaExceeded:
		return "usage plan quota exceeded"
	}
	return fmt.Sprintf("Reason(%d)", uint8(r))
}

// Status returns the HTTP status the reason maps to (RT-51): 200, 403 or
// 429.
func (r Reason) Status() int {
	switch r {
	case Allowed:
		return http.StatusOK
	case Throttled, QuotaExceeded:
		return http.StatusTooManyRequests
	}
	return http.StatusForbidden
}

// Ref identifies an API key by the SHA-256 hash of its value, so that a
// connection can keep what its handshake presented without keeping the
// secret itself. The zero Ref is no key.
type Ref struct{ sum [sha256.Size]byte }

// RefOf returns the Ref of a key value; the empty value has the zero Ref.
func RefOf(value string) Ref {
	if value == "" {
		return Ref{}
	}
	// Copying into a stack buffer avoids the heap allocation of []byte(value)
	// for values longer than the compiler's 32-byte conversion buffer.
	var buf [256]byte
	if len(value) <= len(buf) {
		n := copy(buf[:], value)
		return Ref{sum: sha256.Sum256(buf[:n])}
	}
	return Ref{sum: sha256.Sum256([]byte(value))}
}

// IsZero reports whether r is the zero Ref (no key).
func (r Ref) IsZero() bool { return r == Ref{} }

// Outcome is the result of a key check.
type Outcome struct {
	// Status is Reason.Status(): 200, 403 or 429.
	Status int
	Reason Reason
	// KeyID is the api_key's name (context.identity.apiKeyId) whenever the
	// value was recognised, whatever the outcome; "" for Missing and
	// Unknown.
	KeyID string
	// Plan is the usage plan that covers the stage for this key, when there
	// is one.
	Plan string
	// Ref is the presented key's Ref (zero for Missing): what CheckRef takes
	// for the connection's messages.
	Ref Ref
}

// apiStage is an API name and one of its stages.
type apiStage struct{ api, stage string }

// key is one compiled api_key.
type key struct {
	name    string
	enabled bool
	// grants holds, per API and stage, the one usage plan of the key that
	// covers it.
	grants map[apiStage]*grant
}

// grant is one API key in one usage plan: the plan's limits as they apply
// to that key.
type grant struct {
	plan string
	// bucket is the key's token bucket in this plan; nil when the plan has
	// no throttle.
	bucket *throttle.Bucket
	// quota is the key's counter in this plan; nil when the plan has no
	// quota.
	quota *Counter
}

// Keys is the compiled form of a configuration's api keys and usage plans.
// It is immutable (its buckets and counters are safe for concurrent use)
// and safe for concurrent use. A nil *Keys has no keys.
type Keys struct {
	// byHash finds a key by the SHA-256 of its value: looking a secret up by
	// its hash compares hashes, never the secret itself, so the time a
	// lookup takes says nothing of how much of a guess was right.
	byHash map[[sha256.Size]byte]*key
}

// Compile builds Keys from the api_key and usage_plan blocks of a state.
// Per-key throttles come from buckets (key BucketPrefix+"PLAN/KEY") and
// quota counters from counters (key "PLAN/KEY"), so a reload that keeps a
// plan's limits keeps every key's tokens and counts; the gateway calls
// Compile while it compiles a routing table and sweeps both stores once the
// table is in service. nil stores stand for fresh ones that nothing else
// shares (tests, one-off checks).
//
// Compile refuses what AWS refuses and what would make a check ambiguous:
// two api keys with the same name or value, a usage plan naming an api key
// that does not exist, a quota period other than DAY, WEEK or MONTH, and
// one key in two usage plans that cover the same API and stage ("an API key
// can be associated with only one usage plan per API stage"). Errors name
// keys, never their values.
func Compile(keys []*model.APIKey, plans []*model.UsagePlan, buckets *throttle.Set, counters *Counters) (*Keys, error) {
	if buckets == nil {
		buckets = new(throttle.Set)
	}
	if counters == nil {
		counters = new(Counters)
	}
	ks := &Keys{byHash: make(map[[sha256.Size]byte]*key, len(keys))}
	byName := make(map[string]*key, len(keys))
	for _, k := range keys {
		if k == nil {
			continue
		}
		if _, dup := byName[k.Name]; dup {
			return nil, fmt.Errorf("compile api keys: api_key %q is defined twice", k.Name)
		}
		if k.Value == "" {
			return nil, fmt.Errorf("compile api keys: api_key %q has an empty value", k.Name)
		}
		sum := sha256.Sum256([]byte(k.Value))
		if other, dup := ks.byHash[sum]; dup {
			return nil, fmt.Errorf("compile api keys: api_keys %q and %q have the same value", other.name, k.Name)
		}
		ck := &key{name: k.Name, enabled: k.Enabled, grants: map[apiStage]*grant{}}
		byName[k.Name] = ck
		ks.byHash[sum] = ck
	}
	for _, p := range plans {
		if p == nil {
			continue
		}
		var period Period
		if p.Quota != nil {
			var err error
			if period, err = ParsePeriod(p.Quota.Period); err != nil {
				return nil, fmt.Errorf("compile usage_plan %q: %w", p.Name, err)
			}
		}
		for _, name := range p.APIKeys {
			k, ok := byName[name]
			if !ok {
				return nil, fmt.Errorf("compile usage_plan %q: api_key %q is not defined", p.Name, name)
			}
			g := &grant{plan: p.Name}
			if p.Throttle != nil {
				g.bucket = buckets.Get(BucketPrefix+p.Name+"/"+name, p.Throttle.RateLimit, p.Throttle.BurstLimit)
			}
			if p.Quota != nil {
				g.quota = counters.Get(p.Name+"/"+name, p.Quota.Limit, period)
			}
			for _, s := range p.Stages {
				as := apiStage{api: s.API, stage: s.Stage}
				if prev, ok := k.grants[as]; ok {
					if prev.plan == p.Name {
						continue // the plan lists the stage or the key twice
					}
					return nil, fmt.Errorf("compile usage_plan %q: api_key %q is also in usage_plan %q, which covers api %q stage %q too",
						p.Name, name, prev.plan, s.API, s.Stage)
				}
				k.grants[as] = g
			}
		}
	}
	return ks, nil
}

// Len returns the number of api keys.
func (ks *Keys) Len() int {
	if ks == nil {
		return 0
	}
	return len(ks.byHash)
}

// Check decides whether the key value presented on a handshake to api
// (the API's name) and stage may connect (RT-51, D-26), and counts the
// handshake against the key's throttle and quota when it may. value is
// what api_key_selection_expression selected ("" when nothing). now is the
// time of the request: its monotonic reading drives the throttle, its UTC
// wall clock the quota period.
func (ks *Keys) Check(api, stage, value string, now time.Time) Outcome {
	if value == "" {
		return outcome(Missing, nil, nil, Ref{})
	}
	return ks.CheckRef(api, stage, RefOf(value), now)
}

// CheckRef is Check for a key already hashed: the gateway calls it with the
// handshake Outcome's Ref for every message of the connection, which counts
// the message against the key's throttle and quota (D-41) in the current
// configuration. A key disabled or taken out of the stage's usage plans
// since the handshake gets 403 (Disabled, NotInPlan, or Unknown when its
// value is gone); whether that refuses the message or closes the
// connection is the gateway's choice.
func (ks *Keys) CheckRef(api, stage string, ref Ref, now time.Time) Outcome {
	if ref.IsZero() {
		return outcome(Missing, nil, nil, ref)
	}
	var k *key
	if ks != nil {
		k = ks.byHash[ref.sum]
	}
	switch {
	case k == nil:
		return outcome(Unknown, nil, nil, ref)
	case !k.enabled:
		return outcome(Disabled, k, nil, ref)
	}
	g := k.grants[apiStage{api: api, stage: stage}]
	switch {
	case g == nil:
		return outcome(NotInPlan, k, nil, ref)
	case g.bucket != nil && !g.bucket.Allow(now):
		return outcome(Throttled, k, g, ref)
	case g.quota != nil && !g.quota.Take(now):
		return outcome(QuotaExceeded, k, g, ref)
	}
	return outcome(Allowed, k, g, ref)
}

// outcome builds an Outcome; k and g may be nil.
func outcome(r Reason, k *key, g *grant, ref Ref) Outcome {
	o := Outcome{Status: r.Status(), Reason: r, Ref: ref}
	if k != nil {
		o.KeyID = k.name
	}
	if g != nil {
		o.Plan = g.plan
	}
	return o
}
