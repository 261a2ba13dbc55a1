package engine

import "time"

// Long polling. A receiver that finds nothing parks a waiter (one channel,
// linked into the queue's list) and blocks in its own goroutine on that
// channel, its wait timer, ctx and the DB's done channel. Whatever makes
// messages available wakes as many waiters as it made messages available,
// oldest first:
//
//   - Send/appendMoved: one per appended message;
//   - deadlines (visibility expiry, delay due): one timer per queue, armed
//     only while waiters exist, at the earliest deadline of the queue;
//   - ChangeVisibility to 0 and, on FIFO queues, deletes (they unlock a
//     message group).
//
// A woken waiter retries the receive; if another receiver was faster it
// parks again. Idle waiters cost no CPU; thousands are fine (one small
// allocation each).

// waiter is one parked receiver.
type waiter struct {
	ch         chan struct{} // buffered(1): a wake never blocks
	prev, next *waiter
	listed     bool
}

// waiterList is an intrusive FIFO list of waiters.
type waiterList struct {
	head, tail *waiter
	n          int
}

func (l *waiterList) len() int { return l.n }

func (l *waiterList) push(w *waiter) {
	w.prev, w.next, w.listed = l.tail, nil, true
	if l.tail != nil {
		l.tail.next = w
	} else {
		l.head = w
	}
	l.tail = w
	l.n++
}

func (l *waiterList) remove(w *waiter) {
	if !w.listed {
		return
	}
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		l.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		l.tail = w.prev
	}
	w.prev, w.next, w.listed = nil, nil, false
	l.n--
}

// parkLocked lists w (draining a stale wake first) and makes sure the wake
// timer covers the queue's next deadline.
func (q *Queue) parkLocked(w *waiter) {
	select {
	case <-w.ch:
	default:
	}
	if !w.listed {
		q.mu.waiters.push(w)
	}
	q.armWakeLocked()
}

// unpark removes w from the list (timeout, cancel, close).
func (q *Queue) unpark(w *waiter) {
	if w == nil {
		return
	}
	q.mu.Lock()
	q.mu.waiters.remove(w)
	q.mu.Unlock()
}

// wakeLocked wakes up to n waiters, oldest first.
func (q *Queue) wakeLocked(n int) {
	for ; n > 0 && q.mu.waiters.head != nil; n-- {
		w := q.mu.waiters.head
		q.mu.waiters.remove(w)
		select {
		case w.ch <- struct{}{}:
		default:
		}
	}
}

// armWakeLocked arms the queue's deadline timer at the earliest deadline if
// waiters exist and it is not armed for that time or earlier.
func (q *Queue) armWakeLocked() {
	if q.mu.closed || q.mu.waiters.len() == 0 {
		return
	}
	next := q.mu.vs.nextDeadline()
	if next == 0 || (q.mu.wakeAt != 0 && q.mu.wakeAt <= next) {
		return
	}
	q.mu.wakeAt = next
	d := time.Duration(next - q.db.nowUnixNano())
	if d < 0 {
		d = 0
	}
	if q.mu.wake == nil {
		q.mu.wake = time.AfterFunc(d, q.onWakeTimer)
	} else {
		q.mu.wake.Reset(d)
	}
}

// onWakeTimer applies passed deadlines and wakes one waiter per message
// that became visible.
func (q *Queue) onWakeTimer() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.mu.wakeAt = 0
	if q.mu.closed {
		return
	}
	if n := q.mu.vs.advance(q.db.nowUnixNano()); n > 0 {
		q.wakeLocked(n)
	}
	q.armWakeLocked()
}

// waiterCount reports the parked receivers (tests, metrics).
func (q *Queue) waiterCount() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.mu.waiters.len()
}
