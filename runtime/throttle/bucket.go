package throttle

import (
	"math"
	"sync/atomic"
	"time"
)

// origin is the time origin of every bucket: Allow measures now from it, on
// the monotonic clock when now carries a monotonic reading.
var origin = time.Now()

// Limits of the arithmetic, all in nanoseconds: with each below 2^62, the
// state of a bucket (at most time + tolerance + interval) never overflows.
const (
	// maxInterval is the longest refill interval a bucket honours (about 146
	// years per token); a slower rate is treated as 0.
	maxInterval = 1 << 62
	// maxTolerance caps burst×interval, so that a bucket holds at most 146
	// years of refill (only absurd configurations reach it: a burst of 2^31
	// at less than one token per 2 seconds).
	maxTolerance = 1 << 62
	// maxUptime caps the time Allow sees, about 146 years after the process
	// started.
	maxUptime = 1 << 62
	// full is the initial theoretical arrival time: any time is past it.
	full = math.MinInt64
)

// Bucket is a token bucket with a capacity of burst requests that refills at
// rate requests per second and starts full. It is safe for concurrent use; the
// zero value is not usable, use NewBucket.
type Bucket struct {
	// tat is the theoretical arrival time: the time, in nanoseconds since
	// origin, at which the bucket would be full again. Each admitted request
	// moves it interval further; full (the initial value) or any time in the
	// past means full.
	tat atomic.Int64
	_   [56]byte // keep tat alone on its cache line

	// interval is the time one token takes to refill: 1e9/rate rounded up
	// to a whole nanosecond, so that a bucket never admits more than its
	// rate.
	interval int64
	// tolerance is burst×interval: how far the theoretical arrival time may
	// run ahead of now for a request to be admitted.
	tolerance int64
	// never is true when burst is 0: no request is ever admitted.
	never bool
	// frozen is true when the bucket never refills (rate 0): time is then
	// held at 0 and the interval is 1, so the bucket admits exactly burst
	// requests in total.
	frozen bool

	rate  float64
	burst int
}

// NewBucket returns a full bucket of capacity burst that refills at rate
// tokens per second. A burst of 0 or less throttles every request; a rate of
// 0 or less (or NaN, or below one token in 146 years) never refills the
// bucket, so it admits burst requests in total. The refill interval is kept
// in whole nanoseconds, rounded up: the effective rate is the configured one
// for rates that divide 10^9 (1, 2, 5, 10000...) and otherwise lower by less
// than one part in 10^9/rate (0.001% at 10000 requests per second).
func NewBucket(rate float64, burst int) *Bucket {
	rate, burst = normalize(rate, burst)
	b := &Bucket{rate: rate, burst: burst}
	b.tat.Store(full)
	switch interval := refillInterval(rate); {
	case burst == 0:
		b.never = true
	case interval < 0:
		b.frozen = true
		b.interval = 1
		b.tolerance = int64(burst)
	default:
		b.interval = interval
		if float64(burst)*float64(interval) >= maxTolerance {
			b.tolerance = maxTolerance
		} else {
			b.tolerance = int64(burst) * interval
		}
	}
	return b
}

// normalize returns rate and burst with every value that means "none" (a
// negative or NaN rate, a negative burst) replaced by 0.
func normalize(rate float64, burst int) (float64, int) {
	if !(rate > 0) {
		rate = 0
	}
	return rate, max(burst, 0)
}

// refillInterval returns the nanoseconds one token takes to refill at rate
// tokens per second, rounded up (a result within 10^-12 of a whole number is
// that number, so that 0.1 gives exactly 10^10), at least 1; or -1 when the
// rate is too slow to ever refill.
func refillInterval(rate float64) int64 {
	f := float64(time.Second) / rate // +Inf for rate 0
	if !(f <= maxInterval) {
		return -1
	}
	if r := math.Round(f); math.Abs(f-r) <= r*1e-12 {
		f = r
	}
	return max(int64(math.Ceil(f)), 1)
}

// Rate returns the refill rate in tokens per second as NewBucket normalised
// it (0 when rate was not positive).
func (b *Bucket) Rate() float64 { return b.rate }

// Burst returns the capacity as NewBucket normalised it.
func (b *Bucket) Burst() int { return b.burst }

// Allow takes one token from the bucket at time now and reports whether there
// was one. A throttled request takes nothing and writes nothing. Times should
// come from time.Now (their monotonic reading makes the bucket immune to
// wall-clock jumps); concurrent calls may carry slightly out-of-order times,
// and an older time only makes its own request more likely to be throttled.
// Allow does not allocate or block.
func (b *Bucket) Allow(now time.Time) bool {
	if b.never {
		return false
	}
	t := b.clock(now)
	for {
		old := b.tat.Load()
		next := max(old, t) + b.interval
		if next-t > b.tolerance {
			return false
		}
		if b.tat.CompareAndSwap(old, next) {
			return true
		}
	}
}

// Tokens returns the number of whole tokens available at time now, for
// diagnostics and tests; concurrent Allow calls may take some at any moment.
func (b *Bucket) Tokens(now time.Time) int {
	if b.never {
		return 0
	}
	t := b.clock(now)
	// Allow admits k more requests while max(tat, t) + k×interval - t stays
	// within the tolerance.
	ahead := max(b.tat.Load(), t) - t
	return int(min(max(b.tolerance-ahead, 0)/b.interval, int64(b.burst)))
}

// clock returns now in nanoseconds since origin, capped at maxUptime so that
// the state cannot overflow, or 0 for a bucket that never refills.
func (b *Bucket) clock(now time.Time) int64 {
	if b.frozen {
		return 0
	}
	return min(int64(now.Sub(origin)), maxUptime)
}
