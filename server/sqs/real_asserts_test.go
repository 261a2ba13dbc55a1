package sqs

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Differences from Amazon SQS found by replaying the plain assertions (not
// the snapshots) of LocalStack's AWS-validated tests in
// tests/aws/services/sqs/test_sqs.py. Each test names the LocalStack test
// whose assertion it pins.

// TestRealFIFOZeroDelaySeconds: a FIFO queue accepts an explicit
// DelaySeconds of 0 on SendMessage (test_send_message_with_delay_0_works_for_fifo:
// DelaySeconds=0, then the message is received). Before, Sluice answered
// InvalidParameterValue "Value 0 for parameter DelaySeconds is invalid.
// Reason: The request include parameter that is not valid for this queue
// type." as it does for any other value (which stays rejected).
func TestRealFIFOZeroDelaySeconds(t *testing.T) {
	e := newRealEnv(t)
	// A queue delay shows that 0 leaves the queue's delay in force, as for
	// a message sent without the parameter.
	delayed := e.createQueue("zero-delay-queue.fifo", map[string]string{"FifoQueue": "true", "DelaySeconds": "5"})
	plain := e.createQueue("zero-delay.fifo", map[string]string{"FifoQueue": "true"})
	for _, u := range []string{plain, delayed} {
		for _, a := range e.wireCall("SendMessage",
			map[string]any{"QueueUrl": u, "MessageBody": "Hello World!", "MessageGroupId": "test", "MessageDeduplicationId": "json-single", "DelaySeconds": 0},
			url.Values{"QueueUrl": {u}, "MessageBody": {"Hello World!"}, "MessageGroupId": {"test"}, "MessageDeduplicationId": {"query-single"}, "DelaySeconds": {"0"}}) {
			if a.Status != 200 {
				t.Errorf("%s SendMessage DelaySeconds=0: %s", u, a)
			}
		}
		for _, a := range e.wireCall("SendMessageBatch",
			map[string]any{"QueueUrl": u, "Entries": []map[string]any{{"Id": "e1", "MessageBody": "batch", "MessageGroupId": "test", "MessageDeduplicationId": "json-batch", "DelaySeconds": 0}}},
			url.Values{"QueueUrl": {u}, "SendMessageBatchRequestEntry.1.Id": {"e1"}, "SendMessageBatchRequestEntry.1.MessageBody": {"batch"},
				"SendMessageBatchRequestEntry.1.MessageGroupId": {"test"}, "SendMessageBatchRequestEntry.1.MessageDeduplicationId": {"query-batch"},
				"SendMessageBatchRequestEntry.1.DelaySeconds": {"0"}}) {
			ok := a.Status == 200
			if a.Protocol == "json" {
				failed, _ := a.JSON["Failed"].([]any)
				ok = ok && len(failed) == 0
			} else {
				ok = ok && !strings.Contains(a.XML, "BatchResultErrorEntry")
			}
			if !ok {
				t.Errorf("%s SendMessageBatch DelaySeconds=0: %s", u, a)
			}
		}
	}
	want := []string{"Hello World!", "Hello World!", "batch", "batch"}
	if got := bodies(e.receive(plain, 10, 0)); !slices.Equal(got, want) {
		t.Errorf("receive: %v, want %v", got, want)
	}
	if got := e.receive(delayed, 10, 0); len(got) != 0 {
		t.Errorf("queue with DelaySeconds 5 delivered at once: %v", bodies(got))
	}
	e.clock.Advance(6 * time.Second)
	if got := bodies(e.receive(delayed, 10, 0)); !slices.Equal(got, want) {
		t.Errorf("after the queue's delay: %v, want %v", got, want)
	}

	// Any other per-message delay is still refused on a FIFO queue.
	expectError(t, "DelaySeconds=2 on FIFO", e.wireCall("SendMessage",
		map[string]any{"QueueUrl": plain, "MessageBody": "m", "MessageGroupId": "g", "MessageDeduplicationId": "d2", "DelaySeconds": 2},
		url.Values{"QueueUrl": {plain}, "MessageBody": {"m"}, "MessageGroupId": {"g"}, "MessageDeduplicationId": {"d2"}, "DelaySeconds": {"2"}}),
		400, "InvalidParameterValue", "Value 2 for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.")
}

// TestRealAttributeNameLetters: message attribute names may hold letters
// and digits of any script (test_send_message_with_invalid_string_attributes
// sends "attr.1øßä" as its valid baseline, and expects "Invalid-§-attr"
// to fail). Before, Sluice accepted only [A-Za-z0-9_.-] and refused the
// baseline with InvalidParameterValue.
func TestRealAttributeNameLetters(t *testing.T) {
	e := newRealEnv(t)
	u := e.createQueue("attr-names", nil)
	send := func(name string) [2]wireAnswer {
		return e.wireCall("SendMessage",
			map[string]any{"QueueUrl": u, "MessageBody": "test", "MessageAttributes": map[string]any{name: map[string]any{"DataType": "String", "StringValue": "Valida"}}},
			url.Values{"QueueUrl": {u}, "MessageBody": {"test"}, "MessageAttribute.1.Name": {name},
				"MessageAttribute.1.Value.DataType": {"String"}, "MessageAttribute.1.Value.StringValue": {"Valida"}})
	}
	for _, name := range []string{"attr.1øßä", "Größe", "名前", "число_1"} {
		for _, a := range send(name) {
			if a.Status != 200 {
				t.Errorf("attribute %q: %s", name, a)
			}
		}
	}
	for _, m := range e.receive(u, 10, 0) {
		for name := range m.MessageAttributes {
			if !slices.Contains([]string{"attr.1øßä", "Größe", "名前", "число_1"}, name) {
				t.Errorf("received attribute name %q", name)
			}
		}
	}
	for _, name := range []string{"Invalid-§-attr", "Invalid-!-attr", "Invalid-(-attr", "a\u00a0b", "a😀b"} {
		expectError(t, "attribute "+name, send(name), 400, "InvalidParameterValue",
			"Message (user) attribute name '"+name+"' is invalid. Names can contain alphanumeric characters, hyphens, underscores and periods, cannot start or end with a period, cannot have consecutive periods and can be up to 256 characters long.")
	}
}

// TestRealPurgeClearsFIFODeduplication: purging a FIFO queue clears its
// deduplication window, so the purged message's MessageDeduplicationId is
// accepted again (test_purge_queue_clears_fifo_deduplication_cache: after
// the purge, a message with the same group and deduplication id is
// received). Before, Sluice kept the id for its 5 minutes and dropped the
// new message as a duplicate. A restart must not bring the purged id back
// (the window is rebuilt from the log), while ids sent after the purge
// still deduplicate.
func TestRealPurgeClearsFIFODeduplication(t *testing.T) {
	e := newRealEnv(t)
	ctx := context.Background()
	u := e.createQueue("purge-dedup.fifo", map[string]string{"FifoQueue": "true"})
	purge := func() {
		t.Helper()
		if _, err := e.client.PurgeQueue(ctx, &sdk.PurgeQueueInput{QueueUrl: &u}); err != nil {
			t.Fatalf("PurgeQueue: %v", err)
		}
	}
	first := e.sendFIFO(u, "message-1", "g", "dedup")
	purge()
	second := e.sendFIFO(u, "message-2", "g", "dedup")
	if aws.ToString(second.MessageId) == aws.ToString(first.MessageId) {
		t.Fatalf("send after purge was taken as a duplicate of the purged message %s", aws.ToString(first.MessageId))
	}
	if got := bodies(e.receive(u, 10, 0)); !slices.Equal(got, []string{"message-2"}) {
		t.Fatalf("receive after purge: %v, want [message-2]", got)
	}

	// Across a restart: the id sent before the purge stays cleared, the
	// one sent after it still deduplicates.
	e.clock.Advance(61 * time.Second) // past the purge interval
	e.sendFIFO(u, "message-3", "g", "before-purge")
	purge()
	kept := e.sendFIFO(u, "message-4", "g", "after-purge")
	e.restart()
	if again := e.sendFIFO(u, "message-4 again", "g", "after-purge"); aws.ToString(again.MessageId) != aws.ToString(kept.MessageId) {
		t.Errorf("after restart, a send after the purge no longer deduplicates: %s, want %s", aws.ToString(again.MessageId), aws.ToString(kept.MessageId))
	}
	e.sendFIFO(u, "message-3 again", "g", "before-purge")
	got := bodies(e.receive(u, 10, 0))
	if !slices.Equal(got, []string{"message-4", "message-3 again"}) {
		t.Errorf("after restart: %v, want [message-4 message-3 again]", got)
	}
}

// TestRealQueryEmptyResultSelfCloses: over the query protocol, a receive
// that finds nothing answers <ReceiveMessageResult/>
// (TestSqsQueryApi.test_get_send_and_receive_messages asserts that text).
// Before, Sluice wrote <ReceiveMessageResult></ReceiveMessageResult>. JSON
// keeps "Messages":[] (test_sqs.snapshot.json, get-messages-duplicate).
func TestRealQueryEmptyResultSelfCloses(t *testing.T) {
	e := newRealEnv(t)
	u := e.createQueue("empty-receive", nil)
	status, body := queryCall(t, e.url, "/", url.Values{"Action": {"ReceiveMessage"}, "QueueUrl": {u}})
	if status != 200 || !strings.Contains(body, "<ReceiveMessageResult/>") {
		t.Errorf("empty receive: %d %s, want <ReceiveMessageResult/>", status, body)
	}
	e.send(u, "foobar")
	status, body = queryCall(t, e.url, "/", url.Values{"Action": {"ReceiveMessage"}, "QueueUrl": {u}})
	if status != 200 || !strings.Contains(body, "<Body>foobar</Body>") || !strings.Contains(body, "</ReceiveMessageResult>") {
		t.Errorf("receive: %d %s", status, body)
	}
	a := e.wireCall("ReceiveMessage", map[string]any{"QueueUrl": u}, url.Values{"QueueUrl": {u}})
	if msgs, ok := a[0].JSON["Messages"].([]any); a[0].Status != 200 || !ok || len(msgs) != 0 {
		t.Errorf("JSON empty receive: %s, want \"Messages\":[]", a[0])
	}
}

// TestRealFIFOGroupOrderAfterReturn: FIFO groups are served in the order
// their heads became visible, so groups that were received and came back
// queue up behind groups that waited. Three LocalStack AWS-validated
// tests pin it: test_fifo_receive_message_with_zero_visibility_timeout
// (groups 1 and 2 received with VisibilityTimeout 0 come back behind
// group 3: [g3-m1 g1-m1 g1-m2 g2-m1 g2-m2]),
// test_fifo_receive_message_visibility_timeout_shared_in_group (after
// the timeout: [g3-m1 g1-m1…g1-m4 g2-m1]) and
// test_fifo_message_group_visibility_after_delete (a group whose received
// messages were deleted ranks by its next message's send: AWS's
// [g2-m1 g2-m2 g1-m3 g1-m4 g3-m1]). Before, Sluice served groups by their
// head's send order, so the first two answered [g1… g2… g3-m1].
func TestRealFIFOGroupOrderAfterReturn(t *testing.T) {
	e := newRealEnv(t)
	fifo := func(name string, attrs map[string]string) string {
		a := map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"}
		for k, v := range attrs {
			a[k] = v
		}
		return e.createQueue(name, a)
	}
	send := func(u string, msgs ...string) {
		for _, m := range msgs {
			e.sendFIFO(u, m, "group-"+m[1:2], "")
		}
	}
	check := func(what string, got []types.Message, want ...string) {
		t.Helper()
		if b := bodies(got); !slices.Equal(b, want) {
			t.Errorf("%s: %v, want %v", what, b, want)
		}
	}

	// VisibilityTimeout 0 as the queue default: aws-sdk-go-v2 does not
	// send an explicit 0 on ReceiveMessage.
	zero := fifo("zero-vt.fifo", map[string]string{"VisibilityTimeout": "0"})
	send(zero, "g1-m1", "g2-m1", "g2-m2", "g3-m1", "g1-m2")
	check("zero visibility, first receive", e.receive(zero, 3, 0), "g1-m1", "g1-m2", "g2-m1")
	check("zero visibility, drain", e.receive(zero, 10, 0), "g3-m1", "g1-m1", "g1-m2", "g2-m1", "g2-m2")

	shared := fifo("shared-vt.fifo", map[string]string{"VisibilityTimeout": "1"})
	send(shared, "g1-m1", "g1-m2", "g1-m3", "g1-m4", "g2-m1", "g3-m1")
	check("shared group, first receive", e.receive(shared, 2, 0), "g1-m1", "g1-m2")
	check("shared group, second receive", e.receive(shared, 1, 0), "g2-m1")
	e.clock.Advance(2 * time.Second)
	check("shared group, after the timeout", e.receive(shared, 10, 0), "g3-m1", "g1-m1", "g1-m2", "g1-m3", "g1-m4", "g2-m1")

	deleted := fifo("after-delete.fifo", nil)
	send(deleted, "g1-m1", "g2-m1", "g1-m2", "g2-m2", "g1-m2", "g1-m3", "g1-m4", "g3-m1")
	got := e.receive(deleted, 2, 0)
	check("after delete, first receive", got, "g1-m1", "g1-m2")
	for _, m := range got {
		e.deleteMessage(deleted, m)
	}
	check("after delete, drain", e.receive(deleted, 10, 0), "g2-m1", "g2-m2", "g1-m3", "g1-m4", "g3-m1")
}

// TestRealFIFOGroupOrderAfterVisibilityChange: a group whose head comes
// back from flight through ChangeMessageVisibility ranks by when it came
// back, behind a group that waited since its send. LocalStack's
// AWS-validated
// test_fifo_message_group_visibility_after_terminate_visibility_timeout
// (send g1-m1, g1-m2, g2-m1 to a queue with VisibilityTimeout 30; receive
// 2 gets g1-m1, g1-m2; ChangeMessageVisibility of g1-m1 to 0; receive 3
// gets exactly [g2-m1 g1-m1]) and
// test_fifo_message_group_visibility_after_change_message_visibility
// (the same with a change to 1 s and a 2 s wait) assert that order; a
// sorted comparison (TestRealFIFOGroupHeadVisibleAgain) misses it. Before
// groups were ordered by when their head became visible, Sluice served
// group 1 first ([g1-m1 g2-m1]) because its head was sent first.
func TestRealFIFOGroupOrderAfterVisibilityChange(t *testing.T) {
	e := newRealEnv(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		visibility int32         // ChangeMessageVisibility of g1-m1
		wait       time.Duration // clock advance before the last receive
	}{
		{"terminate", 0, 0},
		{"change", 1, 2 * time.Second},
	} {
		u := e.createQueue(tc.name+".fifo", map[string]string{"FifoQueue": "true", "VisibilityTimeout": "30", "ContentBasedDeduplication": "true"})
		e.sendFIFO(u, "g1-m1", "group-1", "")
		e.sendFIFO(u, "g1-m2", "group-1", "")
		e.sendFIFO(u, "g2-m1", "group-2", "")
		first := e.receive(u, 2, 0)
		if got := bodies(first); !slices.Equal(got, []string{"g1-m1", "g1-m2"}) {
			t.Fatalf("%s: first receive %v, want [g1-m1 g1-m2]", tc.name, got)
		}
		if _, err := e.client.ChangeMessageVisibility(ctx, &sdk.ChangeMessageVisibilityInput{
			QueueUrl: &u, ReceiptHandle: first[0].ReceiptHandle, VisibilityTimeout: tc.visibility,
		}); err != nil {
			t.Fatalf("%s: ChangeMessageVisibility %d: %v", tc.name, tc.visibility, err)
		}
		e.clock.Advance(tc.wait)
		if got := bodies(e.receive(u, 3, 0)); !slices.Equal(got, []string{"g2-m1", "g1-m1"}) {
			t.Errorf("%s: %v, want [g2-m1 g1-m1] (g1-m2 still in flight)", tc.name, got)
		}
	}
}
