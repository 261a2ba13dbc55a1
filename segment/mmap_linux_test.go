package segment

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// mappedResidentBytes sums the resident bytes (Rss in /proc/self/smaps)
// of this process's read-only mappings of files under dir.
func mappedResidentBytes(t *testing.T, dir string) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatalf("smaps: %v", err)
	}
	defer func() { _ = f.Close() }() // read-only
	var total int64
	inDir := false
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		switch {
		case len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":"):
			// A mapping header: address perms offset dev inode [path].
			// Readers map read-only and shared; the writer's mapping of
			// the active segment (rw-s) is not theirs to bound.
			inDir = len(fields) >= 6 && fields[1] == "r--s" && strings.HasPrefix(fields[5], dir+"/")
		case inDir && len(fields) == 3 && fields[0] == "Rss:":
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				t.Fatalf("smaps line %q: %v", s.Text(), err)
			}
			total += kb << 10
		}
	}
	if err := s.Err(); err != nil {
		t.Fatalf("smaps: %v", err)
	}
	return total
}

// mmapTestPattern is where mmapTestPayload takes its bytes from.
var mmapTestPattern = func() []byte {
	b := make([]byte, 2<<10)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}()

// mmapTestPayload is record seq's 1 KiB payload: seq, then a stretch of
// mmapTestPattern that depends on seq.
func mmapTestPayload(dst []byte, seq uint64) []byte {
	dst = binary.LittleEndian.AppendUint64(dst[:0], seq)
	off := int(seq % 1000)
	return append(dst, mmapTestPattern[off:off+1<<10-8]...)
}

// writeMmapTestLog writes records 1..n of mmapTestPayload to a log on
// the real filesystem with segments of segmentBytes.
func writeMmapTestLog(t *testing.T, dir string, n int, segmentBytes int64) *Log {
	t.Helper()
	l, err := Open(dir, &Options{FS: vfs.Default, SegmentSizeBytes: segmentBytes, Sync: SyncPolicy{Mode: SyncNever}})
	if err != nil {
		t.Fatal(err)
	}
	batch := make([]Entry, 0, 256)
	for seq := 1; seq <= n; {
		batch = batch[:0]
		for ; seq <= n && len(batch) < cap(batch); seq++ {
			batch = append(batch, Entry{Payload: mmapTestPayload(nil, uint64(seq))})
		}
		if _, err := l.Append(batch); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// TestReadDropsResidentPages reads a 16 MiB log of sealed, mmapped 4 MiB
// segments in several patterns: one Read of everything, small reads
// (128 KiB, like a queue's receives), large reads (3 MiB, like GetRecords),
// each with and without a reopen before (a reopen makes the first read of
// each segment build its index by a scan through the mapping). Goal:
// pages that readers touched through the mappings do not pile up in the
// process's resident set: after every Read, the mappings' Rss in
// /proc/self/smaps stays within dropResidentBytes plus the kernel's
// mapping granularity, where keeping them would reach the size of the
// data (16 MiB); the mappings themselves stay (no remapping per Read),
// and every record reads back intact.
func TestReadDropsResidentPages(t *testing.T) {
	const (
		records      = 16 << 10 // 1 KiB each
		segmentBytes = 4 << 20
		// slack covers what the kernel maps beyond the bytes a reader
		// touches: fault-around maps cached pages near a faulting
		// address, and with large folios in the page cache (Linux 6.x
		// file systems) a fault maps the whole folio, up to 2 MiB on
		// x86-64; one read of 1 KiB was seen to leave 512 KiB resident.
		slack = 2 << 20
	)
	for _, tc := range []struct {
		name     string
		maxBytes int
		reopen   bool
	}{
		{"one read", 0, false},
		{"128 KiB reads", 128 << 10, false},
		{"3 MiB reads", 3 << 20, false},
		{"one read after reopen", 0, true},
		{"128 KiB reads after reopen", 128 << 10, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l := writeMmapTestLog(t, dir, records, segmentBytes)
			if tc.reopen {
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
				var err error
				if l, err = Open(dir, &Options{FS: vfs.Default, SegmentSizeBytes: segmentBytes}); err != nil {
					t.Fatal(err)
				}
			}
			defer func() {
				if err := l.Close(); err != nil {
					t.Error(err)
				}
			}()
			var want []byte
			maxResident := int64(0)
			next := uint64(1)
			for next <= records {
				var err error
				next, err = l.Read(next, 0, tc.maxBytes, func(r *Record) error {
					want = mmapTestPayload(want, r.Seq)
					if !bytes.Equal(r.Payload, want) {
						return fmt.Errorf("record %d: payload differs", r.Seq)
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				maxResident = max(maxResident, mappedResidentBytes(t, dir))
			}
			st := l.Stats()
			if st.MappedSegments == 0 || st.PageDrops == 0 {
				t.Fatalf("stats %+v: want mapped segments and page drops", st)
			}
			if maxResident > dropResidentBytes+slack {
				t.Errorf("mapped segments had up to %d KiB resident after a Read, want <= %d KiB",
					maxResident>>10, (dropResidentBytes+slack)>>10)
			}
			t.Logf("max resident after a Read: %d KiB; %d page drops, %d segments mapped",
				maxResident>>10, st.PageDrops, st.MappedSegments)
		})
	}
}

// TestDropKeepsBorrowedSlices checks the lifetime rule under page drops.
// Goal: while a Read callback holds a record borrowed from a mapping,
// another reader of the same segment that reaches its end (and so drops
// the mapping's resident pages) leaves the borrowed slice valid with the
// same bytes, and the mapping still serves later reads.
func TestDropKeepsBorrowedSlices(t *testing.T) {
	dir := t.TempDir()
	l := writeMmapTestLog(t, dir, 4<<10, 1<<20) // 4 MiB: several sealed 1 MiB segments
	defer func() {
		if err := l.Close(); err != nil {
			t.Error(err)
		}
	}()
	readSegmentOf := func(from uint64) error {
		var want []byte
		_, err := l.Read(from, 1500, 0, func(r *Record) error {
			want = mmapTestPayload(want, r.Seq)
			if !bytes.Equal(r.Payload, want) {
				return fmt.Errorf("record %d: payload differs", r.Seq)
			}
			return nil
		})
		return err
	}
	for _, from := range []uint64{1, 100, 700} {
		var held []byte
		_, err := l.Read(from, 1, 0, func(r *Record) error {
			held = r.Payload // borrowed: valid until this callback returns
			before := l.Stats().PageDrops
			if err := readSegmentOf(1); err != nil { // walks past the end of the first segment
				return err
			}
			if l.Stats().PageDrops == before {
				return fmt.Errorf("reading a whole segment dropped no pages")
			}
			if want := mmapTestPayload(nil, r.Seq); !bytes.Equal(held, want) {
				return fmt.Errorf("record %d: borrowed payload changed after a page drop", r.Seq)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("from %d: %v", from, err)
		}
		if err := readSegmentOf(from); err != nil {
			t.Fatalf("reading again from %d: %v", from, err)
		}
	}
	if st := l.Stats(); st.MappedSegments == 0 {
		t.Fatalf("no segment mapped: %+v", st)
	}
}
