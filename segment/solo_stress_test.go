package segment

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestSoloStress hammers solo appends (Log.soloMu) and every path they
// meet on real files: 12 appenders of mostly small batches (solo) and some
// of 20–40 KiB (group commit), Sync calls, a tailing reader, segment rolls
// every 256 KiB (each new segment's unmapped head goes back to group
// commit), interval syncs every 2 ms, and Close racing the appenders —
// after the run, or at a random moment (early ones included).
//
// With IdleTimeout 1 ms and pauses of the appenders the writer goroutine
// exits and restarts often. That exit also wakes any goroutine waiting
// for the writer (writerSettled), as do syncs, rolls and Close, which
// would hide a lost wake-up; so the run also has IdleTimeout 1 minute,
// and alternates busy stretches with quiet ones (small appends only, no
// Sync calls, no pauses) that end only once every appender has made
// progress: a waiter nobody wakes then holds soloMu, every solo append
// stalls behind it, and the run hangs instead of getting by.
//
// It checks that nothing hangs (a watchdog fails the test with every
// goroutine's stack after 60 s), that an Append that starts after another
// returned gets later seqs, that an acknowledged batch reads back at once,
// that appenders racing Close get ErrClosed and Sync calls nil or
// ErrClosed, and that after a reopen the log holds exactly the
// acknowledged records, dense and intact.
func TestSoloStress(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("mapped writes are Linux-only, and solo appends need them")
	}
	for _, policy := range []string{"never", "interval=2ms"} {
		for _, idle := range []time.Duration{time.Millisecond, time.Minute} {
			for _, closeAt := range []string{"end", "random"} {
				name := fmt.Sprintf("%s/idle=%s/close-%s", policy, idle, closeAt)
				t.Run(name, func(t *testing.T) {
					testSoloStress(t, policy, idle, closeAt == "random")
				})
			}
		}
	}
}

func testSoloStress(t *testing.T, policy string, idle time.Duration, closeRandom bool) {
	sp, err := ParseSyncPolicy(policy)
	if err != nil {
		t.Fatal(err)
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	dir := t.TempDir()
	opts := &Options{FS: vfs.Default, Sync: sp, SegmentSizeBytes: 256 << 10,
		IdleTimeout: idle, Logger: quietLogger()}
	done := make(chan struct{})
	var res soloStressResult
	go func() {
		defer close(done)
		res = runSoloStress(dir, opts, closeRandom, seed)
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		buf := make([]byte, 8<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Fatalf("no progress after 60 s (a hang); goroutines:\n%s", buf)
	}
	for _, err := range res.errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	t.Logf("%d appends acknowledged (%d solo inline, %d batches), %d rolls, %d syncs, %d Sync calls, writer seen stopped %d times, %d refused by Close",
		res.appends, res.solo, res.stats.Batches, res.stats.Rolls, res.stats.Syncs, res.syncCalls, res.writerStops, res.refused)
	if !closeRandom && (res.solo == 0 || res.stats.Rolls == 0 || (idle < time.Second && res.writerStops == 0)) {
		t.Fatalf("the run missed a path: %d solo inline writes, %d rolls, writer seen stopped %d times",
			res.solo, res.stats.Rolls, res.writerStops)
	}

	l, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer func() {
		if err := l.Close(); err != nil {
			t.Error(err)
		}
	}()
	if got, want := l.NextSeq(), uint64(len(res.acked))+1; got != want {
		t.Errorf("reopened NextSeq %d, want %d (acknowledged records + 1)", got, want)
	}
	next := uint64(1)
	_, err = l.Read(1, 0, 0, func(r *Record) error {
		if r.Seq != next {
			return fmt.Errorf("seq %d, want %d", r.Seq, next)
		}
		id, ok := res.acked[r.Seq]
		if !ok {
			return fmt.Errorf("seq %d was never acknowledged", r.Seq)
		}
		if !bytes.Equal(r.Payload, stressPayload(id)) {
			return fmt.Errorf("seq %d: payload of %d bytes is not appender %d's batch %d entry %d (%d bytes)",
				r.Seq, len(r.Payload), id.appender, id.batch, id.entry, id.size)
		}
		next++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if int(next-1) != len(res.acked) {
		t.Fatalf("read back %d records, want %d acknowledged", next-1, len(res.acked))
	}
}

// stressID identifies a record of TestSoloStress; its payload derives
// from it (stressPayload), so any reader can check a record by itself.
type stressID struct {
	appender, batch, entry, size uint32
}

// stressPattern is where stressPayload takes its bytes after the id.
var stressPattern = func() []byte {
	b := make([]byte, 64<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}()

// stressPayload is the payload of record id: the id, then a stretch of
// stressPattern that depends on it.
func stressPayload(id stressID) []byte {
	b := make([]byte, id.size)
	binary.LittleEndian.PutUint32(b[0:], id.appender)
	binary.LittleEndian.PutUint32(b[4:], id.batch)
	binary.LittleEndian.PutUint32(b[8:], id.entry)
	binary.LittleEndian.PutUint32(b[12:], id.size)
	off := (id.appender*131 + id.batch*17 + id.entry*7) % (16 << 10)
	copy(b[16:], stressPattern[off:])
	return b
}

// checkStressPayload checks that p is some record's stressPayload.
func checkStressPayload(seq uint64, p []byte) error {
	if len(p) < 16 {
		return fmt.Errorf("seq %d: payload of %d bytes", seq, len(p))
	}
	id := stressID{binary.LittleEndian.Uint32(p[0:]), binary.LittleEndian.Uint32(p[4:]),
		binary.LittleEndian.Uint32(p[8:]), binary.LittleEndian.Uint32(p[12:])}
	if int(id.size) != len(p) || !bytes.Equal(p, stressPayload(id)) {
		return fmt.Errorf("seq %d: payload of %d bytes is damaged", seq, len(p))
	}
	return nil
}

// soloStressResult is what runSoloStress saw.
type soloStressResult struct {
	errs        []error
	acked       map[uint64]stressID
	appends     int
	refused     int // appends that got ErrClosed
	syncCalls   int
	solo        uint64
	stats       Stats
	writerStops int
}

// Phases of runSoloStress's appenders.
const (
	stressBusy  = iota // every size, Sync calls, pauses
	stressQuiet        // small appends only: solo unless the writer is busy
)

// runSoloStress is TestSoloStress's run on one log in dir. Unless
// closeRandom it alternates busy and quiet stretches (see TestSoloStress),
// then closes the log as the appenders go on; with closeRandom it closes
// it at a random moment of a busy run. It returns the acknowledged records
// by seq and whatever went wrong; it never calls t, so that the watchdog
// can fail the test while it hangs.
func runSoloStress(dir string, opts *Options, closeRandom bool, seed uint64) (res soloStressResult) {
	res.acked = map[uint64]stressID{}
	var mu sync.Mutex // guards res
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(res.errs) < 20 {
			res.errs = append(res.errs, fmt.Errorf(format, args...))
		}
	}
	l, err := Open(dir, opts)
	if err != nil {
		fail("open: %v", err)
		return res
	}

	const appenders = 12
	var (
		closing atomic.Bool // Close was called (or is about to be)
		stop    = make(chan struct{})
		phase   atomic.Int32
		acks    [appenders]atomic.Int64 // acknowledged appends per appender
		maxAck  atomic.Uint64           // highest seq acknowledged so far
		gate    sync.RWMutex            // write-locked during pauses: appenders wait, the writer idles out
		wg      sync.WaitGroup
	)
	// noteAck raises maxAck to end.
	noteAck := func(end uint64) {
		for {
			cur := maxAck.Load()
			if end <= cur || maxAck.CompareAndSwap(cur, end) {
				return
			}
		}
	}
	refusal := func(what string, err error) {
		if !errors.Is(err, ErrClosed) {
			fail("%s: %v", what, err)
		} else if !closing.Load() {
			fail("%s: ErrClosed before Close", what)
		}
	}

	for a := range appenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(a)))
			for batch := uint32(0); ; batch++ {
				busy := phase.Load() == stressBusy
				if busy {
					// Wait out a pause, if one is on: the lock is the gate.
					gate.RLock()
					//lint:ignore SA2001 the empty section waits for gate.Unlock
					gate.RUnlock()
				}
				n := 1 + rng.IntN(3)
				big := busy && rng.IntN(10) == 0 // 20–40 KiB: past soloMaxBytes
				if big {
					n = 1
				}
				ids := make([]stressID, n)
				entries := make([]Entry, n)
				for j := range entries {
					size := 100 + rng.IntN(2048-100)
					if big {
						size = 20<<10 + rng.IntN(20<<10)
					}
					ids[j] = stressID{uint32(a), batch, uint32(j), uint32(size)}
					entries[j] = Entry{Timestamp: time.Now().UnixNano(), Payload: stressPayload(ids[j])}
				}
				floor := maxAck.Load()
				seq, err := l.Append(entries)
				if err != nil {
					refusal(fmt.Sprintf("appender %d: Append", a), err)
					mu.Lock()
					res.refused++
					mu.Unlock()
					return
				}
				if seq <= floor {
					fail("appender %d: Append got seq %d, but seq %d was acknowledged before it began", a, seq, floor)
				}
				noteAck(seq + uint64(n) - 1)
				mu.Lock()
				res.appends++
				for j, id := range ids {
					if old, dup := res.acked[seq+uint64(j)]; dup {
						fail("seq %d acknowledged twice: %+v and %+v", seq+uint64(j), old, id)
					}
					res.acked[seq+uint64(j)] = id
				}
				mu.Unlock()
				acks[a].Add(1)
				switch rng.IntN(128) {
				case 0, 1, 2, 3, 4, 5, 6, 7: // read your writes
					got := 0
					_, err := l.Read(seq, n, 0, func(r *Record) error {
						if r.Seq != seq+uint64(got) || !bytes.Equal(r.Payload, entries[got].Payload) {
							return fmt.Errorf("read-your-writes: seq %d (record %d of the batch at %d) differs", r.Seq, got, seq)
						}
						got++
						return nil
					})
					if err != nil {
						refusal(fmt.Sprintf("appender %d: Read", a), err)
					} else if got != n {
						fail("appender %d: read %d of its %d records at %d right after Append", a, got, n, seq)
					}
				case 8:
					if !busy {
						break
					}
					if err := l.Sync(); err != nil {
						refusal(fmt.Sprintf("appender %d: Sync", a), err)
					}
					mu.Lock()
					res.syncCalls++
					mu.Unlock()
				case 9, 10, 11, 12:
					runtime.Gosched()
				}
			}
		}()
	}

	// Sync calls at random moments of busy stretches, through pauses too.
	wg.Add(1)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(seed, 100))
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(2000+rng.IntN(10000)) * time.Microsecond):
			}
			if phase.Load() != stressBusy {
				continue
			}
			gate.RLock()
			err := l.Sync()
			gate.RUnlock()
			if err != nil {
				refusal("Sync", err)
				return
			}
			mu.Lock()
			res.syncCalls++
			mu.Unlock()
		}
	}()

	// A reader tailing the log: every committed record in order, intact.
	wg.Add(1)
	go func() {
		defer wg.Done()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		next := uint64(1)
		for {
			n, err := l.Read(next, 0, 1<<20, func(r *Record) error {
				if r.Seq != next {
					return fmt.Errorf("reader: seq %d, want %d", r.Seq, next)
				}
				if err := checkStressPayload(r.Seq, r.Payload); err != nil {
					return fmt.Errorf("reader: %w", err)
				}
				next++
				return nil
			})
			if err != nil {
				if !errors.Is(err, ErrClosed) {
					fail("%v", err)
				}
				return
			}
			if n != next {
				fail("reader: Read returned next %d after delivering up to %d", n, next-1)
				return
			}
			if err := l.Wait(ctx, next); err != nil {
				if !errors.Is(err, ErrClosed) {
					fail("reader: Wait: %v", err)
				}
				return
			}
		}
	}()

	// Pauses in busy stretches: every ~30 ms hold the appenders for 3 ms,
	// long enough for the writer goroutine to idle out (IdleTimeout 1 ms)
	// and exit, so that the next appends start it again all at once.
	var writerStops atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(30 * time.Millisecond):
			}
			if phase.Load() != stressBusy {
				continue
			}
			gate.Lock()
			time.Sleep(3 * time.Millisecond)
			if !l.Stats().WriterRunning {
				writerStops.Add(1)
			}
			gate.Unlock()
		}
	}()

	rng := rand.New(rand.NewPCG(seed, 200))
	if closeRandom {
		time.Sleep(time.Duration(rng.IntN(300_000)) * time.Microsecond)
	} else {
		// Busy and quiet stretches; a quiet one ends once every appender
		// has acknowledged quietAppends appends in it (no timeout: the
		// watchdog reports a hang).
		const quietAppends = 10
		for cycle := 0; ; cycle++ {
			time.Sleep(time.Duration(20+rng.IntN(60)) * time.Millisecond)
			phase.Store(stressQuiet)
			var from [appenders]int64
			for a := range from {
				from[a] = acks[a].Load()
			}
			for a := 0; a < appenders; {
				if acks[a].Load() >= from[a]+quietAppends {
					a++
					continue
				}
				time.Sleep(200 * time.Microsecond)
			}
			phase.Store(stressBusy)
			// At least 5 cycles, then until the run has been through
			// every path (bounded: the caller reports a missed path).
			l.mu.Lock()
			solo, rolls := l.mu.soloWrites, l.mu.stats.Rolls
			l.mu.Unlock()
			covered := solo > 0 && rolls > 0 && (opts.IdleTimeout >= time.Second || writerStops.Load() > 0)
			if cycle >= 4 && covered || cycle >= 200 {
				break
			}
		}
		time.Sleep(time.Duration(rng.IntN(5000)) * time.Microsecond)
	}
	closing.Store(true)
	if err := l.Close(); err != nil {
		fail("Close: %v", err)
	}
	close(stop)
	wg.Wait()
	res.stats = l.Stats()
	res.writerStops = int(writerStops.Load())
	l.mu.Lock()
	res.solo = l.mu.soloWrites
	l.mu.Unlock()
	if _, err := l.Append([]Entry{{Payload: []byte("late")}}); !errors.Is(err, ErrClosed) {
		fail("Append after Close: %v, want ErrClosed", err)
	}
	if err := l.Sync(); !errors.Is(err, ErrClosed) {
		fail("Sync after Close: %v, want ErrClosed", err)
	}
	if got, want := res.stats.NextSeq, maxAck.Load()+1; got != want {
		fail("NextSeq %d after Close, want %d (highest acknowledged + 1)", got, want)
	}
	return res
}
