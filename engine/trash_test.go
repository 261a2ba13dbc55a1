package engine

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/sluice-dev/sluice/segment"
)

// waitTrashEmpty polls until db's trash directory is empty.
func waitTrashEmpty(t *testing.T, fs vfs.FS, db *DB) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		names, err := fs.List(db.trash.dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(names) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("trash still holds %v after 20 s", names)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTrashShrinksAndRemoves checks paced deletion on the OS filesystem: a
// log directory moved to the trash is gone from logs/ at once, and its
// files — one larger than a chunk, so shrunk in steps first — and
// directories are removed by the deleter.
func TestTrashShrinksAndRemoves(t *testing.T) {
	fs := vfs.Default
	dir := t.TempDir()
	db, err := Open(dir, &Options{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}()
	part := db.partitionDir(logID{entity: 99, partition: 0})
	if err := fs.MkdirAll(part, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, size := range map[string]int64{"big.seg": 2*trashChunkBytes + 12345, "small.seg": 4096} {
		f, err := fs.Create(fs.PathJoin(part, name), vfs.WriteCategoryUnspecified)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt(make([]byte, size), 0); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// Shrinking alone leaves less than one chunk of the big file.
	big := fs.PathJoin(part, "big.seg")
	if stopped, err := db.shrinkSlowly(big, 2*trashChunkBytes+12345); stopped || err != nil {
		t.Fatalf("shrinkSlowly: stopped %v, %v", stopped, err)
	}
	if info, err := fs.Stat(big); err != nil || info.Size() != 12345 {
		t.Fatalf("after shrinkSlowly: %v, %v; want 12345 bytes", info, err)
	}
	if err := db.moveToTrash(db.entityLogsDir(99)); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Stat(db.entityLogsDir(99)); err == nil {
		t.Fatal("the log directory is still under logs/ after moveToTrash")
	}
	waitTrashEmpty(t, fs, db)
	// Moving what does not exist (a resource that never wrote) is no error.
	if err := db.moveToTrash(db.entityLogsDir(98)); err != nil {
		t.Fatal(err)
	}
}

// TestTrashAcrossRestart checks that deleting a queue moves its logs to
// the trash durably (a crash right after keeps them out of logs/), that
// Open empties a trash a crash left behind, and that new entries are
// named above the old ones.
func TestTrashAcrossRestart(t *testing.T) {
	mem := vfs.NewCrashableMem()
	db, err := Open("data", &Options{FS: mem})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateQueue(testNS, "q", QueueAttributes{}, nil); err != nil {
		t.Fatal(err)
	}
	q, err := db.Queue(testNS, "q")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Send(context.Background(), []SendMessage{{Body: []byte("hello")}}); err != nil {
		t.Fatal(err)
	}
	logs := db.entityLogsDir(q.entity)
	// Keep the deleter from running, so that the crash finds the trash full.
	db.stopTrash()
	if err := db.DeleteQueue(testNS, "q"); err != nil {
		t.Fatal(err)
	}
	crashed := mem.CrashClone(vfs.CrashCloneCfg{})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := crashed.Stat(logs); err == nil {
		t.Fatal("a crash after DeleteQueue brought the queue's logs back into logs/")
	}
	names, err := crashed.List("data/" + trashDirName)
	if err != nil || len(names) != 1 {
		t.Fatalf("trash after the crash: %v, %v; want one entry", names, err)
	}
	old, _ := strconv.ParseUint(names[0], 10, 64)

	db, err = Open("data", &Options{FS: crashed})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}()
	if next := db.trash.next.Load(); next <= old {
		t.Fatalf("next trash entry %d, want above the leftover %d", next, old)
	}
	waitTrashEmpty(t, crashed, db)
}

// TestRetentionGoesThroughTrash checks that segments a log's retention
// drops are moved to the trash (and deleted from there), not removed at
// once.
func TestRetentionGoesThroughTrash(t *testing.T) {
	mem := vfs.NewMem()
	db, err := Open("data", &Options{FS: mem, SegmentSizeBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}()
	db.stopTrash() // observe the trash before anything deletes from it
	l, err := db.openLog(5, 0)
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if _, err := l.Append([]segment.Entry{{Payload: make([]byte, 200)}}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := l.DeleteBefore(90)
	if err != nil || n == 0 {
		t.Fatalf("DeleteBefore(90) = %d, %v", n, err)
	}
	names, err := mem.List(db.trash.dir)
	if err != nil || len(names) == 0 {
		t.Fatalf("trash after retention: %v, %v; want the dropped segments", names, err)
	}
	// The deleter of the next Open empties it.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open("data", &Options{FS: mem, SegmentSizeBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	waitTrashEmpty(t, mem, db)
}
