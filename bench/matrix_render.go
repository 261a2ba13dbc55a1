package bench

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// renderMatrix renders the generated section of RESULTS.md as Markdown.
func renderMatrix(o matrixOptions, m Machine, targets []*matrixTarget, summaries []TargetSummary, notes []string, took time.Duration, load loadStats) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Standard matrix (SQS and Kinesis)\n\n")
	fmt.Fprintf(&b, "- Machine: %d cores, %s, %s; data disk %s\n", m.Cores, m.CPUModel, m.Kernel, m.Disk)
	fmt.Fprintf(&b, "- Commit: %s; generated %s in %s\n", m.Commit, time.Now().UTC().Format("2006-01-02 15:04 MST"), took.Round(time.Second))
	fmt.Fprintf(&b, "- Load average (1 min): %.1f at the start, %.1f at the end, %.1f at most between runs. Client and servers share the machine's cores, and other work on the machine shows up in every number.\n", load.start, load.end, load.max)
	fmt.Fprintf(&b, "- Command: `%s`\n", strings.TrimSpace(o.Command))
	fmt.Fprintf(&b, "- Cells: Sluice and the no-op ceiling at concurrency %s, %d interleaved rounds of %s after %s warmup; other peers at %s (plus the cells an issue target compares them in), %d rounds (%s: 1); open-loop runs at half the max rate: %d rounds of %s, ≤ %d outstanding requests, %d SQS consumers. %s-byte messages; batches: %s. Tables show the median over rounds with min–max.\n",
		joinInts(o.Concurrency), o.Rounds, o.Duration, o.Warmup, joinInts(o.PeerConcurrency), o.PeerRounds, strings.Join(o.SlowPeers, ", "),
		o.Rounds, o.RateDuration, openLoopConcurrency, openLoopConsumers, o.Size, formatBatches(o.Batches))
	fmt.Fprintf(&b, "- Targets:")
	for _, t := range targets {
		fmt.Fprintf(&b, " %s", t.Name)
	}
	fmt.Fprintf(&b, ". `noop` is the ceiling (HTTP + SDK, no work); it serves canned messages, so it has no e2e rows. goaws speaks only the SQS query protocol, so its rows use `--protocol query`, as do the `sluice-*-query` rows beside it; all other SQS rows use JSON.\n")
	fmt.Fprintf(&b, "- msgs/s counts messages moved by the scenario's requests (deliveries for consumer-side counts); latency is per request, or end-to-end delivery for the e2e scenarios. Requests still in flight 2 s after a run count as Abandoned errors. Server µs/msg is the server process's CPU time per message moved. HTML reports: `bench/reports/<scenario>.html`.\n")
	for _, n := range notes {
		fmt.Fprintf(&b, "- Note: %s\n", n)
	}
	var sluices []string
	for _, t := range targets {
		if t.Kind == kindSluice && t.Protocol == "" {
			sluices = append(sluices, t.Name)
		}
	}
	writeIssueTargets(&b, summaries, sluices)
	byScenario := map[string][]TargetSummary{}
	for _, s := range summaries {
		byScenario[s.Scenario] = append(byScenario[s.Scenario], s)
	}
	for _, name := range o.Scenarios {
		rows := byScenario[name]
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n### %s\n\n", name)
		fmt.Fprintf(&b, "| conc | target | msgs/s (min–max) | p50 | p99 (min–max) | p99.9 | errors | server µs/msg | × ceiling |\n")
		fmt.Fprintf(&b, "|---:|---|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, s := range rows {
			ratio := "-"
			if ceiling := findSummary(rows, s.Concurrency, s.Mode, "noop"); ceiling != nil {
				ratio = formatRatio(s.MsgsPerSec.Median, ceiling.MsgsPerSec.Median)
			}
			cpu := "-"
			if s.ServerCPUUs.Median > 0 {
				cpu = fmt.Sprintf("%.1f", s.ServerCPUUs.Median)
			}
			fmt.Fprintf(&b, "| %s | %s | %s (%s–%s) | %s | %s (%s–%s) | %s | %d | %s | %s |\n",
				concLabel(s), s.Target, formatCount(s.MsgsPerSec.Median), formatCount(s.MsgsPerSec.Min), formatCount(s.MsgsPerSec.Max),
				formatMicros(s.P50Us.Median), formatMicros(s.P99Us.Median), formatMicros(s.P99Us.Min), formatMicros(s.P99Us.Max),
				formatMicros(s.P999Us.Median), s.Errors, cpu, ratio)
		}
		writeSluiceRatios(&b, rows)
	}
	return b.String()
}

// concLabel is the first column: the concurrency, or the offered rate of
// an open-loop row.
func concLabel(s TargetSummary) string {
	if s.Mode == "open" {
		return fmt.Sprintf("open %s/s", formatCount(s.RateTarget))
	}
	return fmt.Sprintf("%d", s.Concurrency)
}

func joinInts(values []int) string {
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = fmt.Sprintf("%d", v)
	}
	return strings.Join(parts, ",")
}

func formatBatches(batches map[string]int) string {
	var parts []string
	for _, s := range Scenarios() {
		if n, ok := batches[s.Name]; ok {
			parts = append(parts, fmt.Sprintf("%s %d", s.Name, n))
		}
	}
	if len(parts) == 0 {
		return "scenario defaults"
	}
	return strings.Join(parts, ", ") + ", others the scenario default (SQS 10)"
}

func findSummary(rows []TargetSummary, concurrency int, mode, target string) *TargetSummary {
	for i := range rows {
		if rows[i].Concurrency == concurrency && rows[i].Mode == mode && rows[i].Target == target {
			return &rows[i]
		}
	}
	return nil
}

// writeSluiceRatios adds, per closed-loop Sluice row, its throughput and
// p99 as a multiple of each other target's at the same concurrency.
func writeSluiceRatios(b *strings.Builder, rows []TargetSummary) {
	var others []string
	seen := map[string]bool{}
	for _, s := range rows {
		if !seen[s.Target] {
			seen[s.Target] = true
			if !strings.HasPrefix(s.Target, "sluice") {
				others = append(others, s.Target)
			}
		}
	}
	if len(others) == 0 {
		return
	}
	header := false
	for _, s := range rows {
		if !strings.HasPrefix(s.Target, "sluice") || s.Mode != "closed" {
			continue
		}
		var peers []*TargetSummary
		for _, o := range others {
			peers = append(peers, findSummary(rows, s.Concurrency, "closed", o))
		}
		if !slices.ContainsFunc(peers, func(p *TargetSummary) bool { return p != nil }) {
			continue
		}
		if !header {
			fmt.Fprintf(b, "\nSluice ÷ peer at the same concurrency (msgs/s ratio, p99 ratio):\n\n| conc | target |")
			for _, o := range others {
				fmt.Fprintf(b, " ÷ %s |", o)
			}
			fmt.Fprintf(b, "\n|---:|---|%s\n", strings.Repeat("---:|", len(others)))
			header = true
		}
		fmt.Fprintf(b, "| %d | %s |", s.Concurrency, s.Target)
		for _, peer := range peers {
			if peer == nil {
				fmt.Fprintf(b, " - |")
				continue
			}
			fmt.Fprintf(b, " %s, p99 %s |", formatRatio(s.MsgsPerSec.Median, peer.MsgsPerSec.Median), formatRatio(s.P99Us.Median, peer.P99Us.Median))
		}
		fmt.Fprintf(b, "\n")
	}
}
