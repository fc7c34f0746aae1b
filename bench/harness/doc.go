// Command harness is the comparison harness of issue 7: in one invocation it
// runs the workloads W1..W9 against a raw gobwas/ws echo server (the
// physical-limit baseline, written here), wsgwctl serving a generated state,
// and, when they are installed, Pushpin (WebSocket-over-HTTP to the same
// backend) and serverless-offline (a Node handler that returns the body with
// a route response). Contenders alternate within each round, and their
// order rotates from round to round, so that drift of a shared machine
// spreads over all of them. It prints one table of medians with min–max and
// ratios, and, unless --smoke is given, writes that table, the machine's
// facts and a latency plot into BENCHMARKS.md and docs/bench-latency.svg.
//
// Every server runs in its own process: the echo baseline is this program
// started again with --serve-echo, wsgwctl is `wsgwctl serve` on a state
// file written into a temporary directory, and the peers are their own
// programs. The load generator (internal/loadgen), the HTTP backend that
// W3, W4 and Pushpin call, and the few special clients (churn, fragmented
// messages, idle soak, slow consumer, slowloris) run in this process.
//
// The harness measures; it never gates. Absolute numbers depend on the
// machine, so CI runs only `--smoke`, which checks that every workload runs
// end to end. It must not import runtime internals: it drives wsgwctl from
// the outside exactly as a user would.
package main
