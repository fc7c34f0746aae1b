package throttle

import "sync"

// Set holds the buckets of a gateway by key across configuration reloads.
// The gateway calls Get for every bucket while it compiles a new routing
// table and stores the returned pointers in the table (the hot path never
// touches the Set), then calls Sweep once the new table is in service. Keys
// are opaque to the Set; the caller makes them unique (for example
// "apiID/stage/routeKey"). A Set is safe for concurrent use; the zero value is
// an empty Set ready to use.
type Set struct {
	mu      sync.Mutex
	entries map[string]*entry
	// gen is the current generation: Get stamps the entries it returns with
	// it, and Sweep drops the entries that carry an older one.
	gen uint64
}

// entry is one bucket of a Set with the generation that last asked for it.
type entry struct {
	bucket *Bucket
	gen    uint64
}

// Get returns the bucket for key. While key's rate and burst stay the same it
// returns the same bucket, which keeps its tokens; when either changes it
// returns a new, full bucket, and the old one serves only the tables that
// already hold it. Get marks key as used by the table being compiled.
func (s *Set) Get(key string, rate float64, burst int) *Bucket {
	rate, burst = normalize(rate, burst)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.entries == nil {
		s.entries = make(map[string]*entry)
	}
	if e, ok := s.entries[key]; ok {
		e.gen = s.gen
		if e.bucket.rate != rate || e.bucket.burst != burst {
			e.bucket = NewBucket(rate, burst)
		}
		return e.bucket
	}
	b := NewBucket(rate, burst)
	s.entries[key] = &entry{bucket: b, gen: s.gen}
	return b
}

// Sweep forgets every key that Get was not called for since the previous
// Sweep, and starts a new generation. The gateway calls it once per
// successful reload, after the new table is in service: a table that failed
// to compile is not swept, and the keys it asked for live until the next
// Sweep. Sweep returns the number of keys dropped.
func (s *Set) Sweep() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	dropped := 0
	for key, e := range s.entries {
		if e.gen != s.gen {
			delete(s.entries, key)
			dropped++
		}
	}
	s.gen++
	return dropped
}

// Len returns the number of keys the Set holds.
func (s *Set) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}
