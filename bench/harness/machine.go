package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// machine are the facts of the machine a run measured.
type machine struct {
	CPU        string
	Cores      int
	Kernel     string
	Go         string
	NoFileSoft uint64
	NoFileHard uint64
	// NoFileNote says what raising the limit did.
	NoFileNote string
	Date       time.Time
}

// raiseNoFile raises the soft limit of open descriptors to the hard limit
// (children inherit it) and reports both.
func raiseNoFile() (soft, hard uint64, note string) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, 0, "getrlimit: " + err.Error()
	}
	before := lim.Cur
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return before, lim.Max, fmt.Sprintf("could not raise the soft limit %d to %d: %v", before, lim.Max, err)
		}
		return lim.Cur, lim.Max, fmt.Sprintf("soft limit raised from %d to the hard limit", before)
	}
	return lim.Cur, lim.Max, "soft limit already at the hard limit"
}

// machineFacts reads the CPU model, the kernel and the Go version.
func machineFacts(soft, hard uint64, note string) machine {
	m := machine{Cores: goruntime.NumCPU(), Go: goruntime.Version(), NoFileSoft: soft, NoFileHard: hard, NoFileNote: note, Date: time.Now().UTC()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		_ = f.Close()
	}
	if m.CPU == "" {
		m.CPU = goruntime.GOARCH
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = "Linux " + strings.TrimSpace(string(data))
	} else {
		m.Kernel = goruntime.GOOS
	}
	return m
}

var benchLine = regexp.MustCompile(`^BenchmarkMockTwoWayRoute\S*\s+\d+\s+.*?([\d.]+) msgs/s.*?([\d.]+) B/op\s+([\d.]+) allocs/op`)

// measureAllocs runs the Go benchmark of the per-message path (frame read,
// route, MOCK, write) and returns its allocations per message.
func measureAllocs(ctx context.Context, root string) allocsResult {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", "^BenchmarkMockTwoWayRoute$", "-benchmem", "-benchtime", "20000x", "./runtime/")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		if m := benchLine.FindStringSubmatch(line); m != nil {
			rate, _ := strconv.ParseFloat(m[1], 64)
			bytes, _ := strconv.ParseFloat(m[2], 64)
			allocs, _ := strconv.ParseFloat(m[3], 64)
			return allocsResult{AllocsPerOp: allocs, BytesPerOp: bytes, MsgsPerSec: rate}
		}
	}
	if err == nil {
		err = fmt.Errorf("no result line")
	}
	last := strings.TrimSpace(string(out))
	if i := strings.LastIndex(last, "\n"); i >= 0 {
		last = last[i+1:]
	}
	return allocsResult{Err: fmt.Sprintf("go test -bench failed: %v (%s)", err, last)}
}
