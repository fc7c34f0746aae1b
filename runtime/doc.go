// Package runtime is the gateway that serves applied stages (SPEC §5).
//
// A Server compiles an applied state.State into an immutable routing table
// (table.go) and swaps it whole through an atomic pointer on every Load, so
// a reload never pauses traffic and a state that fails to compile leaves the
// old table serving (RT-30). Live connections look their stage up in the
// current table for every message, so their next message runs the stage's
// new deployment.
//
// One listener serves everything a client or backend reaches (RT-1, RT-2):
// net/http parses each request, stage URLs are upgraded with gobwas/ws's
// HTTPUpgrader after the $connect integration accepted the handshake (its
// status is relayed otherwise, RT-11), and @connections calls are answered
// on the same listener. net/http rather than ws.Upgrader reads the request
// because the same port must also speak plain HTTP (@connections, 404, 426)
// and keep-alive; captureListener recovers the header casing net/http
// normalises (D-42).
//
// Each connection has one reader goroutine that reads frames with gobwas/ws's
// low-level header reader and applies every limit itself: gobwas's readers
// have no limits by default, so MaxFrameSize and MaxMessageSize are checked
// on each header before a payload byte is read (RT-20, D-37). Reads go
// through a pooled 4 KiB buffer held only while data is flowing; on plain
// TCP an idle connection waits for readability through syscall.RawConn with
// no buffer and a shallow stack the GC shrinks to the 2 KiB minimum, so an
// idle connection costs one parked goroutine and its bookkeeping (about
// 3.2 KB, BenchmarkIdleConnection). Payloads of 4 KiB or more are read
// straight into the buffer the integration call then owns.
//
// Writes go through a bounded queue drained by a writer goroutine that only
// exists while there is something to write, with a write deadline; a client
// that does not keep up is disconnected with 1008 (RT-26). MOCK integrations
// (no I/O) run on the read loop and the reader writes their reply itself in
// one non-blocking write, handing whatever does not fit to the writer; every
// other integration call runs on its own goroutine, at most
// Options.MaxInflight per connection, so a slow backend only delays the
// connection that called it (RT-44). Ids come from pooled ChaCha8
// generators seeded from crypto/rand, and a routed MOCK message costs two
// allocations: the message and the reply.
//
// Connection, request and message ids carry the node number (NewID, NodeOf)
// and @connections looks connections up through the Locator interface, so a
// cluster can later forward a call to the node that holds the connection.
//
// Handshakes pass, in D-26's order, the per-address limits (limits.go), the
// $connect throttle, AWS_IAM SigV4 verification (runtime/sigv4), the CUSTOM
// authorizer (runtime/authorizer), the API key and usage plan
// (runtime/apikey), and the $connect integration. With credentials
// configured, @connections calls must be SigV4-signed too; without, only
// loopback callers are accepted (D-28). TLSConfig picks domain names'
// certificates by SNI.
//
// The package must never import config, plan or apply, and never prints: it
// logs through the slog.Logger it is given.
package runtime
