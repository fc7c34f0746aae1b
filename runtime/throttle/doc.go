// Package throttle implements the token buckets behind API Gateway
// throttling (SPEC RT-25, D-41): one bucket per route of a stage, configured
// by the route's route_settings or else the stage's default_route_settings,
// and one per usage-plan API key.
//
// # Semantics
//
// A bucket follows API Gateway's definition of its two settings: burst
// (throttling_burst_limit) is the bucket's capacity in requests and rate
// (throttling_rate_limit) is how many requests per second refill it. A new
// bucket starts full, so a client may send burst requests at once and then
// rate requests per second. A request needs one whole token.
//
// AWS documents burst as "the maximum bucket size" of its token bucket
// (developer guide, "Throttling requests to your HTTP API" and "Protect your
// WebSocket APIs"), accepts 0 for both limits (CloudFormation ThrottleSettings:
// minimum 0), and a method whose limits are both 0 accepts no request (the
// console's behaviour reported in aws/aws-cdk#10071). Zero values therefore
// follow the token bucket literally:
//
//   - burst 0: the bucket holds no token, so every request is throttled,
//     whatever the rate;
//   - rate 0 (or a rate below one token per 146 years): the bucket never
//     refills, so it admits burst requests in total and throttles the rest
//     until a new configuration replaces it.
//
// # Implementation
//
// A Bucket is a GCRA (generic cell rate algorithm) meter, the exact
// equivalent of a token bucket that keeps a single number: the theoretical
// arrival time of the next request, in integer nanoseconds since the process
// started, in one atomic word. Allow is a compare-and-swap loop on that word:
// no lock, no allocation, and a throttled request only reads it, so a flood
// of rejected requests does not bounce the cache line between cores. The
// refill interval is 1e9/rate rounded up to a whole nanosecond, so all
// arithmetic is exact: a full bucket admits exactly burst requests at one
// instant, and concurrent calls never admit more than burst + rate×elapsed
// (a call carrying an older time than one already recorded only counts
// against itself).
//
// The alternative, a mutex around a (tokens, last refill) pair, is kept in
// bench_test.go for comparison. On the 2-core development machine:
//
//	go test -run '^$' -bench Allow -benchmem -count 3 ./runtime/throttle/
//
//	                          CAS (chosen)   mutex
//	one goroutine, admitted       16 ns      26 ns
//	one goroutine, throttled      2.6 ns     19 ns
//	2 cores, all admitted         45 ns      32 ns
//	2 cores, half admitted        25 ns      30 ns
//	2 cores, all throttled        3.4 ns     30 ns
//
// (0 allocations in every case; time.Now, which the gateway reads once per
// message anyway, costs about 60 ns on the same machine.) The mutex only wins
// when every core admits a request on the same bucket back to back, where the
// CAS loop retries; the CAS wins everywhere else, by a factor of ten on the
// path that matters under attack, a flood of throttled messages.
//
// A Set keeps buckets across configuration reloads: the gateway asks it for a
// bucket per key when it compiles a routing table, gets the same bucket back
// while the key's rate and burst are unchanged (so re-applying a
// configuration does not refill every client's allowance), and calls Sweep
// once per successful reload to forget keys the new table no longer uses.
//
// The package imports only the standard library. It knows nothing of routes,
// stages or frames: callers choose the keys and send the 429 or the
// "Too Many Requests" frame. It does no I/O, starts no goroutine and keeps no
// global state other than the process's time origin.
package throttle
