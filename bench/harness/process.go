package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wsgwctl/wsgwctl/state"
)

// startTimeout bounds how long a server process may take to say where it
// listens.
const startTimeout = 60 * time.Second

// server is a server process the harness started.
type server struct {
	name string
	cmd  *exec.Cmd
	// lines receives the process's output lines until it exits.
	lines chan string
	done  chan struct{}
	// tail keeps the last lines of output, for error messages.
	mu   sync.Mutex
	tail []string
}

// startServer starts cmd, collecting its stdout and stderr line by line.
// The process gets its own process group, so that stop ends what it
// starts too (Pushpin and serverless start helpers).
func startServer(name string, cmd *exec.Cmd) (*server, error) {
	s := &server{name: name, cmd: cmd, lines: make(chan string, 256), done: make(chan struct{})}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.tail = append(s.tail, line)
			if len(s.tail) > 20 {
				s.tail = s.tail[1:]
			}
			s.mu.Unlock()
			select {
			case s.lines <- line:
			default: // nobody is waiting for output any more
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		_ = cmd.Wait()
		_ = pw.Close()
		close(s.done)
	}()
	return s, nil
}

// waitFor returns the submatches of the first output line that re matches.
func (s *server) waitFor(ctx context.Context, re *regexp.Regexp) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	for {
		select {
		case line := <-s.lines:
			if m := re.FindStringSubmatch(line); m != nil {
				return m, nil
			}
		case <-s.done:
			return nil, fmt.Errorf("%s exited before it was ready: %s", s.name, s.lastOutput())
		case <-ctx.Done():
			return nil, fmt.Errorf("%s did not become ready within %s: %s", s.name, startTimeout, s.lastOutput())
		}
	}
}

func (s *server) lastOutput() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.tail) == 0 {
		return "(no output)"
	}
	return strings.Join(s.tail, " | ")
}

// pid returns the process id.
func (s *server) pid() int { return s.cmd.Process.Pid }

// stop sends SIGTERM to the process group and waits; after grace it kills
// the group.
func (s *server) stop(grace time.Duration) {
	pgid := s.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(grace):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-s.done
	}
	// Helpers of the group may outlive its leader briefly.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// rss returns the resident set size of a process, from VmRSS in
// /proc/PID/status.
func rss(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read process status: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			fields := strings.Fields(rest)
			if len(fields) != 2 || fields[1] != "kB" {
				return 0, fmt.Errorf("read process status: unexpected VmRSS line %q", line)
			}
			kb, err := strconv.ParseInt(fields[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("read process status: %w", err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("read process status: no VmRSS line")
}

// gatewayProc is a `wsgwctl serve` process.
type gatewayProc struct {
	*server
	addr  string // host:port of the stages and @connections
	admin string // host:port of /status and /metrics
}

var (
	servingLine = regexp.MustCompile(`^Serving on ws://(\S+)`)
	adminLine   = regexp.MustCompile(`^Admin on http://(\S+)`)
)

// startGateway writes st into dir and serves it with the wsgwctl binary at
// bin, with the per-address connection limits out of the way (every client
// of the harness comes from loopback addresses).
func startGateway(ctx context.Context, bin, dir string, st *state.State) (*gatewayProc, error) {
	data, err := state.Marshal(st)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "state.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return nil, fmt.Errorf("write benchmark state: %w", err)
	}
	cmd := exec.Command(bin, "serve", "--state", path,
		"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
		"--log-level", "error",
		"--max-connections", "1000000",
		"--max-connections-per-ip", "1000000",
		"--new-connections-per-ip", "1000000",
	)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	s, err := startServer("wsgwctl", cmd)
	if err != nil {
		return nil, err
	}
	g := &gatewayProc{server: s}
	m, err := s.waitFor(ctx, servingLine)
	if err == nil {
		g.addr = m[1]
		m, err = s.waitFor(ctx, adminLine)
	}
	if err != nil {
		s.stop(5 * time.Second)
		return nil, err
	}
	g.admin = strings.TrimSuffix(m[1], ",")
	return g, nil
}

// url returns the ws:// URL of an API's benchmark stage.
func (g *gatewayProc) url(api string) string { return "ws://" + g.addr + "/" + api + "/" + benchStage }

// endpoint returns the http:// URL of an API's stage, under which
// @connections is served.
func (g *gatewayProc) endpoint(api string) string {
	return "http://" + g.addr + "/" + api + "/" + benchStage
}

// echoProc is the raw gobwas/ws echo server, this program started with
// --serve-echo.
type echoProc struct {
	*server
	addr string
}

var echoLine = regexp.MustCompile(`^echo listening on (\S+)`)

// startEcho starts the echo baseline in its own process.
func startEcho(ctx context.Context) (*echoProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the harness binary: %w", err)
	}
	s, err := startServer("echo", exec.Command(self, "--serve-echo", "127.0.0.1:0"))
	if err != nil {
		return nil, err
	}
	m, err := s.waitFor(ctx, echoLine)
	if err != nil {
		s.stop(5 * time.Second)
		return nil, err
	}
	return &echoProc{server: s, addr: m[1]}, nil
}

func (e *echoProc) url() string { return "ws://" + e.addr + "/" }

// buildWsgwctl builds cmd/wsgwctl into dir and returns the binary's path.
func buildWsgwctl(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "wsgwctl")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/wsgwctl/wsgwctl/cmd/wsgwctl")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build wsgwctl: %w: %s", err, strings.TrimSpace(out.String()))
	}
	return bin, nil
}
