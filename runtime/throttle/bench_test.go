package throttle

import (
	"sync"
	"testing"
	"time"
)

// mutexBucket is the alternative design that Bucket was measured against: a
// classic token bucket, a token count and the time of the last refill,
// guarded by a mutex.
type mutexBucket struct {
	mu     sync.Mutex
	tokens float64
	last   int64
	rate   float64 // tokens per nanosecond
	burst  float64
}

func newMutexBucket(rate float64, burst int) *mutexBucket {
	return &mutexBucket{tokens: float64(burst), last: -1, rate: rate / 1e9, burst: float64(burst)}
}

func (b *mutexBucket) Allow(now time.Time) bool {
	t := int64(now.Sub(origin))
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.last >= 0 && t > b.last {
		b.tokens = min(b.burst, b.tokens+float64(t-b.last)*b.rate)
	}
	b.last = max(b.last, t)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// allower is what the benchmarks compare.
type allower interface{ Allow(time.Time) bool }

var designs = []struct {
	name string
	make func(rate float64, burst int) allower
}{
	{"cas", func(r float64, b int) allower { return NewBucket(r, b) }},
	{"mutex", func(r float64, b int) allower { return newMutexBucket(r, b) }},
}

// BenchmarkAllow measures one goroutine's Allow with a precomputed time:
// "admit" on a bucket that always has a token (every call updates the state),
// "throttled" on an empty one (every call only reads it).
func BenchmarkAllow(b *testing.B) {
	for _, d := range designs {
		b.Run(d.name+"/admit", func(b *testing.B) {
			bk := d.make(1e9, 1<<30)
			now := time.Now()
			b.ReportAllocs()
			for b.Loop() {
				now = now.Add(time.Nanosecond)
				if !bk.Allow(now) {
					b.Fatal("throttled")
				}
			}
		})
		b.Run(d.name+"/throttled", func(b *testing.B) {
			bk := d.make(0, 0)
			now := time.Now()
			b.ReportAllocs()
			for b.Loop() {
				if bk.Allow(now) {
					b.Fatal("admitted")
				}
			}
		})
	}
}

// BenchmarkAllowParallel measures Allow from every core at once on one
// bucket, as a busy route sees it. Each goroutine advances its own clock by
// a nanosecond per call (time.Now is left out: it costs as much as Allow and
// the gateway reads it once per message anyway, see BenchmarkTimeNow).
// "admit" never runs out of tokens, "throttled" is empty, and "mixed" refills
// a token every 2 ns, so about half the calls are admitted.
func BenchmarkAllowParallel(b *testing.B) {
	for _, d := range designs {
		for _, c := range []struct {
			name  string
			rate  float64
			burst int
		}{
			{"admit", 1e12, 1 << 30},
			{"throttled", 0, 0},
			{"mixed", 5e8, 1},
		} {
			b.Run(d.name+"/"+c.name, func(b *testing.B) {
				bk := d.make(c.rate, c.burst)
				start := time.Now()
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					now := start
					for pb.Next() {
						now = now.Add(time.Nanosecond)
						bk.Allow(now)
					}
				})
			})
		}
	}
}

// BenchmarkTimeNow is the cost of the time.Now call that the gateway makes
// per message, for comparison.
func BenchmarkTimeNow(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = time.Now()
	}
}

// BenchmarkSetGet measures Get of an existing key, the cost per route of a
// reload.
func BenchmarkSetGet(b *testing.B) {
	var s Set
	s.Get("api/stage/route", 10000, 5000)
	b.ReportAllocs()
	for b.Loop() {
		s.Get("api/stage/route", 10000, 5000)
	}
}
