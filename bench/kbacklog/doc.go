// Package kbacklog measures what retained Kinesis stream data costs a
// running server: it starts a child `sluice serve` (built from this tree),
// fills a 4-shard stream with ~10 GiB of 1–4 KiB records through
// PutRecords, then reads every shard from TRIM_HORIZON with GetRecords,
// sampling the child's /proc/PID/status (VmRSS, RssAnon, RssFile, VmHWM)
// throughout. It asserts that the server's peak RSS stays under 512 MiB
// (issue 4) and logs the read throughput.
//
// The measurement is a Go test (kbacklog_test.go), so this package has no
// non-test code; it talks to the server over the wire only. It runs only
// with SLUICE_KBACKLOG=1:
//
//	SLUICE_KBACKLOG=1 go test ./bench/kbacklog -run TestKinesisRetainedRSS -v -count=1 -timeout 0
//
// or `make kbacklog`. Environment knobs: SLUICE_KBACKLOG_MIB (data to
// write, default 10240), SLUICE_KBACKLOG_DIR (data directory, default a
// temporary one removed afterwards), SLUICE_KBACKLOG_PROTOCOL (cbor, the
// default, as the Java SDK and KCL speak it, or json, as the Go SDK and
// the CLI do), SLUICE_KBACKLOG_FSYNC (the server's --fsync, default
// never) and SLUICE_KBACKLOG_RSS_MIB (the bound, default 512). Results
// are recorded in bench/RESULTS.md under "## kinesis retained-data RSS".
package kbacklog
