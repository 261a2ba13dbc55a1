package engine

import (
	"context"
	"fmt"
	"slices"
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
	slab       deliverySlab
	rec        messageRecord   // scratch of moves and takes
	attempt    *receiveAttempt // FIFO: attempt recorded by this call, to persist
	// take, if set, replaces delivery: move tasks take messages out of
	// the queue through the receive path (order, groups, retention).
	take  *moveTake
	taken int
	// trackOnly scans without delivering (open): visible messages of
	// standard queues go to the ready list.
	trackOnly bool
}

// deliverySlab holds the variable-size parts of one call's deliveries, so
// a Receive of n messages costs a handful of allocations, not several per
// message. Receipts, bodies and binary attribute values are capped
// sub-slices of arena.data (the caller owns them: appending to one never
// touches another). Key blocks, formatted message ids and (FIFO) sequence
// numbers are appended to text, which finishDeliveries converts to one
// string; every string of every delivered message is a substring of it,
// decoded from the copied key block.
type deliverySlab struct {
	arena decodeArena
	text  []byte
	spans []deliverySpan // per call.out entry
}

// deliverySpan locates one delivery's key block in deliverySlab.text; its
// message id text follows it, then (FIFO) its sequence number text.
type deliverySpan struct {
	keyStart, keyEnd int
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
	if attrs.Redrive != nil && call.take == nil {
		// A move task takes messages out; it is no receive, so the
		// queue's own redrive policy does not apply to what it takes.
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
	if ferr := q.finishDeliveries(call); err == nil {
		err = ferr
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
	sched, err := peekRecordSchedule(rec.Key)
	if err != nil {
		return false, fmt.Errorf("queue %s seq %d: %w", q.ref, seq, err)
	}
	if sched.delayUntil != 0 && q.mu.delayedAhead > 0 {
		q.mu.delayedAhead--
	}
	// st.sentAt is where retention counts from; a delivery reports the
	// record's own send time if it has one (finishDeliveries).
	sentAt := sched.retentionFrom(q.fifo, rec.Timestamp)
	if (found && persisted.deleted) || sentAt+call.retention <= call.now {
		vs.skip(seq)
		return false, nil
	}
	if sched.delayUntil > call.now && vs.nDelayed >= delayedMax {
		return false, segment.ErrStop // stall the cursor until some are due
	}
	st := vs.track(seq, sentAt, sched.delayUntil, sched.groupID, call.now)
	// A message moved here by dead-letter redrive starts at the receive
	// state it had in its source (key block version 3).
	st.receiveBase = sched.receiveCount
	st.receiveCount, st.firstReceivedAt = sched.receiveCount, sched.firstReceivedAt
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
	if call.maxReceive > 0 && st.receivesHere() >= call.maxReceive {
		return false, q.startMoveLocked(call, st, rec)
	}
	if err := q.deliverLocked(call, st, rec); err != nil {
		return false, err
	}
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
	found := false
	_, err := q.log.Read(st.seq, 1, 0, func(rec *segment.Record) error {
		if rec.Seq != st.seq {
			return segment.ErrStop
		}
		found = true
		if call.maxReceive > 0 && st.receivesHere() >= call.maxReceive {
			return q.startMoveLocked(call, st, rec)
		}
		return q.deliverLocked(call, st, rec)
	})
	if err != nil {
		return fmt.Errorf("engine: receive from %s: %w", q.ref, err)
	}
	if !found {
		vs.remove(st) // retention deleted its segment
	}
	return nil
}

// deliverLocked makes st in flight and appends the delivery to call.out
// (or hands it to call.take). rec is borrowed (copied here).
func (q *Queue) deliverLocked(call *receiveCall, st *msgState, rec *segment.Record) error {
	if call.take != nil {
		if err := call.take.takeLocked(q, call, st, rec); err != nil {
			return err
		}
		call.taken++
		return nil
	}
	if len(rec.Key) < recordHeaderBytes {
		// finishDeliveries decodes the rest; the message id must be there.
		return fmt.Errorf("queue %s seq %d: %w: short key block", q.ref, st.seq, errRecordMalformed)
	}
	gen := q.mu.vs.deliver(st, call.now, call.visibility)
	q.appendDeliveryLocked(call, st, gen, rec)
	return nil
}

// Sizes of the texts a delivery adds to deliverySlab.text after its key
// block.
const (
	uuidTextBytes           = 36
	fifoSequenceNumberBytes = 21
)

// appendDeliveryLocked renders delivery gen of st into call.out and
// queues its state for persisting. rec (whose key block passed
// peekRecordSchedule) is borrowed: its key block and payload are copied
// into call.slab; the strings are filled in by finishDeliveries.
func (q *Queue) appendDeliveryLocked(call *receiveCall, st *msgState, gen uint32, rec *segment.Record) {
	sl := &call.slab
	textBytes := len(rec.Key) + uuidTextBytes
	if q.fifo {
		textBytes += fifoSequenceNumberBytes
	}
	if call.out == nil {
		// Size everything for the rest of the call after this first
		// message; a bigger one later grows a buffer (earlier slices stay
		// valid on the old array).
		n := max(call.opts.Max-call.n(), 1)
		call.out = make([]ReceivedMessage, 0, n)
		call.delivered = slices.Grow(call.delivered, n)
		sl.spans = make([]deliverySpan, 0, n)
		sl.arena.data = make([]byte, 0, n*(receiptSizeBytes+len(rec.Payload)))
		sl.text = make([]byte, 0, n*textBytes)
	}
	data := sl.arena.data
	start := len(data)
	data = appendReceipt(data, receipt{entity: q.entity, seq: st.seq, generation: gen})
	receiptBytes := data[start:len(data):len(data)]
	start = len(data)
	data = append(data, rec.Payload...)
	body := data[start:len(data):len(data)]
	sl.arena.data = data

	span := deliverySpan{keyStart: len(sl.text)}
	sl.text = append(sl.text, rec.Key...)
	span.keyEnd = len(sl.text)
	sl.text = appendUUID(sl.text, recordMessageID(rec.Key))
	if q.fifo {
		sl.text = appendFIFOSequenceNumber(sl.text, st.seq)
	}
	sl.spans = append(sl.spans, span)
	call.out = append(call.out, ReceivedMessage{
		Receipt:               receiptBytes,
		Body:                  body,
		SentTimestamp:         time.Unix(0, st.sentAt),
		FirstReceiveTimestamp: time.Unix(0, st.firstReceivedAt),
		ReceiveCount:          int(st.receiveCount),
	})
	call.delivered = append(call.delivered, st)
}

// finishDeliveries fills in the strings and attributes of call.out from
// the key blocks copied into call.slab: one string conversion for all.
func (q *Queue) finishDeliveries(call *receiveCall) error {
	if len(call.out) == 0 {
		return nil
	}
	sl := &call.slab
	text := string(sl.text)
	sl.arena.expect = len(call.out)
	var m messageRecord
	for i := range call.out {
		span := sl.spans[i]
		if err := decodeRecord(text[span.keyStart:span.keyEnd], &m, &sl.arena); err != nil {
			return fmt.Errorf("engine: receive from %s: seq %d: %w", q.ref, call.delivered[i].seq, err)
		}
		sl.arena.expect--
		o := &call.out[i]
		o.MessageID = text[span.keyEnd : span.keyEnd+uuidTextBytes]
		o.Attributes = m.attributes
		o.SystemAttributes = m.systemAttributes
		o.SenderID = m.senderID
		o.GroupID = m.groupID
		o.DeadLetterSource = m.deadLetterSource
		o.BodyDigest, o.HasBodyDigest = m.digest, m.hasDigest
		if m.sentAt != 0 {
			// A moved message: its recorded send time, which for a FIFO
			// dead-letter move is before st.sentAt (retention, the move).
			o.SentTimestamp = time.Unix(0, m.sentAt)
		}
		if q.fifo {
			o.DeduplicationID = m.dedupID
			seqStart := span.keyEnd + uuidTextBytes
			o.SequenceNumber = text[seqStart : seqStart+fifoSequenceNumberBytes]
		}
	}
	return nil
}

// persistDeliveriesLocked records the receive state of every delivery of
// the call for the next flush (write-behind, see queue_state.go for the
// window) and writes a FIFO receive attempt to the index.
func (q *Queue) persistDeliveriesLocked(call *receiveCall) error {
	if len(call.delivered) == 0 {
		return nil
	}
	for _, st := range call.delivered {
		q.setPendingLocked(st.seq, persistedState{receiveCount: st.receiveCount,
			firstReceivedAt: st.firstReceivedAt, receivedAt: st.receivedAt, deadline: st.deadline})
	}
	if a := call.attempt; a != nil {
		// A FIFO receive attempt goes to the index now (unsynced), as
		// its own batch: it is read back only after a restart, and
		// keeping it out of the pending map keeps that map to seqs.
		b := q.db.index.NewBatch()
		defer b.Close()
		sc := &q.mu.scratch
		sc.key = appendAttemptKey(sc.key[:0], q.entity, a)
		sc.value = appendAttemptValue(sc.value[:0], a)
		b.Set(sc.key, sc.value)
		if err := b.Commit(false); err != nil {
			return fmt.Errorf("engine: receive from %s: %w", q.ref, err)
		}
	}
	return nil
}
