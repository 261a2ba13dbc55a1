package engine

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/sluice-dev/sluice/internal/cputime"
	"github.com/sluice-dev/sluice/segment"
)

// Queue benchmarks. Each reports, besides ns/op and allocs/op, cpu-ns/op:
// the process's user+system CPU time per op (pebble's and the log's
// goroutines included). On a shared, loaded machine wall time mostly
// measures waiting for a core; CPU time measures the work.
//
//	go test -run '^$' -bench Queue -benchmem -count 6 ./engine/ | benchstat -

// benchQueue opens a DB on the real file system without fsync (the
// engine's cost, not the disk's) with one queue holding backlog messages.
func benchQueue(b testing.TB, fifo bool, backlog int) (*DB, *Queue) {
	b.Helper()
	db, err := Open(b.TempDir(), &Options{FS: vfs.Default, Sync: segment.SyncPolicy{Mode: segment.SyncNever}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := db.Close(); err != nil {
			b.Error(err)
		}
	})
	name := "bench"
	if fifo {
		name = "bench.fifo"
	}
	if _, err := db.CreateQueue(testNS, name, DefaultQueueAttributes(fifo), nil); err != nil {
		b.Fatal(err)
	}
	q, err := db.Queue(testNS, name)
	if err != nil {
		b.Fatal(err)
	}
	batch := benchBatch(fifo)
	for i := 0; i < backlog; i += len(batch) {
		benchDedupIDs(batch, i)
		if _, err := q.Send(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	return db, q
}

// benchBatch is 10 messages of 1 KiB with one attribute and a sender id;
// FIFO batches spread over 10 message groups.
func benchBatch(fifo bool) []SendMessage {
	body := []byte(strings.Repeat("x", 1024))
	batch := make([]SendMessage, 10)
	for i := range batch {
		batch[i] = SendMessage{Body: body, SenderID: "000000000000",
			Attributes: []MessageAttribute{{Name: "a", DataType: "String", StringValue: "v"}}}
		if fifo {
			batch[i].GroupID = "group-" + strconv.Itoa(i)
			batch[i].DeduplicationID = "x"
		}
	}
	return batch
}

// benchDedupIDs gives the FIFO messages of batch number n fresh
// deduplication ids (no-op for standard batches).
func benchDedupIDs(batch []SendMessage, n int) {
	for i := range batch {
		if batch[i].GroupID != "" {
			batch[i].DeduplicationID = strconv.Itoa(n) + "-" + strconv.Itoa(i)
		}
	}
}

// benchCPU measures process CPU time over a benchmark's timed regions.
type benchCPU struct {
	b     *testing.B
	used  time.Duration
	start time.Duration
}

func startBenchCPU(b *testing.B) *benchCPU {
	b.Helper()
	c := &benchCPU{b: b}
	c.resume()
	return c
}

// pause stops the benchmark timer and the CPU clock.
func (c *benchCPU) pause() {
	c.b.StopTimer()
	c.used += cputime.SelfOrSkip(c.b) - c.start
}

// resume restarts both.
func (c *benchCPU) resume() {
	c.start = cputime.SelfOrSkip(c.b)
	c.b.StartTimer()
}

// report stops both and reports cpu-ns/op.
func (c *benchCPU) report() {
	c.pause()
	c.b.ReportMetric(float64(c.used.Nanoseconds())/float64(c.b.N), "cpu-ns/op")
}

// BenchmarkQueueSend measures Send of batches of 10 × 1 KiB (sync=never:
// the engine's CPU cost, not the disk's fsync rate).
func BenchmarkQueueSend(b *testing.B) {
	for _, fifo := range []bool{false, true} {
		name := "standard"
		if fifo {
			name = "fifo"
		}
		b.Run(name, func(b *testing.B) {
			_, q := benchQueue(b, fifo, 0)
			batch := benchBatch(fifo)
			var ids []string // FIFO: fresh deduplication ids, made before the clock runs
			if fifo {
				ids = make([]string, b.N*len(batch))
				for i := range ids {
					ids[i] = strconv.Itoa(i)
				}
			}
			b.ReportAllocs()
			b.SetBytes(10 * 1024)
			b.ResetTimer()
			cpu := startBenchCPU(b)
			for i := 0; i < b.N; i++ {
				if fifo {
					for j := range batch {
						batch[j].DeduplicationID = ids[i*len(batch)+j]
					}
				}
				if _, err := q.Send(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
			cpu.report()
			b.ReportMetric(float64(b.N*10)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkQueueReceiveDelete measures Receive(10) + Delete(10) from a
// shallow and a deep (200k) backlog, and on a FIFO queue (10 groups).
func BenchmarkQueueReceiveDelete(b *testing.B) {
	for _, tc := range []struct {
		name    string
		fifo    bool
		backlog int
	}{{"shallow", false, 0}, {"deep200k", false, 200_000}, {"fifo", true, 0}} {
		b.Run(tc.name, func(b *testing.B) {
			_, q := benchQueue(b, tc.fifo, tc.backlog)
			batch := benchBatch(tc.fifo)
			vis, wait := time.Minute, time.Duration(0)
			receipts := make([][]byte, 0, 10)
			const refill = 100 // batches sent per pause: the queue stays under 1,000 deep
			b.ReportAllocs()
			b.ResetTimer()
			cpu := startBenchCPU(b)
			for i := 0; i < b.N; i++ {
				if i%refill == 0 && (tc.backlog == 0 || i*10 >= tc.backlog) {
					// Refill refill batches at a time: pausing the clock
					// costs more than a receive, so do it rarely.
					cpu.pause()
					for n := i; n < i+refill; n++ {
						benchDedupIDs(batch, tc.backlog+n)
						if _, err := q.Send(context.Background(), batch); err != nil {
							b.Fatal(err)
						}
					}
					cpu.resume()
				}
				msgs, err := q.Receive(context.Background(), ReceiveOptions{Max: 10, Visibility: &vis, Wait: &wait})
				if err != nil || len(msgs) == 0 {
					b.Fatalf("Receive: %v, %d msgs", err, len(msgs))
				}
				receipts = receipts[:0]
				for _, m := range msgs {
					receipts = append(receipts, m.Receipt)
				}
				for _, err := range q.Delete(receipts) {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			cpu.report()
			b.ReportMetric(float64(b.N*10)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
