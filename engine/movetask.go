package engine

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluice-dev/sluice/index"
	"github.com/sluice-dev/sluice/segment"
)

// Message move tasks move messages out of a dead-letter queue: back to
// each message's source queue (recorded by redrive), or to a chosen
// destination, at most MaxPerSecond messages per second. A task is one
// goroutine; CancelMoveTask, DeleteQueue of its source and Close stop it.
// Messages are taken through the receive path (so order, FIFO groups and
// retention apply), appended to the destination and then deleted from the
// dead-letter queue: a crash in between duplicates, never loses.
//
// Task records live in the index under the source queue (queue_meta.go):
// written synced at start and at the end, and unsynced after every batch
// (Moved). A task does not outlive its process: Close ends a running task
// as FAILED ("interrupted"), and after a crash its record still says
// RUNNING with no goroutine behind it, which ListMoveTasks reports as
// FAILED (CANCELLING as CANCELLED) with the count of the last progress
// write. Resuming instead would need a start-up hook in DB.open (engine
// core); a FAILED task is what AWS shows for a task that stopped, and
// StartMoveTask moves the rest.
const (
	// MoveTaskMaxPerSecondMax is AWS's upper bound of MaxPerSecond.
	MoveTaskMaxPerSecondMax = 500
	// moveTaskDefaultPerSecond is used when MaxPerSecond is 0 ("system
	// optimized" in AWS).
	moveTaskDefaultPerSecond = 500
	// moveTasksKept is how many tasks per source ListMoveTasks remembers.
	moveTasksKept = 10
	// moveTaskBatch is how many messages one step moves.
	moveTaskBatch = 10
	// moveTaskInterrupted is the failure of a task its process stopped.
	moveTaskInterrupted = "the task was interrupted by a shutdown or crash of the server; start a new task to move the remaining messages"
)

type moveTask struct {
	reg  *queueRegistry
	src  *Queue
	stop chan struct{}
	done chan struct{}
	mu   struct {
		sync.Mutex
		info MoveTask
		// shutdown: stopped by Close or DeleteQueue, not by a cancel.
		shutdown bool
	}
}

// moveTaskRecord is the index value of a task (encoding/json: metadata).
type moveTaskRecord struct {
	Handle       string    `json:"handle"`
	Source       QueueRef  `json:"source"`
	Destination  *QueueRef `json:"destination,omitempty"`
	MaxPerSecond int       `json:"max_per_second"`
	Status       string    `json:"status"`
	Moved        int64     `json:"moved"`
	ToMove       int64     `json:"to_move"`
	Started      int64     `json:"started"` // unix nanoseconds
	Failure      string    `json:"failure,omitempty"`
}

func moveTaskKey(entity uint64, handle string) []byte {
	return index.AppendString(index.EntitySpacePrefix(nil, entity, spaceQueueMoveTasks), handle)
}

func encodeMoveTask(info MoveTask) ([]byte, error) {
	v, err := json.Marshal(moveTaskRecord{
		Handle: info.Handle, Source: info.Source, Destination: info.Destination, MaxPerSecond: info.MaxPerSecond,
		Status: info.Status, Moved: info.Moved, ToMove: info.ToMove, Started: info.Started.UnixNano(), Failure: info.Failure,
	})
	if err != nil {
		return nil, fmt.Errorf("engine: encode move task %s: %w", info.Handle, err)
	}
	return v, nil
}

// decodeMoveTask decodes a task record. A task recorded as running that
// no goroutine of this process runs was interrupted: it is reported as
// FAILED (CANCELLING: CANCELLED).
func decodeMoveTask(v []byte) (MoveTask, error) {
	var r moveTaskRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return MoveTask{}, fmt.Errorf("engine: move task record is corrupt: %w", err)
	}
	info := MoveTask{
		Handle: r.Handle, Source: r.Source, Destination: r.Destination, MaxPerSecond: r.MaxPerSecond,
		Status: r.Status, Moved: r.Moved, ToMove: r.ToMove, Started: time.Unix(0, r.Started), Failure: r.Failure,
	}
	return info, nil
}

// interrupted turns the record of a task no goroutine runs into what it
// ended as.
func interrupted(info MoveTask) MoveTask {
	switch info.Status {
	case MoveTaskRunning:
		info.Status, info.Failure = MoveTaskFailed, moveTaskInterrupted
	case MoveTaskCancelling:
		info.Status = MoveTaskCancelled
	}
	return info
}

// putMoveTask writes a task record (synced for state changes).
func (db *DB) putMoveTask(entity uint64, info MoveTask, sync bool) error {
	v, err := encodeMoveTask(info)
	if err != nil {
		return err
	}
	if err := db.index.Set(moveTaskKey(entity, info.Handle), v, sync); err != nil {
		return fmt.Errorf("engine: persist move task %s: %w", info.Handle, err)
	}
	return nil
}

// moveTasksOf returns the task records of the queue entity, with live
// tasks' current state, newest first.
func (r *queueRegistry) moveTasksOf(entity uint64) ([]MoveTask, error) {
	var out []MoveTask
	prefix := index.EntitySpacePrefix(nil, entity, spaceQueueMoveTasks)
	err := r.db.index.ScanPrefix(prefix, func(_, v []byte) error {
		info, err := decodeMoveTask(v)
		if err != nil {
			return err
		}
		out = append(out, info)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("engine: list move tasks: %w", err)
	}
	r.mu.Lock()
	for i := range out {
		if t := r.mu.tasks[out[i].Handle]; t != nil {
			out[i] = t.info()
		} else {
			out[i] = interrupted(out[i])
		}
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b MoveTask) int { return b.Started.Compare(a.Started) })
	return out, nil
}

// StartMoveTask starts moving the messages of src, a dead-letter queue, to
// dst (nil: each message's original source queue) at most maxPerSecond
// messages per second (0: engine default; 1..500). One task may run per
// source queue.
func (db *DB) StartMoveTask(src QueueRef, dst *QueueRef, maxPerSecond int) (string, error) {
	if err := db.enter(); err != nil {
		return "", err
	}
	defer db.exit()
	if maxPerSecond < 0 || maxPerSecond > MoveTaskMaxPerSecondMax {
		return "", invalidf("MaxPerSecond", "%d outside [1, %d]", maxPerSecond, MoveTaskMaxPerSecondMax)
	}
	q, err := db.openQueue(src)
	if err != nil {
		return "", err
	}
	if dst != nil {
		if _, err := db.openQueue(*dst); err != nil {
			return "", err
		}
	}
	if dst == nil {
		sources, err := db.deadLetterSources(src)
		if err != nil {
			return "", err
		}
		if len(sources) == 0 {
			return "", invalidf("Source", "queue %s is not a dead-letter queue of any queue", src)
		}
	}
	reg := db.queues()
	reg.startMu.Lock()
	defer reg.startMu.Unlock()
	q.mu.Lock()
	closed := q.mu.closed
	q.mu.Unlock()
	if closed { // deleted since openQueue
		return "", fmt.Errorf("%w: %s", ErrQueueNotFound, src)
	}
	existing, err := reg.moveTasksOf(q.entity)
	if err != nil {
		return "", err
	}
	for _, info := range existing {
		if info.Status == MoveTaskRunning || info.Status == MoveTaskCancelling {
			return "", invalidf("Source", "a message move task is already running on %s", src)
		}
	}
	rate := maxPerSecond
	if rate == 0 {
		rate = moveTaskDefaultPerSecond
	}
	handle := strconv.FormatUint(q.entity, 10) + "-" + strconv.FormatUint(rand.Uint64(), 36)
	t := &moveTask{reg: reg, src: q, stop: make(chan struct{}), done: make(chan struct{})}
	t.mu.info = MoveTask{
		Handle:       handle,
		Source:       src,
		Destination:  cloneRef(dst),
		MaxPerSecond: maxPerSecond,
		Status:       MoveTaskRunning,
		ToMove:       q.Counts().Visible,
		Started:      db.opts.Clock.Now(),
	}
	// The record, and the pruning of the oldest beyond moveTasksKept, in
	// one synced batch before the task runs.
	v, err := encodeMoveTask(t.mu.info)
	if err != nil {
		return "", err
	}
	b := db.index.NewBatch()
	defer b.Close()
	b.Set(moveTaskKey(q.entity, handle), v)
	for i := moveTasksKept - 1; i < len(existing); i++ {
		b.Delete(moveTaskKey(q.entity, existing[i].Handle))
	}
	if err := b.Commit(true /* sync */); err != nil {
		return "", fmt.Errorf("engine: persist move task on %s: %w", src, err)
	}
	reg.mu.Lock()
	reg.mu.tasks[handle] = t
	reg.mu.Unlock()
	go t.run(q, dst, rate)
	return handle, nil
}

func cloneRef(r *QueueRef) *QueueRef {
	if r == nil {
		return nil
	}
	c := *r
	return &c
}

// CancelMoveTask stops a running task and returns how many messages it
// moved. ErrMoveTaskNotFound for an unknown handle; a ValidationError if
// the task is not running.
func (db *DB) CancelMoveTask(handle string) (int64, error) {
	if err := db.enter(); err != nil {
		return 0, err
	}
	defer db.exit()
	reg := db.queues()
	reg.mu.Lock()
	t := reg.mu.tasks[handle]
	reg.mu.Unlock()
	if t == nil {
		info, ok, err := db.storedMoveTask(handle)
		if err != nil {
			return 0, err
		}
		if !ok {
			return 0, fmt.Errorf("%w: %s", ErrMoveTaskNotFound, handle)
		}
		return 0, invalidf("TaskHandle", "task is %s, not RUNNING", interrupted(info).Status)
	}
	t.mu.Lock()
	if t.mu.info.Status != MoveTaskRunning {
		status := t.mu.info.Status
		t.mu.Unlock()
		return 0, invalidf("TaskHandle", "task is %s, not RUNNING", status)
	}
	t.mu.info.Status = MoveTaskCancelling
	t.mu.Unlock()
	t.stopAndWait()
	info := t.info()
	return info.Moved, nil
}

// storedMoveTask reads the record of a task no goroutine runs; the handle
// names its source queue's entity.
func (db *DB) storedMoveTask(handle string) (MoveTask, bool, error) {
	entityText, _, ok := strings.Cut(handle, "-")
	if !ok {
		return MoveTask{}, false, nil
	}
	entity, err := strconv.ParseUint(entityText, 10, 64)
	if err != nil {
		return MoveTask{}, false, nil
	}
	v, ok, err := db.index.Get(moveTaskKey(entity, handle))
	if err != nil || !ok {
		return MoveTask{}, false, err
	}
	info, err := decodeMoveTask(v)
	return info, err == nil, err
}

// ListMoveTasks returns up to max (0 = 10) most recent tasks of src, newest
// first.
func (db *DB) ListMoveTasks(src QueueRef, max int) ([]MoveTask, error) {
	if err := db.enter(); err != nil {
		return nil, err
	}
	defer db.exit()
	q, err := db.openQueue(src)
	if err != nil {
		return nil, err
	}
	if max <= 0 || max > moveTasksKept {
		max = moveTasksKept
	}
	out, err := db.queues().moveTasksOf(q.entity)
	if err != nil {
		return nil, err
	}
	if len(out) > max {
		out = out[:max]
	}
	return out, nil
}

// stopTasksOf stops the running task whose source is ref (DeleteQueue,
// holding startMu; the task ends FAILED and its record goes with the
// queue).
func (r *queueRegistry) stopTasksOf(ref QueueRef) {
	r.mu.Lock()
	var stop []*moveTask
	for _, t := range r.mu.tasks {
		if t.src.ref == ref {
			stop = append(stop, t)
		}
	}
	r.mu.Unlock()
	for _, t := range stop {
		t.shutdownAndWait()
	}
}

func (t *moveTask) info() MoveTask {
	t.mu.Lock()
	defer t.mu.Unlock()
	info := t.mu.info
	info.Destination = cloneRef(info.Destination)
	return info
}

// stopAndWait stops the task's goroutine and waits for it (idempotent).
func (t *moveTask) stopAndWait() {
	t.mu.Lock()
	select {
	case <-t.stop:
	default:
		close(t.stop)
	}
	t.mu.Unlock()
	<-t.done
}

// shutdownAndWait stops the task as interrupted (not cancelled).
func (t *moveTask) shutdownAndWait() {
	t.mu.Lock()
	t.mu.shutdown = true
	t.mu.Unlock()
	t.stopAndWait()
}

// run moves batches until the source is drained of the messages counted
// at start, the task is stopped, or a move fails; it records progress and
// the outcome in the index, then leaves the registry. It does not hold the
// DB operation gate (Close and Reset stop it through closeAll before they
// close logs and the index).
func (t *moveTask) run(src *Queue, dst *QueueRef, rate int) {
	defer close(t.done)
	interval := time.Second * moveTaskBatch / time.Duration(rate)
	status, failure := t.loop(src, dst, interval)
	t.mu.Lock()
	if status == MoveTaskCancelled && t.mu.shutdown {
		status, failure = MoveTaskFailed, moveTaskInterrupted
	}
	t.mu.info.Status, t.mu.info.Failure = status, failure
	info := t.mu.info
	t.mu.Unlock()
	// DeleteQueue of the source stops the task before it deletes the
	// queue's keys, so this never writes under a deleted queue.
	if err := t.reg.db.putMoveTask(src.entity, info, true /* sync */); err != nil {
		t.reg.db.logger.Error("recording the end of a message move task", "task", info.Handle, "err", err)
	}
	t.reg.mu.Lock()
	if t.reg.mu.tasks[info.Handle] == t {
		delete(t.reg.mu.tasks, info.Handle)
	}
	t.reg.mu.Unlock()
}

// loop moves batches and returns the final status and failure.
func (t *moveTask) loop(src *Queue, dst *QueueRef, interval time.Duration) (status, failure string) {
	for {
		select {
		case <-t.stop:
			return MoveTaskCancelled, ""
		default:
		}
		info := t.info()
		if info.Moved >= info.ToMove {
			return MoveTaskCompleted, ""
		}
		batch := min(int64(moveTaskBatch), info.ToMove-info.Moved)
		moved, err := src.takeAndMove(int(batch), dst)
		t.mu.Lock()
		t.mu.info.Moved += int64(moved)
		info = t.mu.info
		t.mu.Unlock()
		if err != nil {
			return MoveTaskFailed, err.Error()
		}
		if moved == 0 || info.Moved >= info.ToMove {
			return MoveTaskCompleted, "" // nothing left to move, or all counted at start moved
		}
		if err := t.reg.db.putMoveTask(src.entity, info, false); err != nil {
			return MoveTaskFailed, err.Error()
		}
		timer := time.NewTimer(interval)
		select {
		case <-timer.C:
		case <-t.stop:
			timer.Stop()
			return MoveTaskCancelled, ""
		}
	}
}

// moveTake is the take hook of a move task's receive call: it queues each
// taken message's move to dst, or to its dead-letter source.
type moveTake struct {
	dst           *QueueRef
	missingSource error
}

// takeLocked queues the move of st (rec borrowed) or, if it has nowhere to
// go, leaves it visible and records the failure.
func (t *moveTake) takeLocked(q *Queue, call *receiveCall, st *msgState, rec *segment.Record) error {
	if err := decodeMessageRecord(rec.Key, &call.rec); err != nil {
		return fmt.Errorf("queue %s seq %d: %w", q.ref, st.seq, err)
	}
	target := t.dst
	if target == nil {
		target = call.rec.deadLetterSource
	}
	if target == nil {
		// Leave it where it is (visible) and fail the task.
		t.missingSource = fmt.Errorf("engine: message %s in %s has no dead-letter source", formatUUID(call.rec.id), q.ref)
		q.mu.vs.startMove(st, call.now)
		q.mu.vs.abortMove(st)
		return nil
	}
	q.queueMoveLocked(call, st, rec.Payload, *target, nil)
	return nil
}

// takeAndMove takes up to n messages from q (through the receive path) and
// moves them to dst, or to each message's dead-letter source.
func (q *Queue) takeAndMove(n int, dst *QueueRef) (int, error) {
	take := &moveTake{dst: dst}
	call := receiveCall{opts: ReceiveOptions{Max: n}, now: q.db.nowUnixNano(), noWait: true, take: take}
	var w *waiter
	if _, err := q.tryReceive(&call, call.now, &w); err != nil {
		return 0, err
	}
	if len(call.moves) == 0 {
		return 0, take.missingSource
	}
	moved, err := q.performMoves(call.moves)
	if err == nil {
		err = take.missingSource
	}
	return moved, err
}
