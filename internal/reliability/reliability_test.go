package reliability

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestReliabilitySuite runs the suite at CI size and checks the functional
// invariants of issue 6's reliability item (RT-22, RT-26, RT-13, RT-15,
// RT-20): no well-behaved message lost, failed or duplicated, every
// well-behaved connection kept, every fault kind tried with the outcome the
// gateway must produce (timed kinds excepted, see Fault.Timed), a new
// client answered after the abuse, a $disconnect for every $connect, and no
// goroutine left after Shutdown. Latency is reported, not asserted.
func TestReliabilitySuite(t *testing.T) {
	if testing.Short() {
		t.Skip("the reliability suite takes two phases of several seconds")
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cfg := Config{Duration: 5 * time.Second, Clients: 20}
	if !raceEnabled {
		cfg.Duration = 3 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var table strings.Builder
	if err := rep.WriteTable(&table); err != nil {
		t.Fatalf("WriteTable: %v", err)
	}
	t.Log("\n" + table.String())
	for _, w := range rep.Warnings() {
		t.Log("warning:", w)
	}

	checks := []struct {
		name string
		ok   bool
		got  any
	}{
		{"no well-behaved message lost (RT-22, RT-26)", rep.Lost == 0, rep.Lost},
		{"no well-behaved message answered wrongly", rep.Failed == 0, rep.Failed},
		{"no duplicate replies", rep.Unexpected == 0, rep.Unexpected},
		{"every well-behaved message counted", rep.Sent == rep.Answered+rep.Lost+rep.Failed && rep.Sent > 0, rep.Sent},
		{"every well-behaved connection kept", rep.Kept == rep.Clients, rep.Kept},
		{"messages measured in both phases", rep.Baseline.Messages > 0 && rep.Abuse.Messages > 0, [2]int{rep.Baseline.Messages, rep.Abuse.Messages}},
		{"a new client is answered after the abuse", rep.AnsweredAfterAbuse, rep.AnsweredAfterAbuse},
		{"a $disconnect for every $connect (RT-13)", rep.Connects == rep.Disconnects && rep.Connects > rep.Clients, [2]int{rep.Connects, rep.Disconnects}},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !c.ok {
				t.Errorf("got %v", c.got)
			}
		})
	}
	for _, f := range rep.Faults {
		t.Run("fault "+f.Kind, func(t *testing.T) {
			if f.Tried() == 0 {
				t.Fatalf("never tried")
			}
			if n := f.Unexpected(); n > 0 && !f.Timed {
				t.Errorf("%d of %d attempts had an unexpected outcome, want only %q: %s",
					n, f.Tried(), f.Expected, formatOutcomes(f.Outcomes()))
			}
		})
	}
	if len(rep.Faults) != len(attacks()) {
		t.Errorf("%d fault kinds ran, want all %d", len(rep.Faults), len(attacks()))
	}
}

// TestPercentiles checks the latency figures of a phase.
func TestPercentiles(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name          string
		samples       []time.Duration
		p50, p99, max time.Duration
	}{
		{"empty", nil, 0, 0, 0},
		{"one", []time.Duration{3 * ms}, 3 * ms, 3 * ms, 3 * ms},
		{"hundred", func() []time.Duration {
			var s []time.Duration
			for i := 100; i >= 1; i-- {
				s = append(s, time.Duration(i)*ms)
			}
			return s
		}(), 50 * ms, 99 * ms, 100 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := percentiles(tt.samples)
			if p.P50 != tt.p50 || p.P99 != tt.p99 || p.Max != tt.max || p.Messages != len(tt.samples) {
				t.Errorf("got %+v, want p50 %s p99 %s max %s", p, tt.p50, tt.p99, tt.max)
			}
		})
	}
}

// TestFaultsOf checks that the outcomes the attacker process reports are
// counted on the selected fault kinds, in order, and that kinds it did not
// report are kept with no attempt.
func TestFaultsOf(t *testing.T) {
	res := attackResult{Faults: []faultCount{
		{Kind: "flood", Outcomes: map[string]int{outEchoed: 3, outThrottled: 2}},
		{Kind: "binary-frame", Outcomes: map[string]int{outClose1003: 4}},
	}}
	tests := []struct {
		name   string
		faults []string
		want   map[string]int // tried per kind
	}{
		{"selected", []string{"binary-frame", "flood", "churn"}, map[string]int{"binary-frame": 4, "flood": 5, "churn": 0}},
		{"one", []string{"flood"}, map[string]int{"flood": 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := faultsOf(Config{Faults: tt.faults}, res)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d faults, want %d", len(got), len(tt.want))
			}
			for i, f := range got {
				if i > 0 && kindIndex(got[i-1].Kind) > kindIndex(f.Kind) {
					t.Errorf("fault %s listed after %s, want the order of attacks()", f.Kind, got[i-1].Kind)
				}
				if f.Tried() != tt.want[f.Kind] {
					t.Errorf("fault %s tried %d, want %d", f.Kind, f.Tried(), tt.want[f.Kind])
				}
			}
		})
	}
}

// kindIndex returns the position of kind in attacks().
func kindIndex(kind string) int {
	for i, a := range attacks() {
		if a.fault.Kind == kind {
			return i
		}
	}
	return -1
}
