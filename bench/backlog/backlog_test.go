package backlog

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/segment"
)

var (
	flagN        = flag.Int("backlog.n", 0, "messages in the deep queue (0: 5,000,000 with SLUICE_BACKLOG=1, else 20,000)")
	flagMeasure  = flag.Int("backlog.measure", 0, "messages received+deleted per queue (0: 100,000 full run, 2,000 quick)")
	flagDir      = flag.String("backlog.dir", "", "data directory (default: a temporary directory, removed afterwards)")
	flagFsync    = flag.String("backlog.fsync", "always", "sync policy: always | interval=DUR | never")
	flagSenders  = flag.Int("backlog.senders", 4, "concurrent senders during the fill")
	flagBatch    = flag.Int("backlog.batch", 100, "messages per Send call during the fill")
	flagConsumer = flag.Int("backlog.consumers", 1, "concurrent receive+delete loops per measured queue")
	flagReopen   = flag.Bool("backlog.reopen", true, "close and reopen the DB between the fill and the measurement")
	flagHeap     = flag.String("backlog.heapprofile", "", "write a heap profile here after the fill (before the reopen)")
)

const (
	bodySizeBytes  = 1024
	smallQueueSize = 1000
	// roundMessages is how many messages one measurement round drains
	// from each queue (the small queue holds exactly this many).
	roundMessages = smallQueueSize
)

var ns = engine.Namespace{Account: "000000000000", Region: "us-east-1"}

// config is the resolved run configuration.
type config struct {
	full      bool
	n         int
	measure   int
	dir       string
	fsync     segment.SyncPolicy
	senders   int
	batch     int
	consumers int
}

func loadConfig(t *testing.T) config {
	t.Helper()
	c := config{
		full:      os.Getenv("SLUICE_BACKLOG") == "1" || *flagN > 0,
		n:         *flagN,
		measure:   *flagMeasure,
		dir:       *flagDir,
		senders:   *flagSenders,
		batch:     *flagBatch,
		consumers: *flagConsumer,
	}
	if c.n == 0 {
		c.n = 20_000
		if c.full {
			c.n = 5_000_000
		}
	}
	if c.measure == 0 {
		c.measure = 2_000
		if c.full {
			c.measure = 100_000
		}
	}
	c.measure = max(roundMessages, c.measure/roundMessages*roundMessages)
	if c.measure > c.n {
		t.Fatalf("-backlog.measure %d exceeds -backlog.n %d", c.measure, c.n)
	}
	if c.dir == "" {
		c.dir = t.TempDir()
	}
	p, err := segment.ParseSyncPolicy(*flagFsync)
	if err != nil {
		t.Fatalf("-backlog.fsync: %v", err)
	}
	c.fsync = p
	if c.senders < 1 || c.batch < 1 || c.consumers < 1 || roundMessages%c.consumers != 0 {
		t.Fatalf("bad -backlog.senders/batch/consumers %d/%d/%d", c.senders, c.batch, c.consumers)
	}
	return c
}

// body is message seq of a queue: "name seq|" padded to bodySizeBytes.
func body(dst []byte, name string, seq int) []byte {
	dst = append(dst[:0], name...)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, int64(seq), 10)
	dst = append(dst, '|')
	for len(dst) < bodySizeBytes {
		dst = append(dst, 'x')
	}
	return dst
}

// seqOf parses the sequence number out of a body made by body.
func seqOf(b []byte, name string) (int, error) {
	rest, ok := bytes.CutPrefix(b, []byte(name+" "))
	i := bytes.IndexByte(rest, '|')
	if !ok || i < 0 || len(b) != bodySizeBytes {
		return 0, fmt.Errorf("body %.40q... is not a message of %s", b, name)
	}
	return strconv.Atoi(string(rest[:i]))
}

// fill sends messages [from, to) to q with c.senders concurrent senders of
// c.batch messages per call.
func fill(ctx context.Context, q *engine.Queue, name string, from, to int, c config) error {
	next := make(chan int)
	errc := make(chan error, c.senders)
	var wg sync.WaitGroup
	for range c.senders {
		wg.Go(func() {
			msgs := make([]engine.SendMessage, 0, c.batch)
			for start := range next {
				msgs = msgs[:0]
				for seq := start; seq < min(start+c.batch, to); seq++ {
					msgs = append(msgs, engine.SendMessage{Body: body(nil, name, seq)})
				}
				res, err := q.Send(ctx, msgs)
				if err == nil {
					for i := range res {
						if res[i].Err != nil {
							err = res[i].Err
							break
						}
					}
				}
				if err != nil {
					errc <- fmt.Errorf("send to %s: %w", name, err)
					return
				}
			}
		})
	}
	var err error
feed:
	for start := from; start < to; start += c.batch {
		select {
		case next <- start:
		case err = <-errc:
			break feed
		}
	}
	close(next)
	wg.Wait()
	close(errc)
	if err != nil {
		return err
	}
	return <-errc // nil once closed and empty
}

// memory is one sample of process and Go heap memory.
type memory struct {
	rssBytes, rssAnonBytes, rssFileBytes int64
	heapInuseBytes, goSysBytes           uint64
}

func sampleMemory(t *testing.T) memory {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	var m memory
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatalf("open /proc/self/status: %v", err)
	}
	defer f.Close()
	fields := map[string]*int64{"VmRSS:": &m.rssBytes, "RssAnon:": &m.rssAnonBytes, "RssFile:": &m.rssFileBytes}
	s := bufio.NewScanner(f)
	for s.Scan() {
		parts := strings.Fields(s.Text())
		if len(parts) == 3 && parts[2] == "kB" && fields[parts[0]] != nil {
			kb, err := strconv.ParseInt(parts[1], 10, 64)
			if err != nil {
				t.Fatalf("/proc/self/status %q: %v", s.Text(), err)
			}
			*fields[parts[0]] = kb << 10
		}
	}
	if err := s.Err(); err != nil {
		t.Fatalf("read /proc/self/status: %v", err)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.heapInuseBytes, m.goSysBytes = ms.HeapInuse, ms.Sys
	return m
}

func (m memory) String() string {
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	return fmt.Sprintf("RSS %.0f MiB (anon %.0f, file %.0f), Go heap in use %.0f MiB, Go sys %.0f MiB",
		mib(m.rssBytes), mib(m.rssAnonBytes), mib(m.rssFileBytes), mib(int64(m.heapInuseBytes)), mib(int64(m.goSysBytes)))
}

func writeHeapProfile(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatalf("heap profile: %v", err)
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		t.Fatalf("heap profile: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("heap profile: %v", err)
	}
}

// drainStats accumulates one queue's receive+delete measurements.
type drainStats struct {
	mu        sync.Mutex
	elapsed   time.Duration   // sum of round wall times
	rounds    []time.Duration // each round's wall time
	messages  int
	receives  []time.Duration
	deletes   []time.Duration
	slack     int // senders × batch of the fill: how far log order may stray from seq order
	seen      map[int]bool
	empty     int // receives that returned nothing
	consumers int
}

// drainRound receives and deletes exactly roundMessages messages from q
// with st.consumers loops (Max 10, no wait, a visibility that outlasts the
// run) and checks each message is one not delivered before.
func drainRound(ctx context.Context, q *engine.Queue, name string, st *drainStats) error {
	wait, visibility := time.Duration(0), 10*time.Minute
	per := roundMessages / st.consumers
	errc := make(chan error, st.consumers)
	start := time.Now()
	var seqs []int
	var wg sync.WaitGroup
	for range st.consumers {
		wg.Go(func() {
			var receives, deletes []time.Duration
			var mine []int
			empty := 0
			receipts := make([][]byte, 0, 10)
			for got := 0; got < per; {
				t0 := time.Now()
				msgs, err := q.Receive(ctx, engine.ReceiveOptions{Max: min(10, per-got), Wait: &wait, Visibility: &visibility})
				t1 := time.Now()
				if err != nil {
					errc <- fmt.Errorf("receive from %s: %w", name, err)
					return
				}
				if len(msgs) == 0 {
					empty++
					if empty > 100 {
						errc <- fmt.Errorf("receive from %s: empty %d times with %d of %d received", name, empty, got, per)
						return
					}
					continue
				}
				receipts = receipts[:0]
				for i := range msgs {
					seq, err := seqOf(msgs[i].Body, name)
					if err != nil {
						errc <- err
						return
					}
					mine = append(mine, seq)
					receipts = append(receipts, msgs[i].Receipt)
				}
				errs := q.Delete(receipts)
				t2 := time.Now()
				if err := errors.Join(errs...); err != nil {
					errc <- fmt.Errorf("delete from %s: %w", name, err)
					return
				}
				receives = append(receives, t1.Sub(t0))
				deletes = append(deletes, t2.Sub(t1))
				got += len(msgs)
			}
			st.mu.Lock()
			defer st.mu.Unlock()
			st.receives = append(st.receives, receives...)
			st.deletes = append(st.deletes, deletes...)
			st.empty += empty
			seqs = append(seqs, mine...)
			for _, s := range mine {
				if st.seen[s] {
					errc <- fmt.Errorf("%s: message %d delivered twice", name, s)
					return
				}
				st.seen[s] = true
			}
		})
	}
	wg.Wait()
	st.elapsed += time.Since(start)
	st.rounds = append(st.rounds, time.Since(start))
	st.messages += roundMessages
	close(errc)
	if err := <-errc; err != nil {
		return err
	}
	if len(seqs) != roundMessages {
		return fmt.Errorf("%s: %d messages in a round of %d", name, len(seqs), roundMessages)
	}
	// The head is drained: concurrent senders may interleave their
	// batches in the log, so message seq sits within slack of log position
	// seq, and after k messages every one delivered is below k+slack.
	for _, s := range seqs {
		if s >= st.messages+st.slack {
			return fmt.Errorf("%s: message %d delivered among the first %d (not from the head)", name, s, st.messages)
		}
	}
	return nil
}

func (st *drainStats) rate() float64 {
	return float64(st.messages) / st.elapsed.Seconds()
}

// medianRate is the rate of the median round: on a shared machine, bursts
// of outside load hit a few rounds hard, and the median ignores them.
func (st *drainStats) medianRate() float64 {
	return roundMessages / percentile(st.rounds, 0.5).Seconds()
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func micros(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e3, 'f', 0, 64) }

func (st *drainStats) row(label string) string {
	return fmt.Sprintf("| %s | %.0f | %.0f | %s / %s / %s | %s / %s / %s |", label, st.rate(), st.medianRate(),
		micros(percentile(st.receives, 0.5)), micros(percentile(st.receives, 0.99)), micros(percentile(st.receives, 0.999)),
		micros(percentile(st.deletes, 0.5)), micros(percentile(st.deletes, 0.99)), micros(percentile(st.deletes, 0.999)))
}

// TestBacklog fills a deep queue and measures memory and head-of-queue
// receive+delete against a 1,000-message queue. Goal: show that a backlog
// lives on disk (RSS stays bounded, the target is < 512 MiB at 5M
// messages) and that the head of a deep queue is as fast to consume as a
// shallow queue (target: within 10%). The quick default run checks only
// correctness: every message is delivered once, from the head, in order,
// with its body intact. The full run (SLUICE_BACKLOG=1 or -backlog.n) logs
// the measurements; it asserts the targets only for correctness-relevant
// facts, since rates on a shared machine are evidence, not a gate.
func TestBacklog(t *testing.T) {
	c := loadConfig(t)
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	opts := &engine.Options{Sync: c.fsync, Logger: logger}
	db, err := engine.Open(c.dir, opts)
	if err != nil {
		t.Fatalf("Open %s: %v", c.dir, err)
	}
	defer func() {
		if db != nil {
			if err := db.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}
	}()
	t.Logf("config: n=%d measure=%d fsync=%s senders=%d batch=%d consumers=%d dir=%s",
		c.n, c.measure, c.fsync, c.senders, c.batch, c.consumers, c.dir)
	base := sampleMemory(t)
	t.Logf("memory at open: %s", base)

	for _, name := range []string{"deep", "small"} {
		if _, err := db.CreateQueue(ns, name, engine.DefaultQueueAttributes(false), nil); err != nil {
			t.Fatalf("CreateQueue %s: %v", name, err)
		}
	}
	deep, err := db.Queue(ns, "deep")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := fill(ctx, deep, "deep", 0, c.n, c); err != nil {
		t.Fatal(err)
	}
	fillTime := time.Since(start)
	t.Logf("fill: %d messages in %s (%.0f msg/s, %.1f MiB/s)", c.n, fillTime.Round(time.Millisecond),
		float64(c.n)/fillTime.Seconds(), float64(c.n)*bodySizeBytes/(1<<20)/fillTime.Seconds())
	filled := sampleMemory(t)
	t.Logf("memory after fill: %s", filled)
	if *flagHeap != "" {
		writeHeapProfile(t, *flagHeap)
	}

	// Reopen: a restarted server with a deep backlog (recovery time, and
	// memory without the fill's leftovers in the engine).
	reopened := filled
	if *flagReopen {
		if err := db.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		db = nil
		start = time.Now()
		db, err = engine.Open(c.dir, opts)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		deep, err = db.Queue(ns, "deep")
		if err != nil {
			t.Fatal(err)
		}
		counts := deep.Counts()
		reopenTime := time.Since(start)
		if counts.Visible != int64(c.n) {
			t.Fatalf("deep queue after reopen: %+v, want %d visible", counts, c.n)
		}
		reopened = sampleMemory(t)
		t.Logf("reopen + first access of deep: %s; memory: %s", reopenTime.Round(time.Microsecond), reopened)
	}

	small, err := db.Queue(ns, "small")
	if err != nil {
		t.Fatal(err)
	}
	deepStats := &drainStats{seen: map[int]bool{}, consumers: c.consumers, slack: c.senders * c.batch}
	smallStats := &drainStats{seen: map[int]bool{}, consumers: c.consumers, slack: 1}
	fillSmall := c
	fillSmall.senders = 1
	// Interleave rounds so that load from elsewhere on the machine falls on
	// both queues alike.
	for round := 0; round < c.measure/roundMessages; round++ {
		if err := fill(ctx, small, "small", round*smallQueueSize, (round+1)*smallQueueSize, fillSmall); err != nil {
			t.Fatal(err)
		}
		if err := drainRound(ctx, small, "small", smallStats); err != nil {
			t.Fatal(err)
		}
		if err := drainRound(ctx, deep, "deep", deepStats); err != nil {
			t.Fatal(err)
		}
	}
	after := sampleMemory(t)
	if got, want := deep.Counts(), int64(c.n-c.measure); got.Visible != want || got.InFlight != 0 {
		t.Errorf("deep queue after measuring: %+v, want %d visible", got, want)
	}
	if got := small.Counts(); got.Visible != 0 || got.InFlight != 0 {
		t.Errorf("small queue after measuring: %+v, want empty", got)
	}
	t.Logf("memory after measuring: %s", after)

	t.Logf("results (copy into bench/RESULTS.md):\n"+
		"| queue | receive+delete msg/s (overall) | msg/s (median round) | Receive(10) µs p50 / p99 / p99.9 | Delete(10) µs p50 / p99 / p99.9 |\n"+
		"|---|---:|---:|---:|---:|\n%s\n%s\n\n"+
		"deep/small rate ratio: overall %.3f, median round %.3f (target ≥ 0.90)\n"+
		"RSS after fill %.0f MiB, after reopen %.0f MiB, after measuring %.0f MiB (target < 512 MiB); empty receives deep/small: %d/%d",
		deepStats.row(fmt.Sprintf("deep (%d backlog)", c.n)), smallStats.row("small (1,000)"),
		deepStats.rate()/smallStats.rate(), deepStats.medianRate()/smallStats.medianRate(), float64(filled.rssBytes)/(1<<20), float64(reopened.rssBytes)/(1<<20), float64(after.rssBytes)/(1<<20),
		deepStats.empty, smallStats.empty)
}
