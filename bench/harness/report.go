package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// row is one contender of one workload across rounds.
type row struct {
	workload, title, contender, unit string
	lowerBetter                      bool
	// samples maps a round to its sample.
	samples map[int]sample
	// status is "" for a row that ran, or why it could not ("not
	// installed", "failed to start: ...").
	status string
	// failed counts the rounds whose run failed, and failure is the last
	// reason.
	failed  int
	failure string
}

// values returns the figure of every round.
func (r *row) values(f func(sample) float64) []float64 {
	var vs []float64
	for _, s := range r.samples {
		vs = append(vs, f(s))
	}
	return vs
}

// all returns the samples in the order of their rounds.
func (r *row) all() []sample {
	rounds := make([]int, 0, len(r.samples))
	for round := range r.samples {
		rounds = append(rounds, round)
	}
	slices.Sort(rounds)
	out := make([]sample, 0, len(rounds))
	for _, round := range rounds {
		out = append(out, r.samples[round])
	}
	return out
}

// results are every row, in the order they were first recorded.
type results struct {
	rows []*row
}

func (rs *results) find(workload, contender string) *row {
	for _, r := range rs.rows {
		if r.workload == workload && r.contender == contender {
			return r
		}
	}
	return nil
}

func (rs *results) row(w workload, contender string) *row {
	if r := rs.find(w.id, contender); r != nil {
		return r
	}
	r := &row{workload: w.id, title: w.title, contender: contender, unit: w.unit, lowerBetter: w.lowerBetter, samples: map[int]sample{}}
	rs.rows = append(rs.rows, r)
	return r
}

// add records a sample of a round.
func (rs *results) add(w workload, contender string, round int, s sample) {
	rs.row(w, contender).samples[round] = s
}

// missing records why a contender cannot run at all.
func (rs *results) missing(w workload, contender, status string) {
	r := rs.row(w, contender)
	if r.status == "" {
		r.status = status
	}
}

// fail records a round whose run failed.
func (rs *results) fail(w workload, contender string, err error) {
	r := rs.row(w, contender)
	r.failed++
	r.failure = oneLine(err.Error())
}

// ratio returns the spread over rounds of a's figure divided by b's, taken
// round by round so that drift between rounds cancels.
func (rs *results) ratio(workload, a, b string, f func(sample) float64) spread {
	ra, rb := rs.find(workload, a), rs.find(workload, b)
	if ra == nil || rb == nil {
		return spread{}
	}
	var vs []float64
	for round, sa := range ra.samples {
		sb, ok := rb.samples[round]
		if !ok || f(sb) == 0 {
			continue
		}
		vs = append(vs, f(sa)/f(sb))
	}
	return spreadOf(vs)
}

// difference returns the spread over rounds of a's figure minus b's.
func (rs *results) difference(workload, a, b string, f func(sample) float64) spread {
	ra, rb := rs.find(workload, a), rs.find(workload, b)
	if ra == nil || rb == nil {
		return spread{}
	}
	var vs []float64
	for round, sa := range ra.samples {
		if sb, ok := rb.samples[round]; ok {
			vs = append(vs, f(sa)-f(sb))
		}
	}
	return spreadOf(vs)
}

func value(s sample) float64 { return s.Value }
func p99(s sample) float64   { return float64(s.P99) }

// references maps a workload to the contender its rows are compared with:
// the baseline, or for W3/W4 the peer wsgwctl is measured against.
var references = map[string][]string{
	"W1": {cBaseline}, "W2": {cBaseline}, "W6": {cBaseline}, "W7": {cBaseline}, "W8": {cBaseline},
	"W3": {cPushpin, cDirect, w3OpenDirect}, "W4": {cServerless},
	"W9": {cWsgwctl + ", undisturbed"},
}

// writeTable writes the results as a Markdown table: medians over rounds
// with min–max, latency percentiles, and ratios against the references.
func (rs *results) writeTable(w io.Writer) error {
	var b strings.Builder
	b.WriteString("| workload | contender | result: median (min–max) | p50 | p99: median (min–max) | p99.9 | errors | ratio: median (min–max) |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs.rows {
		if r.status != "" || len(r.samples) == 0 {
			status := r.status
			if status == "" {
				status = "failed: " + r.failure
			}
			fmt.Fprintf(&b, "| %s | %s | %s | | | | | |\n", r.workload, r.contender, escapeCell(status))
			continue
		}
		v := spreadOf(r.values(value))
		lat := spreadOf(r.values(p99))
		p50s := spreadOf(r.values(func(s sample) float64 { return float64(s.P50) }))
		p999s := spreadOf(r.values(func(s sample) float64 { return float64(s.P999) }))
		errs := 0
		for _, s := range r.samples {
			errs += s.Errors
		}
		errCell := strconv.Itoa(errs)
		if r.failed > 0 {
			errCell += fmt.Sprintf("; %d of %d rounds failed: %s", r.failed, r.failed+len(r.samples), escapeCell(r.failure))
		}
		latCells := [3]string{"", "", ""}
		if lat.Median > 0 {
			latCells = [3]string{
				formatDuration(time.Duration(p50s.Median)),
				fmt.Sprintf("%s (%s–%s)", formatDuration(time.Duration(lat.Median)), formatDuration(time.Duration(lat.Min)), formatDuration(time.Duration(lat.Max))),
				formatDuration(time.Duration(p999s.Median)),
			}
		}
		var ratios []string
		for _, ref := range references[r.workload] {
			// Open-loop rows compare with each other only.
			if (r.contender == w3OpenWsgwctl) != (ref == w3OpenDirect) {
				continue
			}
			if !strings.HasPrefix(r.contender, cWsgwctl) || ref == r.contender || rs.find(r.workload, ref) == nil || len(rs.find(r.workload, ref).samples) == 0 {
				continue
			}
			q := rs.ratio(r.workload, r.contender, ref, value)
			if q.N == 0 {
				continue
			}
			ratios = append(ratios, fmt.Sprintf("%s× %s", formatRatioSpread(q), ref))
		}
		fmt.Fprintf(&b, "| %s | %s | %s %s (%s–%s) | %s | %s | %s | %s | %s |\n",
			r.workload, r.contender,
			formatFigure(v.Median), r.unit, formatFigure(v.Min), formatFigure(v.Max),
			latCells[0], latCells[1], latCells[2], errCell, strings.Join(ratios, "; "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// target is one target of issue 7 and whether the run met it.
type target struct {
	Workload, Target, Measured string
	// Met is "met", "not met" or "not measured".
	Met string
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "not met"
}

// allocsResult is what the Go benchmark of the per-message path reported.
type allocsResult struct {
	AllocsPerOp float64
	BytesPerOp  float64
	MsgsPerSec  float64
	// Err says why there is no figure.
	Err string
}

// targets evaluates issue 7's targets on the results.
func (rs *results) targets(allocs allocsResult, pushTarget float64) []target {
	var ts []target
	add := func(workload, text string, measured string, met string) {
		ts = append(ts, target{Workload: workload, Target: text, Measured: measured, Met: met})
	}
	ratioTarget := func(workload, text, a, b string, min float64) {
		q := rs.ratio(workload, a, b, value)
		if q.N == 0 {
			add(workload, text, "no figure for "+missingOf(rs, workload, a, b), "not measured")
			return
		}
		add(workload, text, fmt.Sprintf("%s× (%s–%s× over %d rounds)", formatRatio(q.Median), formatRatio(q.Min), formatRatio(q.Max), q.N), verdict(q.Median >= min))
	}
	ratioTarget("W1", "throughput ≥ 0.6 × raw gobwas/ws echo", cWsgwctl, cBaseline, 0.6)
	if allocs.Err != "" {
		add("W1", "≤ 2 allocations per routed message", allocs.Err, "not measured")
	} else {
		add("W1", "≤ 2 allocations per routed message", fmt.Sprintf("%s allocs/msg, %s B/msg (BenchmarkMockTwoWayRoute)", formatFigure(allocs.AllocsPerOp), formatFigure(allocs.BytesPerOp)), verdict(allocs.AllocsPerOp <= 2))
	}
	ratioTarget("W3", "throughput ≥ 2 × Pushpin on the same backend", cWsgwctl, cPushpin, 2)
	if d := rs.difference("W3", w3OpenWsgwctl, w3OpenDirect, p99); d.N > 0 {
		add("W3", fmt.Sprintf("added p99 over a direct backend call ≤ 2 ms (both at %s msg/s, open loop)", groupDigits(w3OpenRate)), fmt.Sprintf("%s (%s–%s)", formatDuration(time.Duration(d.Median)), formatDuration(time.Duration(d.Min)), formatDuration(time.Duration(d.Max))), verdict(time.Duration(d.Median) <= 2*time.Millisecond))
	} else {
		add("W3", "added p99 over a direct backend call ≤ 2 ms", "no figure", "not measured")
	}
	ratioTarget("W4", "throughput ≥ 10 × serverless-offline", cWsgwctl, cServerless, 10)
	if r := rs.find("W5", pushContender(pushTarget)); r != nil && len(r.samples) > 0 {
		v, l := spreadOf(r.values(value)), spreadOf(r.values(p99))
		add("W5", fmt.Sprintf("≥ 20,000 POST/s accepted, POST-to-client p99 ≤ 5 ms (at %s POST/s offered)", groupDigits(pushTarget)),
			fmt.Sprintf("%s POST/s delivered, p99 %s", formatFigure(v.Median), formatDuration(time.Duration(l.Median))),
			verdict(v.Median >= 0.99*20000 && time.Duration(l.Median) <= 5*time.Millisecond))
	} else {
		add("W5", "≥ 20,000 POST/s accepted, POST-to-client p99 ≤ 5 ms", fmt.Sprintf("no run at %s POST/s offered", groupDigits(pushTarget)), "not measured")
	}
	if r := rs.find("W6", cWsgwctl); r != nil && len(r.samples) > 0 {
		v := spreadOf(r.values(value))
		add("W6", "≥ 5,000 connects/s with $connect and $disconnect", fmt.Sprintf("%s connects/s (%s–%s)", formatFigure(v.Median), formatFigure(v.Min), formatFigure(v.Max)), verdict(v.Median >= 5000))
	} else {
		add("W6", "≥ 5,000 connects/s with $connect and $disconnect", "no figure", "not measured")
	}
	if r := rs.find("W7", cWsgwctl); r != nil && len(r.samples) > 0 {
		v := spreadOf(r.values(value))
		n := spreadOf(r.values(func(s sample) float64 { return s.Extra["connections"] }))
		add("W7", "≤ 4 KB resident per idle connection", fmt.Sprintf("%s B/conn (%s–%s) at %s connections", formatFigure(v.Median), formatFigure(v.Min), formatFigure(v.Max), formatFigure(n.Median)), verdict(v.Median <= 4096))
	} else {
		add("W7", "≤ 4 KB resident per idle connection", "no figure", "not measured")
	}
	undisturbed, disturbed := cWsgwctl+", undisturbed", cWsgwctl+", disturbed"
	if q := rs.ratio("W9", disturbed, undisturbed, p99); q.N > 0 {
		add("W9", "well-behaved clients' p99 moves by ≤ 20%", fmt.Sprintf("%+.0f%% (%+.0f%% to %+.0f%%)", 100*(q.Median-1), 100*(q.Min-1), 100*(q.Max-1)), verdict(math.Abs(q.Median-1) <= 0.2))
	} else {
		add("W9", "well-behaved clients' p99 moves by ≤ 20%", "no figure", "not measured")
	}
	if r := rs.find("W9", disturbed); r != nil && len(r.samples) > 0 {
		closed, clientSaw := 0, 0
		for _, s := range r.samples {
			if s.Extra["1008"] == 1 {
				closed++
			}
			if s.Extra["client close"] == 1008 {
				clientSaw++
			}
		}
		add("W9", "the slow consumer is closed with 1008", fmt.Sprintf("$disconnect reported 1008 in %d of %d rounds; the client read the 1008 close frame in %d", closed, len(r.samples), clientSaw), verdict(closed == len(r.samples)))
	} else {
		add("W9", "the slow consumer is closed with 1008", "no figure", "not measured")
	}
	return ts
}

func missingOf(rs *results, workload string, names ...string) string {
	var out []string
	for _, n := range names {
		r := rs.find(workload, n)
		switch {
		case r == nil:
			out = append(out, n+" (not run)")
		case r.status != "":
			out = append(out, n+" ("+r.status+")")
		case len(r.samples) == 0:
			out = append(out, n+" (failed: "+r.failure+")")
		}
	}
	if len(out) == 0 {
		return "a common round"
	}
	return strings.Join(out, ", ")
}

// writeTargets writes the targets as a Markdown table.
func writeTargets(w io.Writer, ts []target) error {
	var b strings.Builder
	b.WriteString("| workload | target | measured | verdict |\n|---|---|---|---|\n")
	for _, t := range ts {
		fmt.Fprintf(&b, "| %s | %s | %s | **%s** |\n", t.Workload, escapeCell(t.Target), escapeCell(t.Measured), t.Met)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func escapeCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// formatFigure writes v with thousands separators, and with one decimal
// below 100.
func formatFigure(v float64) string {
	if math.Abs(v) < 100 {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return groupDigits(v)
}

// groupDigits writes v rounded to an integer with comma separators.
func groupDigits(v float64) string {
	s := strconv.FormatInt(int64(math.Round(math.Abs(v))), 10)
	var b strings.Builder
	if v < 0 && s != "0" {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func formatRatio(q float64) string { return strconv.FormatFloat(q, 'f', 2, 64) }

func formatRatioSpread(q spread) string {
	return fmt.Sprintf("%s (%s–%s)", formatRatio(q.Median), formatRatio(q.Min), formatRatio(q.Max))
}

// formatDuration writes d in milliseconds with up to three decimals.
func formatDuration(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case math.Abs(ms) >= 100:
		return strconv.FormatFloat(ms, 'f', 0, 64) + " ms"
	case math.Abs(ms) >= 10:
		return strconv.FormatFloat(ms, 'f', 1, 64) + " ms"
	}
	return strconv.FormatFloat(ms, 'f', 2, 64) + " ms"
}
