package engine

import (
	"encoding/binary"
	"fmt"

	"github.com/sluice-dev/sluice/index"
	"github.com/sluice-dev/sluice/segment"
)

// FIFO delivery. Messages are tracked per message group (see vstate); a
// receive takes the first available group (see groupHeap) and delivers as
// many of its messages as fit, in order, then the next group, and so on.
// A group is available when its head is visible (see fifoGroup), and
// delivery stops at the first message of the group that is not visible, so
// no later message of a group is delivered while an earlier one is in
// flight; an earlier one can come back (expired or ChangeVisibility 0)
// while later ones are still in flight, as on AWS. Scanning reads
// ahead of delivery only as far as needed to find available groups, and at
// most fifoBufferMax undelivered messages.

// fifoScanChunk is how many records a FIFO receive scans at a time when it
// needs more available groups.
const fifoScanChunk = 64

// receiveAttempt remembers what a ReceiveRequestAttemptId returned.
type receiveAttempt struct {
	id        string
	expiresAt int64
	seqs      []uint64
	gens      []uint32
}

func (q *Queue) receiveFIFOLocked(call *receiveCall) error {
	if call.opts.AttemptID != "" {
		replayed, err := q.replayAttemptLocked(call)
		if err != nil || replayed {
			return err
		}
	}
	vs := q.mu.vs
	// Scan what was sent since the last receive first, so a group's
	// messages are delivered together (AWS returns as many of one group as
	// fit). Each record is scanned once; the buffer bounds the work.
	for end := q.log.NextSeq(); vs.cursor < end && vs.buffered() < fifoBufferMax; {
		before := vs.cursor
		if err := q.scanLocked(call, fifoScanChunk); err != nil {
			return err
		}
		if vs.cursor == before {
			break
		}
	}
	for {
		for !call.full() && vs.nInflight < InflightMax {
			g := vs.popGroup()
			if g == nil {
				break
			}
			if err := q.deliverGroupLocked(call, g); err != nil {
				return err
			}
		}
		if call.full() || vs.nInflight >= InflightMax ||
			vs.cursor >= q.log.NextSeq() || vs.buffered() >= fifoBufferMax {
			break
		}
		before := vs.cursor
		if err := q.scanLocked(call, fifoScanChunk); err != nil {
			return err
		}
		if vs.cursor == before {
			break
		}
	}
	if call.opts.AttemptID != "" && len(call.out) > 0 {
		q.recordAttemptLocked(call)
	}
	return nil
}

// deliverGroupLocked delivers g's visible messages in order until the call
// is full or a message is not deliverable; it re-offers g if it is still
// available (e.g. its head expired or moved).
func (q *Queue) deliverGroupLocked(call *receiveCall, g *fifoGroup) error {
	vs := q.mu.vs
	members := append([]*msgState(nil), g.members()...)
	for _, st := range members {
		if call.full() || vs.nInflight >= InflightMax || st.status != statusVisible {
			break
		}
		if err := q.deliverTrackedLocked(call, st); err != nil {
			return err
		}
		if st.status == statusMoving {
			break // the group stays locked until the move completes
		}
		if st.status == statusVisible {
			// Left where it was (a move task found no destination for
			// it): the messages after it must wait for it.
			break
		}
	}
	vs.offerGroup(g)
	return nil
}

// replayAttemptLocked answers a retried ReceiveRequestAttemptId: if every
// message it returned is still in flight under the same receipt, they are
// returned again with the same receipts and a fresh visibility timeout
// (AWS). Otherwise the retry is a normal receive.
func (q *Queue) replayAttemptLocked(call *receiveCall) (bool, error) {
	q.expireAttemptsLocked(call.now)
	a := q.mu.attempt[call.opts.AttemptID]
	if a == nil || a.expiresAt <= call.now {
		return false, nil
	}
	vs := q.mu.vs
	for i, seq := range a.seqs {
		st := vs.tracked[seq]
		if st == nil || st.status != statusInflight || st.receiveCount != a.gens[i] {
			return false, nil
		}
	}
	for i, seq := range a.seqs {
		st := vs.tracked[seq]
		// A fresh visibility timeout, but never past 12 hours from the
		// receive (VisibilityTimeoutMax, as ChangeVisibility enforces).
		vs.changeVisibility(st, call.now, min(call.now+call.visibility, st.receivedAt+int64(VisibilityTimeoutMax)))
		_, err := q.log.Read(seq, 1, 0, func(rec *segment.Record) error {
			if rec.Seq != seq {
				return fmt.Errorf("engine: queue %s seq %d missing from the log", q.ref, seq)
			}
			if len(rec.Key) < recordHeaderBytes {
				return fmt.Errorf("queue %s seq %d: %w: short key block", q.ref, seq, errRecordMalformed)
			}
			q.appendDeliveryLocked(call, st, a.gens[i], rec)
			return nil
		})
		if err != nil {
			return false, fmt.Errorf("engine: receive from %s: %w", q.ref, err)
		}
	}
	return true, nil
}

// recordAttemptLocked remembers what the call delivered under its attempt
// id; persistDeliveriesLocked writes it with the deliveries.
func (q *Queue) recordAttemptLocked(call *receiveCall) {
	a := &receiveAttempt{id: call.opts.AttemptID, expiresAt: call.now + int64(dedupInterval)}
	for _, st := range call.delivered {
		a.seqs = append(a.seqs, st.seq)
		a.gens = append(a.gens, st.receiveCount)
	}
	q.addAttemptLocked(a)
	call.attempt = a
}

func (q *Queue) addAttemptLocked(a *receiveAttempt) {
	q.mu.attempts = append(q.mu.attempts, a)
	q.mu.attempt[a.id] = a
}

// Receive attempts are persisted, in the batch of their deliveries, so a
// retry after a restart (the usual reason for a retry: the answer was
// lost) gets the same messages and receipts while they are still in
// flight, as AWS promises for 5 minutes. Key: the queue's attempts space,
// expiry time, attempt id (queue_meta.go); value: count, then (seq, gen)
// pairs as uvarints. Expired keys are range-deleted by the queue's
// reclaiming flush.

func attemptsPrefix(entity uint64) []byte {
	return index.EntitySpacePrefix(nil, entity, spaceQueueAttempts)
}

func appendAttemptKey(dst []byte, entity uint64, a *receiveAttempt) []byte {
	dst = index.AppendInt64(index.EntitySpacePrefix(dst, entity, spaceQueueAttempts), a.expiresAt)
	return index.AppendString(dst, a.id)
}

func appendAttemptValue(dst []byte, a *receiveAttempt) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(a.seqs)))
	for i := range a.seqs {
		dst = binary.AppendUvarint(dst, a.seqs[i])
		dst = binary.AppendUvarint(dst, uint64(a.gens[i]))
	}
	return dst
}

func decodeAttempt(key, value []byte, prefixLen int) (*receiveAttempt, error) {
	kr := index.NewKeyReader(key[prefixLen:])
	a := &receiveAttempt{expiresAt: kr.Int64(), id: kr.String()}
	if err := kr.Done(); err != nil {
		return nil, err
	}
	r := recordReader[[]byte]{buf: value}
	n := r.uvarint()
	if r.err == nil && n > ReceiveMaxMessages {
		r.fail("attempt count out of range")
	}
	for i := uint64(0); r.err == nil && i < n; i++ {
		seq, gen := r.uvarint(), r.uvarint()
		if gen > 1<<32-1 {
			r.fail("generation out of range")
		}
		a.seqs = append(a.seqs, seq)
		a.gens = append(a.gens, uint32(gen))
	}
	if r.err == nil && r.off != len(value) {
		r.fail("trailing bytes")
	}
	return a, r.err
}

// loadAttempts reads the unexpired receive attempts (open).
func (q *Queue) loadAttempts() error {
	now := q.db.nowUnixNano()
	prefix := attemptsPrefix(q.entity)
	lower := index.AppendInt64(attemptsPrefix(q.entity), now+1)
	err := q.db.index.Scan(lower, index.PrefixEnd(prefix), func(key, value []byte) error {
		a, err := decodeAttempt(key, value, len(prefix))
		if err != nil {
			return fmt.Errorf("receive attempt %x: %w", key, err)
		}
		q.addAttemptLocked(a) // keys come in expiry order
		return nil
	})
	if err != nil {
		return fmt.Errorf("engine: open queue %s: %w", q.ref, err)
	}
	return nil
}

// expireAttemptsLocked drops attempts past their 5 minutes (they are in
// expiry order).
func (q *Queue) expireAttemptsLocked(now int64) {
	n := 0
	for n < len(q.mu.attempts) && q.mu.attempts[n].expiresAt <= now {
		if a := q.mu.attempts[n]; q.mu.attempt[a.id] == a {
			delete(q.mu.attempt, a.id)
		}
		n++
	}
	if n > 0 {
		q.mu.attempts = append(q.mu.attempts[:0], q.mu.attempts[n:]...)
	}
}
