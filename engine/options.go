package engine

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/sluice-dev/sluice/segment"
)

// Clock is the engine's only source of time, so tests can control it
// (testing/synctest or a fake). The engine never calls time.Now directly.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Options configures Open. The zero value is valid: every field has a
// default, filled by EnsureDefaults.
type Options struct {
	// FS is the filesystem for the logs and the index (pebble's vfs). Use
	// vfs.NewMem or vfs.NewCrashableMem in tests. Default: vfs.Default.
	FS vfs.FS
	// Sync is when an append is acknowledged: after fdatasync (always),
	// after write(2) with a background sync every Interval (interval), or
	// with no sync before roll/idle/Close (never). Default: always.
	Sync segment.SyncPolicy
	// SegmentSizeBytes is the size in bytes at which a log rolls to a new
	// segment file. Default: 64 MiB.
	SegmentSizeBytes int64
	// LogIdleTimeout is how long a log keeps its writer goroutine and
	// active file handle after its last write (segment.Options.IdleTimeout).
	// An embedder with many briefly written logs (thousands of shards) may
	// shorten it; a write after it pays one file open. Default: 30 s.
	LogIdleTimeout time.Duration
	// Clock supplies the current time. Default: SystemClock.
	Clock Clock
	// Logger receives operational messages. Default: slog.Default().
	Logger *slog.Logger
}

const defaultSegmentSizeBytes = 64 << 20

// EnsureDefaults fills zero fields with their defaults and returns o. A nil
// receiver yields a new Options.
func (o *Options) EnsureDefaults() *Options {
	if o == nil {
		o = &Options{}
	}
	if o.FS == nil {
		o.FS = vfs.Default
	}
	// The zero SyncPolicy is SyncAlways, the default.
	if o.SegmentSizeBytes == 0 {
		o.SegmentSizeBytes = defaultSegmentSizeBytes
	}
	if o.Clock == nil {
		o.Clock = SystemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Validate reports every invalid field. Call after EnsureDefaults. The log
// settings are checked by segment's own rules.
func (o *Options) Validate() error {
	if o.FS == nil || o.Clock == nil || o.Logger == nil {
		return fmt.Errorf("engine: Options.Validate called before EnsureDefaults")
	}
	segmentOpts := o.segmentOptions()
	if err := segmentOpts.Validate(); err != nil {
		return fmt.Errorf("engine: invalid options: %w", err)
	}
	return nil
}

// segmentOptions are the options every log of the DB is opened with.
func (o *Options) segmentOptions() segment.Options {
	so := &segment.Options{
		FS:               o.FS,
		SegmentSizeBytes: o.SegmentSizeBytes,
		Sync:             o.Sync,
		IdleTimeout:      o.LogIdleTimeout,
		Logger:           o.Logger,
	}
	return so.EnsureDefaults()
}
