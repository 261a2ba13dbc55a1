package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestQueueRestart sends 300 messages, deletes every third, keeps some in
// flight, restarts cleanly and checks: deleted messages never come back,
// every other message is delivered, in-flight messages stay in flight with
// valid receipts until their deadline, and receive counts survive.
func TestQueueRestart(t *testing.T) {
	bubble(t, func(t *testing.T) {
		e := newQEnv(t)
		q := e.create("restart", DefaultQueueAttributes(false))
		for i := 0; i < 300; i += 10 {
			var batch []string
			for j := i; j < i+10; j++ {
				batch = append(batch, fmt.Sprint(j))
			}
			sendBodies(t, q, batch...)
		}
		var inflight, release []ReceivedMessage
		for {
			msgs := receive(t, q, 10, time.Minute)
			if len(msgs) == 0 {
				break
			}
			for _, m := range msgs {
				var n int
				if _, err := fmt.Sscan(string(m.Body), &n); err != nil {
					t.Fatal(err)
				}
				switch n % 3 {
				case 0:
					deleteAll(t, q, []ReceivedMessage{m})
				case 1:
					inflight = append(inflight, m)
				default:
					release = append(release, m)
				}
			}
		}
		for _, m := range release {
			if err := q.ChangeVisibility(m.Receipt, 0); err != nil {
				t.Fatal(err)
			}
		}
		e.reopen()
		q = e.queue("restart")
		// Everything visible now: the n%3==2 ones and all never received.
		var got []string
		for {
			msgs := receive(t, q, 10, time.Hour)
			if len(msgs) == 0 {
				break
			}
			got = append(got, bodiesOf(msgs)...)
			for _, m := range msgs {
				if m.ReceiveCount < 1 {
					t.Fatalf("bad receive count %d", m.ReceiveCount)
				}
			}
		}
		// In-flight ones are still in flight; their old receipts delete.
		for _, m := range inflight[:10] {
			if err := q.ChangeVisibility(m.Receipt, 0); err != nil {
				t.Fatalf("CV with pre-restart receipt: %v", err)
			}
		}
		time.Sleep(time.Minute)
		for {
			msgs := receive(t, q, 10, time.Hour)
			if len(msgs) == 0 {
				break
			}
			for _, m := range msgs {
				if m.ReceiveCount != 2 {
					t.Fatalf("in-flight message %s redelivered with count %d, want 2", m.Body, m.ReceiveCount)
				}
			}
			got = append(got, bodiesOf(msgs)...)
		}
		var all []string
		for i := 0; i < 300; i++ {
			if i%3 != 0 {
				all = append(all, fmt.Sprint(i))
			}
		}
		slices.Sort(all)
		slices.Sort(got)
		if !slices.Equal(all, got) {
			t.Fatalf("after restart got %d messages, want %d:\n got %v\nwant %v", len(got), len(all), got, all)
		}
	})
}

// TestQueueFIFO checks group ordering and locking, content-based and
// explicit dedup (original id returned, not stored twice), sequence
// numbers, the per-message delay rule and attempt-id replay.
func TestQueueFIFO(t *testing.T) {
	e := newQEnv(t)
	attrs := DefaultQueueAttributes(true)
	attrs.ContentBasedDeduplication = true
	q := e.create("f.fifo", attrs)
	ctx := context.Background()
	send := func(group, body, dedup string) SendResult {
		t.Helper()
		res, err := q.Send(ctx, []SendMessage{{Body: []byte(body), GroupID: group, DeduplicationID: dedup}})
		if err != nil || res[0].Err != nil {
			t.Fatalf("Send: %v %v", err, res[0].Err)
		}
		return res[0]
	}
	a1 := send("a", "a1", "")
	send("b", "b1", "")
	send("a", "a2", "")
	dup := send("a", "a1", "") // content duplicate of a1
	if !dup.Duplicate || dup.MessageID != a1.MessageID || dup.SequenceNumber != a1.SequenceNumber {
		t.Fatalf("duplicate: %+v vs %+v", dup, a1)
	}
	x := send("b", "b2", "explicit")
	if y := send("b", "other body", "explicit"); !y.Duplicate || y.MessageID != x.MessageID {
		t.Fatalf("explicit dedup: %+v", y)
	}
	d := time.Second
	if res, _ := q.Send(ctx, []SendMessage{{Body: []byte("z"), GroupID: "a", DeduplicationID: "z", Delay: &d}}); res[0].Err == nil {
		t.Fatalf("per-message delay accepted on FIFO")
	}
	// First receive of 2: group a (oldest head) in order.
	vis := time.Minute
	r1, err := q.Receive(ctx, ReceiveOptions{Max: 2, Visibility: &vis, AttemptID: "try1"})
	if err != nil || fmt.Sprint(bodiesOf(r1)) != "[a1 a2]" {
		t.Fatalf("first receive: %v %v", err, bodiesOf(r1))
	}
	if r1[0].SequenceNumber >= r1[1].SequenceNumber || r1[0].GroupID != "a" || r1[0].DeduplicationID == "" {
		t.Fatalf("fifo fields: %+v", r1[0])
	}
	// Retry with the same attempt id: same messages, same receipts.
	again, err := q.Receive(ctx, ReceiveOptions{Max: 2, Visibility: &vis, AttemptID: "try1"})
	if err != nil || len(again) != 2 || string(again[0].Receipt) != string(r1[0].Receipt) {
		t.Fatalf("attempt replay: %v %v", err, bodiesOf(again))
	}
	// Group a is locked: next receive gets only group b, in order.
	r2 := receive(t, q, 10, time.Minute)
	if fmt.Sprint(bodiesOf(r2)) != "[b1 b2]" {
		t.Fatalf("second receive: %v", bodiesOf(r2))
	}
	if r3 := receive(t, q, 10, time.Minute); len(r3) != 0 {
		t.Fatalf("locked groups delivered %v", bodiesOf(r3))
	}
	// Deleting a1 but not a2 keeps group a locked; b stays locked too.
	deleteAll(t, q, r1[:1])
	if r := receive(t, q, 10, time.Minute); len(r) != 0 {
		t.Fatalf("delivered while a2 in flight: %v", bodiesOf(r))
	}
	send("a", "a3", "")
	// a2 visible again: group a delivers a2 then a3 in order.
	if err := q.ChangeVisibility(r1[1].Receipt, 0); err != nil {
		t.Fatal(err)
	}
	if r := receive(t, q, 10, time.Minute); fmt.Sprint(bodiesOf(r)) != "[a2 a3]" {
		t.Fatalf("after unlock: %v", bodiesOf(r))
	}
	// FIFO: a stale receipt (a2's first delivery) is rejected.
	if errs := q.Delete([][]byte{r1[1].Receipt}); !errors.Is(errs[0], ErrReceiptStale) {
		t.Fatalf("stale FIFO delete: %v", errs[0])
	}
}

// TestQueueDeadLetter checks redrive: after MaxReceiveCount receives the
// next receive moves the message to the DLQ (same id and body, source
// recorded); DeadLetterSourceQueues lists the source; a move task returns
// the message to its source.
func TestQueueDeadLetter(t *testing.T) {
	bubble(t, func(t *testing.T) {
		e := newQEnv(t)
		e.create("dlq", DefaultQueueAttributes(false))
		dlqRef := QueueRef{Namespace: testNS, Name: "dlq"}
		attrs := DefaultQueueAttributes(false)
		attrs.Redrive = &RedrivePolicy{DeadLetterTarget: dlqRef, MaxReceiveCount: 2}
		src := e.create("src", attrs)
		res := sendBodies(t, src, "poison")
		for i := 1; i <= 2; i++ {
			msgs := receive(t, src, 1, time.Second)
			if len(msgs) != 1 || msgs[0].ReceiveCount != i {
				t.Fatalf("receive %d: %+v", i, msgs)
			}
			time.Sleep(time.Second)
		}
		if msgs := receive(t, src, 1, time.Second); len(msgs) != 0 {
			t.Fatalf("third receive delivered instead of moving")
		}
		dlq := e.queue("dlq")
		msgs := receive(t, dlq, 10, time.Second)
		if len(msgs) != 1 || msgs[0].MessageID != res[0].MessageID || string(msgs[0].Body) != "poison" ||
			msgs[0].DeadLetterSource == nil || msgs[0].DeadLetterSource.Name != "src" {
			t.Fatalf("in dlq: %+v", msgs)
		}
		srcs, err := e.db.DeadLetterSourceQueues(dlqRef, "", 0)
		if err != nil || len(srcs) != 1 || srcs[0].Name != "src" {
			t.Fatalf("DeadLetterSourceQueues: %v %v", srcs, err)
		}
		time.Sleep(time.Second)
		handle, err := e.db.StartMoveTask(dlqRef, nil, 0)
		if err != nil {
			t.Fatalf("StartMoveTask: %v", err)
		}
		synctest.Wait()
		tasks, err := e.db.ListMoveTasks(dlqRef, 0)
		if err != nil || len(tasks) != 1 || tasks[0].Handle != handle || tasks[0].Status != MoveTaskCompleted || tasks[0].Moved != 1 {
			t.Fatalf("ListMoveTasks: %+v %v", tasks, err)
		}
		// A moved-back message is a new message (AWS: a new message id and
		// enqueue time), with the same body and no dead-letter source.
		back := receive(t, src, 1, time.Second)
		if len(back) != 1 || back[0].MessageID == res[0].MessageID || string(back[0].Body) != "poison" ||
			back[0].DeadLetterSource != nil || !back[0].SentTimestamp.After(msgs[0].SentTimestamp) {
			t.Fatalf("moved back: %+v (sent as %+v)", back, res[0])
		}
		if _, err := e.db.CancelMoveTask(handle); err == nil {
			t.Fatalf("cancel of a completed task succeeded")
		}
		// RedriveAllowPolicy denyAll on the DLQ blocks new sources.
		dq := e.queue("dlq")
		da := dq.Info().Attributes
		da.RedriveAllow = &RedriveAllowPolicy{Permission: RedriveDenyAll}
		if err := dq.SetAttributes(da); err != nil {
			t.Fatal(err)
		}
		var ve *ValidationError
		if _, err := e.db.CreateQueue(testNS, "src2", attrs, nil); !errors.As(err, &ve) {
			t.Fatalf("denyAll not enforced: %v", err)
		}
	})
}

// TestQueueRetentionDelayPurge checks that messages past retention are
// never delivered and their segments get reclaimed, that purge drops what
// was sent before it (and is limited to one per minute), and delete/create
// name reuse rules.
func TestQueueRetentionDelayPurge(t *testing.T) {
	bubble(t, func(t *testing.T) {
		e := newQEnv(t)
		attrs := DefaultQueueAttributes(false)
		attrs.MessageRetention = time.Minute
		q := e.create("ret", attrs)
		body := strings.Repeat("x", 1000)
		for i := 0; i < 200; i++ {
			sendBodies(t, q, body, body, body, body, body)
		}
		time.Sleep(time.Minute)
		sendBodies(t, q, "fresh")
		msgs := receive(t, q, 10, time.Second)
		if fmt.Sprint(bodiesOf(msgs)) != "[fresh]" {
			t.Fatalf("got %d messages, want only the fresh one", len(msgs))
		}
		deleteAll(t, q, msgs)
		time.Sleep(time.Second)
		if first := q.log.FirstSeq(); first <= 1 {
			t.Fatalf("expired segments not reclaimed: first seq %d", first)
		}

		sendBodies(t, q, "p1", "p2")
		if err := q.Purge(); err != nil {
			t.Fatal(err)
		}
		if err := q.Purge(); !errors.Is(err, ErrPurgeInProgress) {
			t.Fatalf("second purge: %v", err)
		}
		sendBodies(t, q, "after")
		if got := receive(t, q, 10, time.Second); fmt.Sprint(bodiesOf(got)) != "[after]" {
			t.Fatalf("after purge: %v", bodiesOf(got))
		}

		// Create is idempotent with equal attributes; differs: exists.
		if _, err := e.db.CreateQueue(testNS, "ret", attrs, nil); err != nil {
			t.Fatalf("idempotent create: %v", err)
		}
		other := attrs
		other.Delay = time.Second
		if _, err := e.db.CreateQueue(testNS, "ret", other, nil); !errors.Is(err, ErrQueueExists) {
			t.Fatalf("create with other attrs: %v", err)
		}
		if err := e.db.DeleteQueue(testNS, "ret"); err != nil {
			t.Fatal(err)
		}
		if _, err := q.Send(context.Background(), []SendMessage{{Body: []byte("x")}}); !errors.Is(err, ErrQueueNotFound) {
			t.Fatalf("send to deleted queue: %v", err)
		}
		if _, err := e.db.CreateQueue(testNS, "ret", attrs, nil); !errors.Is(err, ErrQueueDeletedRecently) {
			t.Fatalf("recreate at once: %v", err)
		}
		time.Sleep(purgeInterval)
		q2 := e.create("ret", attrs)
		if got := receive(t, q2, 10, time.Second); len(got) != 0 {
			t.Fatalf("recreated queue has old messages")
		}
	})
}

// TestQueueCountsAfterRestart: counts are right right after open, before
// any receive (one visible, one in flight, one delayed), because open scans
// the log and merges the persisted state. Regression for
// server/sqs TestEngineBugCountsAfterRestart.
func TestQueueCountsAfterRestart(t *testing.T) {
	e := newQEnv(t)
	q := e.create("counts", DefaultQueueAttributes(false))
	sendBodies(t, q, "inflight")
	if got := receive(t, q, 1, 100*time.Second); len(got) != 1 {
		t.Fatalf("receive: %d", len(got))
	}
	sendBodies(t, q, "visible")
	d := 5 * time.Minute
	if _, err := q.Send(context.Background(), []SendMessage{{Body: []byte("delayed"), Delay: &d}}); err != nil {
		t.Fatal(err)
	}
	want := QueueCounts{Visible: 1, InFlight: 1, Delayed: 1}
	if c := q.Counts(); c != want {
		t.Fatalf("before restart %+v, want %+v", c, want)
	}
	e.reopen()
	if c := e.queue("counts").Counts(); c != want {
		t.Fatalf("after restart %+v, want %+v", c, want)
	}
	if got := receive(t, e.queue("counts"), 10, time.Second); fmt.Sprint(bodiesOf(got)) != "[visible]" {
		t.Fatalf("after restart received %v", bodiesOf(got))
	}
}
