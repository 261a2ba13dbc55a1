package bench

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/bench/noop"
	"github.com/sluice-dev/sluice/bench/peers"
)

// integrationDuration is how long each scenario runs in the integration
// tests: long enough for several timeline samples' worth of requests, short
// enough that all nine scenarios × two protocols stay well under a minute.
const integrationDuration = 700 * time.Millisecond

func integrationConfig(endpoint string) Config {
	cfg := DefaultConfig()
	cfg.Endpoint = endpoint
	cfg.Duration = integrationDuration
	cfg.Concurrency = 4
	cfg.Shards = 2
	cfg.Groups = 4
	cfg.Prefill = 2000
	cfg.Wait = 0
	cfg.PollInterval = time.Millisecond
	cfg.Seed = 1
	return cfg
}

// TestScenariosAgainstNoop runs every scenario for under a second against an
// in-process no-op server and checks the results are plausible: non-zero
// throughput and latency, zero errors, and message counts that agree with
// what the server says it was asked to do. A scenario needing an operation
// the no-op server lacks must fail with ErrUnsupported and clean up.
func TestScenariosAgainstNoop(t *testing.T) {
	for _, protocol := range []string{"json", "query"} {
		for _, scenario := range Scenarios() {
			if protocol == "query" && scenario.Service != "sqs" {
				continue
			}
			t.Run(protocol+"/"+scenario.Name, func(t *testing.T) {
				srv, err := noop.Start("127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer func() {
					if err := srv.Close(); err != nil {
						t.Error(err)
					}
				}()
				cfg := integrationConfig(srv.URL())
				cfg.Protocol = protocol
				res, err := RunScenario(context.Background(), scenario.Name, cfg)
				if noopLacks(scenario) {
					// kinesis-efo-e2e: the no-op server has no enhanced
					// fan-out; prepare must say so and still delete the
					// stream it created.
					if !errors.Is(err, ErrUnsupported) {
						t.Fatalf("error %v, want ErrUnsupported", err)
					}
					if stats := srv.Stats(); stats.StreamsCreated != 1 || stats.StreamsDeleted != 1 {
						t.Errorf("streams created/deleted = %d/%d, want 1/1", stats.StreamsCreated, stats.StreamsDeleted)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				checkPlausible(t, res)
				stats := srv.Stats()
				if stats.BadRequests != 0 {
					t.Errorf("server answered %d requests with 4xx", stats.BadRequests)
				}
				switch scenario.Service {
				case "sqs":
					if stats.QueuesCreated != 1 || stats.QueuesDeleted != 1 {
						t.Errorf("queues created/deleted = %d/%d, want 1/1", stats.QueuesCreated, stats.QueuesDeleted)
					}
					if res.Totals.Sent != stats.Sent {
						t.Errorf("bench sent %d messages, server accepted %d", res.Totals.Sent, stats.Sent)
					}
				case "kinesis":
					if stats.StreamsCreated != 1 || stats.StreamsDeleted != 1 {
						t.Errorf("streams created/deleted = %d/%d, want 1/1", stats.StreamsCreated, stats.StreamsDeleted)
					}
					if res.Totals.Sent != stats.Put {
						t.Errorf("bench put %d records, server accepted %d", res.Totals.Sent, stats.Put)
					}
				}
				if res.Messages > res.Totals.Sent && scenario.Name != "sqs-recv-delete" && scenario.Name != "kinesis-get" {
					t.Errorf("measured %d messages but only %d were sent in total", res.Messages, res.Totals.Sent)
				}
			})
		}
	}
}

// noopLacks reports whether scenario needs an operation the no-op server
// does not implement.
func noopLacks(scenario *Scenario) bool {
	p, _ := peers.Lookup("noop")
	for _, op := range scenario.Needs {
		if slices.Contains(p.Lacks, op) {
			return true
		}
	}
	return false
}

// checkPlausible asserts what every successful run must satisfy.
func checkPlausible(t *testing.T, res *Result) {
	t.Helper()
	if res.Errors != 0 {
		t.Errorf("errors: %d %+v", res.Errors, res.ErrorsByCode)
	}
	if res.Ops == 0 || res.OpsPerSec <= 0 || res.MsgsPerSec <= 0 || res.MBPerSec <= 0 {
		t.Errorf("no throughput: ops %d ops/s %.0f msgs/s %.0f MB/s %.3f", res.Ops, res.OpsPerSec, res.MsgsPerSec, res.MBPerSec)
	}
	if res.DurationSec <= 0 || res.DurationSec > 30 {
		t.Errorf("measured interval %.3fs", res.DurationSec)
	}
	op := res.Latencies[res.LatencySeries]
	if res.LatencySeries != "e2e" && (op.Count == 0 || op.P50Us <= 0 || op.P50Us > op.P99Us || op.P99Us > op.MaxUs) {
		t.Errorf("implausible latency %+v", op)
	}
	if len(res.Timeline) == 0 {
		t.Errorf("empty timeline")
	}
}

// TestDrainedDuringWarmup checks that a read scenario whose prefill is
// consumed before measuring starts fails loudly instead of reporting an
// empty result.
func TestDrainedDuringWarmup(t *testing.T) {
	srv, err := noop.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Close() }()
	cfg := integrationConfig(srv.URL())
	cfg.Prefill = 10
	cfg.Warmup = 300 * time.Millisecond
	if _, err := RunScenario(context.Background(), "sqs-recv-delete", cfg); !errors.Is(err, ErrDrainedInWarmup) {
		t.Fatalf("error %v, want ErrDrainedInWarmup", err)
	}
}
