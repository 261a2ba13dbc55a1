package engine

import (
	"encoding/json"
	"errors"
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
// dead-letter queue: a crash in between duplicates, never loses (both
// copies carry the same new message id, movedMessageID).
//
// Task records live in the index under the source queue (queue_meta.go):
// written synced at start, at a cancel and at the end, and unsynced after
// every batch (Moved). Every record write happens under the task's lock
// with the status it writes, so a late progress write never overwrites a
// CANCELLING or final record.
//
// A task outlives its process, as in AWS: an active-task key under the
// reserved entity 0 (one per RUNNING or CANCELLING task, written with the
// record at start, deleted with the final record) lets Open find them in
// O(active tasks). Close records a running task as RUNNING with its Moved
// count, synced; Open (resumeMoveTasks) restarts it with its handle, rate,
// Started, ToMove and Moved, waiting one interval before its first batch
// so that restarts never raise the rate. A task that was CANCELLING ends
// CANCELLED; one whose explicit destination was deleted meanwhile ends
// FAILED (MoveTaskFailureQueueNotFound); one whose source was deleted
// went with its queue. After a crash the record holds the Moved count of
// its last synced write or less (progress writes are unsynced): the count
// is approximate, as AWS says, and messages moved but whose dead-letter
// delete was lost are moved again (at-least-once).
//
// A record that says RUNNING with no goroutine behind it and no active
// key (written by a build before tasks resumed, or left by a resume that
// could not record its failure) is reported as FAILED ("interrupted"),
// CANCELLING as CANCELLED.
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
	// moveTaskInterrupted is the failure of a task no goroutine runs.
	moveTaskInterrupted = "the task was interrupted by a shutdown or crash of the server; start a new task to move the remaining messages"
)

// Failure reasons of a FAILED move task that the protocol layer renders in
// its own terms (server/sqs: the FailureReason values AWS shows); other
// failures carry the engine's error text.
const (
	// MoveTaskFailureQueueNotFound: the destination (explicit, or a
	// message's original source queue) does not exist.
	MoveTaskFailureQueueNotFound = "destination queue does not exist"
	// MoveTaskFailureUnknownSource: a message has no recorded dead-letter
	// source (it was sent to the dead-letter queue directly) and the task
	// has no explicit destination.
	MoveTaskFailureUnknownSource = "message has no recorded dead-letter source"
)

// errNoDeadLetterSource: a message to move back has no recorded source.
var errNoDeadLetterSource = errors.New("engine: message has no dead-letter source")

// moveFailure is the Failure of a task that stopped on err.
func moveFailure(err error) string {
	switch {
	case errors.Is(err, ErrQueueNotFound):
		return MoveTaskFailureQueueNotFound
	case errors.Is(err, errNoDeadLetterSource):
		return MoveTaskFailureUnknownSource
	}
	return err.Error()
}

// moveTaskStop says why a task's goroutine is asked to stop.
type moveTaskStop uint8

const (
	moveTaskStopNone moveTaskStop = iota
	// moveTaskStopCancel: CancelMoveTask; the task ends CANCELLED.
	moveTaskStopCancel
	// moveTaskStopSuspend: Close or Reset; the task stays RUNNING on disk
	// and the next Open resumes it.
	moveTaskStopSuspend
	// moveTaskStopSourceDeleted: DeleteQueue of the source; the record
	// goes with the queue.
	moveTaskStopSourceDeleted
)

type moveTask struct {
	reg  *queueRegistry
	src  *Queue
	stop chan struct{}
	done chan struct{}
	mu   struct {
		sync.Mutex
		info MoveTask
		why  moveTaskStop
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

// activeMoveTasksPrefix is the prefix of every active-task key.
func activeMoveTasksPrefix() []byte {
	return index.EntitySpacePrefix(nil, queueGlobalEntity, spaceQueueActiveMoveTasks)
}

// activeMoveTaskKey marks the task handle as RUNNING or CANCELLING.
func activeMoveTaskKey(handle string) []byte {
	return index.AppendString(activeMoveTasksPrefix(), handle)
}

// moveTaskEntity returns the source queue entity a handle names.
func moveTaskEntity(handle string) (uint64, bool) {
	entityText, _, ok := strings.Cut(handle, "-")
	if !ok {
		return 0, false
	}
	entity, err := strconv.ParseUint(entityText, 10, 64)
	return entity, err == nil
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

// decodeMoveTask decodes a task record as written.
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

func moveTaskActive(status string) bool {
	return status == MoveTaskRunning || status == MoveTaskCancelling
}

// putMoveTask writes a task record; a record of a finished task also
// drops its active-task key, atomically. State changes are synced.
func (db *DB) putMoveTask(entity uint64, info MoveTask, sync bool) error {
	v, err := encodeMoveTask(info)
	if err != nil {
		return err
	}
	b := db.index.NewBatch()
	defer b.Close()
	b.Set(moveTaskKey(entity, info.Handle), v)
	if !moveTaskActive(info.Status) {
		b.Delete(activeMoveTaskKey(info.Handle))
	}
	if err := b.Commit(sync); err != nil {
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
	// The live tasks' state, read after r.mu is released: a task holds
	// its lock across synced record writes, and r.mu guards every queue
	// lookup.
	live := make([]*moveTask, len(out))
	r.mu.Lock()
	for i := range out {
		live[i] = r.mu.tasks[out[i].Handle]
	}
	r.mu.Unlock()
	var orphans []int
	for i, t := range live {
		if t != nil {
			out[i] = t.info()
		} else if moveTaskActive(out[i].Status) {
			orphans = append(orphans, i)
		}
	}
	// A task writes its final record before it leaves the registry: read
	// again what the scan saw as active, so a task that ended in between
	// shows how it ended, not as interrupted.
	for _, i := range orphans {
		info, ok, err := r.db.storedMoveTask(out[i].Handle)
		if err != nil {
			return nil, err
		}
		if ok {
			out[i] = info
		}
		out[i] = interrupted(out[i])
	}
	slices.SortFunc(out, func(a, b MoveTask) int { return b.Started.Compare(a.Started) })
	return out, nil
}

// StartMoveTask starts moving the messages of src, a dead-letter queue, to
// dst (nil: each message's original source queue) at most maxPerSecond
// messages per second (0: engine default; 1..500). One task may run per
// source queue. The task survives Close: the next Open resumes it.
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
		if moveTaskActive(info.Status) {
			return "", invalidf("Source", "a message move task is already running on %s", src)
		}
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
	// The record, its active-task key, and the pruning of the oldest
	// beyond moveTasksKept, in one synced batch before the task runs.
	v, err := encodeMoveTask(t.mu.info)
	if err != nil {
		return "", err
	}
	b := db.index.NewBatch()
	defer b.Close()
	b.Set(moveTaskKey(q.entity, handle), v)
	b.Set(activeMoveTaskKey(handle), nil)
	for i := moveTasksKept - 1; i < len(existing); i++ {
		b.Delete(moveTaskKey(q.entity, existing[i].Handle))
	}
	if err := b.Commit(true /* sync */); err != nil {
		return "", fmt.Errorf("engine: persist move task on %s: %w", src, err)
	}
	reg.mu.Lock()
	reg.mu.tasks[handle] = t
	reg.mu.Unlock()
	go t.run(false /* resumed */)
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
// the task is not running. The task is recorded CANCELLING (synced) before
// it is stopped, so a crash in between does not resume it.
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
	if err := db.putMoveTask(t.src.entity, t.mu.info, true /* sync */); err != nil {
		t.mu.info.Status = MoveTaskRunning
		t.mu.Unlock()
		return 0, err
	}
	t.mu.Unlock()
	t.stopAndWait(moveTaskStopCancel)
	info := t.info()
	return info.Moved, nil
}

// storedMoveTask reads the record of a task as written; the handle names
// its source queue's entity.
func (db *DB) storedMoveTask(handle string) (MoveTask, bool, error) {
	entity, ok := moveTaskEntity(handle)
	if !ok {
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
// holding startMu; the task's record goes with the queue).
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
		t.stopAndWait(moveTaskStopSourceDeleted)
	}
}

func (t *moveTask) info() MoveTask {
	t.mu.Lock()
	defer t.mu.Unlock()
	info := t.mu.info
	info.Destination = cloneRef(info.Destination)
	return info
}

// stopAndWait stops the task's goroutine for why (the first reason wins)
// and waits for it (idempotent).
func (t *moveTask) stopAndWait(why moveTaskStop) {
	t.mu.Lock()
	if t.mu.why == moveTaskStopNone {
		t.mu.why = why
		close(t.stop)
	}
	t.mu.Unlock()
	<-t.done
}

// run moves batches until the source is drained of the messages counted
// at start, the task is stopped, or a move fails; it records progress and
// the outcome in the index, then leaves the registry. A resumed task waits
// one interval before its first batch. run does not hold the DB operation
// gate (Close and Reset stop it through closeAll before they close logs
// and the index).
func (t *moveTask) run(resumed bool) {
	defer close(t.done)
	info := t.info()
	rate := info.MaxPerSecond
	if rate == 0 {
		rate = moveTaskDefaultPerSecond
	}
	interval := time.Second * moveTaskBatch / time.Duration(rate)
	status, failure := t.loop(info.Destination, interval, resumed)
	t.mu.Lock()
	if status == MoveTaskCancelled {
		switch t.mu.why {
		case moveTaskStopSuspend:
			status = MoveTaskRunning // resumed by the next Open
		case moveTaskStopSourceDeleted:
			status, failure = MoveTaskFailed, MoveTaskFailureQueueNotFound
		}
	}
	t.mu.info.Status, t.mu.info.Failure = status, failure
	// DeleteQueue of the source stops the task before it deletes the
	// queue's keys, so this never writes under a deleted queue.
	if err := t.reg.db.putMoveTask(t.src.entity, t.mu.info, true /* sync */); err != nil {
		t.reg.db.logger.Error("recording the end of a message move task", "task", t.mu.info.Handle, "err", err)
	}
	handle := t.mu.info.Handle
	t.mu.Unlock()
	t.reg.mu.Lock()
	if t.reg.mu.tasks[handle] == t {
		delete(t.reg.mu.tasks, handle)
	}
	t.reg.mu.Unlock()
}

// loop moves batches and returns the final status and failure.
// MoveTaskCancelled means stopped (run tells why).
func (t *moveTask) loop(dst *QueueRef, interval time.Duration, wait bool) (status, failure string) {
	for {
		if wait {
			timer := time.NewTimer(interval)
			select {
			case <-timer.C:
			case <-t.stop:
				timer.Stop()
				return MoveTaskCancelled, ""
			}
		}
		wait = true
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
		moved, err := t.src.takeAndMove(int(batch), dst)
		t.mu.Lock()
		t.mu.info.Moved += int64(moved)
		info = t.mu.info
		var perr error
		if err == nil && moved > 0 && info.Moved < info.ToMove {
			perr = t.reg.db.putMoveTask(t.src.entity, info, false)
		}
		t.mu.Unlock()
		if err != nil {
			return MoveTaskFailed, moveFailure(err)
		}
		if moved == 0 || info.Moved >= info.ToMove {
			return MoveTaskCompleted, "" // nothing left to move, or all counted at start moved
		}
		if perr != nil {
			return MoveTaskFailed, perr.Error()
		}
	}
}

// resumeMoveTasks restarts the tasks that were active when the data
// directory was last closed (or crashed): Open calls it once the index is
// open, before the DB is returned, so no other call can race it. It
// fails only when the index cannot be read or written; a task that cannot
// resume is recorded as FAILED.
func (db *DB) resumeMoveTasks() error {
	var handles []string
	prefix := activeMoveTasksPrefix()
	err := db.index.ScanPrefix(prefix, func(key, _ []byte) error {
		r := index.NewKeyReader(key[len(prefix):])
		handle := r.String()
		if err := r.Done(); err != nil {
			return fmt.Errorf("engine: active move task key %x: %w", key, err)
		}
		handles = append(handles, handle)
		return nil
	})
	if err != nil {
		return fmt.Errorf("engine: list active move tasks: %w", err)
	}
	for _, handle := range handles {
		if err := db.resumeMoveTask(handle); err != nil {
			return err
		}
	}
	return nil
}

// resumeMoveTask restarts, or ends, one active task.
func (db *DB) resumeMoveTask(handle string) error {
	info, ok, err := db.storedMoveTask(handle)
	if err != nil {
		return err
	}
	entity, _ := moveTaskEntity(handle)
	if !ok || !moveTaskActive(info.Status) {
		// Its source queue was deleted (the record went with it) or the
		// record already says how it ended: only the key is left.
		b := db.index.NewBatch()
		defer b.Close()
		b.Delete(activeMoveTaskKey(handle))
		if err := b.Commit(true /* sync */); err != nil {
			return fmt.Errorf("engine: drop active move task %s: %w", handle, err)
		}
		return nil
	}
	if info.Status == MoveTaskCancelling {
		info.Status = MoveTaskCancelled
		return db.putMoveTask(entity, info, true /* sync */)
	}
	src, err := db.openQueue(info.Source)
	if err == nil && src.entity != entity {
		err = fmt.Errorf("%w: %s", ErrQueueNotFound, info.Source) // a new queue of the same name
	}
	if errors.Is(err, ErrQueueNotFound) {
		b := db.index.NewBatch()
		defer b.Close()
		b.Delete(moveTaskKey(entity, handle))
		b.Delete(activeMoveTaskKey(handle))
		if err := b.Commit(true /* sync */); err != nil {
			return fmt.Errorf("engine: drop move task %s of deleted %s: %w", handle, info.Source, err)
		}
		return nil
	}
	if err == nil && info.Destination != nil {
		_, err = db.openQueue(*info.Destination)
	}
	if err != nil {
		db.logger.Error("a message move task cannot resume", "task", handle, "err", err)
		info.Status, info.Failure = MoveTaskFailed, moveFailure(err)
		return db.putMoveTask(entity, info, true /* sync */)
	}
	reg := db.queues()
	t := &moveTask{reg: reg, src: src, stop: make(chan struct{}), done: make(chan struct{})}
	t.mu.info = info
	reg.mu.Lock()
	reg.mu.tasks[handle] = t
	reg.mu.Unlock()
	db.logger.Info("resuming a message move task", "task", handle, "source", info.Source.String(), "moved", info.Moved, "to_move", info.ToMove)
	go t.run(true /* resumed */)
	return nil
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
		t.missingSource = fmt.Errorf("%w: message %s in %s", errNoDeadLetterSource, formatUUID(call.rec.id), q.ref)
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
