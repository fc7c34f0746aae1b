package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/wsgwctl/wsgwctl/internal/loadgen"
)

// options are the harness's flags.
type options struct {
	smoke            bool
	rounds           int
	duration, warmup time.Duration
	wsgwctl          string
	root             string
	noPeers          bool
	only             string
	write            bool
}

func main() {
	var o options
	serveEcho := flag.String("serve-echo", "", "internal: serve the raw gobwas/ws echo baseline on `ADDR` and do nothing else")
	flag.BoolVar(&o.smoke, "smoke", false, "run every workload for about a second with small counts (for CI); does not write BENCHMARKS.md")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds of every workload; contenders alternate within a round")
	flag.DurationVar(&o.duration, "duration", 4*time.Second, "measured phase of each run")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "warm-up before each run's measured phase")
	flag.StringVar(&o.wsgwctl, "wsgwctl", "", "wsgwctl binary to measure (default: build ./cmd/wsgwctl)")
	flag.StringVar(&o.root, "root", "", "repository root, where BENCHMARKS.md and docs/ are written (default: the module root)")
	flag.BoolVar(&o.noPeers, "no-peers", false, "do not run Pushpin or serverless-offline even when installed")
	flag.StringVar(&o.only, "only", "", "comma-separated workloads to run, e.g. W1,W3 (default: all)")
	flag.Parse()
	if *serveEcho != "" {
		runEchoMode(*serveEcho)
	}
	o.write = !o.smoke
	if o.smoke {
		o.rounds, o.duration, o.warmup = 1, time.Second, 200*time.Millisecond
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		os.Exit(1)
	}
}

// run measures every workload and reports.
func run(ctx context.Context, o options, stdout, stderr io.Writer) error {
	soft, hard, note := raiseNoFile()
	facts := machineFacts(soft, hard, note)
	if o.root == "" {
		root, err := moduleRoot(ctx)
		if err != nil {
			return err
		}
		o.root = root
	}
	tmp, err := os.MkdirTemp("", "wsgw-bench-")
	if err != nil {
		return fmt.Errorf("create a temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp)

	bin := o.wsgwctl
	if bin == "" {
		fmt.Fprintln(stderr, "building wsgwctl ...")
		if bin, err = buildWsgwctl(ctx, tmp); err != nil {
			return err
		}
	}
	allocs := allocsResult{Err: "skipped in --smoke mode"}
	if !o.smoke {
		fmt.Fprintln(stderr, "measuring allocations per routed message (go test -bench BenchmarkMockTwoWayRoute) ...")
		allocs = measureAllocs(ctx, o.root)
	}

	e := &env{
		ctx: ctx, smoke: o.smoke, duration: o.duration, warmup: o.warmup,
		connections: 100, wsgwctl: bin, tmp: tmp, res: &results{}, log: stderr,
		peerStatus: map[string]string{},
	}
	// Descriptors: the harness holds the client side of every connection,
	// the server process the other side; keep a margin for everything else.
	budget := int(soft) - 1024
	e.idleConns, e.maxIdle = min(10000, budget), min(50000, budget)
	e.pushRates = []float64{5000, 10000, 20000, 40000}
	if o.smoke {
		e.connections, e.idleConns, e.maxIdle = 10, min(200, budget), min(1000, budget)
		e.pushRates = []float64{500, 1000}
	}
	if e.idleConns < 100 {
		return fmt.Errorf("the descriptor limit %d is too low for the idle-connection workloads", soft)
	}

	if e.be, err = startBackend(); err != nil {
		return err
	}
	defer e.be.close()
	st, err := benchState(benchAPIs(e.be.url()))
	if err != nil {
		return err
	}
	gwDir, err := tempDir(tmp, "gateway-")
	if err != nil {
		return err
	}
	if e.gw, err = startGateway(ctx, bin, gwDir, st); err != nil {
		return err
	}
	defer e.gw.stop(30 * time.Second)
	if e.echo, err = startEcho(ctx); err != nil {
		return err
	}
	defer e.echo.stop(10 * time.Second)
	peerVersions := startPeers(ctx, e, o)
	defer func() {
		if e.pushpin != nil {
			e.pushpin.stop(10 * time.Second)
		}
		if e.sls != nil {
			e.sls.stop(10 * time.Second)
		}
	}()

	ws := selectWorkloads(workloads(), o.only)
	warmUp(e, stderr)
	for round := range o.rounds {
		for _, w := range ws {
			cs := w.contenders(e)
			// Rotate the order every round, so that no contender always
			// runs first (or right after the heaviest).
			for i := range cs {
				c := cs[(i+round)%len(cs)]
				if c.missing != "" {
					e.res.missing(w, c.name, c.missing)
					continue
				}
				if err := ctx.Err(); err != nil {
					return err
				}
				fmt.Fprintf(stderr, "round %d/%d  %s  %-40s ", round+1, o.rounds, w.id, c.name)
				start := time.Now()
				s, err := c.run(round)
				if err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					fmt.Fprintf(stderr, "failed: %v\n", err)
					e.res.fail(w, c.name, err)
					continue
				}
				fmt.Fprintf(stderr, "%s %s, p99 %s (%s)\n", formatFigure(s.Value), w.unit, formatDuration(s.P99), time.Since(start).Round(100*time.Millisecond))
				e.res.add(w, c.name, round, s)
			}
		}
	}

	rep := report{
		opts: o, facts: facts, allocs: allocs, peers: peerVersions, res: e.res,
		targets:     e.res.targets(allocs, w5TargetRate),
		idleConns:   e.idleConns,
		connections: e.connections,
	}
	var table bytes.Buffer
	if err := e.res.writeTable(&table); err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	fmt.Fprint(stdout, table.String())
	fmt.Fprintln(stdout)
	if err := writeTargets(stdout, rep.targets); err != nil {
		return err
	}
	if !o.write {
		return nil
	}
	return rep.write(o.root)
}

// warmUp sends W1's load to every server once before the first round,
// unmeasured, so that no contender's first round pays for its start
// (serverless-offline starts its Lambda workers on first use and may not
// answer within the load generator's reply timeout).
func warmUp(e *env, log io.Writer) {
	targets := map[string]string{cBaseline: e.echo.url(), cWsgwctl: e.gw.url(apiMock)}
	if e.pushpin != nil {
		targets[cPushpin] = e.pushpin.url
	}
	if e.sls != nil {
		targets[cServerless] = e.sls.url
	}
	for _, name := range []string{cBaseline, cWsgwctl, cPushpin, cServerless} {
		url, ok := targets[name]
		if !ok {
			continue
		}
		fmt.Fprintf(log, "warming up %s ...\n", name)
		_, _ = loadgen.Run(e.ctx, loadgen.Config{
			URL: url, Connections: e.connections, Template: messageOf(128, false),
			Duration: e.warmup + time.Second, Warmup: -1, Timeout: 20 * time.Second,
		})
	}
}

// w5TargetRate is the offered rate W5's target is judged at.
const w5TargetRate = 20000

// startPeers starts the installed peers and returns their versions by
// name; missing peers get their reason in e.peerStatus.
func startPeers(ctx context.Context, e *env, o options) map[string]string {
	versions := map[string]string{}
	benchDir := filepath.Join(o.root, "bench")
	if o.noPeers {
		e.peerStatus[cPushpin], e.peerStatus[cServerless] = "not run (--no-peers)", "not run (--no-peers)"
		return versions
	}
	if bin := pushpinInstalled(); bin == "" {
		e.peerStatus[cPushpin] = "not installed"
	} else if dir, err := tempDir(e.tmp, "pushpin-"); err != nil {
		e.peerStatus[cPushpin] = "failed to start: " + oneLine(err.Error())
	} else if p, err := startPushpin(ctx, bin, dir, e.be.ln.Addr().String()); err != nil {
		e.peerStatus[cPushpin] = "failed to start: " + oneLine(err.Error())
	} else {
		e.pushpin, versions[cPushpin] = p, p.version
	}
	if bin := serverlessInstalled(benchDir); bin == "" {
		e.peerStatus[cServerless] = "not installed"
	} else if p, err := startServerless(ctx, bin, benchDir); err != nil {
		e.peerStatus[cServerless] = "failed to start: " + oneLine(err.Error())
	} else {
		e.sls, versions[cServerless] = p, p.version
	}
	for name, status := range e.peerStatus {
		fmt.Fprintf(e.log, "%s: %s\n", name, status)
	}
	return versions
}

// selectWorkloads keeps the workloads named in only (all when empty).
func selectWorkloads(all []workload, only string) []workload {
	if only == "" {
		return all
	}
	keep := map[string]bool{}
	for _, id := range strings.Split(only, ",") {
		keep[strings.ToUpper(strings.TrimSpace(id))] = true
	}
	var out []workload
	for _, w := range all {
		if keep[w.id] {
			out = append(out, w)
		}
	}
	return out
}

// moduleRoot returns the directory of the main module's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find the module root: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("find the module root: not inside a Go module; pass --root")
	}
	return filepath.Dir(gomod), nil
}

func tempDir(parent, pattern string) (string, error) {
	dir, err := os.MkdirTemp(parent, pattern)
	if err != nil {
		return "", fmt.Errorf("create a temporary directory: %w", err)
	}
	return dir, nil
}

// oneLine keeps the first line of s, shortened for a table cell.
func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}
