package selection

import (
	"encoding/json"
	"strings"
	"testing"
)

// Benchmark messages, about 200 bytes each, shaped like chat traffic.
const (
	benchActionFirst = `{"action":"sendmessage","data":{"room":"general","text":"Hello everyone, this is a typical chat message of moderate length.","ts":1700000000123,"tags":["greeting","public"]},"meta":{"client":"web","version":2}}`
	benchActionLast  = `{"data":{"room":"general","text":"Hello everyone, this is a typical chat message of moderate length.","ts":1700000000123,"tags":["greeting","public"]},"meta":{"client":"web","version":2},"action":"sendmessage"}`
	benchService     = `{"service":"chat","action":"sendmessage","data":{"room":"general","text":"Hello everyone, this is a typical chat message of moderate length.","ts":1700000000123,"tags":["greeting"]},"meta":{"v":2}}`
	// benchNotJSON fails on its first byte; benchTruncated only at its end.
	benchNotJSON = `Hello everyone, this is a typical chat message of moderate length sent as plain text rather than JSON, which the gateway routes to $default because no selection expression can be evaluated on it!`
)

var benchTruncated = benchActionFirst[:len(benchActionFirst)-1]

// stdlibLookup is the baseline: decode the message with encoding/json into a
// map and follow the path, as a straightforward implementation would.
func stdlibLookup(dst, msg []byte, path ...string) ([]byte, bool) {
	var m map[string]any
	if err := json.Unmarshal(msg, &m); err != nil {
		return dst, false
	}
	var v any = m
	for _, p := range path {
		obj, ok := v.(map[string]any)
		if !ok {
			return dst, true
		}
		v = obj[p]
	}
	s, _ := v.(string)
	return append(dst, s...), true
}

type benchCase struct {
	expr   string
	msg    string
	paths  [][]string // for the baseline, one per variable
	sep    string
	wantOK bool
}

func runBench(b *testing.B, c benchCase) {
	msg := []byte(c.msg)
	b.Run("selection", func(b *testing.B) {
		e, err := Parse(c.expr, Body)
		if err != nil {
			b.Fatal(err)
		}
		dst := make([]byte, 0, 256)
		b.SetBytes(int64(len(msg)))
		b.ReportAllocs()
		for b.Loop() {
			var ok bool
			dst, ok = e.Evaluate(dst[:0], msg)
			if ok != c.wantOK {
				b.Fatalf("ok = %v", ok)
			}
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		dst := make([]byte, 0, 256)
		b.SetBytes(int64(len(msg)))
		b.ReportAllocs()
		for b.Loop() {
			dst = dst[:0]
			for i, p := range c.paths {
				if i > 0 {
					dst = append(dst, c.sep...)
				}
				var ok bool
				if dst, ok = stdlibLookup(dst, msg, p...); ok != c.wantOK {
					b.Fatalf("ok = %v", ok)
				}
			}
		}
	})
	b.Run("json_Valid_only", func(b *testing.B) {
		b.SetBytes(int64(len(msg)))
		b.ReportAllocs()
		for b.Loop() {
			if json.Valid(msg) != c.wantOK {
				b.Fatal("unexpected validity")
			}
		}
	})
}

// BenchmarkEvaluateAction200B is the common case: $request.body.action near
// the start of a ~200-byte message.
func BenchmarkEvaluateAction200B(b *testing.B) {
	runBench(b, benchCase{expr: `$request.body.action`, msg: benchActionFirst, paths: [][]string{{"action"}}, wantOK: true})
}

// BenchmarkEvaluateActionLast200B has the key at the end of the message.
func BenchmarkEvaluateActionLast200B(b *testing.B) {
	runBench(b, benchCase{expr: `$request.body.action`, msg: benchActionLast, paths: [][]string{{"action"}}, wantOK: true})
}

// BenchmarkEvaluateNested200B follows a two-level path.
func BenchmarkEvaluateNested200B(b *testing.B) {
	runBench(b, benchCase{expr: `$request.body.data.room`, msg: benchActionFirst, paths: [][]string{{"data", "room"}}, wantOK: true})
}

// BenchmarkEvaluateMultiVar200B evaluates two variables with text between.
func BenchmarkEvaluateMultiVar200B(b *testing.B) {
	runBench(b, benchCase{expr: `${request.body.service}/${request.body.action}`, msg: benchService, paths: [][]string{{"service"}, {"action"}}, sep: "/", wantOK: true})
}

// BenchmarkEvaluateNotJSON200B is a plain-text message, rejected at once.
func BenchmarkEvaluateNotJSON200B(b *testing.B) {
	runBench(b, benchCase{expr: `$request.body.action`, msg: benchNotJSON, paths: [][]string{{"action"}}, wantOK: false})
}

// BenchmarkEvaluateTruncated200B is a message that is JSON until its last
// byte, so the whole message is scanned before it is rejected.
func BenchmarkEvaluateTruncated200B(b *testing.B) {
	runBench(b, benchCase{expr: `$request.body.action`, msg: benchTruncated, paths: [][]string{{"action"}}, wantOK: false})
}

// BenchmarkEvaluateLarge128KiB evaluates on a message of the maximum size
// (RT-20) with the key at its end.
func BenchmarkEvaluateLarge128KiB(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"items":[`)
	for i := 0; sb.Len() < 131072-200; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`{"id":12345,"name":"item name with some text","ok":true,"v":[1.5,-2e3,null]}`)
	}
	sb.WriteString(`],"action":"bulk"}`)
	runBench(b, benchCase{expr: `$request.body.action`, msg: sb.String(), paths: [][]string{{"action"}}, wantOK: true})
}

func TestBenchMessages(t *testing.T) {
	for _, tt := range []struct {
		name string
		msg  string
		want string
	}{
		{"first", benchActionFirst, "sendmessage"},
		{"last", benchActionLast, "sendmessage"},
		{"service", benchService, "sendmessage"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if n := len(tt.msg); n < 180 || n > 230 {
				t.Errorf("message is %d bytes, want about 200", n)
			}
			got, ok := stdlibLookup(nil, []byte(tt.msg), "action")
			if !ok || string(got) != tt.want {
				t.Errorf("baseline = %q, %v", got, ok)
			}
		})
	}
	if json.Valid([]byte(benchNotJSON)) || json.Valid([]byte(benchTruncated)) {
		t.Error("a non-JSON benchmark message is valid JSON")
	}
}
