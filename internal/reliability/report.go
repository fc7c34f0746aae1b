package reliability

import (
	"fmt"
	"io"
	"maps"
	goruntime "runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// Report is what a run measured.
type Report struct {
	// Config is the configuration the run used, defaults filled in.
	Config Config
	// Baseline and Abuse are the well-behaved clients' figures per phase.
	Baseline, Abuse Phase
	// Clients is the number of well-behaved connections opened before the
	// baseline, and Kept how many of them were still open and answering
	// after the abuse phase (a ping answered by a pong, then a clean close).
	Clients, Kept int
	// Sent, Answered and Lost count the well-behaved clients' messages over
	// both phases: Answered are those echoed back byte for byte, Lost those
	// never answered. Failed counts those answered with anything else (such
	// as a gateway error frame), and Unexpected the replies nobody waited
	// for (duplicates).
	Sent, Answered, Lost, Failed, Unexpected int
	// Faults are the fault kinds, in the order they are described.
	Faults []*Fault
	// AnsweredAfterAbuse is true when a client that connected after the
	// abuse phase got its message echoed.
	AnsweredAfterAbuse bool
	// Connects and Disconnects count the $connect and $disconnect events the
	// Lambda-style backend received; every accepted connection gets both.
	Connects, Disconnects int
	// AttackerCPU is the CPU time the attack side (attackers and faulty
	// backends) used during the AttackerWall time its attackers ran, and
	// AttackerNice its nice value, when it runs in a child process (the
	// default). With Config.InProcess its CPU time is part of Abuse.CPU and
	// AttackerCPU is 0. AttackerErrors says what went wrong lowering the
	// child's priority.
	AttackerCPU, AttackerWall time.Duration
	AttackerNice              int
	AttackerErrors            []string
	// HeapBefore and HeapAfter are the process's live heap (after a garbage
	// collection) just before and just after the abuse phase, and HeapPeak
	// the largest in-use heap sampled during it. The well-behaved backend
	// and clients run in the same process and are included; the attack
	// side is included only with Config.InProcess.
	HeapBefore, HeapAfter, HeapPeak uint64
	// GoroutinesBefore is the number of goroutines when Run started, and
	// GoroutinesAfter the number once the gateway had shut down and the
	// backends had closed.
	GoroutinesBefore, GoroutinesAfter int
	// ShutdownTime is how long the gateway's Shutdown took, and Elapsed the
	// whole run.
	ShutdownTime, Elapsed time.Duration
}

// Phase is the well-behaved clients' figures of one phase.
type Phase struct {
	// Messages counts the replies whose latency was measured.
	Messages int
	// P50, P99 and Max are latencies from sending a message to reading its
	// reply.
	P50, P99, Max time.Duration
	// Wall is how long the phase lasted, and CPU the CPU time the process
	// (gateway, well-behaved backend and clients, and the attack side only
	// with Config.InProcess) used meanwhile.
	Wall, CPU time.Duration
	// SchedP99 is the 99th percentile of the time the process's goroutines
	// spent runnable before running during the phase (the Go runtime's
	// /sched/latencies:seconds): high values mean the process was short of
	// CPU, whether its own load or the machine's caused it.
	SchedP99 time.Duration
}

// Cores returns the average number of CPU cores the process used during
// the phase.
func (p Phase) Cores() float64 {
	if p.Wall <= 0 {
		return 0
	}
	return float64(p.CPU) / float64(p.Wall)
}

// AttackerCores returns the average number of CPU cores the attack side used
// while its attackers ran.
func (r *Report) AttackerCores() float64 {
	if r.AttackerWall <= 0 {
		return 0
	}
	return float64(r.AttackerCPU) / float64(r.AttackerWall)
}

// LatencyRatio returns the abuse phase's p99 divided by the baseline's.
func (r *Report) LatencyRatio() float64 {
	if r.Baseline.P99 <= 0 {
		return 0
	}
	return float64(r.Abuse.P99) / float64(r.Baseline.P99)
}

// Fault counts the attempts of one fault kind and what was observed.
type Fault struct {
	// Kind names the fault, Description says what an attempt does, and
	// Expected lists the outcomes that show the gateway defending itself.
	Kind        string
	Description string
	Expected    []string
	// Timed is true when the expected outcome depends on timing (a
	// timeout firing within a bound, a stalled client filling its buffers
	// within the attempt): on a starved machine such an attempt can end
	// otherwise without the gateway being wrong, so its unexpected outcomes
	// are warnings, not problems.
	Timed bool

	mu sync.Mutex
	// outcomes counts attempts by observed outcome.
	outcomes map[string]int
}

// record counts one attempt with its outcome.
func (f *Fault) record(outcome string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.outcomes == nil {
		f.outcomes = map[string]int{}
	}
	f.outcomes[outcome]++
}

// Tried returns the number of attempts.
func (f *Fault) Tried() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, v := range f.outcomes {
		n += v
	}
	return n
}

// Outcomes returns the number of attempts per observed outcome.
func (f *Fault) Outcomes() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.outcomes)
}

// Unexpected returns the number of attempts whose outcome is not one of
// Expected.
func (f *Fault) Unexpected() int {
	n := 0
	for o, v := range f.Outcomes() {
		if !slices.Contains(f.Expected, o) {
			n += v
		}
	}
	return n
}

// WriteTable writes the report as aligned text tables.
func (r *Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	cfg := r.Config
	fmt.Fprintf(&b, "Reliability suite: %d well-behaved clients (think time %s), %d attackers per fault kind, %s per phase\n",
		cfg.Clients, cfg.ThinkTime, cfg.Attackers, cfg.Duration)
	fmt.Fprintf(&b, "Gateway: HandshakeTimeout %s, WriteTimeout %s, CloseTimeout %s, other options at their defaults\n\n",
		HandshakeTimeout, WriteTimeout, CloseTimeout)

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WELL-BEHAVED CLIENTS\tBASELINE\tABUSE")
	fmt.Fprintf(tw, "replies measured\t%d\t%d\n", r.Baseline.Messages, r.Abuse.Messages)
	fmt.Fprintf(tw, "latency p50\t%s\t%s\n", ms(r.Baseline.P50), ms(r.Abuse.P50))
	fmt.Fprintf(tw, "latency p99\t%s\t%s\n", ms(r.Baseline.P99), ms(r.Abuse.P99))
	fmt.Fprintf(tw, "latency max\t%s\t%s\n", ms(r.Baseline.Max), ms(r.Abuse.Max))
	fmt.Fprintf(tw, "process CPU (cores, of %d)\t%.2f\t%.2f\n", goruntime.NumCPU(), r.Baseline.Cores(), r.Abuse.Cores())
	if cfg.InProcess {
		fmt.Fprintln(tw, "attack side CPU (cores; in process)\t\tpart of process CPU")
	} else {
		fmt.Fprintf(tw, "attack side CPU (cores; child process, nice %d)\t\t%.2f\n", r.AttackerNice, r.AttackerCores())
	}
	fmt.Fprintf(tw, "goroutine run-queue wait p99\t%s\t%s\n", ms(r.Baseline.SchedP99), ms(r.Abuse.SchedP99))
	fmt.Fprintf(tw, "p99 abuse / baseline\t%.2f×\t\n", r.LatencyRatio())
	if err := tw.Flush(); err != nil {
		return err
	}
	b.WriteString("\n")

	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INVARIANT\tVALUE")
	fmt.Fprintf(tw, "connections kept (both phases)\t%d of %d\n", r.Kept, r.Clients)
	fmt.Fprintf(tw, "messages sent\t%d\n", r.Sent)
	fmt.Fprintf(tw, "messages answered (echoed exactly once)\t%d\n", r.Answered)
	fmt.Fprintf(tw, "messages lost\t%d\n", r.Lost)
	fmt.Fprintf(tw, "messages failed (wrong reply)\t%d\n", r.Failed)
	fmt.Fprintf(tw, "unexpected replies (duplicates)\t%d\n", r.Unexpected)
	fmt.Fprintf(tw, "new client answered after abuse\t%s\n", yesNo(r.AnsweredAfterAbuse))
	fmt.Fprintf(tw, "$connect / $disconnect events\t%d / %d\n", r.Connects, r.Disconnects)
	fmt.Fprintf(tw, "heap before / peak / after abuse\t%s / %s / %s\n", mib(r.HeapBefore), mib(r.HeapPeak), mib(r.HeapAfter))
	fmt.Fprintf(tw, "goroutines at start / after shutdown\t%d / %d\n", r.GoroutinesBefore, r.GoroutinesAfter)
	fmt.Fprintf(tw, "shutdown / whole run\t%s / %s\n", r.ShutdownTime.Round(time.Millisecond), r.Elapsed.Round(time.Millisecond))
	if err := tw.Flush(); err != nil {
		return err
	}
	b.WriteString("\n")

	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FAULT\tTRIED\tEXPECTED\tUNEXPECTED\tOUTCOMES")
	for _, f := range r.Faults {
		tried, bad := f.Tried(), f.Unexpected()
		kind := f.Kind
		if f.Timed {
			kind += " (timed)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\n", kind, tried, tried-bad, bad, formatOutcomes(f.Outcomes()))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b.WriteString("\n")
	for _, f := range r.Faults {
		fmt.Fprintf(&b, "  %s: %s; expected: %s\n", f.Kind, f.Description, strings.Join(f.Expected, " | "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// formatOutcomes lists outcomes by decreasing count.
func formatOutcomes(m map[string]int) string {
	keys := slices.Collect(maps.Keys(m))
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

func mib(n uint64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// percentiles returns the phase figures of latency samples; it sorts them.
func percentiles(samples []time.Duration) Phase {
	if len(samples) == 0 {
		return Phase{}
	}
	slices.Sort(samples)
	at := func(q float64) time.Duration {
		i := int(q*float64(len(samples))+0.5) - 1
		return samples[min(max(i, 0), len(samples)-1)]
	}
	return Phase{Messages: len(samples), P50: at(0.50), P99: at(0.99), Max: samples[len(samples)-1]}
}

// Warnings returns the unexpected outcomes of timed fault kinds (see
// Fault.Timed), one sentence each.
func (r *Report) Warnings() []string {
	var w []string
	for _, e := range r.AttackerErrors {
		w = append(w, "attack side: "+e)
	}
	for _, f := range r.Faults {
		if n := f.Unexpected(); n > 0 && f.Timed {
			w = append(w, unexpectedOutcomes(f, n))
		}
	}
	return w
}

func unexpectedOutcomes(f *Fault, n int) string {
	return fmt.Sprintf("fault %s: %d of %d attempts had an unexpected outcome (%s)", f.Kind, n, f.Tried(), formatOutcomes(f.Outcomes()))
}

// Problems returns the invariants the run broke, one sentence each; none
// when the gateway kept serving well-behaved clients through the abuse. The
// latency ratio is reported, not judged here: timing depends on the machine.
func (r *Report) Problems() []string {
	var p []string
	if r.Lost > 0 {
		p = append(p, fmt.Sprintf("%d well-behaved messages were lost", r.Lost))
	}
	if r.Failed > 0 {
		p = append(p, fmt.Sprintf("%d well-behaved messages were answered with something other than their echo", r.Failed))
	}
	if r.Unexpected > 0 {
		p = append(p, fmt.Sprintf("well-behaved clients received %d replies to nothing (duplicates)", r.Unexpected))
	}
	if r.Kept < r.Clients {
		p = append(p, fmt.Sprintf("only %d of %d well-behaved connections were kept", r.Kept, r.Clients))
	}
	if r.Sent != r.Answered+r.Lost+r.Failed {
		p = append(p, fmt.Sprintf("%d messages sent but %d answered, %d failed and %d lost", r.Sent, r.Answered, r.Failed, r.Lost))
	}
	if !r.AnsweredAfterAbuse {
		p = append(p, "a client connecting after the abuse got no echo")
	}
	if r.Connects != r.Disconnects {
		p = append(p, fmt.Sprintf("%d connections were accepted by $connect but %d $disconnect events ran (RT-13)", r.Connects, r.Disconnects))
	}
	for _, f := range r.Faults {
		if f.Tried() == 0 {
			p = append(p, fmt.Sprintf("fault %s was never tried", f.Kind))
		}
		if n := f.Unexpected(); n > 0 && !f.Timed {
			p = append(p, unexpectedOutcomes(f, n))
		}
	}
	if r.GoroutinesAfter > r.GoroutinesBefore {
		p = append(p, fmt.Sprintf("%d goroutines after shutdown, %d at start", r.GoroutinesAfter, r.GoroutinesBefore))
	}
	return p
}
