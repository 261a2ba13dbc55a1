package engine

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/sluice-dev/sluice/segment"
)

// Message move tasks move messages out of a dead-letter queue: back to
// each message's source queue (recorded by redrive), or to a chosen
// destination, at most MaxPerSecond messages per second. A task is one
// goroutine; CancelMoveTask and Close stop it. Messages are taken through
// the receive path (so order, FIFO groups and retention apply), appended
// to the destination and then deleted from the dead-letter queue: a crash
// in between duplicates, never loses. Task records live in memory (a
// restart forgets finished and running tasks; running ones stop).
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
)

type moveTask struct {
	reg  *queueRegistry
	stop chan struct{}
	done chan struct{}
	mu   struct {
		sync.Mutex
		info MoveTask
	}
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
	reg.mu.Lock()
	defer reg.mu.Unlock()
	for _, t := range reg.mu.tasks {
		if info := t.info(); info.Source == src && (info.Status == MoveTaskRunning || info.Status == MoveTaskCancelling) {
			return "", invalidf("Source", "a message move task is already running on %s", src)
		}
	}
	rate := maxPerSecond
	if rate == 0 {
		rate = moveTaskDefaultPerSecond
	}
	handle := strconv.FormatUint(q.entity, 10) + "-" + strconv.FormatUint(rand.Uint64(), 36)
	t := &moveTask{reg: reg, stop: make(chan struct{}), done: make(chan struct{})}
	t.mu.info = MoveTask{
		Handle:       handle,
		Source:       src,
		Destination:  cloneRef(dst),
		MaxPerSecond: maxPerSecond,
		Status:       MoveTaskRunning,
		ToMove:       q.Counts().Visible,
		Started:      db.opts.Clock.Now(),
	}
	reg.mu.tasks[handle] = t
	reg.pruneTasksLocked(src)
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
		return 0, fmt.Errorf("%w: %s", ErrMoveTaskNotFound, handle)
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

// ListMoveTasks returns up to max (0 = 10) most recent tasks of src, newest
// first.
func (db *DB) ListMoveTasks(src QueueRef, max int) ([]MoveTask, error) {
	if err := db.enter(); err != nil {
		return nil, err
	}
	defer db.exit()
	if _, err := db.openQueue(src); err != nil {
		return nil, err
	}
	if max <= 0 || max > moveTasksKept {
		max = moveTasksKept
	}
	reg := db.queues()
	reg.mu.Lock()
	var out []MoveTask
	for _, t := range reg.mu.tasks {
		if info := t.info(); info.Source == src {
			out = append(out, info)
		}
	}
	reg.mu.Unlock()
	slices.SortFunc(out, func(a, b MoveTask) int { return b.Started.Compare(a.Started) })
	if len(out) > max {
		out = out[:max]
	}
	return out, nil
}

// pruneTasksLocked forgets the oldest finished tasks of src beyond
// moveTasksKept.
func (r *queueRegistry) pruneTasksLocked(src QueueRef) {
	var finished []*moveTask
	n := 0
	for _, t := range r.mu.tasks {
		info := t.info()
		if info.Source != src {
			continue
		}
		n++
		if info.Status != MoveTaskRunning && info.Status != MoveTaskCancelling {
			finished = append(finished, t)
		}
	}
	slices.SortFunc(finished, func(a, b *moveTask) int { return a.info().Started.Compare(b.info().Started) })
	for i := 0; n > moveTasksKept && i < len(finished); i++ {
		delete(r.mu.tasks, finished[i].info().Handle)
		n--
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

// run moves batches until the source is drained of the messages counted
// at start, the task is stopped, or a move fails. It does not hold the DB
// operation gate (Close and Reset stop it through closeAll before they
// close logs and the index).
func (t *moveTask) run(src *Queue, dst *QueueRef, rate int) {
	defer close(t.done)
	interval := time.Second * moveTaskBatch / time.Duration(rate)
	status, failure := MoveTaskCompleted, ""
	for {
		select {
		case <-t.stop:
			status = MoveTaskCancelled
		default:
		}
		info := t.info()
		if status == MoveTaskCancelled || info.Moved >= info.ToMove {
			break
		}
		batch := min(int64(moveTaskBatch), info.ToMove-info.Moved)
		moved, err := src.takeAndMove(int(batch), dst)
		t.mu.Lock()
		t.mu.info.Moved += int64(moved)
		done := t.mu.info.Moved >= t.mu.info.ToMove
		t.mu.Unlock()
		if err != nil {
			status, failure = MoveTaskFailed, err.Error()
			break
		}
		if moved == 0 || done {
			break // nothing left to move, or all counted at start moved
		}
		timer := time.NewTimer(interval)
		select {
		case <-timer.C:
		case <-t.stop:
			timer.Stop()
			status = MoveTaskCancelled
		}
	}
	t.mu.Lock()
	t.mu.info.Status, t.mu.info.Failure = status, failure
	t.mu.Unlock()
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

// deadLetterSources lists queues whose redrive targets dlq (no enter).
func (db *DB) deadLetterSources(dlq QueueRef) ([]QueueRef, error) {
	var out []QueueRef
	err := db.catalogScan(kindQueue, func(rec catalogRecord) error {
		qr, err := decodeQueueRecord(rec.Value)
		if err != nil {
			return err
		}
		if r := qr.Attributes.Redrive; r != nil && r.DeadLetterTarget == dlq {
			out = append(out, QueueRef{Namespace: rec.NS, Name: rec.Name})
		}
		return nil
	})
	return out, err
}
