package loadgen

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// BenchmarkCeiling measures the generator's own ceiling: a closed-loop run
// against the minimal gobwas/ws echo server of server_test.go in the same
// process (so the two share the machine's cores). It reports replies per
// second, the p99 latency and the heap allocations per message of client
// and server together. Run it with
//
//	go test -run '^$' -bench Ceiling -benchtime 1x ./internal/loadgen/
func BenchmarkCeiling(b *testing.B) {
	for _, shape := range []struct {
		name            string
		conns, inFlight int
	}{
		{name: "conns=4/in-flight=16", conns: 4, inFlight: 16},
		{name: "conns=100/in-flight=1", conns: 100, inFlight: 1},
	} {
		b.Run(shape.name, func(b *testing.B) {
			srv := startServer(b, echo, nil)
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				res, err := Run(context.Background(), Config{
					URL: srv.url, Connections: shape.conns, InFlight: shape.inFlight,
					Duration: 2 * time.Second, Warmup: 500 * time.Millisecond,
				})
				if err != nil {
					b.Fatal(err)
				}
				runtime.ReadMemStats(&after)
				if len(res.Errors) != 0 {
					b.Fatalf("errors: %v", res.Errors)
				}
				b.ReportMetric(res.Throughput, "msg/s")
				b.ReportMetric(float64(res.Latency.P99.Microseconds()), "p99-µs")
				b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(res.Sent), "allocs/msg")
			}
		})
	}
}
