package throttle

import (
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// step is one moment of a bucket's life: at offset from the test's base time,
// attempts requests arrive and admitted of them must pass, leaving tokens.
type step struct {
	at       time.Duration
	attempts int
	admitted int
	tokens   int
}

func TestBucketAccounting(t *testing.T) {
	tests := []struct {
		name  string
		rate  float64
		burst int
		steps []step
	}{
		{"RT-25 rate 1 burst 1", 1, 1, []step{
			{0, 2, 1, 0},
			{999 * time.Millisecond, 1, 0, 0},
			{time.Second, 2, 1, 0},
			{3 * time.Second, 1, 1, 0}, // one token: the burst caps the refill
			{3 * time.Second, 1, 0, 0},
		}},
		{"RT-25 burst then steady rate", 100, 10, []step{
			{0, 15, 10, 0},
			{10 * time.Millisecond, 2, 1, 0},
			{20 * time.Millisecond, 2, 1, 0},
			{25 * time.Millisecond, 1, 0, 0},
			{30 * time.Millisecond, 1, 1, 0},
			{80 * time.Millisecond, 0, 0, 5},
			{80 * time.Millisecond, 6, 5, 0},
			{time.Hour, 20, 10, 0},
		}},
		{"RT-25 starts full and caps at burst", 10, 5, []step{
			{0, 0, 0, 5},
			{0, 7, 5, 0},
			{100 * time.Millisecond, 2, 1, 0},
			{250 * time.Millisecond, 0, 0, 1},
			{time.Second, 10, 5, 0},
		}},
		{"fractional rate", 0.5, 2, []step{
			{0, 3, 2, 0},
			{1999 * time.Millisecond, 1, 0, 0},
			{2 * time.Second, 1, 1, 0},
			{4 * time.Second, 2, 1, 0},
			{10 * time.Second, 5, 2, 0},
		}},
		{"rate that does not divide a second is rounded down", 3, 3, []step{
			{0, 4, 3, 0},
			{333333333, 1, 0, 0},
			{333333334, 1, 1, 0},
			{time.Second, 3, 1, 0}, // (1e9 - 333333334) ns refilled 1.99… tokens
			{time.Second + 333333334, 1, 1, 0},
		}},
		{"rate 0 burst 0 throttles everything", 0, 0, []step{
			{0, 5, 0, 0},
			{time.Hour, 5, 0, 0},
		}},
		{"burst 0 throttles everything whatever the rate", 10000, 0, []step{
			{0, 5, 0, 0},
			{time.Hour, 5, 0, 0},
		}},
		{"rate 0 admits the burst once", 0, 3, []step{
			{0, 2, 2, 1},
			{time.Hour, 2, 1, 0},
			{1000 * time.Hour, 1, 0, 0},
		}},
		{"rate below one token per century never refills", 1e-12, 2, []step{
			{0, 3, 2, 0},
			{100000 * time.Hour, 1, 0, 0},
		}},
		{"negative values mean 0", -5, -1, []step{
			{0, 3, 0, 0},
		}},
		{"NaN rate means 0", math.NaN(), 1, []step{
			{0, 2, 1, 0},
			{time.Hour, 1, 0, 0},
		}},
		{"rate above one per nanosecond", 1e300, 2, []step{
			{0, 3, 2, 0},
			{1, 2, 1, 0},
			{10, 5, 2, 0},
		}},
		{"AWS defaults", 10000, 5000, []step{
			{0, 6000, 5000, 0},
			{time.Millisecond, 11, 10, 0},
			{500 * time.Millisecond, 6000, 4990, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBucket(tt.rate, tt.burst)
			base := time.Now()
			for i, s := range tt.steps {
				now := base.Add(s.at)
				got := 0
				for range s.attempts {
					if b.Allow(now) {
						got++
					}
				}
				if got != s.admitted {
					t.Errorf("step %d at %v: admitted %d of %d, want %d", i, s.at, got, s.attempts, s.admitted)
				}
				if tok := b.Tokens(now); tok != s.tokens {
					t.Errorf("step %d at %v: %d tokens left, want %d", i, s.at, tok, s.tokens)
				}
			}
		})
	}
}

func TestNewBucketNormalises(t *testing.T) {
	tests := []struct {
		rate      float64
		burst     int
		wantRate  float64
		wantBurst int
	}{
		{10, 5, 10, 5},
		{0, 0, 0, 0},
		{-1, -1, 0, 0},
		{math.NaN(), 3, 0, 3},
		{math.Inf(1), 3, math.Inf(1), 3},
	}
	for _, tt := range tests {
		b := NewBucket(tt.rate, tt.burst)
		if b.Rate() != tt.wantRate || b.Burst() != tt.wantBurst {
			t.Errorf("NewBucket(%v, %d): rate %v burst %d, want %v and %d", tt.rate, tt.burst, b.Rate(), b.Burst(), tt.wantRate, tt.wantBurst)
		}
	}
}

func TestRefillInterval(t *testing.T) {
	tests := []struct {
		rate float64
		want int64
	}{
		{1, 1e9},
		{10000, 1e5},
		{0.1, 1e10},
		{3, 333333334},
		{7, 142857143},
		{1e9, 1},
		{3e9, 1},
		{0, -1},
		{1e-12, -1},
	}
	for _, tt := range tests {
		if got := refillInterval(tt.rate); got != tt.want {
			t.Errorf("refillInterval(%v) = %d, want %d", tt.rate, got, tt.want)
		}
	}
}

// TestBucketHugeBurst checks that a burst whose refill time overflows the
// arithmetic is capped rather than wrapped around.
func TestBucketHugeBurst(t *testing.T) {
	b := NewBucket(0.01, 1<<31)
	now := time.Now()
	want := int(maxTolerance / int64(1e11))
	if got := b.Tokens(now); got != want {
		t.Fatalf("tokens of a full bucket: got %d, want %d (146 years of refill)", got, want)
	}
	for range 1000 {
		if !b.Allow(now) {
			t.Fatal("a full bucket throttled a request")
		}
	}
	if got := b.Tokens(now); got != want-1000 {
		t.Fatalf("tokens after 1000 requests: got %d, want %d", got, want-1000)
	}
}

// TestBucketOutOfOrderTimes checks that a request carrying an older time than
// one already admitted cannot get extra tokens.
func TestBucketOutOfOrderTimes(t *testing.T) {
	b := NewBucket(1, 2)
	base := time.Now()
	if !b.Allow(base.Add(10*time.Second)) || !b.Allow(base.Add(10*time.Second)) {
		t.Fatal("a full bucket throttled its burst")
	}
	for _, at := range []time.Duration{0, 5 * time.Second, 10 * time.Second} {
		if b.Allow(base.Add(at)) {
			t.Errorf("RT-25: request at %v admitted after the bucket was emptied at 10s", at)
		}
	}
	if !b.Allow(base.Add(11 * time.Second)) {
		t.Error("RT-25: the token refilled at 11s was not admitted")
	}
}

// TestBucketConcurrentExact checks that concurrent requests at one instant
// take exactly the burst: no update is lost and none is counted twice.
func TestBucketConcurrentExact(t *testing.T) {
	const goroutines, attempts, burst = 8, 200000, 1000000
	b := NewBucket(1000, burst)
	now := time.Now()
	var admitted atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range goroutines {
		wg.Go(func() {
			<-start
			for range attempts {
				if b.Allow(now) {
					admitted.Add(1)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if got := admitted.Load(); got != burst {
		t.Fatalf("RT-25: %d goroutines × %d requests at one instant admitted %d, want exactly the burst %d", goroutines, attempts, got, burst)
	}
}

// TestBucketConcurrentRate runs goroutines against one bucket on a shared
// clock that every request advances, and checks that the bucket admits no
// more than burst + rate×elapsed, but does refill.
func TestBucketConcurrentRate(t *testing.T) {
	const (
		goroutines = 8
		attempts   = 2000
		rate       = 1000.0
		burst      = 50
		tick       = 10 * time.Microsecond
	)
	b := NewBucket(rate, burst)
	base := time.Now()
	var clock atomic.Int64
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range attempts {
				now := base.Add(time.Duration(clock.Add(int64(tick))))
				if b.Allow(now) {
					admitted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Duration(clock.Load()).Seconds()
	limit := burst + rate*elapsed
	got := float64(admitted.Load())
	if got > limit {
		t.Fatalf("RT-25: admitted %v requests in %.3fs, more than burst + rate×elapsed = %v", got, elapsed, limit)
	}
	if got < burst+rate*elapsed/2 {
		t.Fatalf("RT-25: admitted %v requests in %.3fs, the bucket hardly refilled (limit %v)", got, elapsed, limit)
	}
}

// TestBucketConcurrentRealClock is TestBucketConcurrentRate on the real
// clock, as the gateway uses it.
func TestBucketConcurrentRealClock(t *testing.T) {
	const goroutines, attempts, rate, burst = 4, 5000, 2000.0, 20
	b := NewBucket(rate, burst)
	var admitted atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range goroutines {
		wg.Go(func() {
			for range attempts {
				if b.Allow(time.Now()) {
					admitted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	if got, limit := float64(admitted.Load()), burst+rate*elapsed; got > limit {
		t.Fatalf("RT-25: admitted %v requests in %.4fs, more than burst + rate×elapsed = %v", got, elapsed, limit)
	}
	if got := admitted.Load(); got < burst {
		t.Fatalf("RT-25: admitted %d requests, fewer than the burst %d of a full bucket", got, burst)
	}
}
