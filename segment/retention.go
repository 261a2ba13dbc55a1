package segment

import (
	"errors"
	"fmt"
)

// DeleteBefore deletes whole sealed segments whose last Seq < seq and
// returns the number of records removed. The active segment stays.
func (l *Log) DeleteBefore(seq uint64) (removed uint64, err error) {
	return l.deleteLeading(func(i int) bool { return l.segmentEndLocked(i)-1 < seq })
}

// DeleteOlderThan deletes whole sealed segments whose last Timestamp < ts
// and returns the number of records removed. The active segment stays.
func (l *Log) DeleteOlderThan(ts int64) (removed uint64, err error) {
	return l.deleteLeading(func(i int) bool { return l.segmentLastTimestampLocked(i) < ts })
}

// deleteLeading detaches the leading sealed segments matching expired
// (called with Log.mu held), then removes their files oldest first, each
// after its readers are done, syncing the directory after every removal so
// that a crash can only leave a contiguous suffix of segments.
func (l *Log) deleteLeading(expired func(i int) bool) (uint64, error) {
	l.retentionMu.Lock()
	defer l.retentionMu.Unlock()
	l.mu.Lock()
	if l.mu.closed {
		l.mu.Unlock()
		return 0, ErrClosed
	}
	n := 0
	for n < len(l.mu.segments)-1 && expired(n) {
		n++
	}
	victims := append([]*segment(nil), l.mu.segments[:n]...)
	var count uint64
	for i := range victims {
		count += l.segmentEndLocked(i) - victims[i].firstSeq
		victims[i].deleted = true
	}
	l.mu.segments = append([]*segment(nil), l.mu.segments[n:]...)
	l.mu.stats.DeletedRecords += count
	l.mu.Unlock()
	for _, seg := range victims {
		if err := l.removeSegment(seg); err != nil {
			return count, err
		}
	}
	return count, nil
}

// removeSegment waits until no reader holds seg, releases its resources
// and removes its file durably.
func (l *Log) removeSegment(seg *segment) error {
	l.mu.Lock()
	for seg.refs > 0 {
		l.mu.released.Wait()
	}
	err := seg.releaseLocked()
	l.mu.Unlock()
	remove := l.opts.RemoveSegment
	if remove == nil {
		remove = l.removeFile
	}
	if removeErr := remove(seg.path); removeErr != nil {
		return errors.Join(err, fmt.Errorf("segment: removing %s: %w", seg.path, removeErr))
	}
	return err
}

// removeFile removes path from the log's directory durably (the default
// Options.RemoveSegment).
func (l *Log) removeFile(path string) error {
	if err := l.fs.Remove(path); err != nil {
		return err
	}
	return syncDir(l.fs, l.dir)
}
