// Package backlog measures what a deep SQS backlog costs the engine: it
// fills one queue with N 1-KiB messages through the engine API, then
// reports process RSS and Go heap, and Receive+Delete throughput and
// latency at the head of that deep queue against a 1,000-message queue in
// the same run (rounds interleaved, so machine noise hits both alike).
//
// The measurement is a Go test (backlog_test.go), so this package has no
// non-test code and does not import the engine outside tests (bench talks
// to servers over the wire; see internal/lint). By default the test runs a
// small, fast version that checks correctness only. The full run:
//
//	SLUICE_BACKLOG=1 go test ./bench/backlog -run TestBacklog -v -timeout 0 \
//	    -args -backlog.n 5000000 -backlog.dir /work/backlog-data
//
// Flags (after -args): -backlog.n (messages in the deep queue; full-run
// default 5,000,000), -backlog.measure (messages received+deleted per
// queue), -backlog.dir (data directory; default a temporary one),
// -backlog.fsync (sync policy of the fill and measurement; default always),
// -backlog.senders and -backlog.batch (fill concurrency and batch size).
// Results are recorded in bench/RESULTS.md under "## sqs backlog".
package backlog
