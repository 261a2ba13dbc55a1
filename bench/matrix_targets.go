package bench

import (
	"fmt"
	"slices"
	"strings"
)

// The issue targets the standard matrix judges. Each names the cell it is
// judged in; planMatrix makes sure that cell runs (with the peer it
// compares against), and the report states for every Sluice target whether
// it was met, with the measured ratio.

// checkKind is how a target is judged.
type checkKind int

const (
	checkCPUvsPeer checkKind = iota // Sluice's server CPU per message ÷ the peer's ≤ Limit
	checkCPU                        // Sluice's server CPU per message ≤ Limit µs
	checkRate                       // Sluice's msgs/s ÷ the peer's ≥ Limit
	checkP99                        // Sluice's p99 ≤ Limit µs (open-loop cell)
)

// issueTarget is one performance target of an issue.
type issueTarget struct {
	Issue int
	Text  string
	// Scenario and Concurrency name the closed-loop cell; Open names the
	// scenario's open-loop cell at half the max rate instead.
	Scenario    string
	Concurrency int
	Open        bool
	Check       checkKind
	Peer        string // for checkCPUvsPeer and checkRate
	Limit       float64
}

// issueTargets are the targets of issue 3 (SQS) and issue 4 (Kinesis).
// CPU targets are judged at the concurrency of the scenario's throughput
// target, or at 16 (a loaded, not oversubscribed server) when it has none.
var issueTargets = []issueTarget{
	{Issue: 3, Text: "server CPU per SendMessage ≤ 1.5× the no-op server's per request", Scenario: "sqs-send", Concurrency: 16, Check: checkCPUvsPeer, Peer: "noop", Limit: 1.5},
	{Issue: 3, Text: "SendMessageBatch(10): server CPU ≤ 12 µs per message", Scenario: "sqs-send-batch", Concurrency: 64, Check: checkCPU, Limit: 12},
	{Issue: 3, Text: "ReceiveMessage(10) + DeleteMessageBatch: server CPU ≤ 25 µs per message", Scenario: "sqs-recv-delete", Concurrency: 16, Check: checkCPU, Limit: 25},
	{Issue: 3, Text: "SendMessageBatch(10), 64 clients: ≥ 70% of the ceiling's msg rate", Scenario: "sqs-send-batch", Concurrency: 64, Check: checkRate, Peer: "noop", Limit: 0.7},
	{Issue: 3, Text: "SendMessageBatch(10), 64 clients: ≥ 1.5× goaws's msg rate", Scenario: "sqs-send-batch", Concurrency: 64, Check: checkRate, Peer: "goaws", Limit: 1.5},
	{Issue: 3, Text: "Receive + Delete, 16 consumers: ≥ 60% of the ceiling's msg rate", Scenario: "sqs-recv-delete", Concurrency: 16, Check: checkRate, Peer: "noop", Limit: 0.6},
	{Issue: 3, Text: "send → receive p99 ≤ 25 ms at half the max throughput", Scenario: "sqs-e2e", Open: true, Check: checkP99, Limit: 25_000},
	{Issue: 4, Text: "PutRecords(500), 16 producers: ≥ 60% of the ceiling's record rate", Scenario: "kinesis-put-batch", Concurrency: 16, Check: checkRate, Peer: "noop", Limit: 0.6},
	{Issue: 4, Text: "PutRecords(500), 16 producers: ≥ 5× kinesalite's record rate", Scenario: "kinesis-put-batch", Concurrency: 16, Check: checkRate, Peer: "kinesalite", Limit: 5},
	{Issue: 4, Text: "PutRecords(500): server CPU ≤ 5 µs per record", Scenario: "kinesis-put-batch", Concurrency: 16, Check: checkCPU, Limit: 5},
	{Issue: 4, Text: "GetRecords from TRIM_HORIZON, 16 readers: ≥ 60% of the ceiling's record rate", Scenario: "kinesis-get", Concurrency: 16, Check: checkRate, Peer: "noop", Limit: 0.6},
	{Issue: 4, Text: "GetRecords: server CPU ≤ 3 µs per record", Scenario: "kinesis-get", Concurrency: 16, Check: checkCPU, Limit: 3},
	{Issue: 4, Text: "put → consumer p99 ≤ 25 ms at half the max put rate", Scenario: "kinesis-e2e", Open: true, Check: checkP99, Limit: 25_000},
	{Issue: 4, Text: "put → SubscribeToShard consumer p99 ≤ 10 ms at half the max put rate", Scenario: "kinesis-efo-e2e", Open: true, Check: checkP99, Limit: 10_000},
}

// queryOnlyPeers speak only the SQS query protocol: where a target compares
// Sluice with one, Sluice also runs over query, so the ratio can be read
// protocol for protocol.
var queryOnlyPeers = []string{"goaws"}

// peerCellOverrides replaces --peer-concurrency for one peer and scenario.
var peerCellOverrides = map[[2]string][]int{
	// moto receives and deletes ~16 msg/s, one request at a time: at 16
	// consumers its requests outlive the run and the queue's deletion
	// times out behind them.
	{"moto", "sqs-recv-delete"}: {1},
}

// matrixCell is one cell of the matrix: a scenario at one concurrency
// (closed loop) or at half each target's max rate (open loop), and the
// targets that run in it.
type matrixCell struct {
	Scenario    *Scenario
	Concurrency int
	Open        bool
	Targets     []*matrixTarget
}

// planMatrix lists the cells in run order: per scenario, the closed-loop
// cells by concurrency, then its open-loop cell (which needs their rates).
func planMatrix(o matrixOptions, targets []*matrixTarget) ([]matrixCell, error) {
	var cells []matrixCell
	for _, name := range o.Scenarios {
		scenario, ok := LookupScenario(name)
		if !ok {
			return nil, fmt.Errorf("%w: %q", ErrUnknownScenario, name)
		}
		concurrencies := slices.Clone(o.Concurrency)
		concurrencies = append(concurrencies, o.PeerConcurrency...)
		open := false
		for _, it := range issueTargets {
			if it.Scenario != name {
				continue
			}
			if it.Open {
				open = o.RateDuration > 0
			} else {
				concurrencies = append(concurrencies, it.Concurrency)
			}
		}
		for key, over := range peerCellOverrides {
			if key[1] == name {
				concurrencies = append(concurrencies, over...)
			}
		}
		slices.Sort(concurrencies)
		for _, conc := range slices.Compact(concurrencies) {
			cell := matrixCell{Scenario: scenario, Concurrency: conc}
			for _, t := range targets {
				if runsIn(o, t, scenario, conc) {
					cell.Targets = append(cell.Targets, t)
				}
			}
			if len(cell.Targets) > 0 {
				cells = append(cells, cell)
			}
		}
		if open {
			cell := matrixCell{Scenario: scenario, Concurrency: openLoopConcurrency, Open: true}
			for _, t := range targets {
				if _, serves := t.protocolFor(scenario.Service); serves && t.Kind == kindSluice && t.Protocol == "" {
					cell.Targets = append(cell.Targets, t)
				}
			}
			if len(cell.Targets) > 0 {
				cells = append(cells, cell)
			}
		}
	}
	return cells, nil
}

// runsIn reports whether target t runs scenario at concurrency conc
// (closed loop).
func runsIn(o matrixOptions, t *matrixTarget, scenario *Scenario, conc int) bool {
	if _, serves := t.protocolFor(scenario.Service); !serves || len(t.missing(scenario)) > 0 {
		return false
	}
	comparedHere := func(peer string) bool {
		for _, it := range issueTargets {
			if it.Scenario == scenario.Name && !it.Open && it.Concurrency == conc && it.Peer == peer {
				return true
			}
		}
		return false
	}
	switch t.Kind {
	case kindSluice:
		if t.Protocol == "query" {
			for _, peer := range queryOnlyPeers {
				if comparedHere(peer) {
					return true
				}
			}
			return false
		}
		return slices.Contains(o.Concurrency, conc)
	case kindCeiling:
		// The no-op server serves canned messages: it has no delivery
		// latency, and its e2e consumers spin on canned replies.
		return !scenario.EndToEnd && slices.Contains(o.Concurrency, conc)
	default:
		if over, ok := peerCellOverrides[[2]string{t.Name, scenario.Name}]; ok {
			return slices.Contains(over, conc)
		}
		return slices.Contains(o.PeerConcurrency, conc) || comparedHere(t.Name)
	}
}

// missing returns the operations scenario needs that t lacks.
func (t *matrixTarget) missing(scenario *Scenario) []string {
	var out []string
	for _, op := range scenario.Needs {
		if slices.Contains(t.Lacks, op) {
			out = append(out, op)
		}
	}
	return out
}

// unsupportedNotes names, per scenario, the targets serving its service
// that it did not run on because they lack an operation it needs.
func unsupportedNotes(o matrixOptions, targets []*matrixTarget) []string {
	var notes []string
	for _, name := range o.Scenarios {
		scenario, ok := LookupScenario(name)
		if !ok || len(scenario.Needs) == 0 {
			continue
		}
		var skipped []string
		for _, t := range targets {
			if _, serves := t.protocolFor(scenario.Service); !serves {
				continue
			}
			missing := t.missing(scenario)
			if len(missing) == 0 {
				continue
			}
			why := t.Name + " (no " + strings.Join(missing, ", ") + ")"
			if t.Kind == kindCeiling && scenario.EndToEnd {
				why = t.Name + " (no " + strings.Join(missing, ", ") + "; as the ceiling it serves canned records, so there is no delivery to time anyway)"
			}
			skipped = append(skipped, why)
		}
		if len(skipped) > 0 {
			notes = append(notes, fmt.Sprintf("%s was not run on %s: they do not implement it", name, strings.Join(skipped, ", ")))
		}
	}
	return notes
}

// verdict is the judgement of one target for one Sluice target.
type verdict struct {
	Measured bool
	Met      bool
	Text     string // the numbers behind it
}

func (v verdict) String() string {
	switch {
	case !v.Measured:
		return "not measured: " + v.Text
	case v.Met:
		return "**met**: " + v.Text
	}
	return "**not met**: " + v.Text
}

// findCell returns the summary of target in the target's cell.
func findCell(summaries []TargetSummary, it issueTarget, target string) *TargetSummary {
	for i := range summaries {
		s := &summaries[i]
		if s.Scenario != it.Scenario || s.Target != target {
			continue
		}
		if it.Open && s.Mode == "open" || !it.Open && s.Mode == "closed" && s.Concurrency == it.Concurrency {
			return s
		}
	}
	return nil
}

// judge decides target it for the Sluice target named sluice.
func judge(it issueTarget, summaries []TargetSummary, sluice string) verdict {
	s := findCell(summaries, it, sluice)
	if s == nil {
		return verdict{Text: "no " + cellName(it) + " result for " + sluice}
	}
	errors := ""
	if s.Errors > 0 {
		errors = fmt.Sprintf("; %d errors over %d rounds", s.Errors, s.Rounds)
	}
	var peer *TargetSummary
	if it.Check == checkCPUvsPeer || it.Check == checkRate {
		if peer = findCell(summaries, it, it.Peer); peer == nil {
			return verdict{Text: "no " + cellName(it) + " result for " + it.Peer}
		}
	}
	switch it.Check {
	case checkCPUvsPeer:
		if s.ServerCPUUs.Median <= 0 || peer.ServerCPUUs.Median <= 0 {
			return verdict{Text: "no server CPU samples"}
		}
		ratio := s.ServerCPUUs.Median / peer.ServerCPUUs.Median
		return verdict{Measured: true, Met: ratio <= it.Limit,
			Text: fmt.Sprintf("%.2f× (%.1f vs %.1f µs per message; limit %.2f×)%s", ratio, s.ServerCPUUs.Median, peer.ServerCPUUs.Median, it.Limit, errors)}
	case checkCPU:
		if s.ServerCPUUs.Median <= 0 {
			return verdict{Text: "no server CPU samples"}
		}
		v := s.ServerCPUUs.Median
		return verdict{Measured: true, Met: v <= it.Limit,
			Text: fmt.Sprintf("%.1f µs = %.2f× the %.0f µs limit (min–max %.1f–%.1f)%s", v, v/it.Limit, it.Limit, s.ServerCPUUs.Min, s.ServerCPUUs.Max, errors)}
	case checkRate:
		if peer.MsgsPerSec.Median <= 0 {
			return verdict{Text: it.Peer + " moved nothing"}
		}
		ratio := s.MsgsPerSec.Median / peer.MsgsPerSec.Median
		return verdict{Measured: true, Met: ratio >= it.Limit,
			Text: fmt.Sprintf("%.2f× (%s vs %s msg/s; needs %.2f×)%s", ratio, formatCount(s.MsgsPerSec.Median), formatCount(peer.MsgsPerSec.Median), it.Limit, errors)}
	default: // checkP99
		if s.P99Us.Median <= 0 {
			return verdict{Text: "no latency samples"}
		}
		v := s.P99Us.Median
		return verdict{Measured: true, Met: v <= it.Limit,
			Text: fmt.Sprintf("p99 %s = %.2f× the %s limit at %s msg/s offered (min–max %s–%s)%s",
				formatMicros(v), v/it.Limit, formatMicros(it.Limit), formatCount(s.RateTarget), formatMicros(s.P99Us.Min), formatMicros(s.P99Us.Max), errors)}
	}
}

func cellName(it issueTarget) string {
	if it.Open {
		return it.Scenario + " half-max-rate"
	}
	return fmt.Sprintf("%s c=%d", it.Scenario, it.Concurrency)
}

// writeIssueTargets renders the verdicts: one row per target, one column
// per Sluice target (JSON protocol); where the peer speaks only query, the
// query-protocol verdict follows.
func writeIssueTargets(b *strings.Builder, summaries []TargetSummary, sluices []string) {
	if len(sluices) == 0 {
		return
	}
	fmt.Fprintf(b, "\n### Issue targets\n\n")
	fmt.Fprintf(b, "Judged on the medians of the tables below. \"Half the max\" is half the target's own highest closed-loop median rate of the same scenario in this matrix, offered open loop (latency counted from the intended send time). Server CPU is the server process's user+system time over the measured interval (fsync's kernel time included) divided by messages moved.\n\n")
	fmt.Fprintf(b, "| issue | target | cell |")
	for _, name := range sluices {
		fmt.Fprintf(b, " %s |", name)
	}
	fmt.Fprintf(b, "\n|---:|---|---|%s\n", strings.Repeat("---|", len(sluices)))
	met := make([]int, len(sluices))
	for _, it := range issueTargets {
		fmt.Fprintf(b, "| %d | %s | %s |", it.Issue, it.Text, cellName(it))
		for i, name := range sluices {
			v := judge(it, summaries, name)
			if v.Met {
				met[i]++
			}
			text := v.String()
			if it.Check == checkRate && slices.Contains(queryOnlyPeers, it.Peer) {
				q := judge(it, summaries, name+"-query")
				text += "; Sluice over query too: " + q.String()
			}
			fmt.Fprintf(b, " %s |", text)
		}
		fmt.Fprintf(b, "\n")
	}
	parts := make([]string, len(sluices))
	for i, name := range sluices {
		parts[i] = fmt.Sprintf("%s %d of %d", name, met[i], len(issueTargets))
	}
	fmt.Fprintf(b, "\nMet: %s.\n", strings.Join(parts, "; "))
}
