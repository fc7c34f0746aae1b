// Package reliability is the gateway's reliability suite (issue 6, item 7):
// a bounded run on the loopback interface that measures how the gateway
// serves well-behaved clients while other clients and backends misbehave.
//
// Run starts a runtime.Server on 127.0.0.1:0 with a state built from model
// values: a two-way $default HTTP_PROXY route to a well-behaved echo backend,
// AWS_PROXY $connect, $disconnect and "whoami" routes to a well-behaved
// Lambda-style backend, a MOCK route with a large reply, a throttled flood
// route, and one route per faulty backend (down, slow, resetting, garbage).
// It then runs two phases of equal length with the same well-behaved
// clients: a baseline, and an abuse phase in which attackers of every kind
// run at the same time (stalled readers, byte-by-byte handshakes, oversize
// frames and handshakes, invalid UTF-8, binary frames, protocol violations,
// floods, connection churn, and messages routed to each faulty backend). The
// Report counts what was tried and what was observed per fault kind, the
// well-behaved clients' messages sent, answered and lost, their latency per
// phase, the process heap around the abuse phase, and the goroutines left
// after Shutdown.
//
// The attackers and the faulty backends run in a child process at a lower
// scheduling priority (nice 10): the current binary, re-executed with an
// environment variable that the package's init recognises, so that any
// binary linking the package (cmd/reliability, the package's tests) serves
// as its own attacker process. Attackers of a real gateway run on other
// machines; in the same process they would take the CPU the gateway and the
// well-behaved clients need and distort the latency the suite measures.
// The child reports its outcomes per fault kind to the parent as JSON on its
// stdout; Config.InProcess keeps everything in one process instead.
//
// The package owns the suite only: it drives the gateway through its
// exported API and the network, never changes runtime behaviour, and never
// prints (cmd/reliability prints the table). Every fault is bounded in time
// and size, and everything listens on 127.0.0.1 only.
package reliability
