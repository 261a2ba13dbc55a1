package bench

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Target is one endpoint of a comparison.
type Target struct {
	Name      string // label in reports
	Endpoint  string // base URL; empty = AWS
	ServerPID int    // sampled for CPU when > 0
}

// ParseTargets parses a comma-separated list of [name=]URL[@PID].
func ParseTargets(list string) ([]Target, error) {
	var targets []Target
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		var t Target
		if name, rest, ok := strings.Cut(item, "="); ok && !strings.Contains(name, "/") {
			t.Name, item = name, rest
		}
		if at := strings.LastIndexByte(item, '@'); at > 0 {
			if pid, err := strconv.Atoi(item[at+1:]); err == nil && pid > 0 {
				t.ServerPID, item = pid, item[:at]
			}
		}
		u, err := url.Parse(item)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%w: target %q is not an http(s) URL", ErrBadConfig, item)
		}
		t.Endpoint = item
		if t.Name == "" {
			t.Name = u.Host
		}
		targets = append(targets, t)
	}
	if len(targets) == 0 {
		return nil, fmt.Errorf("%w: no targets", ErrBadConfig)
	}
	return targets, nil
}

// Compare runs scenario against every target, interleaved A B A B … for
// rounds rounds, so drift in the machine (thermal, page cache, noisy
// neighbours) affects all targets alike. It returns every run's result.
func Compare(ctx context.Context, scenario string, cfg Config, targets []Target, rounds int) ([]*Result, error) {
	var results []*Result
	for round := 1; round <= max(rounds, 1); round++ {
		for _, t := range targets {
			c := cfg
			c.Endpoint, c.Target, c.ServerPID = t.Endpoint, t.Name, t.ServerPID
			res, err := RunScenario(ctx, scenario, c)
			if err != nil {
				return results, fmt.Errorf("bench: %s round %d: %w", t.Name, round, err)
			}
			res.Round = round
			results = append(results, res)
		}
	}
	return results, nil
}

// Spread is the median and range of one metric over rounds.
type Spread struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

func spreadOf(values []float64) Spread {
	if len(values) == 0 {
		return Spread{}
	}
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	n := len(sorted)
	median := sorted[n/2]
	if n%2 == 0 {
		median = (sorted[n/2-1] + sorted[n/2]) / 2
	}
	return Spread{Median: median, Min: sorted[0], Max: sorted[n-1]}
}

// Summary of one target over all rounds.
type TargetSummary struct {
	Scenario    string `json:"scenario"`
	Target      string `json:"target"`
	Concurrency int    `json:"concurrency"`
	// Mode is "closed" or "open" (a fixed arrival rate, RateTarget
	// operations per second: the median over rounds).
	Mode        string  `json:"mode"`
	RateTarget  float64 `json:"rate_target,omitempty"`
	Rounds      int     `json:"rounds"`
	MsgsPerSec  Spread  `json:"msgs_per_sec"`
	OpsPerSec   Spread  `json:"ops_per_sec"`
	P50Us       Spread  `json:"p50_us"`
	P99Us       Spread  `json:"p99_us"`
	P999Us      Spread  `json:"p999_us"`
	ServerCPUUs Spread  `json:"server_cpu_us_per_msg"`
	Errors      int64   `json:"errors"`
	// Median is the round whose msgs/s is closest to the median (for
	// charts).
	Median *Result `json:"-"`
}

// Summarize groups results by (scenario, concurrency, mode, target), in
// first-seen order.
func Summarize(results []*Result) []TargetSummary {
	type key struct {
		scenario, target, mode string
		concurrency            int
	}
	var order []key
	groups := map[key][]*Result{}
	for _, r := range results {
		k := key{r.Scenario, r.Target, r.Mode, r.Concurrency}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	var out []TargetSummary
	for _, k := range order {
		rs := groups[k]
		var msgs, ops, p50, p99, p999, cpu, rates []float64
		s := TargetSummary{Scenario: k.scenario, Target: k.target, Concurrency: k.concurrency, Mode: k.mode, Rounds: len(rs)}
		for _, r := range rs {
			rates = append(rates, r.RateTarget)
			msgs = append(msgs, throughputOf(r))
			ops = append(ops, r.OpsPerSec)
			p50 = append(p50, float64(r.Latency.P50Us))
			p99 = append(p99, float64(r.Latency.P99Us))
			p999 = append(p999, float64(r.Latency.P999Us))
			if r.ServerCPUUsPerMsg > 0 {
				cpu = append(cpu, r.ServerCPUUsPerMsg)
			}
			s.Errors += r.Errors
		}
		s.MsgsPerSec, s.OpsPerSec = spreadOf(msgs), spreadOf(ops)
		s.P50Us, s.P99Us, s.P999Us, s.ServerCPUUs = spreadOf(p50), spreadOf(p99), spreadOf(p999), spreadOf(cpu)
		s.RateTarget = spreadOf(rates).Median
		best := rs[0]
		for _, r := range rs {
			if absDiff(throughputOf(r), s.MsgsPerSec.Median) < absDiff(throughputOf(best), s.MsgsPerSec.Median) {
				best = r
			}
		}
		s.Median = best
		out = append(out, s)
	}
	return out
}

// throughputOf is the message rate a scenario is judged by: messages moved
// by its operation, or, for consumer-only counts, deliveries.
func throughputOf(r *Result) float64 {
	if r.Messages == 0 {
		return r.ReceivedPerSec
	}
	return r.MsgsPerSec
}

func absDiff(a, b float64) float64 {
	if a > b {
		return a - b
	}
	return b - a
}

// WriteCompare prints medians (with min–max) per target and the ratios of
// each target to the first one.
func WriteCompare(w io.Writer, summaries []TargetSummary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tconc\ttarget\trounds\tmsgs/s (min–max)\tp50\tp99 (min–max)\tp99.9\terrors\tsrv µs/msg\tmsgs/s ratio\tp99 ratio\t")
	var base *TargetSummary
	for i := range summaries {
		s := &summaries[i]
		if base == nil || base.Scenario != s.Scenario || base.Concurrency != s.Concurrency || base.Mode != s.Mode {
			base = s
		}
		cpu := "-"
		if s.ServerCPUUs.Median > 0 {
			cpu = fmt.Sprintf("%.1f", s.ServerCPUUs.Median)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s (%s–%s)\t%s\t%s (%s–%s)\t%s\t%d\t%s\t%s\t%s\t\n",
			s.Scenario, s.Concurrency, s.Target, s.Rounds,
			formatCount(s.MsgsPerSec.Median), formatCount(s.MsgsPerSec.Min), formatCount(s.MsgsPerSec.Max),
			formatMicros(s.P50Us.Median), formatMicros(s.P99Us.Median), formatMicros(s.P99Us.Min), formatMicros(s.P99Us.Max),
			formatMicros(s.P999Us.Median), s.Errors, cpu,
			formatRatio(s.MsgsPerSec.Median, base.MsgsPerSec.Median), formatRatio(s.P99Us.Median, base.P99Us.Median))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("bench: write comparison: %w", err)
	}
	return nil
}
