package segment

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// activeFile returns the active segment's whole contents.
func activeFile(t *testing.T, l *Log) []byte {
	t.Helper()
	l.mu.Lock()
	path := l.mu.segments[len(l.mu.segments)-1].path
	l.mu.Unlock()
	data, err := readWholeFile(l.fs, path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestPreallocation checks the zero tail under SyncAlways: once a segment
// holds preallocMinBytes, the writer extends the file with zeros ahead of
// the data (never by more than the data size, never past
// SegmentSizeBytes); reopening treats the zeros as end of data (no
// truncation, no .broken file) and appends into them. SyncNever and
// SyncInterval never preallocate.
func TestPreallocation(t *testing.T) {
	tests := []struct {
		policy   string
		prealloc bool
	}{
		{"always", true},
		{"never", false},
		{"interval=1h", false},
	}
	for _, tc := range tests {
		t.Run(tc.policy, func(t *testing.T) {
			policy, err := ParseSyncPolicy(tc.policy)
			if err != nil {
				t.Fatal(err)
			}
			fs := vfs.NewMem()
			opts := &Options{FS: fs, Sync: policy, SegmentSizeBytes: 1 << 20}
			l, err := Open("log", opts)
			if err != nil {
				t.Fatal(err)
			}
			entry := Entry{Key: []byte("k"), Payload: bytes.Repeat([]byte{7}, 1000)}
			for i := 0; i < 100; i++ {
				if _, err := l.Append([]Entry{entry}); err != nil {
					t.Fatal(err)
				}
			}
			st := l.Stats()
			data := activeFile(t, l)
			tail := int64(len(data)) - st.SizeBytes
			if !tc.prealloc {
				if st.PreallocatedBytes != 0 || tail != 0 {
					t.Fatalf("preallocated %d bytes, tail %d; want none", st.PreallocatedBytes, tail)
				}
			} else {
				if st.PreallocatedBytes == 0 || tail <= 0 || tail > st.SizeBytes || int64(len(data)) > opts.SegmentSizeBytes {
					t.Fatalf("preallocated %d, data %d, file %d: want a zero tail no larger than the data",
						st.PreallocatedBytes, st.SizeBytes, len(data))
				}
				if !isZero(data[st.SizeBytes:]) {
					t.Fatal("preallocated tail is not zero")
				}
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l, err = Open("log", opts)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = l.Close() }()
			if again := activeFile(t, l); len(again) != len(data) {
				t.Fatalf("reopen changed the file from %d to %d bytes", len(data), len(again))
			}
			names, err := fs.List("log")
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range names {
				if strings.HasSuffix(name, brokenSuffix) {
					t.Fatalf("reopen wrote %s: a zero tail is not a torn write", name)
				}
			}
			if l.NextSeq() != 101 {
				t.Fatalf("next seq %d after reopen, want 101", l.NextSeq())
			}
			if _, err := l.Append([]Entry{entry}); err != nil {
				t.Fatal(err)
			}
			if after := activeFile(t, l); tc.prealloc && len(after) != len(data) {
				t.Fatalf("append into the zero tail grew the file from %d to %d", len(data), len(after))
			}
			recs := readAll(t, l, 1)
			if len(recs) != 101 {
				t.Fatalf("read %d records, want 101", len(recs))
			}
		})
	}
}

// gatedFS wraps a MemFS so that SyncData of files opened for writing
// blocks until the test lets it go, and reports writes and syncs.
type gatedFS struct {
	vfs.FS
	synced  chan struct{} // receives before each SyncData blocks
	release chan struct{} // one receive lets one SyncData proceed
	writes  atomic.Int64
	wrote   chan struct{} // receives after each WriteAt
}

func (fs *gatedFS) OpenReadWrite(name string, category vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := fs.FS.OpenReadWrite(name, category, opts...)
	if err != nil {
		return nil, err
	}
	return &gatedFile{File: f, fs: fs}, nil
}

type gatedFile struct {
	vfs.File
	fs *gatedFS
}

func (f *gatedFile) SyncData() error {
	f.fs.synced <- struct{}{}
	<-f.fs.release
	return f.File.SyncData()
}

func (f *gatedFile) WriteAt(p []byte, off int64) (int, error) {
	n, err := f.File.WriteAt(p, off)
	f.fs.writes.Add(1)
	f.fs.wrote <- struct{}{}
	return n, err
}

// TestPipelinedSync checks the SyncAlways pipeline step by step with a
// filesystem whose fdatasync blocks: while the first batch's sync runs,
// the writer writes the second batch (large enough to be worth it, and
// into the preallocated zero tail);
// the first Append returns (and its record becomes readable) when its sync
// completes, and the second only after a second sync that started after
// its write.
func TestPipelinedSync(t *testing.T) {
	fs := &gatedFS{FS: vfs.NewMem(), synced: make(chan struct{}), release: make(chan struct{}),
		wrote: make(chan struct{}, 16)}
	l, err := Open("log", &Options{FS: fs, SegmentSizeBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		seq uint64
		err error
	}
	appendAsync := func(e Entry) chan result {
		ch := make(chan result, 1)
		go func() {
			seq, err := l.Append([]Entry{e})
			ch <- result{seq, err}
		}()
		return ch
	}
	// The first record is large enough to start preallocation, and the
	// second is pipelineMinBytes and lands in the zero tail: a smaller
	// batch, or one that grows the file, would wait for the running sync.
	first := appendAsync(Entry{Payload: make([]byte, preallocMinBytes)})
	<-fs.wrote  // the zero tail
	<-fs.wrote  // the first record
	<-fs.synced // the first sync runs and is held
	second := appendAsync(Entry{Payload: make([]byte, pipelineMinBytes)})
	<-fs.wrote // written while the first sync is still held
	select {
	case r := <-first:
		t.Fatalf("first Append returned %+v before its sync completed", r)
	case r := <-second:
		t.Fatalf("second Append returned %+v before any sync completed", r)
	default:
	}
	if got := l.NextSeq(); got != 1 {
		t.Fatalf("next seq %d while nothing is synced, want 1", got)
	}
	fs.release <- struct{}{} // the first sync completes
	if r := <-first; r.err != nil || r.seq != 1 {
		t.Fatalf("first Append: %+v", r)
	}
	<-fs.synced // a second sync, covering the second write, starts and is held
	select {
	case r := <-second:
		t.Fatalf("second Append returned %+v before the sync covering it completed", r)
	default:
	}
	if got := l.NextSeq(); got != 2 {
		t.Fatalf("next seq %d after the first sync, want 2", got)
	}
	fs.release <- struct{}{}
	if r := <-second; r.err != nil || r.seq != 2 {
		t.Fatalf("second Append: %+v", r)
	}
	// Close syncs nothing more (everything is synced), so no gate is needed.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if st := fs.writes.Load(); st != 3 {
		t.Fatalf("%d writes, want 3 (the zero tail, then one per batch)", st)
	}
}

// TestFormatV1Compat opens a log written by format version 1 (before
// preallocation; testdata/v1log: three segments of 16 records in all),
// reads it, appends across rolls (new segments are version 2, the old
// active segment gets no zero tail), and reopens it.
func TestFormatV1Compat(t *testing.T) {
	fs := vfs.NewMem()
	if err := fs.MkdirAll("log", 0o755); err != nil {
		t.Fatal(err)
	}
	files, err := os.ReadDir("testdata/v1log")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join("testdata/v1log", f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if data[6] != 1 {
			t.Fatalf("%s: fixture is not format version 1", f.Name())
		}
		if err := writeFileSynced(fs, fs.PathJoin("log", f.Name()), data); err != nil {
			t.Fatal(err)
		}
	}
	var want []Entry
	for i := 0; i < 16; i++ {
		e := testEntry(i)
		e.Timestamp = int64(i)
		want = append(want, e)
	}
	opts := &Options{FS: fs, SegmentSizeBytes: 400, IndexIntervalBytes: 64, Logger: quietLogger()}
	check := func(l *Log) {
		t.Helper()
		recs := readAll(t, l, 1)
		if len(recs) != len(want) {
			t.Fatalf("read %d records, want %d", len(recs), len(want))
		}
		for i, r := range recs {
			checkRecord(t, r, uint64(i+1), want[i])
		}
		if seq, err := l.SeekTimestamp(5); err != nil || seq != 6 {
			t.Fatalf("SeekTimestamp(5) = %d, %v; want 6", seq, err)
		}
	}
	l, err := Open("log", opts)
	if err != nil {
		t.Fatal(err)
	}
	check(l)
	v1Active := l.w.seg
	for i := 16; i < 40; i++ {
		e := testEntry(i)
		e.Timestamp = int64(i)
		want = append(want, e)
		if _, err := l.Append([]Entry{e}); err != nil {
			t.Fatal(err)
		}
	}
	check(l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if data, err := readWholeFile(fs, v1Active.path); err != nil || int64(len(data)) != dataEnd(data) {
		t.Fatalf("version 1 segment %s: %d bytes, data ends at %d (%v); want no zero tail",
			v1Active.path, len(data), dataEnd(data), err)
	}
	if l, err = Open("log", opts); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	check(l)
	l.mu.Lock()
	last := l.mu.segments[len(l.mu.segments)-1]
	l.mu.Unlock()
	if last.version != formatVersion {
		t.Fatalf("new segment %s has version %d, want %d", last.path, last.version, formatVersion)
	}
}
