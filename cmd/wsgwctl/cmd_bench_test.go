package main

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/wsgwctl/wsgwctl/internal/loadgen"
)

// startBenchEchoServer starts a WebSocket echo server on 127.0.0.1 and
// returns its ws:// URL.
func startBenchEchoServer(t *testing.T) string {
	t.Helper()
	var wg sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, _, err := ws.UpgradeHTTP(r, w)
		if err != nil {
			return
		}
		wg.Add(1)
		defer wg.Done()
		defer conn.Close()
		for {
			// ReadClientData answers pings and the client's close frame.
			p, op, err := wsutil.ReadClientData(conn)
			if err != nil {
				return
			}
			if err := wsutil.WriteServerMessage(conn, op, p); err != nil {
				return
			}
		}
	}))
	t.Cleanup(func() {
		srv.Close()
		wg.Wait()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/dev"
}

// runBenchCmd runs `wsgwctl bench` in-process.
func runBenchCmd(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(append([]string{"bench"}, args...), strings.NewReader(""), &out, &errOut, []string{"NO_COLOR=1"})
	return code, out.String(), errOut.String()
}

func TestBenchUsageErrors(t *testing.T) {
	dir := t.TempDir()
	badFile := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(badFile, []byte("{{nope}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const u = "ws://127.0.0.1:1/dev"
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "no URL", args: nil, want: "missing URL"},
		{name: "two URLs", args: []string{u, u}, want: `unexpected argument "ws://127.0.0.1:1/dev"`},
		{name: "http URL", args: []string{"http://127.0.0.1/dev"}, want: "the scheme must be ws or wss"},
		{name: "zero connections", args: []string{u, "-c", "0"}, want: "-c/--connections: must be at least 1"},
		{name: "unknown mode", args: []string{u, "--mode", "fast"}, want: `invalid value "fast" for --mode`},
		{name: "open without rate", args: []string{u, "--mode", "open"}, want: "--mode open needs --rate"},
		{name: "rate in closed loop", args: []string{u, "--rate", "10"}, want: "--rate applies to --mode open only"},
		{name: "in-flight in open loop", args: []string{u, "--mode", "open", "--rate", "5", "--in-flight", "2"}, want: "--in-flight applies to --mode closed only"},
		{name: "zero in-flight", args: []string{u, "--in-flight", "0"}, want: "--in-flight: must be at least 1"},
		{name: "zero duration", args: []string{u, "-d", "0s"}, want: "-d/--duration: must be positive"},
		{name: "malformed duration", args: []string{u, "-d", "ten"}, want: `invalid argument "ten" for "-d, --duration"`},
		{name: "negative warm-up", args: []string{u, "--warmup", "-1s"}, want: "--warmup: must not be negative"},
		{name: "bad placeholder", args: []string{u, "-m", "{{nope}}"}, want: `for -m/--message: unknown placeholder {{nope}}`},
		{name: "message and file", args: []string{u, "-m", "x", "--message-file", badFile}, want: "mutually exclusive"},
		{name: "bad template file", args: []string{u, "--message-file", badFile}, want: "--message-file " + badFile + ": unknown placeholder"},
		{name: "missing template file", args: []string{u, "--message-file", filepath.Join(dir, "none")}, want: "for --message-file"},
		{name: "bad header", args: []string{u, "-H", "nocolon"}, want: "-H/--header"},
		{name: "push rate without endpoint", args: []string{u, "--push-rate", "5"}, want: "--push-rate needs --push-endpoint"},
		{name: "push endpoint without rate", args: []string{u, "--push-endpoint", "http://127.0.0.1:1/dev"}, want: "needs a positive --push-rate"},
		{name: "push endpoint not http", args: []string{u, "--push-endpoint", "ws://x/dev", "--push-rate", "1"}, want: "for --push-endpoint"},
		{name: "push body without id", args: []string{u, "--push-endpoint", "http://x/dev", "--push-rate", "1", "--push-body", "{{seq}}"}, want: "for --push-body: the template must contain {{id}}"},
		{name: "push option without push", args: []string{u, "--push-id-from", "id"}, want: "--push-id-from applies to push load only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runBenchCmd(tt.args...)
			if code != 1 {
				t.Errorf("exit status %d, want 1", code)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q lacks %q", stderr, tt.want)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
		})
	}
}

func TestBenchRun(t *testing.T) {
	url := startBenchEchoServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "ws://" + ln.Addr().String() + "/dev"
	ln.Close()

	t.Run("table", func(t *testing.T) {
		code, stdout, stderr := runBenchCmd(url, "-c", "2", "--in-flight", "2", "-d", "200ms", "--warmup", "0",
			"-m", `{"action":"echo","id":"{{id}}","conn":{{conn}}}`, "-H", "x-api-key: k")
		if code != 0 {
			t.Fatalf("exit status %d, stderr %s", code, stderr)
		}
		for _, want := range []string{"Target", url, "closed loop, 2 connections × 2 in flight", "2 opened, 0 failed, 2 closed cleanly",
			"Throughput", "p99.9", "Errors", "none"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, stdout)
			}
		}
		if stderr != "" {
			t.Errorf("stderr %q, want nothing (not a terminal)", stderr)
		}
	})
	t.Run("json", func(t *testing.T) {
		code, stdout, stderr := runBenchCmd(url, "--mode", "open", "--rate", "100", "-d", "200ms", "--warmup", "50ms", "--json")
		if code != 0 {
			t.Fatalf("exit status %d, stderr %s", code, stderr)
		}
		var doc struct {
			Config struct {
				Mode     string  `json:"mode"`
				Warmup   float64 `json:"warmupMs"`
				Duration float64 `json:"durationMs"`
			} `json:"config"`
			Duration    float64 `json:"durationMs"`
			Sent        int64   `json:"sent"`
			Received    int64   `json:"received"`
			Connections struct {
				Opened int `json:"opened"`
			} `json:"connections"`
			Latency struct {
				Count int64   `json:"count"`
				P99   float64 `json:"p99Ms"`
			} `json:"latency"`
			Errors map[string]int `json:"errors"`
		}
		if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
			t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
		}
		if doc.Config.Mode != "open" || doc.Config.Warmup != 50 || doc.Duration != 200 || doc.Sent != 20 ||
			doc.Received != 20 || doc.Latency.Count != 20 || doc.Latency.P99 <= 0 || doc.Connections.Opened != 1 || len(doc.Errors) != 0 {
			t.Errorf("JSON does not describe the run of 20 messages:\n%s", stdout)
		}
	})
	t.Run("no connection", func(t *testing.T) {
		code, stdout, stderr := runBenchCmd(refused, "-c", "2", "-d", "100ms")
		if code != 1 {
			t.Errorf("exit status %d, want 1", code)
		}
		if !strings.Contains(stderr, "no connection could be opened") {
			t.Errorf("stderr %q lacks the reason", stderr)
		}
		if !strings.Contains(stdout, "0 opened, 2 failed") || !strings.Contains(stdout, "dial: 2") {
			t.Errorf("stdout lacks the failed connections:\n%s", stdout)
		}
	})
}

func TestBenchProgressLine(t *testing.T) {
	got := formatBenchProgress(loadgen.Snapshot{Phase: "measuring", Elapsed: 2500 * time.Millisecond, Open: 3,
		Sent: 10, Received: 9, Rate: 4.4, P99: time.Millisecond, Errors: 1, PushPosted: 5, PushDelivered: 4})
	want := "measuring    2.5s  open 3  sent 10  received 9  4/s  p99 1ms  errors 1  pushed 4/5"
	if got != want {
		t.Errorf("progress line\n%q, want\n%q", got, want)
	}
}
