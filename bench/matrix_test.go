package bench

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/bench/peers"
)

// fakeMatrixTargets are the standard matrix's targets without processes.
func fakeMatrixTargets() []*matrixTarget {
	serves := func(services ...string) func(string) (string, bool) {
		return func(service string) (string, bool) {
			if !slices.Contains(services, service) {
				return "", false
			}
			return "json", true
		}
	}
	goawsServes := func(service string) (string, bool) { return "query", service == "sqs" }
	lacks := func(name string) []string {
		p, _ := peers.Lookup(name)
		return p.Lacks
	}
	return []*matrixTarget{
		{Name: "sluice-fsync-always", Kind: kindSluice, Rounds: 3, Serves: serves("sqs", "kinesis")},
		{Name: "sluice-fsync-always-query", Kind: kindSluice, Protocol: "query", Rounds: 3, Serves: serves("sqs", "kinesis")},
		{Name: "noop", Kind: kindCeiling, Rounds: 3, Serves: serves("sqs", "kinesis"), Lacks: lacks("noop")},
		{Name: "moto", Kind: kindPeer, Rounds: 1, Serves: serves("sqs", "kinesis"), Lacks: lacks("moto")},
		{Name: "goaws", Kind: kindPeer, Rounds: 2, Serves: goawsServes, Lacks: lacks("goaws")},
		{Name: "kinesalite", Kind: kindPeer, Rounds: 2, Serves: serves("kinesis"), Lacks: lacks("kinesalite")},
	}
}

func defaultMatrixOptions() matrixOptions {
	o := matrixOptions{Concurrency: []int{1, 16, 64}, PeerConcurrency: []int{16}, RateDuration: 2 * time.Second}
	for _, s := range Scenarios() {
		o.Scenarios = append(o.Scenarios, s.Name)
	}
	return o
}

// TestPlanMatrix checks the standard matrix's cells: every issue target's
// cell runs Sluice and the peer it is compared with; the ceiling skips the
// e2e scenarios; peers run only at their concurrencies (goaws also at the
// 64-client target, moto's receive+delete only at 1) and not at all in a
// scenario needing an operation they lack; the query variant of
// Sluice runs only beside a query-only peer's target; open-loop cells
// exist for the e2e targets and hold only Sluice over JSON.
func TestPlanMatrix(t *testing.T) {
	o := defaultMatrixOptions()
	cells, err := planMatrix(o, fakeMatrixTargets())
	if err != nil {
		t.Fatal(err)
	}
	in := func(scenario string, conc int, open bool) []string {
		for _, c := range cells {
			if c.Scenario.Name == scenario && c.Open == open && (open || c.Concurrency == conc) {
				var names []string
				for _, t := range c.Targets {
					names = append(names, t.Name)
				}
				return names
			}
		}
		return nil
	}
	for _, it := range issueTargets {
		names := in(it.Scenario, it.Concurrency, it.Open)
		if !slices.Contains(names, "sluice-fsync-always") || (it.Peer != "" && !slices.Contains(names, it.Peer)) {
			t.Errorf("%s: cell %s runs %v", it.Text, cellName(it), names)
		}
	}
	tests := []struct {
		scenario string
		conc     int
		open     bool
		want     []string
	}{
		{"sqs-send", 1, false, []string{"sluice-fsync-always", "noop"}},
		{"sqs-send", 16, false, []string{"sluice-fsync-always", "noop", "moto", "goaws"}},
		{"sqs-send-batch", 64, false, []string{"sluice-fsync-always", "sluice-fsync-always-query", "noop", "goaws"}},
		{"sqs-recv-delete", 1, false, []string{"sluice-fsync-always", "noop", "moto"}},
		{"sqs-recv-delete", 16, false, []string{"sluice-fsync-always", "noop", "goaws"}},
		{"sqs-e2e", 64, false, []string{"sluice-fsync-always"}},
		{"sqs-e2e", 0, true, []string{"sluice-fsync-always"}},
		{"sqs-fifo", 16, false, []string{"sluice-fsync-always", "moto", "goaws"}},
		{"kinesis-put-batch", 16, false, []string{"sluice-fsync-always", "noop", "moto", "kinesalite"}},
		{"kinesis-e2e", 0, true, []string{"sluice-fsync-always"}},
		// No peer implements SubscribeToShard: Sluice alone, closed and open.
		{"kinesis-efo-e2e", 1, false, []string{"sluice-fsync-always"}},
		{"kinesis-efo-e2e", 16, false, []string{"sluice-fsync-always"}},
		{"kinesis-efo-e2e", 0, true, []string{"sluice-fsync-always"}},
		{"kinesis-get", 64, false, []string{"sluice-fsync-always", "noop"}},
	}
	for _, tt := range tests {
		if got := in(tt.scenario, tt.conc, tt.open); !slices.Equal(got, tt.want) {
			t.Errorf("%s c=%d open=%v runs %v, want %v", tt.scenario, tt.conc, tt.open, got, tt.want)
		}
	}
	if got := in("sqs-fifo", 0, true); got != nil {
		t.Errorf("sqs-fifo has an open-loop cell: %v", got)
	}
	o.RateDuration = 0
	cells, err = planMatrix(o, fakeMatrixTargets())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cells {
		if c.Open {
			t.Errorf("--rate-duration 0 still plans an open-loop %s cell", c.Scenario.Name)
		}
	}
	runs := 0
	for _, c := range cells {
		for _, t := range c.Targets {
			runs += t.Rounds
		}
	}
	t.Logf("%d cells, %d runs with one Sluice target", len(cells), runs)
}

// TestJudge checks the verdicts on each kind of target: ratios against the
// peer's cell, absolute limits, the open-loop cell, and missing data.
func TestJudge(t *testing.T) {
	summaries := []TargetSummary{
		{Scenario: "sqs-send", Target: "s", Concurrency: 16, Mode: "closed", ServerCPUUs: Spread{Median: 60}},
		{Scenario: "sqs-send", Target: "noop", Concurrency: 16, Mode: "closed", ServerCPUUs: Spread{Median: 50}},
		{Scenario: "sqs-send-batch", Target: "s", Concurrency: 64, Mode: "closed", ServerCPUUs: Spread{Median: 13}, MsgsPerSec: Spread{Median: 9000}},
		{Scenario: "sqs-send-batch", Target: "noop", Concurrency: 64, Mode: "closed", MsgsPerSec: Spread{Median: 10000}},
		{Scenario: "sqs-send-batch", Target: "goaws", Concurrency: 64, Mode: "closed", MsgsPerSec: Spread{Median: 7000}},
		{Scenario: "sqs-e2e", Target: "s", Concurrency: 64, Mode: "open", RateTarget: 800, P99Us: Spread{Median: 20_000}},
		{Scenario: "sqs-e2e", Target: "s", Concurrency: 64, Mode: "closed", P99Us: Spread{Median: 90_000}},
		{Scenario: "kinesis-efo-e2e", Target: "s", Concurrency: 64, Mode: "open", RateTarget: 1500, P99Us: Spread{Median: 12_000, Min: 9_000, Max: 15_000}},
	}
	find := func(text string) issueTarget {
		for _, it := range issueTargets {
			if strings.HasPrefix(it.Text, text) {
				return it
			}
		}
		t.Fatalf("no target %q", text)
		return issueTarget{}
	}
	tests := []struct {
		target   string
		measured bool
		met      bool
		contains string
	}{
		{"server CPU per SendMessage", true, true, "1.20×"},
		{"SendMessageBatch(10): server CPU", true, false, "13.0 µs"},
		{"SendMessageBatch(10), 64 clients: ≥ 70%", true, true, "0.90×"},
		{"SendMessageBatch(10), 64 clients: ≥ 1.5× goaws", true, false, "1.29×"},
		{"send → receive p99", true, true, "p99 20.0ms"},
		{"Receive + Delete, 16 consumers", false, false, "no sqs-recv-delete c=16 result"},
		{"put → SubscribeToShard consumer p99", true, false, "p99 12.0ms = 1.20× the 10.0ms limit at 1.5k msg/s offered"},
		{"put → consumer p99", false, false, "no kinesis-e2e half-max-rate result"},
	}
	for _, tt := range tests {
		v := judge(find(tt.target), summaries, "s")
		if v.Measured != tt.measured || v.Met != tt.met || !strings.Contains(v.Text, tt.contains) {
			t.Errorf("%s: %+v, want measured %v met %v containing %q", tt.target, v, tt.measured, tt.met, tt.contains)
		}
	}
	var b strings.Builder
	writeIssueTargets(&b, summaries, []string{"s"})
	if out := b.String(); !strings.Contains(out, "**met**: 1.20×") || !strings.Contains(out, "Met: s 3 of 14.") ||
		!strings.Contains(out, "| 4 | put → SubscribeToShard consumer p99 ≤ 10 ms at half the max put rate | kinesis-efo-e2e half-max-rate | **not met**: p99 12.0ms") {
		t.Errorf("rendered targets:\n%s", out)
	}
}

// TestUnsupportedNotes checks that the report says which peers a scenario
// needing enhanced fan-out was not run on, and why: moto and kinesalite
// lack SubscribeToShard, the ceiling too (and has no deliveries); goaws
// does not serve Kinesis at all, so it is not mentioned, and scenarios
// without special needs produce no note.
func TestUnsupportedNotes(t *testing.T) {
	o := defaultMatrixOptions()
	notes := unsupportedNotes(o, fakeMatrixTargets())
	if len(notes) != 1 {
		t.Fatalf("notes %q, want one (kinesis-efo-e2e)", notes)
	}
	note := notes[0]
	for _, want := range []string{
		"kinesis-efo-e2e was not run on",
		"noop (no RegisterStreamConsumer, DescribeStreamConsumer, SubscribeToShard; as the ceiling it serves canned records",
		"moto (no SubscribeToShard)",
		"kinesalite (no RegisterStreamConsumer, DescribeStreamConsumer, SubscribeToShard)",
	} {
		if !strings.Contains(note, want) {
			t.Errorf("note %q lacks %q", note, want)
		}
	}
	if strings.Contains(note, "goaws") || strings.Contains(note, "sluice") {
		t.Errorf("note %q names a target that serves no Kinesis or runs the scenario", note)
	}
	o.Scenarios = []string{"kinesis-e2e", "sqs-send"}
	if notes := unsupportedNotes(o, fakeMatrixTargets()); len(notes) != 0 {
		t.Errorf("notes for scenarios without needs: %q", notes)
	}
}

// TestRenderMatrixEFO drives the report path of kinesis-efo-e2e without
// servers: closed-loop rounds give the max rate, the open-loop cell runs
// at half of it, and the rendered section has the scenario's table (with
// its open-loop row), the issue-target verdict judged on that row, and the
// note on the peers it skipped.
func TestRenderMatrixEFO(t *testing.T) {
	result := func(mode string, conc int, rate, msgsPerSec float64, p99Us int64) *Result {
		return &Result{Scenario: "kinesis-efo-e2e", Target: "sluice-fsync-never", Mode: mode, Concurrency: conc, RateTarget: rate,
			Messages: 1, MsgsPerSec: msgsPerSec, Latency: Percentiles{P50Us: p99Us / 4, P99Us: p99Us, P999Us: p99Us * 2}}
	}
	closed := []*Result{result("closed", 16, 0, 4000, 30_000), result("closed", 16, 0, 4400, 31_000), result("closed", 64, 0, 3800, 90_000)}
	if got := bestClosedRate(closed, "kinesis-efo-e2e", "sluice-fsync-never"); got != 4200 {
		t.Fatalf("best closed rate %v, want the c=16 median 4200", got)
	}
	all := append(closed, result("open", openLoopConcurrency, 2100, 2100, 6_000), result("open", openLoopConcurrency, 2100, 2100, 8_000))
	o := defaultMatrixOptions()
	o.Scenarios = []string{"kinesis-efo-e2e"}
	targets := fakeMatrixTargets()
	targets[0].Name = "sluice-fsync-never"
	notes := unsupportedNotes(o, targets)
	section := renderMatrix(o, Machine{Cores: 2}, targets, Summarize(all), notes, time.Minute, loadStats{})
	for _, want := range []string{
		"- Note: kinesis-efo-e2e was not run on noop",
		"| 4 | put → SubscribeToShard consumer p99 ≤ 10 ms at half the max put rate | kinesis-efo-e2e half-max-rate | **met**: p99 7.00ms = 0.70× the 10.0ms limit at 2.1k msg/s offered (min–max 6.00ms–8.00ms) |",
		"### kinesis-efo-e2e",
		"| open 2.1k/s | sluice-fsync-never | 2.1k (2.1k–2.1k) |",
		"| 16 | sluice-fsync-never | 4.2k (4.0k–4.4k) |",
	} {
		if !strings.Contains(section, want) {
			t.Errorf("section lacks %q:\n%s", want, section)
		}
	}
}
