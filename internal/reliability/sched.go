package reliability

import (
	"math"
	"runtime/metrics"
	"time"
)

// schedLatencyMetric is the Go runtime's histogram of the time goroutines
// spent runnable before they ran: it grows when the process wants more CPU
// than it gets, from the machine or from its own load.
const schedLatencyMetric = "/sched/latencies:seconds"

// schedSnapshot returns the scheduling latency histogram so far.
func schedSnapshot() *metrics.Float64Histogram {
	s := []metrics.Sample{{Name: schedLatencyMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return nil
	}
	return s[0].Value.Float64Histogram()
}

// schedQuantile returns quantile q of the scheduling latencies recorded
// between the snapshots before and after: the upper bound of the bucket
// that holds it.
func schedQuantile(before, after *metrics.Float64Histogram, q float64) time.Duration {
	if before == nil || after == nil || len(before.Counts) != len(after.Counts) {
		return 0
	}
	var total uint64
	counts := make([]uint64, len(after.Counts))
	for i := range counts {
		counts[i] = after.Counts[i] - before.Counts[i]
		total += counts[i]
	}
	if total == 0 {
		return 0
	}
	want := uint64(math.Ceil(q * float64(total)))
	var seen uint64
	for i, n := range counts {
		seen += n
		if seen >= want {
			upper := after.Buckets[i+1]
			if math.IsInf(upper, 1) {
				upper = after.Buckets[i]
			}
			return time.Duration(upper * float64(time.Second))
		}
	}
	return 0
}
