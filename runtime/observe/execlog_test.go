package observe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wsgwctl/wsgwctl/config/model"
)

func decodeRecords(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var records []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("record %q: %v", line, err)
		}
		delete(r, slog.TimeKey)
		records = append(records, r)
	}
	return records
}

func TestExecLogRT32(t *testing.T) {
	ok := &Event{API: "chat", Stage: "dev", Route: "send", ConnectionID: "c1", RequestID: "r1",
		EventType: "MESSAGE", Status: 200, Latency: 1500 * time.Microsecond,
		Request: []byte(`{"action":"send"}`), Response: []byte(`{"ok":true}`)}
	failed := &Event{API: "chat", Stage: "dev", Route: "send", ConnectionID: "c1", RequestID: "r2",
		EventType: "MESSAGE", Status: 502, Latency: 2 * time.Millisecond, Err: errors.New("backend unreachable"),
		Request: []byte(`{"action":"send"}`)}
	okRecord := map[string]any{
		"level": "INFO", "msg": msgEvent, KeyAPI: "chat", KeyStage: "dev", KeyRoute: "send",
		KeyConnectionID: "c1", KeyRequestID: "r1", KeyEventType: "MESSAGE", KeyStatus: 200.0, KeyLatencyMillis: 1.5,
	}
	failedRecord := map[string]any{
		"level": "ERROR", "msg": msgFailed, KeyAPI: "chat", KeyStage: "dev", KeyRoute: "send",
		KeyConnectionID: "c1", KeyRequestID: "r2", KeyEventType: "MESSAGE", KeyStatus: 502.0, KeyLatencyMillis: 2.0,
		KeyError: "backend unreachable",
	}
	with := func(r map[string]any, kv ...any) map[string]any {
		out := make(map[string]any, len(r)+len(kv)/2)
		for k, v := range r {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i].(string)] = kv[i+1]
		}
		return out
	}
	tests := []struct {
		name      string
		level     string
		dataTrace bool
		want      []map[string]any
	}{
		{"OFF logs nothing", model.LoggingOff, false, nil},
		{"OFF with data trace logs nothing", model.LoggingOff, true, nil},
		{"unset level is OFF", "", true, nil},
		{"ERROR logs failures", model.LoggingError, false, []map[string]any{failedRecord}},
		{"INFO logs every event", model.LoggingInfo, false, []map[string]any{okRecord, failedRecord}},
		{"INFO with data trace adds bodies", model.LoggingInfo, true, []map[string]any{
			with(okRecord, KeyRequestBody, `{"action":"send"}`, KeyResponseBody, `{"ok":true}`),
			with(failedRecord, KeyRequestBody, `{"action":"send"}`),
		}},
		{"ERROR with data trace", model.LoggingError, true, []map[string]any{
			with(failedRecord, KeyRequestBody, `{"action":"send"}`),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
			rs := model.DefaultRouteSettings()
			rs.LoggingLevel, rs.DataTraceEnabled = tt.level, tt.dataTrace
			l := NewExecLog(log, rs)
			for _, ev := range []*Event{ok, failed} {
				l.Log(context.Background(), ev)
			}
			if diff := cmp.Diff(tt.want, decodeRecords(t, &buf)); diff != "" {
				t.Errorf("RT-32 records (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExecLogEnabled(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	tests := []struct {
		level             string
		dataTrace         bool
		ok, failed, trace bool
	}{
		{model.LoggingOff, true, false, false, false},
		{model.LoggingError, true, false, true, true},
		{model.LoggingInfo, false, true, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.level, func(t *testing.T) {
			l := NewExecLog(log, model.RouteSettings{LoggingLevel: tt.level, DataTraceEnabled: tt.dataTrace})
			if got := [3]bool{l.Enabled(false), l.Enabled(true), l.DataTrace()}; got != [3]bool{tt.ok, tt.failed, tt.trace} {
				t.Errorf("Enabled(false), Enabled(true), DataTrace() = %v, want %v", got, [3]bool{tt.ok, tt.failed, tt.trace})
			}
		})
	}
	var zero ExecLog
	if zero.Enabled(true) || zero.DataTrace() {
		t.Error("the zero ExecLog logs")
	}
	zero.Log(context.Background(), &Event{Err: errors.New("x")})
}

func TestExecLogForRouteSettings(t *testing.T) {
	st := &model.Stage{Name: "dev", DefaultRouteSettings: model.DefaultRouteSettings(),
		RouteSettings: map[string]model.RouteSettings{"send": {LoggingLevel: model.LoggingInfo}}}
	log := slog.New(slog.DiscardHandler)
	if l := ExecLogFor(log, st, "send"); !l.Enabled(false) {
		t.Error("route_settings INFO not applied to send")
	}
	if l := ExecLogFor(log, st, "$default"); l.Enabled(true) {
		t.Error("default_route_settings OFF not applied to $default")
	}
}

func TestExecLogDataTraceTruncatesRT32(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	l := NewExecLog(log, model.RouteSettings{LoggingLevel: model.LoggingInfo, DataTraceEnabled: true})
	body := []byte(strings.Repeat("a", DataTraceLimit-1) + "é tail")
	l.Log(context.Background(), &Event{Status: 200, Request: body})
	records := decodeRecords(t, &buf)
	if len(records) != 1 {
		t.Fatalf("%d records, want 1", len(records))
	}
	if got, want := records[0][KeyRequestBody], strings.Repeat("a", DataTraceLimit-1); got != want {
		t.Errorf("truncated body has %d bytes, want %d (cut before the 2-byte rune)", len(got.(string)), len(want))
	}
	if got := records[0][KeyRequestSize]; got != float64(len(body)) {
		t.Errorf("%s = %v, want %d", KeyRequestSize, got, len(body))
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in    string
		limit int
		want  string
	}{
		{"short", 10, "short"},
		{"exact", 5, "exact"},
		{"abcdef", 3, "abc"},
		{"aé", 2, "a"},   // é is 2 bytes: cut inside it
		{"aé", 3, "aé"},  // fits
		{"a✓b", 2, "a"},  // ✓ is 3 bytes
		{"a✓b", 3, "a"},  // still inside ✓
		{"a✓b", 4, "a✓"}, // ✓ ends at 4
		{"😀x", 3, ""},    // 4-byte rune
		{"\xff\xffab", 1, "\xff"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := string(Truncate([]byte(tt.in), tt.limit)); got != tt.want {
				t.Errorf("Truncate(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
			}
		})
	}
}

// BenchmarkExecLogOff is the cost of a route whose logging is OFF: one check.
func BenchmarkExecLogOff(b *testing.B) {
	l := NewExecLog(slog.New(slog.DiscardHandler), model.DefaultRouteSettings())
	ev := &Event{Status: 200}
	b.ReportAllocs()
	for b.Loop() {
		if l.Enabled(ev.Failed()) {
			l.Log(context.Background(), ev)
		}
	}
}
