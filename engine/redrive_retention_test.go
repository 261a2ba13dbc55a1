package engine

import (
	"testing"
	"time"
)

// Retention across dead-letter moves (NOTES-queue.md, AWS developer guide
// "Setting-up dead-letter queue retention"): a standard dead-letter queue
// counts a moved message's retention from its original send, a FIFO one
// from the move; both report the original send as SentTimestamp.

// retentionScenario is the timeline of the tests below: the DLQ keeps
// messages dlqRetention; the message is sent at send, received once with
// a visibility timeout of moveAfter, and moved by the receive right after
// that, so it reaches the DLQ at about send+moveAfter.
const (
	dlqRetention = 10 * time.Minute
	moveAfter    = 8 * time.Minute
)

// redriveLate creates src (MaxReceiveCount 1, retention 1 h) and its DLQ
// (retention dlqRetention), both FIFO or both standard, sends one message
// to src and moves it to the DLQ moveAfter later. It returns the send
// result, the send time and the move time.
func redriveLate(t *testing.T, e *qenv, fifo bool) (SendResult, time.Time, time.Time) {
	t.Helper()
	suffix := ""
	if fifo {
		suffix = ".fifo"
	}
	dlqAttrs := DefaultQueueAttributes(fifo)
	dlqAttrs.MessageRetention = dlqRetention
	e.create("dlq"+suffix, dlqAttrs)
	srcAttrs := DefaultQueueAttributes(fifo)
	srcAttrs.MessageRetention = time.Hour
	srcAttrs.Redrive = &RedrivePolicy{DeadLetterTarget: QueueRef{Namespace: testNS, Name: "dlq" + suffix}, MaxReceiveCount: 1}
	src := e.create("src"+suffix, srcAttrs)

	res := sendOne(t, src, "poison")
	sentAt := time.Now()
	if got := receive(t, src, 1, moveAfter); len(got) != 1 {
		t.Fatalf("first source receive: %d messages", len(got))
	}
	time.Sleep(moveAfter)
	if got := receive(t, src, 1, time.Minute); len(got) != 0 {
		t.Fatalf("second source receive delivered %q instead of moving it", bodiesOf(got))
	}
	movedAt := time.Now()
	return res, sentAt, movedAt
}

// TestDeadLetterRetentionFIFOCountsFromMove checks that retention in a
// FIFO dead-letter queue counts from the move and in a standard one from
// the original send. Bug story: Sluice kept the original send time as the
// retention start for both, so a FIFO message that spent 8 of the DLQ's 10
// minutes of retention in its source expired 2 minutes after the move,
// where AWS keeps it 10. Method: a synctest bubble (fake clock); for each
// queue type, send, move 8 minutes later (MaxReceiveCount 1, visibility 8
// min), then receive from the DLQ at send+12 min (past send+retention,
// before move+retention): the FIFO message is there, reporting its
// original SentTimestamp, the standard one is gone; at move+retention the
// FIFO one is gone too.
func TestDeadLetterRetentionFIFOCountsFromMove(t *testing.T) {
	for _, fifo := range []bool{true, false} {
		name := "standard"
		if fifo {
			name = "fifo"
		}
		t.Run(name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				e := newQEnv(t)
				sent, sentAt, movedAt := redriveLate(t, e, fifo)
				dlqName := "dlq"
				if fifo {
					dlqName += ".fifo"
				}
				dlq := e.queue(dlqName)
				time.Sleep(time.Until(sentAt.Add(dlqRetention + 2*time.Minute)))
				got := receive(t, dlq, 1, time.Second)
				if !fifo {
					if len(got) != 0 {
						t.Fatalf("standard DLQ delivered %q past send+retention", bodiesOf(got))
					}
					return
				}
				if len(got) != 1 {
					t.Fatalf("FIFO DLQ: %d messages at send+retention+2m (move+%v), want the moved one",
						len(got), time.Since(movedAt))
				}
				m := got[0]
				if m.MessageID != sent.MessageID || !m.SentTimestamp.Equal(sentAt) || m.ReceiveCount != 2 ||
					m.DeadLetterSource == nil || m.DeadLetterSource.Name != "src.fifo" {
					t.Fatalf("FIFO DLQ delivery id %s sent %v count %d source %v; want id %s sent %v count 2 source src.fifo",
						m.MessageID, m.SentTimestamp, m.ReceiveCount, m.DeadLetterSource, sent.MessageID, sentAt)
				}
				time.Sleep(time.Until(movedAt.Add(dlqRetention)))
				if got := receive(t, dlq, 1, time.Second); len(got) != 0 {
					t.Fatalf("FIFO DLQ delivered %q at move+retention", bodiesOf(got))
				}
			})
		})
	}
}

// TestDeadLetterRetentionFIFOSurvivesRestart checks that the FIFO retention
// start (the move) holds after a restart: it comes from the record's log
// timestamp, not from memory. Method: as in
// TestDeadLetterRetentionFIFOCountsFromMove, then reopen the engine at
// send+11 min (past send+retention, so the scan at open must count from
// the move too), receive the message at send+12 min with its original
// SentTimestamp; reopen again at move+retention and find it gone.
func TestDeadLetterRetentionFIFOSurvivesRestart(t *testing.T) {
	bubble(t, func(t *testing.T) {
		e := newQEnv(t)
		sent, sentAt, movedAt := redriveLate(t, e, true)
		time.Sleep(time.Until(sentAt.Add(dlqRetention + time.Minute)))
		e.reopen()
		time.Sleep(time.Minute)
		got := receive(t, e.queue("dlq.fifo"), 1, time.Second)
		if len(got) != 1 || got[0].MessageID != sent.MessageID || !got[0].SentTimestamp.Equal(sentAt) {
			t.Fatalf("after a restart at send+retention+1m: %+v, want message %s sent %v", got, sent.MessageID, sentAt)
		}
		time.Sleep(time.Until(movedAt.Add(dlqRetention)))
		e.reopen()
		if got := receive(t, e.queue("dlq.fifo"), 1, time.Second); len(got) != 0 {
			t.Fatalf("after a restart at move+retention: %q still delivered", bodiesOf(got))
		}
	})
}

// TestDeadLetterChainFIFOKeepsSentTimestamp checks a FIFO dead-letter
// queue that redrives on to a second one: the second move keeps the
// original send time (not the first move, where the first DLQ's retention
// started) and its retention counts from the second move. Method: src →
// dlq → dlq2, all FIFO with MaxReceiveCount 1; the first move at send+8m,
// the second at send+16m; dlq2 (retention 10 min) delivers the message at
// send+22m with SentTimestamp = send, and not at second move+10m.
func TestDeadLetterChainFIFOKeepsSentTimestamp(t *testing.T) {
	bubble(t, func(t *testing.T) {
		e := newQEnv(t)
		dlq2Attrs := DefaultQueueAttributes(true)
		dlq2Attrs.MessageRetention = dlqRetention
		e.create("dlq2.fifo", dlq2Attrs)
		dlqAttrs := DefaultQueueAttributes(true)
		dlqAttrs.MessageRetention = dlqRetention
		dlqAttrs.Redrive = &RedrivePolicy{DeadLetterTarget: QueueRef{Namespace: testNS, Name: "dlq2.fifo"}, MaxReceiveCount: 1}
		dlq := e.create("dlq.fifo", dlqAttrs)
		srcAttrs := DefaultQueueAttributes(true)
		srcAttrs.Redrive = &RedrivePolicy{DeadLetterTarget: QueueRef{Namespace: testNS, Name: "dlq.fifo"}, MaxReceiveCount: 1}
		src := e.create("src.fifo", srcAttrs)
		sendOne(t, src, "poison")
		sentAt := time.Now()
		for _, q := range []*Queue{src, dlq} {
			if got := receive(t, q, 1, moveAfter); len(got) != 1 || !got[0].SentTimestamp.Equal(sentAt) {
				t.Fatalf("receive from %s: %+v, want the message sent %v", q.Ref().Name, got, sentAt)
			}
			time.Sleep(moveAfter)
			if got := receive(t, q, 1, time.Minute); len(got) != 0 {
				t.Fatalf("receive from %s delivered %q instead of moving it", q.Ref().Name, bodiesOf(got))
			}
		}
		movedAt := time.Now()
		time.Sleep(6 * time.Minute) // past the first move + 10 min
		dlq2 := e.queue("dlq2.fifo")
		got := receive(t, dlq2, 1, time.Second)
		if len(got) != 1 || !got[0].SentTimestamp.Equal(sentAt) || got[0].ReceiveCount != 3 ||
			got[0].DeadLetterSource == nil || got[0].DeadLetterSource.Name != "dlq.fifo" {
			t.Fatalf("dlq2 receive: %+v, want the message sent %v, count 3, source dlq.fifo", got, sentAt)
		}
		time.Sleep(time.Until(movedAt.Add(dlqRetention)))
		if got := receive(t, dlq2, 1, time.Second); len(got) != 0 {
			t.Fatalf("dlq2 delivered %q at the second move + retention", bodiesOf(got))
		}
	})
}
