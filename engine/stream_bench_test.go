package engine

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// openBenchStream opens a DB on a real temporary directory (so fsync and
// mmap are real) with one stream of shards shards.
func openBenchStream(b *testing.B, shards int) (*DB, *Stream) {
	b.Helper()
	db, err := Open(b.TempDir(), &Options{FS: vfs.Default})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := db.Close(); err != nil {
			b.Error(err)
		}
	})
	s := createTestStream(b, db, "bench", StreamConfig{ShardCount: shards})
	return db, s
}

// benchRecords returns n records of size bytes with distinct keys.
func benchRecords(n, size int) []PutRecord {
	recs := make([]PutRecord, n)
	for i := range recs {
		recs[i] = PutRecord{PartitionKey: fmt.Sprintf("partition-%d", i), Data: make([]byte, size)}
	}
	return recs
}

// BenchmarkStreamPut measures PutRecords-sized batches (500 × 1 KiB)
// over 4 shards, each batch durable (fsync) before the next.
func BenchmarkStreamPut(b *testing.B) {
	_, s := openBenchStream(b, 4)
	recs := benchRecords(500, 1024)
	ctx := context.Background()
	b.SetBytes(500 * 1024)
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		res, err := s.Put(ctx, recs)
		if err != nil {
			b.Fatal(err)
		}
		if res[0].Err != nil {
			b.Fatal(res[0].Err)
		}
	}
	b.ReportMetric(float64(b.N*500)/time.Since(start).Seconds(), "records/s")
}

// BenchmarkStreamRead measures GetRecords-sized reads (10,000 records of
// 1 KiB) from a warmed log; allocations per read must not grow with the
// record count (0 per record).
func BenchmarkStreamRead(b *testing.B) {
	_, s := openBenchStream(b, 1)
	recs := benchRecords(500, 1024)
	for i := range recs {
		recs[i].PartitionKey = "one-shard"
	}
	for range 20 {
		putStreamAll(b, s, recs)
	}
	var sum int
	fn := func(r *StreamRecord) error { sum += len(r.Data) + len(r.PartitionKey); return nil }
	if _, err := s.Read(0, 1, 10000, 0, fn); err != nil { // warm: open and map
		b.Fatal(err)
	}
	b.SetBytes(10000 * 1024)
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		next, err := s.Read(0, 1, 10000, 0, fn)
		if err != nil {
			b.Fatal(err)
		}
		if next != 10001 {
			b.Fatalf("read up to %d, want 10001", next)
		}
	}
	elapsed := time.Since(start)
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N*10000), "ns/record")
}
