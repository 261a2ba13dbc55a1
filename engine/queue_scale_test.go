package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"runtime/metrics"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/sluice-dev/sluice/internal/cputime"
)

// scaleParked is one long-poll receiver's outcome.
type scaleParked struct {
	queue int
	msgs  []ReceivedMessage
	err   error
}

// scaleGoroutinesCreated reads the runtime's count of goroutines created
// so far. A time.AfterFunc timer creates one each time it fires, so an
// unchanged count over an idle window means no such timer fired.
func scaleGoroutinesCreated() uint64 {
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// scaleWaiterList returns the parked waiters of q, oldest first.
func scaleWaiterList(q *Queue) []*waiter {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []*waiter
	for w := q.mu.waiters.head; w != nil; w = w.next {
		out = append(out, w)
	}
	return out
}

// TestLongPollScale parks 5,000 long-poll receivers, on one queue and
// spread over 1,000 queues, and checks what idle waiters cost and how a
// send wakes them. Method: inside a synctest bubble (fake time), park the
// receivers (Wait 20s) and let everything settle; then let 15 s of fake
// time pass. Goals: (1) the receivers are the only new goroutines (one
// each, no helpers); (2) while idle nothing runs: no receiver returns, no
// time.AfterFunc timer fires (the runtime's goroutines-created count stays
// put) and the process burns next to no CPU even though 15 s pass (a
// per-waiter poll or timer would fire at least 5,000 times); (3) one Send
// wakes exactly one waiter, the oldest of that queue, which returns the
// message, while every other waiter stays parked in its place.
func TestLongPollScale(t *testing.T) {
	cases := []struct {
		name             string
		queues, perQueue int
	}{
		{name: "one queue", queues: 1, perQueue: 5000},
		{name: "1000 queues", queues: 1000, perQueue: 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// bubble, not synctest.Test: it empties segment's request pool
			// around the bubble (see bubble in queue_test.go).
			bubble(t, func(t *testing.T) {
				runLongPollScale(t, tc.queues, tc.perQueue)
			})
		})
	}
}

func runLongPollScale(t *testing.T, nQueues, perQueue int) {
	db, err := Open("data", &Options{FS: vfs.NewMem(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	queues := make([]*Queue, nQueues)
	noWait := time.Duration(0)
	for i := range queues {
		name := fmt.Sprintf("scale-%d", i)
		if _, err := db.CreateQueue(testNS, name, DefaultQueueAttributes(false), nil); err != nil {
			t.Fatalf("CreateQueue %s: %v", name, err)
		}
		if queues[i], err = db.Queue(testNS, name); err != nil {
			t.Fatalf("Queue %s: %v", name, err)
		}
		// One short poll loads whatever the queue loads lazily, so the
		// baseline below includes it.
		if msgs, err := queues[i].Receive(context.Background(), ReceiveOptions{Max: 1, Wait: &noWait}); err != nil || len(msgs) != 0 {
			t.Fatalf("short poll of empty %s: %d messages, %v", name, len(msgs), err)
		}
	}
	synctest.Wait()
	baseGoroutines := runtime.NumGoroutine()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	n := nQueues * perQueue
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	results := make(chan scaleParked, n)
	wait, visibility := 20*time.Second, time.Hour
	for i := range n {
		qi := i % nQueues
		go func() {
			msgs, err := queues[qi].Receive(ctx, ReceiveOptions{Max: 1, Wait: &wait, Visibility: &visibility})
			results <- scaleParked{queue: qi, msgs: msgs, err: err}
		}()
	}
	synctest.Wait()

	parked := func() int {
		total := 0
		for _, q := range queues {
			total += q.waiterCount()
		}
		return total
	}
	if got := parked(); got != n || len(results) != 0 {
		t.Fatalf("%d waiters parked and %d returned, want %d parked", got, len(results), n)
	}
	// At most one goroutine each (the caller's own): no helper goroutine
	// per waiter. NumGoroutine counts the whole process, so a goroutine of
	// an earlier test (outside this bubble) that exits meanwhile can make
	// the difference smaller, never larger.
	if extra := runtime.NumGoroutine() - baseGoroutines; extra > n {
		t.Errorf("%d goroutines beyond the baseline with %d parked receivers, want at most one each", extra, n)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	t.Logf("%d parked receivers on %d queues: %.0f bytes each (heap + stacks)", n, nQueues,
		float64(after.HeapAlloc+after.StackInuse-before.HeapAlloc-before.StackInuse)/float64(n))

	// Idle: 15 s of fake time pass with nothing to deliver.
	created, cpu := scaleGoroutinesCreated(), cputime.SelfOrSkip(t)
	idle := time.NewTimer(15 * time.Second)
	<-idle.C
	synctest.Wait()
	idleCPU := cputime.SelfOrSkip(t) - cpu
	createdIdle := scaleGoroutinesCreated() - created
	if got := parked(); got != n || len(results) != 0 {
		t.Fatalf("after 15s idle: %d waiters parked and %d returned, want %d parked", got, len(results), n)
	}
	if createdIdle != 0 {
		t.Errorf("%d goroutines created while idle (time.AfterFunc timers fired)", createdIdle)
	}
	// Generous: a wake-up per waiter costs ~1µs or more, so any per-waiter
	// polling over 15 s would be far above this.
	if idleCPU > 200*time.Millisecond {
		t.Errorf("process used %s of CPU over 15s of idle fake time with %d parked receivers", idleCPU, n)
	}
	t.Logf("idle 15s (fake): %s process CPU, %d goroutines created", idleCPU, createdIdle)

	// One send wakes exactly one waiter: the oldest of its queue.
	target := nQueues / 2
	q := queues[target]
	listBefore := scaleWaiterList(q)
	if _, err := q.Send(context.Background(), []SendMessage{{Body: []byte("wake")}}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	synctest.Wait()
	if len(results) != 1 {
		t.Fatalf("one send returned %d receivers, want 1", len(results))
	}
	r := <-results
	if r.err != nil || r.queue != target || len(r.msgs) != 1 || string(r.msgs[0].Body) != "wake" {
		t.Fatalf("woken receiver: queue %d, %d messages, err %v; want queue %d with the message", r.queue, len(r.msgs), r.err, target)
	}
	listAfter := scaleWaiterList(q)
	if len(listAfter) != len(listBefore)-1 {
		t.Fatalf("queue %d: %d waiters after the send, want %d", target, len(listAfter), len(listBefore)-1)
	}
	for i, w := range listAfter {
		if w != listBefore[i+1] {
			t.Fatalf("queue %d: waiter %d changed place after the send (woken and parked again?)", target, i)
		}
	}
	if got := parked(); got != n-1 {
		t.Fatalf("%d waiters parked after one send, want %d", got, n-1)
	}

	// Cancel everyone: each returns ctx.Err() and unparks.
	cancel()
	synctest.Wait()
	for range n - 1 {
		if r := <-results; !errors.Is(r.err, context.Canceled) {
			t.Fatalf("cancelled receiver returned %d messages, %v", len(r.msgs), r.err)
		}
	}
	if got := parked(); got != 0 {
		t.Fatalf("%d waiters still parked after cancel", got)
	}
}
