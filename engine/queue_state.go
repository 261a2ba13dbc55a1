package engine

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/sluice-dev/sluice/index"
	"github.com/sluice-dev/sluice/segment"
)

// Persisted queue state (index, under the queue's entity):
//
//	SeqKey(entity, spaceQueueMessages, seq) → 'D'                      deleted
//	                                         → 'R' count firstReceived receivedAt deadline   (uvarint, varints)
//	EntityMetaKey(entity, "floor")           → u64 BE: every seq below is finished
//
// Sends write nothing here: the log is the source of truth for what was
// sent. Receives, deletes and visibility changes are write-behind: each
// records its message's new state in the queue's pending map (the latest
// state per seq), and a per-queue flush, at most stateSyncInterval after
// the first change, writes the pending states of seqs at or above the
// floor, persists the floor, drops the keys below it with one range
// tombstone, and commits all that in one batch with fsync. So after a
// crash or power loss, at most the last stateSyncInterval (plus one
// fsync) of deletes, receive counts and visibility changes can be lost:
// those messages are delivered again (at-least-once), never lost. (Until
// 2026-11 each call committed its own unsynced batch: the window was the
// same, since such a commit survives neither a power loss nor, while
// pebble writes its WAL asynchronously, a process crash; but a receive and
// a delete cost two memtable inserts per message, about a tenth of the
// server's CPU in a receive+delete benchmark. Now a message received and
// deleted between two flushes costs none once the floor passes it.)
//
// After open, the queue starts with cursor = floor and an empty tracked set;
// the restore cursor merges the persisted keys above the floor into the
// scan, so deleted messages are skipped and in-flight messages come back in
// flight with their receive count, generation and deadline (their receipts
// stay valid).
const (
	spaceQueueMessages = index.SpaceUserMin
	queueMetaFloor     = "floor"

	stateDeleted  = 'D'
	stateReceived = 'R'

	// stateSyncInterval bounds how long a delete or receive stays
	// unsynced in the index (the at-least-once window after a machine
	// crash).
	stateSyncInterval = 100 * time.Millisecond
	// reclaimInterval is how often a queue with traffic checks whether
	// whole log segments can be deleted (retention or fully consumed).
	reclaimInterval = time.Minute
)

// pendingKeepMax is the largest pending map a flush keeps for reuse: a
// cleared map keeps its buckets, and one burst should not pin them.
const pendingKeepMax = 4096

// restorePageSize is how many persisted keys the restore cursor loads at a
// time (a variable for tests).
var restorePageSize = 1024

// persistedState is one decoded message state key.
type persistedState struct {
	deleted         bool
	receiveCount    uint32
	firstReceivedAt int64
	receivedAt      int64
	deadline        int64
}

func appendPersistedState(dst []byte, p persistedState) []byte {
	if p.deleted {
		return append(dst, stateDeleted)
	}
	dst = append(dst, stateReceived)
	dst = binary.AppendUvarint(dst, uint64(p.receiveCount))
	dst = binary.AppendVarint(dst, p.firstReceivedAt)
	dst = binary.AppendVarint(dst, p.receivedAt)
	return binary.AppendVarint(dst, p.deadline)
}

// setPendingLocked records seq's new state for the next flush.
func (q *Queue) setPendingLocked(seq uint64, p persistedState) {
	if q.mu.pending == nil {
		q.mu.pending = make(map[uint64]persistedState)
	}
	q.mu.pending[seq] = p
	q.markDirtyLocked()
}

// pendingStateLocked returns seq's state not yet committed to the index:
// pending, or taken by a running flush.
func (q *Queue) pendingStateLocked(seq uint64) (persistedState, bool) {
	if p, ok := q.mu.pending[seq]; ok {
		return p, true
	}
	p, ok := q.mu.flushing[seq]
	return p, ok
}

// persistedStateLocked returns seq's state as the flushes will leave it:
// the state not yet committed, or else the one in the index.
func (q *Queue) persistedStateLocked(seq uint64) (persistedState, bool, error) {
	if p, ok := q.pendingStateLocked(seq); ok {
		return p, true, nil
	}
	v, ok, err := q.db.index.Get(q.stateKey(seq))
	if err != nil || !ok {
		return persistedState{}, false, err
	}
	p, err := decodePersistedState(v)
	return p, err == nil, err
}

func decodePersistedState(v []byte) (persistedState, error) {
	if len(v) == 1 && v[0] == stateDeleted {
		return persistedState{deleted: true}, nil
	}
	if len(v) == 0 || v[0] != stateReceived {
		return persistedState{}, fmt.Errorf("engine: queue message state %x is corrupt", v)
	}
	var p persistedState
	r := recordReader[[]byte]{buf: v, off: 1}
	count := r.uvarint()
	p.firstReceivedAt = r.varint()
	p.receivedAt = r.varint()
	p.deadline = r.varint()
	if r.err == nil && (r.off != len(v) || count > 1<<32-1) {
		r.fail("trailing bytes or count overflow")
	}
	if r.err != nil {
		return persistedState{}, fmt.Errorf("engine: queue message state: %w", r.err)
	}
	p.receiveCount = uint32(count)
	return p, nil
}

// restoreCursor walks the persisted message states above the floor in seq
// order, a page at a time, in step with the queue's scan cursor. The only
// states changed after open for seqs it has not reached are deletes of
// unscanned messages (receipts from before a restart): markDeleted applies
// them to the loaded page, and load merges the pending ones into a page.
type restoreCursor struct {
	q     *Queue
	page  []restoreEntry
	next  int
	from  uint64 // next seq to load from
	limit uint64 // one past the last persisted seq at open (exclusive)
}

type restoreEntry struct {
	seq   uint64
	state persistedState
}

// lookup returns the persisted state of seq, if any. Calls must come with
// non-decreasing seq.
func (c *restoreCursor) lookup(seq uint64) (persistedState, bool, error) {
	for {
		for c.next < len(c.page) && c.page[c.next].seq < seq {
			c.next++
		}
		if c.next < len(c.page) {
			e := c.page[c.next]
			return e.state, e.seq == seq, nil
		}
		if c.from >= c.limit || seq >= c.limit {
			return persistedState{}, false, nil
		}
		if err := c.load(max(seq, c.from)); err != nil {
			return persistedState{}, false, err
		}
	}
}

// markDeleted records a delete of seq (above the scan cursor) in the
// loaded page, so a page loaded before the delete does not resurrect it.
// Seqs not loaded yet are read from the index later, after the delete's
// commit.
func (c *restoreCursor) markDeleted(seq uint64) {
	if seq >= c.from {
		return
	}
	i, found := slices.BinarySearchFunc(c.page, seq, func(e restoreEntry, s uint64) int { return cmp.Compare(e.seq, s) })
	if found {
		c.page[i].state = persistedState{deleted: true}
		return
	}
	if i < c.next {
		return // the cursor passed it
	}
	c.page = slices.Insert(c.page, i, restoreEntry{seq: seq, state: persistedState{deleted: true}})
}

// done reports whether the cursor has passed every persisted key.
func (c *restoreCursor) done(seq uint64) bool { return seq >= c.limit }

func (c *restoreCursor) load(from uint64) error {
	c.page, c.next = c.page[:0], 0
	q := c.q
	lower := q.stateKey(from)
	upper := q.stateKey(c.limit)
	c.from = c.limit
	err := q.db.index.Scan(lower, upper, func(key, value []byte) error {
		k, err := index.DecodeSeqKey(key)
		if err != nil {
			return err
		}
		st, err := decodePersistedState(value)
		if err != nil {
			return fmt.Errorf("%w (queue %s seq %d)", err, q.ref, k.Seq)
		}
		c.page = append(c.page, restoreEntry{seq: k.Seq, state: st})
		if len(c.page) == restorePageSize {
			c.from = k.Seq + 1
			return index.ErrStop
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("engine: restore queue %s state: %w", q.ref, err)
	}
	// Deletes in the loaded range not committed to the index yet (the
	// caller holds q.mu, which guards pending and flushing).
	merge := func(seq uint64) {
		st, ok := q.pendingStateLocked(seq)
		if !ok || !st.deleted || seq < from || seq >= c.from {
			return
		}
		i, found := slices.BinarySearchFunc(c.page, seq, func(e restoreEntry, s uint64) int { return cmp.Compare(e.seq, s) })
		if found {
			c.page[i].state = st
		} else {
			c.page = slices.Insert(c.page, i, restoreEntry{seq: seq, state: st})
		}
	}
	for seq := range q.mu.flushing {
		merge(seq)
	}
	for seq := range q.mu.pending {
		merge(seq)
	}
	return nil
}

// load reads the persisted floor and prepares the restore cursor (open).
func (q *Queue) load() error {
	floor := uint64(1)
	v, ok, err := q.db.index.Get(index.EntityMetaKey(nil, q.entity, queueMetaFloor))
	if err != nil {
		return fmt.Errorf("engine: open queue %s: %w", q.ref, err)
	}
	if ok {
		if len(v) != 8 {
			return fmt.Errorf("engine: queue %s floor of %d bytes is corrupt", q.ref, len(v))
		}
		floor = binary.BigEndian.Uint64(v)
	}
	q.mu.persistedFloor = floor
	if q.mu.lastPurge, err = q.loadLastPurge(); err != nil {
		return err
	}
	q.mu.persistedPurge = q.mu.lastPurge
	floor = max(floor, q.log.FirstSeq())
	q.mu.vs = newVState(q.fifo, floor)
	q.mu.attempt = make(map[string]*receiveAttempt)
	// Every persisted key is for a seq below the log end at open.
	if limit := q.log.NextSeq(); limit > floor {
		q.mu.restore = &restoreCursor{q: q, from: floor, limit: limit}
	}
	if q.fifo {
		q.mu.dedup = newDedupWindow()
		if err := q.rebuildDedup(); err != nil {
			return err
		}
		if err := q.loadAttempts(); err != nil {
			return err
		}
	}
	return q.restoreScan()
}

// restoreScanMax bounds how many visible messages open tracks ahead of
// any receive (memory: about 100 bytes each; a variable for tests).
var restoreScanMax = 100_000

// restoreScan scans the log from the floor at open, without delivering,
// so that in-flight, deleted and delayed messages are known (Counts and
// receipts are right from open) and visible ones are ready. It stops after
// restoreScanMax visible messages; the rest is scanned by receives.
func (q *Queue) restoreScan() error {
	attrs := q.attrsLocked()
	call := receiveCall{
		opts:      ReceiveOptions{Max: restoreScanMax},
		now:       q.db.nowUnixNano(),
		retention: int64(attrs.MessageRetention),
		trackOnly: true,
	}
	want := restoreScanMax
	if q.fifo {
		want = fifoBufferMax
	}
	return q.scanLocked(&call, want)
}

// rebuildDedup refills the FIFO deduplication window from the log records
// of the last dedupInterval, leaving out those sent before the last purge
// (a purge clears the window, see clearDedupLocked).
func (q *Queue) rebuildDedup() error {
	now := q.db.nowUnixNano()
	lastPurge := q.mu.lastPurge
	from, err := q.log.SeekTimestamp(max(now-int64(dedupInterval), lastPurge))
	if err != nil {
		return fmt.Errorf("engine: rebuild dedup of %s: %w", q.ref, err)
	}
	scope := q.mu.rec.Attributes.DeduplicationScope
	end := q.log.NextSeq()
	var m messageRecord
	for from < end {
		next, err := q.log.Read(from, 1024, 0, func(rec *segment.Record) error {
			if err := decodeMessageRecord(rec.Key, &m); err != nil {
				return fmt.Errorf("queue %s seq %d: %w", q.ref, rec.Seq, err)
			}
			// Moved messages (dead-letter redrive, move tasks: the records
			// with a recorded send time) never enter the dedup window, as
			// appendMoved does not insert them while running: a producer's
			// send is not dropped because a message of that id was moved.
			if m.dedupID != "" && m.sentAt == 0 && rec.Timestamp >= lastPurge {
				q.mu.dedup.insertSettled(dedupKey(scope, m.groupID, m.dedupID), m.id, rec.Seq, rec.Timestamp+int64(dedupInterval))
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("engine: rebuild dedup of %s: %w", q.ref, err)
		}
		if next == from {
			break
		}
		from = next
	}
	return nil
}

// markDirtyLocked records an unsynced state write and arms the flush.
func (q *Queue) markDirtyLocked() {
	q.mu.dirty = true
	q.armFlushLocked(stateSyncInterval)
}

func (q *Queue) armFlushLocked(after time.Duration) {
	if q.mu.flushArmed || q.mu.closed {
		return
	}
	q.mu.flushArmed = true
	if q.mu.flushTimer == nil {
		q.mu.flushTimer = time.AfterFunc(after, q.flushFromTimer)
	} else {
		q.mu.flushTimer.Reset(after)
	}
}

func (q *Queue) flushFromTimer() {
	q.flushMu.Lock()
	defer q.flushMu.Unlock()
	q.mu.Lock()
	q.mu.flushArmed = false
	closed := q.mu.closed
	q.mu.Unlock()
	if closed {
		return
	}
	if err := q.flushLocked(true); err != nil {
		q.db.logger.Error("flushing queue state; will retry", "queue", q.ref.String(), "err", err)
		q.mu.Lock()
		q.armFlushLocked(stateSyncInterval)
		q.mu.Unlock()
	}
}

// flush persists the floor and syncs (see flushLocked).
func (q *Queue) flush(sync bool) error {
	q.flushMu.Lock()
	defer q.flushMu.Unlock()
	return q.flushLocked(sync)
}

// flushClosed is the final flush of Close: the queue is closed, so timers
// no longer flush, and this must still run.
func (q *Queue) flushClosed() error {
	q.flushMu.Lock()
	defer q.flushMu.Unlock()
	return q.flushLocked(true)
}

// flushLocked (q.flushMu held) persists the floor, range-deletes the state
// keys below it, commits (fsync if sync) and reclaims whole log segments
// that are finished or past retention.
func (q *Queue) flushLocked(sync bool) error {
	now := q.db.nowUnixNano()
	q.mu.Lock()
	floor := q.mu.vs.floor
	persisted := q.mu.persistedFloor
	lastPurge := q.mu.lastPurge
	purgeChanged := lastPurge != q.mu.persistedPurge
	dirty := q.mu.dirty || purgeChanged
	q.mu.dirty = false
	// Take the pending states (and put the spare map in their place);
	// restore cursors read them in flushing until the commit.
	var pending map[uint64]persistedState
	if len(q.mu.pending) > 0 {
		pending = q.mu.pending
		q.mu.pending, q.mu.spare = q.mu.spare, nil
		q.mu.flushing = pending
	}
	retention := q.mu.rec.Attributes.MessageRetention
	reclaim := now-q.mu.lastReclaim >= int64(reclaimInterval) || floor != persisted
	if reclaim {
		q.mu.lastReclaim = now
	}
	expireAttempts := q.fifo && now-q.mu.lastAttemptsExpiry >= int64(reclaimInterval)
	if expireAttempts {
		q.mu.lastAttemptsExpiry = now
	}
	q.mu.Unlock()
	if floor != persisted || dirty || expireAttempts {
		b := q.db.index.NewBatch()
		// The floor is written even when unchanged: pebble skips an empty
		// batch, fsync included, and this commit's fsync is what makes the
		// earlier unsynced state writes durable.
		b.Set(index.EntityMetaKey(nil, q.entity, queueMetaFloor), binary.BigEndian.AppendUint64(nil, floor))
		if floor != persisted {
			b.DeleteRange(q.stateKey(0), q.stateKey(floor))
		}
		if expireAttempts {
			// Receive attempts past their 5 minutes.
			b.DeleteRange(attemptsPrefix(q.entity), index.AppendInt64(attemptsPrefix(q.entity), now))
		}
		if purgeChanged {
			b.Set(q.lastPurgeKey(), binary.BigEndian.AppendUint64(nil, uint64(lastPurge)))
		}
		// Pending states below the floor are finished: the range
		// tombstone (this flush's or an earlier one's) covers them.
		var key, value []byte
		for seq, st := range pending {
			if seq < floor {
				continue
			}
			key = q.appendStateKey(key[:0], seq)
			value = appendPersistedState(value[:0], st)
			b.Set(key, value) // copied by the batch
		}
		err := b.Commit(sync)
		b.Close()
		if err != nil {
			q.mu.Lock()
			q.mu.dirty = true
			q.mu.flushing = nil
			// Put back what no later change replaced, for the retry.
			for seq, st := range pending {
				if _, ok := q.mu.pending[seq]; !ok {
					if q.mu.pending == nil {
						q.mu.pending = make(map[uint64]persistedState, len(pending))
					}
					q.mu.pending[seq] = st
				}
			}
			q.mu.Unlock()
			return fmt.Errorf("engine: flush queue %s state: %w", q.ref, err)
		}
		q.mu.Lock()
		q.mu.flushing = nil
		q.mu.persistedFloor = floor
		q.mu.persistedPurge = lastPurge
		// Keep the map for the next flush unless a burst grew it.
		if pending != nil && q.mu.spare == nil && len(pending) <= pendingKeepMax {
			clear(pending)
			q.mu.spare = pending
		}
		q.mu.Unlock()
	}
	if reclaim {
		// Segments wholly below the persisted floor are finished. Deleting
		// them only after the floor is durable keeps restart consistent.
		if _, err := q.log.DeleteBefore(floor); err != nil {
			return fmt.Errorf("engine: reclaim queue %s log: %w", q.ref, err)
		}
		if _, err := q.log.DeleteOlderThan(now - int64(retention)); err != nil {
			return fmt.Errorf("engine: reclaim queue %s log: %w", q.ref, err)
		}
	}
	return nil
}
