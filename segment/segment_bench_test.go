package segment

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// benchRecordBytes is the payload size of benchmark records.
const benchRecordBytes = 1024

// reportAppend reports records/s, MB/s and fsyncs/s for a finished run.
func reportAppend(b *testing.B, l *Log, records int, elapsed time.Duration) {
	st := l.Stats()
	secs := elapsed.Seconds()
	b.ReportMetric(float64(records)/secs, "records/s")
	b.ReportMetric(float64(records)*benchRecordBytes/secs/1e6, "MB/s")
	b.ReportMetric(float64(st.Syncs)/secs, "fsyncs/s")
	if st.Batches > 0 {
		b.ReportMetric(float64(st.Records)/float64(st.Batches), "records/batch")
	}
}

// BenchmarkAppend appends one 1 KiB record per Append from 1, 16 and 64
// concurrent appenders on real files, under SyncAlways and SyncNever.
// Group commit should make SyncAlways throughput scale with appenders up
// to about appenders × the machine's fdatasync rate.
func BenchmarkAppend(b *testing.B) {
	for _, policy := range []string{"always", "never"} {
		for _, appenders := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("sync=%s/appenders=%d", policy, appenders), func(b *testing.B) {
				benchAppend(b, policy, appenders, 1)
			})
		}
	}
}

// BenchmarkAppendBatch appends batches of 100 1 KiB records per Append
// from 1, 16 and 64 appenders, under SyncAlways and SyncNever (64
// appenders of 100 records is the group-commit bandwidth target's case).
func BenchmarkAppendBatch(b *testing.B) {
	for _, policy := range []string{"always", "never"} {
		for _, appenders := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("sync=%s/batch=100/appenders=%d", policy, appenders), func(b *testing.B) {
				benchAppend(b, policy, appenders, 100)
			})
		}
	}
}

// benchAppend runs b.N records through appenders goroutines, perAppend
// records per Append call.
func benchAppend(b *testing.B, policy string, appenders, perAppend int) {
	syncPolicy, err := ParseSyncPolicy(policy)
	if err != nil {
		b.Fatal(err)
	}
	l, err := Open(b.TempDir(), &Options{FS: vfs.Default, Sync: syncPolicy})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := l.Close(); err != nil {
			b.Fatal(err)
		}
	}()
	entries := make([]Entry, perAppend)
	for i := range entries {
		entries[i] = Entry{Key: []byte("key"), Payload: make([]byte, benchRecordBytes)}
	}
	calls := (b.N + perAppend - 1) / perAppend
	var remaining atomic.Int64
	remaining.Store(int64(calls))
	b.SetBytes(int64(benchRecordBytes * perAppend))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range appenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for remaining.Add(-1) >= 0 {
				if _, err := l.Append(entries); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	reportAppend(b, l, calls*perAppend, elapsed)
}

// BenchmarkReadMmap reads 1 KiB records sequentially from sealed, mmapped
// segments of real files, verifying every checksum. Allocations are per
// record (b.N counts records) and must be zero.
func BenchmarkReadMmap(b *testing.B) {
	dir := b.TempDir()
	const records = 64 << 10 // 64 MiB of payload
	opts := &Options{FS: vfs.Default, Sync: SyncPolicy{Mode: SyncNever}, SegmentSizeBytes: 16 << 20}
	l, err := Open(dir, opts)
	if err != nil {
		b.Fatal(err)
	}
	batch := make([]Entry, 256)
	for i := range batch {
		batch[i] = Entry{Payload: make([]byte, benchRecordBytes)}
	}
	for i := 0; i < records; i += len(batch) {
		if _, err := l.Append(batch); err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	if l, err = Open(dir, opts); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	l.mu.Lock()
	sealedEnd := l.mu.segments[len(l.mu.segments)-1].firstSeq // read only mmapped segments
	l.mu.Unlock()
	var sum int
	fn := func(r *Record) error { sum += len(r.Payload); return nil }
	b.SetBytes(benchRecordBytes)
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(b.N-done, int(sealedEnd-1))
		if _, err := l.Read(1, n, 0, fn); err != nil {
			b.Fatal(err)
		}
		done += n
	}
	b.StopTimer()
	if st := l.Stats(); st.MappedSegments == 0 {
		b.Fatal("no segment was mmapped")
	}
	if sum == 0 {
		b.Fatal("nothing read")
	}
}
