// Package segment is Sluice's append-only log: a directory of segment
// files holding checksummed, densely numbered records.
//
// A Log has one writer goroutine, started on demand and stopped after
// IdleTimeout (when it also closes the active file), so idle logs cost no
// goroutine and no file descriptor. Concurrent Append calls are gathered
// into one batch: one write, one fdatasync (SyncAlways), then every caller
// in the batch is acknowledged (group commit).
//
// Under SyncNever and SyncInterval, an appender that finds the writer
// goroutine parked writes its batch itself (and whatever others queue
// meanwhile), saving the hand-off; syncs stay with the writer goroutine.
// Once the active segment takes mapped writes, small appends there go
// solo: one at a time under a mutex, each appender copying its own batch,
// since the copy costs less than parking and waking the appender would
// (Log.soloMu).
//
// Under SyncAlways such an appender writes and fdatasyncs one batch itself
// and acknowledges it; under load (writer busy) the writer pipelines (it
// writes the next batch while a helper goroutine runs the previous batch's
// fdatasync) and preallocates: it extends the active segment with zeros
// ahead of the data, so most syncs overwrite existing blocks and skip the
// filesystem's metadata commit. Readers see only acknowledged records.
//
// This refines DESIGN.md's "exactly one writer goroutine" per partition:
// the writer role is exclusive (one goroutine at a time owns the writer
// state, handed over under Log.mu), but the goroutine playing it may be an
// appender on the inline paths, because for a lone append the hand-offs to
// and from a dedicated goroutine cost more CPU than the write itself
// (bench/RESULTS.md, "Where the server's CPU goes").
//
// Segments roll at SegmentSizeBytes. Sealed segments are immutable and are
// read through a read-only mmap when the file has an OS descriptor (ReadAt
// otherwise); Read hands out payload slices without copying, valid until
// the callback returns. A sparse in-memory index (every IndexIntervalBytes:
// seq → offset and timestamp → offset) turns Read(from) and SeekTimestamp
// into a seek plus a short scan. Retention deletes whole sealed segments.
//
// Open scans only the active segment, through a bounded buffer: a zero
// tail is the end of the data; a torn tail is saved to a .broken file and
// truncated; a bad frame followed by valid frames, or a last frame that
// reached the disk whole but fails its checksum, is corruption (an error
// wrapping ErrCorruption). After a failed write or fsync the log
// is poisoned (ErrWriteFailed) until reopened. FORMAT.md specifies the
// on-disk format, rotation and recovery.
//
// All file access goes through a pebble vfs.FS, so tests run on
// vfs.NewCrashableMem and errorfs.
//
// Usage:
//
//	l, err := segment.Open("/data/q1", &segment.Options{Sync: segment.SyncPolicy{Mode: segment.SyncAlways}})
//	if err != nil {
//		return err
//	}
//	defer l.Close()
//	first, err := l.Append([]segment.Entry{{Timestamp: time.Now().UnixNano(), Payload: body}})
//	if err != nil {
//		return err
//	}
//	next, err := l.Read(first, 100, 1<<20, func(r *segment.Record) error {
//		process(r.Seq, r.Payload) // r.Payload is borrowed: copy to keep
//		return nil
//	})
package segment
