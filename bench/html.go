package bench

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strings"
	"time"
)

// The HTML report is one self-contained page: inline CSS and SVG, no
// scripts, no external assets, so it can be attached to an issue or opened
// from disk.

const (
	chartWidth   = 640
	chartHeight  = 260
	chartLeft    = 64
	chartRight   = 16
	chartTop     = 16
	chartBottom  = 40
	chartPlotW   = chartWidth - chartLeft - chartRight
	chartPlotH   = chartHeight - chartTop - chartBottom
	tailNinesMax = 5 // the percentile axis runs to 99.999%
)

var chartColors = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"}

type htmlSeries struct {
	Label string
	Color string
}

type htmlGroup struct {
	Title      string
	Series     []htmlSeries
	Throughput template.HTML
	Latency    template.HTML
}

type htmlPage struct {
	Title     string
	Generated string
	Results   []*Result
	Groups    []htmlGroup
}

var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"micros": func(v int64) string { return formatMicros(float64(v)) },
	"count":  formatCount,
	"mb":     func(v float64) string { return fmt.Sprintf("%.2f", v) },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;margin:12px 0}th,td{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}
th:first-child,td:first-child,th:nth-child(2),td:nth-child(2){text-align:left}
svg{background:#fafafa;border:1px solid #ddd;margin:4px 12px 4px 0}
.legend span{display:inline-block;margin-right:14px}.legend i{display:inline-block;width:12px;height:3px;margin-right:4px;vertical-align:middle}
h2{margin-top:28px;font-size:17px}
</style></head><body>
<h1>{{.Title}}</h1>
<p>Generated {{.Generated}} by <code>sluice bench</code>.</p>
<table><tr><th>scenario</th><th>target</th><th>conc</th><th>ops/s</th><th>msgs/s</th><th>MB/s</th><th>latency</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>errors</th></tr>
{{range .Results}}<tr><td>{{.Scenario}}</td><td>{{.Target}}</td><td>{{.Concurrency}}</td><td>{{count .OpsPerSec}}</td><td>{{count .MsgsPerSec}}</td><td>{{mb .MBPerSec}}</td><td>{{.LatencySeries}}</td><td>{{micros .Latency.P50Us}}</td><td>{{micros .Latency.P90Us}}</td><td>{{micros .Latency.P99Us}}</td><td>{{micros .Latency.P999Us}}</td><td>{{micros .Latency.MaxUs}}</td><td>{{.Errors}}</td></tr>
{{end}}</table>
{{range .Groups}}<h2>{{.Title}}</h2>
<div class="legend">{{range .Series}}<span><i style="background:{{.Color}}"></i>{{.Label}}</span>{{end}}</div>
{{.Throughput}}{{.Latency}}
{{end}}</body></html>
`))

// WriteHTML writes a self-contained report page: a summary table, and for
// each (scenario, concurrency) a throughput-over-time chart and a latency
// percentile-distribution chart comparing the results' targets.
func WriteHTML(w io.Writer, title string, results []*Result) error {
	page := htmlPage{Title: title, Generated: time.Now().UTC().Format(time.RFC3339), Results: results}
	type key struct {
		scenario, mode string
		concurrency    int
	}
	var order []key
	byKey := map[key][]*Result{}
	for _, r := range results {
		k := key{r.Scenario, r.Mode, r.Concurrency}
		if _, ok := byKey[k]; !ok {
			order = append(order, k)
		}
		byKey[k] = append(byKey[k], r)
	}
	for _, k := range order {
		group := byKey[k]
		title := fmt.Sprintf("%s, concurrency %d", k.scenario, k.concurrency)
		if k.mode == "open" {
			title = fmt.Sprintf("%s, open loop (at most %d outstanding requests)", k.scenario, k.concurrency)
		}
		g := htmlGroup{Title: title}
		for i, r := range group {
			label := r.Target
			if r.Mode == "open" {
				label += " at " + formatCount(r.RateTarget) + "/s"
			}
			if r.Round > 0 {
				label += fmt.Sprintf(" (round %d)", r.Round)
			}
			g.Series = append(g.Series, htmlSeries{Label: label, Color: chartColors[i%len(chartColors)]})
		}
		g.Throughput = throughputChart(group)
		g.Latency = latencyChart(group)
		page.Groups = append(page.Groups, g)
	}
	if err := htmlTemplate.Execute(w, page); err != nil {
		return fmt.Errorf("bench: write HTML: %w", err)
	}
	return nil
}

// svgChart accumulates one chart's SVG.
type svgChart struct {
	b strings.Builder
}

func newChart(title string) *svgChart {
	c := &svgChart{}
	fmt.Fprintf(&c.b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-size="11" font-family="sans-serif">`,
		chartWidth, chartHeight, chartWidth, chartHeight)
	fmt.Fprintf(&c.b, `<text x="%d" y="12" font-weight="bold">%s</text>`, chartLeft, template.HTMLEscapeString(title))
	fmt.Fprintf(&c.b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>`, chartLeft, chartTop, chartPlotW, chartPlotH)
	return c
}

func (c *svgChart) xTick(x float64, label string) {
	px := chartLeft + x*chartPlotW
	fmt.Fprintf(&c.b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/><text x="%.1f" y="%d" text-anchor="middle">%s</text>`,
		px, chartTop, px, chartTop+chartPlotH, px, chartTop+chartPlotH+14, template.HTMLEscapeString(label))
}

func (c *svgChart) yTick(y float64, label string) {
	py := chartTop + (1-y)*chartPlotH
	fmt.Fprintf(&c.b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`,
		chartLeft, py, chartLeft+chartPlotW, py, chartLeft-4, py+4, template.HTMLEscapeString(label))
}

func (c *svgChart) axisLabel(text string) {
	fmt.Fprintf(&c.b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`, chartLeft+chartPlotW/2, chartHeight-4, template.HTMLEscapeString(text))
}

// line draws points given in plot coordinates (0..1 on both axes).
func (c *svgChart) line(points [][2]float64, color string) {
	if len(points) == 0 {
		return
	}
	c.b.WriteString(`<polyline fill="none" stroke-width="1.5" stroke="` + color + `" points="`)
	for _, p := range points {
		fmt.Fprintf(&c.b, "%.1f,%.1f ", chartLeft+clamp01(p[0])*chartPlotW, chartTop+(1-clamp01(p[1]))*chartPlotH)
	}
	c.b.WriteString(`"/>`)
}

func (c *svgChart) html() template.HTML {
	c.b.WriteString(`</svg>`)
	return template.HTML(c.b.String()) // built from numbers and escaped labels only
}

func clamp01(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return math.Min(math.Max(v, 0), 1)
}

func sampleRate(s Sample) float64 {
	if s.IntervalSec <= 0 {
		return 0
	}
	return float64(s.Messages+s.Received) / s.IntervalSec
}

func throughputChart(results []*Result) template.HTML {
	c := newChart("messages/s over time")
	maxT, maxRate := 1.0, 1.0
	for _, r := range results {
		for _, s := range r.Timeline {
			maxT = math.Max(maxT, s.ElapsedSec)
			maxRate = math.Max(maxRate, sampleRate(s))
		}
	}
	maxRate = niceCeil(maxRate)
	for i := 0; i <= 4; i++ {
		c.yTick(float64(i)/4, formatCount(maxRate*float64(i)/4))
		c.xTick(float64(i)/4, fmt.Sprintf("%.0fs", maxT*float64(i)/4))
	}
	c.axisLabel("elapsed (measured interval)")
	for i, r := range results {
		var points [][2]float64
		for _, s := range r.Timeline {
			points = append(points, [2]float64{s.ElapsedSec / maxT, sampleRate(s) / maxRate})
		}
		c.line(points, chartColors[i%len(chartColors)])
	}
	return c.html()
}

// latencyChart plots latency (log scale) against percentile on the usual
// HDR axis, where each decade of "nines" gets equal width.
func latencyChart(results []*Result) template.HTML {
	c := newChart("latency by percentile")
	lo, hi := math.Inf(1), 1.0
	for _, r := range results {
		for _, p := range r.Latency.Buckets {
			if p.ValueUs > 0 {
				lo = math.Min(lo, float64(p.ValueUs))
				hi = math.Max(hi, float64(p.ValueUs))
			}
		}
	}
	if math.IsInf(lo, 1) {
		lo = 1
	}
	lo = math.Pow(10, math.Floor(math.Log10(lo)))
	hi = math.Pow(10, math.Ceil(math.Log10(math.Max(hi, lo*10))))
	decades := math.Log10(hi / lo)
	for d := 0.0; d <= decades; d++ {
		c.yTick(d/decades, formatMicros(lo*math.Pow(10, d)))
	}
	for _, tick := range []struct {
		nines float64
		label string
	}{{0, "0%"}, {1, "90%"}, {2, "99%"}, {3, "99.9%"}, {4, "99.99%"}, {5, "99.999%"}} {
		c.xTick(tick.nines/tailNinesMax, tick.label)
	}
	c.axisLabel("percentile")
	ys := func(v int64) float64 { return math.Log10(math.Max(float64(v), lo)/lo) / decades }
	for i, r := range results {
		var points [][2]float64
		buckets := append([]PercentilePoint(nil), r.Latency.Buckets...)
		sort.Slice(buckets, func(a, b int) bool { return buckets[a].Percentile < buckets[b].Percentile })
		for _, p := range buckets {
			if p.Percentile >= 100 {
				continue
			}
			nines := math.Min(-math.Log10(1-p.Percentile/100), tailNinesMax)
			points = append(points, [2]float64{nines / tailNinesMax, ys(p.ValueUs)})
		}
		c.line(points, chartColors[i%len(chartColors)])
	}
	return c.html()
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	exp := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*exp {
			return m * exp
		}
	}
	return 10 * exp
}
