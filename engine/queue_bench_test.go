package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/sluice-dev/sluice/segment"
)

func benchQueue(b *testing.B, backlog int) (*DB, *Queue) {
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
	if _, err := db.CreateQueue(testNS, "bench", DefaultQueueAttributes(false), nil); err != nil {
		b.Fatal(err)
	}
	q, err := db.Queue(testNS, "bench")
	if err != nil {
		b.Fatal(err)
	}
	batch := benchBatch()
	for i := 0; i < backlog; i += len(batch) {
		if _, err := q.Send(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	return db, q
}

func benchBatch() []SendMessage {
	body := []byte(strings.Repeat("x", 1024))
	batch := make([]SendMessage, 10)
	for i := range batch {
		batch[i] = SendMessage{Body: body, SenderID: "000000000000",
			Attributes: []MessageAttribute{{Name: "a", DataType: "String", StringValue: "v"}}}
	}
	return batch
}

// BenchmarkQueueSend measures Send of batches of 10 × 1 KiB (sync=never:
// the engine's CPU cost, not the disk's fsync rate).
func BenchmarkQueueSend(b *testing.B) {
	_, q := benchQueue(b, 0)
	batch := benchBatch()
	b.ReportAllocs()
	b.SetBytes(10 * 1024)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := q.Send(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*10)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkQueueReceiveDelete measures Receive(10) + Delete(10) from a
// shallow and a deep (200k) backlog.
func BenchmarkQueueReceiveDelete(b *testing.B) {
	for _, tc := range []struct {
		name    string
		backlog int
	}{{"shallow", 0}, {"deep200k", 200_000}} {
		b.Run(tc.name, func(b *testing.B) {
			_, q := benchQueue(b, tc.backlog)
			batch := benchBatch()
			vis, wait := time.Minute, time.Duration(0)
			receipts := make([][]byte, 0, 10)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if tc.backlog == 0 || i*10 >= tc.backlog {
					b.StopTimer()
					if _, err := q.Send(context.Background(), batch); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
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
			b.ReportMetric(float64(b.N*10)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
