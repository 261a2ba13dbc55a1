package segment

import (
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

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

// errorWorkload appends, rolls, deletes old segments and syncs on fs under
// policy. It returns the records that must survive a crash (acknowledged
// under always; covered by a returned Sync or Close otherwise), every
// acknowledged record, and the first error any call returned. After an
// Append or Sync error it checks that the log refuses further writes with
// ErrWriteFailed.
func errorWorkload(t *testing.T, fs vfs.FS, policy SyncPolicy) (durable, acked map[uint64]Entry, err error) {
	durable, acked = map[uint64]Entry{}, map[uint64]Entry{}
	l, err := Open("log", &Options{FS: fs, SegmentSizeBytes: 512, Sync: policy, Logger: quietLogger()})
	if err != nil {
		return durable, acked, err
	}
	defer func() { _ = l.Close() }()
	makeDurable := func() {
		for seq, e := range acked {
			if seq >= l.FirstSeq() {
				durable[seq] = e
			}
		}
	}
	for i := 0; i < 24; i++ {
		entries := []Entry{testEntry(i), testEntry(i + 100)}
		seq, err := l.Append(entries)
		if err == nil {
			acked[seq], acked[seq+1] = entries[0], entries[1]
			if policy.Mode == SyncAlways {
				makeDurable()
			}
			if i%8 == 7 {
				if err = l.Sync(); err == nil {
					makeDurable()
				}
			}
		}
		if err != nil {
			if _, again := l.Append(entries); !errors.Is(again, ErrWriteFailed) {
				t.Errorf("append after failure %v returned %v, want ErrWriteFailed", err, again)
			}
			return durable, acked, err
		}
		if i == 12 {
			if _, err := l.DeleteBefore(5); err != nil {
				return durable, acked, err
			}
			for seq := range durable {
				if seq < l.FirstSeq() {
					delete(durable, seq)
				}
			}
		}
	}
	if err := l.Close(); err != nil {
		return durable, acked, err
	}
	makeDurable()
	return durable, acked, nil
}

// TestErrorInjection fails the i-th mutating filesystem operation for
// i = 0, 1, … (with an injected error and with ENOSPC) until the workload
// runs clean, under each sync policy. Every injected failure must reach a
// caller (an Append, Sync, DeleteBefore or Close), an Append or Sync
// failure must poison the log, and reopening the crash image of only the
// synced data must yield a dense log holding every record that had to be
// durable, and only records intact at the seq they were acknowledged with.
func TestErrorInjection(t *testing.T) {
	policies := []SyncPolicy{{Mode: SyncAlways}, {Mode: SyncInterval, Interval: time.Millisecond}, {Mode: SyncNever}}
	for _, policy := range policies {
		for _, injected := range []error{errorfs.ErrInjected, syscall.ENOSPC} {
			t.Run(fmt.Sprintf("sync=%s/%v", policy, injected), func(t *testing.T) {
				for i := int64(0); ; i++ {
					if !injectOnce(t, policy, injected, i) {
						t.Logf("workload ran clean after %d injection points", i)
						return
					}
				}
			})
		}
	}
}

// injectOnce runs the workload failing operation i, and checks the log
// recovered from the crash image. It returns false if the workload ran
// clean (it has fewer operations).
func injectOnce(t *testing.T, policy SyncPolicy, injected error, i int64) bool {
	mem := vfs.NewCrashableMem()
	in := &injectAt{index: i, err: injected}
	durable, acked, err := errorWorkload(t, errorfs.Wrap(mem, in), policy)
	if !in.fired.Load() {
		if err != nil {
			t.Fatalf("op %d: no injection but error %v", i, err)
		}
		return false
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
	for j, r := range recs {
		if r.Seq != l.FirstSeq()+uint64(j) {
			t.Fatalf("op %d: gap before seq %d", i, r.Seq)
		}
		if e, ok := acked[r.Seq]; ok {
			checkRecord(t, r, r.Seq, e)
		}
		got[r.Seq] = r
	}
	for seq, e := range durable {
		r, ok := got[seq]
		if !ok {
			t.Fatalf("op %d: durable seq %d lost (have %d..%d)", i, seq, l.FirstSeq(), l.NextSeq())
		}
		checkRecord(t, r, seq, e)
	}
	if _, err := l.Append([]Entry{testEntry(1)}); err != nil {
		t.Fatalf("op %d: append after reopen: %v", i, err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return true
}

// syncFailer fails every fdatasync, reporting each attempt on started.
type syncFailer struct{ started chan struct{} }

func (s *syncFailer) String() string { return "fail every SyncData" }

func (s *syncFailer) MaybeError(op errorfs.Op) error {
	if op.Kind != errorfs.OpFileSyncData {
		return nil
	}
	s.started <- struct{}{}
	return errorfs.ErrInjected
}

// TestIntervalSyncFailureReported checks that a failed background sync
// under SyncInterval, which no Append waits for, poisons the log and is
// reported by Close: acknowledged records may not be durable.
func TestIntervalSyncFailureReported(t *testing.T) {
	l := openFailedIntervalLog(t)
	err := l.Close()
	if !errors.Is(err, ErrWriteFailed) || !errors.Is(err, errorfs.ErrInjected) {
		t.Fatalf("Close after a failed background sync: %v, want ErrWriteFailed wrapping the injected error", err)
	}
}

// TestPoisonedIntervalLogParks checks that after a failed background sync
// under SyncInterval the writer goroutine parks until there is work,
// instead of re-arming an interval timer that has already fired (a sync
// is never retried, so each wake-up found nothing to do and parked again
// at once: a core kept busy until the idle timeout or Close).
func TestPoisonedIntervalLogParks(t *testing.T) {
	l := openFailedIntervalLog(t)
	time.Sleep(20 * time.Millisecond)
	l.mu.Lock()
	before := l.mu.parks
	l.mu.Unlock()
	time.Sleep(100 * time.Millisecond)
	l.mu.Lock()
	parks := l.mu.parks - before
	l.mu.Unlock()
	if parks > 2 {
		t.Errorf("the writer of a poisoned log parked %d times in 100 ms with nothing to do", parks)
	}
	if err := l.Close(); !errors.Is(err, ErrWriteFailed) {
		t.Fatalf("Close: %v, want ErrWriteFailed", err)
	}
}

// openFailedIntervalLog opens a SyncInterval log whose fdatasyncs fail,
// appends one record (acknowledged after its write) and returns once the
// background sync has run and failed.
func openFailedIntervalLog(t *testing.T) *Log {
	t.Helper()
	failer := &syncFailer{started: make(chan struct{})}
	l, err := Open("log", &Options{FS: errorfs.Wrap(vfs.NewMem(), failer),
		Sync: SyncPolicy{Mode: SyncInterval, Interval: time.Millisecond}, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append([]Entry{testEntry(1)}); err != nil {
		t.Fatalf("append (acknowledged after write): %v", err)
	}
	<-failer.started // the background sync runs and fails
	return l
}
