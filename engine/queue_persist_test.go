package engine

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
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

// moveEnv builds a DLQ "dlq" holding n messages moved there by redrive
// from "src" (MaxReceiveCount 1), ready for a move task.
func moveEnv(t *testing.T, e *qenv, n int) QueueRef {
	t.Helper()
	e.create("dlq", DefaultQueueAttributes(false))
	dlqRef := QueueRef{Namespace: testNS, Name: "dlq"}
	attrs := DefaultQueueAttributes(false)
	attrs.Redrive = &RedrivePolicy{DeadLetterTarget: dlqRef, MaxReceiveCount: 1}
	src := e.create("src", attrs)
	for i := 0; i < n; i += 10 {
		bodies := make([]string, min(10, n-i))
		for j := range bodies {
			bodies[j] = "m"
		}
		sendBodies(t, src, bodies...)
	}
	for got := 0; got < n; {
		got += len(receive(t, src, 10, time.Second))
	}
	time.Sleep(time.Second)
	// Each message is past MaxReceiveCount now: receives move them.
	for range n {
		if msgs := receive(t, src, 10, time.Second); len(msgs) != 0 {
			t.Fatalf("received %d messages instead of moving them", len(msgs))
		}
		if int(e.queue("dlq").Counts().Visible) == n {
			break
		}
	}
	if got := e.queue("dlq").Counts().Visible; int(got) != n {
		t.Fatalf("%d messages in the DLQ, want %d", got, n)
	}
	return dlqRef
}

// TestMoveTaskRecordsSurviveRestart checks what ListMoveTasks shows after
// a restart: a finished task as it ended; a task running at Close as
// FAILED (interrupted) with the messages it moved; a task running at a
// crash (its record still says RUNNING) as FAILED too; and that a new task
// can start afterwards and move the rest. Method: a DLQ with 30 messages,
// tasks at 1 message per second (10 per step, one step every 10 s), a
// synctest bubble to stop the clock while a task waits between steps, a
// clean reopen, and a CrashClone of the file system that keeps only
// synced data.
func TestMoveTaskRecordsSurviveRestart(t *testing.T) {
	bubble(t, func(t *testing.T) {
		fs := vfs.NewCrashableMem()
		e := &qenv{t: t, fs: fs}
		e.open()
		defer func() {
			if err := e.db.Close(); err != nil {
				t.Error(err)
			}
		}()
		dlq := moveEnv(t, e, 30)

		h1, err := e.db.StartMoveTask(dlq, nil, 1)
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // first step done, waiting 10 s for the next
		if _, err := e.db.StartMoveTask(dlq, nil, 1); err == nil {
			t.Fatal("second task started while one runs")
		}
		e.reopen()
		tasks, err := e.db.ListMoveTasks(dlq, 0)
		if err != nil || len(tasks) != 1 {
			t.Fatalf("ListMoveTasks after Close: %+v %v", tasks, err)
		}
		if got := tasks[0]; got.Handle != h1 || got.Status != MoveTaskFailed || got.Failure != moveTaskInterrupted || got.Moved != 10 || got.ToMove != 30 {
			t.Fatalf("task running at Close: %+v, want FAILED (interrupted) after moving 10 of 30", got)
		}
		if _, err := e.db.CancelMoveTask(h1); err == nil || !strings.Contains(err.Error(), MoveTaskFailed) {
			t.Fatalf("cancel of an interrupted task: %v, want a validation error naming FAILED", err)
		}

		// A task running when the machine crashes.
		time.Sleep(time.Second)
		h2, err := e.db.StartMoveTask(dlq, nil, 1)
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		crashed := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0, RNG: rand.New(rand.NewPCG(1, 2))})
		after, err := Open("data", &Options{FS: crashed, SegmentSizeBytes: 64 << 10})
		if err != nil {
			t.Fatal(err)
		}
		tasks, err = after.ListMoveTasks(dlq, 0)
		if err != nil || len(tasks) != 2 || tasks[0].Handle != h2 || tasks[1].Handle != h1 {
			t.Fatalf("ListMoveTasks after a crash: %+v %v", tasks, err)
		}
		if got := tasks[0]; got.Status != MoveTaskFailed || got.Failure != moveTaskInterrupted {
			t.Fatalf("task running at a crash: %+v, want FAILED (interrupted)", got)
		}
		if err := after.Close(); err != nil {
			t.Fatal(err)
		}

		// The running original finishes; a finished task stays COMPLETED.
		time.Sleep(time.Minute)
		e.reopen()
		tasks, err = e.db.ListMoveTasks(dlq, 1)
		if err != nil || len(tasks) != 1 || tasks[0].Handle != h2 {
			t.Fatalf("ListMoveTasks(1): %+v %v", tasks, err)
		}
		if got := tasks[0]; got.Status != MoveTaskCompleted || got.Moved != 20 || got.Failure != "" {
			t.Fatalf("task that finished before Close: %+v, want COMPLETED moving 20", got)
		}
		if n := e.queue("dlq").Counts().Visible; n != 0 {
			t.Fatalf("%d messages left in the DLQ", n)
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
		dlq := moveEnv(t, e, 20)
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
