package throttle

import (
	"sync"
	"testing"
	"time"
)

func TestSetKeepsBucketsAcrossReloads(t *testing.T) {
	var s Set
	now := time.Now()

	// First load: two routes.
	a := s.Get("api/dev/a", 1, 2)
	bk := s.Get("api/dev/b", 1, 2)
	if a == bk {
		t.Fatal("two keys share a bucket")
	}
	if dropped := s.Sweep(); dropped != 0 {
		t.Fatalf("first sweep dropped %d keys, want 0", dropped)
	}
	if !a.Allow(now) || !a.Allow(now) || a.Allow(now) {
		t.Fatal("route a did not admit exactly its burst of 2")
	}

	tests := []struct {
		name      string
		key       string
		rate      float64
		burst     int
		wantSame  bool
		wantToken int
	}{
		{"RT-25 same settings keep the bucket and its tokens", "api/dev/a", 1, 2, true, 0},
		{"RT-25 a new rate gives a new full bucket", "api/dev/a", 2, 2, false, 2},
		{"RT-25 a new burst gives a new full bucket", "api/dev/a", 2, 3, false, 3},
		{"equivalent normalised settings keep the bucket", "api/dev/a", 2, 3, true, 3},
	}
	// Second load: asks for a only, with changing settings.
	prev := a
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.Get(tt.key, tt.rate, tt.burst)
			if same := got == prev; same != tt.wantSame {
				t.Errorf("Get(%q, %v, %d) returned the previous bucket: %v, want %v", tt.key, tt.rate, tt.burst, same, tt.wantSame)
			}
			if tok := got.Tokens(now); tok != tt.wantToken {
				t.Errorf("bucket has %d tokens, want %d", tok, tt.wantToken)
			}
			prev = got
		})
	}

	// The second load used only a: b is dropped, and a later Get of b is a
	// new full bucket.
	if dropped := s.Sweep(); dropped != 1 {
		t.Fatalf("sweep after a load without b dropped %d keys, want 1", dropped)
	}
	if n := s.Len(); n != 1 {
		t.Fatalf("set holds %d keys after the sweep, want 1", n)
	}
	if got := s.Get("api/dev/b", 1, 2); got == bk {
		t.Fatal("a swept key came back with its old bucket")
	}
}

func TestSetNegativeSettingsCompareNormalised(t *testing.T) {
	var s Set
	a := s.Get("k", -1, -5)
	if b := s.Get("k", 0, 0); a != b {
		t.Fatal("Get(-1, -5) and Get(0, 0) mean the same bucket but returned two")
	}
}

// TestSetFailedLoadIsNotSwept models a reload whose table fails to compile
// after asking for buckets: without a Sweep nothing is dropped, and the keys
// it asked for are dropped by the next successful reload if unused.
func TestSetFailedLoadIsNotSwept(t *testing.T) {
	var s Set
	live := s.Get("live", 10, 10)
	s.Sweep()

	// Failed load: asks for "live" and a new key, never sweeps.
	s.Get("live", 10, 10)
	s.Get("orphan", 10, 10)

	// Next successful load uses "live" only.
	if got := s.Get("live", 10, 10); got != live {
		t.Fatal("the live bucket was replaced by a failed load")
	}
	if dropped := s.Sweep(); dropped != 0 {
		t.Fatalf("sweep dropped %d keys; the orphan of the failed load was asked for in this generation, want 0", dropped)
	}
	s.Get("live", 10, 10)
	if dropped := s.Sweep(); dropped != 1 {
		t.Fatalf("second sweep dropped %d keys, want the orphan", dropped)
	}
}

func TestSetConcurrentGet(t *testing.T) {
	var s Set
	var wg sync.WaitGroup
	got := make([]*Bucket, 8)
	for i := range got {
		wg.Go(func() { got[i] = s.Get("shared", 5, 5) })
	}
	wg.Wait()
	for i, b := range got {
		if b != got[0] {
			t.Fatalf("goroutine %d got a different bucket for the same key and settings", i)
		}
	}
}
