package engine

import (
	"context"
	"fmt"

	"github.com/sluice-dev/sluice/segment"
)

// Send appends the valid messages of msgs in one log append (one group
// commit, one fsync under the default sync policy) and returns once they
// are durable. Entries that fail validation get SendResult.Err and do not
// fail the others; an error return means the append failed and nothing
// was acknowledged.
//
// Standard queues write nothing but the log record: the send path costs
// one key-block encoding and one UUID per message. FIFO queues also
// consult and update the in-memory deduplication window.
func (q *Queue) Send(ctx context.Context, msgs []SendMessage) ([]SendResult, error) {
	if err := q.db.enter(); err != nil {
		return nil, err
	}
	defer q.db.exit()
	if len(msgs) == 0 {
		return nil, ErrBatchEmpty
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	q.mu.Lock()
	if q.mu.closed {
		q.mu.Unlock()
		return nil, fmt.Errorf("%w: %s", ErrQueueNotFound, q.ref)
	}
	attrs := *q.attrsLocked()
	q.mu.Unlock()

	now := q.db.nowUnixNano()
	b := sendBatch{results: make([]SendResult, len(msgs))}
	b.prepare(&attrs, msgs, now)
	if q.fifo {
		return q.sendFIFO(ctx, &b, now)
	}
	if len(b.entries) == 0 {
		return b.results, nil
	}
	if _, err := q.log.Append(b.entries); err != nil {
		return nil, fmt.Errorf("engine: send to %s: %w", q.ref, err)
	}
	q.afterAppend(b.entries, b.delayed, now)
	return b.results, nil
}

// sendBatch is the per-call scratch of Send: one allocation for all key
// blocks.
type sendBatch struct {
	results []SendResult
	entries []segment.Entry
	index   []int // entries[j] is msgs[index[j]]
	ids     [][16]byte
	keys    []byte
	delayed int64
	rec     messageRecord

	// FIFO only.
	dedupKeys    []string      // per entry
	reservations []*dedupEntry // per entry; nil = duplicate
	dupOf        [][2]int      // (msg index, msg index of its in-batch original)
}

// prepare validates msgs and encodes an entry per valid message.
func (b *sendBatch) prepare(attrs *QueueAttributes, msgs []SendMessage, now int64) {
	b.entries = make([]segment.Entry, 0, len(msgs))
	b.index = make([]int, 0, len(msgs))
	b.ids = make([][16]byte, 0, len(msgs))
	offsets := make([]int, 0, len(msgs)+1)
	for i := range msgs {
		m := &msgs[i]
		if err := validateSendMessage(attrs, m); err != nil {
			b.results[i].Err = err
			continue
		}
		delay := attrs.Delay
		if m.Delay != nil {
			delay = *m.Delay
		}
		b.rec = messageRecord{
			id:               newMessageID(),
			groupID:          m.GroupID,
			dedupID:          m.DeduplicationID,
			senderID:         m.SenderID,
			attributes:       m.Attributes,
			systemAttributes: m.SystemAttributes,
		}
		if attrs.FIFO {
			if b.rec.dedupID == "" {
				b.rec.dedupID = contentDedupID(m.Body)
			}
			b.dedupKeys = append(b.dedupKeys, dedupKey(attrs.DeduplicationScope, m.GroupID, b.rec.dedupID))
		}
		if delay > 0 {
			b.rec.delayUntil = now + int64(delay)
			b.delayed++
		}
		offsets = append(offsets, len(b.keys))
		b.keys = appendMessageRecord(b.keys, &b.rec)
		b.index = append(b.index, i)
		b.ids = append(b.ids, b.rec.id)
		b.results[i].MessageID = formatUUID(b.rec.id)
		b.entries = append(b.entries, segment.Entry{Timestamp: now, Payload: m.Body})
	}
	offsets = append(offsets, len(b.keys))
	for i := range b.entries {
		b.entries[i].Key = b.keys[offsets[i]:offsets[i+1]:offsets[i+1]]
	}
}

// afterAppend publishes appended messages to the in-memory state: counts
// delayed ones and wakes long-polling receivers.
func (q *Queue) afterAppend(entries []segment.Entry, delayed, now int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.mu.delayedAhead += delayed
	q.wakeLocked(len(entries))
	if now-q.mu.lastReclaim >= int64(reclaimInterval) {
		q.armFlushLocked(stateSyncInterval)
	}
}

// sendFIFO deduplicates, appends and settles a FIFO batch. Deduplication
// ids are reserved in the window before the append (under the queue lock),
// so a concurrent duplicate waits for this append instead of storing the
// message twice; the append itself runs outside the lock, so concurrent
// sends still share a group commit.
func (q *Queue) sendFIFO(ctx context.Context, b *sendBatch, now int64) ([]SendResult, error) {
	for {
		waitOn, err := q.reserveDedup(b, now)
		if err != nil {
			return nil, err
		}
		if waitOn == nil {
			break
		}
		// A concurrent send holds one of our ids: wait for its outcome and
		// start over (it either settles, making ours duplicates, or fails).
		select {
		case <-waitOn:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	var keep []segment.Entry
	var keepJ []int
	for j, e := range b.entries {
		if b.reservations[j] != nil {
			keep = append(keep, e)
			keepJ = append(keepJ, j)
		}
	}
	if len(keep) > 0 {
		first, err := q.log.Append(keep)
		q.mu.Lock()
		if err != nil {
			for _, j := range keepJ {
				q.mu.dedup.fail(b.reservations[j])
			}
			q.mu.Unlock()
			return nil, fmt.Errorf("engine: send to %s: %w", q.ref, err)
		}
		for n, j := range keepJ {
			seq := first + uint64(n)
			b.reservations[j].settle(b.ids[j], seq)
			b.results[b.index[j]].SequenceNumber = fifoSequenceNumber(seq)
		}
		q.mu.Unlock()
		q.afterAppend(keep, 0, now)
	}
	for _, d := range b.dupOf {
		r, orig := &b.results[d[0]], &b.results[d[1]]
		r.MessageID, r.SequenceNumber, r.Duplicate = orig.MessageID, orig.SequenceNumber, true
	}
	return b.results, nil
}

// reserveDedup resolves each entry of b against the deduplication window:
// a live settled entry makes it a duplicate (result filled, no append); an
// absent one is reserved. If some id is pending in a concurrent send, it
// releases this call's reservations and returns that send's done channel.
func (q *Queue) reserveDedup(b *sendBatch, now int64) (<-chan struct{}, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.mu.closed {
		return nil, fmt.Errorf("%w: %s", ErrQueueNotFound, q.ref)
	}
	w := q.mu.dedup
	w.expire(now)
	b.reservations = make([]*dedupEntry, len(b.entries))
	b.dupOf = b.dupOf[:0]
	seenInBatch := make(map[string]int, len(b.entries))
	for j := range b.entries {
		i := b.index[j]
		key := b.dedupKeys[j]
		b.results[i].MessageID, b.results[i].Duplicate = formatUUID(b.ids[j]), false
		if k, ok := seenInBatch[key]; ok {
			// Same id twice in one batch: the later one is a duplicate of
			// the first.
			b.dupOf = append(b.dupOf, [2]int{i, k})
			continue
		}
		seenInBatch[key] = i
		if e := w.lookup(key, now); e != nil {
			if e.done != nil && !e.settled() {
				for _, r := range b.reservations {
					if r != nil {
						w.fail(r)
					}
				}
				return e.done, nil
			}
			b.results[i].MessageID = formatUUID(e.messageID)
			b.results[i].SequenceNumber = fifoSequenceNumber(e.seq)
			b.results[i].Duplicate = true
			continue
		}
		b.reservations[j] = w.reserve(key, now+int64(dedupInterval))
	}
	return nil, nil
}

// appendMoved appends messages moved from another queue (dead-letter
// redrive, move tasks), keeping their message id and original send time.
// The caller has entered the DB.
func (q *Queue) appendMoved(recs []messageRecord, bodies [][]byte) error {
	q.mu.Lock()
	closed := q.mu.closed
	q.mu.Unlock()
	if closed {
		return fmt.Errorf("%w: %s", ErrQueueNotFound, q.ref)
	}
	now := q.db.nowUnixNano()
	entries := make([]segment.Entry, len(recs))
	for i := range recs {
		recs[i].delayUntil = 0
		entries[i] = segment.Entry{Timestamp: now, Key: appendMessageRecord(nil, &recs[i]), Payload: bodies[i]}
	}
	if _, err := q.log.Append(entries); err != nil {
		return fmt.Errorf("engine: append to %s: %w", q.ref, err)
	}
	q.afterAppend(entries, 0, now)
	return nil
}
