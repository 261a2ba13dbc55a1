package engine

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// moveTaskStep is the pause between two batches of a task at 1 message
// per second (10 messages per batch).
const moveTaskStep = 10 * time.Second

// redrivenDLQ builds "src" (redrive to "dlq" at MaxReceiveCount 1) and
// moves n messages with distinct bodies into "dlq" through redrive, so each
// message records "src" as its dead-letter source. It returns the DLQ and
// the bodies.
func redrivenDLQ(t *testing.T, e *qenv, n int) (QueueRef, []string) {
	t.Helper()
	e.create("dlq", DefaultQueueAttributes(false))
	dlq := QueueRef{Namespace: testNS, Name: "dlq"}
	attrs := DefaultQueueAttributes(false)
	attrs.Redrive = &RedrivePolicy{DeadLetterTarget: dlq, MaxReceiveCount: 1}
	src := e.create("src", attrs)
	bodies := make([]string, n)
	for i := range bodies {
		bodies[i] = fmt.Sprintf("m%03d", i)
	}
	for i := 0; i < n; i += 10 {
		sendBodies(t, src, bodies[i:min(i+10, n)]...)
	}
	for got := 0; got < n; {
		got += len(receive(t, src, 10, time.Second))
	}
	time.Sleep(time.Second)
	// Past MaxReceiveCount: each receive moves up to 10 instead of
	// delivering them.
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
	return dlq, bodies
}

// drain receives everything visible in q (keeping it in flight) and
// counts each body.
func drain(t *testing.T, q *Queue) map[string]int {
	t.Helper()
	seen := make(map[string]int)
	for {
		msgs := receive(t, q, 10, time.Hour)
		if len(msgs) == 0 {
			return seen
		}
		for _, m := range msgs {
			seen[string(m.Body)]++
		}
	}
}

// newestTask returns the newest task of src.
func newestTask(t *testing.T, db *DB, src QueueRef) MoveTask {
	t.Helper()
	tasks, err := db.ListMoveTasks(src, 1)
	if err != nil || len(tasks) != 1 {
		t.Fatalf("ListMoveTasks(%s): %+v, %v", src, tasks, err)
	}
	return tasks[0]
}

// activeTaskKeys counts the active-task keys in the index.
func activeTaskKeys(t *testing.T, db *DB) int {
	t.Helper()
	n := 0
	if err := db.index.ScanPrefix(activeMoveTasksPrefix(), func(_, _ []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// runningTasks counts the task goroutines of db's registry.
func runningTasks(db *DB) int {
	reg := db.queues()
	reg.mu.Lock()
	defer reg.mu.Unlock()
	return len(reg.mu.tasks)
}

// crashableEnv is a qenv over a crashable file system; the DB open at the
// end of the test is closed.
func crashableEnv(t *testing.T) (*qenv, *vfs.MemFS) {
	t.Helper()
	fs := vfs.NewCrashableMem()
	e := &qenv{t: t, fs: fs}
	e.open()
	t.Cleanup(func() {
		if err := e.db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e, fs
}

// crashRestart simulates a machine crash: it clones fs keeping the given
// share of unsynced data, closes the running DB (its writes go to the old
// file system, not the clone) and opens the clone.
func crashRestart(e *qenv, fs *vfs.MemFS, unsyncedPercent int) *vfs.MemFS {
	e.t.Helper()
	crashed := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: unsyncedPercent, RNG: rand.New(rand.NewPCG(1, 2))})
	if err := e.db.Close(); err != nil {
		e.t.Fatalf("Close: %v", err)
	}
	e.fs = crashed
	e.open()
	return crashed
}

// TestMoveTaskResumesAfterClose checks that a running task survives two
// clean restarts as AWS keeps it running: the same handle, rate, Started
// and ToMove, RUNNING, Moved continuing from where it was, still the only
// active task of its source, and that it then completes having moved every
// message exactly once (a clean Close loses nothing it recorded). Method:
// 30 messages in a DLQ, a task at 1 message per second (10 per batch, a
// batch every 10 s), a synctest bubble so that restarts happen between
// batches at known fake times.
func TestMoveTaskResumesAfterClose(t *testing.T) {
	bubble(t, func(t *testing.T) {
		e := newQEnv(t)
		dlq, bodies := redrivenDLQ(t, e, 30)
		handle, err := e.db.StartMoveTask(dlq, nil, 1)
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // first batch moved; the task waits 10 s
		first := newestTask(t, e.db, dlq)
		if first.Status != MoveTaskRunning || first.Moved != 10 {
			t.Fatalf("before the restart: %+v, want RUNNING with 10 moved", first)
		}
		for _, wantMoved := range []int64{10, 20} {
			e.reopen()
			synctest.Wait()
			got := newestTask(t, e.db, dlq)
			if got.Handle != handle || got.Status != MoveTaskRunning || got.Moved != wantMoved || got.ToMove != 30 ||
				got.MaxPerSecond != 1 || got.Destination != nil || !got.Started.Equal(first.Started) || got.Failure != "" {
				t.Fatalf("after a restart: %+v, want task %s RUNNING with %d of 30 moved, as started", got, handle, wantMoved)
			}
			var verr *ValidationError
			if _, err := e.db.StartMoveTask(dlq, nil, 1); !errors.As(err, &verr) || verr.Field != "Source" {
				t.Fatalf("second task on the source of a resumed task: %v, want a Source validation error", err)
			}
			time.Sleep(moveTaskStep)
			synctest.Wait()
		}
		got := newestTask(t, e.db, dlq)
		if got.Handle != handle || got.Status != MoveTaskCompleted || got.Moved != 30 {
			t.Fatalf("after the last batch: %+v, want COMPLETED with 30 moved", got)
		}
		if n := runningTasks(e.db); n != 0 {
			t.Fatalf("%d task goroutines after completion", n)
		}
		if n := activeTaskKeys(t, e.db); n != 0 {
			t.Fatalf("%d active-task keys after completion", n)
		}
		seen := drain(t, e.queue("src"))
		for _, b := range bodies {
			if seen[b] != 1 {
				t.Errorf("message %s arrived %d times in the source, want once", b, seen[b])
			}
		}
		if len(seen) != len(bodies) {
			t.Errorf("%d distinct messages in the source, want %d", len(seen), len(bodies))
		}
		if n := e.queue("dlq").Counts().Visible; n != 0 {
			t.Errorf("%d messages left in the DLQ", n)
		}
		// A finished task stays as it ended across a restart.
		e.reopen()
		if got := newestTask(t, e.db, dlq); got.Status != MoveTaskCompleted || got.Moved != 30 {
			t.Fatalf("completed task after a restart: %+v", got)
		}
	})
}

// TestMoveTaskResumesAfterCrash checks that a task running when the
// machine crashes resumes on the next Open and completes, with every
// message delivered at least once and only the batch in flight at the
// crash possibly twice (its dead-letter deletes and the progress write are
// not synced). Method: a crashable file system, a crash clone keeping 0 %
// and 100 % of unsynced writes, taken between two batches of a task at 1
// message per second; fake time moves batch by batch until the task ends.
func TestMoveTaskResumesAfterCrash(t *testing.T) {
	for _, unsynced := range []int{0, 100} {
		t.Run(fmt.Sprintf("unsynced=%d%%", unsynced), func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				e, fs := crashableEnv(t)
				dlq, bodies := redrivenDLQ(t, e, 30)
				handle, err := e.db.StartMoveTask(dlq, nil, 1)
				if err != nil {
					t.Fatal(err)
				}
				synctest.Wait()
				crashRestart(e, fs, unsynced)
				synctest.Wait()
				got := newestTask(t, e.db, dlq)
				if got.Handle != handle || got.Status != MoveTaskRunning || got.Moved < 0 || got.Moved > 10 || got.ToMove != 30 || got.MaxPerSecond != 1 {
					t.Fatalf("after the crash: %+v, want task %s RUNNING with at most 10 of 30 moved", got, handle)
				}
				for i := 0; i < 5 && got.Status == MoveTaskRunning; i++ {
					time.Sleep(moveTaskStep)
					synctest.Wait()
					got = newestTask(t, e.db, dlq)
				}
				if got.Status != MoveTaskCompleted || got.Failure != "" {
					t.Fatalf("resumed task: %+v, want COMPLETED", got)
				}
				seen := drain(t, e.queue("src"))
				total := 0
				for _, b := range bodies {
					if seen[b] == 0 {
						t.Errorf("message %s lost", b)
					}
					total += seen[b]
				}
				if total > len(bodies)+moveTaskBatch || len(seen) != len(bodies) {
					t.Errorf("%d messages (%d distinct) in the source, want %d distinct and at most %d duplicates",
						total, len(seen), len(bodies), moveTaskBatch)
				}
				if n := e.queue("dlq").Counts().Visible; n != 0 {
					t.Errorf("%d messages left in the DLQ", n)
				}
			})
		})
	}
}

// TestMoveTaskRestartEndings checks how a task ends after a restart: a
// resumed task can be cancelled; a task that was CANCELLING (the crash came between
// CancelMoveTask's synced record and the task's last write) is CANCELLED;
// a task whose destination, explicit or the messages' original source
// queue, was deleted before the restart is FAILED with AWS's
// NonExistentQueue reason and leaves the remaining messages in the DLQ; a
// RUNNING record without its active-task key (as written before tasks
// resumed) shows as FAILED (interrupted) and cannot be cancelled. In every
// case no goroutine or active-task key remains and a new task may start
// on the source and moves the rest. Method: a task at 1 message per second
// stopped between its first and second batch, the case's action, a clean
// or crash restart, and fake time for the resumed task's next batch.
func TestMoveTaskRestartEndings(t *testing.T) {
	for _, tc := range []struct {
		name string
		// dest: the task moves to "dest" instead of the original source.
		dest bool
		// interrupt acts on the running task (its first batch moved) and
		// restarts the DB.
		interrupt   func(t *testing.T, e *qenv, fs *vfs.MemFS, handle string)
		step        bool // let the resumed task try its next batch
		wantStatus  string
		wantFailure string
	}{
		{
			name: "cancelling",
			interrupt: func(t *testing.T, e *qenv, fs *vfs.MemFS, handle string) {
				info := newestTask(t, e.db, QueueRef{Namespace: testNS, Name: "dlq"})
				info.Status = MoveTaskCancelling
				entity, _ := moveTaskEntity(handle)
				if err := e.db.putMoveTask(entity, info, true); err != nil { // CancelMoveTask's write
					t.Fatal(err)
				}
				crashRestart(e, fs, 0)
			},
			wantStatus: MoveTaskCancelled,
		},
		{
			name: "cancelled after resuming",
			interrupt: func(t *testing.T, e *qenv, _ *vfs.MemFS, handle string) {
				e.reopen()
				synctest.Wait()
				if moved, err := e.db.CancelMoveTask(handle); err != nil || moved != 10 {
					t.Fatalf("CancelMoveTask of a resumed task: %d moved, %v; want 10", moved, err)
				}
			},
			wantStatus: MoveTaskCancelled,
		},
		{
			name: "destination deleted",
			dest: true,
			interrupt: func(t *testing.T, e *qenv, _ *vfs.MemFS, _ string) {
				if err := e.db.DeleteQueue(testNS, "dest"); err != nil {
					t.Fatal(err)
				}
				e.reopen()
			},
			wantStatus:  MoveTaskFailed,
			wantFailure: MoveTaskFailureQueueNotFound,
		},
		{
			name: "original source deleted",
			interrupt: func(t *testing.T, e *qenv, _ *vfs.MemFS, _ string) {
				if err := e.db.DeleteQueue(testNS, "src"); err != nil {
					t.Fatal(err)
				}
				e.reopen()
			},
			step:        true,
			wantStatus:  MoveTaskFailed,
			wantFailure: MoveTaskFailureQueueNotFound,
		},
		{
			name: "record without active key",
			interrupt: func(t *testing.T, e *qenv, fs *vfs.MemFS, handle string) {
				b := e.db.index.NewBatch()
				defer b.Close()
				b.Delete(activeMoveTaskKey(handle))
				if err := b.Commit(true); err != nil {
					t.Fatal(err)
				}
				crashRestart(e, fs, 0)
			},
			wantStatus:  MoveTaskFailed,
			wantFailure: moveTaskInterrupted,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				e, fs := crashableEnv(t)
				dlq, _ := redrivenDLQ(t, e, 30)
				var dst *QueueRef
				if tc.dest {
					e.create("dest", DefaultQueueAttributes(false))
					dst = &QueueRef{Namespace: testNS, Name: "dest"}
				}
				handle, err := e.db.StartMoveTask(dlq, dst, 1)
				if err != nil {
					t.Fatal(err)
				}
				synctest.Wait()
				tc.interrupt(t, e, fs, handle)
				synctest.Wait()
				if tc.step {
					if got := newestTask(t, e.db, dlq); got.Status != MoveTaskRunning {
						t.Fatalf("before its next batch: %+v, want RUNNING", got)
					}
					time.Sleep(moveTaskStep)
					synctest.Wait()
				}
				got := newestTask(t, e.db, dlq)
				if got.Handle != handle || got.Status != tc.wantStatus || got.Failure != tc.wantFailure || got.Moved != 10 {
					t.Fatalf("task %+v, want %s (%q) with 10 moved", got, tc.wantStatus, tc.wantFailure)
				}
				var verr *ValidationError
				if _, err := e.db.CancelMoveTask(handle); !errors.As(err, &verr) || verr.Field != "TaskHandle" {
					t.Fatalf("cancel of a %s task: %v, want a TaskHandle validation error", got.Status, err)
				}
				if n := runningTasks(e.db); n != 0 {
					t.Fatalf("%d task goroutines", n)
				}
				if n := activeTaskKeys(t, e.db); n != 0 {
					t.Fatalf("%d active-task keys", n)
				}
				if n := e.queue("dlq").Counts().Visible; n != 20 {
					t.Fatalf("%d messages in the DLQ, want the 20 not moved", n)
				}
				// The source is free for a new task, which moves the rest.
				e.create("again", DefaultQueueAttributes(false))
				again := QueueRef{Namespace: testNS, Name: "again"}
				time.Sleep(time.Second) // a later Started: ListMoveTasks sorts by it
				if _, err := e.db.StartMoveTask(dlq, &again, MoveTaskMaxPerSecondMax); err != nil {
					t.Fatalf("new task after the old one ended: %v", err)
				}
				time.Sleep(time.Second) // two batches at 500 per second
				synctest.Wait()
				if got := newestTask(t, e.db, dlq); got.Status != MoveTaskCompleted || got.Moved != 20 {
					t.Fatalf("new task: %+v, want COMPLETED with 20 moved", got)
				}
			})
		})
	}
}

// TestMoveTaskResumeDropsOrphans checks that Open resumes nothing for a
// task whose source queue was deleted (its record went with the queue) and
// drops an active-task key left without a record, and that Reset with a
// running task leaves nothing to resume. Method: delete the DLQ under a
// running task, add a stray active-task key, reopen; then start a task,
// Reset, reopen.
func TestMoveTaskResumeDropsOrphans(t *testing.T) {
	bubble(t, func(t *testing.T) {
		e := newQEnv(t)
		dlq, _ := redrivenDLQ(t, e, 30)
		if _, err := e.db.StartMoveTask(dlq, nil, 1); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if err := e.db.DeleteQueue(testNS, "dlq"); err != nil {
			t.Fatal(err)
		}
		if err := e.db.index.Set(activeMoveTaskKey("999999-stray"), nil, true); err != nil {
			t.Fatal(err)
		}
		e.reopen()
		synctest.Wait()
		if n := runningTasks(e.db); n != 0 {
			t.Fatalf("%d tasks resumed for a deleted source", n)
		}
		if n := activeTaskKeys(t, e.db); n != 0 {
			t.Fatalf("%d active-task keys left", n)
		}

		// Reset with a running task (a first Reset clears the queues
		// above, so the names can be used again at once).
		if err := e.db.Reset(t.Context()); err != nil {
			t.Fatal(err)
		}
		dlq, _ = redrivenDLQ(t, e, 30)
		if _, err := e.db.StartMoveTask(dlq, nil, 1); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if err := e.db.Reset(t.Context()); err != nil {
			t.Fatal(err)
		}
		e.reopen()
		synctest.Wait()
		if n := runningTasks(e.db); n != 0 || activeTaskKeys(t, e.db) != 0 {
			t.Fatalf("%d tasks resumed after Reset", n)
		}
	})
}

// TestMoveTaskCrashDuplicateKeepsID checks the message id of a message a
// move task moves twice because a crash came between its append to the
// destination (synced) and its delete from the dead-letter queue (not yet
// synced). The bug: a move task gave each move of a message a fresh random
// id (3cf35d7: "a new message id"), so the resumed task's second copy of the
// same dead-letter message had an id other than the first: at-least-once
// delivery whose duplicate consumers cannot recognise by MessageId. Now the
// new id derives from the dead-letter message (queue and log position), so
// both copies carry the same new id, still different from the original.
// Method: 20 messages in a DLQ, a task at 1 message per second (its first
// batch of 10 runs at once), a crash keeping no unsynced data (the first
// batch's dead-letter deletes are lost), the resumed task, then every copy
// in the source grouped by body.
func TestMoveTaskCrashDuplicateKeepsID(t *testing.T) {
	bubble(t, func(t *testing.T) {
		e, fs := crashableEnv(t)
		dlq, bodies := redrivenDLQ(t, e, 20)
		originalIDs := map[string]string{}
		for range 2 {
			for _, m := range receive(t, e.queue("dlq"), 10, time.Second) {
				originalIDs[string(m.Body)] = m.MessageID
			}
		}
		if len(originalIDs) != len(bodies) {
			t.Fatalf("%d ids of %d messages", len(originalIDs), len(bodies))
		}
		time.Sleep(time.Second)
		if _, err := e.db.StartMoveTask(dlq, nil, 1); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		crashRestart(e, fs, 0)
		synctest.Wait()
		for i := 0; i < 5 && newestTask(t, e.db, dlq).Status == MoveTaskRunning; i++ {
			time.Sleep(moveTaskStep)
			synctest.Wait()
		}
		if got := newestTask(t, e.db, dlq); got.Status != MoveTaskCompleted {
			t.Fatalf("task after the crash: %+v, want COMPLETED", got)
		}
		ids := map[string]map[string]int{}
		copies := 0
		for {
			msgs := receive(t, e.queue("src"), 10, time.Hour)
			if len(msgs) == 0 {
				break
			}
			for _, m := range msgs {
				b := string(m.Body)
				if ids[b] == nil {
					ids[b] = map[string]int{}
				}
				ids[b][m.MessageID]++
				copies++
			}
		}
		if copies <= len(bodies) {
			t.Fatalf("%d copies of %d messages: the crash duplicated nothing, the test proves nothing", copies, len(bodies))
		}
		for _, b := range bodies {
			if len(ids[b]) != 1 {
				t.Errorf("message %s: ids %v, want one id for all its copies", b, ids[b])
			}
			for id := range ids[b] {
				if id == originalIDs[b] {
					t.Errorf("message %s kept its original id %s", b, id)
				}
			}
		}
	})
}
