package segment

import (
	"bytes"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// TestMappedWrites checks the mapped write path (SyncNever and
// SyncInterval on the OS filesystem): concurrent appends of assorted sizes
// across several segment rolls read back intact from the active and the
// sealed segments, after a restart too (the active segment then ends in a
// fallocated zero tail that recovery must take for the end of the data),
// appends continue after the restart, and the pages behind the write
// position are dropped from the process as it goes.
func TestMappedWrites(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("mapped writes are Linux-only; elsewhere every batch is a write call")
	}
	for _, policy := range []string{"never", "interval=50ms"} {
		t.Run(policy, func(t *testing.T) {
			sync, err := ParseSyncPolicy(policy)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			opts := &Options{FS: vfs.Default, Sync: sync, SegmentSizeBytes: 4 << 20}
			l, err := Open(dir, opts)
			if err != nil {
				t.Fatal(err)
			}
			want := appendMixed(t, l, 0, 4, 3000)
			checkRecords(t, l, want)
			l.mu.Lock()
			mapped, rolls := l.w.mappedBytes, l.mu.stats.Rolls
			l.mu.Unlock()
			if mapped == 0 {
				t.Fatalf("no bytes went through the write mapping")
			}
			if rolls == 0 {
				t.Fatalf("expected segment rolls with %d bytes appended", l.Stats().SizeBytes)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}

			l, err = Open(dir, opts)
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			defer func() {
				if err := l.Close(); err != nil {
					t.Error(err)
				}
			}()
			checkRecords(t, l, want)
			want = append(want, appendMixed(t, l, len(want), 2, 500)...)
			checkRecords(t, l, want)
		})
	}
}

// TestMappedWritesDropPages checks that writing more than wmapDropBytes to
// one segment drops the pages behind the write position from the process
// (so a writing log adds at most about that much to RSS).
func TestMappedWritesDropPages(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("mapped writes are Linux-only")
	}
	l, err := Open(t.TempDir(), &Options{FS: vfs.Default, Sync: SyncPolicy{Mode: SyncNever}, SegmentSizeBytes: 16 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	payload := bytes.Repeat([]byte{'p'}, 4000)
	for i := 0; i < 1000; i++ { // ~4 MB, one segment
		if _, err := l.Append([]Entry{{Payload: payload}}); err != nil {
			t.Fatal(err)
		}
	}
	l.mu.Lock()
	dropped, mapped := l.w.wmapDropped, l.w.mappedBytes
	l.mu.Unlock()
	if mapped == 0 || dropped < 2*wmapDropBytes {
		t.Fatalf("mapped %d bytes, dropped pages up to %d; want drops past %d", mapped, dropped, 2*wmapDropBytes)
	}
}

// TestWrappedFSKeepsWriteCalls checks that a filesystem wrapping the OS's
// (here errorfs, as the fault-injection tests use) never gets mapped
// writes: every write must reach the wrapper, whatever the file's
// descriptor.
func TestWrappedFSKeepsWriteCalls(t *testing.T) {
	fs := errorfs.Wrap(vfs.Default, errorfs.InjectorFunc(func(errorfs.Op) error { return nil }))
	l, err := Open(t.TempDir(), &Options{FS: fs, Sync: SyncPolicy{Mode: SyncNever}, SegmentSizeBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	want := appendMixed(t, l, 0, 2, 500)
	checkRecords(t, l, want)
	l.mu.Lock()
	mapped := l.w.mappedBytes
	l.mu.Unlock()
	if mapped != 0 {
		t.Fatalf("%d bytes mapped-written through a wrapped FS", mapped)
	}
}

// appendMixed appends perAppender records from each of appenders
// goroutines (1–3 entries per Append, payloads 1 B to ~9 KiB) and returns
// the payloads in sequence order, starting after base records.
func appendMixed(t *testing.T, l *Log, base, appenders, perAppender int) [][]byte {
	t.Helper()
	var mu sync.Mutex
	bySeq := map[uint64][]byte{}
	var wg sync.WaitGroup
	errs := make(chan error, appenders)
	for a := range appenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perAppender; {
				n := 1 + (i+a)%3
				entries := make([]Entry, n)
				for j := range entries {
					size := 1 + (i*131+j*7919+a*31)%9000
					entries[j] = Entry{Payload: bytes.Repeat([]byte{byte('a' + (i+j+a)%26)}, size)}
					entries[j].Payload[0] = byte(a)
				}
				seq, err := l.Append(entries)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				for j := range entries {
					bySeq[seq+uint64(j)] = entries[j].Payload
				}
				mu.Unlock()
				i += n
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	out := make([][]byte, len(bySeq))
	for seq, p := range bySeq {
		i := int(seq) - 1 - base
		if i < 0 || i >= len(out) {
			t.Fatalf("seq %d outside %d..%d", seq, base+1, base+len(out))
		}
		out[i] = p
	}
	return out
}

// checkRecords reads the whole log and compares it with want (payloads of
// seqs 1..len(want)).
func checkRecords(t *testing.T, l *Log, want [][]byte) {
	t.Helper()
	next := uint64(1)
	_, err := l.Read(1, 0, 0, func(r *Record) error {
		if r.Seq != next {
			return fmt.Errorf("seq %d, want %d", r.Seq, next)
		}
		if int(r.Seq) > len(want) || !bytes.Equal(r.Payload, want[r.Seq-1]) {
			return fmt.Errorf("seq %d: payload of %d bytes differs", r.Seq, len(r.Payload))
		}
		next++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if int(next-1) != len(want) {
		t.Fatalf("read %d records, want %d", next-1, len(want))
	}
}

// TestSoloAppends checks solo appends (Log.soloMu: under SyncNever and
// SyncInterval, while the active segment takes mapped writes, concurrent
// appenders write their own batches one at a time instead of parking
// behind a leader): the path is taken for most appends of concurrent
// appenders, across rolls (each new segment starts with write calls and
// group commit) and interval syncs (during which appenders queue for the
// writer goroutine), and every record reads back dense and intact.
func TestSoloAppends(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("mapped writes are Linux-only, and solo appends need them")
	}
	for _, policy := range []string{"never", "interval=50ms"} {
		t.Run(policy, func(t *testing.T) {
			sync, err := ParseSyncPolicy(policy)
			if err != nil {
				t.Fatal(err)
			}
			l, err := Open(t.TempDir(), &Options{FS: vfs.Default, Sync: sync, SegmentSizeBytes: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := l.Close(); err != nil {
					t.Error(err)
				}
			}()
			// Past the first segment's unmapped head.
			want := appendMixed(t, l, 0, 1, 100)
			if !l.mapped.Load() {
				t.Fatalf("active segment not mapped after %d bytes", l.Stats().SizeBytes)
			}
			before := l.Stats()
			want = append(want, appendMixed(t, l, len(want), 8, 300)...)
			after := l.Stats()
			l.mu.Lock()
			solo := l.mu.soloWrites
			l.mu.Unlock()
			appends := after.Appends - before.Appends
			if after.Rolls == before.Rolls {
				t.Fatalf("no roll while appending %d bytes", after.SizeBytes-before.SizeBytes)
			}
			// Group commit would write 8 concurrent appenders' requests in
			// batches of several each.
			t.Logf("%s: %d of %d solo, %d batches", policy, solo, appends, after.Batches-before.Batches)
			if 2*solo < appends {
				t.Fatalf("%d of %d appends written solo (%d batches)", solo, appends, after.Batches-before.Batches)
			}
			checkRecords(t, l, want)
		})
	}
}
