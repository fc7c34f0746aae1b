package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// report is everything BENCHMARKS.md says about one run.
type report struct {
	opts        options
	facts       machine
	allocs      allocsResult
	peers       map[string]string
	res         *results
	targets     []target
	idleConns   int
	connections int
}

// Files the report writes, relative to the repository root.
const (
	benchmarksFile = "BENCHMARKS.md"
	plotFile       = "docs/bench-latency.svg"
	notesFile      = "bench/NOTES.md"
)

// command returns the command line that produced the run: bench/run.sh
// sets BENCH_COMMAND to its own.
func command() string {
	if c := os.Getenv("BENCH_COMMAND"); c != "" {
		return c
	}
	return strings.TrimSpace("go run ./bench/harness " + strings.Join(os.Args[1:], " "))
}

// write writes BENCHMARKS.md and the latency plot under root.
func (r *report) write(root string) error {
	var curves []curve
	for _, name := range []string{cBaseline, cWsgwctl} {
		if row := r.res.find("W1", name); row != nil {
			if h := mergeHistograms(row.all()); h != nil && h.TotalCount() > 0 {
				curves = append(curves, curve{name: name, hist: h})
			}
		}
	}
	if len(curves) > 0 {
		var svg bytes.Buffer
		title := fmt.Sprintf("W1: MOCK two-way route, %d connections, reply latency (all rounds)", r.connections)
		if err := writeLatencySVG(&svg, title, curves); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(plotFile)), 0o755); err != nil {
			return fmt.Errorf("write the latency plot: %w", err)
		}
		if err := os.WriteFile(filepath.Join(root, plotFile), svg.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write the latency plot: %w", err)
		}
	}
	var b bytes.Buffer
	r.markdown(&b, len(curves) > 0)
	if err := os.WriteFile(filepath.Join(root, benchmarksFile), b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", benchmarksFile, err)
	}
	return nil
}

func (r *report) markdown(b *bytes.Buffer, plot bool) {
	f := r.facts
	fmt.Fprintf(b, "# Benchmarks\n\n")
	fmt.Fprintf(b, "This file is written by the comparison harness (`bench/`, issue 7). Every figure below comes from the one run\n")
	fmt.Fprintf(b, "described here; run the command again to refresh it. The numbers are for comparison *within* the run:\n")
	fmt.Fprintf(b, "the machine is a **shared 2-core virtual machine**, on which the load generator, the backend and every server\n")
	fmt.Fprintf(b, "compete for the same two cores, so absolute numbers are low and noisy and only the ratios mean much. The\n")
	fmt.Fprintf(b, "harness is never a CI gate on absolute numbers; CI runs `go run ./bench/harness --smoke`, which only checks that\n")
	fmt.Fprintf(b, "every workload runs end to end.\n\n")

	fmt.Fprintf(b, "## Run\n\n```\n%s\n```\n\n", command())
	fmt.Fprintf(b, "| fact | value |\n|---|---|\n")
	fmt.Fprintf(b, "| date | %s |\n", f.Date.Format(time.RFC3339))
	fmt.Fprintf(b, "| CPU | %s |\n", escapeCell(f.CPU))
	fmt.Fprintf(b, "| cores | %d (shared with other work on the machine) |\n", f.Cores)
	fmt.Fprintf(b, "| kernel | %s |\n", escapeCell(f.Kernel))
	fmt.Fprintf(b, "| Go | %s |\n", f.Go)
	fmt.Fprintf(b, "| open files (ulimit -n) | soft %d, hard %d (%s) |\n", f.NoFileSoft, f.NoFileHard, escapeCell(f.NoFileNote))
	fmt.Fprintf(b, "| rounds | %d, each run %s measured after %s warm-up |\n", r.opts.rounds, r.opts.duration, r.opts.warmup)
	names := make([]string, 0, len(r.peers))
	for n := range r.peers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(b, "| %s | %s |\n", n, escapeCell(r.peers[n]))
	}
	for _, n := range []string{cPushpin, cServerless} {
		if _, ok := r.peers[n]; !ok {
			fmt.Fprintf(b, "| %s | not measured |\n", n)
		}
	}
	b.WriteString("\n## Targets (issue 7)\n\n")
	_ = writeTargets(b, r.targets)

	b.WriteString("\n## Results\n\n")
	b.WriteString("Medians over the rounds, with the minimum and maximum in parentheses. Ratios are taken round by round\n")
	b.WriteString("(a contender's figure divided by its reference's in the same round), then the median and range of those.\n\n")
	_ = r.res.writeTable(b)

	if plot {
		fmt.Fprintf(b, "\n![W1 latency by percentile](%s)\n\n", plotFile)
		fmt.Fprintf(b, "`%s`: W1's reply latency by percentile for each contender, all rounds merged (HDR histograms\n", plotFile)
		b.WriteString("of the load generator; the percentile axis is stretched by nines).\n")
	}

	b.WriteString("\n## Workloads and method\n\n")
	fmt.Fprintf(b, "Every server runs in its own process; the load generator (`internal/loadgen`), the HTTP backend and the\n")
	fmt.Fprintf(b, "special clients run in the harness's process. Contenders alternate within each round and their order rotates\n")
	fmt.Fprintf(b, "between rounds, so that drift of the shared machine spreads over all of them.\n\n")
	fmt.Fprintf(b, "- **gobwas/ws echo** is the physical-limit baseline: a raw gobwas/ws server written in the harness\n")
	fmt.Fprintf(b, "  (`bench/harness/echo.go`), one goroutine and a 4 KiB read buffer per connection, one flush per message.\n")
	fmt.Fprintf(b, "- **wsgwctl** is `wsgwctl serve` on a generated state (`bench/harness/state.go`) whose stages have throttling\n")
	fmt.Fprintf(b, "  effectively off (rate 10⁹/s, burst 2³⁰), and with the per-address connection limits raised.\n")
	fmt.Fprintf(b, "- **Pushpin** routes every connection to the same backend with WebSocket-over-HTTP (`over_http`): each message\n")
	fmt.Fprintf(b, "  is a POST of a TEXT event, answered with the same event.\n")
	fmt.Fprintf(b, "- **serverless-offline** runs `bench/serverless` (serverless 3, serverless-offline 13): a `$default` route\n")
	fmt.Fprintf(b, "  whose Node handler returns the body as the route response. `bench/install-peers.sh` installs both peers.\n\n")
	fmt.Fprintf(b, "| workload | what runs |\n|---|---|\n")
	fmt.Fprintf(b, "| W1 | %d connections, one 128-byte JSON message in flight each, to a two-way MOCK route whose response template is `${request.raw_body}` (an echo) |\n", r.connections)
	fmt.Fprintf(b, "| W2 | as W1 with a 128-byte plain-text message, routed to `$default` |\n")
	fmt.Fprintf(b, "| W3 | as W1 to a two-way HTTP_PROXY route to the harness's keep-alive backend, which answers with the body; the same backend is called directly with %d keep-alive HTTP clients for the added-latency reference |\n", r.connections)
	fmt.Fprintf(b, "| W4 | as W1 to a two-way AWS_PROXY route; the backend decodes the event and returns its body as the Lambda proxy result |\n")
	fmt.Fprintf(b, "| W5 | %d idle connections learn their ids (a MOCK `$default` returns `${context.connectionId}`), then POSTs to `@connections` at each offered rate, open loop; latency from a POST's scheduled time to the frame's arrival |\n", r.idleConns)
	fmt.Fprintf(b, "| W6 | 32 clients each open a connection (MOCK `$connect`), send a close frame, wait for the answer (MOCK `$disconnect`) and close, as fast as they can; handshake latency |\n")
	fmt.Fprintf(b, "| W7 | a fresh server process; after 200 connections opened and closed, the growth of its VmRSS (`/proc/PID/status`) while it holds the largest connection count the descriptor limit allows, divided by that count: everything the process holds per idle connection |\n")
	fmt.Fprintf(b, "| W8 | 16 connections, messages of 8, 32, 64 and 128 KiB in turn, sent in 16 KiB fragments; the reply is read whole |\n")
	fmt.Fprintf(b, "| W9 | W1 on its own API, alone (undisturbed) and beside one client that sends 16 KiB messages every millisecond and never reads (4 KiB receive buffer) plus 100 handshakes that send one byte every 100 ms; the gateway's `$disconnect` (AWS_PROXY to the backend) reports the slow consumer's close code |\n\n")
	b.WriteString("Go benchmarks of the per-message path, beside the code (`go test -run '^$' -bench . -benchmem ./runtime/ ./runtime/integration/`):\n\n")
	b.WriteString("- `BenchmarkMockTwoWayRoute` (runtime/bench_test.go): frame read → route → MOCK → write, end to end over a socket; the\n")
	b.WriteString("  W1 allocation target above is its allocs/op.\n")
	b.WriteString("- `BenchmarkDefaultRouteAWSProxy`, `BenchmarkDefaultRouteAWSProxyOneWay` (runtime/bench_test.go): AWS_PROXY through\n")
	b.WriteString("  the gateway to a local function.\n")
	b.WriteString("- `BenchmarkAppendEventMessage`, `BenchmarkInvokeAWSProxyMessage` (runtime/integration): building the AWS_PROXY event\n")
	b.WriteString("  and invoking it.\n")
	b.WriteString("- `BenchmarkIdleConnection` (runtime/bench_test.go): the in-process heap and stack an idle connection costs.\n")
	if r.allocs.Err == "" {
		fmt.Fprintf(b, "\nIn this run `BenchmarkMockTwoWayRoute` reported %s allocs/op, %s B/op and %s msgs/s.\n",
			formatFigure(r.allocs.AllocsPerOp), formatFigure(r.allocs.BytesPerOp), formatFigure(r.allocs.MsgsPerSec))
	}
	if notes, err := os.ReadFile(filepath.Join(r.opts.root, notesFile)); err == nil && len(bytes.TrimSpace(notes)) > 0 {
		fmt.Fprintf(b, "\n## Notes\n\n(from `%s`, kept across runs)\n\n", notesFile)
		b.Write(bytes.TrimSpace(notes))
		b.WriteString("\n")
	}
}
