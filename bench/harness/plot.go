package main

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// curve is one contender's latency distribution to plot.
type curve struct {
	name string
	hist *hdrhistogram.Histogram // microseconds
}

// plotPercentiles are the x positions of a latency plot: percentiles
// spaced by their "nines" (x = log10(1 / (1 - p))).
var plotPercentiles = func() []float64 {
	var ps []float64
	for x := 0.0; x <= 4.0001; x += 0.05 {
		ps = append(ps, 100*(1-math.Pow(10, -x)))
	}
	return ps
}()

// plotColors are the curves' colours, in order.
var plotColors = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"}

// writeLatencySVG draws the curves as an HDR percentile plot: latency in
// milliseconds against the percentile, with the percentile axis stretched
// by nines so that the tail is visible. It needs no plotting library.
func writeLatencySVG(w io.Writer, title string, curves []curve) error {
	const (
		width, height          = 760, 420
		left, right, top, bott = 70, 200, 40, 50
		plotW, plotH           = width - left - right, height - top - bott
		maxNines               = 4.0
	)
	maxMS := 0.0
	for _, c := range curves {
		maxMS = max(maxMS, float64(c.hist.ValueAtQuantile(99.99))/1000)
	}
	yMax := niceCeiling(maxMS)
	x := func(nines float64) float64 { return left + nines/maxNines*plotW }
	y := func(ms float64) float64 { return top + plotH - ms/yMax*plotH }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", left, html.EscapeString(title))
	// Grid and axes.
	for i, label := range []string{"0%", "90%", "99%", "99.9%", "99.99%"} {
		gx := x(float64(i))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>`+"\n", gx, top, gx, top+plotH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", gx, top+plotH+18, label)
	}
	for i := 0; i <= 5; i++ {
		ms := yMax * float64(i) / 5
		gy := y(ms)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", left, gy, left+plotW, gy)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, gy+4, trimFloat(ms))
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>`+"\n", left, top, plotW, plotH)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">percentile</text>`+"\n", left+plotW/2, height-10)
	fmt.Fprintf(&b, `<text x="16" y="%d" text-anchor="middle" transform="rotate(-90 16 %d)">latency (ms)</text>`+"\n", top+plotH/2, top+plotH/2)
	// Curves and legend.
	for i, c := range curves {
		color := plotColors[i%len(plotColors)]
		var pts []string
		for _, p := range plotPercentiles {
			nines := -math.Log10(1 - p/100)
			ms := float64(c.hist.ValueAtQuantile(p)) / 1000
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(nines), y(min(ms, yMax))))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", color, strings.Join(pts, " "))
		ly := top + 10 + 20*i
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/>`+"\n", left+plotW+14, ly, left+plotW+34, ly, color)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", left+plotW+40, ly+4, html.EscapeString(c.name))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// niceCeiling returns the smallest of 1, 2, 2.5 or 5 times a power of ten
// that is at least v (1 for v ≤ 0).
func niceCeiling(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.3f", v)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
