package engine

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/sluice-dev/sluice/segment"
)

// TestOpenLogConcurrent checks that opens run outside the registry lock
// without losing the one-log-per-partition rule: many goroutines opening
// overlapping sets of new partitions concurrently get one *segment.Log per
// (entity, partition), every log works, and Close closes them all.
func TestOpenLogConcurrent(t *testing.T) {
	db, err := Open("data", &Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	const partitions, workers = 64, 8
	got := make([][]*segment.Log, workers)
	var wg sync.WaitGroup
	for w := range workers {
		got[w] = make([]*segment.Log, partitions)
		wg.Go(func() {
			for i := range partitions {
				p := (i*7 + w*13) % partitions // a different order per worker
				l, err := db.openLog(42, uint32(p))
				if err != nil {
					t.Errorf("openLog(42, %d): %v", p, err)
					return
				}
				got[w][p] = l
			}
		})
	}
	wg.Wait()
	for p := range partitions {
		for w := 1; w < workers; w++ {
			if got[w][p] != got[0][p] {
				t.Fatalf("partition %d opened twice: workers 0 and %d got different logs", p, w)
			}
		}
		if _, err := got[0][p].Append([]segment.Entry{{Payload: []byte("x")}}); err != nil {
			t.Fatalf("append to partition %d: %v", p, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for p := range partitions {
		if _, err := got[0][p].Append([]segment.Entry{{Payload: []byte("y")}}); !errors.Is(err, segment.ErrClosed) {
			t.Fatalf("partition %d after Close: append err %v, want segment.ErrClosed", p, err)
		}
	}
}

// TestOpenLogRacesClose checks opens racing with Close: each openLog
// returns a log or ErrClosed, and every log it returned is closed once
// Close returns (none is left open by an open that finished after Close
// began), with nothing left in the registry.
func TestOpenLogRacesClose(t *testing.T) {
	for round := range 20 {
		db, err := Open("data", &Options{FS: vfs.NewMem()})
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var opened []*segment.Log
		var wg sync.WaitGroup
		start := make(chan struct{})
		for w := range 8 {
			wg.Go(func() {
				<-start
				for p := range 16 {
					l, err := db.openLog(uint64(round+1), uint32(w*16+p))
					if errors.Is(err, ErrClosed) {
						return
					}
					if err != nil {
						t.Errorf("openLog: %v", err)
						return
					}
					mu.Lock()
					opened = append(opened, l)
					mu.Unlock()
				}
			})
		}
		close(start)
		if err := db.Close(); err != nil {
			t.Fatalf("round %d: Close: %v", round, err)
		}
		wg.Wait()
		db.logs.Lock()
		left := len(db.logs.open) + len(db.logs.opening)
		db.logs.Unlock()
		if left != 0 {
			t.Fatalf("round %d: %d logs still registered after Close", round, left)
		}
		for _, l := range opened {
			if _, err := l.Append([]segment.Entry{{Payload: []byte("z")}}); !errors.Is(err, segment.ErrClosed) {
				t.Fatalf("round %d: a log opened before Close accepts appends after it: %v", round, err)
			}
		}
	}
}

// TestLogIdleTimeout checks that Options.LogIdleTimeout reaches every log
// (its writer goroutine stops that long after the last write, and the log
// still takes writes afterwards) and that the default stays segment's.
func TestLogIdleTimeout(t *testing.T) {
	if got := (&Options{}).EnsureDefaults().segmentOptions().IdleTimeout; got != 30*time.Second {
		t.Fatalf("default log idle timeout %v, want 30s", got)
	}
	db, err := Open("data", &Options{FS: vfs.NewMem(), LogIdleTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}()
	l, err := db.openLog(7, 0)
	if err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		if _, err := l.Append([]segment.Entry{{Payload: []byte("x")}}); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		// Far beyond 20 ms, far below the 30 s default.
		deadline := time.Now().Add(10 * time.Second)
		for l.Stats().WriterRunning {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: writer still running 10 s after the last write", round)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}
