package bench

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Result is one run of one scenario against one endpoint. JSON field names
// are stable (snake_case); add fields, never rename them.
type Result struct {
	Scenario    string  `json:"scenario"`
	Target      string  `json:"target"`
	Endpoint    string  `json:"endpoint"`
	Protocol    string  `json:"protocol,omitempty"`
	Mode        string  `json:"mode"` // "closed" or "open"
	Concurrency int     `json:"concurrency"`
	Consumers   int     `json:"consumers,omitempty"`
	RateTarget  float64 `json:"rate_target,omitempty"`
	Size        string  `json:"size"`
	Batch       int     `json:"batch,omitempty"`
	Shards      int     `json:"shards,omitempty"`
	Groups      int     `json:"groups,omitempty"`
	Round       int     `json:"round,omitempty"`

	StartedAt   time.Time `json:"started_at"`
	WarmupSec   float64   `json:"warmup_sec"`
	DurationSec float64   `json:"duration_sec"` // measured interval
	Drained     bool      `json:"drained,omitempty"`

	Ops            int64   `json:"ops"`
	Messages       int64   `json:"messages"`
	Bytes          int64   `json:"bytes"`
	Received       int64   `json:"received"`
	Errors         int64   `json:"errors"`
	OpsPerSec      float64 `json:"ops_per_sec"`
	MsgsPerSec     float64 `json:"msgs_per_sec"`
	MBPerSec       float64 `json:"mb_per_sec"`
	ReceivedPerSec float64 `json:"received_per_sec,omitempty"`

	// Latency is the primary series (named by LatencySeries): the
	// operation for send/put/get scenarios, delivery for e2e ones.
	LatencySeries string                 `json:"latency_series"`
	Latency       Percentiles            `json:"latency"`
	Latencies     map[string]Percentiles `json:"latencies"`

	ErrorsByCode []ErrorCount `json:"errors_by_code"`

	ServerPID            int     `json:"server_pid,omitempty"`
	ServerCPUSec         float64 `json:"server_cpu_sec,omitempty"`
	ServerCPUUsPerMsg    float64 `json:"server_cpu_us_per_msg,omitempty"`
	ClientCPUUsPerMsg    float64 `json:"client_cpu_us_per_msg,omitempty"`
	ServerCPUUnavailable string  `json:"server_cpu_unavailable,omitempty"`

	Totals   Totals   `json:"totals"`
	Notes    []string `json:"notes,omitempty"`
	Timeline []Sample `json:"timeline"`
}

// ErrDrainedInWarmup reports a read scenario whose prefilled data was all
// consumed before the measured interval began.
var ErrDrainedInWarmup = errors.New("bench: prefilled data drained during warmup")

// RunScenario prepares scenario name against cfg, runs it, cleans up, and
// returns the result. A run whose requests fail still returns a Result (with
// errors counted); err is for setup failures and cancellation.
func RunScenario(ctx context.Context, name string, cfg Config) (*Result, error) {
	scenario, ok := LookupScenario(name)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownScenario, name)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	env, err := NewEnv(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer env.Close()
	return runPrepared(ctx, scenario, env)
}

func runPrepared(ctx context.Context, scenario *Scenario, env *Env) (res *Result, err error) {
	cfg := env.Config
	workload, cleanup, err := scenario.Prepare(ctx, env)
	if cleanup != nil {
		defer func() {
			cleanupCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if cleanupErr := cleanup(cleanupCtx); cleanupErr != nil && err == nil {
				err = fmt.Errorf("bench: cleanup: %w", cleanupErr)
			}
		}()
	}
	if err != nil {
		return nil, fmt.Errorf("bench: %s: prepare: %w", scenario.Name, err)
	}
	cpu := &cpuSampler{pid: cfg.ServerPID}
	started := time.Now()
	stats, err := Run(ctx, workload, RunOptions{
		Concurrency: cfg.Concurrency,
		Duration:    cfg.Duration,
		Count:       cfg.Count,
		Warmup:      cfg.Warmup,
		Rate:        cfg.Rate,
		Grace:       cfg.Grace,
		Progress:    cfg.Progress,
		Label:       scenario.Name + " @ " + targetLabel(cfg),
		OnMeasure:   cpu.mark,
		Seed:        cfg.Seed,
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		return nil, fmt.Errorf("bench: %s: %w", scenario.Name, err)
	}
	if stats.Drained && stats.Measured == 0 {
		return nil, fmt.Errorf("%w (%s): raise --prefill or shorten --warmup", ErrDrainedInWarmup, scenario.Name)
	}
	res = buildResult(scenario, cfg, workload, stats, started, cpu)
	return res, err
}

func targetLabel(cfg Config) string {
	if cfg.Target != "" {
		return cfg.Target
	}
	if cfg.Endpoint == "" {
		return "aws"
	}
	if u, err := url.Parse(cfg.Endpoint); err == nil && u.Host != "" {
		return u.Host
	}
	return cfg.Endpoint
}

func buildResult(scenario *Scenario, cfg Config, w *Workload, stats RunStats, started time.Time, cpu *cpuSampler) *Result {
	s := stats.Summary
	seconds := stats.Measured.Seconds()
	res := &Result{
		Scenario:      scenario.Name,
		Target:        targetLabel(cfg),
		Endpoint:      cfg.Endpoint,
		Mode:          "closed",
		Concurrency:   cfg.Concurrency,
		Consumers:     w.Consumers,
		RateTarget:    cfg.Rate,
		Size:          cfg.Size.String(),
		Batch:         cfg.Batch,
		StartedAt:     started.UTC(),
		WarmupSec:     cfg.Warmup.Seconds(),
		DurationSec:   seconds,
		Drained:       stats.Drained,
		Ops:           s.Counts.Ops,
		Messages:      s.Counts.Messages,
		Bytes:         s.Counts.Bytes,
		Received:      s.Counts.Received,
		Errors:        s.Counts.Errors,
		LatencySeries: s.Series[0],
		Latency:       s.Latency[0].Percentiles(),
		Latencies:     map[string]Percentiles{},
		ErrorsByCode:  s.Errors,
		Notes:         w.Notes,
		Timeline:      s.Timeline,
	}
	if res.ErrorsByCode == nil {
		res.ErrorsByCode = []ErrorCount{}
	}
	if res.Timeline == nil {
		res.Timeline = []Sample{}
	}
	if scenario.Service == "sqs" {
		res.Protocol = cfg.Protocol
	}
	if scenario.Service == "kinesis" {
		res.Shards = cfg.Shards
	}
	if scenario.Name == "sqs-fifo" {
		res.Groups = cfg.Groups
	}
	if cfg.Rate > 0 {
		res.Mode = "open"
	}
	for i, name := range s.Series {
		if s.Latency[i].Count() > 0 {
			res.Latencies[name] = s.Latency[i].Percentiles()
		}
	}
	if w.Totals != nil {
		res.Totals = w.Totals()
	}
	if seconds > 0 {
		res.OpsPerSec = float64(res.Ops) / seconds
		res.MsgsPerSec = float64(res.Messages) / seconds
		res.MBPerSec = float64(res.Bytes) / seconds / 1e6
		res.ReceivedPerSec = float64(res.Received) / seconds
	}
	moved := res.Messages + res.Received
	if cfg.ServerPID > 0 {
		res.ServerPID = cfg.ServerPID
		if cpu.serverErr != nil {
			res.ServerCPUUnavailable = cpu.serverErr.Error()
		} else {
			res.ServerCPUSec = cpu.serverUsed.Seconds()
			if moved > 0 {
				res.ServerCPUUsPerMsg = float64(cpu.serverUsed.Microseconds()) / float64(moved)
			}
		}
	}
	if moved > 0 {
		res.ClientCPUUsPerMsg = float64(cpu.clientUsed.Microseconds()) / float64(moved)
	}
	return res
}
