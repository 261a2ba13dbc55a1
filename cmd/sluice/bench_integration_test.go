package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/bench"
	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/server"
	"github.com/sluice-dev/sluice/server/kinesis"
)

// benchRunDuration is each scenario's measured interval against the
// in-process server: long enough for hundreds of requests even under -race,
// short enough that all the runs (each SQS scenario over JSON and query,
// each Kinesis scenario once) stay well under 40 s.
const benchRunDuration = time.Second

// benchRegion is the region bench signs with against an endpoint; the
// engine namespace of every resource it touches.
const benchRegion = "us-east-1"

// inProcessSluice is `sluice serve` inside the test: the engine in a temp
// dir, server.New over it with every service serve registers, listening
// on a loopback port.
type inProcessSluice struct {
	db   *engine.DB
	url  string
	ns   engine.Namespace
	logs *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for the server's concurrent logging.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func startInProcessSluice(t *testing.T) *inProcessSluice {
	t.Helper()
	return startInProcessSluiceWith(t, func(db *engine.DB, logger *slog.Logger) ([]*server.Service, error) {
		return services(db, logger, kinesis.Config{})
	})
}

// startInProcessSluiceWith is startInProcessSluice with the services
// built by build (serve's services, or variants with test timings).
func startInProcessSluiceWith(t *testing.T, build func(*engine.DB, *slog.Logger) ([]*server.Service, error)) *inProcessSluice {
	t.Helper()
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg := server.Config{Logger: logger}
	if err := cfg.EnsureDefaults().Validate(); err != nil {
		t.Fatal(err)
	}
	db, err := engine.Open(t.TempDir(), &engine.Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	svcs, err := build(db, logger)
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range svcs {
		if err := srv.Register(svc); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
		if err := db.Close(); err != nil {
			t.Errorf("closing the engine: %v", err)
		}
		if t.Failed() {
			t.Logf("server log (warn and above):\n%s", logs.String())
		}
	})
	return &inProcessSluice{
		db:   db,
		url:  "http://" + ln.Addr().String(),
		ns:   engine.Namespace{Account: cfg.AccountID, Region: benchRegion},
		logs: logs,
	}
}

// benchConfig is the small, fast configuration of every run.
func (s *inProcessSluice) benchConfig() bench.Config {
	cfg := bench.DefaultConfig()
	cfg.Endpoint = s.url
	cfg.Region = benchRegion
	cfg.Duration = benchRunDuration
	cfg.Concurrency = 4
	cfg.Shards = 2
	cfg.Groups = 4
	cfg.Prefill = 2000
	cfg.Wait = 200 * time.Millisecond
	cfg.PollInterval = 5 * time.Millisecond
	cfg.Grace = 5 * time.Second
	cfg.Seed = 1
	return cfg
}

// queueCounts returns the engine's counts for a queue.
func (s *inProcessSluice) queueCounts(t *testing.T, name string) engine.QueueCounts {
	t.Helper()
	q, err := s.db.Queue(s.ns, name)
	if err != nil {
		t.Fatalf("queue %s: %v", name, err)
	}
	return q.Counts()
}

// readableRecords counts the records of every shard of a stream from its
// trim horizon, checking each one is a bench record.
func (s *inProcessSluice) readableRecords(t *testing.T, name string) int64 {
	t.Helper()
	stream, err := s.db.Stream(s.ns, name)
	if err != nil {
		t.Fatalf("stream %s: %v", name, err)
	}
	var total int64
	for _, shard := range stream.Info().Shards {
		from, end, err := stream.Bounds(shard.Index)
		if err != nil {
			t.Fatalf("bounds of shard %d: %v", shard.Index, err)
		}
		for from < end {
			next, err := stream.Read(shard.Index, from, 10000, 64<<20, func(r *engine.StreamRecord) error {
				if !bytes.HasPrefix(r.Data, []byte("sb1 ")) {
					return fmt.Errorf("record %d of shard %d is not a bench record: %.40q", r.Seq, shard.Index, r.Data)
				}
				total++
				return nil
			})
			if err != nil {
				t.Fatalf("reading shard %d from %d: %v", shard.Index, from, err)
			}
			if next <= from {
				t.Fatalf("shard %d: read from %d did not advance (retained end %d)", shard.Index, from, end)
			}
			from = next
		}
	}
	return total
}

// checkBenchResult asserts what every run against a healthy server must
// show: throughput, sane latencies, and no errors at all.
func checkBenchResult(t *testing.T, res *bench.Result) {
	t.Helper()
	if res.Errors != 0 {
		t.Errorf("%d errors: %+v", res.Errors, res.ErrorsByCode)
	}
	moved := res.MsgsPerSec
	if res.Messages == 0 {
		moved = res.ReceivedPerSec
	}
	if res.Ops == 0 || res.OpsPerSec <= 0 || moved <= 0 || res.MBPerSec <= 0 {
		t.Errorf("no throughput: ops %d, %.0f ops/s, %.0f msgs/s, %.0f received/s, %.3f MB/s", res.Ops, res.OpsPerSec, res.MsgsPerSec, res.ReceivedPerSec, res.MBPerSec)
	}
	if res.DurationSec <= 0 || res.DurationSec > 30 {
		t.Errorf("measured interval %.3f s", res.DurationSec)
	}
	lat := res.Latency
	if lat.Count == 0 || lat.P50Us <= 0 || lat.P50Us > lat.P99Us || lat.P99Us > lat.MaxUs {
		t.Errorf("implausible %s latency %+v", res.LatencySeries, lat)
	}
	if len(res.Timeline) == 0 {
		t.Error("empty timeline")
	}
}

// TestBenchAgainstSluice runs every bench scenario for a second against an
// in-process `sluice serve` (the engine, server.New and the services serve
// registers) and checks the results are plausible and agree with what the
// server holds afterwards. Each run uses a queue or stream the test created
// in the engine (bench's --queue/--stream), so bench does not delete it and
// the engine can be asked: for SQS, messages sent − deleted must equal the
// queue's visible + in-flight count, and e2e consumers must have received
// exactly what was sent; for Kinesis, the records put (or prefilled) must
// equal the records readable from the trim horizon.
func TestBenchAgainstSluice(t *testing.T) {
	// The SDK refuses to load a configuration with a custom HTTP client
	// while AWS_CA_BUNDLE is set; these runs are plain HTTP on loopback.
	t.Setenv("AWS_CA_BUNDLE", "")
	if err := os.Unsetenv("AWS_CA_BUNDLE"); err != nil {
		t.Fatal(err)
	}
	s := startInProcessSluice(t)
	ctx := context.Background()
	scenarios := bench.Scenarios()
	if len(scenarios) < 9 {
		t.Fatalf("only %d scenarios registered", len(scenarios))
	}
	for _, protocol := range []string{"json", "query"} {
		for _, scenario := range scenarios {
			if scenario.Service != "sqs" {
				continue
			}
			t.Run(protocol+"/"+scenario.Name, func(t *testing.T) {
				fifo := scenario.Name == "sqs-fifo"
				name := strings.ReplaceAll("bench-it-"+protocol+"-"+scenario.Name, "sqs-", "")
				if fifo {
					name += ".fifo"
				}
				if _, err := s.db.CreateQueue(s.ns, name, engine.DefaultQueueAttributes(fifo), nil); err != nil {
					t.Fatal(err)
				}
				cfg := s.benchConfig()
				cfg.Protocol, cfg.Queue = protocol, name
				res, err := bench.RunScenario(ctx, scenario.Name, cfg)
				if err != nil {
					t.Fatal(err)
				}
				checkBenchResult(t, res)
				tot := res.Totals
				counts := s.queueCounts(t, name)
				t.Logf("%.0f msgs/s, %.0f received/s, p99 %d µs; totals %+v; queue %+v", res.MsgsPerSec, res.ReceivedPerSec, res.Latency.P99Us, tot, counts)
				if held := counts.Visible + counts.InFlight + counts.Delayed; tot.Sent-tot.Deleted != held {
					t.Errorf("bench sent %d and deleted %d, but the queue holds %d (%+v)", tot.Sent, tot.Deleted, held, counts)
				}
				if counts.InFlight != tot.Received-tot.Deleted && scenario.Name == "sqs-recv-delete" {
					t.Errorf("bench received %d and deleted %d, but %d are in flight", tot.Received, tot.Deleted, counts.InFlight)
				}
				switch scenario.Name {
				case "sqs-send", "sqs-send-batch":
					if tot.Sent == 0 || res.Messages > tot.Sent {
						t.Errorf("measured %d messages of %d sent", res.Messages, tot.Sent)
					}
				case "sqs-recv-delete":
					if tot.Sent != int64(cfg.Prefill) || res.Messages == 0 || res.Messages > tot.Deleted {
						t.Errorf("prefilled %d of %d, measured %d deliveries of %d deleted", tot.Sent, cfg.Prefill, res.Messages, tot.Deleted)
					}
				case "sqs-e2e", "sqs-fifo":
					if tot.Sent == 0 || tot.Received != tot.Sent || tot.Deleted != tot.Sent {
						t.Errorf("sent %d, consumers received %d and deleted %d; want all of them", tot.Sent, tot.Received, tot.Deleted)
					}
				}
			})
		}
	}
	for _, scenario := range scenarios {
		if scenario.Service != "kinesis" {
			continue
		}
		t.Run(scenario.Name, func(t *testing.T) {
			cfg := s.benchConfig()
			cfg.Stream = "bench-it-" + scenario.Name
			if _, err := s.db.CreateStream(s.ns, cfg.Stream, engine.StreamConfig{ShardCount: cfg.Shards}, nil); err != nil {
				t.Fatal(err)
			}
			res, err := bench.RunScenario(ctx, scenario.Name, cfg)
			if err != nil {
				t.Fatal(err)
			}
			checkBenchResult(t, res)
			tot := res.Totals
			readable := s.readableRecords(t, cfg.Stream)
			t.Logf("%.0f msgs/s, %.0f received/s, p99 %d µs; totals %+v; %d readable", res.MsgsPerSec, res.ReceivedPerSec, res.Latency.P99Us, tot, readable)
			if tot.Sent == 0 || readable != tot.Sent {
				t.Errorf("bench put %d records, %d are readable from the trim horizon", tot.Sent, readable)
			}
			switch scenario.Name {
			case "kinesis-put", "kinesis-put-batch":
				if res.Messages > tot.Sent {
					t.Errorf("measured %d records of %d put", res.Messages, tot.Sent)
				}
			case "kinesis-get":
				if tot.Sent != int64(cfg.Prefill) || res.Messages == 0 {
					t.Errorf("prefilled %d of %d, measured %d records read", tot.Sent, cfg.Prefill, res.Messages)
				}
			case "kinesis-e2e":
				if tot.Received != tot.Sent {
					t.Errorf("put %d records, readers received %d", tot.Sent, tot.Received)
				}
			case "kinesis-efo-e2e":
				checkEFOResult(t, s, cfg.Stream, res)
			}
		})
	}
	// The runs above used the test's resources; a run on bench's own
	// temporary queue and stream must leave none behind.
	t.Run("temporary resources", func(t *testing.T) {
		for _, name := range []string{"sqs-send", "kinesis-put"} {
			cfg := s.benchConfig()
			cfg.Duration = 200 * time.Millisecond
			res, err := bench.RunScenario(ctx, name, cfg)
			if err != nil {
				t.Fatal(err)
			}
			checkBenchResult(t, res)
		}
		queues, err := s.db.ListQueues(s.ns, "sluice-bench-", "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		streams, err := s.db.ListStreams(s.ns, "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, stream := range streams {
			if !strings.HasPrefix(stream, "bench-it-") {
				t.Errorf("bench left stream %s behind", stream)
			}
		}
		if len(queues) != 0 {
			t.Errorf("bench left queues behind: %q", queues)
		}
	})
}

// checkEFOResult asserts what a kinesis-efo-e2e run against a healthy
// server must show beyond checkBenchResult: subscription events delivered
// every record put, exactly once, with e2e latencies, and the run's stream
// consumer was deregistered afterwards.
func checkEFOResult(t *testing.T, s *inProcessSluice, streamName string, res *bench.Result) {
	t.Helper()
	tot := res.Totals
	if tot.Sent == 0 || tot.Received != tot.Sent {
		t.Errorf("put %d records, subscriptions delivered %d", tot.Sent, tot.Received)
	}
	if e2e := res.Latencies["e2e"]; res.Received == 0 || e2e.Count == 0 || e2e.Count != res.Received {
		t.Errorf("measured %d deliveries with %d e2e latencies", res.Received, e2e.Count)
	}
	stream, err := s.db.Stream(s.ns, streamName)
	if err != nil {
		t.Fatalf("stream %s: %v", streamName, err)
	}
	if consumers := stream.Consumers(); len(consumers) != 0 {
		t.Errorf("bench left stream consumers behind: %+v", consumers)
	}
}

// TestBenchEFOResubscribes runs kinesis-efo-e2e against an in-process
// Sluice whose subscriptions end after 5 s (AWS: 5 min), in a 5.5 s run, so
// every shard's subscription ends mid-run and bench must subscribe again
// from its last continuation sequence number: every record put is still
// delivered exactly once, no error is counted, and the renewals show up
// in the "subscribe" series. 5 s is the shortest lifetime a renewal can
// follow without waiting: AWS (and Sluice) refuse a SubscribeToShard
// within 5 s of a successful one on the same consumer and shard. Open
// loop at 200 puts/s keeps the CPU cost low beside the other tests.
func TestBenchEFOResubscribes(t *testing.T) {
	t.Parallel()
	if err := os.Unsetenv("AWS_CA_BUNDLE"); err != nil {
		t.Fatal(err)
	}
	const lifetime = 5 * time.Second
	s := startInProcessSluiceWith(t, func(db *engine.DB, logger *slog.Logger) ([]*server.Service, error) {
		svc, err := kinesis.New(db, kinesis.Config{Logger: logger, SubscriptionLifetime: lifetime, SubscriptionHeartbeat: 100 * time.Millisecond})
		if err != nil {
			return nil, err
		}
		return []*server.Service{svc.ServerService()}, nil
	})
	cfg := s.benchConfig()
	cfg.Stream = "bench-it-efo-resubscribe"
	cfg.Duration = lifetime + 500*time.Millisecond // renewals at about 5 s, then 0.5 s of records through them
	cfg.Rate = 200
	cfg.Concurrency = 16 // outstanding puts: enough that the rate holds under -race
	if _, err := s.db.CreateStream(s.ns, cfg.Stream, engine.StreamConfig{ShardCount: cfg.Shards}, nil); err != nil {
		t.Fatal(err)
	}
	res, err := bench.RunScenario(context.Background(), "kinesis-efo-e2e", cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkBenchResult(t, res)
	checkEFOResult(t, s, cfg.Stream, res)
	renewals := res.Latencies["subscribe"].Count
	t.Logf("%.0f records/s delivered, e2e p50 %d µs, p99 %d µs, max %d µs, %d renewals; totals %+v",
		res.ReceivedPerSec, res.Latency.P50Us, res.Latency.P99Us, res.Latency.MaxUs, renewals, res.Totals)
	if renewals < int64(cfg.Shards) {
		t.Errorf("%d subscriptions renewed during the run, want at least one per shard (%d)", renewals, cfg.Shards)
	}
}
