package engine

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

var traceBody = os.Getenv("QUEUE_MODEL_TRACE")

var queueModelSeed = flag.Uint64("queue-model-seed", 0, "run TestQueueModel with this seed only")

// modelMsg is the model's view of one acknowledged message.
type modelMsg struct {
	deleted     bool
	maybe       bool // deleted shortly before a crash: may come back
	deletedAt   time.Time
	inflightTil time.Time // zero: not known to be in flight
	receipt     []byte
}

// TestQueueModel runs seeded random operation streams (send, receive,
// delete, change visibility, time passing, clean restart, crash with 0/50/
// 100% of unsynced data kept) against a standard queue on a crashable
// in-memory FS and compares it with a tiny model:
//
//   - nothing is received that was not acknowledged as sent;
//   - a message deleted more than 2 sync intervals before a crash (or
//     deleted at all, without a crash) is never received again;
//   - a message in flight is not received again before its deadline, unless
//     a crash may have lost its receive;
//   - at the end, after all visibility expires, every acknowledged, not
//     deleted message is received (nothing is lost).
//
// The seed is printed on failure; rerun one with -queue-model-seed.
func TestQueueModel(t *testing.T) {
	seeds := []uint64{1, 2, 3, 4, 5, 6}
	if *queueModelSeed != 0 {
		seeds = []uint64{*queueModelSeed}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			bubble(t, func(t *testing.T) { runQueueModel(t, seed, 250) })
		})
	}
}

func runQueueModel(t *testing.T, seed uint64, ops int) {
	rng := rand.New(rand.NewPCG(seed, seed))
	fs := vfs.NewCrashableMem()
	open := func(fs vfs.FS) (*DB, *Queue) {
		db, err := Open("data", &Options{FS: fs, SegmentSizeBytes: 64 << 10})
		if err != nil {
			t.Fatalf("seed %d: Open: %v", seed, err)
		}
		q, err := db.Queue(testNS, "model")
		if err != nil {
			t.Fatalf("seed %d: Queue: %v", seed, err)
		}
		return db, q
	}
	db, err := Open("data", &Options{FS: fs, SegmentSizeBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateQueue(testNS, "model", DefaultQueueAttributes(false), nil); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, q := open(fs)
	defer func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	model := map[string]*modelMsg{}
	var order []string // bodies in send order (deterministic iteration)
	next := 0
	var lastCrash time.Time
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d: "+format, append([]any{seed}, args...)...)
	}
	check := func(m ReceivedMessage) *modelMsg {
		mm := model[string(m.Body)]
		switch {
		case mm == nil:
			fail("received %q, never sent", m.Body)
		case mm.deleted && !mm.maybe:
			fail("received %q, deleted at %s (last crash %s)", m.Body, mm.deletedAt, lastCrash)
		case !mm.inflightTil.IsZero() && time.Now().Before(mm.inflightTil):
			fail("received %q while in flight until %s", m.Body, mm.inflightTil)
		}
		return mm
	}
	ctx := context.Background()
	for op := 0; op < ops; op++ {
		switch k := rng.IntN(100); {
		case k < 30: // send
			n := 1 + rng.IntN(10)
			msgs := make([]SendMessage, n)
			for i := range msgs {
				msgs[i] = SendMessage{Body: []byte(fmt.Sprintf("m%d", next))}
				next++
			}
			if _, err := q.Send(ctx, msgs); err != nil {
				fail("Send: %v", err)
			}
			for _, m := range msgs {
				model[string(m.Body)] = &modelMsg{}
				order = append(order, string(m.Body))
			}
		case k < 55: // receive, maybe delete some
			vis := []time.Duration{0, time.Second, 5 * time.Second, 30 * time.Second}[rng.IntN(4)]
			wait := time.Duration(0)
			msgs, err := q.Receive(ctx, ReceiveOptions{Max: 1 + rng.IntN(10), Visibility: &vis, Wait: &wait})
			if err != nil {
				fail("Receive: %v", err)
			}
			for _, m := range msgs {
				mm := check(m)
				mm.deleted, mm.maybe, mm.receipt = false, false, m.Receipt
				mm.inflightTil = time.Now().Add(vis)
				if vis == 0 {
					mm.inflightTil = time.Time{}
				}
				if traceBody != "" && string(m.Body) == traceBody {
					r, _ := parseReceipt(m.Receipt)
					t.Logf("%s op %d: received %s gen %d seq %d vis %s", time.Now().Format("05.000"), op, m.Body, r.generation, r.seq, vis)
				}
				if rng.IntN(2) == 0 {
					if traceBody != "" && string(m.Body) == traceBody {
						t.Logf("%s op %d: delete %s", time.Now().Format("05.000"), op, m.Body)
					}
					if err := q.Delete([][]byte{m.Receipt})[0]; err != nil {
						fail("Delete: %v", err)
					}
					mm.deleted, mm.deletedAt, mm.inflightTil = true, time.Now(), time.Time{}
				}
			}
		case k < 65: // change visibility of some in-flight message
			for _, body := range order {
				mm := model[body]
				if mm.deleted || mm.receipt == nil || mm.inflightTil.IsZero() || !time.Now().Before(mm.inflightTil) {
					continue
				}
				d := []time.Duration{0, 2 * time.Second, 20 * time.Second}[rng.IntN(3)]
				if err := q.ChangeVisibility(mm.receipt, d); err != nil {
					fail("ChangeVisibility %s: %v", body, err)
				}
				mm.inflightTil = time.Now().Add(d)
				if d == 0 {
					mm.inflightTil = time.Time{}
				}
				break
			}
		case k < 90: // time passes
			time.Sleep(time.Duration(rng.IntN(3000)) * time.Millisecond)
		case k < 95: // clean restart
			if traceBody != "" {
				t.Logf("%s op %d: restart", time.Now().Format("05.000"), op)
			}
			if err := db.Close(); err != nil {
				fail("Close: %v", err)
			}
			db, q = open(fs)
		default: // crash
			if traceBody != "" {
				t.Logf("%s op %d: crash", time.Now().Format("05.000"), op)
			}
			keep := []int{0, 50, 100}[rng.IntN(3)]
			crashed := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: keep, RNG: rand.New(rand.NewPCG(seed, uint64(op)))})
			if err := db.Close(); err != nil {
				fail("Close after crash clone: %v", err)
			}
			fs = crashed
			db, q = open(fs)
			lastCrash = time.Now()
			for _, mm := range model {
				mm.inflightTil = time.Time{} // a crash may reset in-flight state
				if mm.deleted && !mm.deletedAt.Before(lastCrash.Add(-2*stateSyncInterval)) {
					mm.maybe = true // inside the at-least-once window
				}
			}
		}
	}
	// Drain: everything not deleted must come back.
	time.Sleep(time.Hour)
	got := map[string]bool{}
	for {
		vis, wait := time.Hour, time.Duration(0)
		msgs, err := q.Receive(ctx, ReceiveOptions{Max: 10, Visibility: &vis, Wait: &wait})
		if err != nil {
			fail("drain: %v", err)
		}
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			check(m)
			got[string(m.Body)] = true
		}
	}
	for body, mm := range model {
		if !mm.deleted && !got[body] {
			fail("message %s lost", body)
		}
	}
}
