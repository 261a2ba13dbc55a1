package engine

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func receiveWait(ctx context.Context, q *Queue, wait, visibility time.Duration) ([]ReceivedMessage, error) {
	return q.Receive(ctx, ReceiveOptions{Max: 10, Wait: &wait, Visibility: &visibility})
}

// TestLongPollWakeups checks, on a fake clock, that a parked receiver is
// woken by a send (immediately, no time passes), by a visibility expiry
// (exactly at the deadline), by a delay becoming due, returns empty when
// its wait runs out, and returns ctx.Err() when cancelled.
func TestLongPollWakeups(t *testing.T) {
	bubble(t, func(t *testing.T) {
		e := newQEnv(t)
		q := e.create("poll", DefaultQueueAttributes(false))
		ctx := context.Background()

		// Send wakes a waiter without any time passing.
		start := time.Now()
		got := make(chan []ReceivedMessage, 1)
		go func() {
			msgs, err := receiveWait(ctx, q, 20*time.Second, 5*time.Second)
			if err != nil {
				t.Errorf("Receive: %v", err)
			}
			got <- msgs
		}()
		synctest.Wait() // the receiver is parked
		sendBodies(t, q, "x")
		msgs := <-got
		if len(msgs) != 1 || time.Since(start) != 0 {
			t.Fatalf("send wakeup: %d msgs after %s", len(msgs), time.Since(start))
		}

		// Visibility expiry wakes a waiter exactly at the deadline.
		start = time.Now()
		go func() {
			msgs, err := receiveWait(ctx, q, 20*time.Second, 5*time.Second)
			if err != nil {
				t.Errorf("Receive: %v", err)
			}
			got <- msgs
		}()
		msgs = <-got
		if len(msgs) != 1 || msgs[0].ReceiveCount != 2 || time.Since(start) != 5*time.Second {
			t.Fatalf("expiry wakeup: %d msgs after %s", len(msgs), time.Since(start))
		}
		deleteAll(t, q, msgs)

		// A delayed message wakes the waiter when due.
		d := 3 * time.Second
		if _, err := q.Send(ctx, []SendMessage{{Body: []byte("later"), Delay: &d}}); err != nil {
			t.Fatal(err)
		}
		if c := q.Counts(); c.Delayed != 1 || c.Visible != 0 {
			t.Fatalf("counts with a delayed message: %+v", c)
		}
		start = time.Now()
		msgs, err := receiveWait(ctx, q, 20*time.Second, 5*time.Second)
		if err != nil || len(msgs) != 1 || time.Since(start) != 3*time.Second {
			t.Fatalf("delay wakeup: %v %d msgs after %s", err, len(msgs), time.Since(start))
		}
		deleteAll(t, q, msgs)

		// Wait runs out: empty result, no error, after exactly the wait.
		start = time.Now()
		msgs, err = receiveWait(ctx, q, 2*time.Second, time.Second)
		if err != nil || len(msgs) != 0 || time.Since(start) != 2*time.Second {
			t.Fatalf("timeout: %v %d msgs after %s", err, len(msgs), time.Since(start))
		}

		// Cancel.
		cctx, cancel := context.WithCancel(ctx)
		errc := make(chan error, 1)
		go func() {
			_, err := receiveWait(cctx, q, 20*time.Second, time.Second)
			errc <- err
		}()
		synctest.Wait()
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancel: %v", err)
		}
		if n := q.waiterCount(); n != 0 {
			t.Fatalf("%d waiters left parked", n)
		}
	})
}

// TestLongPollManyWaiters parks 5,000 receivers, sends 5,000 messages one
// per call and checks every receiver got a message and no message was
// delivered twice; then it checks Close wakes parked receivers with
// ErrClosed.
func TestLongPollManyWaiters(t *testing.T) {
	bubble(t, func(t *testing.T) {
		e := newQEnv(t)
		q := e.create("many", DefaultQueueAttributes(false))
		const n = 5000
		var mu sync.Mutex
		seen := map[string]bool{}
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				wait, vis := 20*time.Second, time.Hour
				msgs, err := q.Receive(context.Background(), ReceiveOptions{Max: 1, Wait: &wait, Visibility: &vis})
				if err != nil || len(msgs) != 1 {
					t.Errorf("Receive: %v, %d msgs", err, len(msgs))
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if seen[msgs[0].MessageID] {
					t.Errorf("message %s delivered twice", msgs[0].MessageID)
				}
				seen[msgs[0].MessageID] = true
			}()
		}
		synctest.Wait()
		if got := q.waiterCount(); got != n {
			t.Fatalf("%d parked waiters, want %d", got, n)
		}
		for i := 0; i < n; i++ {
			sendBodies(t, q, "m")
		}
		wg.Wait()
		if len(seen) != n {
			t.Fatalf("%d distinct messages received, want %d", len(seen), n)
		}

		errc := make(chan error, 1)
		go func() {
			_, err := receiveWait(context.Background(), q, 20*time.Second, time.Second)
			errc <- err
		}()
		synctest.Wait()
		if err := e.db.Close(); err != nil {
			t.Fatal(err)
		}
		e.db = nil
		if err := <-errc; !errors.Is(err, ErrClosed) && !errors.Is(err, ErrQueueNotFound) {
			t.Fatalf("parked receive at Close: %v", err)
		}
	})
}
