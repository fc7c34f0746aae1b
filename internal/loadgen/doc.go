// Package loadgen is a load generator for WebSocket APIs: the engine of
// `wsgwctl bench` and of the comparison harness under bench/.
//
// It owns opening many client connections (gobwas/ws), sending messages
// rendered from a template in a closed loop (a fixed number of messages in
// flight per connection) or an open loop (a fixed arrival rate, measured
// from the scheduled send time so that a slow server cannot hide its delay:
// no coordinated omission), matching replies to messages, optional
// @connections push load over HTTP, and summarising a run in a Result whose
// latencies come from an HDR histogram.
//
// Every connection has one reader and one writer goroutine. Frames are
// rendered into buffers owned by the connection and written with one write
// call each; replies are read into a reused buffer. Latencies are recorded
// into a few sharded histograms under short locks, so neither allocation nor
// contention makes the generator the bottleneck of what it measures.
//
// It must not print: Run reports progress through Config.Progress and
// returns a Result, which can render itself as a table onto a writer the
// caller chooses (WriteTable) or as JSON (MarshalJSON). It must not import
// the gateway's packages: it measures any WebSocket server from the outside.
package loadgen
