package observe

import (
	"context"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/wsgwctl/wsgwctl/config/model"
)

// Attribute keys of execution-log records. The first ones match the keys the
// gateway core uses in its own logs.
const (
	KeyAPI           = "api"
	KeyStage         = "stage"
	KeyRoute         = "route"
	KeyConnectionID  = "connection_id"
	KeyRequestID     = "request_id"
	KeyEventType     = "event_type"
	KeyStatus        = "status"
	KeyError         = "error"
	KeyLatencyMillis = "latency_ms"
	KeyRequestBody   = "request_body"
	KeyResponseBody  = "response_body"
	// KeyRequestSize and KeyResponseSize carry a body's full length in bytes
	// when data tracing truncated it.
	KeyRequestSize  = "request_size"
	KeyResponseSize = "response_size"
)

// DataTraceLimit is the most bytes of a message body a data-trace record
// carries; a longer body is cut at a UTF-8 boundary at or below it and its
// full size is logged beside it.
const DataTraceLimit = 1024

// Messages of execution-log records.
const (
	msgEvent  = "route executed"
	msgFailed = "route failed"
)

// Event is what the gateway reports about one event on a route ($connect,
// $disconnect or a message) to its ExecLog.
type Event struct {
	API          string
	Stage        string
	Route        string
	ConnectionID string
	RequestID    string
	// EventType is CONNECT, MESSAGE or DISCONNECT.
	EventType string
	// Status is the status of the route's answer (the integration's, or the
	// gateway's own 4xx/5xx), 0 when there is none.
	Status int
	// Latency is how long the gateway took to handle the event.
	Latency time.Duration
	// Err is why the event failed, nil when it did not fail in the gateway.
	Err error
	// Request and Response are the message bodies, logged only with data
	// tracing on.
	Request, Response []byte
}

// Failed reports whether the event counts as a failure for ERROR logging:
// it has an error or a status of 400 or more.
func (e *Event) Failed() bool { return e.Err != nil || e.Status >= 400 }

// ExecLog is one route's execution logging, resolved from its effective
// settings once per reload (RT-32): at OFF it logs nothing, at ERROR it logs
// failures, at INFO every event (failures at the error level), and with data
// tracing the message bodies too. The zero ExecLog logs nothing. It is
// immutable and safe for concurrent use.
type ExecLog struct {
	log       *slog.Logger
	info      bool
	dataTrace bool
}

// NewExecLog returns the execution logging settings rs ask for, writing to
// log. Data tracing needs a logging level other than OFF, as in API Gateway.
// An unknown level is treated as OFF.
func NewExecLog(log *slog.Logger, rs model.RouteSettings) ExecLog {
	switch rs.LoggingLevel {
	case model.LoggingInfo:
		return ExecLog{log: log, info: true, dataTrace: rs.DataTraceEnabled}
	case model.LoggingError:
		return ExecLog{log: log, dataTrace: rs.DataTraceEnabled}
	}
	return ExecLog{}
}

// ExecLogFor returns the execution logging of route key of stage st: its
// route_settings, else the stage's default_route_settings.
func ExecLogFor(log *slog.Logger, st *model.Stage, key string) ExecLog {
	rs, ok := st.RouteSettings[key]
	if !ok {
		rs = st.DefaultRouteSettings
	}
	return NewExecLog(log, rs)
}

// Enabled reports whether an event that failed (or not) would be logged, so
// the gateway can skip building the Event.
func (l ExecLog) Enabled(failed bool) bool {
	return l.log != nil && (l.info || failed)
}

// DataTrace reports whether records carry message bodies, so the gateway
// only keeps bodies around when they will be logged.
func (l ExecLog) DataTrace() bool { return l.log != nil && l.dataTrace }

// Log writes ev when the settings ask for it: failures at the error level
// (ERROR and INFO), other events at the info level (INFO only).
func (l ExecLog) Log(ctx context.Context, ev *Event) {
	failed := ev.Failed()
	if !l.Enabled(failed) {
		return
	}
	level, msg := slog.LevelInfo, msgEvent
	if failed {
		level, msg = slog.LevelError, msgFailed
	}
	if !l.log.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 14)
	attrs = append(attrs,
		slog.String(KeyAPI, ev.API),
		slog.String(KeyStage, ev.Stage),
		slog.String(KeyRoute, ev.Route),
		slog.String(KeyConnectionID, ev.ConnectionID),
		slog.String(KeyRequestID, ev.RequestID),
		slog.String(KeyEventType, ev.EventType),
		slog.Int(KeyStatus, ev.Status),
		slog.Float64(KeyLatencyMillis, float64(ev.Latency.Microseconds())/1000),
	)
	if ev.Err != nil {
		attrs = append(attrs, slog.String(KeyError, ev.Err.Error()))
	}
	if l.dataTrace {
		attrs = appendBody(attrs, KeyRequestBody, KeyRequestSize, ev.Request)
		attrs = appendBody(attrs, KeyResponseBody, KeyResponseSize, ev.Response)
	}
	l.log.LogAttrs(ctx, level, msg, attrs...)
}

// appendBody adds body under key, truncated to DataTraceLimit with its full
// size under sizeKey when it is longer. A nil body adds nothing.
func appendBody(attrs []slog.Attr, key, sizeKey string, body []byte) []slog.Attr {
	if body == nil {
		return attrs
	}
	if len(body) <= DataTraceLimit {
		return append(attrs, slog.String(key, string(body)))
	}
	return append(attrs,
		slog.String(key, string(Truncate(body, DataTraceLimit))),
		slog.Int(sizeKey, len(body)))
}

// Truncate returns the longest prefix of b of at most limit bytes that does
// not end inside a UTF-8 sequence.
func Truncate(b []byte, limit int) []byte {
	if len(b) <= limit {
		return b
	}
	cut := limit
	// b[cut] is the first byte left out: while it continues a rune, that
	// rune would be cut in two, so leave all of it out.
	for back := 0; cut > 0 && back < utf8.UTFMax-1 && !utf8.RuneStart(b[cut]); back++ {
		cut--
	}
	return b[:cut]
}
