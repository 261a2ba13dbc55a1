package segment

import (
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// injectAt fails the index-th mutating filesystem operation (write, sync,
// create, rename, remove, mkdir) with err, once.
type injectAt struct {
	index int64
	count atomic.Int64
	fired atomic.Bool
	err   error
}

func (in *injectAt) String() string { return fmt.Sprintf("inject %v at op %d", in.err, in.index) }

func (in *injectAt) MaybeError(op errorfs.Op) error {
	switch op.Kind {
	case errorfs.OpFileWrite, errorfs.OpFileWriteAt, errorfs.OpFileSync, errorfs.OpFileSyncData,
		errorfs.OpCreate, errorfs.OpRename, errorfs.OpRemove, errorfs.OpMkdirAll:
	default:
		return nil
	}
	if in.count.Add(1)-1 == in.index {
		in.fired.Store(true)
		return in.err
	}
	return nil
}

// errorWorkload appends, rolls, deletes old segments and syncs on fs,
// returning the acknowledged entries by seq and the first error any call
// returned. After an Append or Sync error it checks that the log refuses
// further writes with ErrWriteFailed.
func errorWorkload(t *testing.T, fs vfs.FS) (map[uint64]Entry, error) {
	acked := map[uint64]Entry{}
	l, err := Open("log", &Options{FS: fs, SegmentSizeBytes: 512, Logger: quietLogger()})
	if err != nil {
		return acked, err
	}
	defer func() { _ = l.Close() }()
	for i := 0; i < 24; i++ {
		entries := []Entry{testEntry(i), testEntry(i + 100)}
		seq, err := l.Append(entries)
		if err == nil && i%8 == 7 {
			err = l.Sync()
		}
		if err != nil {
			if _, again := l.Append(entries); !errors.Is(again, ErrWriteFailed) {
				t.Errorf("append after failure %v returned %v, want ErrWriteFailed", err, again)
			}
			return acked, err
		}
		acked[seq], acked[seq+1] = entries[0], entries[1]
		if i == 12 {
			if _, err := l.DeleteBefore(5); err != nil {
				return acked, err
			}
			for seq := range acked {
				if seq < l.FirstSeq() {
					delete(acked, seq)
				}
			}
		}
	}
	return acked, l.Close()
}

// TestErrorInjection fails the i-th mutating filesystem operation for
// i = 0, 1, … (with an injected error and with ENOSPC) until the workload
// runs clean. Every injected failure must reach a caller, an Append or Sync
// failure must poison the log, and reopening the crash image of only the
// synced data must yield a consistent log holding every acknowledged record.
func TestErrorInjection(t *testing.T) {
	for _, injected := range []error{errorfs.ErrInjected, syscall.ENOSPC} {
		for i := int64(0); ; i++ {
			mem := vfs.NewCrashableMem()
			in := &injectAt{index: i, err: injected}
			acked, err := errorWorkload(t, errorfs.Wrap(mem, in))
			if !in.fired.Load() {
				if err != nil {
					t.Fatalf("op %d: no injection but error %v", i, err)
				}
				t.Logf("%v: workload ran clean after %d injection points", injected, i)
				break
			}
			if !errors.Is(err, injected) {
				t.Fatalf("op %d: injected %v but the caller saw %v", i, injected, err)
			}
			crashed := mem.CrashClone(vfs.CrashCloneCfg{})
			l, err := Open("log", &Options{FS: crashed, SegmentSizeBytes: 512, Logger: quietLogger()})
			if err != nil {
				t.Fatalf("op %d: reopen: %v", i, err)
			}
			recs := readAll(t, l, 0)
			got := map[uint64]Record{}
			for _, r := range recs {
				got[r.Seq] = r
			}
			for seq, e := range acked {
				r, ok := got[seq]
				if !ok {
					t.Fatalf("op %d: acknowledged seq %d lost (have %d..%d)", i, seq, l.FirstSeq(), l.NextSeq())
				}
				checkRecord(t, r, seq, e)
			}
			if _, err := l.Append([]Entry{testEntry(1)}); err != nil {
				t.Fatalf("op %d: append after reopen: %v", i, err)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
}
