package segment

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// load lists the directory, reads every sealed segment's header and
// recovers the active (last) segment. Only the active segment is scanned.
func (l *Log) load() error {
	if err := l.ensureDir(); err != nil {
		return err
	}
	firstSeqs, err := l.listSegments()
	if err != nil {
		return err
	}
	if len(firstSeqs) == 0 {
		return l.createFirstSegment()
	}
	segs := make([]*segment, 0, len(firstSeqs))
	for i, firstSeq := range firstSeqs {
		seg, err := l.openSegmentHeader(firstSeq)
		if err != nil {
			return err
		}
		if i > 0 && seg.baseTimestamp < segs[i-1].baseTimestamp {
			return l.corruption(&CorruptionError{Path: seg.path, Offset: 0, End: segmentHeaderSize,
				Reason: "base timestamp decreases across segments"})
		}
		seg.sealed = i < len(firstSeqs)-1
		segs = append(segs, seg)
	}
	l.mu.segments = segs
	return l.recoverActive(segs[len(segs)-1])
}

// ensureDir creates the log directory if missing and makes its directory
// entry durable.
func (l *Log) ensureDir() error {
	if _, err := l.fs.Stat(l.dir); err == nil {
		return nil
	}
	if err := l.fs.MkdirAll(l.dir, 0o755); err != nil {
		return fmt.Errorf("segment: creating %s: %w", l.dir, err)
	}
	return syncDir(l.fs, l.fs.PathDir(l.dir))
}

// listSegments returns the first sequence numbers of the segment files in
// ascending order, removing leftover temporary files. A name that ends in
// ".seg" but does not parse strictly is an error.
func (l *Log) listSegments() ([]uint64, error) {
	names, err := l.fs.List(l.dir)
	if err != nil {
		return nil, fmt.Errorf("segment: listing %s: %w", l.dir, err)
	}
	var firstSeqs []uint64
	removedTmp := false
	for _, name := range names {
		switch {
		case strings.HasSuffix(name, tmpSuffix):
			if err := l.fs.Remove(l.fs.PathJoin(l.dir, name)); err != nil {
				return nil, fmt.Errorf("segment: removing leftover %s: %w", name, err)
			}
			removedTmp = true
		case strings.HasSuffix(name, segmentSuffix):
			firstSeq, ok := parseSegmentName(name)
			if !ok {
				return nil, fmt.Errorf("segment: malformed segment file name %q in %s", name, l.dir)
			}
			firstSeqs = append(firstSeqs, firstSeq)
		}
	}
	if removedTmp {
		if err := syncDir(l.fs, l.dir); err != nil {
			return nil, err
		}
	}
	slices.Sort(firstSeqs)
	return firstSeqs, nil
}

// createFirstSegment starts an empty log at Seq 1.
func (l *Log) createFirstSegment() error {
	seg, f, err := createSegment(l.fs, l.dir, segmentHeader{firstSeq: 1})
	if err != nil {
		return err
	}
	l.mu.segments = []*segment{seg}
	l.mu.nextSeq = 1
	l.resetWriter(seg, segmentHeaderSize, segmentHeaderSize, 1, 0, segmentHeaderSize)
	l.w.file = f
	// The writer goroutine is not running yet; hand the handle to it lazily.
	return l.w.release(false)
}

// openSegmentHeader reads and checks one segment's header and size.
func (l *Log) openSegmentHeader(firstSeq uint64) (*segment, error) {
	path := l.fs.PathJoin(l.dir, segmentName(firstSeq))
	f, err := l.fs.Open(path)
	if err != nil {
		return nil, fmt.Errorf("segment: opening %s: %w", path, err)
	}
	defer func() { _ = f.Close() }() // read-only handle: a close error loses nothing
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("segment: stat %s: %w", path, err)
	}
	var buf [segmentHeaderSize]byte
	n, err := f.ReadAt(buf[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("segment: reading header of %s: %w", path, err)
	}
	h, err := parseSegmentHeader(buf[:n])
	if err == nil && h.firstSeq != firstSeq {
		err = fmt.Errorf("header first seq %d does not match file name", h.firstSeq)
	}
	if err != nil {
		return nil, l.corruption(&CorruptionError{Path: path, Offset: 0, End: info.Size(), Reason: err.Error()})
	}
	return &segment{firstSeq: firstSeq, baseTimestamp: h.baseTimestamp, version: h.version,
		path: path, sizeBytes: info.Size()}, nil
}

// corruption logs a corruption report and returns it.
func (l *Log) corruption(e *CorruptionError) error {
	l.logger.Error("segment: corruption detected", "path", e.Path,
		"offset", e.Offset, "end", e.End, "reason", e.Reason)
	return e
}

// scanResult is what scanning a segment's frames found.
type scanResult struct {
	nextSeq       uint64
	lastTimestamp int64
	validEnd      int64 // end of the last good frame
	index         []indexEntry
	badStatus     frameStatus // why the frame at validEnd is bad (frameOK if none)
	badReason     string
}

// scanFrames verifies the frames of a whole segment image, building the
// sparse index. It stops at the first bad frame.
func scanFrames(data []byte, h segmentHeader, indexIntervalBytes int64) scanResult {
	res := scanResult{nextSeq: h.firstSeq, lastTimestamp: h.baseTimestamp, validEnd: segmentHeaderSize}
	lastIndexOffset := int64(segmentHeaderSize)
	var rec Record
	for res.validEnd < int64(len(data)) {
		off := res.validEnd
		n, status := decodeFrame(data[off:], &rec)
		if status != frameOK {
			res.badStatus, res.badReason = status, status.String()
			return res
		}
		if rec.Seq != res.nextSeq || rec.Timestamp < res.lastTimestamp {
			res.badStatus = frameBadChecksum
			res.badReason = fmt.Sprintf("frame seq %d ts %d, want seq %d ts >= %d",
				rec.Seq, rec.Timestamp, res.nextSeq, res.lastTimestamp)
			return res
		}
		if off-lastIndexOffset >= indexIntervalBytes {
			res.index = append(res.index, indexEntry{offset: uint32(off),
				seqDelta: uint32(rec.Seq - h.firstSeq), timestamp: rec.Timestamp})
			lastIndexOffset = off
		}
		res.nextSeq++
		res.lastTimestamp = rec.Timestamp
		res.validEnd = off + int64(n)
	}
	return res
}

// readWholeFile reads a file into memory.
func readWholeFile(fs vfs.FS, path string) ([]byte, error) {
	f, err := fs.Open(path)
	if err != nil {
		return nil, fmt.Errorf("segment: opening %s: %w", path, err)
	}
	defer func() { _ = f.Close() }() // read-only handle
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("segment: stat %s: %w", path, err)
	}
	data := make([]byte, info.Size())
	if _, err := f.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("segment: reading %s: %w", path, err)
	}
	return data, nil
}

// recoverActive scans the active segment, truncates a torn tail and fails
// on corruption, then initializes the writer state.
func (l *Log) recoverActive(seg *segment) error {
	data, err := readWholeFile(l.fs, seg.path)
	if err != nil {
		return err
	}
	h := segmentHeader{firstSeq: seg.firstSeq, baseTimestamp: seg.baseTimestamp}
	res := scanFrames(data, h, int64(l.opts.IndexIntervalBytes))
	fileBytes := int64(len(data))
	if res.badStatus != frameOK && !isZero(data[res.validEnd:]) {
		if err := l.handleBadTail(seg, data, res); err != nil {
			return err
		}
		fileBytes = res.validEnd
	}
	seg.sizeBytes, seg.index, seg.indexed = res.validEnd, res.index, true
	l.mu.nextSeq, l.mu.lastTimestamp = res.nextSeq, res.lastTimestamp
	lastIndexOffset := int64(segmentHeaderSize)
	if len(res.index) > 0 {
		lastIndexOffset = int64(res.index[len(res.index)-1].offset)
	}
	l.resetWriter(seg, res.validEnd, fileBytes, res.nextSeq, res.lastTimestamp, lastIndexOffset)
	return nil
}

// handleBadTail decides between a torn tail (truncate it) and corruption
// (fail) for the bad frame at res.validEnd.
func (l *Log) handleBadTail(seg *segment, data []byte, res scanResult) error {
	off := res.validEnd
	if decideTail(data, off) == tailCorrupt {
		return l.corruption(&CorruptionError{Path: seg.path, Offset: off, End: int64(len(data)),
			Reason: res.badReason + ", followed by valid frames"})
	}
	if err := l.truncateTornTail(seg, data, off); err != nil {
		return err
	}
	l.logger.Warn("segment: truncated torn tail", "path", seg.path,
		"offset", off, "end", len(data), "lostBytes", int64(len(data))-off,
		"nextSeq", res.nextSeq, "reason", res.badReason)
	return nil
}

// tailDecision is what recovery does with a bad frame in the active segment.
type tailDecision uint8

const (
	tailTorn    tailDecision = iota // an interrupted write: truncate
	tailCorrupt                     // damaged acknowledged data: fail loudly
)

func (d tailDecision) String() string {
	if d == tailTorn {
		return "torn"
	}
	return "corrupt"
}

// decideTail classifies the bad frame at off (FORMAT.md, "Recovery"). It is
// torn when no valid frame follows it, or when it overlaps a zero-filled
// page remainder (a page of an interrupted write that never reached the
// disk). A bad frame followed by a valid frame is otherwise corruption.
func decideTail(data []byte, off int64) tailDecision {
	if !validFrameAfter(data, off) || overlapsZeroPage(data, off) {
		return tailTorn
	}
	return tailCorrupt
}

// validFrameAfter reports whether any 8-byte-aligned offset after off
// holds a frame with a valid checksum.
func validFrameAfter(data []byte, off int64) bool {
	var rec Record
	for p := off + frameAlign; p+frameHeaderSize <= int64(len(data)); p += frameAlign {
		if peekFrameSize(data[p:]) == 0 {
			continue
		}
		if _, status := decodeFrame(data[p:], &rec); status == frameOK {
			return true
		}
	}
	return false
}

// overlapsZeroPage reports whether the bad frame at off overlaps a page
// whose part from max(off, page start) to min(page end, EOF) is all zero.
func overlapsZeroPage(data []byte, off int64) bool {
	end := off + frameHeaderSize
	if size := peekFrameSize(data[off:]); size > 0 {
		end = off + int64(size)
	}
	end = min(end, int64(len(data)))
	for start := off; start < end; {
		pageEnd := min((start/tornBlockSize+1)*tornBlockSize, int64(len(data)))
		if isZero(data[start:pageEnd]) {
			return true
		}
		start = pageEnd
	}
	return false
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// truncateTornTail copies data[off:] to a .broken file, then replaces the
// segment by its first off bytes (vfs.File has no Truncate): the prefix is
// written to a temporary file, synced and renamed over the segment.
func (l *Log) truncateTornTail(seg *segment, data []byte, off int64) error {
	brokenPath := fmt.Sprintf("%s.%016x%s", seg.path, off, brokenSuffix)
	if err := writeFileSynced(l.fs, brokenPath, data[off:]); err != nil {
		return err
	}
	tmpPath := seg.path + tmpSuffix
	if err := writeFileSynced(l.fs, tmpPath, data[:off]); err != nil {
		return err
	}
	if err := l.fs.Rename(tmpPath, seg.path); err != nil {
		return fmt.Errorf("segment: renaming %s: %w", tmpPath, err)
	}
	return syncDir(l.fs, l.dir)
}

// writeFileSynced creates path with contents b and syncs it.
func writeFileSynced(fs vfs.FS, path string, b []byte) error {
	f, err := fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("segment: creating %s: %w", path, err)
	}
	err = writeAndSync(f, b)
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return fmt.Errorf("segment: writing %s: %w", path, err)
	}
	return nil
}
