package main

import (
	"slices"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/wsgwctl/wsgwctl/internal/loadgen"
)

// sample is one measurement of one contender in one round.
type sample struct {
	// Value is the workload's figure: a rate per second, or bytes per
	// connection for W7.
	Value float64
	// Latency percentiles; zero when the workload measures none.
	P50, P90, P99, P999, Max time.Duration
	// Hist is the latency histogram in microseconds, or nil.
	Hist *hdrhistogram.Histogram
	// Errors counts failed operations of any kind.
	Errors int
	// Extra holds further figures by name (MB/s, close codes, ...).
	Extra map[string]float64
}

// sampleOf returns a sample with value and the percentiles of hist (in
// microseconds).
func sampleOf(hist *hdrhistogram.Histogram, value float64) sample {
	us := func(q float64) time.Duration {
		return time.Duration(hist.ValueAtQuantile(q)) * time.Microsecond
	}
	return sample{
		Value: value,
		P50:   us(50), P90: us(90), P99: us(99), P999: us(99.9),
		Max:  time.Duration(hist.Max()) * time.Microsecond,
		Hist: hist,
	}
}

// sampleOfResult returns the sample of a load generator run: messages per
// second and the reply latency.
func sampleOfResult(r *loadgen.Result) sample {
	s := sample{
		Value: r.Throughput,
		P50:   r.Latency.P50, P90: r.Latency.P90, P99: r.Latency.P99, P999: r.Latency.P999, Max: r.Latency.Max,
		Hist: r.Histogram(),
	}
	for _, n := range r.Errors {
		s.Errors += n
	}
	return s
}

// spread is the median and range of a figure over rounds.
type spread struct {
	Median, Min, Max float64
	N                int
}

// spreadOf returns the median, minimum and maximum of vs (the mean of the
// two middle values for an even count). The zero spread has N 0.
func spreadOf(vs []float64) spread {
	if len(vs) == 0 {
		return spread{}
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return spread{Median: m, Min: s[0], Max: s[len(s)-1], N: len(s)}
}

// mergeHistograms returns one histogram of every sample's, or nil when
// none has one.
func mergeHistograms(samples []sample) *hdrhistogram.Histogram {
	var out *hdrhistogram.Histogram
	for _, s := range samples {
		if s.Hist == nil {
			continue
		}
		if out == nil {
			out = newHistogram()
		}
		out.Merge(s.Hist)
	}
	return out
}
