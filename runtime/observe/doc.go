// Package observe is the gateway's observability: Prometheus metrics (RT-3,
// D-32), access logs in a stage's `$context` format (RT-32) and per-route
// execution logs chosen by `logging_level` and `data_trace_enabled` (RT-32,
// D-19). It is a leaf the gateway core (package runtime) wires in: it knows
// nothing about connections, tables or integrations, only the names and
// values the gateway hands it.
//
// # Metrics
//
// Metrics owns its own prometheus.Registry (never the global one) and serves
// it with Handler. The series are
//
//	wsgw_connections_open{api,stage}                  gauge
//	wsgw_connects_total{api,stage}                    counter (ConnectCount)
//	wsgw_messages_total{api,stage,route,direction}    counter (MessageCount; direction "in" or "out")
//	wsgw_integration_errors_total{api,stage,route}    counter (IntegrationError)
//	wsgw_client_errors_total{api,stage,route}         counter (ClientError)
//	wsgw_execution_errors_total{api,stage,route}      counter (ExecutionError)
//	wsgw_integration_latency_seconds{api,stage,route} histogram (IntegrationLatency, LatencyBuckets)
//
// Every per-route metric carries the route label, and its value is the route
// key only where the route's effective settings (its `route_settings`, else
// the stage's `default_route_settings`) enable detailed metrics; every other
// route of the stage shares the series with route="" (which Prometheus shows
// as no route label at all). One label set keeps queries simple: summing by
// api and stage always gives the stage total, whether some routes are
// detailed or not. Connections and connects are per stage only: they belong
// to no route but $connect.
//
// Cardinality is bounded by configuration, never by traffic: Metrics.Stage
// is given the route keys of the stage's deployment and creates every series
// it will ever touch up front (so they are exported as 0 before the first
// event, and the hot path only increments pre-resolved children without
// locks or allocations). A route key the stage was not given falls back to
// the route="" series. After each reload the gateway calls Metrics.Retain
// with the handles of the stages it now serves, which deletes the series of
// removed stages and of routes that are gone or no longer detailed. Handles
// of the previous table that in-flight messages still hold keep working:
// their updates to deleted series are simply lost, and a connection that
// outlives its stage's removal decrements the gauge it incremented, never a
// re-created one.
//
// # Access logs
//
// AccessLogs owns the destinations (stdout, stderr, or a file opened once per
// cleaned absolute path, created 0644 with its parent directories and
// appended to) and one background writer per destination. AccessLogs.Stage
// compiles a stage's format once (CompileFormat) and binds it to its
// destination's writer, reusing an open one, so a reload reopens a file only
// when the path changed. AccessLog.Log renders a line into a pooled buffer
// and copies it, under a short lock, into its destination's bounded buffer
// (QueueBytes) without ever blocking on I/O: a line that does not fit is
// dropped and counted (Dropped), so a slow disk or a blocked stdout pipe
// costs log lines, never message latency. The destination's writer goroutine
// swaps the buffer out and writes everything that accumulated in one write,
// so lines are never split or interleaved, and the busier the gateway the
// larger (and cheaper per line) the writes. A channel of lines was measured
// first and abandoned: its per-line receive and per-line flush let a
// saturating producer drop most lines (see BenchmarkAccessLogLog).
//
// Rendering follows API Gateway: `$context.NAME` (NAME may be dotted, such as
// identity.sourceIp or authorizer.principalId) is replaced by the lookup's
// value for NAME (without the "context." prefix, as
// integration.Request.ContextValue takes it); a variable with no value
// (missing or empty) renders as "-", as API Gateway's own access logs do.
// API Gateway inserts values verbatim, which lets a value containing a quote
// break a JSON line; this package instead escapes values that sit inside a
// double-quoted string of the format (JSON string escaping), and escapes
// control characters everywhere so a line stays one line. Values outside
// quotes are otherwise inserted as they are (`"status": $context.status`
// stays a JSON number). `$context.error.messageString` renders the
// JSON-quoted value of error.message ("-" in quotes when there is none).
//
// # Execution logs
//
// ExecLog decides, per route, what an event writes to the gateway's
// slog.Logger: nothing at OFF, failures at ERROR, every event at INFO, and
// the message bodies (truncated to DataTraceLimit bytes) when data tracing is
// on. Attribute keys are the Key constants.
//
// The package must not import config, plan, apply or the rest of runtime,
// must not print (only the writers it is given and the files it is told to
// open receive output), and must not use the global Prometheus registry or
// the global slog logger.
package observe
