package segment

import (
	"errors"
	"fmt"
)

var (
	// ErrClosed is returned by operations on a closed Log.
	ErrClosed = errors.New("segment: log closed")
	// ErrCorruption marks a checksum or structure failure in data that was
	// once acknowledged. Test with errors.Is; *CorruptionError has details.
	ErrCorruption = errors.New("segment: corruption")
	// ErrTooLarge is returned when one entry exceeds the max record size
	// (SegmentSizeBytes and a hard 64 MiB frame limit), its key exceeds
	// 65535 bytes, or one Append exceeds 1 GiB.
	ErrTooLarge = errors.New("segment: entry too large")
	// ErrWriteFailed is sticky: a write or fsync failed earlier and the log
	// refuses writes until it is reopened. It wraps the original error.
	ErrWriteFailed = errors.New("segment: write failed")
	// ErrStop, returned by a Read callback, stops the Read without error.
	ErrStop = errors.New("segment: stop")
)

// CorruptionError describes a corrupt byte range of one segment file.
// errors.Is(err, ErrCorruption) holds for it.
type CorruptionError struct {
	Path   string // segment file
	Offset int64  // first bad byte
	End    int64  // end of the range that cannot be trusted (file size if unknown)
	Reason string
}

func (e *CorruptionError) Error() string {
	return fmt.Sprintf("segment: corruption in %s at [%d, %d): %s", e.Path, e.Offset, e.End, e.Reason)
}

// Unwrap makes errors.Is(err, ErrCorruption) true.
func (e *CorruptionError) Unwrap() error { return ErrCorruption }
