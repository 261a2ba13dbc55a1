package engine

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestQueueHotPathAllocs asserts what the hot paths cost in allocations,
// so a change that brings back per-message allocations fails here, not in
// a benchmark nobody reads. Method: testing.AllocsPerRun over Send of 10
// messages (standard and FIFO) and Receive(10)+Delete(10), on the
// benchmark workload and setup (1 KiB bodies, one attribute, a sender
// id; real files, no fsync: segment's memory-FS writes allocate). Bounds:
// Send allocates its results, one string of message ids (FIFO: plus one
// of sequence numbers, one dedup slab and its channel); Receive allocates
// one state per newly tracked message (standard: 10; FIFO: none here, its
// first receive read the whole backlog ahead into its groups) plus a
// fixed handful for the whole call (results, one byte slab, one text
// string and its buffer, attributes, bookkeeping); Delete its error slice
// and index batch. Measured: 2, 18 (standard) and 5, 9 (FIFO).
func TestQueueHotPathAllocs(t *testing.T) {
	if queueRaceEnabled {
		t.Skip("allocation counts differ under the race detector (sync.Pool drops items)")
	}
	if testing.Short() {
		t.Skip("allocation measurement runs 100 rounds")
	}
	for _, tc := range []struct {
		name                  string
		fifo                  bool
		sendMax, roundTripMax float64
	}{
		{"standard", false, 3, 20},
		{"fifo", true, 6, 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, q := benchQueue(t, tc.fifo, 0)
			batch := benchBatch(tc.fifo)
			const rounds = 100
			ids := make([][]string, rounds+1)
			for n := range ids {
				benchDedupIDs(batch, n)
				for _, m := range batch {
					ids[n] = append(ids[n], m.DeduplicationID)
				}
			}
			n := 0
			send := func() {
				for j := range batch {
					batch[j].DeduplicationID = ids[n%len(ids)][j]
				}
				n++
				res, err := q.Send(context.Background(), batch)
				if err != nil || res[0].Err != nil || res[0].Duplicate {
					t.Fatalf("Send: %v %+v", err, res)
				}
			}
			if got := testing.AllocsPerRun(rounds, send); got > tc.sendMax {
				t.Errorf("Send of 10: %.1f allocations, want <= %.0f", got, tc.sendMax)
			}
			vis, wait := time.Minute, time.Duration(0)
			receipts := make([][]byte, 0, 10)
			roundTrip := func() {
				msgs, err := q.Receive(context.Background(), ReceiveOptions{Max: 10, Visibility: &vis, Wait: &wait})
				if err != nil || len(msgs) != 10 {
					t.Fatalf("Receive: %v, %d messages", err, len(msgs))
				}
				receipts = receipts[:0]
				for _, m := range msgs {
					receipts = append(receipts, m.Receipt)
				}
				for _, err := range q.Delete(receipts) {
					if err != nil {
						t.Fatalf("Delete: %v", err)
					}
				}
			}
			// AllocsPerRun runs the function once more than asked (warm-up):
			// n sends above left rounds+1 batches in the queue.
			if got := testing.AllocsPerRun(rounds, roundTrip); got > tc.roundTripMax {
				t.Errorf("Receive(10)+Delete(10): %.1f allocations, want <= %.0f", got, tc.roundTripMax)
			}
		})
	}
}

// TestReceiveSlicesIndependent checks the contract the receive slab must
// keep: each message's Body, Receipt and binary attribute values are the
// caller's own. Method: receive three messages whose parts share one
// buffer, append to and overwrite the first message's slices, and check
// that the others (and a second receive's) are unchanged.
func TestReceiveSlicesIndependent(t *testing.T) {
	e := newQEnv(t)
	q := e.create("own", DefaultQueueAttributes(false))
	var msgs []SendMessage
	for _, body := range []string{"first", "second", "third"} {
		msgs = append(msgs, SendMessage{Body: []byte(body), Attributes: []MessageAttribute{
			{Name: "bin", DataType: "Binary", BinaryValue: []byte(body + "-bin")},
			{Name: "str", DataType: "String", StringValue: body + "-str"},
		}})
	}
	if _, err := q.Send(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	got := receive(t, q, 10, time.Minute)
	if len(got) != 3 {
		t.Fatalf("received %d messages, want 3", len(got))
	}
	first := got[0]
	receipt1 := string(got[1].Receipt)
	_ = append(first.Body, "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"...)
	_ = append(first.Receipt, "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"...)
	_ = append(first.Attributes[0].BinaryValue, "XXXXXXXXXXXXXXXXXXXXXXXX"...)
	_ = append(first.Attributes, MessageAttribute{Name: "clobber"})
	for i := range first.Body {
		first.Body[i] = 'Z'
	}
	for i, m := range got[1:] {
		body := []string{"second", "third"}[i]
		if string(m.Body) != body || string(m.Attributes[0].BinaryValue) != body+"-bin" ||
			m.Attributes[0].Name != "bin" || m.Attributes[1].StringValue != body+"-str" {
			t.Fatalf("message %d changed by writes to message 0: body %q attrs %+v", i+1, m.Body, m.Attributes)
		}
	}
	if string(got[1].Receipt) != receipt1 {
		t.Fatalf("receipt of message 1 changed by an append to message 0's")
	}
	deleteAll(t, q, got[1:])
	if errs := q.Delete([][]byte{first.Receipt}); errs[0] != nil {
		t.Fatalf("delete with the first receipt after appending to a copy: %v", errs[0])
	}
}

// TestFIFODedupConcurrent checks deduplication between concurrent sends,
// whose reservations share one done channel per batch: of 8 goroutines
// sending batches with overlapping deduplication ids (and an in-batch
// repeat) at once, each id is stored once; every result for an id names
// the same message id and sequence number; the queue holds exactly the
// distinct ids.
func TestFIFODedupConcurrent(t *testing.T) {
	e := newQEnv(t)
	q := e.create("dedup.fifo", DefaultQueueAttributes(true))
	const senders = 8
	ids := []string{"a", "b", "c", "d", "a"} // "a" twice in one batch
	results := make([][]SendResult, senders)
	errs := make([]error, senders)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			batch := make([]SendMessage, len(ids))
			for i, id := range ids {
				// Rotate so concurrent batches reserve in different orders.
				id = ids[(i+g)%(len(ids)-1)]
				if i == len(ids)-1 {
					id = batch[0].DeduplicationID
				}
				batch[i] = SendMessage{Body: []byte("m-" + id), GroupID: "g-" + id, DeduplicationID: id}
			}
			<-start
			results[g], errs[g] = q.Send(context.Background(), batch)
		}()
	}
	close(start)
	wg.Wait()
	byID := map[string]SendResult{}
	stored := 0
	for g := range senders {
		if errs[g] != nil {
			t.Fatalf("sender %d: %v", g, errs[g])
		}
		for i, r := range results[g] {
			id := ids[(i+g)%(len(ids)-1)]
			if i == len(ids)-1 {
				id = ids[g%(len(ids)-1)]
			}
			if r.Err != nil {
				t.Fatalf("sender %d entry %d: %v", g, i, r.Err)
			}
			if !r.Duplicate {
				stored++
			}
			if prev, ok := byID[id]; ok && (prev.MessageID != r.MessageID || prev.SequenceNumber != r.SequenceNumber) {
				t.Fatalf("id %s: results disagree: %+v vs %+v", id, prev, r)
			}
			byID[id] = r
		}
	}
	if stored != len(ids)-1 {
		t.Fatalf("%d sends stored, want %d (one per distinct id)", stored, len(ids)-1)
	}
	if got := receive(t, q, 10, time.Minute); len(got) != len(ids)-1 {
		t.Fatalf("queue holds %d messages, want %d", len(got), len(ids)-1)
	}
}
