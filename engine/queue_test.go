package engine

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

var testNS = Namespace{Account: "000000000000", Region: "us-east-1"}

// bubble runs fn in a synctest bubble (fake clock). It used to empty
// segment's sync.Pool of append requests around the bubble (their channels
// must not cross a bubble's edge); segment now keeps a free list per Log
// (segment TestSynctestBubbleThenOutside), so no workaround is needed.
func bubble(t *testing.T, fn func(t *testing.T)) {
	t.Helper()
	synctest.Test(t, fn)
}

// qenv is a DB with helpers for queue tests.
type qenv struct {
	t  *testing.T
	fs vfs.FS
	db *DB
}

func newQEnv(t *testing.T) *qenv {
	t.Helper()
	e := &qenv{t: t, fs: vfs.NewMem()}
	e.open()
	t.Cleanup(func() {
		if e.db != nil {
			if err := e.db.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}
	})
	return e
}

func (e *qenv) open() {
	e.t.Helper()
	db, err := Open("data", &Options{FS: e.fs, SegmentSizeBytes: 64 << 10})
	if err != nil {
		e.t.Fatalf("Open: %v", err)
	}
	e.db = db
}

// reopen closes and opens the DB again (a clean restart).
func (e *qenv) reopen() {
	e.t.Helper()
	if err := e.db.Close(); err != nil {
		e.t.Fatalf("Close: %v", err)
	}
	e.open()
}

func (e *qenv) create(name string, attrs QueueAttributes) *Queue {
	e.t.Helper()
	if _, err := e.db.CreateQueue(testNS, name, attrs, nil); err != nil {
		e.t.Fatalf("CreateQueue %s: %v", name, err)
	}
	return e.queue(name)
}

func (e *qenv) queue(name string) *Queue {
	e.t.Helper()
	q, err := e.db.Queue(testNS, name)
	if err != nil {
		e.t.Fatalf("Queue %s: %v", name, err)
	}
	return q
}

func sendBodies(t *testing.T, q *Queue, bodies ...string) []SendResult {
	t.Helper()
	msgs := make([]SendMessage, len(bodies))
	for i, b := range bodies {
		msgs[i] = SendMessage{Body: []byte(b)}
	}
	res, err := q.Send(context.Background(), msgs)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("Send entry %d: %v", i, r.Err)
		}
	}
	return res
}

// sendOne sends one message with body to q, in group "g" with
// deduplication id "d" if q is FIFO, and fails the test unless it is sent.
func sendOne(t *testing.T, q *Queue, body string) SendResult {
	t.Helper()
	m := SendMessage{Body: []byte(body)}
	if q.fifo {
		m.GroupID, m.DeduplicationID = "g", "d"
	}
	res, err := q.Send(context.Background(), []SendMessage{m})
	if err != nil || res[0].Err != nil {
		t.Fatalf("Send to %s: %v %+v", q.ref.Name, err, res)
	}
	return res[0]
}

func receive(t *testing.T, q *Queue, max int, visibility time.Duration) []ReceivedMessage {
	t.Helper()
	wait := time.Duration(0)
	msgs, err := q.Receive(context.Background(), ReceiveOptions{Max: max, Visibility: &visibility, Wait: &wait})
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	return msgs
}

func bodiesOf(msgs []ReceivedMessage) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = string(m.Body)
	}
	return out
}

func deleteAll(t *testing.T, q *Queue, msgs []ReceivedMessage) {
	t.Helper()
	receipts := make([][]byte, len(msgs))
	for i, m := range msgs {
		receipts[i] = m.Receipt
	}
	for i, err := range q.Delete(receipts) {
		if err != nil {
			t.Fatalf("Delete %d: %v", i, err)
		}
	}
}

// TestQueueBasic: send, receive in order with attributes, counts, delete,
// and nothing left afterwards; delete is idempotent.
func TestQueueBasic(t *testing.T) {
	e := newQEnv(t)
	q := e.create("basic", DefaultQueueAttributes(false))
	res, err := q.Send(context.Background(), []SendMessage{
		{Body: []byte("a"), Attributes: []MessageAttribute{{Name: "k", DataType: "String", StringValue: "v"}}, SenderID: "me"},
		{Body: []byte("b")},
		{}, // invalid: empty body
		{Body: []byte("c")},
	})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	var ve *ValidationError
	if res[2].Err == nil || !errors.As(res[2].Err, &ve) {
		t.Fatalf("empty body: err %v", res[2].Err)
	}
	if c := q.Counts(); c.Visible != 3 || c.InFlight != 0 {
		t.Fatalf("counts %+v", c)
	}
	msgs := receive(t, q, 10, 30*time.Second)
	if got := fmt.Sprint(bodiesOf(msgs)); got != "[a b c]" {
		t.Fatalf("bodies %s", got)
	}
	if msgs[0].MessageID != res[0].MessageID || msgs[0].SenderID != "me" || msgs[0].ReceiveCount != 1 ||
		len(msgs[0].Attributes) != 1 || msgs[0].Attributes[0].StringValue != "v" {
		t.Fatalf("message 0: %+v", msgs[0])
	}
	if c := q.Counts(); c.Visible != 0 || c.InFlight != 3 {
		t.Fatalf("counts after receive %+v", c)
	}
	if more := receive(t, q, 10, 30*time.Second); len(more) != 0 {
		t.Fatalf("received in-flight messages again: %v", bodiesOf(more))
	}
	deleteAll(t, q, msgs)
	deleteAll(t, q, msgs) // idempotent
	if c := q.Counts(); c != (QueueCounts{}) {
		t.Fatalf("counts after delete %+v", c)
	}
	if errs := q.Delete([][]byte{[]byte("junk")}); !errors.Is(errs[0], ErrReceiptInvalid) {
		t.Fatalf("junk receipt: %v", errs[0])
	}
}

// TestQueueVisibility uses a fake clock (synctest) to check expiry and
// redelivery with a new receipt generation, ChangeVisibility (extend, 0,
// stale, not in flight, 12 h limit) and standard-queue delete with a stale
// receipt.
func TestQueueVisibility(t *testing.T) {
	bubble(t, func(t *testing.T) {
		e := newQEnv(t)
		q := e.create("vis", DefaultQueueAttributes(false))
		sendBodies(t, q, "m")
		first := receive(t, q, 1, 10*time.Second)
		time.Sleep(9 * time.Second)
		if got := receive(t, q, 1, 10*time.Second); len(got) != 0 {
			t.Fatalf("redelivered before expiry")
		}
		if err := q.ChangeVisibility(first[0].Receipt, 5*time.Second); err != nil {
			t.Fatalf("ChangeVisibility: %v", err)
		}
		time.Sleep(4 * time.Second)
		if got := receive(t, q, 1, 10*time.Second); len(got) != 0 {
			t.Fatalf("redelivered before extended expiry")
		}
		time.Sleep(time.Second)
		second := receive(t, q, 1, 10*time.Second)
		if len(second) != 1 || second[0].ReceiveCount != 2 || string(second[0].Body) != "m" {
			t.Fatalf("redelivery: %+v", second)
		}
		// A standard queue applies an earlier delivery's receipt to the
		// current delivery (TestStaleReceiptChangeVisibility).
		if err := q.ChangeVisibility(first[0].Receipt, 10*time.Second); err != nil {
			t.Fatalf("stale CV: %v", err)
		}
		var ve *ValidationError
		if err := q.ChangeVisibility(second[0].Receipt, 12*time.Hour+time.Second); !errors.As(err, &ve) {
			t.Fatalf("CV over 12h: %v", err)
		}
		if err := q.ChangeVisibility(second[0].Receipt, 0); err != nil {
			t.Fatalf("CV 0: %v", err)
		}
		if err := q.ChangeVisibility(second[0].Receipt, time.Second); !errors.Is(err, ErrMessageNotInflight) {
			t.Fatalf("CV of visible message: %v", err)
		}
		third := receive(t, q, 1, 10*time.Second)
		if len(third) != 1 || third[0].ReceiveCount != 3 {
			t.Fatalf("after CV 0: %+v", third)
		}
		// Standard queue: a stale receipt still deletes.
		deleteAll(t, q, first)
		time.Sleep(time.Minute)
		if got := receive(t, q, 1, time.Second); len(got) != 0 {
			t.Fatalf("message came back after stale-receipt delete")
		}
	})
}

// TestQueueExpiredReceipt checks a receipt whose visibility timeout ran out
// with no receive since (so nothing has applied the expiry). The bug:
// ChangeVisibility succeeded and hid the visible message again, and a FIFO
// Delete deleted it. Now ChangeVisibility is ErrMessageNotInflight and a
// FIFO Delete ErrReceiptStale, as when a receive had applied the expiry,
// and the message stays receivable.
func TestQueueExpiredReceipt(t *testing.T) {
	bubble(t, func(t *testing.T) {
		e := newQEnv(t)
		std := e.create("exp", DefaultQueueAttributes(false))
		sendBodies(t, std, "m")
		got := receive(t, std, 1, 10*time.Second)
		time.Sleep(10 * time.Second)
		if err := std.ChangeVisibility(got[0].Receipt, time.Minute); !errors.Is(err, ErrMessageNotInflight) {
			t.Fatalf("ChangeVisibility of an expired delivery: %v", err)
		}
		if errs := std.ChangeVisibilityBatch([][]byte{got[0].Receipt}, []time.Duration{time.Minute}); !errors.Is(errs[0], ErrMessageNotInflight) {
			t.Fatalf("ChangeVisibilityBatch of an expired delivery: %v", errs[0])
		}
		if c := std.Counts(); c.Visible != 1 || c.InFlight != 0 {
			t.Fatalf("counts after ChangeVisibility of an expired delivery: %+v", c)
		}
		if again := receive(t, std, 1, 10*time.Second); len(again) != 1 || again[0].ReceiveCount != 2 {
			t.Fatalf("redelivery: %+v", again)
		}

		fifo := e.create("exp.fifo", DefaultQueueAttributes(true))
		if _, err := fifo.Send(context.Background(), []SendMessage{{Body: []byte("f"), GroupID: "g", DeduplicationID: "d"}}); err != nil {
			t.Fatalf("Send: %v", err)
		}
		got = receive(t, fifo, 1, 10*time.Second)
		time.Sleep(10 * time.Second)
		if errs := fifo.Delete([][]byte{got[0].Receipt}); !errors.Is(errs[0], ErrReceiptStale) {
			t.Fatalf("FIFO Delete with an expired receipt: %v", errs[0])
		}
		again := receive(t, fifo, 1, 10*time.Second)
		if len(again) != 1 || string(again[0].Body) != "f" {
			t.Fatalf("FIFO message after a refused delete: %+v", again)
		}
		deleteAll(t, fifo, again)
	})
}

// TestChangeVisibilityOfDeletedMessage checks ChangeVisibility with the
// receipt of a message deleted since. Bug story: it answered
// ErrMessageNotInflight, which the SQS layer sends as MessageNotInflight;
// AWS answers InvalidParameterValue "Message does not exist or is not
// available for visibility timeout change", the stale-receipt answer.
// Method: for a standard and a FIFO queue, receive, delete, then change
// the visibility with the same receipt (one and batch).
func TestChangeVisibilityOfDeletedMessage(t *testing.T) {
	bubble(t, func(t *testing.T) {
		e := newQEnv(t)
		for _, fifo := range []bool{false, true} {
			name := "gone"
			if fifo {
				name += ".fifo"
			}
			q := e.create(name, DefaultQueueAttributes(fifo))
			sendOne(t, q, "m")
			got := receive(t, q, 1, time.Minute)
			if len(got) != 1 {
				t.Fatalf("%s: receive: %+v", name, got)
			}
			deleteAll(t, q, got)
			if err := q.ChangeVisibility(got[0].Receipt, time.Minute); !errors.Is(err, ErrReceiptStale) {
				t.Fatalf("%s: ChangeVisibility of a deleted message: %v, want ErrReceiptStale", name, err)
			}
			if errs := q.ChangeVisibilityBatch([][]byte{got[0].Receipt}, []time.Duration{0}); !errors.Is(errs[0], ErrReceiptStale) {
				t.Fatalf("%s: ChangeVisibilityBatch of a deleted message: %v, want ErrReceiptStale", name, errs[0])
			}
			if c := q.Counts(); c.Visible != 0 || c.InFlight != 0 {
				t.Fatalf("%s: counts after it: %+v", name, c)
			}
		}
	})
}

// TestStaleReceiptChangeVisibility checks ChangeVisibility with the
// receipt of an earlier delivery of a message in flight again. AWS applies
// it to the current delivery on a standard queue (LocalStack's
// AWS-validated test_terminate_visibility_timeout_after_receive: receive
// with visibility 0, receive again with 3 s, change the first receipt's
// visibility to 0, and the message is receivable at once). Bug story:
// Sluice refused it as stale. A FIFO receipt still expires with its
// delivery (ErrReceiptStale), and the delivery stays in flight.
func TestStaleReceiptChangeVisibility(t *testing.T) {
	bubble(t, func(t *testing.T) {
		e := newQEnv(t)
		for _, fifo := range []bool{false, true} {
			name := "stale"
			if fifo {
				name += ".fifo"
			}
			q := e.create(name, DefaultQueueAttributes(fifo))
			sendOne(t, q, "m")
			first := receive(t, q, 1, 0)
			second := receive(t, q, 1, 3*time.Second)
			if len(first) != 1 || len(second) != 1 || second[0].ReceiveCount != 2 {
				t.Fatalf("%s: receives: %+v / %+v", name, first, second)
			}
			err := q.ChangeVisibility(first[0].Receipt, 0)
			again := receive(t, q, 1, time.Minute)
			if !fifo {
				if err != nil || len(again) != 1 || again[0].ReceiveCount != 3 {
					t.Fatalf("%s: ChangeVisibility(first receipt, 0) = %v, then receive %+v; want the message again at once", name, err, again)
				}
				continue
			}
			if !errors.Is(err, ErrReceiptStale) || len(again) != 0 {
				t.Fatalf("%s: ChangeVisibility(first receipt, 0) = %v, then receive %+v; want ErrReceiptStale and the delivery still in flight", name, err, again)
			}
		}
	})
}
