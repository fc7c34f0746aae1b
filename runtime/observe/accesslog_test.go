package observe

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wsgwctl/wsgwctl/config/model"
)

func readLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

func idLookup(id string) Lookup {
	return mapLookup(map[string]string{"requestId": id, "routeKey": "$default"})
}

func TestAccessLogDestinationsRT32(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name        string
		destination string
		file        string // the file written, "" for stdout and stderr
	}{
		{"stdout", "stdout", ""},
		{"stderr", "stderr", ""},
		{"file with parent directories", filepath.Join(dir, "logs", "nested", "access.log"), filepath.Join(dir, "logs", "nested", "access.log")},
		{"existing file is appended to", filepath.Join(dir, "existing.log"), filepath.Join(dir, "existing.log")},
	}
	if err := os.WriteFile(filepath.Join(dir, "existing.log"), []byte("before\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			logs := NewAccessLogs(&stdout, &stderr, nil)
			l, err := logs.Stage(&model.AccessLog{Destination: tt.destination, Format: "$context.requestId $context.routeKey $context.status"})
			if err != nil {
				t.Fatal(err)
			}
			l.Log(idLookup("r1"))
			l.Log(idLookup("r2"))
			if err := logs.Close(); err != nil {
				t.Fatal(err)
			}
			want := []string{"r1 $default -", "r2 $default -"}
			var got []string
			switch tt.destination {
			case "stdout":
				got = strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
			case "stderr":
				got = strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
			default:
				got = readLines(t, tt.file)
				if tt.name == "existing file is appended to" {
					want = append([]string{"before"}, want...)
				} else {
					info, err := os.Stat(tt.file)
					if err != nil {
						t.Fatal(err)
					}
					if perm := info.Mode().Perm(); perm&^0o644 != 0 || perm&0o600 != 0o600 {
						t.Errorf("access log mode %v, want 0644 (less the umask)", perm)
					}
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("RT-32 lines (-want +got):\n%s", diff)
			}
			if tt.destination != "stdout" && stdout.Len() != 0 || tt.destination != "stderr" && stderr.Len() != 0 {
				t.Errorf("RT-32: wrong writer used: stdout %q, stderr %q", stdout.String(), stderr.String())
			}
		})
	}
}

func TestAccessLogNilAndClosed(t *testing.T) {
	logs := NewAccessLogs(io.Discard, io.Discard, nil)
	l, err := logs.Stage(nil)
	if err != nil || l != nil {
		t.Fatalf("Stage(nil) = %v, %v; want nil, nil", l, err)
	}
	l.Log(idLookup("r")) // a stage without access_log logs nothing

	live, err := logs.Stage(&model.AccessLog{Destination: "stdout", Format: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if err := logs.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := logs.Stage(&model.AccessLog{Destination: "stdout", Format: "x"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Stage after Close: %v, want ErrClosed", err)
	}
	live.Log(idLookup("late"))
	if got := logs.Dropped(); got != 1 {
		t.Errorf("Dropped = %d after a line logged past Close, want 1", got)
	}
	if err := logs.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestAccessLogOpenFailure(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	logs := NewAccessLogs(io.Discard, io.Discard, nil)
	defer logs.Close()
	_, err := logs.Stage(&model.AccessLog{Destination: filepath.Join(blocker, "access.log"), Format: "x"})
	if err == nil || !strings.HasPrefix(err.Error(), "create access log directory: ") {
		t.Errorf("Stage under a regular file: %v, want a create access log directory error", err)
	}
}

func TestAccessLogReloadRT30(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	logs := NewAccessLogs(io.Discard, io.Discard, nil)
	defer logs.Close()

	stage := func(path, format string) *AccessLog {
		t.Helper()
		l, err := logs.Stage(&model.AccessLog{Destination: path, Format: format})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	dev, prod := stage(a, "dev $context.requestId"), stage(a, "prod $context.requestId")
	if dev.sink != prod.sink {
		t.Fatal("RT-32: two stages writing to one file got two writers")
	}
	if err := logs.Retain(dev, prod); err != nil {
		t.Fatal(err)
	}
	dev.Log(idLookup("1"))
	prod.Log(idLookup("2"))

	// Reload: dev keeps its path (written another way), prod moves to b.
	dev2 := stage(filepath.Join(dir, ".", "a.log"), "dev2 $context.requestId")
	if dev2.sink != dev.sink {
		t.Error("RT-30: an unchanged path was reopened on reload")
	}
	prod2 := stage(b, "prod2 $context.requestId")
	if err := logs.Retain(dev2, prod2, nil); err != nil {
		t.Fatal(err)
	}
	dev2.Log(idLookup("3"))
	prod2.Log(idLookup("4"))

	// Drop a: its writer finishes what it has and closes the file.
	if err := logs.Retain(prod2); err != nil {
		t.Fatal(err)
	}
	dev2.Log(idLookup("late"))
	if got := logs.Dropped(); got != 1 {
		t.Errorf("Dropped = %d after logging to a retired destination, want 1", got)
	}
	if diff := cmp.Diff([]string{"dev 1", "prod 2", "dev2 3"}, readLines(t, a)); diff != "" {
		t.Errorf("a.log (-want +got):\n%s", diff)
	}
	if err := logs.Close(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"prod2 4"}, readLines(t, b)); diff != "" {
		t.Errorf("b.log (-want +got):\n%s", diff)
	}
}

// gateWriter blocks its first Write until released, telling the test when
// that write started.
type gateWriter struct {
	started chan struct{}
	release chan struct{}
	once    sync.Once
	buf     bytes.Buffer
}

func (w *gateWriter) Write(p []byte) (int, error) {
	w.once.Do(func() {
		close(w.started)
		<-w.release
	})
	return w.buf.Write(p)
}

func TestAccessLogDropsWhenFullRT32(t *testing.T) {
	w := &gateWriter{started: make(chan struct{}), release: make(chan struct{})}
	logs := NewAccessLogs(w, io.Discard, nil)
	l, err := logs.Stage(&model.AccessLog{Destination: "stdout", Format: "$context.requestId"})
	if err != nil {
		t.Fatal(err)
	}
	l.Log(idLookup("first"))
	<-w.started // the writer holds "first" and is stuck in Write

	// Lines of 8 bytes: QueueBytes/8 fit in the queue, the rest are dropped.
	const extra = 5
	fit := QueueBytes / 8
	for i := range fit + extra {
		l.Log(idLookup(fmt.Sprintf("%07d", i)))
	}
	if got := logs.Dropped(); got != extra {
		t.Errorf("Dropped = %d with a full queue, want %d", got, extra)
	}
	close(w.release)
	if err := logs.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(w.buf.String(), "\n"), "\n")
	if len(lines) != 1+fit || lines[0] != "first" || lines[fit] != fmt.Sprintf("%07d", fit-1) {
		t.Errorf("wrote %d lines (first %q, last %q), want %d ending with %07d",
			len(lines), lines[0], lines[len(lines)-1], 1+fit, fit-1)
	}
}

// failWriter fails every write until healed.
type failWriter struct {
	mu     sync.Mutex
	healed bool
	buf    bytes.Buffer
}

func (w *failWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.healed {
		return 0, errors.New("disk full")
	}
	return w.buf.Write(p)
}

func TestAccessLogWriteFailure(t *testing.T) {
	var logBuf bytes.Buffer
	var logMu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logBuf}, nil))
	w := &failWriter{}
	logs := NewAccessLogs(w, io.Discard, log)
	l, err := logs.Stage(&model.AccessLog{Destination: "stdout", Format: "$context.requestId"})
	if err != nil {
		t.Fatal(err)
	}
	l.Log(idLookup("lost"))
	l.Log(idLookup("lost too"))
	err = logs.Close()
	if err == nil || !strings.Contains(err.Error(), "write access log stdout: disk full") {
		t.Errorf("Close after failed writes: %v, want the write error", err)
	}
	logMu.Lock()
	defer logMu.Unlock()
	if n := strings.Count(logBuf.String(), "write access log"); n != 1 {
		t.Errorf("write failure logged %d times, want once:\n%s", n, logBuf.String())
	}
	if !strings.Contains(logBuf.String(), "destination=stdout") {
		t.Errorf("failure log lacks the destination:\n%s", logBuf.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

func TestAccessLogConcurrentRT32(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	logs := NewAccessLogs(io.Discard, io.Discard, nil)
	const workers, each = 8, 400 // about 150 KB: below QueueBytes, so none may drop
	formats := []string{`{"stage":"a","id":"$context.requestId"}`, `{"stage":"b","id":"$context.requestId"}`}
	var stages []*AccessLog
	for _, f := range formats {
		l, err := logs.Stage(&model.AccessLog{Destination: path, Format: f})
		if err != nil {
			t.Fatal(err)
		}
		stages = append(stages, l)
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			l := stages[w%len(stages)]
			for i := range each {
				l.Log(idLookup(fmt.Sprintf("%d-%d-%s", w, i, strings.Repeat("x", i%50))))
			}
		})
	}
	wg.Wait()
	if err := logs.Close(); err != nil {
		t.Fatal(err)
	}
	if got := logs.Dropped(); got != 0 {
		t.Errorf("Dropped = %d, want 0", got)
	}
	lines := readLines(t, path)
	if len(lines) != workers*each {
		t.Fatalf("RT-32: %d lines, want %d", len(lines), workers*each)
	}
	seen := make(map[string]bool)
	for _, line := range lines {
		if !strings.HasPrefix(line, `{"stage":"`) || !strings.HasSuffix(line, `"}`) || seen[line] {
			t.Fatalf("RT-32: torn or repeated line %q", line)
		}
		seen[line] = true
	}
}

// BenchmarkAccessLogLog is the cost the message path pays per access-log
// line: render into a pooled buffer and queue it for a file writer. It
// reports the share of lines dropped because the writer fell behind.
func BenchmarkAccessLogLog(b *testing.B) {
	logs := NewAccessLogs(io.Discard, io.Discard, nil)
	l, err := logs.Stage(&model.AccessLog{Destination: filepath.Join(b.TempDir(), "access.log"), Format: chatFormat})
	if err != nil {
		b.Fatal(err)
	}
	lookup := mapLookup(map[string]string{
		"requestId": "Zm9vYmFyYmF6cXV4", "connectionId": "Y29ubmVjdGlvbg=", "routeKey": "sendmessage",
		"eventType": "MESSAGE", "status": "200",
	})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Log(lookup)
		}
	})
	b.StopTimer()
	if err := logs.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(logs.Dropped())/float64(b.N), "dropped/op")
}
