package engine

import (
	"crypto/sha256"
	"encoding/hex"
)

// dedupWindow is a FIFO queue's deduplication memory: ids seen in the last
// dedupWindow (5 minutes), with the message they named. Entries expire in
// insertion order (insertion times are monotonic per queue), so expiry is a
// pop from the front of a list, never a scan.
//
// The log is the source of truth: after a restart the window is rebuilt by
// reading the log records of the last 5 minutes (SeekTimestamp), so sends
// write nothing to the index.
//
// A send reserves its ids as pending before appending (outside the queue
// lock, so concurrent sends still share one group commit); a concurrent
// duplicate waits on the pending entry's done channel and then reports the
// original, or retries if the original's append failed. The entries of one
// send share one done channel (they settle together) and one allocation.
type dedupWindow struct {
	entries map[string]*dedupEntry
	order   []*dedupEntry
	head    int
}

type dedupEntry struct {
	key       string
	messageID [16]byte
	seq       uint64
	expiresAt int64         // unix nanoseconds
	done      chan struct{} // closed when the append settled; nil if settled at insert
	failed    bool          // the original's append failed: the entry is void
}

func newDedupWindow() *dedupWindow {
	return &dedupWindow{entries: make(map[string]*dedupEntry)}
}

// dedupKey builds the window key of a deduplication id in its scope: the
// whole queue, or the message group.
func dedupKey(scope, groupID, dedupID string) string {
	if scope == DeduplicationScopeMessageGroup {
		return groupID + "\x00" + dedupID
	}
	return dedupID
}

// contentDedupID is the deduplication id content-based deduplication
// derives: hex SHA-256 of the body, as AWS reports it.
func contentDedupID(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// expire drops entries expired at now.
func (w *dedupWindow) expire(now int64) {
	for w.head < len(w.order) {
		e := w.order[w.head]
		if e.expiresAt > now || (e.done != nil && !e.settled()) {
			break
		}
		if w.entries[e.key] == e {
			delete(w.entries, e.key)
		}
		w.order[w.head] = nil
		w.head++
	}
	if w.head == len(w.order) {
		w.order, w.head = w.order[:0], 0
	} else if w.head > 1024 && w.head*2 > len(w.order) {
		n := copy(w.order, w.order[w.head:])
		clear(w.order[n:])
		w.order, w.head = w.order[:n], 0
	}
}

func (e *dedupEntry) settled() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// lookup returns the live entry for key, or nil.
func (w *dedupWindow) lookup(key string, now int64) *dedupEntry {
	e := w.entries[key]
	if e == nil || e.expiresAt <= now || e.failed {
		return nil
	}
	return e
}

// insert adds a pending entry (its done channel open); the sender settles
// it with settle+settled or voids it with failAll after its append.
// Entries of one send share their done channel.
func (w *dedupWindow) insert(e *dedupEntry) {
	w.entries[e.key] = e
	w.order = append(w.order, e)
}

// settle records the message a pending entry names; settled then
// publishes it.
func (e *dedupEntry) settle(id [16]byte, seq uint64) {
	e.messageID, e.seq = id, seq
}

// settled closes the shared done channel of one send's entries (nil
// entries are skipped), after each was settled.
func (w *dedupWindow) settled(entries []*dedupEntry) {
	for _, e := range entries {
		if e != nil {
			close(e.done)
			return
		}
	}
}

// failAll voids the pending entries of one send (its append failed, or it
// must wait for another send): they leave the window and their waiters
// retry.
func (w *dedupWindow) failAll(entries []*dedupEntry) {
	var done chan struct{}
	for _, e := range entries {
		if e == nil {
			continue
		}
		e.failed = true
		if w.entries[e.key] == e {
			delete(w.entries, e.key)
		}
		done = e.done
	}
	if done != nil {
		close(done)
	}
}

// insertSettled records an id read back from the log (rebuild after open).
func (w *dedupWindow) insertSettled(key string, id [16]byte, seq uint64, expiresAt int64) {
	e := &dedupEntry{key: key, messageID: id, seq: seq, expiresAt: expiresAt}
	w.entries[key] = e
	w.order = append(w.order, e)
}
