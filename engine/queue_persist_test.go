package engine

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sluice-dev/sluice/index"
)

// TestQueueTimingWindowsSurviveRestart checks that the two 60-second
// windows AWS enforces hold across a restart: a purge within 60 s of the
// previous one (ErrPurgeInProgress) and creating a queue within 60 s of
// deleting its name (ErrQueueDeletedRecently). Method: in a synctest bubble
// (fake clock), purge / delete, reopen the DB, retry at once (refused) and
// after the window (allowed). It also checks that deleted-name records
// older than the window are dropped by the next delete, so they do not
// accumulate.
func TestQueueTimingWindowsSurviveRestart(t *testing.T) {
	bubble(t, func(t *testing.T) {
		e := newQEnv(t)
		q := e.create("purged", DefaultQueueAttributes(false))
		if err := q.Purge(); err != nil {
			t.Fatal(err)
		}
		e.create("deleted", DefaultQueueAttributes(false))
		if err := e.db.DeleteQueue(testNS, "deleted"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(30 * time.Second)
		e.reopen()
		if err := e.queue("purged").Purge(); !errors.Is(err, ErrPurgeInProgress) {
			t.Fatalf("purge 30 s after a purge, across a restart: %v, want ErrPurgeInProgress", err)
		}
		if _, err := e.db.CreateQueue(testNS, "deleted", DefaultQueueAttributes(false), nil); !errors.Is(err, ErrQueueDeletedRecently) {
			t.Fatalf("create 30 s after delete, across a restart: %v, want ErrQueueDeletedRecently", err)
		}
		time.Sleep(30 * time.Second)
		e.reopen()
		if err := e.queue("purged").Purge(); err != nil {
			t.Fatalf("purge 60 s after a purge: %v", err)
		}
		e.create("deleted", DefaultQueueAttributes(false))

		// Only deletes of the last minute stay recorded.
		e.create("other", DefaultQueueAttributes(false))
		if err := e.db.DeleteQueue(testNS, "other"); err != nil {
			t.Fatal(err)
		}
		n := 0
		if err := e.db.index.ScanPrefix(deletedNamesPrefix(), func(_, _ []byte) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("%d deleted-name records, want 1 (the older one is past the window)", n)
		}
	})
}

// TestMoveTaskStoppedByDeleteQueue checks that deleting the source queue
// of a running task stops the task and leaves no record behind (the
// task's keys go with the queue). Method: start a slow task, delete the
// DLQ, and check that the task's goroutine ended and the index holds no
// key under the deleted queue's entity.
func TestMoveTaskStoppedByDeleteQueue(t *testing.T) {
	bubble(t, func(t *testing.T) {
		e := newQEnv(t)
		dlq, _ := redrivenDLQ(t, e, 20)
		entity := e.queue("dlq").entity
		if _, err := e.db.StartMoveTask(dlq, nil, 1); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if err := e.db.DeleteQueue(testNS, "dlq"); err != nil {
			t.Fatal(err)
		}
		reg := e.db.queues()
		reg.mu.Lock()
		running := len(reg.mu.tasks)
		reg.mu.Unlock()
		if running != 0 {
			t.Fatalf("%d tasks still registered after deleting their source", running)
		}
		keys := 0
		if err := e.db.index.ScanPrefix(index.EntityPrefix(nil, entity), func(_, _ []byte) error { keys++; return nil }); err != nil {
			t.Fatal(err)
		}
		if keys != 0 {
			t.Fatalf("%d index keys left under the deleted queue", keys)
		}
	})
}

// TestFIFOAttemptIDSurvivesRestart checks that a ReceiveRequestAttemptId
// retried after a restart (within its 5 minutes, messages still in flight)
// returns the same messages with the same receipts, as AWS promises for
// the retry of a receive whose answer was lost; and that an unknown
// attempt id after the restart is an ordinary receive. Method: receive
// with an attempt id, reopen, retry; then let the 5 minutes pass, reopen
// and check the attempt is forgotten.
func TestFIFOAttemptIDSurvivesRestart(t *testing.T) {
	bubble(t, func(t *testing.T) {
		e := newQEnv(t)
		attrs := DefaultQueueAttributes(true)
		attrs.ContentBasedDeduplication = true
		q := e.create("attempt.fifo", attrs)
		var msgs []SendMessage
		for _, b := range []string{"a1", "a2", "b1"} {
			msgs = append(msgs, SendMessage{Body: []byte(b), GroupID: b[:1]})
		}
		if _, err := q.Send(context.Background(), msgs); err != nil {
			t.Fatal(err)
		}
		vis, wait := 10*time.Minute, time.Duration(0)
		opts := ReceiveOptions{Max: 2, Visibility: &vis, Wait: &wait, AttemptID: "try-1"}
		first, err := q.Receive(context.Background(), opts)
		if err != nil || len(first) != 2 {
			t.Fatalf("first receive: %d messages, %v", len(first), err)
		}
		e.reopen()
		q = e.queue("attempt.fifo")
		again, err := q.Receive(context.Background(), opts)
		if err != nil || len(again) != len(first) {
			t.Fatalf("retry after restart: %d messages, %v; want the same %d", len(again), err, len(first))
		}
		for i := range first {
			if again[i].MessageID != first[i].MessageID || string(again[i].Receipt) != string(first[i].Receipt) {
				t.Fatalf("retry %d: got %s/%x, want %s/%x", i, again[i].MessageID, again[i].Receipt, first[i].MessageID, first[i].Receipt)
			}
		}
		other := opts
		other.AttemptID = "try-2"
		if got, err := q.Receive(context.Background(), other); err != nil || len(got) != 1 || string(got[0].Body) != "b1" {
			t.Fatalf("new attempt id: %v %v, want [b1]", bodiesOf(got), err)
		}

		// After 5 minutes the attempt is gone: a retry is a new receive
		// (nothing is visible: everything is in flight for 10 minutes).
		time.Sleep(dedupInterval + time.Second)
		e.reopen()
		q = e.queue("attempt.fifo")
		if got, err := q.Receive(context.Background(), opts); err != nil || len(got) != 0 {
			t.Fatalf("expired attempt id: %v %v, want an ordinary (empty) receive", bodiesOf(got), err)
		}
	})
}

// TestDeleteAfterRestartBeforeScan checks deletes made with receipts from
// before a restart, before the restore cursor has loaded those messages'
// persisted (in flight) state: it must not bring them back, though the
// deletes are still only pending (write-behind), or taken by a state flush
// that has not committed them, when it loads them; nor after the next
// restart. Method: restore pages of 2 keys and an open
// scan that stops after 2 visible messages; 8 messages received with a
// 30 s visibility, the first 3 made visible again; a clean restart (the
// open scan stops at seq 3, its page loaded up to seq 2); messages 6-8
// deleted with their old receipts; a receive at once (it loads the pages
// of 3-8 before any state flush); then, past the visibility, only 1-5
// come back, and again after another restart.
func TestDeleteAfterRestartBeforeScan(t *testing.T) {
	defer func(page, scan int) { restorePageSize, restoreScanMax = page, scan }(restorePageSize, restoreScanMax)
	restorePageSize, restoreScanMax = 2, 2
	// "flushing": the deletes were taken by a state flush that has not
	// committed them yet when the restore page loads (simulated by moving
	// them to the flush's map, and back afterwards).
	for _, where := range []string{"pending", "flushing"} {
		t.Run(where, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				e := newQEnv(t)
				q := e.create("q", DefaultQueueAttributes(false))
				sendBodies(t, q, "1", "2", "3", "4", "5", "6", "7", "8")
				msgs := receive(t, q, 10, 30*time.Second)
				if len(msgs) != 8 {
					t.Fatalf("received %d of 8", len(msgs))
				}
				for i, err := range q.ChangeVisibilityBatch([][]byte{msgs[0].Receipt, msgs[1].Receipt, msgs[2].Receipt},
					[]time.Duration{0, 0, 0}) {
					if err != nil {
						t.Fatalf("ChangeVisibility %d: %v", i, err)
					}
				}
				e.reopen()
				q = e.queue("q")
				deleteAll(t, q, msgs[5:])
				if where == "flushing" {
					q.mu.Lock()
					q.mu.flushing, q.mu.pending = q.mu.pending, nil
					q.mu.Unlock()
				}
				got := bodiesOf(receive(t, q, 10, 30*time.Second))
				if where == "flushing" {
					q.mu.Lock()
					q.mu.pending, q.mu.flushing = q.mu.flushing, nil
					q.mu.Unlock()
				}
				if want := []string{"1", "2", "3"}; !slices.Equal(got, want) {
					t.Fatalf("received %q at once after the restart, want %q", got, want)
				}
				want := []string{"1", "2", "3", "4", "5"}
				for round := 0; round < 2; round++ {
					time.Sleep(31 * time.Second)
					got := bodiesOf(receive(t, e.queue("q"), 10, 30*time.Second))
					slices.Sort(got)
					if !slices.Equal(got, want) {
						t.Fatalf("round %d: received %q, want %q (6-8 were deleted)", round, got, want)
					}
					e.reopen()
				}
			})
		})
	}
}
