package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/sluice-dev/sluice/segment"
)

// Receive delivers up to opts.Max messages. Order: messages whose
// visibility expired (redelivery), then new messages from the read cursor
// (skipping deleted, retention-expired and not-yet-due delayed ones); FIFO
// queues deliver per message group in order, never past a group with a
// message in flight. Each delivery gets a fresh receipt and a visibility
// deadline.
//
// With a wait (opts.Wait, or the queue's ReceiveWaitTime), Receive long
// polls: when nothing is available it parks on the queue's waiter list
// until a send or an expiring visibility/delay can serve it, the wait runs
// out (it then returns an empty result), ctx is done (ctx.Err()) or the DB
// closes (ErrClosed). Parked callers cost no CPU and no goroutine of their
// own beyond the caller's.
//
// Over InflightMax messages in flight, Receive returns no messages (AWS).
func (q *Queue) Receive(ctx context.Context, opts ReceiveOptions) ([]ReceivedMessage, error) {
	if opts.Max < 1 || opts.Max > ReceiveMaxMessages {
		return nil, invalidf("Max", "%d outside [1, %d]", opts.Max, ReceiveMaxMessages)
	}
	if v := opts.Visibility; v != nil && (*v < 0 || *v > VisibilityTimeoutMax) {
		return nil, invalidf("Visibility", "%s outside [0s, %s]", *v, VisibilityTimeoutMax)
	}
	if w := opts.Wait; w != nil && (*w < 0 || *w > ReceiveWaitTimeMax) {
		return nil, invalidf("Wait", "%s outside [0s, %s]", *w, ReceiveWaitTimeMax)
	}
	if err := q.db.enter(); err != nil {
		return nil, err
	}
	defer q.db.exit()
	done := q.db.done()
	start := q.db.nowUnixNano()
	var w *waiter
	for {
		now := q.db.nowUnixNano()
		call := receiveCall{opts: opts, now: now}
		msgs, err := q.tryReceive(&call, start, &w)
		if len(call.moves) > 0 {
			_, _ = q.performMoves(call.moves) // failures are logged; the messages stay
			if err == nil && len(msgs) == 0 {
				continue // the moved messages freed room; look again
			}
		}
		if err != nil || len(msgs) > 0 || w == nil {
			return msgs, err
		}
		remaining := time.Duration(call.waitUntil - now)
		timer := time.NewTimer(remaining)
		select {
		case <-w.ch:
			timer.Stop()
		case <-timer.C:
			q.unpark(w)
			w = nil
			// One last look: a message may have arrived just now.
			call := receiveCall{opts: opts, now: q.db.nowUnixNano(), noWait: true}
			msgs, err := q.tryReceive(&call, start, &w)
			if len(call.moves) > 0 {
				_, _ = q.performMoves(call.moves)
			}
			return msgs, err
		case <-ctx.Done():
			timer.Stop()
			q.unpark(w)
			return nil, ctx.Err()
		case <-done:
			timer.Stop()
			q.unpark(w)
			return nil, ErrClosed
		}
	}
}

// receiveCall is the state of one receive attempt.
type receiveCall struct {
	opts       ReceiveOptions
	now        int64
	noWait     bool
	visibility int64
	waitUntil  int64
	maxReceive uint32 // redrive threshold; 0 = no redrive
	retention  int64
	out        []ReceivedMessage
	delivered  []*msgState
	moves      []pendingMove
	rec        messageRecord
	// take, if set, replaces delivery: move tasks take messages out of
	// the queue through the receive path (order, groups, retention).
	take  func(call *receiveCall, st *msgState, payload []byte)
	taken int
	// trackOnly scans without delivering (open): visible messages of
	// standard queues go to the ready list.
	trackOnly bool
}

// n counts messages delivered or taken so far.
func (c *receiveCall) n() int { return len(c.out) + c.taken }

func (c *receiveCall) full() bool { return c.n() >= c.opts.Max }

// tryReceive runs one receive attempt under the queue lock. If it finds
// nothing and the call may wait, it parks *w (allocating it) on the waiter
// list before unlocking, so no wakeup between the attempt and the park is
// lost.
func (q *Queue) tryReceive(call *receiveCall, start int64, w **waiter) ([]ReceivedMessage, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.mu.closed {
		return nil, fmt.Errorf("%w: %s", ErrQueueNotFound, q.ref)
	}
	attrs := q.attrsLocked()
	call.visibility = int64(attrs.VisibilityTimeout)
	if call.opts.Visibility != nil {
		call.visibility = int64(*call.opts.Visibility)
	}
	wait := attrs.ReceiveWaitTime
	if call.opts.Wait != nil {
		wait = *call.opts.Wait
	}
	call.waitUntil = start + int64(wait)
	call.retention = int64(attrs.MessageRetention)
	if attrs.Redrive != nil {
		call.maxReceive = uint32(attrs.Redrive.MaxReceiveCount)
	}
	vs := q.mu.vs
	if n := vs.advance(call.now); n > 0 {
		q.wakeLocked(n) // others may be parked: let them compete too
	}
	var err error
	if q.fifo {
		err = q.receiveFIFOLocked(call)
	} else {
		err = q.receiveStandardLocked(call)
	}
	if perr := q.persistDeliveriesLocked(call); err == nil {
		err = perr
	}
	if err != nil {
		return nil, err
	}
	if len(call.out) == 0 && len(call.moves) == 0 && !call.noWait && call.waitUntil > call.now {
		if *w == nil {
			*w = &waiter{ch: make(chan struct{}, 1)}
		}
		q.parkLocked(*w)
	}
	return call.out, nil
}

// receiveStandardLocked: redeliveries first, then new messages.
func (q *Queue) receiveStandardLocked(call *receiveCall) error {
	vs := q.mu.vs
	for !call.full() && vs.nInflight < InflightMax {
		st := vs.popReady()
		if st == nil {
			break
		}
		if err := q.deliverTrackedLocked(call, st); err != nil {
			return err
		}
	}
	return q.scanLocked(call, call.opts.Max-call.n())
}

// scanLocked reads the log from the cursor: standard queues deliver what
// they scan (up to want); FIFO queues only track it (want = how many to
// scan).
func (q *Queue) scanLocked(call *receiveCall, want int) error {
	vs := q.mu.vs
	if err := q.skipExpiredLocked(call); err != nil {
		return err
	}
	end := q.log.NextSeq()
	for want > 0 && vs.cursor < end && vs.nInflight < InflightMax {
		from := vs.cursor
		budget := want
		_, err := q.log.Read(from, max(budget, 16), 0, func(rec *segment.Record) error {
			if budget <= 0 || vs.nInflight >= InflightMax {
				return segment.ErrStop
			}
			if rec.Seq > vs.cursor {
				vs.jump(rec.Seq) // retention removed what lay between
			}
			took, err := q.scanRecordLocked(call, rec)
			if err != nil {
				return err
			}
			if took {
				budget--
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("engine: receive from %s: %w", q.ref, err)
		}
		if vs.cursor == from {
			break // stalled (delayed set full) or nothing readable
		}
		want = budget
	}
	return nil
}

// scanRecordLocked handles the record at the cursor. It reports whether the
// record counted toward the scan's want (delivered, or tracked for FIFO).
func (q *Queue) scanRecordLocked(call *receiveCall, rec *segment.Record) (bool, error) {
	vs := q.mu.vs
	seq := rec.Seq
	var persisted persistedState
	var found bool
	if c := q.mu.restore; c != nil {
		var err error
		if persisted, found, err = c.lookup(seq); err != nil {
			return false, err
		}
		if c.done(seq + 1) {
			q.mu.restore = nil
		}
	}
	m := &call.rec
	if err := decodeMessageRecord(rec.Key, m); err != nil {
		return false, fmt.Errorf("queue %s seq %d: %w", q.ref, seq, err)
	}
	if m.delayUntil != 0 && q.mu.delayedAhead > 0 {
		q.mu.delayedAhead--
	}
	sentAt := rec.Timestamp
	if m.sentAt != 0 {
		sentAt = m.sentAt
	}
	if (found && persisted.deleted) || sentAt+call.retention <= call.now {
		vs.skip(seq)
		return false, nil
	}
	if m.delayUntil > call.now && vs.nDelayed >= delayedMax {
		return false, segment.ErrStop // stall the cursor until some are due
	}
	st := vs.track(seq, sentAt, m.delayUntil, m.groupID, call.now)
	if found {
		st.receiveCount = persisted.receiveCount
		st.firstReceivedAt = persisted.firstReceivedAt
		if st.status == statusVisible && persisted.deadline > call.now && persisted.receiveCount > 0 {
			vs.restoreInflight(st, persisted.receivedAt, persisted.deadline)
			return false, nil
		}
	}
	if q.fifo || st.status != statusVisible {
		return q.fifo && st.status == statusVisible, nil
	}
	if call.trackOnly {
		vs.queueReady(st)
		return true, nil
	}
	if call.maxReceive > 0 && st.receiveCount >= call.maxReceive {
		q.startMoveLocked(call, st, rec.Payload)
		return false, nil
	}
	q.deliverLocked(call, st, rec.Payload)
	return true, nil
}

// skipExpiredLocked jumps the cursor over records past retention (their
// log timestamps are older than the retention cutoff) with one seek.
func (q *Queue) skipExpiredLocked(call *receiveCall) error {
	vs := q.mu.vs
	if first := q.log.FirstSeq(); first > vs.cursor {
		vs.jump(first)
	}
	end := q.log.NextSeq()
	// One seek per second at most: in between, expired records are
	// skipped one by one by the scan.
	if vs.cursor >= end || call.now-q.mu.lastSeek < int64(time.Second) {
		return nil
	}
	q.mu.lastSeek = call.now
	seq, err := q.log.SeekTimestamp(call.now - call.retention)
	if err != nil {
		return fmt.Errorf("engine: receive from %s: %w", q.ref, err)
	}
	if seq > vs.cursor {
		if c := q.mu.restore; c != nil && c.done(seq) {
			q.mu.restore = nil
		}
		vs.jump(seq)
	}
	return nil
}

// deliverTrackedLocked delivers a visible tracked message (read back from
// the log), unless it expired or must move to the dead-letter queue.
func (q *Queue) deliverTrackedLocked(call *receiveCall, st *msgState) error {
	vs := q.mu.vs
	if st.sentAt+call.retention <= call.now {
		vs.remove(st)
		return nil
	}
	var body []byte
	found := false
	_, err := q.log.Read(st.seq, 1, 0, func(rec *segment.Record) error {
		if rec.Seq != st.seq {
			return segment.ErrStop
		}
		found = true
		if err := decodeMessageRecord(rec.Key, &call.rec); err != nil {
			return fmt.Errorf("queue %s seq %d: %w", q.ref, rec.Seq, err)
		}
		if call.maxReceive > 0 && st.receiveCount >= call.maxReceive {
			q.startMoveLocked(call, st, rec.Payload)
			return nil
		}
		body = rec.Payload
		q.deliverLocked(call, st, body)
		return nil
	})
	if err != nil {
		return fmt.Errorf("engine: receive from %s: %w", q.ref, err)
	}
	if !found {
		vs.remove(st) // retention deleted its segment
	}
	return nil
}

// deliverLocked makes st in flight and appends the delivery to call.out.
// call.rec holds st's decoded key block; payload is borrowed (copied here).
func (q *Queue) deliverLocked(call *receiveCall, st *msgState, payload []byte) {
	if call.take != nil {
		call.take(call, st, payload)
		call.taken++
		return
	}
	gen := q.mu.vs.deliver(st, call.now, call.visibility)
	q.appendDeliveryLocked(call, st, gen, payload)
}

// appendDeliveryLocked renders delivery gen of st (key block decoded in
// call.rec) into call.out and queues its state for persisting.
func (q *Queue) appendDeliveryLocked(call *receiveCall, st *msgState, gen uint32, payload []byte) {
	m := &call.rec
	out := ReceivedMessage{
		MessageID:             formatUUID(m.id),
		Receipt:               appendReceipt(make([]byte, 0, receiptSizeBytes), receipt{entity: q.entity, seq: st.seq, generation: gen}),
		Body:                  append([]byte(nil), payload...),
		Attributes:            m.attributes,
		SystemAttributes:      m.systemAttributes,
		SentTimestamp:         time.Unix(0, st.sentAt),
		FirstReceiveTimestamp: time.Unix(0, st.firstReceivedAt),
		ReceiveCount:          int(st.receiveCount),
		SenderID:              m.senderID,
		GroupID:               m.groupID,
		DeadLetterSource:      m.deadLetterSource,
	}
	if q.fifo {
		out.DeduplicationID = m.dedupID
		out.SequenceNumber = fifoSequenceNumber(st.seq)
	}
	call.out = append(call.out, out)
	call.delivered = append(call.delivered, st)
}

// persistDeliveriesLocked writes the receive state of every delivery of
// the call in one unsynced batch (see queue_state.go for the window).
func (q *Queue) persistDeliveriesLocked(call *receiveCall) error {
	if len(call.delivered) == 0 {
		return nil
	}
	b := q.db.index.NewBatch()
	defer b.Close()
	var buf []byte
	for _, st := range call.delivered {
		buf = appendReceivedState(buf[:0], st)
		b.Set(q.stateKey(st.seq), buf)
	}
	if err := b.Commit(false); err != nil {
		return fmt.Errorf("engine: receive from %s: %w", q.ref, err)
	}
	q.markDirtyLocked()
	return nil
}
