package segment

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// SyncMode says when an Append is acknowledged.
type SyncMode uint8

const (
	// SyncAlways acknowledges an Append after fdatasync (group commit). Default.
	SyncAlways SyncMode = iota
	// SyncInterval acknowledges after write(2); a background sync runs every
	// Interval. A crash can lose up to Interval of acknowledged appends.
	SyncInterval
	// SyncNever acknowledges after write(2) and syncs only on roll, idle
	// release and Close. A crash can lose any acknowledged append since then.
	SyncNever
)

// defaultSyncInterval is the SyncInterval period when Interval is zero.
const defaultSyncInterval = 100 * time.Millisecond

// SyncPolicy says when an Append is acknowledged.
type SyncPolicy struct {
	Mode     SyncMode
	Interval time.Duration // only for SyncInterval. Default: 100ms.
}

// ParseSyncPolicy parses "always", "never" or "interval=DURATION"
// (for example "interval=100ms").
func ParseSyncPolicy(s string) (SyncPolicy, error) {
	switch s {
	case "always":
		return SyncPolicy{Mode: SyncAlways}, nil
	case "never":
		return SyncPolicy{Mode: SyncNever}, nil
	}
	rest, ok := strings.CutPrefix(s, "interval=")
	if !ok {
		return SyncPolicy{}, fmt.Errorf("segment: bad sync policy %q (want always, never or interval=DURATION)", s)
	}
	d, err := time.ParseDuration(rest)
	if err != nil || d <= 0 {
		return SyncPolicy{}, fmt.Errorf("segment: bad sync interval %q (want a positive duration)", rest)
	}
	return SyncPolicy{Mode: SyncInterval, Interval: d}, nil
}

// String returns the form ParseSyncPolicy accepts.
func (p SyncPolicy) String() string {
	switch p.Mode {
	case SyncAlways:
		return "always"
	case SyncNever:
		return "never"
	case SyncInterval:
		d := p.Interval
		if d == 0 {
			d = defaultSyncInterval
		}
		return "interval=" + d.String()
	}
	return fmt.Sprintf("SyncMode(%d)", uint8(p.Mode))
}

// Options configures a Log. The zero value means defaults.
type Options struct {
	// FS is the filesystem all file access goes through. Default: vfs.Default.
	FS vfs.FS
	// SegmentSizeBytes is the roll threshold: an Append that would grow a
	// non-empty active segment past it goes to a new segment. It also caps
	// one record's frame size. Default: 64 MiB. Max: 1 GiB.
	SegmentSizeBytes int64
	// Sync says when an Append is acknowledged. Default: SyncAlways.
	Sync SyncPolicy
	// IndexIntervalBytes is the sparse index granularity in bytes: a seek by
	// sequence number or timestamp scans at most about this much. Default: 4 KiB.
	IndexIntervalBytes int
	// IdleTimeout is how long the writer goroutine, the active file handle,
	// read handles and mmaps stay around unused. Default: 30s.
	IdleTimeout time.Duration
	// Logger receives recovery and corruption reports. Default: slog.Default().
	Logger *slog.Logger
	// RemoveSegment, if set, takes over the removal of a sealed segment
	// file that retention drops (path is its full name): it must make the
	// file's disappearance from the log's directory durable before it
	// returns, and may delete the data later (the engine moves it to a trash
	// deleted at a pace). Default: remove the file and sync the directory.
	RemoveSegment func(path string) error
}

const (
	defaultSegmentSizeBytes   = 64 << 20
	maxSegmentSizeBytes       = 1 << 30
	minSegmentSizeBytes       = segmentHeaderSize + frameHeaderSize
	defaultIndexIntervalBytes = 4 << 10
	defaultIdleTimeout        = 30 * time.Second
)

// EnsureDefaults returns a copy of o (nil allowed) with zero fields set to
// their defaults.
func (o *Options) EnsureDefaults() Options {
	var out Options
	if o != nil {
		out = *o
	}
	if out.FS == nil {
		out.FS = vfs.Default
	}
	if out.SegmentSizeBytes == 0 {
		out.SegmentSizeBytes = defaultSegmentSizeBytes
	}
	if out.Sync.Mode == SyncInterval && out.Sync.Interval == 0 {
		out.Sync.Interval = defaultSyncInterval
	}
	if out.IndexIntervalBytes == 0 {
		out.IndexIntervalBytes = defaultIndexIntervalBytes
	}
	if out.IdleTimeout == 0 {
		out.IdleTimeout = defaultIdleTimeout
	}
	if out.Logger == nil {
		out.Logger = slog.Default()
	}
	return out
}

// Validate reports out-of-range options.
func (o *Options) Validate() error {
	var errs []error
	if o.SegmentSizeBytes < minSegmentSizeBytes || o.SegmentSizeBytes > maxSegmentSizeBytes {
		errs = append(errs, fmt.Errorf("segment: SegmentSizeBytes %d outside [%d, %d]",
			o.SegmentSizeBytes, minSegmentSizeBytes, maxSegmentSizeBytes))
	}
	if o.Sync.Mode > SyncNever {
		errs = append(errs, fmt.Errorf("segment: unknown sync mode %d", o.Sync.Mode))
	}
	if o.Sync.Interval < 0 {
		errs = append(errs, fmt.Errorf("segment: negative sync interval %s", o.Sync.Interval))
	}
	if o.IndexIntervalBytes < frameAlign {
		errs = append(errs, fmt.Errorf("segment: IndexIntervalBytes %d < %d", o.IndexIntervalBytes, frameAlign))
	}
	if o.IdleTimeout < 0 {
		errs = append(errs, fmt.Errorf("segment: negative IdleTimeout %s", o.IdleTimeout))
	}
	return errors.Join(errs...)
}
