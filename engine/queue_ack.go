package engine

import (
	"fmt"
	"time"
)

// Delete deletes the messages named by receipts and returns one error (or
// nil) per receipt:
//
//   - a malformed receipt, or one of another queue: ErrReceiptInvalid;
//   - an already deleted (or expired) message: nil (idempotent, as AWS);
//   - a stale receipt (the message was received again since, or its
//     visibility expired): on standard queues the message is deleted (AWS
//     documents that an old receipt "might" delete; deleting is the useful
//     choice for a consumer that processed it); on FIFO queues
//     ErrReceiptStale (AWS: "The receipt handle has expired").
//
// Deletes are write-behind: written to the index and synced within
// stateSyncInterval (see queue_state.go).
func (q *Queue) Delete(receipts [][]byte) []error {
	errs := make([]error, len(receipts))
	if err := q.db.enter(); err != nil {
		fillErr(errs, err)
		return errs
	}
	defer q.db.exit()
	if len(receipts) == 0 {
		return errs
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.mu.closed {
		fillErr(errs, fmt.Errorf("%w: %s", ErrQueueNotFound, q.ref))
		return errs
	}
	vs := q.mu.vs
	end := q.log.NextSeq()
	var now int64 // FIFO only: an expired receipt is stale
	if q.fifo {
		now = q.db.nowUnixNano()
	}
	seqs := q.mu.scratch.seqs[:0]
	defer func() { q.mu.scratch.seqs = seqs[:0] }()
	unlocked := 0
	for i, raw := range receipts {
		r, err := q.parseOwnReceipt(raw, end)
		if err != nil {
			errs[i] = err
			continue
		}
		st := vs.tracked[r.seq]
		if st == nil {
			if r.seq < vs.cursor {
				continue // finished already
			}
			// Not scanned since open: its receipt predates the restart.
			ok, err := q.unscannedDeletable(r, now)
			if err != nil || !ok {
				errs[i] = err
				if err == nil {
					errs[i] = fmt.Errorf("%w: message %d was delivered again since", ErrReceiptStale, r.seq)
				}
				continue
			}
			seqs = append(seqs, r.seq)
			continue
		}
		// A FIFO receipt stops being current when its visibility timeout
		// runs out, whether or not a receive has applied the expiry to vs.
		current := st.status == statusInflight && st.receiveCount == r.generation &&
			(!q.fifo || st.deadline > now)
		switch {
		case st.status == statusMoving:
			continue // being moved to the dead-letter queue
		case !current && q.fifo:
			errs[i] = fmt.Errorf("%w: message %d", ErrReceiptStale, r.seq)
			continue
		}
		if st.group != nil && st.status == statusInflight {
			unlocked++
		}
		vs.remove(st)
		seqs = append(seqs, r.seq)
	}
	q.persistDeletesLocked(seqs)
	if unlocked > 0 {
		q.wakeLocked(unlocked)
	}
	return errs
}

func fillErr(errs []error, err error) {
	for i := range errs {
		errs[i] = err
	}
}

// parseOwnReceipt parses a receipt and checks it names a message this
// queue could have delivered.
func (q *Queue) parseOwnReceipt(raw []byte, end uint64) (receipt, error) {
	r, err := parseReceipt(raw)
	if err != nil {
		return receipt{}, err
	}
	if r.entity != q.entity || r.seq >= end {
		return receipt{}, fmt.Errorf("%w: not a receipt of queue %s", ErrReceiptInvalid, q.ref)
	}
	return r, nil
}

// unscannedDeletable decides a delete of a message above the scan cursor
// (its receipt was issued before a restart). Standard queues delete it;
// FIFO queues only if the receipt is the message's latest delivery and its
// visibility timeout has not run out at now.
func (q *Queue) unscannedDeletable(r receipt, now int64) (bool, error) {
	if !q.fifo {
		return true, nil
	}
	p, ok, err := q.persistedStateLocked(r.seq)
	if err != nil || !ok {
		return false, err
	}
	return p.deleted || (p.receiveCount == r.generation && p.deadline > now), nil
}

// persistDeletesLocked records deletion marks for seqs (write-behind: the
// next flush writes them, see queue_state.go) and keeps the restore
// cursor's loaded page consistent with them.
func (q *Queue) persistDeletesLocked(seqs []uint64) {
	for _, seq := range seqs {
		q.setPendingLocked(seq, persistedState{deleted: true})
		if c := q.mu.restore; c != nil {
			c.markDeleted(seq)
		}
	}
}

// commitDeletesLocked also commits deletion marks recorded by
// persistDeletesLocked to the index at once (unsynced), so that the next
// synced commit of anything in the index makes them durable: moves to
// another queue use that, as the move's other half (the send, or a task's
// progress) is durable already. The flush writes them again (they stay
// pending): a flush that took an older state of one of them commits after
// this only if it took it before, and the mark here then follows it.
func (q *Queue) commitDeletesLocked(seqs []uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	b := q.db.index.NewBatch()
	defer b.Close()
	sc := &q.mu.scratch
	sc.value = appendPersistedState(sc.value[:0], persistedState{deleted: true})
	for _, seq := range seqs {
		sc.key = q.appendStateKey(sc.key[:0], seq)
		b.Set(sc.key, sc.value) // copied by the batch
	}
	return b.Commit(false)
}

// ChangeVisibility sets the visibility timeout of an in-flight message to
// timeout from now (0 makes it visible at once). The total time in flight
// of one delivery may not exceed 12 hours (ValidationError). A message not
// in flight (including one whose visibility timeout has run out, whether
// or not a receive has seen it since): ErrMessageNotInflight, and the
// message stays visible; on a standard queue the receipt of an earlier
// delivery applies to the current one (AWS), on a FIFO queue it is
// ErrReceiptStale; a receipt of a message deleted, expired or moved since:
// ErrReceiptStale; malformed: ErrReceiptInvalid.
func (q *Queue) ChangeVisibility(receipt []byte, timeout time.Duration) error {
	return q.ChangeVisibilityBatch([][]byte{receipt}, []time.Duration{timeout})[0]
}

// ChangeVisibilityBatch is ChangeVisibility for several receipts (one
// index write); it returns one error (or nil) per receipt.
func (q *Queue) ChangeVisibilityBatch(receipts [][]byte, timeouts []time.Duration) []error {
	errs := make([]error, len(receipts))
	if len(timeouts) != len(receipts) {
		fillErr(errs, invalidf("timeouts", "%d timeouts for %d receipts", len(timeouts), len(receipts)))
		return errs
	}
	if err := q.db.enter(); err != nil {
		fillErr(errs, err)
		return errs
	}
	defer q.db.exit()
	now := q.db.nowUnixNano()
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.mu.closed {
		fillErr(errs, fmt.Errorf("%w: %s", ErrQueueNotFound, q.ref))
		return errs
	}
	call := receiveCall{now: now}
	visible := 0
	end := q.log.NextSeq()
	for i, raw := range receipts {
		st, err := q.changeOneLocked(raw, timeouts[i], now, end)
		if err != nil {
			errs[i] = err
			continue
		}
		call.delivered = append(call.delivered, st)
		if st.status == statusVisible {
			visible++
		}
	}
	if err := q.persistDeliveriesLocked(&call); err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	}
	if visible > 0 {
		q.wakeLocked(visible)
	}
	return errs
}

func (q *Queue) changeOneLocked(raw []byte, timeout time.Duration, now int64, end uint64) (*msgState, error) {
	if timeout < 0 || timeout > VisibilityTimeoutMax {
		return nil, invalidf("VisibilityTimeout", "%s outside [0s, %s]", timeout, VisibilityTimeoutMax)
	}
	r, err := q.parseOwnReceipt(raw, end)
	if err != nil {
		return nil, err
	}
	vs := q.mu.vs
	st := vs.tracked[r.seq]
	if st == nil && r.seq < vs.cursor {
		// Finished (deleted, expired, moved): the receipt names no message
		// any more, which AWS answers as it does a stale receipt
		// ("Message does not exist or is not available for visibility
		// timeout change"), not as MessageNotInflight.
		return nil, fmt.Errorf("%w: message %d no longer exists", ErrReceiptStale, r.seq)
	}
	if st == nil || (st.status != statusInflight && st.status != statusMoving) {
		return nil, fmt.Errorf("%w: message %d", ErrMessageNotInflight, r.seq)
	}
	if st.receiveCount != r.generation && q.fifo {
		// A standard queue applies the receipt of an earlier delivery to
		// the current one, as AWS does (LocalStack's AWS-validated
		// test_terminate_visibility_timeout_after_receive: a receipt from
		// before a second receive makes the message visible again), and
		// as Delete deletes with it; a FIFO receipt expires.
		return nil, fmt.Errorf("%w: message %d was delivered again since", ErrReceiptStale, r.seq)
	}
	if st.status == statusMoving {
		return nil, fmt.Errorf("%w: message %d is moving to the dead-letter queue", ErrMessageNotInflight, r.seq)
	}
	if st.deadline <= now {
		// Its visibility timeout ran out: the message is visible again,
		// even if no receive has applied the expiry to vs yet. Changing
		// the deadline now would hide a visible message.
		return nil, fmt.Errorf("%w: message %d: its visibility timeout expired", ErrMessageNotInflight, r.seq)
	}
	deadline := now + int64(timeout)
	if deadline > st.receivedAt+int64(VisibilityTimeoutMax) {
		return nil, invalidf("VisibilityTimeout", "would keep the message in flight more than %s after it was received", VisibilityTimeoutMax)
	}
	vs.changeVisibility(st, now, deadline)
	return st, nil
}
