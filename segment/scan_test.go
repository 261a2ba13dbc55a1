package segment

import (
	"bytes"
	"errors"
	"runtime"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// bigEntry returns an entry whose payload (size bytes) depends on i.
func bigEntry(i, size int) Entry {
	p := make([]byte, size)
	for j := range p {
		p[j] = byte(i*31 + j*7 + 1)
	}
	return Entry{Timestamp: int64(i), Key: []byte{byte(i)}, Payload: p}
}

// TestRecoverLargeFrames checks recovery of frames larger than the scan
// buffer (verified with an incremental checksum), read back intact; and
// the decisions on them: a cut inside the last large frame is a torn tail
// (its prefix is copied through the bounded buffer), a flip inside an
// earlier large frame is corruption.
func TestRecoverLargeFrames(t *testing.T) {
	sizes := []int{scanBufBytes - 100, scanBufBytes + 1, 3*scanBufBytes + 17, 100}
	build := func() (*vfs.MemFS, []Entry) {
		fs := vfs.NewMem()
		l, err := Open("log", &Options{FS: fs, Sync: SyncPolicy{Mode: SyncNever}, IndexIntervalBytes: 1024})
		if err != nil {
			t.Fatal(err)
		}
		var entries []Entry
		for i, size := range sizes {
			e := bigEntry(i, size)
			entries = append(entries, e)
			if _, err := l.Append([]Entry{e}); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		return fs, entries
	}
	path := "log/" + segmentName(1)
	frameEnd := func(i int) int64 {
		end := int64(segmentHeaderSize)
		for _, size := range sizes[:i+1] {
			end += int64(frameSizeBytes(1, size))
		}
		return end
	}
	rewrite := func(fs vfs.FS, mutate func([]byte) []byte) {
		data, err := readWholeFile(fs, path)
		if err != nil {
			t.Fatal(err)
		}
		if err := writeFileSynced(fs, path, mutate(data)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		mutate  func([]byte) []byte
		records int // records recovered
		corrupt bool
	}{
		{"intact", func(b []byte) []byte { return b }, 4, false},
		{"cut inside the third frame", func(b []byte) []byte { return b[:frameEnd(1)+scanBufBytes+5] }, 2, false},
		{"flip inside the second frame", func(b []byte) []byte { b[frameEnd(0)+scanBufBytes/2] ^= 1; return b }, 0, true},
		{"flip in the second frame's padding", func(b []byte) []byte { b[frameEnd(1)-1] = 1; return b }, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs, entries := build()
			rewrite(fs, tc.mutate)
			l, err := Open("log", &Options{FS: fs, Logger: quietLogger()})
			if tc.corrupt {
				if !errors.Is(err, ErrCorruption) {
					t.Fatalf("Open: %v, want ErrCorruption", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = l.Close() }()
			recs := readAll(t, l, 1)
			if len(recs) != tc.records {
				t.Fatalf("%d records, want %d", len(recs), tc.records)
			}
			for i, r := range recs {
				checkRecord(t, r, uint64(i+1), entries[i])
			}
			if _, err := l.Append([]Entry{entries[3]}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestRecoveryMemoryBounded checks that Open streams the active segment:
// recovering an 8 MiB segment allocates a small fraction of it (the scan
// buffer and the sparse index), not the segment's size.
func TestRecoveryMemoryBounded(t *testing.T) {
	fs := vfs.NewMem()
	opts := &Options{FS: fs, Sync: SyncPolicy{Mode: SyncNever}}
	l, err := Open("log", opts)
	if err != nil {
		t.Fatal(err)
	}
	batch := make([]Entry, 64)
	for i := range batch {
		batch[i] = Entry{Payload: bytes.Repeat([]byte{byte(i + 1)}, 4000)}
	}
	for l.Stats().SizeBytes < 8<<20 {
		if _, err := l.Append(batch); err != nil {
			t.Fatal(err)
		}
	}
	want := l.NextSeq()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	l, err = Open("log", opts)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	if l.NextSeq() != want {
		t.Fatalf("next seq %d after reopen, want %d", l.NextSeq(), want)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Fatalf("Open allocated %d bytes for an 8 MiB segment; want at most 1 MiB", alloc)
	}
}
