package engine

import (
	"context"
	"fmt"
	"slices"
	"sync"

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
	b := getSendBatch()
	defer putSendBatch(b)
	results := make([]SendResult, len(msgs))
	b.prepare(&attrs, msgs, results, now)
	if q.fifo {
		return q.sendFIFO(ctx, b, results, now)
	}
	if len(b.entries) == 0 {
		return results, nil
	}
	if _, err := q.log.Append(b.entries); err != nil {
		return nil, fmt.Errorf("engine: send to %s: %w", q.ref, err)
	}
	q.afterAppend(len(b.entries), b.delayed, now)
	return results, nil
}

// sendBatch is the scratch of one Send, pooled: a Send allocates its
// results, one string holding every message id, and (FIFO) its dedup
// reservations, nothing per message beyond what the window keeps.
type sendBatch struct {
	entries []segment.Entry
	index   []int // entries[j] is msgs[index[j]]
	ids     [][16]byte
	offsets []int
	keys    []byte
	text    []byte
	idText  string // message ids of entries, uuidTextBytes each
	delayed int64
	rec     messageRecord

	// FIFO only.
	dedupKeys    []string      // per entry
	reservations []*dedupEntry // per entry; nil = duplicate
	dupOf        [][2]int      // (msg index, msg index of its in-batch original)
	keep         []segment.Entry
	keepJ        []int
}

// sendBatchKeepBytesMax bounds the key buffer a pooled batch keeps.
const sendBatchKeepBytesMax = 64 << 10

var sendBatchPool = sync.Pool{New: func() any { return new(sendBatch) }}

func getSendBatch() *sendBatch { return sendBatchPool.Get().(*sendBatch) }

// putSendBatch drops every reference the batch holds (bodies, attributes,
// dedup entries) and pools it, unless its buffers grew large.
func putSendBatch(b *sendBatch) {
	if cap(b.keys) > sendBatchKeepBytesMax || cap(b.entries) > 64 {
		return
	}
	clear(b.entries)
	clear(b.dedupKeys)
	clear(b.reservations)
	clear(b.keep)
	*b = sendBatch{
		entries: b.entries[:0], index: b.index[:0], ids: b.ids[:0], offsets: b.offsets[:0],
		keys: b.keys[:0], text: b.text[:0], dedupKeys: b.dedupKeys[:0],
		reservations: b.reservations[:0], dupOf: b.dupOf[:0], keep: b.keep[:0], keepJ: b.keepJ[:0],
	}
	sendBatchPool.Put(b)
}

// prepare validates msgs, encodes an entry per valid message and fills in
// the message ids of results.
func (b *sendBatch) prepare(attrs *QueueAttributes, msgs []SendMessage, results []SendResult, now int64) {
	for i := range msgs {
		m := &msgs[i]
		if err := validateSendMessage(attrs, m); err != nil {
			results[i].Err = err
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
			digest:           m.BodyDigest,
			hasDigest:        m.HasBodyDigest,
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
		b.offsets = append(b.offsets, len(b.keys))
		b.keys = appendMessageRecord(b.keys, &b.rec)
		b.index = append(b.index, i)
		b.ids = append(b.ids, b.rec.id)
		b.entries = append(b.entries, segment.Entry{Timestamp: now, Payload: m.Body})
	}
	b.rec = messageRecord{}
	b.offsets = append(b.offsets, len(b.keys))
	for j := range b.entries {
		b.entries[j].Key = b.keys[b.offsets[j]:b.offsets[j+1]:b.offsets[j+1]]
	}
	if len(b.entries) == 0 {
		return
	}
	b.text = b.text[:0]
	for j := range b.ids {
		b.text = appendUUID(b.text, b.ids[j][:])
	}
	b.idText = string(b.text)
	for j, i := range b.index {
		results[i].MessageID = b.messageID(j)
	}
}

// messageID is the message id text of entry j.
func (b *sendBatch) messageID(j int) string {
	return b.idText[j*uuidTextBytes : (j+1)*uuidTextBytes]
}

// afterAppend publishes appended messages to the in-memory state: counts
// delayed ones and wakes long-polling receivers.
func (q *Queue) afterAppend(appended int, delayed, now int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.mu.delayedAhead += delayed
	q.wakeLocked(appended)
	if now-q.mu.lastReclaim >= int64(reclaimInterval) {
		q.armFlushLocked(stateSyncInterval)
	}
}

// sendFIFO deduplicates, appends and settles a FIFO batch. Deduplication
// ids are reserved in the window before the append (under the queue lock),
// so a concurrent duplicate waits for this append instead of storing the
// message twice; the append itself runs outside the lock, so concurrent
// sends still share a group commit.
func (q *Queue) sendFIFO(ctx context.Context, b *sendBatch, results []SendResult, now int64) ([]SendResult, error) {
	for {
		waitOn, err := q.reserveDedup(b, results, now)
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
	for j, e := range b.entries {
		if b.reservations[j] != nil {
			b.keep = append(b.keep, e)
			b.keepJ = append(b.keepJ, j)
		}
	}
	if len(b.keep) > 0 {
		first, err := q.log.Append(b.keep)
		q.mu.Lock()
		if err != nil {
			q.mu.dedup.failAll(b.reservations)
			q.mu.Unlock()
			return nil, fmt.Errorf("engine: send to %s: %w", q.ref, err)
		}
		b.text = b.text[:0]
		for n := range b.keepJ {
			b.text = appendFIFOSequenceNumber(b.text, first+uint64(n))
		}
		seqText := string(b.text)
		for n, j := range b.keepJ {
			b.reservations[j].settle(b.ids[j], first+uint64(n))
			results[b.index[j]].SequenceNumber = seqText[n*fifoSequenceNumberBytes : (n+1)*fifoSequenceNumberBytes]
		}
		q.mu.dedup.settled(b.reservations)
		q.mu.Unlock()
		q.afterAppend(len(b.keep), 0, now)
	}
	for _, d := range b.dupOf {
		r, orig := &results[d[0]], &results[d[1]]
		r.MessageID, r.SequenceNumber, r.Duplicate = orig.MessageID, orig.SequenceNumber, true
	}
	return results, nil
}

// reserveDedup resolves each entry of b against the deduplication window:
// a live settled entry makes it a duplicate (result filled, no append); an
// absent one is reserved. If some id is pending in a concurrent send, it
// releases this call's reservations and returns that send's done channel.
func (q *Queue) reserveDedup(b *sendBatch, results []SendResult, now int64) (<-chan struct{}, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.mu.closed {
		return nil, fmt.Errorf("%w: %s", ErrQueueNotFound, q.ref)
	}
	w := q.mu.dedup
	w.expire(now)
	b.reservations = slices.Grow(b.reservations[:0], len(b.entries))[:len(b.entries)]
	clear(b.reservations)
	b.dupOf = b.dupOf[:0]
	// One slab of entries and one done channel for the batch's
	// reservations: they settle (or fail) together.
	slab := make([]dedupEntry, 0, len(b.entries))
	done := make(chan struct{})
	for j := range b.entries {
		i := b.index[j]
		key := b.dedupKeys[j]
		// A retry (after waiting for a concurrent send) starts afresh.
		results[i].MessageID, results[i].SequenceNumber, results[i].Duplicate = b.messageID(j), "", false
		if k := firstDedupKey(b.dedupKeys[:j], key); k >= 0 {
			// Same id twice in one batch: the later one is a duplicate of
			// the first.
			b.dupOf = append(b.dupOf, [2]int{i, b.index[k]})
			continue
		}
		if e := w.lookup(key, now); e != nil {
			if e.done != nil && !e.settled() {
				w.failAll(b.reservations)
				return e.done, nil
			}
			results[i].MessageID = formatUUID(e.messageID)
			results[i].SequenceNumber = fifoSequenceNumber(e.seq)
			results[i].Duplicate = true
			continue
		}
		slab = append(slab, dedupEntry{key: key, expiresAt: now + int64(dedupInterval), done: done})
		b.reservations[j] = &slab[len(slab)-1]
		w.insert(b.reservations[j])
	}
	return nil, nil
}

// firstDedupKey returns the index of key in keys, or -1 (batches are
// small: a linear scan beats building a map).
func firstDedupKey(keys []string, key string) int {
	for k, x := range keys {
		if x == key {
			return k
		}
	}
	return -1
}

// appendMoved appends messages moved from another queue (dead-letter
// redrive, move tasks), keeping their message id and original send time;
// a redriven message also keeps its receive state (key block version 3,
// redrive.go). The caller has entered the DB.
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
	q.afterAppend(len(entries), 0, now)
	return nil
}
