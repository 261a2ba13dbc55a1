package segment

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestInlineWrites checks the inline write path (an appender writes itself
// while the writer goroutine is parked, SyncNever and SyncInterval): it is
// taken, records stay dense and intact across rolls, Sync still makes them
// durable, an interval sync still happens for records written only inline
// (with and without the parked writer timing one already), and the writer
// still exits once idle.
func TestInlineWrites(t *testing.T) {
	const interval, idle = 10 * time.Millisecond, 100 * time.Millisecond
	for _, policy := range []SyncPolicy{{Mode: SyncNever}, {Mode: SyncInterval, Interval: interval}} {
		t.Run(fmt.Sprintf("sync=%s", policy), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				mem := vfs.NewCrashableMem()
				l, err := Open("log", &Options{FS: mem, Sync: policy, SegmentSizeBytes: 1024,
					IdleTimeout: idle, Logger: quietLogger()})
				if err != nil {
					t.Fatal(err)
				}
				var entries []Entry
				appendOne := func() {
					t.Helper()
					e := testEntry(len(entries))
					if _, err := l.Append([]Entry{e}); err != nil {
						t.Fatal(err)
					}
					entries = append(entries, e)
				}
				recordsIn := func() int { t.Helper(); return crashRecords(t, mem) }

				for range 20 { // rolls every few records
					appendOne()
					synctest.Wait() // the writer acknowledged and parked
				}
				l.mu.Lock()
				inline := l.mu.inlineWrites
				l.mu.Unlock()
				if inline == 0 {
					t.Fatal("no inline write while the writer was parked")
				}
				if err := l.Sync(); err != nil {
					t.Fatal(err)
				}
				if got := recordsIn(); got != len(entries) {
					t.Fatalf("after Sync a crash keeps %d of %d records", got, len(entries))
				}

				// After Sync the parked writer times no interval sync: an
				// inline write must wake it to time one.
				synctest.Wait()
				appendOne()
				appendOne()
				time.Sleep(2 * interval)
				synctest.Wait()
				if got, want := recordsIn(), len(entries); policy.Mode == SyncInterval && got != want {
					t.Fatalf("an interval after inline writes a crash keeps %d of %d records", got, want)
				}

				time.Sleep(2 * idle)
				synctest.Wait()
				if st := l.Stats(); st.WriterRunning {
					t.Fatalf("writer still running after the idle timeout: %+v", st)
				}
				recs := readAll(t, l, 1)
				if len(recs) != len(entries) {
					t.Fatalf("read %d of %d records", len(recs), len(entries))
				}
				for i, r := range recs {
					checkRecord(t, r, uint64(i+1), entries[i])
				}
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

// TestSyncInlineWrites checks the inline path under SyncAlways (an
// appender that finds the writer parked writes and fdatasyncs its batch
// itself): it is taken, every acknowledged record survives a crash at
// once (no later sync needed), records stay dense across rolls, appenders
// arriving during a leader's sync are still acknowledged (by the writer
// goroutine), and the writer exits once idle.
func TestSyncInlineWrites(t *testing.T) {
	const idle = 100 * time.Millisecond
	synctest.Test(t, func(t *testing.T) {
		mem := vfs.NewCrashableMem()
		l, err := Open("log", &Options{FS: mem, SegmentSizeBytes: 1024, IdleTimeout: idle, Logger: quietLogger()})
		if err != nil {
			t.Fatal(err)
		}
		recordsIn := func() int { t.Helper(); return crashRecords(t, mem) }
		var entries []Entry
		for i := range 20 { // rolls every few records
			e := testEntry(i)
			seq, err := l.Append([]Entry{e})
			if err != nil {
				t.Fatal(err)
			}
			entries = append(entries, e)
			if seq != uint64(i+1) {
				t.Fatalf("append %d got seq %d", i, seq)
			}
			if got := recordsIn(); got != len(entries) {
				t.Fatalf("after %d acknowledged appends a crash keeps %d", len(entries), got)
			}
			synctest.Wait() // the writer parks again
		}
		l.mu.Lock()
		inline := l.mu.inlineWrites
		l.mu.Unlock()
		if inline == 0 {
			t.Fatal("no inline write while the writer was parked")
		}

		// Concurrent appenders: one leads, the others queue behind its
		// sync and are acknowledged too.
		errs := make(chan error, 8)
		for i := range 8 {
			e := testEntry(100 + i)
			go func() {
				_, err := l.Append([]Entry{e})
				errs <- err
			}()
		}
		for range 8 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		if got := recordsIn(); got != 28 {
			t.Fatalf("a crash keeps %d of 28 acknowledged records", got)
		}
		time.Sleep(2 * idle)
		synctest.Wait()
		if st := l.Stats(); st.WriterRunning {
			t.Fatalf("writer still running after the idle timeout: %+v", st)
		}
		recs := readAll(t, l, 1)
		if len(recs) != 28 {
			t.Fatalf("read %d of 28 records", len(recs))
		}
		for i, e := range entries {
			checkRecord(t, recs[i], uint64(i+1), e)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// crashRecords reports how many records of the log at "log" in mem a crash
// now would keep (only synced data survives a CrashClone).
func crashRecords(t *testing.T, mem *vfs.MemFS) int {
	t.Helper()
	c, err := Open("log", &Options{FS: mem.CrashClone(vfs.CrashCloneCfg{}), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	return len(readAll(t, c, 1))
}
