package engine

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/sluice-dev/sluice/index"
	"github.com/sluice-dev/sluice/segment"
)

const lockHelperEnv = "SLUICE_ENGINE_LOCK_HELPER_DIR"

// TestEngineLockHelperProcess is not a test on its own: TestEngineLockChildProcess
// re-executes the test binary to run it in a child process, which opens the
// directory named by the environment, reports "locked" and holds the lock
// until its stdin closes.
func TestEngineLockHelperProcess(t *testing.T) {
	dir := os.Getenv(lockHelperEnv)
	if dir == "" {
		t.Skip("helper process for TestEngineLockChildProcess; runs only when re-executed by it")
	}
	db, err := Open(dir, &Options{})
	if err != nil {
		fmt.Println("open failed:", err)
		os.Exit(2)
	}
	fmt.Println("locked")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // block until the parent closes stdin
	if err := db.Close(); err != nil {
		fmt.Println("close failed:", err)
		os.Exit(3)
	}
	os.Exit(0)
}

// TestEngineLockChildProcess checks the lock across processes: while a
// child process holds the data directory, Open here fails with ErrLocked
// naming the directory; after the child exits, Open succeeds.
func TestEngineLockChildProcess(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestEngineLockHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), lockHelperEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "locked" {
		_ = stdin.Close()
		_ = cmd.Wait()
		t.Fatalf("child did not lock: %q %v", line, err)
	}

	_, err = Open(dir, &Options{})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), dir) {
		t.Errorf("Open while child holds the lock: got %v, want ErrLocked naming %s", err, dir)
	}

	if err := stdin.Close(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	db, err := Open(dir, &Options{})
	if err != nil {
		t.Fatalf("Open after child exit: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// appendOne appends one record with payload p to l and returns its seq.
func appendOne(t *testing.T, l *segment.Log, p string) uint64 {
	t.Helper()
	seq, err := l.Append([]segment.Entry{{Timestamp: 1, Payload: []byte(p)}})
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return seq
}

// readAll returns the payloads of every record in l.
func readAll(t *testing.T, l *segment.Log) []string {
	t.Helper()
	var out []string
	if _, err := l.Read(0, 0, 0, func(r *segment.Record) error {
		out = append(out, string(r.Payload))
		return nil
	}); err != nil {
		t.Fatalf("Read: %v", err)
	}
	return out
}

// TestEngineLogsSurviveReopen checks the log registry: logs are per
// (entity, partition), shared between openLog calls, closed by Close and
// recovered with their records on the next Open.
func TestEngineLogsSurviveReopen(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs)
	rec := mustCreate(t, db, kindStream, nsUS, "s", "")
	for p := range uint32(3) {
		l, err := db.openLog(rec.EntityID, p)
		if err != nil {
			t.Fatal(err)
		}
		appendOne(t, l, fmt.Sprintf("p%d", p))
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openMem(t, fs)
	defer db.Close()
	for p := range uint32(3) {
		l, err := db.openLog(rec.EntityID, p)
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, l); len(got) != 1 || got[0] != fmt.Sprintf("p%d", p) {
			t.Fatalf("partition %d after reopen: %q", p, got)
		}
	}
}

// fakeKind is a kindRegistry that counts closeAll calls.
type fakeKind struct{ closes atomic.Int32 }

func (k *fakeKind) closeAll() error {
	k.closes.Add(1)
	return nil
}

// TestEngineReset checks that Reset closes every kind's resources, deletes
// every catalog record, index key and log, and leaves a usable DB whose new
// resources start empty.
func TestEngineReset(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs)
	defer db.Close()
	kind := &fakeKind{}
	if got := db.registry(kindQueue, func() kindRegistry { return kind }); got != kind {
		t.Fatalf("registry returned another value")
	}
	if got := db.registry(kindQueue, func() kindRegistry { return &fakeKind{} }); got != kind {
		t.Fatalf("registry created a second value for the same kind")
	}
	var ids []uint64
	for i, ns := range []Namespace{nsUS, nsEU} {
		rec := mustCreate(t, db, kindQueue, ns, "q", "v")
		ids = append(ids, rec.EntityID)
		l, err := db.openLog(rec.EntityID, 0)
		if err != nil {
			t.Fatal(err)
		}
		appendOne(t, l, fmt.Sprint(i))
		if err := db.index.Set(index.CursorKey(nil, rec.EntityID, "c"), nil, true); err != nil {
			t.Fatal(err)
		}
	}

	if err := db.Reset(context.Background()); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if kind.closes.Load() != 1 {
		t.Fatalf("closeAll called %d times, want 1", kind.closes.Load())
	}
	for _, ns := range []Namespace{nsUS, nsEU} {
		if recs, err := db.catalogList(kindQueue, ns, "", "", 0); err != nil || len(recs) != 0 {
			t.Fatalf("catalog after Reset: %d records, %v", len(recs), err)
		}
	}
	for _, id := range ids {
		if _, ok, _ := db.index.Get(index.CursorKey(nil, id, "c")); ok {
			t.Fatalf("index key of entity %d survived Reset", id)
		}
	}
	if names, err := fs.List(db.logsDir); err != nil || len(names) != 0 {
		t.Fatalf("logs after Reset: %q %v", names, err)
	}

	if err := db.enter(); err != nil {
		t.Fatalf("enter after Reset: %v", err)
	}
	db.exit()
	rec := mustCreate(t, db, kindQueue, nsUS, "q", "v")
	l, err := db.openLog(rec.EntityID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, l); len(got) != 0 {
		t.Fatalf("recreated queue sees old data: %q", got)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if kind.closes.Load() != 2 {
		t.Fatalf("closeAll called %d times after Close, want 2", kind.closes.Load())
	}
}

// TestEngineCloseWaitsForOperations checks the operation gate: Close wakes
// long waits through done(), refuses new operations with ErrClosed at once,
// and returns only after the operations in flight exit.
func TestEngineCloseWaitsForOperations(t *testing.T) {
	db := openMem(t, vfs.NewMem())
	if err := db.enter(); err != nil {
		t.Fatal(err)
	}
	done := db.done()
	closed := make(chan error, 1)
	go func() { closed <- db.Close() }()
	<-done // Close started: long waits are woken
	if err := db.enter(); !errors.Is(err, ErrClosed) {
		t.Fatalf("enter during Close: got %v, want ErrClosed", err)
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while an operation was in flight", err)
	default:
	}
	db.exit()
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := db.openLog(1, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("openLog after Close: got %v, want ErrClosed", err)
	}
}

// TestEngineResetWaitsForOperations checks that Reset wakes waiters through
// done(), waits for the operation in flight, and that an operation entering
// during Reset proceeds after it with a fresh done channel.
func TestEngineResetWaitsForOperations(t *testing.T) {
	db := openMem(t, vfs.NewMem())
	defer db.Close()
	if err := db.enter(); err != nil {
		t.Fatal(err)
	}
	done := db.done()
	reset := make(chan error, 1)
	go func() { reset <- db.Reset(context.Background()) }()
	<-done
	entered := make(chan error, 1)
	go func() { entered <- db.enter() }()
	select {
	case err := <-reset:
		t.Fatalf("Reset returned (%v) while an operation was in flight", err)
	default:
	}
	db.exit()
	if err := <-reset; err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if err := <-entered; err != nil {
		t.Fatalf("enter after Reset: %v", err)
	}
	select {
	case <-db.done():
		t.Fatalf("done channel still closed after Reset")
	default:
	}
	db.exit()
}

// TestEngineRemovesOrphanLogs checks recovery from a crash between a
// catalog delete and the removal of the logs: Open deletes log directories
// whose entity has no catalog record, keeps live ones, and raises the entity
// counter above any directory it saw.
func TestEngineRemovesOrphanLogs(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs)
	live := mustCreate(t, db, kindQueue, nsUS, "live", "")
	gone := mustCreate(t, db, kindQueue, nsUS, "gone", "")
	for _, rec := range []catalogRecord{live, gone} {
		l, err := db.openLog(rec.EntityID, 0)
		if err != nil {
			t.Fatal(err)
		}
		appendOne(t, l, "x")
	}
	// Simulate the crash: the catalog delete committed, log removal did not.
	b := db.index.NewBatch()
	b.Delete(catalogKey(kindQueue, nsUS, "gone"))
	b.DeletePrefix(index.EntityPrefix(nil, gone.EntityID))
	if err := b.Commit(true); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if err := fs.MkdirAll(db.entityLogsDir(1000), 0o755); err != nil { // stray, from "the future"
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openMem(t, fs)
	defer db.Close()
	if _, err := fs.Stat(db.entityLogsDir(gone.EntityID)); err == nil {
		t.Fatalf("orphaned logs of entity %d not removed", gone.EntityID)
	}
	if _, err := fs.Stat(db.entityLogsDir(live.EntityID)); err != nil {
		t.Fatalf("live logs removed: %v", err)
	}
	if next := mustCreate(t, db, kindQueue, nsUS, "next", ""); next.EntityID <= 1000 {
		t.Fatalf("entity id %d not above orphan directory 1000", next.EntityID)
	}
}

// TestOptionsValidate checks defaults and that invalid log settings are
// refused by Open.
func TestOptionsValidate(t *testing.T) {
	o := (&Options{}).EnsureDefaults()
	if err := o.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	if o.SegmentSizeBytes != defaultSegmentSizeBytes || o.Sync.Mode != segment.SyncAlways {
		t.Fatalf("defaults: %+v", o)
	}
	for _, bad := range []Options{
		{SegmentSizeBytes: 2 << 30},
		{SegmentSizeBytes: -1},
		{Sync: segment.SyncPolicy{Mode: 9}},
		{Sync: segment.SyncPolicy{Mode: segment.SyncInterval, Interval: -1}},
	} {
		bad.FS = vfs.NewMem()
		if _, err := Open("data", &bad); err == nil {
			t.Errorf("Open accepted %+v", bad)
		}
	}
}
