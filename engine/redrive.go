package engine

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/sluice-dev/sluice/index"
	"github.com/sluice-dev/sluice/segment"
)

// Dead-letter redrive on receive: the receive that would exceed a
// message's MaxReceiveCount moves it instead. The message is marked moving
// (not deliverable, its FIFO group stays locked) under the queue lock; after
// the lock is released the receive appends it to the dead-letter queue
// (keeping message id, attributes, original send time, receive count and
// first receive time, and recording the source queue), then deletes it
// from the source. A crash between the two leaves the message in both
// queues (at-least-once), never in neither. If the append fails the
// message becomes visible again.
//
// Receive state across moves, as AWS shows it (evidence in
// NOTES-queue.md): after MaxReceiveCount = N receives in the source, the
// first receive from the dead-letter queue reports ApproximateReceiveCount
// N+1 and the source's ApproximateFirstReceiveTimestamp; the key block
// (version 3) carries both, so a restart in between keeps them. The
// dead-letter queue's own redrive policy, if any, counts only the receives
// in that queue (msgState.receiveBase). A move task's messages start
// afresh (AWS: "considered new messages"): a new message id, the move as
// their send time, and no receive state.
//
// Retention across moves (AWS developer guide, dead-letter queue
// retention): a standard dead-letter queue counts it from the original
// send; a FIFO one from the move ("the enqueue timestamp resets"). The
// moved record needs nothing new for that: it keeps the original send time
// (reported as SentTimestamp in both cases), and in a FIFO queue the
// receive path counts retention of a record with a dead-letter source from
// the record's log timestamp, the move (recordSchedule.retentionFrom).

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
	if rec.sentAt == 0 {
		// A sent message: its send time is the record timestamp, which
		// is st.sentAt. A moved one keeps its recorded send time; st.sentAt
		// may be later (a FIFO dead-letter move resets retention only).
		rec.sentAt = st.sentAt
	}
	rec.deadLetterSource = source
	if source != nil && q.fifo {
		// AWS: "When a message is moved from a FIFO queue to a FIFO DLQ,
		// the original message's deduplication ID will be replaced with
		// the original message's ID" (developer guide, configuring a
		// dead-letter queue redrive), so that two messages sharing a
		// deduplication id are both kept. Moved records never enter the
		// DLQ's dedup window anyway (rebuildDedup); this is what a receive
		// reports as MessageDeduplicationId.
		rec.dedupID = formatUUID(rec.id)
	}
	// Redrive (a source) carries the receive state; a move task starts it
	// afresh. call.rec may hold the state of an earlier move: overwrite.
	rec.receiveCount, rec.firstReceivedAt = 0, 0
	if source != nil && st.receiveCount > 0 && st.firstReceivedAt > 0 {
		rec.receiveCount, rec.firstReceivedAt = st.receiveCount, st.firstReceivedAt
	}
	if source == nil {
		// A move task's message is a new message in its destination (AWS:
		// "All redriven messages are considered new messages with a new
		// messageID and enqueueTime"): a new id, and its send time (and so
		// its retention) is the append. The id derives from this queue's
		// record, so a move done again after a crash between its append and
		// its delete here writes the same id (a recognisable duplicate).
		rec.id = movedMessageID(q.entity, st.seq, rec.id)
		// sentAt stays recorded (recSent marks every moved record, which
		// rebuildDedup relies on), now as the move's time.
		rec.sentAt = call.now
	}
	call.moves = append(call.moves, pendingMove{
		st:     st,
		target: target,
		rec:    rec,
		body:   append([]byte(nil), payload...),
	})
}

// movedMessageID is the new message id of the record at seq of queue
// entity (with message id id) when a move task moves it: a version 4 style
// UUID from a hash of the three, so that it differs from every other
// message's and is the same every time that record is moved.
func movedMessageID(entity, seq uint64, id [16]byte) [16]byte {
	var in [len(movedIDDomain) + 16 + 16]byte
	b := append(in[:0], movedIDDomain...)
	b = binary.BigEndian.AppendUint64(b, entity)
	b = binary.BigEndian.AppendUint64(b, seq)
	b = append(b, id[:]...)
	sum := sha256.Sum256(b)
	var out [16]byte
	copy(out[:], sum[:16])
	out[6] = out[6]&0x0f | 0x40 // version 4, as newMessageID
	out[8] = out[8]&0x3f | 0x80 // RFC 4122 variant
	return out
}

const movedIDDomain = "sluice move task message id\x00"

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
	q.persistDeletesLocked(seqs)
	if err := q.commitDeletesLocked(seqs); err != nil {
		// Still pending: the next flush retries them.
		q.db.logger.Warn("writing dead-letter moves to the index; the next state flush retries",
			"queue", q.ref.String(), "err", err)
	}
	if q.fifo {
		q.wakeLocked(len(idx)) // their groups are unlocked
	}
}

// String for debugging moves.
func (m pendingMove) String() string { return fmt.Sprintf("move %d to %s", m.st.seq, m.target) }

// # Dead-letter source index
//
// DeadLetterSourceQueues and StartMoveTask need the queues whose redrive
// policy names a dead-letter queue. A reverse index answers that in
// O(sources of that queue) instead of a scan of every queue's catalog
// record: one empty key per (dead-letter queue, source) under the reserved
// entity 0 (queue_meta.go), plus a marker saying the index was built.
//
// Maintenance: CreateQueue adds the key in its catalog batch (atomic);
// SetAttributes adds the new target's key before its synced catalog write
// (pebble's WAL is ordered: the sync covers it) and removes the old one
// after; DeleteQueue removes its key in the catalog-delete batch. So the
// index is a superset of the truth: readers check each candidate against
// its catalog record and delete the keys that no longer hold (a crash
// between two of those writes, a race with a rebuild). A missing marker
// (an index written before this existed, or lost) makes the first reader
// rebuild it from the catalog.

const queueMetaDLQIndexBuilt = "queue/dlq-sources-index-v1"

func dlqSourcesPrefix(dlq QueueRef) []byte {
	return appendQueueRef(index.EntitySpacePrefix(nil, queueGlobalEntity, spaceQueueDLQSources), dlq)
}

func dlqSourceKey(dlq, source QueueRef) []byte {
	return appendQueueRef(dlqSourcesPrefix(dlq), source)
}

// redriveTarget returns the dead-letter target of attrs, if any.
func redriveTarget(attrs *QueueAttributes) (QueueRef, bool) {
	if attrs.Redrive == nil {
		return QueueRef{}, false
	}
	return attrs.Redrive.DeadLetterTarget, true
}

// ensureDLQIndex builds the dead-letter source index from the catalog if
// its marker is missing (once per open, or after a Reset).
func (r *queueRegistry) ensureDLQIndex() error {
	r.dlqIndexMu.Lock()
	defer r.dlqIndexMu.Unlock()
	if r.dlqIndexReady {
		return nil
	}
	db := r.db
	marker := index.EntityMetaKey(nil, queueGlobalEntity, queueMetaDLQIndexBuilt)
	_, ok, err := db.index.Get(marker)
	if err != nil {
		return fmt.Errorf("engine: dead-letter source index: %w", err)
	}
	if !ok {
		b := db.index.NewBatch()
		defer b.Close()
		err := db.catalogScan(kindQueue, func(rec catalogRecord) error {
			qr, err := decodeQueueRecord(rec.Value)
			if err != nil {
				return err
			}
			if target, ok := redriveTarget(&qr.Attributes); ok {
				b.Set(dlqSourceKey(target, QueueRef{Namespace: rec.NS, Name: rec.Name}), nil)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("engine: rebuild dead-letter source index: %w", err)
		}
		b.Set(marker, nil)
		if err := b.Commit(true /* sync */); err != nil {
			return fmt.Errorf("engine: rebuild dead-letter source index: %w", err)
		}
	}
	r.dlqIndexReady = true
	return nil
}

// deadLetterSources lists the queues whose redrive targets dlq, in index
// order (no enter).
func (db *DB) deadLetterSources(dlq QueueRef) ([]QueueRef, error) {
	if err := db.queues().ensureDLQIndex(); err != nil {
		return nil, err
	}
	prefix := dlqSourcesPrefix(dlq)
	var candidates []QueueRef
	err := db.index.ScanPrefix(prefix, func(key, _ []byte) error {
		r := index.NewKeyReader(key[len(prefix):])
		src := readQueueRef(&r)
		if err := r.Done(); err != nil {
			return fmt.Errorf("engine: dead-letter source key %x: %w", key, err)
		}
		candidates = append(candidates, src)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("engine: dead-letter sources of %s: %w", dlq, err)
	}
	out := candidates[:0]
	var stale [][]byte
	for _, src := range candidates {
		rec, ok, err := db.catalogGet(kindQueue, src.Namespace, src.Name)
		if err != nil {
			return nil, err
		}
		holds := false
		if ok {
			qr, err := decodeQueueRecord(rec.Value)
			if err != nil {
				return nil, err
			}
			target, has := redriveTarget(&qr.Attributes)
			holds = has && target == dlq
		}
		if holds {
			out = append(out, src)
		} else {
			stale = append(stale, dlqSourceKey(dlq, src))
		}
	}
	if len(stale) > 0 {
		// Best effort: a stale key costs one more check next time.
		b := db.index.NewBatch()
		for _, k := range stale {
			b.Delete(k)
		}
		if err := b.Commit(false); err != nil {
			db.logger.Warn("dropping stale dead-letter source keys", "queue", dlq.String(), "err", err)
		}
		b.Close()
	}
	return out, nil
}
