package engine

import (
	"fmt"
	"time"

	"github.com/sluice-dev/sluice/segment"
)

// Dead-letter redrive on receive: the receive that would exceed a
// message's MaxReceiveCount moves it instead. The message is marked moving
// (not deliverable, its FIFO group stays locked) under the queue lock; after
// the lock is released the receive appends it to the dead-letter queue
// (keeping message id, attributes and original send time, and recording
// the source queue), then deletes it from the source. A crash between the
// two leaves the message in both queues (at-least-once), never in neither.
// If the append fails the message becomes visible again.

// moveSafetyTimeout is the deadline of a moving message: if the move never
// completes (it always completes or aborts in the receive that started
// it), the message becomes visible again.
const moveSafetyTimeout = time.Minute

// pendingMove is one message to move after the queue lock is released.
type pendingMove struct {
	st     *msgState
	target QueueRef
	rec    messageRecord
	body   []byte
}

// startMoveLocked marks st moving to the dead-letter queue and queues its
// move; rec is borrowed (decoded and copied here).
func (q *Queue) startMoveLocked(call *receiveCall, st *msgState, rec *segment.Record) error {
	attrs := q.attrsLocked()
	if attrs.Redrive == nil {
		return nil
	}
	if err := decodeMessageRecord(rec.Key, &call.rec); err != nil {
		return fmt.Errorf("queue %s seq %d: %w", q.ref, st.seq, err)
	}
	src := q.ref
	q.queueMoveLocked(call, st, rec.Payload, attrs.Redrive.DeadLetterTarget, &src)
	return nil
}

// queueMoveLocked marks st moving to target, recording source as the
// message's dead-letter source (nil clears it: a move task returning the
// message to a normal queue). call.rec holds st's decoded key block;
// payload is borrowed (copied here).
func (q *Queue) queueMoveLocked(call *receiveCall, st *msgState, payload []byte, target QueueRef, source *QueueRef) {
	q.mu.vs.startMove(st, call.now+int64(moveSafetyTimeout))
	rec := call.rec
	rec.sentAt = st.sentAt
	rec.deadLetterSource = source
	call.moves = append(call.moves, pendingMove{
		st:     st,
		target: target,
		rec:    rec,
		body:   append([]byte(nil), payload...),
	})
}

// performMoves appends the moves to their target queues and finishes them
// in the source. It returns how many moved and the first failure. Called
// without the queue lock.
func (q *Queue) performMoves(moves []pendingMove) (moved int, err error) {
	byTarget := make(map[QueueRef][]int)
	var order []QueueRef
	for i, m := range moves {
		if _, ok := byTarget[m.target]; !ok {
			order = append(order, m.target)
		}
		byTarget[m.target] = append(byTarget[m.target], i)
	}
	for _, target := range order {
		idx := byTarget[target]
		merr := q.moveTo(target, moves, idx)
		q.finishMoves(moves, idx, merr)
		if merr != nil && err == nil {
			err = merr
		}
		if merr == nil {
			moved += len(idx)
		}
	}
	return moved, err
}

func (q *Queue) moveTo(target QueueRef, moves []pendingMove, idx []int) error {
	dlq, err := q.db.openQueue(target)
	if err != nil {
		return err
	}
	recs := make([]messageRecord, len(idx))
	bodies := make([][]byte, len(idx))
	for n, i := range idx {
		recs[n], bodies[n] = moves[i].rec, moves[i].body
	}
	return dlq.appendMoved(recs, bodies)
}

// finishMoves deletes moved messages from the source, or makes them
// visible again if the append failed.
func (q *Queue) finishMoves(moves []pendingMove, idx []int, moveErr error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if moveErr != nil {
		q.db.logger.Error("moving messages to the dead-letter queue; they stay in the source",
			"queue", q.ref.String(), "target", moves[idx[0]].target.String(), "err", moveErr)
		for _, i := range idx {
			q.mu.vs.abortMove(moves[i].st)
		}
		q.wakeLocked(len(idx))
		return
	}
	seqs := make([]uint64, 0, len(idx))
	for _, i := range idx {
		st := moves[i].st
		if q.mu.vs.tracked[st.seq] == st {
			q.mu.vs.remove(st)
			seqs = append(seqs, st.seq)
		}
	}
	if err := q.persistDeletesLocked(seqs); err != nil {
		q.db.logger.Error("persisting dead-letter moves; the messages may reappear after a restart",
			"queue", q.ref.String(), "err", err)
	}
	if q.fifo {
		q.wakeLocked(len(idx)) // their groups are unlocked
	}
}

// String for debugging moves.
func (m pendingMove) String() string { return fmt.Sprintf("move %d to %s", m.st.seq, m.target) }
