package segment

import (
	"encoding/binary"
	"fmt"
	"runtime/debug"
)

// Mapped writes (SyncNever and SyncInterval, on the OS filesystem).
//
// A batch written with pwrite costs a system call through the filesystem's
// buffered write path (~6.5 µs per call on the reference VM), which bounds
// a lone appender under SyncNever to a fraction of the disk's buffered
// write bandwidth. Instead the writer maps the active segment shared and
// writable and copies each batch into the mapping: the copy lands in the
// page cache, exactly where pwrite would have put it, so a process crash
// loses nothing that was acknowledged, readers of the active segment
// (ReadAt) see it, and fdatasync (Sync, SyncInterval) writes it back.
//
// The file is grown ahead of the data with zeros, written (as SyncAlways
// preallocation does, FORMAT.md), by the same doubling steps, so that the
// copy never touches a page past the end of the file or without disk space
// behind it (either would be a fault, not an error). A fault all the same
// (an I/O error reading a page in) is recovered into a write error that
// poisons the log, like a failed pwrite. Frames are copied in an order
// that keeps a torn tail recoverable (copyMapped). Every wmapDropBytes
// written, the pages behind the write position are unmapped from the
// process (madvise DONTNEED: the page cache keeps them, dirty or not), so
// the mapping adds at most about that much to the RSS of a writing log.
//
// SyncAlways keeps pwrite: its cost there is the fdatasync, and its
// preallocation and pipelining are tuned for write calls.

// wmapDropBytes is how much mapped data is written between drops of the
// pages behind the write position.
const wmapDropBytes = 1 << 20

// pageBytes is the granularity of drops (the smallest page size in use).
const pageBytes = 4096

// writeFrames writes the encoded batch b at the end of the active segment:
// through the mapping where it applies, else with one write call.
func (l *Log) writeFrames(b []byte) error {
	w := &l.w
	if l.opts.Sync.Mode != SyncAlways && !w.wmapOff {
		done, err := l.writeMapped(b)
		if done || err != nil {
			return err
		}
	}
	if _, err := w.file.WriteAt(b, w.sizeBytes); err != nil {
		return fmt.Errorf("writing %s at %d: %w", w.seg.path, w.sizeBytes, err)
	}
	return nil
}

// writeMapped copies b into the mapping of the active segment, mapping and
// growing the file first as needed. It reports false (and no error) when
// the batch must take the write call instead: a segment too small yet to
// grow ahead (see preallocate), past the mapping, or a filesystem or
// platform without mapped writes (remembered for the segment in wmapOff,
// which unmap resets for the next segment).
func (l *Log) writeMapped(b []byte) (bool, error) {
	w := &l.w
	end := w.sizeBytes + int64(len(b))
	if w.seg.version < 2 || end < min(preallocMinBytes, l.opts.SegmentSizeBytes/8) {
		return false, nil
	}
	if w.wmap == nil {
		m, err := mapForWrite(l.fs, w.file, l.opts.SegmentSizeBytes)
		if err != nil || m == nil {
			// Not an error for the data: write calls work as before.
			w.wmapOff = true
			return false, nil
		}
		w.wmap, w.wmapDropped = m, 0
		w.mapped.Store(true) // until unmap: small appends go solo
	}
	if end > int64(len(w.wmap)) {
		return false, nil
	}
	if end > w.fileBytes {
		target := end + min(end, preallocMaxBytes)
		target = (target + preallocAlign - 1) &^ (preallocAlign - 1)
		target = min(target, int64(len(w.wmap)))
		for off := w.fileBytes; off < target; {
			n := min(int64(len(zeroChunk)), target-off)
			if _, err := w.file.WriteAt(zeroChunk[:n], off); err != nil {
				return false, fmt.Errorf("preallocating %s at %d: %w", w.seg.path, off, err)
			}
			off += n
		}
		w.fileBytes = target
	}
	if err := copyMapped(w.wmap[w.sizeBytes:end], b); err != nil {
		return false, fmt.Errorf("writing %s at %d: %w", w.seg.path, w.sizeBytes, err)
	}
	w.mappedBytes += int64(len(b))
	if drop := end &^ (pageBytes - 1); drop-w.wmapDropped >= wmapDropBytes {
		if err := dropMappedPages(w.wmap[w.wmapDropped:drop]); err != nil {
			return false, fmt.Errorf("dropping written pages of %s: %w", w.seg.path, err)
		}
		// Start writing them back now (without waiting), so that the
		// fdatasync sealing the segment at its roll finds little left to
		// write instead of the whole segment.
		if err := startWriteback(w.file, w.wmapDropped, drop-w.wmapDropped); err != nil {
			return false, fmt.Errorf("starting writeback of %s: %w", w.seg.path, err)
		}
		w.wmapDropped = drop
	}
	return true, nil
}

// copyMapped copies the frames in src into the mapped, zeroed dst in an
// order that leaves a recoverable torn tail wherever the process dies, and
// turns a memory fault (an I/O error behind the mapping) into an error
// instead of a crash.
//
// A write call fills the page cache front to back, so a process killed in
// the middle of one leaves a prefix; a copy does not (memmove may store a
// block's head after its body), and a batch whose first frame lacks its
// head while later frames are whole is what recovery calls corruption.
// So frames are copied one at a time, each with its length word — the word
// that makes it a frame (peekFrameSize) — stored last, in one 8-byte store:
// at any instant the mapping holds whole frames, then at most one frame
// with a zero length word, then zeros, which recovery truncates as torn.
func copyMapped(dst, src []byte) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			err = fmt.Errorf("fault in mapped write: %v", r)
		}
	}()
	for len(src) > 0 {
		size := peekFrameSize(src)
		if size == 0 || size > len(src) || size > len(dst) {
			return fmt.Errorf("%w: mapped write of a malformed batch", ErrCorruption)
		}
		copy(dst[16:size], src[16:size]) // after checksum[8] length[4] kln[2] flg[2]
		copy(dst[:8], src[:8])
		binary.LittleEndian.PutUint64(dst[8:16], binary.LittleEndian.Uint64(src[8:16]))
		dst, src = dst[size:], src[size:]
	}
	return nil
}

// unmap releases the active segment's write mapping, if any. Mapped data
// stays in the page cache; the file handle is closed separately.
func (w *writer) unmap() error {
	w.wmapOff = false
	if w.wmap == nil {
		return nil
	}
	err := unmapWrite(w.wmap)
	w.wmap, w.wmapDropped = nil, 0
	w.mapped.Store(false)
	if err != nil {
		return fmt.Errorf("unmapping %s: %w", w.seg.path, err)
	}
	return nil
}
