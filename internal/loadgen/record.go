package loadgen

import (
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Geometry of every latency histogram: microseconds from 1 µs to one
// minute with three significant digits. Longer latencies are recorded as
// one minute.
const (
	histLowest  = 1
	histHighest = int64(time.Minute / time.Microsecond)
	histDigits  = 3
)

// newHistogram returns an empty latency histogram.
func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histLowest, histHighest, histDigits)
}

// recorderShards is the number of shards of a recorder: enough that the
// connections' readers rarely wait for one another's lock.
const recorderShards = 8

// recorder collects latencies into sharded histograms: one of the measured
// phase and one of everything since the last progress snapshot.
type recorder struct {
	shards [recorderShards]recorderShard
}

type recorderShard struct {
	mu       sync.Mutex
	measured *hdrhistogram.Histogram
	interval *hdrhistogram.Histogram
	_        [64]byte // keeps shards' locks on separate cache lines
}

func newRecorder() *recorder {
	r := &recorder{}
	for i := range r.shards {
		r.shards[i].measured = newHistogram()
		r.shards[i].interval = newHistogram()
	}
	return r
}

// record adds latency d to shard i's histograms; measured says whether it
// belongs to the measured phase.
func (r *recorder) record(i int, d time.Duration, measured bool) {
	us := int64(d / time.Microsecond)
	if us < 0 {
		us = 0
	}
	if us > histHighest {
		us = histHighest
	}
	s := &r.shards[i%recorderShards]
	s.mu.Lock()
	_ = s.interval.RecordValue(us) // in range by construction
	if measured {
		_ = s.measured.RecordValue(us)
	}
	s.mu.Unlock()
}

// takeInterval returns the latencies recorded since its last call and
// starts a new interval.
func (r *recorder) takeInterval() *hdrhistogram.Histogram {
	h := newHistogram()
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		h.Merge(s.interval)
		s.interval.Reset()
		s.mu.Unlock()
	}
	return h
}

// measured returns the merged histogram of the measured phase.
func (r *recorder) measured() *hdrhistogram.Histogram {
	h := newHistogram()
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		h.Merge(s.measured)
		s.mu.Unlock()
	}
	return h
}

// latencyOf summarises a histogram of microseconds.
func latencyOf(h *hdrhistogram.Histogram) Latency {
	us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
	if h.TotalCount() == 0 {
		return Latency{}
	}
	return Latency{
		P50:   us(h.ValueAtPercentile(50)),
		P90:   us(h.ValueAtPercentile(90)),
		P99:   us(h.ValueAtPercentile(99)),
		P999:  us(h.ValueAtPercentile(99.9)),
		Max:   us(h.Max()),
		Mean:  time.Duration(h.Mean() * float64(time.Microsecond)),
		Count: h.TotalCount(),
	}
}
