// Package bench is Sluice's load generator: it drives any SQS or Kinesis
// endpoint (Sluice, AWS itself, or another emulator) over the wire through the
// AWS SDK for Go v2, and reports latency percentiles, throughput and errors.
//
// bench never imports engine/ or server/: everything it knows about a server
// it learns from HTTP responses. That keeps the numbers honest (the SDK's own
// marshalling and checksum validation are part of every measurement) and lets
// the same scenarios run against Amazon SQS/Kinesis, goaws, moto or kinesalite.
//
// The model:
//
//   - A Scenario (registered by name in the scenario registry, one file per
//     service) prepares resources and returns a Workload: an operation that
//     workers call repeatedly, optional consumers that run beside them, and a
//     cleanup step.
//   - Run drives a Workload for a warmup period and then a measured interval
//     (a duration or an operation count), either closed-loop (Concurrency
//     workers, each issuing its next request when the previous one returns) or
//     open-loop (a fixed arrival rate; latency is measured from the intended
//     send time, so a stalled server shows up in the percentiles instead of
//     silently lowering the offered load — "coordinated omission").
//   - A Recorder collects latencies into HDR histograms, counts operations,
//     messages and bytes, counts errors by AWS error code (SDK retries are
//     disabled so nothing is hidden), and keeps one sample per second for the
//     throughput-over-time chart.
//   - Result is what a run produced; the report writers render it as a table,
//     JSON (stable snake_case names) or a self-contained HTML page.
//
// Usage from Go:
//
//	cfg := bench.DefaultConfig()
//	cfg.Endpoint = "http://127.0.0.1:4566"
//	cfg.Duration = 5 * time.Second
//	res, err := bench.RunScenario(ctx, "sqs-send", cfg)
//	if err != nil { ... }
//	bench.WriteTable(os.Stdout, []*bench.Result{res})
//
// From the command line: `sluice bench sqs-send --endpoint http://127.0.0.1:4566`
// (see Main).
package bench
