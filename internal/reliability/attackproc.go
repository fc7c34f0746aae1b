package reliability

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"
)

// The attackers and the faulty backends run in a child process: the current
// binary, re-executed with roleEnv set to roleAttacker and the Config as JSON
// in configEnv, at a lower scheduling priority. Attackers of a real gateway
// run on other machines; in one process they would compete with the gateway
// and the well-behaved clients for the CPU and distort the latency the suite
// measures. The two processes talk in JSON lines: the child writes a
// childHello on its stdout once its faulty backends listen, the parent
// writes a childStart on the child's stdin to start the abuse, the child
// writes its attackResult once every attacker has finished, and the parent
// closes the child's stdin once the gateway has shut down, upon which the
// child closes its backends and exits 0.
const (
	roleEnv      = "WSGW_RELIABILITY_ROLE"
	roleAttacker = "attacker"
	configEnv    = "WSGW_RELIABILITY_CONFIG"
)

// attackerNice is the nice value of the attacker process: the gateway and the
// well-behaved clients get the CPU first, as if the attackers were remote.
const attackerNice = 10

// childWaitDelay bounds the wait for the child's output once it has exited
// or been killed.
const childWaitDelay = 5 * time.Second

// childHello is the child's first line: the URL of its faulty backend.
type childHello struct {
	FaultyURL string `json:"faulty_url"`
}

// childStart is the parent's line that starts the abuse.
type childStart struct {
	Gateway string `json:"gateway"`
}

// attackResult is what the attackers observed: the outcomes per fault kind,
// in the order of attacks(), and the CPU time the attack side used during
// the Wall time they ran.
type attackResult struct {
	Faults []faultCount  `json:"faults"`
	CPU    time.Duration `json:"cpu_ns"`
	Wall   time.Duration `json:"wall_ns"`
	// Nice is the attack side's nice value, and Errors what went wrong
	// lowering it.
	Nice   int      `json:"nice"`
	Errors []string `json:"errors,omitempty"`
}

// faultCount is the outcomes of one fault kind.
type faultCount struct {
	Kind     string         `json:"kind"`
	Outcomes map[string]int `json:"outcomes"`
}

// init runs the attacker role when this process was started as one by Run,
// and exits; in any other process it does nothing. Doing it in init makes
// every binary that links the suite (cmd/reliability, the package's test
// binary) able to serve as its own attacker process, and keeps a child from
// ever reaching main and starting a suite of its own.
func init() {
	if os.Getenv(roleEnv) != roleAttacker {
		return
	}
	if err := attackerMain(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "reliability attacker process:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// attackerMain is the attacker process: it serves the faulty backends, runs
// the attackers against the gateway the parent names, reports their
// outcomes and waits for the parent to close in.
func attackerMain(in io.Reader, out io.Writer) error {
	nice, niceErr := lowerPriority(attackerNice)
	var cfg Config
	if err := json.Unmarshal([]byte(os.Getenv(configEnv)), &cfg); err != nil {
		return fmt.Errorf("decode the suite's configuration: %w", err)
	}
	cfg = cfg.withDefaults()
	faulty, err := startFaultyBackend()
	if err != nil {
		return err
	}
	defer faulty.Close()
	enc := json.NewEncoder(out)
	if err := enc.Encode(childHello{FaultyURL: faulty.url("")}); err != nil {
		return fmt.Errorf("write the hello line: %w", err)
	}
	br := bufio.NewReader(in)
	var start childStart
	if err := json.NewDecoder(br).Decode(&start); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // the parent gave up before the abuse phase
		}
		return fmt.Errorf("read the start line: %w", err)
	}
	res := runAttacks(context.Background(), start.Gateway, cfg)
	res.Nice = nice
	if niceErr != nil {
		res.Errors = append(res.Errors, niceErr.Error())
	}
	if err := enc.Encode(res); err != nil {
		return fmt.Errorf("write the results: %w", err)
	}
	// The faulty backends serve until the parent's gateway has shut down.
	_, _ = io.Copy(io.Discard, br)
	return nil
}

// selectedAttacks returns the attacks cfg.Faults selects, in order.
func selectedAttacks(cfg Config) []attack {
	var out []attack
	for _, a := range attacks() {
		if len(cfg.Faults) == 0 || slices.Contains(cfg.Faults, a.fault.Kind) {
			out = append(out, a)
		}
	}
	return out
}

// runAttacks runs cfg.Attackers attackers of every selected fault kind
// against the gateway at addr for cfg.Duration, waits for their last
// attempts to end, and returns what they observed.
func runAttacks(ctx context.Context, addr string, cfg Config) attackResult {
	start, cpu := time.Now(), processCPU()
	transport := &http.Transport{MaxIdleConnsPerHost: 64}
	defer transport.CloseIdleConnections()
	e := &env{addr: addr, cfg: cfg, http: &http.Client{Transport: transport, Timeout: attemptDeadline}}
	ctx, stop := context.WithTimeout(ctx, cfg.Duration)
	defer stop()
	selected := selectedAttacks(cfg)
	var wg sync.WaitGroup
	for _, a := range selected {
		for range cfg.Attackers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				runAttacker(ctx, e, a)
			}()
		}
	}
	wg.Wait()
	res := attackResult{CPU: processCPU() - cpu, Wall: time.Since(start)}
	for _, a := range selected {
		res.Faults = append(res.Faults, faultCount{Kind: a.fault.Kind, Outcomes: a.fault.Outcomes()})
	}
	return res
}

// faultsOf returns the Faults of the selected attacks with the outcomes res
// counted.
func faultsOf(cfg Config, res attackResult) []*Fault {
	counts := map[string]map[string]int{}
	for _, fc := range res.Faults {
		counts[fc.Kind] = fc.Outcomes
	}
	var out []*Fault
	for _, a := range selectedAttacks(cfg) {
		f := a.fault
		for o, n := range counts[f.Kind] {
			for range n {
				f.record(o)
			}
		}
		out = append(out, f)
	}
	return out
}

// attackSide is where the attackers and the faulty backends run: a child
// process, or this one (Config.InProcess).
type attackSide interface {
	// faultyURL returns the base URL of the faulty backends.
	faultyURL() string
	// start starts the abuse of the gateway at addr; it lasts cfg.Duration.
	start(addr string) error
	// wait waits for every attacker to finish and returns what they
	// observed.
	wait() (attackResult, error)
	// close stops the faulty backends; calls after the first return the
	// first's result.
	close() error
}

// startAttackSide starts the attack side cfg asks for.
func startAttackSide(ctx context.Context, cfg Config) (attackSide, error) {
	if cfg.InProcess {
		f, err := startFaultyBackend()
		if err != nil {
			return nil, err
		}
		return &localAttackers{ctx: ctx, cfg: cfg, faulty: f, done: make(chan attackResult, 1)}, nil
	}
	return startAttackerProcess(ctx, cfg)
}

// localAttackers runs the attack side in this process.
type localAttackers struct {
	ctx    context.Context
	cfg    Config
	faulty *faultyBackend
	done   chan attackResult
}

func (l *localAttackers) faultyURL() string { return l.faulty.url("") }

func (l *localAttackers) start(addr string) error {
	go func() { l.done <- runAttacks(l.ctx, addr, l.cfg) }()
	return nil
}

// wait returns the attackers' outcomes; the CPU time runAttacks measured is
// the whole process's, so it is left out.
func (l *localAttackers) wait() (attackResult, error) {
	res := <-l.done
	res.CPU = 0
	return res, nil
}

func (l *localAttackers) close() error {
	l.faulty.Close()
	return nil
}

// attackerProcess is the attack side in a child process.
type attackerProcess struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *json.Decoder
	stderr *lockedBuffer
	hello  childHello

	once     sync.Once
	closeErr error
}

// startAttackerProcess re-executes the current binary as the attacker
// process and waits for its faulty backends to listen.
func startAttackerProcess(ctx context.Context, cfg Config) (*attackerProcess, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the executable to run the attackers: %w", err)
	}
	conf, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encode the configuration for the attackers: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), roleEnv+"="+roleAttacker, configEnv+"="+string(conf))
	cmd.WaitDelay = childWaitDelay
	p := &attackerProcess{cmd: cmd, stderr: &lockedBuffer{}}
	cmd.Stderr = p.stderr
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("connect to the attacker process: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("connect to the attacker process: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the attacker process: %w", err)
	}
	p.out = json.NewDecoder(stdout)
	if err := p.out.Decode(&p.hello); err != nil {
		return nil, p.failed("read the attacker process's hello", err)
	}
	if p.hello.FaultyURL == "" {
		return nil, p.failed("read the attacker process's hello", errors.New("no faulty backend URL"))
	}
	return p, nil
}

func (p *attackerProcess) faultyURL() string { return p.hello.FaultyURL }

func (p *attackerProcess) start(addr string) error {
	if err := json.NewEncoder(p.stdin).Encode(childStart{Gateway: addr}); err != nil {
		return p.failed("start the attackers", err)
	}
	return nil
}

func (p *attackerProcess) wait() (attackResult, error) {
	var res attackResult
	if err := p.out.Decode(&res); err != nil {
		return res, p.failed("read the attackers' results", err)
	}
	return res, nil
}

func (p *attackerProcess) close() error {
	p.once.Do(func() {
		_ = p.stdin.Close()
		if err := p.cmd.Wait(); err != nil {
			p.closeErr = fmt.Errorf("run the attacker process: %w%s", err, p.stderrTail())
		}
	})
	return p.closeErr
}

// failed stops the child after a failed exchange and returns an error that
// says what failed, how the child ended and the end of what it wrote on
// stderr.
func (p *attackerProcess) failed(action string, err error) error {
	_ = p.cmd.Process.Kill()
	if werr := p.close(); werr != nil {
		return fmt.Errorf("%s: %w (%v)", action, err, werr)
	}
	return fmt.Errorf("%s: %w%s", action, err, p.stderrTail())
}

// stderrTailBytes bounds how much of the child's stderr an error quotes.
const stderrTailBytes = 2000

// stderrTail returns the end of the child's stderr, prefixed for an error
// message, or nothing when it wrote nothing.
func (p *attackerProcess) stderrTail() string {
	s := strings.TrimSpace(p.stderr.String())
	if s == "" {
		return ""
	}
	if len(s) > stderrTailBytes {
		s = "…" + s[len(s)-stderrTailBytes:]
	}
	return "; its stderr: " + s
}

// lockedBuffer is a bytes.Buffer that the child's stderr copier writes while
// an error message may read it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
