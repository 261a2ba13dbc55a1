package segment

import (
	"errors"
	"maps"
	"slices"
	"strconv"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// corpusLog builds a small closed log (three sealed segments and an active
// one) and returns its files and the entries appended, by seq-1.
func corpusLog(t *testing.T) (map[string][]byte, []Entry) {
	t.Helper()
	fs := vfs.NewMem()
	l, err := Open("log", &Options{FS: fs, SegmentSizeBytes: 400, IndexIntervalBytes: 64})
	if err != nil {
		t.Fatal(err)
	}
	var entries []Entry
	for i := 0; i < 16; i++ {
		e := testEntry(i)
		e.Timestamp = int64(i)
		entries = append(entries, e)
		if _, err := l.Append([]Entry{e}); err != nil {
			t.Fatal(err)
		}
	}
	if st := l.Stats(); st.Segments < 3 {
		t.Fatalf("want >= 3 segments, have %d", st.Segments)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	names, err := fs.List("log")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		data, err := readWholeFile(fs, fs.PathJoin("log", name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = data
	}
	return files, entries
}

// memLog writes files into a fresh MemFS directory "log".
func memLog(t *testing.T, files map[string][]byte) vfs.FS {
	t.Helper()
	fs := vfs.NewMem()
	if err := fs.MkdirAll("log", 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if err := writeFileSynced(fs, fs.PathJoin("log", name), data); err != nil {
			t.Fatal(err)
		}
	}
	return fs
}

// damagedOutcome opens a damaged log and reads everything. It fails the
// test if any delivered record differs from what was appended, and returns
// how many records were delivered and the Open or Read error.
func damagedOutcome(t *testing.T, fs vfs.FS, entries []Entry, what string) (int, error) {
	t.Helper()
	l, err := Open("log", &Options{FS: fs, SegmentSizeBytes: 400, Logger: quietLogger()})
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	n := 0
	_, err = l.Read(1, 0, 0, func(r *Record) error {
		e := entries[r.Seq-1]
		if r.Seq != uint64(n+1) || r.Timestamp != e.Timestamp || r.Flags != e.Flags ||
			string(r.Key) != string(e.Key) || string(r.Payload) != string(e.Payload) {
			t.Fatalf("%s: delivered a damaged record at seq %d", what, r.Seq)
		}
		n++
		return nil
	})
	return n, err
}

// sortedSegments returns segment file names in order.
func sortedSegments(files map[string][]byte) []string {
	var names []string
	for name := range files {
		if _, ok := parseSegmentName(name); ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// TestBitFlips flips one bit at every offset of every segment of a closed
// log. A flip in a sealed segment's frames must surface as ErrCorruption
// (a flip in its preallocated zero tail, which is never read, changes
// nothing). A flip in the active segment must be ErrCorruption, except in
// its last frame's length and key length fields (which can make the frame
// look torn: a torn-tail truncation) or in the zero tail after it (a
// truncation that loses nothing). No damaged record may ever be delivered.
func TestBitFlips(t *testing.T) {
	files, entries := corpusLog(t)
	names := sortedSegments(files)
	for si, name := range names {
		active := si == len(names)-1
		end := dataEnd(files[name])
		last := lastFrameStart(files[name])
		for off := range files[name] {
			lengthField := int64(off) >= last+8 && int64(off) < last+14
			if active && !lengthField && int64(off) < end {
				damaged := maps.Clone(files)
				damaged[name] = slices.Clone(files[name])
				damaged[name][off] ^= 1 << (off % 8)
				if _, err := damagedOutcome(t, memLog(t, damaged), entries, "active flip"); !errors.Is(err, ErrCorruption) {
					t.Fatalf("%s: flip at %d in written data: %v, want ErrCorruption", name, off, err)
				}
				continue
			}
			if !active && int64(off) >= end {
				damaged := maps.Clone(files)
				damaged[name] = slices.Clone(files[name])
				damaged[name][off] ^= 1 << (off % 8)
				if n, err := damagedOutcome(t, memLog(t, damaged), entries, "tail flip"); err != nil || n != len(entries) {
					t.Fatalf("%s: flip in the zero tail at %d: %d records, %v", name, off, n, err)
				}
				continue
			}
			damaged := maps.Clone(files)
			damaged[name] = slices.Clone(files[name])
			damaged[name][off] ^= 1 << (off % 8)
			what := name + " flip at " + strconv.Itoa(off)
			n, err := damagedOutcome(t, memLog(t, damaged), entries, what)
			switch {
			case err != nil && !errors.Is(err, ErrCorruption):
				t.Fatalf("%s: error %v does not wrap ErrCorruption", what, err)
			case err == nil && !active:
				t.Fatalf("%s: flip in a sealed segment not detected", what)
			case err == nil && n < len(entries)-1:
				t.Fatalf("%s: %d of %d records survive without a corruption error", what, n, len(entries))
			}
		}
	}
}

// TestTruncation truncates every segment of a closed log at every offset.
// A truncated active segment loses only the frames past the cut (a torn
// tail); a truncated sealed segment is corruption once a read reaches the
// cut. Every record before the cut is delivered intact.
func TestTruncation(t *testing.T) {
	files, entries := corpusLog(t)
	names := sortedSegments(files)
	for si, name := range names {
		active := si == len(names)-1
		firstSeq, _ := parseSegmentName(name)
		for size := range files[name] {
			damaged := maps.Clone(files)
			damaged[name] = files[name][:size]
			what := name + " cut at " + strconv.Itoa(size)
			n, err := damagedOutcome(t, memLog(t, damaged), entries, what)
			wantMin := int(firstSeq-1) + completeFrames(files[name][:size])
			switch {
			case !active && int64(size) >= dataEnd(files[name]):
				if err != nil || n != len(entries) {
					t.Fatalf("%s: cut in the zero tail: %d records, %v", what, n, err)
				}
			case size < segmentHeaderSize:
				if !errors.Is(err, ErrCorruption) {
					t.Fatalf("%s: cut header: %v, want ErrCorruption", what, err)
				}
			case active && (err != nil || n != wantMin):
				t.Fatalf("%s: %d records, %v; want the %d before the cut", what, n, err, wantMin)
			case !active && (!errors.Is(err, ErrCorruption) || n != wantMin):
				t.Fatalf("%s: %d records, %v; want %d then ErrCorruption", what, n, err, wantMin)
			}
		}
	}
}

// TestZeroedSectors zeroes each 512-byte sector of the active segment, as
// a lost write would. The result is a torn tail or corruption, never a
// damaged record.
func TestZeroedSectors(t *testing.T) {
	files, entries := corpusLog(t)
	names := sortedSegments(files)
	name := names[len(names)-1]
	for start := 0; start < len(files[name]); start += 512 {
		damaged := maps.Clone(files)
		damaged[name] = slices.Clone(files[name])
		clear(damaged[name][start:min(start+512, len(files[name]))])
		if _, err := damagedOutcome(t, memLog(t, damaged), entries, "zeroed sector "+strconv.Itoa(start)); err != nil && !errors.Is(err, ErrCorruption) {
			t.Fatalf("zeroed sector %d: %v", start, err)
		}
	}
}

// completeFrames counts the whole valid frames in a segment image.
func completeFrames(data []byte) int {
	if len(data) < segmentHeaderSize {
		return 0
	}
	h, err := parseSegmentHeader(data)
	if err != nil {
		return 0
	}
	res := scanBytes(data, h, 1<<20)
	return int(res.nextSeq - h.firstSeq)
}

// dataEnd returns the end of the valid frames of a segment image (the
// start of its zero tail, if preallocated).
func dataEnd(data []byte) int64 {
	h, err := parseSegmentHeader(data)
	if err != nil {
		return 0
	}
	return scanBytes(data, h, 1<<20).validEnd
}

// lastFrameStart returns the offset of the last valid frame of a segment
// image (the header size if it has none).
func lastFrameStart(data []byte) int64 {
	end := dataEnd(data)
	off := int64(segmentHeaderSize)
	var rec Record
	for off < end {
		n, _ := decodeFrame(data[off:], &rec)
		if off+int64(n) >= end {
			return off
		}
		off += int64(n)
	}
	return off
}
