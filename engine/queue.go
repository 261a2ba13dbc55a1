package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sluice-dev/sluice/index"
	"github.com/sluice-dev/sluice/segment"
)

// queueRecord is a queue's catalog value (encoding/json: metadata, not hot).
type queueRecord struct {
	Attributes   QueueAttributes   `json:"attributes"`
	Tags         map[string]string `json:"tags,omitempty"`
	Created      int64             `json:"created"`       // unix nanoseconds
	LastModified int64             `json:"last_modified"` // unix nanoseconds
}

func decodeQueueRecord(v []byte) (queueRecord, error) {
	var r queueRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return queueRecord{}, fmt.Errorf("engine: queue catalog record is corrupt: %w", err)
	}
	return r, nil
}

// queueRegistry holds the open queues of one DB (kindRegistry).
type queueRegistry struct {
	db *DB
	// startMu serializes StartMoveTask with itself and with DeleteQueue,
	// so no task starts on a queue being deleted.
	startMu sync.Mutex
	// dlqIndexReady: the dead-letter source index is known to be built
	// (redrive.go); reset by closeAll (Reset deletes it).
	dlqIndexMu    sync.Mutex
	dlqIndexReady bool
	mu            struct {
		sync.Mutex
		byEntity map[uint64]*Queue
		byRef    map[QueueRef]*Queue
		// tasks are the move tasks this process runs (started or
		// resumed; their records live in the index: movetask.go).
		tasks map[string]*moveTask
	}
}

func (db *DB) queues() *queueRegistry {
	return db.registry(kindQueue, func() kindRegistry {
		r := &queueRegistry{db: db}
		r.mu.byEntity = make(map[uint64]*Queue)
		r.mu.byRef = make(map[QueueRef]*Queue)
		r.mu.tasks = make(map[string]*moveTask)
		return r
	}).(*queueRegistry)
}

// closeAll stops move tasks, then closes every open queue: timers stop,
// the queue state is flushed and synced. Called by Close and Reset with no
// operation in flight.
func (r *queueRegistry) closeAll() error {
	r.mu.Lock()
	tasks := slices.Collect(maps.Values(r.mu.tasks))
	queues := slices.Collect(maps.Values(r.mu.byEntity))
	r.mu.byEntity = make(map[uint64]*Queue)
	r.mu.byRef = make(map[QueueRef]*Queue)
	r.mu.tasks = make(map[string]*moveTask)
	r.mu.Unlock()
	r.dlqIndexMu.Lock()
	r.dlqIndexReady = false
	r.dlqIndexMu.Unlock()
	for _, t := range tasks {
		t.stopAndWait(moveTaskStopSuspend) // recorded RUNNING: the next Open resumes it
	}
	var errs []error
	for _, q := range queues {
		errs = append(errs, q.close())
	}
	return errors.Join(errs...)
}

// Queue is an open queue. Handles are shared: db.Queue returns the same
// *Queue to every caller, and it is safe for concurrent use. After
// DeleteQueue every method returns ErrQueueNotFound.
type Queue struct {
	db     *DB
	ref    QueueRef
	entity uint64
	log    *segment.Log
	fifo   bool

	// flushMu serializes state flushes (timer callback, Close, Purge).
	flushMu sync.Mutex

	mu struct {
		sync.Mutex
		closed  bool // deleted, or the DB closed
		rec     queueRecord
		vs      *vstate
		restore *restoreCursor // persisted state ahead of the cursor after open
		dedup   *dedupWindow   // FIFO only
		attempt map[string]*receiveAttempt
		waiters waiterList
		wakeAt  int64 // deadline the wake timer is armed for (0 = none)
		wake    *time.Timer

		delayedAhead   int64 // delayed messages sent but not yet scanned
		lastPurge      int64
		persistedPurge int64             // lastPurge as last written to the index
		lastSeek       int64             // last retention seek of the scan cursor
		attempts       []*receiveAttempt // FIFO attempt ids in expiry order

		dirty bool // state changed since the last synced flush
		// pending holds message states changed since the last flush
		// took them (write-behind, see queue_state.go): the latest
		// state per seq. flushing is what a running flush took and has
		// not committed yet (read-only meanwhile); spare is the emptied
		// map of the previous flush.
		pending, flushing, spare map[uint64]persistedState
		flushArmed               bool
		flushTimer               *time.Timer
		persistedFloor           uint64
		lastReclaim              int64
		lastAttemptsExpiry       int64

		scratch queueScratch
	}
}

// queueScratch holds buffers the hot paths reuse under the queue lock
// (index keys and values are copied by the batch they are added to).
type queueScratch struct {
	key   []byte
	value []byte
	seqs  []uint64
}

// now returns the engine clock in unix nanoseconds.
func (db *DB) nowUnixNano() int64 { return db.opts.Clock.Now().UnixNano() }

// CreateQueue creates a queue, or returns the existing one when its
// attributes are equal (idempotent, as AWS); ErrQueueExists when they
// differ; ErrQueueDeletedRecently within 60 s of deleting the name. Tags
// apply only when the queue is created.
func (db *DB) CreateQueue(ns Namespace, name string, attrs QueueAttributes, tags map[string]string) (*QueueInfo, error) {
	if err := db.enter(); err != nil {
		return nil, err
	}
	defer db.exit()
	if err := ns.Validate(); err != nil {
		return nil, err
	}
	if name == "" {
		return nil, invalidf("Name", "must not be empty")
	}
	attrs = normalizeQueueAttributes(attrs)
	if err := validateQueueAttributes(&attrs); err != nil {
		return nil, err
	}
	ref := QueueRef{Namespace: ns, Name: name}
	if err := db.checkRedriveTarget(ref, &attrs); err != nil {
		return nil, err
	}
	now := db.nowUnixNano()
	recent, err := db.recentlyDeleted(ref, now-int64(purgeInterval))
	if err != nil {
		return nil, err
	}
	if recent {
		return nil, fmt.Errorf("%w: %s", ErrQueueDeletedRecently, ref)
	}
	rec := queueRecord{Attributes: attrs, Tags: maps.Clone(tags), Created: now, LastModified: now}
	value, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("engine: encode queue %s: %w", ref, err)
	}
	existing, err := db.catalogCreate(kindQueue, ns, name, value, func(b *index.Batch, _ uint64) {
		if target, ok := redriveTarget(&attrs); ok {
			b.Set(dlqSourceKey(target, ref), nil)
		}
	})
	if errors.Is(err, errCatalogExists) {
		cur, derr := decodeQueueRecord(existing.Value)
		if derr != nil {
			return nil, derr
		}
		if !queueAttributesEqual(cur.Attributes, attrs) {
			return nil, fmt.Errorf("%w: %s", ErrQueueExists, ref)
		}
		info := queueInfo(ref, cur)
		return &info, nil
	}
	if err != nil {
		return nil, err
	}
	info := queueInfo(ref, rec)
	return &info, nil
}

func queueInfo(ref QueueRef, rec queueRecord) QueueInfo {
	return QueueInfo{
		Ref:          ref,
		Attributes:   normalizeQueueAttributes(rec.Attributes),
		Tags:         maps.Clone(rec.Tags),
		Created:      time.Unix(0, rec.Created),
		LastModified: time.Unix(0, rec.LastModified),
	}
}

// checkRedriveTarget checks that attrs' dead-letter target exists, has the
// same type, and allows source by its RedriveAllowPolicy.
func (db *DB) checkRedriveTarget(source QueueRef, attrs *QueueAttributes) error {
	if attrs.Redrive == nil {
		return nil
	}
	target := attrs.Redrive.DeadLetterTarget
	if target == source {
		return invalidf("Redrive.DeadLetterTarget", "a queue cannot be its own dead-letter queue")
	}
	rec, ok, err := db.catalogGet(kindQueue, target.Namespace, target.Name)
	if err != nil {
		return err
	}
	if !ok {
		return invalidf("Redrive.DeadLetterTarget", "queue %s does not exist", target)
	}
	dlq, err := decodeQueueRecord(rec.Value)
	if err != nil {
		return err
	}
	if dlq.Attributes.FIFO != attrs.FIFO {
		return invalidf("Redrive.DeadLetterTarget", "dead-letter queue %s must be the same type (standard/FIFO) as the source", target)
	}
	if !redriveAllows(dlq.Attributes.RedriveAllow, source) {
		return invalidf("Redrive.DeadLetterTarget", "the RedriveAllowPolicy of %s does not allow %s", target, source)
	}
	return nil
}

// Queue returns the open handle of a queue (opening its log and state on
// first use); ErrQueueNotFound if it does not exist.
func (db *DB) Queue(ns Namespace, name string) (*Queue, error) {
	if err := db.enter(); err != nil {
		return nil, err
	}
	defer db.exit()
	return db.openQueue(QueueRef{Namespace: ns, Name: name})
}

// openQueue is Queue without enter (for callers that entered already).
func (db *DB) openQueue(ref QueueRef) (*Queue, error) {
	reg := db.queues()
	reg.mu.Lock()
	q := reg.mu.byRef[ref]
	reg.mu.Unlock()
	if q != nil {
		return q, nil
	}
	rec, ok, err := db.catalogGet(kindQueue, ref.Namespace, ref.Name)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrQueueNotFound, ref)
	}
	qr, err := decodeQueueRecord(rec.Value)
	if err != nil {
		return nil, err
	}
	l, err := db.openLog(rec.EntityID, 0)
	if err != nil {
		return nil, err
	}
	q = &Queue{db: db, ref: ref, entity: rec.EntityID, log: l, fifo: qr.Attributes.FIFO}
	q.mu.rec = qr
	q.mu.rec.Attributes = normalizeQueueAttributes(qr.Attributes)
	if err := q.load(); err != nil {
		return nil, err
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if other := reg.mu.byRef[ref]; other != nil {
		// Lost a race with another opener: use theirs. Nothing of ours
		// holds resources beyond memory (the log belongs to the DB).
		return other, nil
	}
	reg.mu.byRef[ref] = q
	reg.mu.byEntity[q.entity] = q
	return q, nil
}

// DeleteQueue deletes a queue and its messages. Its name can be reused
// after 60 s. Open handles return ErrQueueNotFound from then on.
func (db *DB) DeleteQueue(ns Namespace, name string) error {
	if err := db.enter(); err != nil {
		return err
	}
	defer db.exit()
	ref := QueueRef{Namespace: ns, Name: name}
	reg := db.queues()
	reg.mu.Lock()
	q := reg.mu.byRef[ref]
	delete(reg.mu.byRef, ref)
	if q != nil {
		delete(reg.mu.byEntity, q.entity)
	}
	reg.mu.Unlock()
	if q != nil {
		// Under flushMu: a flush in progress must finish before the
		// entity's keys are deleted, and none may start after.
		q.flushMu.Lock()
		q.shutdown()
		q.flushMu.Unlock()
	}
	reg.startMu.Lock()
	defer reg.startMu.Unlock()
	reg.stopTasksOf(ref)
	now := db.nowUnixNano()
	// With the catalog record and the entity's keys, atomically: remember
	// the delete time (ErrQueueDeletedRecently survives a restart) and
	// drop remembered deletes older than the reuse window.
	// The dead-letter source key of the queue's redrive target goes too
	// (a concurrent SetAttributes may leave a stale key: readers drop it).
	var oldTarget *QueueRef
	if rec, ok, err := db.catalogGet(kindQueue, ns, name); err == nil && ok {
		if qr, err := decodeQueueRecord(rec.Value); err == nil {
			if target, ok := redriveTarget(&qr.Attributes); ok {
				oldTarget = &target
			}
		}
	}
	_, err := db.catalogDelete(kindQueue, ns, name, func(b *index.Batch) {
		if oldTarget != nil {
			b.Delete(dlqSourceKey(*oldTarget, ref))
		}
		b.Set(deletedNameKey(now, ref), nil)
		b.DeleteRange(deletedNamesPrefix(), deletedBefore(now-int64(purgeInterval)+1))
	})
	if err != nil {
		if errors.Is(err, errCatalogNotFound) {
			return fmt.Errorf("%w: %s", ErrQueueNotFound, ref)
		}
		return err
	}
	return nil
}

// ListQueues returns up to limit (0 = no limit) queue names of ns that start
// with prefix and sort after after, in name order.
func (db *DB) ListQueues(ns Namespace, prefix, after string, limit int) ([]string, error) {
	if err := db.enter(); err != nil {
		return nil, err
	}
	defer db.exit()
	recs, err := db.catalogList(kindQueue, ns, prefix, after, limit)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(recs))
	for i, r := range recs {
		names[i] = r.Name
	}
	return names, nil
}

// DeadLetterSourceQueues returns, sorted, up to limit (0 = no limit) queues
// whose redrive policy names dlq, after the queue named after (compared as
// the String of the ref). It reads the dead-letter source index
// (redrive.go): O(sources of dlq), not O(queues).
func (db *DB) DeadLetterSourceQueues(dlq QueueRef, after string, limit int) ([]QueueRef, error) {
	if err := db.enter(); err != nil {
		return nil, err
	}
	defer db.exit()
	all, err := db.deadLetterSources(dlq)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, ref := range all {
		if after == "" || ref.String() > after {
			out = append(out, ref)
		}
	}
	slices.SortFunc(out, func(a, b QueueRef) int { return strings.Compare(a.String(), b.String()) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Ref returns the queue's name.
func (q *Queue) Ref() QueueRef { return q.ref }

// Info returns the queue's attributes, tags and timestamps.
func (q *Queue) Info() QueueInfo {
	q.mu.Lock()
	defer q.mu.Unlock()
	return queueInfo(q.ref, q.mu.rec)
}

// Counts returns approximate message counts in O(1) (plus the work of
// applying deadlines that passed, which any call does).
func (q *Queue) Counts() QueueCounts {
	now := q.db.nowUnixNano()
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.mu.closed {
		return QueueCounts{}
	}
	vs := q.mu.vs
	if n := vs.advance(now); n > 0 {
		q.wakeLocked(n)
	}
	ahead := int64(0)
	if end := q.log.NextSeq(); end > vs.cursor {
		ahead = int64(end - vs.cursor)
	}
	delayedAhead := min(q.mu.delayedAhead, ahead)
	return QueueCounts{
		Visible:  int64(vs.nVisible) + ahead - delayedAhead,
		InFlight: int64(vs.nInflight),
		Delayed:  int64(vs.nDelayed) + delayedAhead,
	}
}

// SetAttributes replaces the queue's attributes (server merges the changed
// ones into Info().Attributes first). FIFO cannot change.
func (q *Queue) SetAttributes(attrs QueueAttributes) error {
	if err := q.db.enter(); err != nil {
		return err
	}
	defer q.db.exit()
	attrs = normalizeQueueAttributes(attrs)
	if attrs.FIFO != q.fifo {
		return invalidf("FIFO", "the queue type cannot change")
	}
	if err := validateQueueAttributes(&attrs); err != nil {
		return err
	}
	if err := q.db.checkRedriveTarget(q.ref, &attrs); err != nil {
		return err
	}
	// Dead-letter source index: the new target's key before the (synced)
	// catalog write, the old one's after (see redrive.go).
	newTarget, hasNew := redriveTarget(&attrs)
	if hasNew {
		if err := q.db.index.Set(dlqSourceKey(newTarget, q.ref), nil, false); err != nil {
			return fmt.Errorf("engine: set attributes of %s: %w", q.ref, err)
		}
	}
	var oldTarget QueueRef
	hasOld := false
	err := q.updateRecord(func(r *queueRecord) {
		oldTarget, hasOld = redriveTarget(&r.Attributes)
		r.Attributes = attrs
	})
	if err != nil {
		return err
	}
	if hasOld && (!hasNew || oldTarget != newTarget) {
		b := q.db.index.NewBatch()
		defer b.Close()
		b.Delete(dlqSourceKey(oldTarget, q.ref))
		if err := b.Commit(false); err != nil {
			// The attributes are set; the stale key is dropped by a reader.
			q.db.logger.Warn("dropping a dead-letter source key", "queue", q.ref.String(), "err", err)
		}
	}
	return nil
}

// Tag adds or replaces tags.
func (q *Queue) Tag(tags map[string]string) error {
	if err := q.db.enter(); err != nil {
		return err
	}
	defer q.db.exit()
	return q.updateRecord(func(r *queueRecord) {
		if r.Tags == nil {
			r.Tags = make(map[string]string, len(tags))
		}
		maps.Copy(r.Tags, tags)
	})
}

// Untag removes tags by key (absent keys are ignored).
func (q *Queue) Untag(keys []string) error {
	if err := q.db.enter(); err != nil {
		return err
	}
	defer q.db.exit()
	return q.updateRecord(func(r *queueRecord) {
		for _, k := range keys {
			delete(r.Tags, k)
		}
	})
}

// updateRecord applies fn to a copy of the catalog record, persists it
// (synced) and installs it. Holding q.mu across the catalog write
// serializes concurrent updates of one queue.
func (q *Queue) updateRecord(fn func(r *queueRecord)) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.mu.closed {
		return fmt.Errorf("%w: %s", ErrQueueNotFound, q.ref)
	}
	rec := q.mu.rec
	rec.Attributes = normalizeQueueAttributes(rec.Attributes)
	rec.Tags = maps.Clone(rec.Tags)
	fn(&rec)
	rec.LastModified = q.db.nowUnixNano()
	value, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("engine: encode queue %s: %w", q.ref, err)
	}
	if err := q.db.catalogUpdate(kindQueue, q.ref.Namespace, q.ref.Name, q.entity, value); err != nil {
		if errors.Is(err, errCatalogNotFound) {
			return fmt.Errorf("%w: %s", ErrQueueNotFound, q.ref)
		}
		return err
	}
	q.mu.rec = rec
	return nil
}

// attrsLocked returns the current attributes (shared: do not modify).
func (q *Queue) attrsLocked() *QueueAttributes { return &q.mu.rec.Attributes }

// Purge deletes every message sent before the call (in flight or not). AWS
// allows one purge per 60 s: ErrPurgeInProgress otherwise (the purge time
// is persisted with the new floor, so the window survives a restart).
func (q *Queue) Purge() error {
	if err := q.db.enter(); err != nil {
		return err
	}
	defer q.db.exit()
	now := q.db.nowUnixNano()
	q.mu.Lock()
	if q.mu.closed {
		q.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrQueueNotFound, q.ref)
	}
	if q.mu.lastPurge != 0 && now-q.mu.lastPurge < int64(purgeInterval) {
		q.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrPurgeInProgress, q.ref)
	}
	q.mu.lastPurge = now
	end := q.log.NextSeq()
	q.mu.vs.reset(end)
	q.mu.restore = nil
	q.mu.delayedAhead = 0
	clear(q.mu.attempt)
	q.mu.attempts = nil
	if q.fifo {
		q.clearDedupLocked()
	}
	q.mu.Unlock()
	// Persist the new floor now (synced): purged messages must not come
	// back after a crash.
	return q.flush(true)
}

// clearDedupLocked empties a FIFO queue's deduplication window (purge): on
// AWS a message purged from a FIFO queue no longer deduplicates, so the
// same MessageDeduplicationId is accepted right after the purge
// (LocalStack's AWS-validated
// test_purge_queue_clears_fifo_deduplication_cache). Pending reservations
// (sends whose append is in flight) stay, so their duplicates still wait
// for them. rebuildDedup skips the records sent before the (persisted)
// last purge, so a restart does not bring the cleared ids back.
func (q *Queue) clearDedupLocked() {
	old := q.mu.dedup
	w := newDedupWindow()
	for _, e := range old.order[old.head:] {
		if e.done != nil && !e.failed && !e.settled() && old.entries[e.key] == e {
			w.insert(e)
		}
	}
	q.mu.dedup = w
}

// shutdown marks the queue closed (deleted or DB closing), stops its
// timers and wakes its waiters, which then return.
func (q *Queue) shutdown() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.mu.closed {
		return
	}
	q.mu.closed = true
	if q.mu.wake != nil {
		q.mu.wake.Stop()
	}
	if q.mu.flushTimer != nil {
		q.mu.flushTimer.Stop()
	}
	q.wakeLocked(q.mu.waiters.len())
}

// close shuts the queue down and flushes its state (DB Close/Reset).
func (q *Queue) close() error {
	q.mu.Lock()
	wasClosed := q.mu.closed
	q.mu.Unlock()
	q.shutdown()
	if wasClosed {
		return nil
	}
	return q.flushClosed()
}

// catalogKeyOf is used by tests to reach a queue's index keys.
func (q *Queue) stateKey(seq uint64) []byte {
	return q.appendStateKey(nil, seq)
}

// appendStateKey appends the index key of seq's message state to dst.
func (q *Queue) appendStateKey(dst []byte, seq uint64) []byte {
	return index.SeqKey(dst, q.entity, spaceQueueMessages, seq)
}
