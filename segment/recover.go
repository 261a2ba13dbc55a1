package segment

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
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

// recoverActive scans the active segment with a bounded buffer, keeps a
// zero tail as the end of the data, truncates a torn tail and fails on
// corruption, then initializes the writer state.
func (l *Log) recoverActive(seg *segment) error {
	f, err := l.fs.Open(seg.path)
	if err != nil {
		return fmt.Errorf("segment: opening %s: %w", seg.path, err)
	}
	defer func() { _ = f.Close() }() // read-only handle: a close error loses nothing
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("segment: stat %s: %w", seg.path, err)
	}
	im := fileImage(f, info.Size())
	h := segmentHeader{firstSeq: seg.firstSeq, baseTimestamp: seg.baseTimestamp}
	res, err := scanFrames(im, h, int64(l.opts.IndexIntervalBytes))
	if err != nil {
		return err
	}
	fileBytes := im.size
	if res.badStatus != frameOK {
		cut, err := l.handleBadTail(seg, im, res)
		if err != nil {
			return err
		}
		if cut {
			fileBytes = res.validEnd
		}
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

// handleBadTail decides what the bad frame at res.validEnd is: the start
// of a zero tail (kept), a torn tail (cut, reporting true) or corruption
// (an error).
func (l *Log) handleBadTail(seg *segment, im *image, res scanResult) (bool, error) {
	off := res.validEnd
	decision, brokenEnd, err := decideTail(im, off, res.nextSeq)
	switch {
	case err != nil:
		return false, err
	case decision == tailEnd:
		return false, nil
	case decision == tailCorrupt:
		return false, l.corruption(&CorruptionError{Path: seg.path, Offset: off, End: im.size,
			Reason: res.badReason + ", followed by valid frames"})
	}
	if err := l.truncateTornTail(seg, im, off, brokenEnd); err != nil {
		return false, err
	}
	l.logger.Warn("segment: truncated torn tail", "path", seg.path,
		"offset", off, "end", im.size, "lostBytes", brokenEnd-off,
		"nextSeq", res.nextSeq, "reason", res.badReason)
	return true, nil
}

// tailDecision is what recovery does with a bad frame in the active segment.
type tailDecision uint8

const (
	tailEnd     tailDecision = iota // zeros to the end of the file: the end of the data
	tailTorn                        // an interrupted write: truncate
	tailCorrupt                     // damaged acknowledged data: fail loudly
)

func (d tailDecision) String() string {
	switch d {
	case tailEnd:
		return "end"
	case tailTorn:
		return "torn"
	}
	return "corrupt"
}

// decideTail classifies the bad frame at off, nextSeq being the Seq it
// should have had (FORMAT.md, "Recovery"). Zeros from off to the end of
// the file are the end of the data. A bad frame with no valid frame of
// this log after it is torn, unless it was written completely (see
// landedFrame): then it is corruption. A bad frame followed by a valid one
// is torn when it overlaps a zero-filled page remainder (a page of an
// interrupted write that never reached the disk), else corruption. It also
// returns the end of the last nonzero byte, up to which a torn tail is
// saved.
func decideTail(im *image, off int64, nextSeq uint64) (tailDecision, int64, error) {
	zero, brokenEnd, err := im.zeroFrom(off)
	if err != nil || zero {
		return tailEnd, off, err
	}
	found, err := validFrameAfter(im, off, nextSeq)
	if err != nil {
		return 0, 0, err
	}
	if !found {
		landed, err := landedFrame(im, off)
		if err != nil || landed {
			return tailCorrupt, brokenEnd, err
		}
		return tailTorn, brokenEnd, nil
	}
	torn, err := overlapsZeroPage(im, off)
	if err != nil || !torn {
		return tailCorrupt, brokenEnd, err
	}
	return tailTorn, brokenEnd, nil
}

// validFrameAfter reports whether an 8-byte-aligned offset after off holds
// a later frame of this log: a Seq above nextSeq (by no more than the
// frames that fit before it) and a valid checksum. The Seq test comes
// first, so garbage is rarely checksummed.
func validFrameAfter(im *image, off int64, nextSeq uint64) (bool, error) {
	var rec Record
	for p := off + frameAlign; p+frameHeaderSize <= im.size; p += frameAlign {
		hdr, err := im.at(p, frameHeaderSize)
		if err != nil {
			return false, err
		}
		seq := binary.LittleEndian.Uint64(hdr[16:24])
		if peekFrameSize(hdr) == 0 || seq < nextSeq || seq-nextSeq > uint64(p-off)/frameHeaderSize {
			continue
		}
		_, status, err := im.frameAt(p, &rec)
		if err != nil {
			return false, err
		}
		if status == frameOK {
			return true, nil
		}
	}
	return false, nil
}

// overlapsZeroPage reports whether the bad frame at off overlaps a page
// whose part from max(off, page start) to min(page end, EOF) is all zero.
func overlapsZeroPage(im *image, off int64) (bool, error) {
	hdr, err := im.at(off, frameHeaderSize)
	if err != nil {
		return false, err
	}
	end := off + frameHeaderSize
	if size := peekFrameSize(hdr); size > 0 {
		end = off + int64(size)
	}
	end = min(end, im.size)
	for start := off; start < end; {
		pageEnd := min((start/tornBlockSize+1)*tornBlockSize, im.size)
		b, err := im.at(start, int(pageEnd-start))
		if err != nil {
			return false, err
		}
		if isZero(b) {
			return true, nil
		}
		start = pageEnd
	}
	return false, nil
}

// landedFrame reports whether the bad frame at off is one that a torn
// write cannot produce: a plausible header, the whole frame present, a
// nonzero byte in every 512-byte sector's share of its header, key and
// payload, and only zeros after it. A write interrupted by a crash leaves
// sectors that never reached the disk holding what they held before, and
// the writer only ever writes where the file held zeros (or nothing), so
// a torn frame has an all-zero sector share (or is short). A frame that
// reached the disk whole but fails its checksum was damaged afterwards.
// Requiring zeros after it keeps stale, nonzero blocks (a filesystem that
// exposes old data after a crash) on the torn side.
func landedFrame(im *image, off int64) (bool, error) {
	hdr, err := im.at(off, frameHeaderSize)
	if err != nil || len(hdr) < frameHeaderSize {
		return false, err
	}
	size := int64(peekFrameSize(hdr))
	length := int64(binary.LittleEndian.Uint32(hdr[8:12]))
	keyLen := int64(binary.LittleEndian.Uint16(hdr[12:14]))
	if size == 0 || keyLen > length-frameHeaderSize || off+size > im.size {
		return false, nil
	}
	for start := off; start < off+length; {
		end := min((start/sectorSize+1)*sectorSize, off+length)
		b, err := im.at(start, int(end-start))
		if err != nil || isZero(b) {
			return false, err
		}
		start = end
	}
	zero, _, err := im.zeroFrom(off + size)
	return zero, err
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// truncateTornTail copies the torn bytes [off, brokenEnd) to a .broken
// file, then replaces the segment by its first off bytes (vfs.File has no
// Truncate): the prefix is copied to a temporary file, synced and renamed
// over the segment. Both copies stream through the image's buffer.
func (l *Log) truncateTornTail(seg *segment, im *image, off, brokenEnd int64) error {
	brokenPath := fmt.Sprintf("%s.%016x%s", seg.path, off, brokenSuffix)
	if err := copyRange(l.fs, brokenPath, im, off, brokenEnd); err != nil {
		return err
	}
	tmpPath := seg.path + tmpSuffix
	if err := copyRange(l.fs, tmpPath, im, 0, off); err != nil {
		return err
	}
	if err := l.fs.Rename(tmpPath, seg.path); err != nil {
		return fmt.Errorf("segment: renaming %s: %w", tmpPath, err)
	}
	return syncDir(l.fs, l.dir)
}
