package sqs

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sluice-dev/sluice/engine"
)

// TestRealVisibility checks visibility timeouts on the real engine: the
// queue default hides a received message until it expires, a per-receive
// VisibilityTimeout overrides it, redelivery comes with a new receipt and
// an incremented ApproximateReceiveCount (ApproximateFirstReceiveTimestamp
// unchanged), ChangeMessageVisibility extends or (with 0) ends the timeout,
// and the 12-hour cap on one delivery's total time in flight holds.
func TestRealVisibility(t *testing.T) {
	e := newRealEnv(t)
	ctx := context.Background()
	url := e.createQueue("vis", map[string]string{"VisibilityTimeout": "30"})
	e.send(url, "m1")

	first := e.receive(url, 10, 0)
	if len(first) != 1 || aws.ToString(first[0].Body) != "m1" || first[0].Attributes["ApproximateReceiveCount"] != "1" {
		t.Fatalf("first receive = %+v", first)
	}
	if c := e.counts(url); c != [3]int{0, 1, 0} {
		t.Errorf("counts with one in flight = %v, want [0 1 0]", c)
	}
	if got := e.receive(url, 10, 0); len(got) != 0 {
		t.Fatalf("receive while in flight returned %d messages", len(got))
	}
	e.clock.Advance(29 * time.Second)
	if got := e.receive(url, 10, 0); len(got) != 0 {
		t.Fatalf("receive before the queue's 30s timeout returned %d messages", len(got))
	}
	e.clock.Advance(2 * time.Second)
	second := e.receive(url, 10, 5) // per-receive visibility 5s
	if len(second) != 1 {
		t.Fatalf("redelivery after the timeout: %d messages", len(second))
	}
	m := second[0]
	if aws.ToString(m.ReceiptHandle) == aws.ToString(first[0].ReceiptHandle) {
		t.Errorf("redelivery reused the receipt handle")
	}
	if aws.ToString(m.MessageId) != aws.ToString(first[0].MessageId) || m.Attributes["ApproximateReceiveCount"] != "2" {
		t.Errorf("redelivery = id %s count %s", aws.ToString(m.MessageId), m.Attributes["ApproximateReceiveCount"])
	}
	if m.Attributes["ApproximateFirstReceiveTimestamp"] != first[0].Attributes["ApproximateFirstReceiveTimestamp"] {
		t.Errorf("ApproximateFirstReceiveTimestamp changed: %s -> %s", first[0].Attributes["ApproximateFirstReceiveTimestamp"], m.Attributes["ApproximateFirstReceiveTimestamp"])
	}
	// The per-receive 5s applies, not the queue's 30s.
	e.clock.Advance(6 * time.Second)
	third := e.receive(url, 10, 0)
	if len(third) != 1 || third[0].Attributes["ApproximateReceiveCount"] != "3" {
		t.Fatalf("redelivery after the per-receive timeout: %+v", third)
	}
	m = third[0]

	// On a standard queue the receipt of an earlier delivery applies to
	// the current one, as on AWS (TestRealStaleReceiptChangeVisibility).
	if _, err := e.client.ChangeMessageVisibility(ctx, &sdk.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: first[0].ReceiptHandle, VisibilityTimeout: 10}); err != nil {
		t.Errorf("ChangeMessageVisibility with an earlier delivery's receipt: %v", err)
	}
	// Extend, then end the timeout with 0: visible at once.
	if _, err := e.client.ChangeMessageVisibility(ctx, &sdk.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 600}); err != nil {
		t.Fatalf("ChangeMessageVisibility(600): %v", err)
	}
	e.clock.Advance(40 * time.Second) // past the queue default, inside the 600s
	if got := e.receive(url, 10, 0); len(got) != 0 {
		t.Fatalf("extended message delivered early")
	}
	if _, err := e.client.ChangeMessageVisibility(ctx, &sdk.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		t.Fatalf("ChangeMessageVisibility(0): %v", err)
	}
	// The message is visible, not in flight: changing it again is
	// MessageNotInflight.
	_, err := e.client.ChangeMessageVisibility(ctx, &sdk.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 10})
	var notInflight *types.MessageNotInflight
	if !errors.As(err, &notInflight) {
		t.Errorf("ChangeMessageVisibility of a visible message: %v", err)
	}
	fourth := e.receive(url, 10, 0)
	if len(fourth) != 1 || fourth[0].Attributes["ApproximateReceiveCount"] != "4" {
		t.Fatalf("receive after visibility 0: %+v", fourth)
	}
	m = fourth[0]

	// 12-hour cap on one delivery's time in flight, counted from the
	// receive (AWS rejects 43200 even right after the receive, since some
	// time has passed): 6h is allowed; a second before those 6h run out
	// (at 6h its timeout has expired and the message is no longer in
	// flight), 6h minus 5s more is allowed, 6h plus two seconds is not.
	_, err = e.client.ChangeMessageVisibility(ctx, &sdk.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 43200})
	if code := apiCode(t, err); code != "InvalidParameterValue" {
		t.Errorf("ChangeMessageVisibility(43200) after the receive: %v", err)
	}
	if _, err := e.client.ChangeMessageVisibility(ctx, &sdk.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 6 * 3600}); err != nil {
		t.Fatalf("ChangeMessageVisibility(6h): %v", err)
	}
	e.clock.Advance(6*time.Hour - time.Second)
	if _, err := e.client.ChangeMessageVisibility(ctx, &sdk.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 6*3600 - 5}); err != nil {
		t.Errorf("ChangeMessageVisibility to just under 12h in flight: %v", err)
	}
	_, err = e.client.ChangeMessageVisibility(ctx, &sdk.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 6*3600 + 2})
	if code := apiCode(t, err); code != "InvalidParameterValue" {
		t.Errorf("ChangeMessageVisibility past 12h in flight: %v", err)
	}
	_, err = e.client.ChangeMessageVisibility(ctx, &sdk.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 43201})
	if code := apiCode(t, err); code != "InvalidParameterValue" {
		t.Errorf("VisibilityTimeout 43201: %v", err)
	}

	e.deleteMessage(url, m)
	if c := e.counts(url); c != [3]int{0, 0, 0} {
		t.Errorf("counts after delete = %v", c)
	}
	_, err = e.client.ChangeMessageVisibility(ctx, &sdk.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 10})
	if err == nil {
		t.Errorf("ChangeMessageVisibility of a deleted message succeeded")
	}
}

// TestRealVisibilityBatch checks ChangeMessageVisibilityBatch: per-entry
// success and failure (malformed, stale), and the effect of each timeout.
func TestRealVisibilityBatch(t *testing.T) {
	e := newRealEnv(t)
	ctx := context.Background()
	url := e.createQueue("visbatch", map[string]string{"VisibilityTimeout": "30"})
	for i := range 3 {
		e.send(url, "m"+strconv.Itoa(i))
	}
	msgs := e.receive(url, 10, 0)
	if len(msgs) != 3 {
		t.Fatalf("received %d of 3", len(msgs))
	}
	out, err := e.client.ChangeMessageVisibilityBatch(ctx, &sdk.ChangeMessageVisibilityBatchInput{QueueUrl: &url, Entries: []types.ChangeMessageVisibilityBatchRequestEntry{
		{Id: aws.String("zero"), ReceiptHandle: msgs[0].ReceiptHandle, VisibilityTimeout: 0},
		{Id: aws.String("long"), ReceiptHandle: msgs[1].ReceiptHandle, VisibilityTimeout: 3600},
		{Id: aws.String("bad"), ReceiptHandle: aws.String("garbage!"), VisibilityTimeout: 10},
		{Id: aws.String("over"), ReceiptHandle: msgs[2].ReceiptHandle, VisibilityTimeout: 43201},
	}})
	if err != nil {
		t.Fatalf("ChangeMessageVisibilityBatch: %v", err)
	}
	if len(out.Successful) != 2 || len(out.Failed) != 2 {
		t.Fatalf("batch result %+v", out)
	}
	failed := map[string]string{}
	for _, f := range out.Failed {
		failed[aws.ToString(f.Id)] = aws.ToString(f.Code)
	}
	if failed["bad"] != "ReceiptHandleIsInvalid" || failed["over"] != "InvalidParameterValue" {
		t.Errorf("failures %v", failed)
	}
	got := e.receive(url, 10, 0)
	if len(got) != 1 || aws.ToString(got[0].Body) != "m0" {
		t.Errorf("after batch change: %v, want [m0]", bodies(got))
	}
	e.clock.Advance(31 * time.Second)
	got = e.receive(url, 10, 0)
	if len(got) != 2 { // m2 (30s default expired) and m0 (30s since its receive)
		t.Errorf("after 31s: %v, want m0 and m2", bodies(got))
	}
}

// TestRealReceipts checks receipt handle errors over the wire: malformed,
// well-formed but foreign (another queue's), garbage bytes, stale on a
// standard queue (success, AWS documents it may delete) and the batch
// variants.
func TestRealReceipts(t *testing.T) {
	e := newRealEnv(t)
	ctx := context.Background()
	a := e.createQueue("ra", map[string]string{"VisibilityTimeout": "0"})
	b := e.createQueue("rb", nil)
	e.send(a, "x")
	e.send(b, "y")
	ma := e.receive(a, 1, 0)
	mb := e.receive(b, 1, 0)
	if len(ma) != 1 || len(mb) != 1 {
		t.Fatalf("received %d, %d", len(ma), len(mb))
	}
	garbage := base64.RawURLEncoding.EncodeToString([]byte("definitely not a receipt"))
	for _, tc := range []struct {
		name   string
		handle string
	}{
		{"not base64", "not a handle"},
		{"garbage bytes", garbage},
		{"other queue", aws.ToString(mb[0].ReceiptHandle)},
	} {
		_, err := e.client.DeleteMessage(ctx, &sdk.DeleteMessageInput{QueueUrl: &a, ReceiptHandle: aws.String(tc.handle)})
		var invalid *types.ReceiptHandleIsInvalid
		if !errors.As(err, &invalid) {
			t.Errorf("DeleteMessage(%s): %v", tc.name, err)
		}
		_, err = e.client.ChangeMessageVisibility(ctx, &sdk.ChangeMessageVisibilityInput{QueueUrl: &a, ReceiptHandle: aws.String(tc.handle), VisibilityTimeout: 5})
		if !errors.As(err, &invalid) {
			t.Errorf("ChangeMessageVisibility(%s): %v", tc.name, err)
		}
	}

	// Queue a has visibility 0: the message is visible again at once and a
	// second receive issues a new receipt; the first is stale. On a
	// standard queue deleting with it succeeds.
	again := e.receive(a, 1, 0)
	if len(again) != 1 || again[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("second receive: %+v", again)
	}
	e.deleteMessage(a, ma[0])
	if c := e.counts(a); c[0]+c[1] != 0 {
		t.Errorf("stale-receipt delete left the message: counts %v", c)
	}
	// Deleting again (already deleted) also succeeds.
	e.deleteMessage(a, again[0])

	batch, err := e.client.DeleteMessageBatch(ctx, &sdk.DeleteMessageBatchInput{QueueUrl: &b, Entries: []types.DeleteMessageBatchRequestEntry{
		{Id: aws.String("ok"), ReceiptHandle: mb[0].ReceiptHandle},
		{Id: aws.String("bad"), ReceiptHandle: aws.String("%%%")},
		{Id: aws.String("foreign"), ReceiptHandle: ma[0].ReceiptHandle},
	}})
	if err != nil {
		t.Fatalf("DeleteMessageBatch: %v", err)
	}
	if len(batch.Successful) != 1 || aws.ToString(batch.Successful[0].Id) != "ok" || len(batch.Failed) != 2 {
		t.Fatalf("DeleteMessageBatch = %+v", batch)
	}
	for _, f := range batch.Failed {
		if aws.ToString(f.Code) != "ReceiptHandleIsInvalid" || !f.SenderFault {
			t.Errorf("failure %s: %s (sender %v)", aws.ToString(f.Id), aws.ToString(f.Code), f.SenderFault)
		}
	}
	if c := e.counts(b); c != [3]int{0, 0, 0} {
		t.Errorf("queue b after batch delete: %v", c)
	}
	for _, tc := range []struct {
		entries []types.DeleteMessageBatchRequestEntry
		code    string
	}{
		{[]types.DeleteMessageBatchRequestEntry{}, "AWS.SimpleQueueService.EmptyBatchRequest"},
		{[]types.DeleteMessageBatchRequestEntry{{Id: aws.String("a"), ReceiptHandle: aws.String("x")}, {Id: aws.String("a"), ReceiptHandle: aws.String("y")}}, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"},
		{[]types.DeleteMessageBatchRequestEntry{{Id: aws.String("a b"), ReceiptHandle: aws.String("x")}}, "AWS.SimpleQueueService.InvalidBatchEntryId"},
		{make11Deletes(), "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"},
	} {
		_, err := e.client.DeleteMessageBatch(ctx, &sdk.DeleteMessageBatchInput{QueueUrl: &b, Entries: tc.entries})
		if code := apiCode(t, err); code != tc.code {
			t.Errorf("DeleteMessageBatch(%d entries) = %v, want %s", len(tc.entries), err, tc.code)
		}
	}
}

func make11Deletes() []types.DeleteMessageBatchRequestEntry {
	out := make([]types.DeleteMessageBatchRequestEntry, 11)
	for i := range out {
		out[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String("e" + strconv.Itoa(i)), ReceiptHandle: aws.String("x")}
	}
	return out
}

// receiveObserver wraps the engine backend and reports each queue Receive
// call as it enters the engine, so a test can send while a long poll is
// parked without sleeping.
type receiveObserver struct {
	backend
	entered chan struct{}
}

type observedQueue struct {
	queueHandle
	entered chan struct{}
}

func (o receiveObserver) Queue(ns engine.Namespace, name string) (queueHandle, error) {
	q, err := o.backend.Queue(ns, name)
	if err != nil {
		return nil, err
	}
	return observedQueue{q, o.entered}, nil
}

func (q observedQueue) Receive(ctx context.Context, opts engine.ReceiveOptions) ([]engine.ReceivedMessage, error) {
	select {
	case q.entered <- struct{}{}:
	default:
	}
	return q.queueHandle.Receive(ctx, opts)
}

// TestRealLongPoll checks long polling over the wire: an empty queue makes
// the receive wait the full WaitTimeSeconds (or the queue's
// ReceiveMessageWaitTimeSeconds) and return empty; a message sent while the
// receive is parked ends it at once; a delayed message ends it when due.
// Bounds are loose (the waits are 1–2 s of real time).
func TestRealLongPoll(t *testing.T) {
	entered := make(chan struct{}, 1)
	e := newRealEnvWrapped(t, func(b backend) backend { return receiveObserver{b, entered} })
	ctx := context.Background()
	url := e.createQueue("poll", nil)
	waitQueue := e.createQueue("pollq", map[string]string{"ReceiveMessageWaitTimeSeconds": "1"})

	drain := func() {
		select {
		case <-entered:
		default:
		}
	}

	// Empty queue: the full wait, then an empty result.
	drain()
	start := time.Now()
	out, err := e.client.ReceiveMessage(ctx, &sdk.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 1})
	elapsed := time.Since(start)
	if err != nil || len(out.Messages) != 0 {
		t.Fatalf("empty long poll: %v, %d messages", err, len(out.Messages))
	}
	if elapsed < 950*time.Millisecond || elapsed > 3*time.Second {
		t.Errorf("empty long poll of 1s took %s", elapsed)
	}
	// The queue's ReceiveMessageWaitTimeSeconds applies without a wait.
	start = time.Now()
	out, err = e.client.ReceiveMessage(ctx, &sdk.ReceiveMessageInput{QueueUrl: &waitQueue})
	elapsed = time.Since(start)
	if err != nil || len(out.Messages) != 0 || elapsed < 950*time.Millisecond || elapsed > 3*time.Second {
		t.Errorf("queue-default long poll: %v, %d messages after %s", err, len(out.Messages), elapsed)
	}

	// A send wakes a parked receive.
	drain()
	type result struct {
		msgs    []types.Message
		err     error
		elapsed time.Duration
	}
	done := make(chan result, 1)
	start = time.Now()
	go func() {
		out, err := e.client.ReceiveMessage(ctx, &sdk.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 10, MaxNumberOfMessages: 10})
		r := result{err: err, elapsed: time.Since(start)}
		if out != nil {
			r.msgs = out.Messages
		}
		done <- r
	}()
	<-entered // the receive is in the engine (parking, or parked)
	e.send(url, "wake")
	r := <-done
	if r.err != nil || len(r.msgs) != 1 || aws.ToString(r.msgs[0].Body) != "wake" {
		t.Fatalf("woken long poll: %v, %v", r.err, bodies(r.msgs))
	}
	if r.elapsed > 5*time.Second {
		t.Errorf("woken long poll returned after %s (wait was 10s)", r.elapsed)
	}
	e.deleteMessage(url, r.msgs[0])

	// A delayed message ends the poll when it becomes due (1s), not at the
	// end of the wait.
	if _, err := e.client.SendMessage(ctx, &sdk.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("later"), DelaySeconds: 1}); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	out, err = e.client.ReceiveMessage(ctx, &sdk.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 10})
	elapsed = time.Since(start)
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("delayed long poll: %v, %v", err, out)
	}
	if elapsed < 500*time.Millisecond || elapsed > 5*time.Second {
		t.Errorf("delayed message (1s) ended a 10s poll after %s", elapsed)
	}

	// Out-of-range waits are refused.
	_, err = e.client.ReceiveMessage(ctx, &sdk.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 21})
	if code := apiCode(t, err); code != "InvalidParameterValue" {
		t.Errorf("WaitTimeSeconds 21: %v", err)
	}
}

// TestRealDelay checks DelaySeconds: the queue's default hides new messages
// (counted as delayed), a per-message DelaySeconds overrides it (0 too),
// and out-of-range values are refused.
func TestRealDelay(t *testing.T) {
	e := newRealEnv(t)
	ctx := context.Background()
	url := e.createQueue("delay", map[string]string{"DelaySeconds": "10"})
	e.send(url, "queue-default")
	send := func(body string, delay int32) {
		t.Helper()
		if _, err := e.client.SendMessage(ctx, &sdk.SendMessageInput{QueueUrl: &url, MessageBody: &body, DelaySeconds: delay}); err != nil {
			t.Fatalf("SendMessage(%s): %v", body, err)
		}
	}
	send("per-message-60", 60)
	// aws-sdk-go-v2 omits a zero DelaySeconds: the explicit 0 overriding a
	// queue delay is covered by TestRealQueryMessageFlow.
	if c := e.counts(url); c != [3]int{0, 0, 2} {
		t.Errorf("counts with two delayed = %v, want [0 0 2]", c)
	}
	if got := e.receive(url, 10, 0); len(got) != 0 {
		t.Fatalf("delayed messages delivered early: %v", bodies(got))
	}
	e.clock.Advance(10 * time.Second)
	got := e.receive(url, 10, 0)
	if len(got) != 1 || aws.ToString(got[0].Body) != "queue-default" {
		t.Fatalf("after 10s: %v, want [queue-default]", bodies(got))
	}
	e.deleteMessage(url, got[0])
	e.clock.Advance(50 * time.Second)
	got = e.receive(url, 10, 0)
	if len(got) != 1 || aws.ToString(got[0].Body) != "per-message-60" {
		t.Fatalf("after 60s: %v, want [per-message-60]", bodies(got))
	}
	_, err := e.client.SendMessage(ctx, &sdk.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("x"), DelaySeconds: 901})
	if code := apiCode(t, err); code != "InvalidParameterValue" {
		t.Errorf("DelaySeconds 901: %v", err)
	}
	_, err = e.client.SetQueueAttributes(ctx, &sdk.SetQueueAttributesInput{QueueUrl: &url, Attributes: map[string]string{"DelaySeconds": "901"}})
	if code := apiCode(t, err); code != "InvalidAttributeValue" {
		t.Errorf("queue DelaySeconds 901: %v", err)
	}
}

// TestRealRetention checks MessageRetentionPeriod with the 60 s minimum:
// messages older than the period are never delivered (visible or in
// flight), younger ones are.
func TestRealRetention(t *testing.T) {
	e := newRealEnv(t)
	url := e.createQueue("retain", map[string]string{"MessageRetentionPeriod": "60", "VisibilityTimeout": "10"})
	e.send(url, "old-inflight")
	if got := e.receive(url, 1, 0); len(got) != 1 {
		t.Fatalf("receive: %d", len(got))
	}
	e.send(url, "old-visible")
	e.clock.Advance(30 * time.Second)
	e.send(url, "young")
	e.clock.Advance(31 * time.Second) // the first two are 61s old, young is 31s
	got := e.receive(url, 10, 0)
	if len(got) != 1 || aws.ToString(got[0].Body) != "young" {
		t.Fatalf("after retention: %v, want [young]", bodies(got))
	}
	e.clock.Advance(30 * time.Second) // young is 61s old, in flight
	if got := e.receive(url, 10, 0); len(got) != 0 {
		t.Fatalf("expired in-flight message redelivered: %v", bodies(got))
	}
	if c := e.counts(url); c != [3]int{0, 0, 0} {
		t.Errorf("counts after everything expired: %v", c)
	}
	if a := e.attrs(url, "MessageRetentionPeriod"); a["MessageRetentionPeriod"] != "60" {
		t.Errorf("MessageRetentionPeriod = %q", a["MessageRetentionPeriod"])
	}
	for _, v := range []string{"59", "1209601"} {
		_, err := e.client.SetQueueAttributes(context.Background(), &sdk.SetQueueAttributesInput{QueueUrl: &url, Attributes: map[string]string{"MessageRetentionPeriod": v}})
		if code := apiCode(t, err); code != "InvalidAttributeValue" {
			t.Errorf("MessageRetentionPeriod %s: %v", v, err)
		}
	}
}

// TestRealPurge checks PurgeQueue: visible, in-flight and delayed messages
// are gone, messages sent afterwards are not, a second purge within 60 s is
// PurgeQueueInProgress and one after 60 s works.
func TestRealPurge(t *testing.T) {
	e := newRealEnv(t)
	ctx := context.Background()
	url := e.createQueue("purge", nil)
	e.send(url, "visible")
	e.send(url, "inflight")
	if got := e.receive(url, 1, 0); len(got) != 1 {
		t.Fatal("receive")
	}
	if _, err := e.client.SendMessage(ctx, &sdk.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("delayed"), DelaySeconds: 5}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.PurgeQueue(ctx, &sdk.PurgeQueueInput{QueueUrl: &url}); err != nil {
		t.Fatalf("PurgeQueue: %v", err)
	}
	if c := e.counts(url); c != [3]int{0, 0, 0} {
		t.Errorf("counts after purge: %v", c)
	}
	e.send(url, "after")
	_, err := e.client.PurgeQueue(ctx, &sdk.PurgeQueueInput{QueueUrl: &url})
	var inProgress *types.PurgeQueueInProgress
	if !errors.As(err, &inProgress) || apiCode(t, err) != "AWS.SimpleQueueService.PurgeQueueInProgress" {
		t.Errorf("second purge within 60s: %v", err)
	}
	e.clock.Advance(61 * time.Second) // past the in-flight and delay deadlines
	got := e.receive(url, 10, 0)
	if len(got) != 1 || aws.ToString(got[0].Body) != "after" {
		t.Errorf("after purge: %v, want [after]", bodies(got))
	}
	if _, err := e.client.PurgeQueue(ctx, &sdk.PurgeQueueInput{QueueUrl: &url}); err != nil {
		t.Errorf("purge after 60s: %v", err)
	}
}

// TestRealBatchBodyDigests checks MD5OfMessageBody of every entry of full
// and partial batches (the bodies are hashed together, several per vector
// instruction) against crypto/md5, including an entry that fails
// validation in the middle, and that the digest stored at send comes back
// as MD5OfBody on receive after a restart.
func TestRealBatchBodyDigests(t *testing.T) {
	e := newRealEnv(t)
	ctx := context.Background()
	url := e.createQueue("digests", nil)
	want := map[string]string{} // body → hex MD5
	sent := 0
	for _, sizes := range [][]int{
		{1, 55, 56, 63, 64, 119, 120, 1024, 4000, 70000},
		{10, 2000, 300},
		{5, 0, 77},            // the empty body fails: MissingParameter
		{1<<20 - 100, 33, 60}, // a body near 1 MiB beside short ones
	} {
		entries := make([]types.SendMessageBatchRequestEntry, len(sizes))
		for i, n := range sizes {
			body := make([]byte, n)
			for j := range body {
				body[j] = 'a' + byte((j*7+i+sent)%26)
			}
			entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String("e" + strconv.Itoa(i)), MessageBody: aws.String(string(body))}
		}
		out, err := e.client.SendMessageBatch(ctx, &sdk.SendMessageBatchInput{QueueUrl: &url, Entries: entries})
		if err != nil {
			t.Fatalf("SendMessageBatch(%v): %v", sizes, err)
		}
		for _, s := range out.Successful {
			i, _ := strconv.Atoi(aws.ToString(s.Id)[1:])
			body := aws.ToString(entries[i].MessageBody)
			sum := md5.Sum([]byte(body))
			if got := aws.ToString(s.MD5OfMessageBody); got != hex.EncodeToString(sum[:]) {
				t.Errorf("entry of %d bytes: MD5OfMessageBody %s, want %x", len(body), got, sum)
			}
			want[body] = hex.EncodeToString(sum[:])
			sent++
		}
		for _, f := range out.Failed {
			if i, _ := strconv.Atoi(aws.ToString(f.Id)[1:]); sizes[i] != 0 {
				t.Errorf("entry %d (%d bytes) failed: %s", i, sizes[i], aws.ToString(f.Code))
			}
		}
	}
	if sent != 18 {
		t.Fatalf("%d entries succeeded, want 18", sent)
	}
	e.restart()
	got := 0
	for got < sent {
		msgs := e.receive(url, 10, 300)
		if len(msgs) == 0 {
			t.Fatalf("received %d of %d", got, sent)
		}
		for _, m := range msgs {
			if w, ok := want[aws.ToString(m.Body)]; !ok || aws.ToString(m.MD5OfBody) != w {
				t.Errorf("received body of %d bytes with MD5OfBody %s, want %s", len(aws.ToString(m.Body)), aws.ToString(m.MD5OfBody), w)
			}
			got++
		}
	}
}
