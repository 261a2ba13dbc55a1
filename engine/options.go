package engine

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
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
	// SegmentSizeBytes is the size in bytes at which a log rolls to a new
	// segment file. Default: 64 MiB.
	SegmentSizeBytes int64
	// Clock supplies the current time. Default: SystemClock.
	Clock Clock
	// Logger receives operational messages. Default: slog.Default().
	Logger *slog.Logger
}

const (
	defaultSegmentSizeBytes = 64 << 20
	// segmentSizeMinBytes keeps a misconfiguration from creating a file per
	// record; segmentSizeMaxBytes matches segment's hard record limit.
	segmentSizeMinBytes = 64 << 10
	segmentSizeMaxBytes = 1 << 30
)

// EnsureDefaults fills zero fields with their defaults and returns o. A nil
// receiver yields a new Options.
func (o *Options) EnsureDefaults() *Options {
	if o == nil {
		o = &Options{}
	}
	if o.FS == nil {
		o.FS = vfs.Default
	}
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

// Validate reports the first invalid field. Call after EnsureDefaults.
func (o *Options) Validate() error {
	if o.SegmentSizeBytes < segmentSizeMinBytes || o.SegmentSizeBytes > segmentSizeMaxBytes {
		return fmt.Errorf("engine: SegmentSizeBytes %d outside [%d, %d]", o.SegmentSizeBytes, segmentSizeMinBytes, segmentSizeMaxBytes)
	}
	if o.FS == nil || o.Clock == nil || o.Logger == nil {
		return fmt.Errorf("engine: Options.Validate called before EnsureDefaults")
	}
	return nil
}
