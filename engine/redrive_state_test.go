package engine

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sluice-dev/sluice/segment"
)

// TestRedriveCarriesReceiveState checks the receive state of a message
// across a dead-letter move and a move task back, as AWS shows it
// (NOTES-queue.md): with MaxReceiveCount 3, three receives in the source,
// the fourth receive moves it, and the first receive from the dead-letter
// queue reports ReceiveCount 4, the source's first receive time and the
// original send time. A restart between the move and that receive keeps
// all three (they come from the key block, version 3). The dead-letter
// queue's own redrive (MaxReceiveCount 2, to a second dead-letter queue)
// counts only its own receives. A move task back to the source starts the
// message afresh: ReceiveCount 1 and a new first receive time. Method: a
// synctest bubble (fake clock, 1 s between steps); the test fails on the
// code before key block version 3 (the DLQ receive reported 1).
func TestRedriveCarriesReceiveState(t *testing.T) {
	bubble(t, func(t *testing.T) {
		e := newQEnv(t)
		e.create("dlq2", DefaultQueueAttributes(false))
		dlqAttrs := DefaultQueueAttributes(false)
		dlqAttrs.Redrive = &RedrivePolicy{DeadLetterTarget: QueueRef{Namespace: testNS, Name: "dlq2"}, MaxReceiveCount: 2}
		e.create("dlq", dlqAttrs)
		dlqRef := QueueRef{Namespace: testNS, Name: "dlq"}
		srcAttrs := DefaultQueueAttributes(false)
		srcAttrs.Redrive = &RedrivePolicy{DeadLetterTarget: dlqRef, MaxReceiveCount: 3}
		src := e.create("src", srcAttrs)

		sent := sendBodies(t, src, "poison")[0]
		sentAt := time.Now()
		time.Sleep(time.Second)
		var firstReceive time.Time
		for i := 1; i <= 3; i++ {
			got := receive(t, src, 1, 0)
			if len(got) != 1 || got[0].ReceiveCount != i {
				t.Fatalf("source receive %d: %+v", i, got)
			}
			if i == 1 {
				firstReceive = got[0].FirstReceiveTimestamp
			}
			time.Sleep(time.Second)
		}
		if got := receive(t, src, 1, 0); len(got) != 0 {
			t.Fatalf("fourth receive delivered %q instead of moving it", bodiesOf(got))
		}
		if n := e.queue("dlq").Counts().Visible; n != 1 {
			t.Fatalf("%d messages in the DLQ, want 1", n)
		}

		// The count must come from the record: restart before receiving.
		e.reopen()
		time.Sleep(time.Second)
		dlq := e.queue("dlq")
		for i := 4; i <= 5; i++ {
			got := receive(t, dlq, 1, 0)
			if len(got) != 1 {
				t.Fatalf("DLQ receive %d: %d messages", i-3, len(got))
			}
			m := got[0]
			if m.ReceiveCount != i || !m.FirstReceiveTimestamp.Equal(firstReceive) || !m.SentTimestamp.Equal(sentAt) ||
				m.MessageID != sent.MessageID || m.DeadLetterSource == nil || m.DeadLetterSource.Name != "src" {
				t.Fatalf("DLQ receive %d: count %d first %v sent %v id %s source %v; want count %d first %v sent %v id %s source src",
					i-3, m.ReceiveCount, m.FirstReceiveTimestamp, m.SentTimestamp, m.MessageID, m.DeadLetterSource,
					i, firstReceive, sentAt, sent.MessageID)
			}
			time.Sleep(time.Second)
		}

		// The DLQ's MaxReceiveCount 2 counts its own two receives: the
		// third moves it on to dlq2, still counting across all queues.
		if got := receive(t, dlq, 1, 0); len(got) != 0 {
			t.Fatalf("third DLQ receive delivered %q instead of moving it on", bodiesOf(got))
		}
		if got := receive(t, e.queue("dlq2"), 1, 0); len(got) != 1 || got[0].ReceiveCount != 6 ||
			!got[0].FirstReceiveTimestamp.Equal(firstReceive) || got[0].DeadLetterSource.Name != "dlq" {
			t.Fatalf("dlq2 receive: %+v, want count 6, first %v, source dlq", got, firstReceive)
		}

		// A move task back to the source: a fresh start there.
		sendBodies(t, dlq, "direct")
		dlqMsgs := receive(t, dlq, 1, 0)
		if len(dlqMsgs) != 1 || dlqMsgs[0].ReceiveCount != 1 {
			t.Fatalf("a message sent to the DLQ directly: %+v", dlqMsgs)
		}
		time.Sleep(time.Second)
		srcRef := QueueRef{Namespace: testNS, Name: "src"}
		if _, err := e.db.StartMoveTask(QueueRef{Namespace: testNS, Name: "dlq2"}, &srcRef, 0); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		movedAt := time.Now()
		time.Sleep(time.Second)
		receivedAt := time.Now()
		// A new message there (AWS: "considered new messages with a new
		// messageID and enqueueTime"): new id, sent at the move, first
		// received now, count 1.
		got := receive(t, e.queue("src"), 1, 0)
		if len(got) != 1 || got[0].ReceiveCount != 1 || !got[0].FirstReceiveTimestamp.Equal(receivedAt) ||
			got[0].MessageID == sent.MessageID || !got[0].SentTimestamp.Equal(movedAt) {
			t.Fatalf("after the move task: %+v, want count 1, first receive %v, sent %v, an id other than %s", got, receivedAt, movedAt, sent.MessageID)
		}
	})
}

// TestMessageRecordVersionsSurviveRestart checks that records of every key
// block version in one queue's log decode and deliver after a reopen:
// version 1 (no digest), version 2 (digest) and version 3 (receive state,
// with and without digest). Method: append the four records as moves,
// check the version byte of each record in the log, reopen, receive all
// four and compare what each delivery reports; then reopen again with the
// four in flight and check a redelivery continues each count.
func TestMessageRecordVersionsSurviveRestart(t *testing.T) {
	bubble(t, func(t *testing.T) {
		e := newQEnv(t)
		q := e.create("q", DefaultQueueAttributes(false))
		first := time.Now().Add(-time.Hour).UnixNano()
		recs := []messageRecord{
			{id: [16]byte{1}, senderID: "s1"},
			{id: [16]byte{2}, digest: [16]byte{0xd2}, hasDigest: true, senderID: "s2"},
			{id: [16]byte{3}, receiveCount: 7, firstReceivedAt: first, sentAt: first - 1, senderID: "s3",
				deadLetterSource: &QueueRef{Namespace: testNS, Name: "src"}},
			{id: [16]byte{4}, digest: [16]byte{0xd4}, hasDigest: true, receiveCount: 1, firstReceivedAt: first + 1,
				senderID: "s4", attributes: []MessageAttribute{{Name: "a", DataType: "String", StringValue: "v"}}},
		}
		wantVersions := []byte{recordVersion1, recordVersion2, recordVersion3, recordVersion3}
		bodies := [][]byte{[]byte("b1"), []byte("b2"), []byte("b3"), []byte("b4")}
		if err := q.appendMoved(append([]messageRecord(nil), recs...), bodies); err != nil {
			t.Fatal(err)
		}
		appended := time.Now()
		var versions []byte
		if _, err := q.log.Read(q.log.FirstSeq(), 10, 0, func(r *segment.Record) error {
			versions = append(versions, r.Key[0])
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if string(versions) != string(wantVersions) {
			t.Fatalf("record versions in the log %v, want %v", versions, wantVersions)
		}

		e.reopen()
		time.Sleep(time.Second)
		now := time.Now()
		got := receive(t, e.queue("q"), 10, time.Minute)
		if len(got) != len(recs) {
			t.Fatalf("received %d of %d", len(got), len(recs))
		}
		for i, m := range got {
			r := recs[i]
			wantCount, wantFirst, wantSent := 1, now, appended
			if r.receiveCount > 0 {
				wantCount, wantFirst = int(r.receiveCount)+1, time.Unix(0, r.firstReceivedAt)
			}
			if r.sentAt > 0 {
				wantSent = time.Unix(0, r.sentAt)
			}
			if m.MessageID != formatUUID(r.id) || string(m.Body) != string(bodies[i]) || m.SenderID != r.senderID ||
				m.HasBodyDigest != r.hasDigest || m.BodyDigest != r.digest || len(m.Attributes) != len(r.attributes) ||
				(r.deadLetterSource == nil) != (m.DeadLetterSource == nil) {
				t.Errorf("record %d (v%d) delivered as %+v", i, wantVersions[i], m)
			}
			if m.ReceiveCount != wantCount || !m.FirstReceiveTimestamp.Equal(wantFirst) || !m.SentTimestamp.Equal(wantSent) {
				t.Errorf("record %d (v%d): count %d first %v sent %v, want %d %v %v", i, wantVersions[i],
					m.ReceiveCount, m.FirstReceiveTimestamp, m.SentTimestamp, wantCount, wantFirst, wantSent)
			}
		}

		// In flight across a restart, then visible again: the persisted
		// count wins over the record's.
		e.reopen()
		time.Sleep(2 * time.Minute)
		again := receive(t, e.queue("q"), 10, time.Minute)
		if len(again) != len(recs) {
			t.Fatalf("redelivered %d of %d", len(again), len(recs))
		}
		for i, m := range again {
			if m.ReceiveCount != got[i].ReceiveCount+1 || !m.FirstReceiveTimestamp.Equal(got[i].FirstReceiveTimestamp) {
				t.Errorf("record %d redelivered with count %d first %v, want %d %v", i,
					m.ReceiveCount, m.FirstReceiveTimestamp, got[i].ReceiveCount+1, got[i].FirstReceiveTimestamp)
			}
		}
	})
}

// TestMoveTaskFIFOGroupOrderOnMissingSource checks FIFO order when a move
// task without a destination meets a message it cannot move. The bug: the
// task left the group's head (sent to the dead-letter queue directly, so it
// has no source) visible and went on to the next message of the same
// group, moving it back to its source ahead of the head. Now delivery of a
// group stops at a message left where it was, so nothing of the group
// moves. Method: a FIFO source redriving to a FIFO DLQ; in group g the DLQ
// holds first a message sent to it directly, then one redriven from the
// source; a task with no destination fails and the redriven message must
// still be in the DLQ, behind the head.
func TestMoveTaskFIFOGroupOrderOnMissingSource(t *testing.T) {
	bubble(t, func(t *testing.T) {
		e := newQEnv(t)
		dlq := e.create("dlq.fifo", DefaultQueueAttributes(true))
		dlqRef := QueueRef{Namespace: testNS, Name: "dlq.fifo"}
		attrs := DefaultQueueAttributes(true)
		attrs.Redrive = &RedrivePolicy{DeadLetterTarget: dlqRef, MaxReceiveCount: 1}
		src := e.create("src.fifo", attrs)
		send := func(q *Queue, body string) {
			t.Helper()
			res, err := q.Send(context.Background(), []SendMessage{{Body: []byte(body), GroupID: "g", DeduplicationID: body}})
			if err != nil || res[0].Err != nil {
				t.Fatalf("Send %s: %v %+v", body, err, res)
			}
		}
		send(dlq, "direct")
		send(src, "redriven")
		if got := receive(t, src, 1, time.Second); len(got) != 1 {
			t.Fatalf("source receive: %+v", got)
		}
		time.Sleep(time.Second)
		if got := receive(t, src, 1, time.Second); len(got) != 0 {
			t.Fatalf("second source receive delivered %q instead of moving it", bodiesOf(got))
		}
		if n := dlq.Counts().Visible; n != 2 {
			t.Fatalf("%d messages in the DLQ, want 2", n)
		}
		if _, err := e.db.StartMoveTask(dlqRef, nil, 0); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if task := newestTask(t, e.db, dlqRef); task.Status != MoveTaskFailed || task.Failure != MoveTaskFailureUnknownSource {
			t.Fatalf("task: %+v, want FAILED (unknown source)", task)
		}
		if got := receive(t, src, 1, time.Second); len(got) != 0 {
			t.Fatalf("the task moved %q back ahead of the head of its group", bodiesOf(got))
		}
		if got := receive(t, dlq, 10, time.Second); len(got) != 2 || string(got[0].Body) != "direct" || string(got[1].Body) != "redriven" {
			t.Fatalf("DLQ after the task: %q, want [direct redriven]", bodiesOf(got))
		}
	})
}

// TestMovedMessagesOutsideDedupWindow is a regression test. Bug story: a
// message moved into a FIFO queue (dead-letter redrive, or a move task) did
// not enter that queue's deduplication window while the DB ran, but the
// window rebuilt at open from the log included it, so a producer's send
// reusing its MessageDeduplicationId within 5 minutes of the move was
// accepted before a restart and silently dropped as a duplicate after one.
// Moved messages now stay out of the window either way. Method: two
// messages are sent, then (6 minutes later, past the originals' window)
// redriven to the DLQ, moved back by a move task, and redriven again;
// after a reopen their dedup ids are sent again to the source (which got
// the move task's copies) and to the DLQ (which holds the redriven ones).
func TestMovedMessagesOutsideDedupWindow(t *testing.T) {
	bubble(t, func(t *testing.T) {
		e := newQEnv(t)
		dlq := e.create("dlq.fifo", DefaultQueueAttributes(true))
		dlqRef := QueueRef{Namespace: testNS, Name: "dlq.fifo"}
		attrs := DefaultQueueAttributes(true)
		attrs.Redrive = &RedrivePolicy{DeadLetterTarget: dlqRef, MaxReceiveCount: 1}
		src := e.create("src.fifo", attrs)
		send := func(q *Queue, group, dedup string) SendResult {
			t.Helper()
			res, err := q.Send(context.Background(), []SendMessage{{Body: []byte(dedup), GroupID: group, DeduplicationID: dedup}})
			if err != nil || res[0].Err != nil {
				t.Fatalf("Send %s: %v %+v", dedup, err, res)
			}
			return res[0]
		}
		redriveAll := func() {
			t.Helper()
			if got := receive(t, src, 10, time.Second); len(got) != 2 {
				t.Fatalf("receive before the redrive: %q", bodiesOf(got))
			}
			time.Sleep(2 * time.Second)
			if got := receive(t, src, 10, time.Second); len(got) != 0 {
				t.Fatalf("receive delivered %q instead of moving them", bodiesOf(got))
			}
			if n := dlq.Counts().Visible; n != 2 {
				t.Fatalf("%d messages in the DLQ after the redrive, want 2", n)
			}
		}
		send(src, "a", "to-source")
		send(src, "b", "to-dlq")
		time.Sleep(6 * time.Minute) // the original sends leave the window
		redriveAll()
		if _, err := e.db.StartMoveTask(dlqRef, nil, 0); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if n := src.Counts().Visible; n != 2 {
			t.Fatalf("%d messages back in the source, want 2", n)
		}
		redriveAll()
		e.reopen()
		for _, c := range []struct{ queue, dedup string }{{"src.fifo", "to-source"}, {"dlq.fifo", "to-dlq"}} {
			q := e.queue(c.queue)
			before := q.Counts().Visible
			if res := send(q, "again", c.dedup); res.Duplicate {
				t.Fatalf("send of %s to %s after a restart was taken for a duplicate of a moved copy: %+v", c.dedup, c.queue, res)
			}
			if after := q.Counts().Visible; after != before+1 {
				t.Fatalf("%s: %d visible after the send, want %d", c.queue, after, before+1)
			}
		}
	})
}

// TestMoveTaskIgnoresDLQRedrivePolicy is a regression test. Bug story: a
// move task takes messages out of a dead-letter queue through the receive
// path, and that path applied the DLQ's own redrive policy: a message
// received in the DLQ as often as the DLQ's MaxReceiveCount was redriven
// on to the next dead-letter queue instead of being moved back. A move
// task is no receive; it now never redrives. Method: src → dlq → dlq2,
// both MaxReceiveCount 1; a message reaches dlq, is received there once,
// and a move task must return it to src, leaving dlq2 empty.
func TestMoveTaskIgnoresDLQRedrivePolicy(t *testing.T) {
	bubble(t, func(t *testing.T) {
		e := newQEnv(t)
		dlq2 := e.create("dlq2", DefaultQueueAttributes(false))
		dlq2Ref := QueueRef{Namespace: testNS, Name: "dlq2"}
		dlqAttrs := DefaultQueueAttributes(false)
		dlqAttrs.Redrive = &RedrivePolicy{DeadLetterTarget: dlq2Ref, MaxReceiveCount: 1}
		dlq := e.create("dlq", dlqAttrs)
		dlqRef := QueueRef{Namespace: testNS, Name: "dlq"}
		srcAttrs := DefaultQueueAttributes(false)
		srcAttrs.Redrive = &RedrivePolicy{DeadLetterTarget: dlqRef, MaxReceiveCount: 1}
		src := e.create("src", srcAttrs)
		sendBodies(t, src, "m")
		for i, want := range []int{1, 0} {
			if got := receive(t, src, 1, time.Second); len(got) != want {
				t.Fatalf("source receive %d: %q, want %d messages", i, bodiesOf(got), want)
			}
			time.Sleep(2 * time.Second)
		}
		if got := receive(t, dlq, 1, time.Second); len(got) != 1 {
			t.Fatalf("DLQ receive: %q", bodiesOf(got))
		}
		time.Sleep(2 * time.Second)
		if _, err := e.db.StartMoveTask(dlqRef, nil, 0); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if c := dlq2.Counts(); c.Visible+c.InFlight != 0 {
			t.Fatalf("the move task redrove the message to dlq2: %+v", c)
		}
		if got := receive(t, src, 1, time.Second); len(got) != 1 || string(got[0].Body) != "m" {
			t.Fatalf("source after the move task: %q, want [m]", bodiesOf(got))
		}
	})
}

// TestAttemptReplayKeepsTwelveHourCap is a regression test. Bug story: a
// FIFO receive retried with the same ReceiveRequestAttemptId gives its
// messages a fresh visibility timeout, and did so without the 12-hour cap
// from the receive that ChangeVisibility enforces: a 12-hour receive
// replayed 4 minutes later stayed in flight 12 h 4 min. Method: receive
// with 12 h, replay after 4 minutes, and check the message is visible
// again 12 hours after the first receive.
func TestAttemptReplayKeepsTwelveHourCap(t *testing.T) {
	bubble(t, func(t *testing.T) {
		e := newQEnv(t)
		q := e.create("cap.fifo", DefaultQueueAttributes(true))
		if _, err := q.Send(context.Background(), []SendMessage{{Body: []byte("m"), GroupID: "g", DeduplicationID: "m"}}); err != nil {
			t.Fatal(err)
		}
		vis := VisibilityTimeoutMax
		opts := ReceiveOptions{Max: 1, Visibility: &vis, AttemptID: "try"}
		first, err := q.Receive(context.Background(), opts)
		if err != nil || len(first) != 1 {
			t.Fatalf("receive: %+v %v", first, err)
		}
		time.Sleep(4 * time.Minute)
		again, err := q.Receive(context.Background(), opts)
		if err != nil || len(again) != 1 || string(again[0].Receipt) != string(first[0].Receipt) {
			t.Fatalf("replay: %+v %v", again, err)
		}
		time.Sleep(VisibilityTimeoutMax - 4*time.Minute)
		if got := receive(t, q, 1, time.Second); len(got) != 1 {
			t.Fatalf("12 hours after the first receive the message is still in flight: %+v", q.Counts())
		}
	})
}

// TestFIFORedriveReplacesDeduplicationID checks AWS's rule for FIFO
// dead-letter moves: "the original message's deduplication ID will be
// replaced with the original message's ID" (developer guide, configuring a
// dead-letter queue redrive). Bug story: the DLQ delivery reported the
// source's deduplication id. Method: a FIFO message with deduplication id
// "d" is redriven (MaxReceiveCount 1); the DLQ receive reports its message
// id as MessageDeduplicationId, before and after a reopen.
func TestFIFORedriveReplacesDeduplicationID(t *testing.T) {
	bubble(t, func(t *testing.T) {
		e := newQEnv(t)
		e.create("dlq.fifo", DefaultQueueAttributes(true))
		attrs := DefaultQueueAttributes(true)
		attrs.Redrive = &RedrivePolicy{DeadLetterTarget: QueueRef{Namespace: testNS, Name: "dlq.fifo"}, MaxReceiveCount: 1}
		src := e.create("src.fifo", attrs)
		sent := sendOne(t, src, "m")
		if got := receive(t, src, 1, time.Second); len(got) != 1 || got[0].DeduplicationID != "d" {
			t.Fatalf("source receive: %+v, want the message with deduplication id d", got)
		}
		time.Sleep(2 * time.Second)
		if got := receive(t, src, 1, time.Second); len(got) != 0 {
			t.Fatalf("source receive delivered %q instead of moving it", bodiesOf(got))
		}
		want := sent.MessageID
		for round := range 2 {
			got := receive(t, e.queue("dlq.fifo"), 1, time.Second)
			if len(got) != 1 || got[0].DeduplicationID != want || got[0].MessageID != want {
				t.Fatalf("round %d: DLQ receive %+v, want message %s with that id as its deduplication id", round, got, want)
			}
			time.Sleep(2 * time.Second)
			e.reopen()
		}
	})
}
