package segment

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// workloadEntry deterministically builds the j-th entry of the i-th append
// of writer w in a round, so that any record read back can be checked
// against what was (maybe) appended, acknowledged or not.
func workloadEntry(seed uint64, w, i, j int) Entry {
	key := fmt.Sprintf("%d/%d/%d", w, i, j)
	rng := rand.New(rand.NewPCG(seed, uint64(w<<32|i<<8|j)))
	payload := make([]byte, rng.IntN(300))
	for k := range payload {
		payload[k] = byte(rng.Uint32())
	}
	return Entry{Timestamp: int64(rng.IntN(1000)), Flags: uint16(w), Key: []byte(key), Payload: payload}
}

// checkWorkloadRecord verifies that r is intact: it must be exactly the
// entry its key names (its timestamp at least the entry's, being clamped).
func checkWorkloadRecord(seed uint64, r *Record) error {
	var w, i, j int
	if _, err := fmt.Sscanf(string(r.Key), "%d/%d/%d", &w, &i, &j); err != nil {
		return fmt.Errorf("seq %d: unknown key %q", r.Seq, r.Key)
	}
	e := workloadEntry(seed, w, i, j)
	if r.Flags != e.Flags || !bytes.Equal(r.Payload, e.Payload) || r.Timestamp < e.Timestamp {
		return fmt.Errorf("seq %d: record %q differs from what was appended", r.Seq, r.Key)
	}
	return nil
}

// crashRound is one randomized crash-consistency round: concurrent
// appenders on a crashable MemFS, a crash clone taken after a random
// number of acknowledgements (or after a clean Close), then reopen and
// verify. Sessions chain, so later rounds recover logs that were already
// recovered before.
//
// Under SyncAlways every acknowledged record must survive. Under
// SyncInterval and SyncNever an acknowledged record may be lost unless a
// Sync that its appender called afterwards returned, or the log was
// closed; whatever survives must be intact, dense from 1 and at the Seq
// it was acknowledged with.
type crashRound struct {
	seed       uint64
	unsyncedPc int
	rng        *rand.Rand
	opts       Options
	acked      map[string]uint64 // key → seq of acknowledged records
	ackedBySeq map[uint64]string
	durable    map[string]uint64 // acknowledged records that must survive
	maxDurable uint64
}

func (c *crashRound) run(fs *vfs.MemFS, sessions int) error {
	for s := 0; s < sessions; s++ {
		c.opts.FS = fs
		l, err := Open("log", &c.opts)
		if err != nil {
			return fmt.Errorf("session %d: open: %w", s, err)
		}
		if err := c.verify(l); err != nil {
			return errors.Join(fmt.Errorf("session %d: %w", s, err), l.Close())
		}
		fs = c.workloadAndCrash(l, fs, s)
	}
	return nil
}

// crashAck is an acknowledged Append (keys from seq on), or, with synced
// set, the Appends a goroutine had acknowledged before a Sync returned.
type crashAck struct {
	keys   []string
	seq    uint64
	synced []crashAck
}

// workloadAndCrash runs concurrent appenders (which call Sync now and
// then) and returns the crash clone: taken mid-stream, or after Close.
func (c *crashRound) workloadAndCrash(l *Log, fs *vfs.MemFS, session int) *vfs.MemFS {
	writers := 1 + c.rng.IntN(4)
	appends := 1 + c.rng.IntN(6)
	crashAfter := c.rng.IntN(writers*appends + 1)
	closeFirst := c.rng.IntN(4) == 0
	syncEvery := 1 + c.rng.IntN(4)
	acks := make(chan crashAck)
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []crashAck
			for i := 0; i < appends; i++ {
				entries := make([]Entry, 1+(w+i)%3)
				keys := make([]string, len(entries))
				for j := range entries {
					entries[j] = workloadEntry(c.seed, session*10+w, i, j)
					keys[j] = string(entries[j].Key)
				}
				seq, err := l.Append(entries)
				if err != nil {
					return // only after the log was closed
				}
				a := crashAck{keys: keys, seq: seq}
				mine = append(mine, a)
				acks <- a
				if (i+w)%syncEvery == 0 {
					if l.Sync() != nil {
						return
					}
					acks <- crashAck{synced: slices.Clone(mine)}
				}
			}
		}()
	}
	go func() { wg.Wait(); close(acks) }()
	n := 0
	var clone *vfs.MemFS
	for a := range acks {
		if !closeFirst && clone == nil && n == crashAfter {
			clone = c.crash(fs)
		}
		if clone == nil {
			c.record(a)
		}
		if a.synced == nil {
			n++
		}
	}
	closeErr := l.Close() // after a crash clone, this only stops goroutines
	if clone == nil {
		if closeErr != nil {
			panic(closeErr) // MemFS does not fail
		}
		for k, seq := range c.acked {
			c.markDurable(k, seq) // Close syncs everything acknowledged
		}
		clone = c.crash(fs)
	}
	return clone
}

// record notes an acknowledgement received before the crash.
func (c *crashRound) record(a crashAck) {
	for _, s := range a.synced {
		for j, k := range s.keys {
			c.markDurable(k, s.seq+uint64(j))
		}
	}
	for j, k := range a.keys {
		seq := a.seq + uint64(j)
		c.acked[k] = seq
		c.ackedBySeq[seq] = k
		if c.opts.Sync.Mode == SyncAlways {
			c.markDurable(k, seq)
		}
	}
}

func (c *crashRound) markDurable(k string, seq uint64) {
	c.durable[k] = seq
	c.maxDurable = max(c.maxDurable, seq)
}

func (c *crashRound) crash(fs *vfs.MemFS) *vfs.MemFS {
	return fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: c.unsyncedPc, RNG: c.rng})
}

// verify checks the reopened log: dense sequence numbers from 1, every
// durable record intact at its seq, every other record intact too and at
// the seq it was acknowledged with, if it was.
func (c *crashRound) verify(l *Log) error {
	if l.NextSeq() <= c.maxDurable {
		return fmt.Errorf("next seq %d, but seq %d was durable", l.NextSeq(), c.maxDurable)
	}
	want := uint64(1)
	seen := map[string]uint64{}
	_, err := l.Read(1, 0, 0, func(r *Record) error {
		if r.Seq != want {
			return fmt.Errorf("gap: got seq %d, want %d", r.Seq, want)
		}
		want++
		if err := checkWorkloadRecord(c.seed, r); err != nil {
			return err
		}
		k := string(r.Key)
		if seq, ok := c.acked[k]; ok && seq != r.Seq {
			return fmt.Errorf("acknowledged %q at seq %d, found at %d", k, seq, r.Seq)
		}
		if other, ok := c.ackedBySeq[r.Seq]; ok && other != k {
			return fmt.Errorf("seq %d acknowledged for %q holds %q", r.Seq, other, k)
		}
		seen[k] = r.Seq
		return nil
	})
	if err != nil {
		return err
	}
	if want != l.NextSeq() {
		return fmt.Errorf("read up to %d, next seq %d", want, l.NextSeq())
	}
	for k, seq := range c.durable {
		if seen[k] != seq {
			return fmt.Errorf("durable %q at seq %d lost", k, seq)
		}
	}
	// What survived becomes the new truth: the crash image is durable, so
	// its records may not disappear in later sessions either; records
	// acknowledged but lost are forgotten (their seqs get reused).
	c.acked, c.ackedBySeq = map[string]uint64{}, map[uint64]string{}
	for k, seq := range seen {
		c.acked[k] = seq
		c.ackedBySeq[seq] = k
		c.markDurable(k, seq)
	}
	return nil
}

// envInt reads an integer knob for long runs (for example
// SEGMENT_CRASH_ROUNDS=100000), falling back to def.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// TestCrashConsistency runs hundreds of randomized crash rounds per sync
// policy (always, interval, never) and UnsyncedDataPercent (0, 50, 100):
// tiny segments, a few concurrent appenders calling Sync now and then, a
// crash after a random number of acknowledgements or after Close, reopen.
// Every record that must be durable (every acknowledged one under always;
// under interval and never those covered by a returned Sync or Close)
// comes back intact, in order, without gaps; nothing that survives may be
// corrupted or moved. Failures print the seed; rerun one with
// SEGMENT_CRASH_SEED=<seed>.
func TestCrashConsistency(t *testing.T) {
	policies := []struct {
		policy SyncPolicy
		rounds int
	}{
		{SyncPolicy{Mode: SyncAlways}, 200},
		{SyncPolicy{Mode: SyncInterval, Interval: time.Millisecond}, 100},
		{SyncPolicy{Mode: SyncNever}, 100},
	}
	for _, p := range policies {
		rounds := envInt("SEGMENT_CRASH_ROUNDS", p.rounds)
		if testing.Short() {
			rounds = 30
		}
		seeds := make([]uint64, rounds)
		for i := range seeds {
			seeds[i] = uint64(i) + 1
		}
		if s := envInt("SEGMENT_CRASH_SEED", 0); s != 0 {
			seeds = []uint64{uint64(s)}
		}
		for _, pct := range []int{0, 50, 100} {
			t.Run(fmt.Sprintf("sync=%s/unsynced=%d", p.policy, pct), func(t *testing.T) {
				t.Parallel()
				for _, seed := range seeds {
					rng := rand.New(rand.NewPCG(seed, uint64(pct)))
					c := &crashRound{seed: seed, unsyncedPc: pct, rng: rng,
						acked: map[string]uint64{}, ackedBySeq: map[uint64]string{}, durable: map[string]uint64{},
						opts: Options{
							SegmentSizeBytes:   int64(256 + rng.IntN(2048)),
							IndexIntervalBytes: 64 + rng.IntN(512),
							Sync:               p.policy,
							Logger:             quietLogger(),
						}}
					if err := c.run(vfs.NewCrashableMem(), 3); err != nil {
						t.Fatalf("seed %d (SEGMENT_CRASH_SEED=%d), sync %s, unsynced %d%%: %v",
							seed, seed, p.policy, pct, err)
					}
				}
			})
		}
	}
}
