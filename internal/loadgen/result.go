package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Snapshot is the progress of a run, passed to Config.Progress about once
// per second. Counts are totals since the load started, warm-up included.
type Snapshot struct {
	// Elapsed is the time since the load started (0 while connecting).
	Elapsed time.Duration
	// Sent and Received count messages and replies (data frames when
	// one-way or idle); Errors counts errors of every kind.
	Sent, Received, Errors int64
	// Rate is replies (messages sent, when one-way) per second since the
	// previous snapshot.
	Rate float64
	// P99 is the 99th percentile of the latencies recorded since the
	// previous snapshot.
	P99 time.Duration
	// Open is the number of connections open.
	Open int
	// Phase is "connecting", "warm-up", "measuring", "draining" or
	// "closing".
	Phase string
	// PushPosted and PushDelivered count accepted POSTs and their frames.
	PushPosted, PushDelivered int64
}

// Latency summarises a latency histogram.
type Latency struct {
	P50, P90, P99, P999, Max, Mean time.Duration
	// Count is the number of latencies recorded.
	Count int64
}

// PushResult is what the @connections push load measured. Posted,
// Delivered, Late, Throughput and Latency concern the POSTs scheduled in the
// measured phase; Failed and TimedOut the whole run.
type PushResult struct {
	// Posted counts POSTs answered 200.
	Posted int64
	// Delivered counts pushed frames received.
	Delivered int64
	// Failed counts POSTs not answered 200, by HTTP status (0: no answer,
	// such as a refused connection or a timeout).
	Failed map[int]int
	// Late counts POSTs made LateThreshold or more after their scheduled
	// time (their latency includes the delay).
	Late int64
	// TimedOut counts accepted POSTs whose frame did not arrive within
	// Config.Timeout.
	TimedOut int64
	// Throughput is Delivered per second of the measured phase.
	Throughput float64
	// Latency runs from a POST's scheduled time to its frame's arrival.
	Latency Latency
}

// Result is what a run measured. Sent, Received, Late, Fallbacks and
// Latency concern the messages of the measured phase (sent, or scheduled in
// open loop, within it), whenever their replies arrived; Errors, ErrorFrames
// and CloseCodes the whole run.
type Result struct {
	// Config is the run's configuration with its defaults filled in.
	Config Config
	// Started is when Run was called.
	Started time.Time
	// Duration is the measured phase: Config.Duration, or less when the
	// run was interrupted.
	Duration time.Duration
	// Interrupted says the run's context ended before the measured phase
	// did.
	Interrupted bool
	Connections struct {
		Opened, Failed int
		// HandshakeStatus counts handshake answers by HTTP status (101
		// for the accepted ones); connections that got no HTTP answer are
		// counted only as "dial" errors.
		HandshakeStatus map[int]int
		// CloseAnswered counts the connections that answered the close
		// frame the generator sent at the end within CloseTimeout.
		CloseAnswered int
	}
	// Sent and Received count messages and their replies (data frames
	// received within the measured phase, when one-way or idle). Error
	// frames are not replies: they are counted in Errors.
	Sent, Received int64
	// Throughput is Received (Sent when one-way) per second of Duration.
	Throughput float64
	// Latency comes from the HDR histogram of the measured replies:
	// microsecond precision, up to one minute (longer ones count as one
	// minute). Zero when one-way or idle.
	Latency Latency
	// Late counts open-loop messages sent LateThreshold or more after
	// their scheduled time.
	Late int64
	// Fallbacks counts replies carrying no token of an outstanding
	// message, matched to the oldest outstanding message instead.
	Fallbacks int64
	// Errors counts errors by kind: "dial" (no connection or a rejected
	// handshake), "whoami" (no connection id learned for push load),
	// "write", "read" (the connection failed or was lost without a close
	// frame), "timeout" (no reply within Config.Timeout), "unanswered"
	// (replies still due when the connection ended or the run's final
	// wait ran out), "unmatched-reply" (a reply with no message
	// outstanding), "unmatched-push" (a pushed frame for no known POST)
	// and "error-frame" (a reply like the gateway's error frames,
	// {"message": ..., "connectionId": ...}).
	Errors map[string]int
	// ErrorFrames counts the error frames by their "message".
	ErrorFrames map[string]int
	// CloseCodes counts the close frames the server sent on its own (not
	// in answer to the generator's), by code (1005 when it had none).
	CloseCodes map[int]int
	// Push is the push load's result when Config.Push was set.
	Push *PushResult

	hist *hdrhistogram.Histogram
}

// Histogram returns the measured latencies in microseconds, for plots.
// The caller may modify it.
func (r *Result) Histogram() *hdrhistogram.Histogram {
	if r.hist == nil {
		return newHistogram()
	}
	return hdrhistogram.Import(r.hist.Export())
}

// ErrorCount returns the total of Errors.
func (r *Result) ErrorCount() int {
	n := 0
	for _, v := range r.Errors {
		n += v
	}
	return n
}

// WriteTable writes r as a human-readable table.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	cfg := r.Config
	row := func(label, format string, args ...any) {
		fmt.Fprintf(tw, "%s\t%s\n", label, fmt.Sprintf(format, args...))
	}
	row("Target", "%s", cfg.URL)
	var load string
	switch cfg.Mode {
	case Closed:
		load = fmt.Sprintf("closed loop, %d connections × %d in flight", cfg.Connections, cfg.InFlight)
		if cfg.OneWay {
			load = fmt.Sprintf("closed loop, %d connections sending as fast as they can", cfg.Connections)
		}
	case Open:
		load = fmt.Sprintf("open loop, %s msg/s over %d connections", formatRate(cfg.Rate), cfg.Connections)
	case Idle:
		load = fmt.Sprintf("%d idle connections", cfg.Connections)
	}
	if cfg.OneWay && cfg.Mode != Idle {
		load += ", one-way"
	}
	row("Load", "%s", load)
	phase := fmt.Sprintf("%s measured after %s warm-up", formatDuration(r.Duration), formatDuration(cfg.Warmup))
	if r.Interrupted {
		phase += " (interrupted)"
	}
	row("Duration", "%s", phase)
	row("Connections", "%d opened, %d failed, %d closed cleanly%s", r.Connections.Opened, r.Connections.Failed,
		r.Connections.CloseAnswered, formatCounts(" — handshakes: ", r.Connections.HandshakeStatus, strconv.Itoa))
	if cfg.Mode != Idle {
		msgs := fmt.Sprintf("%d sent, %d received", r.Sent, r.Received)
		var notes []string
		if r.Late > 0 {
			notes = append(notes, fmt.Sprintf("%d sent late", r.Late))
		}
		if r.Fallbacks > 0 {
			notes = append(notes, fmt.Sprintf("%d matched in order, without a token", r.Fallbacks))
		}
		if len(notes) > 0 {
			msgs += " (" + strings.Join(notes, ", ") + ")"
		}
		row("Messages", "%s", msgs)
		row("Throughput", "%s msg/s", formatRate(r.Throughput))
		if !cfg.OneWay {
			writeLatency(tw, "Latency", r.Latency)
		}
	} else {
		row("Received", "%d frames", r.Received)
	}
	if p := r.Push; p != nil {
		line := fmt.Sprintf("%d accepted, %d delivered, %s/s", p.Posted, p.Delivered, formatRate(p.Throughput))
		if p.Late > 0 {
			line += fmt.Sprintf(", %d posted late", p.Late)
		}
		if p.TimedOut > 0 {
			line += fmt.Sprintf(", %d never delivered", p.TimedOut)
		}
		line += formatCounts(", failed: ", p.Failed, func(s int) string {
			if s == 0 {
				return "no answer"
			}
			return strconv.Itoa(s)
		})
		row("Push", "%s", line)
		writeLatency(tw, "Push latency", p.Latency)
	}
	if len(r.Errors) == 0 {
		row("Errors", "none")
	} else {
		for i, k := range slices.Sorted(maps.Keys(r.Errors)) {
			label := ""
			if i == 0 {
				label = "Errors"
			}
			detail := ""
			if k == "error-frame" {
				detail = formatCounts(" — ", r.ErrorFrames, strconv.Quote)
			}
			row(label, "%s: %d%s", k, r.Errors[k], detail)
		}
	}
	if len(r.CloseCodes) == 0 {
		row("Closed by server", "none")
	} else {
		row("Closed by server", "%s", formatCounts("", r.CloseCodes, strconv.Itoa))
	}
	return tw.Flush()
}

// writeLatency writes a latency row.
func writeLatency(tw io.Writer, label string, l Latency) {
	if l.Count == 0 {
		fmt.Fprintf(tw, "%s\tnone recorded\n", label)
		return
	}
	fmt.Fprintf(tw, "%s\tp50 %s  p90 %s  p99 %s  p99.9 %s  max %s  mean %s  (%d samples)\n", label,
		formatDuration(l.P50), formatDuration(l.P90), formatDuration(l.P99), formatDuration(l.P999),
		formatDuration(l.Max), formatDuration(l.Mean), l.Count)
}

// formatCounts renders m as "k ×n, k2 ×n2" in key order after prefix, or
// "" when m is empty.
func formatCounts[K int | string](prefix string, m map[K]int, key func(K) string) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s ×%d", key(k), m[k]))
	}
	return prefix + strings.Join(parts, ", ")
}

// formatDuration renders d with three significant digits or so.
func formatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + "ms"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + "s"
	}
	return d.Round(time.Second).String()
}

// formatRate renders a rate with one decimal.
func formatRate(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// ms converts d to milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// jsonLatency is Latency in JSON: milliseconds as numbers.
type jsonLatency struct {
	P50   float64 `json:"p50Ms"`
	P90   float64 `json:"p90Ms"`
	P99   float64 `json:"p99Ms"`
	P999  float64 `json:"p999Ms"`
	Max   float64 `json:"maxMs"`
	Mean  float64 `json:"meanMs"`
	Count int64   `json:"count"`
}

func toJSONLatency(l Latency) jsonLatency {
	return jsonLatency{P50: ms(l.P50), P90: ms(l.P90), P99: ms(l.P99), P999: ms(l.P999), Max: ms(l.Max), Mean: ms(l.Mean), Count: l.Count}
}

// MarshalJSON encodes r as one JSON object whose durations are
// milliseconds as numbers (names ending in Ms) and whose maps keyed by
// status or close code have those codes as string keys:
//
//	{"config": {"url", "mode", "connections", "inFlight", "rate", "template",
//	            "oneWay", "durationMs", "warmupMs", "timeoutMs", "connectRate",
//	            "headers" (names only), "push": {"endpoint", "rate", "body", "idFrom"}},
//	 "started", "durationMs", "interrupted",
//	 "connections": {"opened", "failed", "closeAnswered", "handshakeStatus"},
//	 "sent", "received", "throughput", "late", "fallbacks",
//	 "latency": {"p50Ms", "p90Ms", "p99Ms", "p999Ms", "maxMs", "meanMs", "count"},
//	 "errors", "errorFrames", "closeCodes",
//	 "push": {"posted", "delivered", "failed", "late", "timedOut", "throughput", "latency"}}
//
// Header values are left out: they may hold credentials.
func (r *Result) MarshalJSON() ([]byte, error) {
	type jsonPushConfig struct {
		Endpoint string  `json:"endpoint"`
		Rate     float64 `json:"rate"`
		Body     string  `json:"body"`
		IDFrom   string  `json:"idFrom,omitempty"`
	}
	type jsonConfig struct {
		URL         string          `json:"url"`
		Mode        string          `json:"mode"`
		Connections int             `json:"connections"`
		InFlight    int             `json:"inFlight"`
		Rate        float64         `json:"rate"`
		Template    string          `json:"template"`
		OneWay      bool            `json:"oneWay"`
		Duration    float64         `json:"durationMs"`
		Warmup      float64         `json:"warmupMs"`
		Timeout     float64         `json:"timeoutMs"`
		ConnectRate float64         `json:"connectRate"`
		Headers     []string        `json:"headers"`
		Push        *jsonPushConfig `json:"push,omitempty"`
	}
	type jsonConnections struct {
		Opened          int         `json:"opened"`
		Failed          int         `json:"failed"`
		CloseAnswered   int         `json:"closeAnswered"`
		HandshakeStatus map[int]int `json:"handshakeStatus"`
	}
	type jsonPush struct {
		Posted     int64       `json:"posted"`
		Delivered  int64       `json:"delivered"`
		Failed     map[int]int `json:"failed"`
		Late       int64       `json:"late"`
		TimedOut   int64       `json:"timedOut"`
		Throughput float64     `json:"throughput"`
		Latency    jsonLatency `json:"latency"`
	}
	type jsonResult struct {
		Config      jsonConfig      `json:"config"`
		Started     time.Time       `json:"started"`
		Duration    float64         `json:"durationMs"`
		Interrupted bool            `json:"interrupted"`
		Connections jsonConnections `json:"connections"`
		Sent        int64           `json:"sent"`
		Received    int64           `json:"received"`
		Throughput  float64         `json:"throughput"`
		Late        int64           `json:"late"`
		Fallbacks   int64           `json:"fallbacks"`
		Latency     jsonLatency     `json:"latency"`
		Errors      map[string]int  `json:"errors"`
		ErrorFrames map[string]int  `json:"errorFrames"`
		CloseCodes  map[int]int     `json:"closeCodes"`
		Push        *jsonPush       `json:"push,omitempty"`
	}
	cfg := r.Config
	out := jsonResult{
		Config: jsonConfig{
			URL: cfg.URL, Mode: cfg.Mode.String(), Connections: cfg.Connections, InFlight: cfg.InFlight,
			Rate: cfg.Rate, Template: cfg.Template, OneWay: cfg.OneWay, Duration: ms(cfg.Duration),
			Warmup: ms(cfg.Warmup), Timeout: ms(cfg.Timeout), ConnectRate: cfg.ConnectRate,
			Headers: []string{},
		},
		Started:     r.Started,
		Duration:    ms(r.Duration),
		Interrupted: r.Interrupted,
		Connections: jsonConnections{
			Opened: r.Connections.Opened, Failed: r.Connections.Failed,
			CloseAnswered: r.Connections.CloseAnswered, HandshakeStatus: nonNil(r.Connections.HandshakeStatus),
		},
		Sent: r.Sent, Received: r.Received, Throughput: r.Throughput, Late: r.Late, Fallbacks: r.Fallbacks,
		Latency:     toJSONLatency(r.Latency),
		Errors:      nonNil(r.Errors),
		ErrorFrames: nonNil(r.ErrorFrames),
		CloseCodes:  nonNil(r.CloseCodes),
	}
	for name := range cfg.Header {
		out.Config.Headers = append(out.Config.Headers, http.CanonicalHeaderKey(name))
	}
	slices.Sort(out.Config.Headers)
	if p := cfg.Push; p != nil {
		out.Config.Push = &jsonPushConfig{Endpoint: p.Endpoint, Rate: p.Rate, Body: p.Body, IDFrom: p.IDFrom}
	}
	if p := r.Push; p != nil {
		out.Push = &jsonPush{
			Posted: p.Posted, Delivered: p.Delivered, Failed: nonNil(p.Failed), Late: p.Late,
			TimedOut: p.TimedOut, Throughput: p.Throughput, Latency: toJSONLatency(p.Latency),
		}
	}
	return json.Marshal(out)
}

// nonNil returns m, or an empty map for nil so that JSON shows {}.
func nonNil[K comparable](m map[K]int) map[K]int {
	if m == nil {
		return map[K]int{}
	}
	return m
}
