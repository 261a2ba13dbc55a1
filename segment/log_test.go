package segment

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// quietLogger discards log output in tests that provoke warnings.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testEntry builds a deterministic entry for seq-like index i.
func testEntry(i int) Entry {
	return Entry{
		Timestamp: int64(1000 + i),
		Flags:     uint16(i),
		Key:       []byte(fmt.Sprintf("k%d", i)),
		Payload:   bytes.Repeat([]byte{byte(i)}, 10+i%50),
	}
}

// readAll returns copies of every record from seq from on.
func readAll(t testing.TB, l *Log, from uint64) []Record {
	t.Helper()
	var out []Record
	_, err := l.Read(from, 0, 0, func(r *Record) error {
		out = append(out, Record{Seq: r.Seq, Timestamp: r.Timestamp, Flags: r.Flags,
			Key: bytes.Clone(r.Key), Payload: bytes.Clone(r.Payload)})
		return nil
	})
	if err != nil {
		t.Fatalf("Read(%d): %v", from, err)
	}
	return out
}

// checkRecord compares a read record with the entry appended as index i.
func checkRecord(t testing.TB, r Record, seq uint64, e Entry) {
	t.Helper()
	if r.Seq != seq || r.Flags != e.Flags || !bytes.Equal(r.Key, e.Key) || !bytes.Equal(r.Payload, e.Payload) {
		t.Fatalf("record %d: got seq %d flags %d key %q payload len %d; want flags %d key %q payload len %d",
			seq, r.Seq, r.Flags, r.Key, len(r.Payload), e.Flags, e.Key, len(e.Payload))
	}
}

// TestAppendReadReopen checks the basic life cycle on MemFS and on real
// files: appends get dense sequence numbers from 1, reads return them
// intact across segment rolls, and a reopened log returns the same data.
func TestAppendReadReopen(t *testing.T) {
	for _, name := range []string{"mem", "disk"} {
		t.Run(name, func(t *testing.T) {
			fs, dir := vfs.FS(vfs.NewMem()), "log"
			if name == "disk" {
				fs, dir = vfs.Default, t.TempDir()
			}
			opts := &Options{FS: fs, SegmentSizeBytes: 1024, IndexIntervalBytes: 128}
			l, err := Open(dir, opts)
			if err != nil {
				t.Fatal(err)
			}
			if l.FirstSeq() != 1 || l.NextSeq() != 1 {
				t.Fatalf("empty log: first %d next %d", l.FirstSeq(), l.NextSeq())
			}
			const n = 200
			for i := 0; i < n; i += 2 {
				seq, err := l.Append([]Entry{testEntry(i), testEntry(i + 1)})
				if err != nil || seq != uint64(i+1) {
					t.Fatalf("Append %d: seq %d err %v", i, seq, err)
				}
			}
			if st := l.Stats(); st.Segments < 5 || st.Records != n {
				t.Fatalf("stats %+v: want >= 5 segments, %d records", st, n)
			}
			verify := func(l *Log) {
				recs := readAll(t, l, 0)
				if len(recs) != n {
					t.Fatalf("read %d records, want %d", len(recs), n)
				}
				for i, r := range recs {
					checkRecord(t, r, uint64(i+1), testEntry(i))
				}
				if got := readAll(t, l, 150); len(got) != 51 || got[0].Seq != 150 {
					t.Fatalf("read from 150: %d records", len(got))
				}
			}
			verify(l)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l, err = Open(dir, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
			}()
			if l.NextSeq() != n+1 || l.LastTimestamp() != 1000+n-1 {
				t.Fatalf("reopened: next %d last ts %d", l.NextSeq(), l.LastTimestamp())
			}
			verify(l)
			seq, err := l.Append([]Entry{testEntry(n)})
			if err != nil || seq != n+1 {
				t.Fatalf("append after reopen: %d %v", seq, err)
			}
		})
	}
}

// TestReadLimits checks maxRecords, maxBytes (at least one record), ErrStop
// and callback errors, and the returned next Seq.
func TestReadLimits(t *testing.T) {
	l, err := Open("log", &Options{FS: vfs.NewMem(), SegmentSizeBytes: 512})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	for i := 0; i < 20; i++ {
		if _, err := l.Append([]Entry{{Payload: make([]byte, 100)}}); err != nil {
			t.Fatal(err)
		}
	}
	count := func(from uint64, maxRecords, maxBytes int, fn func(*Record) error) (int, uint64, error) {
		c := 0
		next, err := l.Read(from, maxRecords, maxBytes, func(r *Record) error {
			c++
			if fn != nil {
				return fn(r)
			}
			return nil
		})
		return c, next, err
	}
	boom := errors.New("boom")
	tests := []struct {
		name                 string
		from                 uint64
		maxRecords, maxBytes int
		fn                   func(*Record) error
		wantCount            int
		wantNext             uint64
		wantErr              error
	}{
		{"all", 1, 0, 0, nil, 20, 21, nil},
		{"from zero", 0, 0, 0, nil, 20, 21, nil},
		{"max records", 3, 5, 0, nil, 5, 8, nil},
		{"max bytes", 1, 0, 350, nil, 3, 4, nil},
		{"max bytes below one record", 1, 0, 10, nil, 1, 2, nil},
		{"past end", 21, 0, 0, nil, 0, 21, nil},
		{"stop", 1, 0, 0, func(r *Record) error {
			if r.Seq == 4 {
				return ErrStop
			}
			return nil
		}, 4, 5, nil},
		{"error", 1, 0, 0, func(r *Record) error { return boom }, 1, 2, boom},
	}
	for _, tc := range tests {
		c, next, err := count(tc.from, tc.maxRecords, tc.maxBytes, tc.fn)
		if c != tc.wantCount || next != tc.wantNext || !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: count %d next %d err %v; want %d %d %v", tc.name, c, next, err, tc.wantCount, tc.wantNext, tc.wantErr)
		}
	}
}

// TestSeekTimestampAndRetention checks SeekTimestamp against a linear scan
// (timestamps clamped to be nondecreasing) and that DeleteBefore and
// DeleteOlderThan remove whole sealed segments only.
func TestSeekTimestampAndRetention(t *testing.T) {
	fs := vfs.NewMem()
	opts := &Options{FS: fs, SegmentSizeBytes: 1024, IndexIntervalBytes: 64}
	l, err := Open("log", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	// Timestamps go 0,0,10,10,20,... with one going backwards (clamped).
	for i := 0; i < 300; i++ {
		ts := int64(i / 2 * 10)
		if i == 101 {
			ts = 5
		}
		if _, err := l.Append([]Entry{{Timestamp: ts, Payload: make([]byte, 20)}}); err != nil {
			t.Fatal(err)
		}
	}
	recs := readAll(t, l, 1)
	for i := 1; i < len(recs); i++ {
		if recs[i].Timestamp < recs[i-1].Timestamp {
			t.Fatalf("timestamps decrease at %d", recs[i].Seq)
		}
	}
	linear := func(ts int64) uint64 {
		for _, r := range recs {
			if r.Timestamp >= ts {
				return r.Seq
			}
		}
		return l.NextSeq()
	}
	check := func() {
		recs = readAll(t, l, 0)
		for ts := int64(-5); ts < 1600; ts += 3 {
			got, err := l.SeekTimestamp(ts)
			if err != nil || got != linear(ts) {
				t.Fatalf("SeekTimestamp(%d) = %d, %v; want %d", ts, got, err, linear(ts))
			}
		}
	}
	check()
	// Reopen: sealed segments' indexes are rebuilt lazily.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if l, err = Open("log", opts); err != nil {
		t.Fatal(err)
	}
	check()
	segsBefore := l.Stats().Segments
	removed, err := l.DeleteBefore(100)
	if err != nil || removed == 0 || l.FirstSeq() != 1+removed || l.FirstSeq() > 100 {
		t.Fatalf("DeleteBefore(100): removed %d first %d err %v", removed, l.FirstSeq(), err)
	}
	recs = readAll(t, l, 0)
	if recs[0].Seq != l.FirstSeq() || len(recs) != int(l.NextSeq()-l.FirstSeq()) {
		t.Fatalf("after retention read %d records from %d", len(recs), recs[0].Seq)
	}
	check()
	removed2, err := l.DeleteOlderThan(1 << 40)
	if err != nil || l.Stats().Segments != 1 || removed+removed2 != l.FirstSeq()-1 {
		t.Fatalf("DeleteOlderThan: removed %d, %d segments left (of %d), first %d, err %v",
			removed2, l.Stats().Segments, segsBefore, l.FirstSeq(), err)
	}
	check()
}

// TestWait checks that Wait returns when a record becomes readable, when
// the context ends, and when the log closes.
func TestWait(t *testing.T) {
	l, err := Open("log", &Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- l.Wait(context.Background(), 1) }()
	if _, err := l.Append([]Entry{{Payload: []byte("a")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append([]Entry{{Payload: []byte("b")}}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Wait: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Wait(ctx, 10); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with cancelled ctx: %v", err)
	}
	go func() { done <- l.Wait(context.Background(), 10) }()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("Wait after Close: %v", err)
	}
	if _, err := l.Append([]Entry{{}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
}

// TestConcurrentAppendGroupCommit checks that concurrent appenders all get
// distinct dense sequence numbers, that their records read back intact,
// and that group commit used fewer syncs than appends.
func TestConcurrentAppendGroupCommit(t *testing.T) {
	l, err := Open("log", &Options{FS: vfs.NewMem(), SegmentSizeBytes: 8 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	const workers, each = 16, 100
	var wg sync.WaitGroup
	seqs := make([][]uint64, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				seq, err := l.Append([]Entry{{Key: []byte{byte(w)}, Payload: []byte(fmt.Sprint(i))}})
				if err != nil {
					t.Error(err)
					return
				}
				seqs[w] = append(seqs[w], seq)
			}
		}()
	}
	wg.Wait()
	byseq := map[uint64]string{}
	for w, s := range seqs {
		for i, seq := range s {
			byseq[seq] = fmt.Sprintf("%d/%d", w, i)
		}
	}
	recs := readAll(t, l, 1)
	if len(recs) != workers*each || len(byseq) != workers*each {
		t.Fatalf("read %d records, %d distinct seqs", len(recs), len(byseq))
	}
	for _, r := range recs {
		if got := fmt.Sprintf("%d/%s", r.Key[0], r.Payload); got != byseq[r.Seq] {
			t.Fatalf("seq %d holds %s, want %s", r.Seq, got, byseq[r.Seq])
		}
	}
	st := l.Stats()
	if st.Syncs >= st.Appends {
		t.Logf("no group commit observed: %d syncs for %d appends", st.Syncs, st.Appends)
	}
}

// TestIdleRelease checks that the writer goroutine and the active file
// handle go away after IdleTimeout and come back on the next append.
func TestIdleRelease(t *testing.T) {
	l, err := Open("log", &Options{FS: vfs.NewMem(), IdleTimeout: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	if _, err := l.Append([]Entry{{Payload: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	l.writerWG.Wait() // the writer exits by itself once idle
	if st := l.Stats(); st.WriterRunning || l.w.file != nil {
		t.Fatalf("writer still running after idle: %+v", st)
	}
	if _, err := l.Append([]Entry{{Payload: []byte("y")}}); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, l, 1); len(got) != 2 {
		t.Fatalf("read %d records", len(got))
	}
}

// TestReadAllocations checks that reading allocates nothing per record:
// a Read over 2,000 records of sealed segments (mmapped on real files,
// ReadAt on MemFS) costs a small constant number of allocations.
func TestReadAllocations(t *testing.T) {
	for _, name := range []string{"mem", "disk"} {
		fs, dir := vfs.FS(vfs.NewMem()), "log"
		if name == "disk" {
			fs, dir = vfs.Default, t.TempDir()
		}
		l, err := Open(dir, &Options{FS: fs, SegmentSizeBytes: 64 << 10, Sync: SyncPolicy{Mode: SyncNever}})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2000; i++ {
			if _, err := l.Append([]Entry{{Payload: make([]byte, 200)}}); err != nil {
				t.Fatal(err)
			}
		}
		n := 0
		fn := func(r *Record) error { n++; return nil }
		allocs := testing.AllocsPerRun(20, func() {
			if _, err := l.Read(1, 0, 0, fn); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 2 {
			t.Errorf("%s: %.1f allocations per Read of 2000 records", name, allocs)
		}
		if st := l.Stats(); name == "disk" && st.MappedSegments == 0 {
			t.Errorf("disk: no segment mmapped")
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRemoveSegmentHook checks that retention hands each dropped segment
// file to Options.RemoveSegment when it is set (and that the log works on
// without it), and removes files itself otherwise.
func TestRemoveSegmentHook(t *testing.T) {
	for _, hooked := range []bool{false, true} {
		t.Run(fmt.Sprintf("hooked=%v", hooked), func(t *testing.T) {
			fs := vfs.NewMem()
			var handed []string
			opts := &Options{FS: fs, SegmentSizeBytes: 512, Logger: quietLogger()}
			if hooked {
				opts.RemoveSegment = func(path string) error {
					handed = append(handed, path)
					return fs.Rename(path, path+".trash")
				}
			}
			l, err := Open("log", opts)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 20 {
				if _, err := l.Append([]Entry{testEntry(i)}); err != nil {
					t.Fatal(err)
				}
			}
			before, _ := fs.List("log")
			n, err := l.DeleteBefore(15)
			if err != nil || n == 0 {
				t.Fatalf("DeleteBefore(15) = %d, %v", n, err)
			}
			after, _ := fs.List("log")
			var segs int
			for _, name := range after {
				if strings.HasSuffix(name, ".seg") {
					segs++
				}
			}
			if hooked && (len(handed) == 0 || len(after) != len(before)) {
				t.Fatalf("hook got %v; directory %v -> %v (renamed, not removed, expected)", handed, before, after)
			}
			if !hooked && len(after) >= len(before) {
				t.Fatalf("no file removed without the hook: %v -> %v", before, after)
			}
			if segs == 0 {
				t.Fatal("no segment left")
			}
			if recs := readAll(t, l, l.FirstSeq()); len(recs) == 0 || recs[len(recs)-1].Seq != 20 {
				t.Fatalf("after retention read %d records", len(recs))
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
