package main

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/google/go-cmp/cmp"

	"github.com/wsgwctl/wsgwctl/state"
)

func TestSpreadOf(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want spread
	}{
		{"empty", nil, spread{}},
		{"one", []float64{3}, spread{Median: 3, Min: 3, Max: 3, N: 1}},
		{"odd count takes the middle", []float64{9, 1, 5}, spread{Median: 5, Min: 1, Max: 9, N: 3}},
		{"even count averages the middle two", []float64{4, 1, 10, 2}, spread{Median: 3, Min: 1, Max: 10, N: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := spreadOf(tt.in); got != tt.want {
				t.Errorf("spreadOf(%v) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestWebSocketEvents(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    []webSocketEvent
		wantErr bool
	}{
		{"open", "OPEN\r\n", []webSocketEvent{{Type: "OPEN"}}, false},
		{"text after open", "OPEN\r\nTEXT 5\r\nhello\r\n", []webSocketEvent{{Type: "OPEN"}, {Type: "TEXT", Content: []byte("hello")}}, false},
		{"hex length", "TEXT 1a\r\nabcdefghijklmnopqrstuvwxyz\r\n", []webSocketEvent{{Type: "TEXT", Content: []byte("abcdefghijklmnopqrstuvwxyz")}}, false},
		{"content with CRLF inside", "TEXT 4\r\na\r\nb\r\n", []webSocketEvent{{Type: "TEXT", Content: []byte("a\r\nb")}}, false},
		{"missing CRLF", "OPEN", nil, true},
		{"short content", "TEXT 9\r\nabc\r\n", nil, true},
		{"bad length", "TEXT zz\r\nabc\r\n", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseWebSocketEvents([]byte(tt.body))
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseWebSocketEvents(%q) error %v, want error %v", tt.body, err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseWebSocketEvents(%q) (-want +got):\n%s", tt.body, diff)
			}
			// Encoding the events again gives the body back.
			var out []byte
			for _, ev := range got {
				out = appendWebSocketEvent(out, ev.Type, ev.Content)
			}
			if string(out) != tt.body {
				t.Errorf("re-encoded %q, want %q", out, tt.body)
			}
		})
	}
}

func TestFormatting(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"small figure keeps a decimal", formatFigure(12.345), "12.3"},
		{"large figure is grouped", formatFigure(1234567.4), "1,234,567"},
		{"negative grouped", groupDigits(-20000), "-20,000"},
		{"thousand", groupDigits(1000), "1,000"},
		{"sub-millisecond", formatDuration(250 * time.Microsecond), "0.25 ms"},
		{"tens of milliseconds", formatDuration(31100 * time.Microsecond), "31.1 ms"},
		{"hundreds of milliseconds", formatDuration(250 * time.Millisecond), "250 ms"},
		{"negative", formatDuration(-900 * time.Microsecond), "-0.90 ms"},
		{"nice ceiling", trimFloat(niceCeiling(3.2)), "5"},
		{"nice ceiling of a power of ten", trimFloat(niceCeiling(0.1)), "0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestMessageOf(t *testing.T) {
	const token = "lgabcdefgh-12-3456" // what the load generator renders, 18 bytes
	tests := []struct {
		name  string
		plain bool
	}{{"json", false}, {"plain text", true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl := messageOf(128, tt.plain)
			if !strings.Contains(tmpl, "{{id}}") {
				t.Fatalf("template %q has no {{id}}: replies could not be matched", tmpl)
			}
			msg := strings.Replace(tmpl, "{{id}}", token, 1)
			if len(msg) != 128 {
				t.Errorf("rendered message is %d bytes, want 128: %q", len(msg), msg)
			}
			if got := strings.HasPrefix(msg, "{"); got == tt.plain {
				t.Errorf("message %q: JSON = %v, want %v", msg, got, !tt.plain)
			}
		})
	}
}

func TestLargeMessageFragments(t *testing.T) {
	tests := []struct {
		size, frag, wantFrames int
	}{
		{8 << 10, 16 << 10, 1},
		{32 << 10, 16 << 10, 2},
		{128 << 10, 16 << 10, 8},
		{100, 16 << 10, 1},
	}
	for _, tt := range tests {
		t.Run(groupDigits(float64(tt.size)), func(t *testing.T) {
			msg := largeMessage(tt.size)
			if len(msg) != tt.size {
				t.Fatalf("largeMessage(%d) is %d bytes", tt.size, len(msg))
			}
			frames := fragmentFrames(msg, tt.frag)
			// The frames must read back as one message of the same size.
			got, err := readMessageLen(bufioReader(frames))
			if err != nil {
				t.Fatalf("read the frames back: %v", err)
			}
			if got != tt.size {
				t.Errorf("frames carry %d bytes, want %d", got, tt.size)
			}
			if n := countFrames(t, frames); n != tt.wantFrames {
				t.Errorf("%d frames, want %d", n, tt.wantFrames)
			}
		})
	}
}

func TestBenchStateIsServable(t *testing.T) {
	st, err := benchState(benchAPIs("http://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := state.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	// serve reads the state file with state.Read: the document must
	// decode and validate as the one apply writes would.
	back, err := state.DecodeFile(filepath.Join(t.TempDir(), "state.json"), data)
	if err != nil {
		t.Fatalf("decode the benchmark state: %v", err)
	}
	for _, api := range back.APIs {
		stage := api.Config.Stages[0]
		if stage.Name != benchStage {
			t.Errorf("api %s: stage %q, want %q", api.Config.Name, stage.Name, benchStage)
		}
		if stage.DefaultRouteSettings.ThrottlingRateLimit < 1e8 {
			t.Errorf("api %s: throttling rate %g would cap the workloads", api.Config.Name, stage.DefaultRouteSettings.ThrottlingRateLimit)
		}
		if got := api.StageDeployments[benchStage]; api.Deployment(got) == nil {
			t.Errorf("api %s: stage runs deployment %q, which is missing", api.Config.Name, got)
		}
	}
}

func TestLatencySVG(t *testing.T) {
	a, b := newHistogram(), newHistogram()
	for i := int64(1); i <= 1000; i++ {
		_ = a.RecordValue(100 + i)
		_ = b.RecordValue(200 + 3*i)
	}
	var out bytes.Buffer
	if err := writeLatencySVG(&out, `W1 <latency> & "more"`, []curve{{"gobwas/ws echo", a}, {"wsgwctl", b}}); err != nil {
		t.Fatal(err)
	}
	// The document must be well-formed XML with one polyline per curve.
	dec := xml.NewDecoder(&out)
	polylines := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the SVG is not well-formed: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
			polylines++
		}
	}
	if polylines != 2 {
		t.Errorf("%d polylines, want 2", polylines)
	}
}

func TestTargetsVerdicts(t *testing.T) {
	w1 := workload{id: "W1", unit: unitMsgs}
	w9 := workload{id: "W9", unit: unitMsgs}
	rs := &results{}
	for round, v := range [][2]float64{{100, 70}, {100, 50}, {100, 65}} {
		rs.add(w1, cBaseline, round, sample{Value: v[0]})
		rs.add(w1, cWsgwctl, round, sample{Value: v[1]})
		rs.add(w9, cWsgwctl+", undisturbed", round, sample{Value: 1, P99: 10 * time.Millisecond})
		rs.add(w9, cWsgwctl+", disturbed", round, sample{Value: 1, P99: 11 * time.Millisecond, Extra: map[string]float64{"1008": 1}})
	}
	got := map[string]string{}
	for _, tg := range rs.targets(allocsResult{AllocsPerOp: 3}, w5TargetRate) {
		got[tg.Workload+" "+tg.Target] = tg.Met
	}
	want := map[string]string{
		"W1 throughput ≥ 0.6 × raw gobwas/ws echo":            "met", // median ratio 0.65
		"W1 ≤ 2 allocations per routed message":               "not met",
		"W3 throughput ≥ 2 × Pushpin on the same backend":     "not measured",
		"W9 well-behaved clients' p99 moves by ≤ 20%":         "met",
		"W9 the slow consumer is closed with 1008":            "met",
		"W6 ≥ 5,000 connects/s with $connect and $disconnect": "not measured",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("target %q: %q, want %q", k, got[k], v)
		}
	}
}

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }

// countFrames counts the frames in b, failing the test on a malformed one.
func countFrames(t *testing.T, b []byte) int {
	t.Helper()
	br := bufioReader(b)
	n := 0
	for {
		h, err := ws.ReadHeader(br)
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			t.Fatalf("read frame header: %v", err)
		}
		if !h.Masked {
			t.Errorf("frame %d is not masked: clients must mask", n)
		}
		if _, err := br.Discard(int(h.Length)); err != nil {
			t.Fatalf("read frame payload: %v", err)
		}
		n++
	}
}
