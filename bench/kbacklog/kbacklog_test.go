package kbacklog

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/sluice-dev/sluice/internal/childserver"
)

func TestMain(m *testing.M) {
	// The test builds no SDK client, but keep the machine-wide rule: an
	// SDK client with a custom HTTP client fails while this is set.
	os.Unsetenv("AWS_CA_BUNDLE")
	os.Exit(childserver.Run(m))
}

const (
	streamName     = "kbacklog"
	shardCount     = 4
	minRecordBytes = 1 << 10
	maxRecordBytes = 4 << 10
	putBatch       = 500   // records per PutRecords (the AWS maximum)
	getLimit       = 10000 // records per GetRecords (the AWS maximum)
)

// config is the run configuration, from the environment.
type config struct {
	dataBytes int64
	dir       string
	cbor      bool
	fsync     string
	writers   int
	rssBound  int64
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

func loadConfig(t *testing.T) config {
	t.Helper()
	if os.Getenv("SLUICE_KBACKLOG") != "1" {
		t.Skip("writes ~10 GiB through a child server for minutes: set SLUICE_KBACKLOG=1 to run (SLUICE_KBACKLOG_MIB for a smaller size)")
	}
	c := config{
		dataBytes: int64(envInt(t, "SLUICE_KBACKLOG_MIB", 10<<10)) << 20,
		fsync:     os.Getenv("SLUICE_KBACKLOG_FSYNC"),
		writers:   envInt(t, "SLUICE_KBACKLOG_WRITERS", 4),
		rssBound:  int64(envInt(t, "SLUICE_KBACKLOG_RSS_MIB", 512)) << 20,
	}
	if c.fsync == "" {
		c.fsync = "never"
	}
	switch p := os.Getenv("SLUICE_KBACKLOG_PROTOCOL"); p {
	case "", "cbor":
		c.cbor = true
	case "json":
	default:
		t.Fatalf("SLUICE_KBACKLOG_PROTOCOL=%q: want cbor or json", p)
	}
	c.dir = t.TempDir()
	if base := os.Getenv("SLUICE_KBACKLOG_DIR"); base != "" {
		dir, err := os.MkdirTemp(base, "kbacklog-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := os.RemoveAll(dir); err != nil {
				t.Errorf("removing %s: %v", dir, err)
			}
		})
		c.dir = dir
	}
	return c
}

// shardTally is what was written to, or read from, one shard: records,
// data bytes and the sum of the records' xxhashes (order-independent).
type shardTally struct {
	records, bytes int64
	hashSum        uint64
}

func (s *shardTally) add(data []byte) {
	s.records++
	s.bytes += int64(len(data))
	s.hashSum += xxhash.Sum64(data)
}

func (s *shardTally) merge(o shardTally) {
	s.records += o.records
	s.bytes += o.bytes
	s.hashSum += o.hashSum
}

// TestKinesisRetainedRSS is issue 4's memory check on a real server
// process. Goal: show that retained stream data lives on disk, not in the
// server's memory: a child `sluice serve` takes ~10 GiB of 1–4 KiB
// records into a 4-shard stream through PutRecords, then every shard is
// read from TRIM_HORIZON with GetRecords (one reader per shard, all
// concurrently), and the server's RSS (anonymous plus mmapped file pages,
// from /proc/PID/status) must peak below 512 MiB throughout, VmHWM
// included. It also checks that every record comes back once, intact and
// in sequence order (per-shard count, bytes and xxhash sum), and logs the
// read throughput.
func TestKinesisRetainedRSS(t *testing.T) {
	c := loadConfig(t)
	srv := childserver.Start(t, childserver.Config{Dir: c.dir, Fsync: c.fsync})
	t.Logf("config: data=%.0f MiB protocol=%s fsync=%s writers=%d bound=%.0f MiB dir=%s pid=%d",
		mib(c.dataBytes), map[bool]string{true: "cbor", false: "json"}[c.cbor], c.fsync, c.writers,
		mib(c.rssBound), c.dir, srv.PID())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cl := newClient(srv.Addr(), c.cbor, max(c.writers, shardCount))

	smp := &sampler{pid: srv.PID()}
	sampling := make(chan struct{})
	go func() {
		defer close(sampling)
		smp.run(ctx, 100*time.Millisecond)
	}()
	smp.phase("start")

	createStream(ctx, t, cl)
	smp.phase("fill")
	start := time.Now()
	written, err := fill(ctx, cl, c)
	if err != nil {
		t.Fatalf("fill: %v\n%s", err, srv.LogTail(20))
	}
	fillTime := time.Since(start)
	var total shardTally
	for _, w := range written {
		total.merge(w)
	}
	onDisk, err := dirSize(c.dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fill: %d records, %.0f MiB of data in %s (%.1f MB/s), %.0f MiB on disk",
		total.records, mib(total.bytes), fillTime.Round(time.Millisecond),
		float64(total.bytes)/1e6/fillTime.Seconds(), mib(onDisk))

	smp.phase("read")
	start = time.Now()
	read, wire, err := readAll(ctx, cl)
	readTime := time.Since(start)
	if err != nil {
		t.Fatalf("read: %v\n%s", err, srv.LogTail(20))
	}
	smp.phase("")
	var readTotal shardTally
	for i := range read {
		readTotal.merge(read[i])
		if read[i] != written[i] {
			t.Errorf("shard %d: read %+v, wrote %+v", i, read[i], written[i])
		}
	}
	t.Logf("read: %d records, %.0f MiB of data (%.0f MiB on the wire) in %s: %.1f MB/s of data",
		readTotal.records, mib(readTotal.bytes), mib(wire), readTime.Round(time.Millisecond),
		float64(readTotal.bytes)/1e6/readTime.Seconds())

	cancel()
	<-sampling
	phases, err := smp.phases()
	if err != nil {
		t.Fatalf("sampling: %v", err)
	}
	var peak procStatus
	for _, p := range phases {
		t.Logf("phase %-5s (%4d samples) peak: %s", p.name, p.samples, p.peak)
		peak.vmRSS = max(peak.vmRSS, p.peak.vmRSS, p.peak.vmHWM)
	}
	srv.Stop()
	if peak.vmRSS >= c.rssBound {
		t.Errorf("server peak RSS %.0f MiB (VmRSS sampled or VmHWM), want < %.0f MiB", mib(peak.vmRSS), mib(c.rssBound))
	}
}

// createStream creates the stream and waits until it is ACTIVE.
func createStream(ctx context.Context, t *testing.T, cl *client) {
	t.Helper()
	in := map[string]any{"StreamName": streamName, "ShardCount": shardCount}
	if _, err := cl.call(ctx, "CreateStream", in, &struct{}{}); err != nil {
		t.Fatal(err)
	}
	for range 600 {
		var out struct {
			StreamDescriptionSummary struct{ StreamStatus string }
		}
		if _, err := cl.call(ctx, "DescribeStreamSummary", map[string]any{"StreamName": streamName}, &out); err != nil {
			t.Fatal(err)
		}
		if out.StreamDescriptionSummary.StreamStatus == "ACTIVE" {
			return
		}
		// Polling a remote process's state: there is no event to wait on.
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatal("stream not ACTIVE after 30s")
}

// shardIndex maps "shardId-00000000000N" to N.
func shardIndex(id string) (int, error) {
	const prefix = "shardId-"
	if len(id) != len(prefix)+12 || id[:len(prefix)] != prefix {
		return 0, fmt.Errorf("unexpected shard id %q", id)
	}
	n, err := strconv.Atoi(id[len(prefix):])
	if err != nil || n < 0 || n >= shardCount {
		return 0, fmt.Errorf("unexpected shard id %q", id)
	}
	return n, nil
}

// fill writes c.dataBytes of records with c.writers concurrent PutRecords
// loops and returns what each shard received.
func fill(ctx context.Context, cl *client, c config) ([shardCount]shardTally, error) {
	var budget atomic.Int64
	budget.Store(c.dataBytes)
	var mu sync.Mutex
	var tallies [shardCount]shardTally
	errc := make(chan error, c.writers)
	var wg sync.WaitGroup
	for w := range c.writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 0x6b6261636b6c6f67))
			pool := make([]byte, 1<<20)
			for i := 0; i+8 <= len(pool); i += 8 {
				v := rng.Uint64()
				for j := range 8 {
					pool[i+j] = byte(v >> (8 * j))
				}
			}
			in := putRecordsInput{StreamName: streamName, Records: make([]putRecordsEntry, 0, putBatch)}
			var mine [shardCount]shardTally
			for n := 0; ; n++ {
				in.Records = in.Records[:0]
				for range putBatch {
					size := minRecordBytes + rng.IntN(maxRecordBytes-minRecordBytes+1)
					if budget.Add(-int64(size)) < 0 {
						break
					}
					off := rng.IntN(len(pool) - size)
					in.Records = append(in.Records, putRecordsEntry{
						Data:         pool[off : off+size],
						PartitionKey: strconv.FormatUint(rng.Uint64(), 36),
					})
				}
				if len(in.Records) == 0 {
					break
				}
				var out putRecordsOutput
				if _, err := cl.call(ctx, "PutRecords", &in, &out); err != nil {
					errc <- err
					return
				}
				if out.FailedRecordCount != 0 || len(out.Records) != len(in.Records) {
					errc <- fmt.Errorf("PutRecords: %d of %d failed (%d results), first: %+v",
						out.FailedRecordCount, len(in.Records), len(out.Records), out.Records[0])
					return
				}
				for i, r := range out.Records {
					s, err := shardIndex(r.ShardID)
					if err != nil {
						errc <- err
						return
					}
					mine[s].add(in.Records[i].Data)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			for i := range mine {
				tallies[i].merge(mine[i])
			}
		})
	}
	wg.Wait()
	close(errc)
	return tallies, <-errc
}

// seqLess compares two decimal sequence numbers.
func seqLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// readAll reads every shard from TRIM_HORIZON to its end, one reader per
// shard, concurrently. It returns what each shard held and the response
// body bytes received.
func readAll(ctx context.Context, cl *client) ([shardCount]shardTally, int64, error) {
	var tallies [shardCount]shardTally
	var wire atomic.Int64
	errs := make([]error, shardCount)
	var wg sync.WaitGroup
	for s := range shardCount {
		wg.Go(func() {
			errs[s] = readShard(ctx, cl, s, &tallies[s], &wire)
		})
	}
	wg.Wait()
	return tallies, wire.Load(), errors.Join(errs...)
}

// readShard reads shard s from TRIM_HORIZON until a GetRecords answer is
// empty and at the tip (the fill is over, so that is the end).
func readShard(ctx context.Context, cl *client, s int, tally *shardTally, wire *atomic.Int64) error {
	shardID := fmt.Sprintf("shardId-%012d", s)
	var it struct{ ShardIterator string }
	if _, err := cl.call(ctx, "GetShardIterator", map[string]any{
		"StreamName": streamName, "ShardId": shardID, "ShardIteratorType": "TRIM_HORIZON"}, &it); err != nil {
		return err
	}
	iterator, last := it.ShardIterator, ""
	for iterator != "" {
		var out getRecordsOutput
		n, err := cl.call(ctx, "GetRecords", map[string]any{"ShardIterator": iterator, "Limit": getLimit}, &out)
		if err != nil {
			return fmt.Errorf("%s: %w", shardID, err)
		}
		wire.Add(int64(n))
		for _, r := range out.Records {
			if !seqLess(last, r.SequenceNumber) {
				return fmt.Errorf("%s: sequence number %s after %s", shardID, r.SequenceNumber, last)
			}
			last = r.SequenceNumber
			tally.add(r.Data)
		}
		if len(out.Records) == 0 && out.MillisBehindLatest == 0 {
			return nil
		}
		iterator = out.NextShardIterator
	}
	return fmt.Errorf("%s: shard closed", shardID)
}
