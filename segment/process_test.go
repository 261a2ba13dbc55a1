package segment

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// childEnv switches the test binary into the appending child of
// TestKillDuringAppend.
const childEnv = "SEGMENT_TEST_CHILD_DIR"

// childSyncEnv is the child's sync policy (ParseSyncPolicy syntax).
const childSyncEnv = "SEGMENT_TEST_CHILD_SYNC"

// TestMain runs the child process when asked, and checks for leaked
// goroutines after the tests.
func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		os.Exit(runAppendChild(dir))
	}
	code := m.Run()
	if code == 0 && leakedWriters() {
		fmt.Fprintln(os.Stderr, "segment: writer goroutines leaked after all logs were closed")
		code = 1
	}
	os.Exit(code)
}

// leakedWriters reports writer goroutines still alive. Every test closes
// its logs, and Close waits for the writer, so none may remain.
func leakedWriters() bool {
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	return strings.Contains(string(buf[:n]), "segment.(*Log).runWriter")
}

// runAppendChild appends from 4 goroutines forever on real files and
// prints "seq count" for each acknowledged Append.
func runAppendChild(dir string) int {
	policy, err := ParseSyncPolicy(os.Getenv(childSyncEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	l, err := Open(dir, &Options{SegmentSizeBytes: 64 << 10, Sync: policy})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out := make(chan string, 64)
	for w := 0; w < 4; w++ {
		go func() {
			for i := 0; ; i++ {
				entries := []Entry{childEntry(w, i, 0), childEntry(w, i, 1)}
				seq, err := l.Append(entries)
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				out <- fmt.Sprintf("%d %d", seq, len(entries))
			}
		}()
	}
	w := bufio.NewWriter(os.Stdout)
	for line := range out {
		fmt.Fprintln(w, line)
		if err := w.Flush(); err != nil {
			return 1
		}
	}
	return 0
}

// childEntry is the deterministic j-th entry of append i of writer w.
func childEntry(w, i, j int) Entry {
	key := fmt.Sprintf("%d/%d/%d", w, i, j)
	return Entry{Timestamp: int64(i), Key: []byte(key), Payload: []byte(strings.Repeat(key, 1+(i+j)%40))}
}

// TestKillDuringAppend re-executes the test binary as a child that appends
// on real files and prints each acknowledged seq; the parent SIGKILLs it
// mid-stream, reopens the log, and checks that every acknowledged record is
// there, intact, with dense sequence numbers. Under every sync policy: a
// process crash loses nothing acknowledged even without fsync, as the data
// is in the page cache (written, or copied into the shared write mapping).
func TestKillDuringAppend(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process; skipped in -short mode")
	}
	for _, policy := range []string{"always", "never", "interval=20ms"} {
		t.Run(policy, func(t *testing.T) { killDuringAppend(t, policy) })
	}
}

func killDuringAppend(t *testing.T, policy string) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir, childSyncEnv+"="+policy)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[uint64]bool{}
	scanner := bufio.NewScanner(stdout)
	for scanner.Scan() && len(acked) < 3000 {
		var seq uint64
		var n int
		if _, err := fmt.Sscanf(scanner.Text(), "%d %d", &seq, &n); err != nil {
			t.Fatalf("child output %q: %v", scanner.Text(), err)
		}
		for i := 0; i < n; i++ {
			acked[seq+uint64(i)] = true
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait() // killed: the exit status is the signal
	l, err := Open(dir, &Options{FS: vfs.Default, SegmentSizeBytes: 64 << 10})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer func() { _ = l.Close() }()
	want := uint64(1)
	_, err = l.Read(1, 0, 0, func(r *Record) error {
		if r.Seq != want {
			return fmt.Errorf("gap at %d (got %d)", want, r.Seq)
		}
		want++
		var w, i, j int
		if _, err := fmt.Sscanf(string(r.Key), "%d/%d/%d", &w, &i, &j); err != nil {
			return err
		}
		if e := childEntry(w, i, j); string(e.Payload) != string(r.Payload) {
			return fmt.Errorf("seq %d: payload differs", r.Seq)
		}
		delete(acked, r.Seq)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(acked) > 0 {
		t.Fatalf("%d acknowledged records missing after kill, e.g. %v", len(acked), firstKey(acked))
	}
	t.Logf("recovered %d records", want-1)
}

func firstKey(m map[uint64]bool) string {
	for k := range m {
		return strconv.FormatUint(k, 10)
	}
	return ""
}
