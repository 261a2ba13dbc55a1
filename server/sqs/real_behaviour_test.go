package sqs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	sdk "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Behaviour differences from Amazon SQS found by an audit against AWS's
// documentation and AWS-validated test snapshots (LocalStack's
// tests/aws/services/sqs/test_sqs.py and test_sqs.snapshot.json, recorded
// against AWS). Each test drives the real engine over the wire with
// aws-sdk-go-v2 and fails if Sluice goes back to its old behaviour.

// TestRealMessageAttributeNameFilters checks MessageAttributeNames as AWS
// applies it. The bug: "*" failed the receive (InvalidParameterValue),
// "Hel.*" matched only names starting "Hel." (AWS: any name starting "Hel",
// so "Hello" too), and names no attribute can have ("AWS.", "..foo") failed
// the receive where AWS returns the message without attributes. Expected
// names and MD5OfMessageAttributes are those of AWS's snapshot of
// test_receive_message_message_attribute_names_filters.
func TestRealMessageAttributeNameFilters(t *testing.T) {
	e := newRealEnv(t)
	ctx := context.Background()
	url := e.createQueue("filters", map[string]string{"VisibilityTimeout": "0"})
	_, err := e.client.SendMessage(ctx, &sdk.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("msg"),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"Help.Me": {DataType: aws.String("String"), StringValue: aws.String("Me")},
			"Hello":   {DataType: aws.String("String"), StringValue: aws.String("There")},
			"General": {DataType: aws.String("String"), StringValue: aws.String("Kenobi")},
		}})
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	all := []string{"General", "Hello", "Help.Me"}
	for _, tc := range []struct {
		filter    []string
		wantNames []string
		wantMD5   string // "" when no attributes are returned
	}{
		{nil, nil, ""},
		{[]string{"All"}, all, "4c360f3fdafd970e05fae2f149d997f5"},
		{[]string{"*"}, all, "4c360f3fdafd970e05fae2f149d997f5"},
		{[]string{".*"}, all, "4c360f3fdafd970e05fae2f149d997f5"},
		{[]string{"Foo", "Help"}, nil, ""},
		{[]string{"Hello", "General"}, []string{"General", "Hello"}, "fca026605781cb4126a1e9044df24232"},
		{[]string{"Foo", "Hello"}, []string{"Hello"}, "a311262e065454b75da111d535b8dacd"},
		{[]string{"Hel.*"}, []string{"Hello", "Help.Me"}, "83fee93c1bcd8b9a5a923ffacdc636c7"},
		{[]string{"AWS."}, nil, ""},
		{[]string{"..foo"}, nil, ""},
	} {
		out, err := e.client.ReceiveMessage(ctx, &sdk.ReceiveMessageInput{QueueUrl: &url, MessageAttributeNames: tc.filter})
		if err != nil {
			t.Errorf("filter %q: %v", tc.filter, err)
			continue
		}
		if len(out.Messages) != 1 {
			t.Errorf("filter %q: %d messages", tc.filter, len(out.Messages))
			continue
		}
		m := out.Messages[0]
		var names []string
		for k := range m.MessageAttributes {
			names = append(names, k)
		}
		sort.Strings(names)
		if !slices.Equal(names, tc.wantNames) || aws.ToString(m.MD5OfMessageAttributes) != tc.wantMD5 {
			t.Errorf("filter %q: attributes %v MD5 %q, want %v %q", tc.filter, names, aws.ToString(m.MD5OfMessageAttributes), tc.wantNames, tc.wantMD5)
		}
	}
}

// TestRealChangeVisibilityAfterExpiry checks ChangeMessageVisibility with
// the receipt of a delivery whose visibility timeout already ran out (no
// receive since). The bug: when no receive had applied the expiry yet, the
// call succeeded and hid the visible message again for the new timeout.
// On AWS the message stays visible (LocalStack PR 9632, validated against
// AWS; floci issue 902). Sluice answers MessageNotInflight, as it already
// did when a receive had applied the expiry.
func TestRealChangeVisibilityAfterExpiry(t *testing.T) {
	e := newRealEnv(t)
	ctx := context.Background()
	url := e.createQueue("expired", map[string]string{"VisibilityTimeout": "10"})
	e.send(url, "m")
	got := e.receive(url, 1, 0)
	if len(got) != 1 {
		t.Fatalf("receive: %d messages", len(got))
	}
	e.clock.Advance(11 * time.Second)
	_, err := e.client.ChangeMessageVisibility(ctx, &sdk.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: got[0].ReceiptHandle, VisibilityTimeout: 300})
	if code := apiCode(t, err); code != "AWS.SimpleQueueService.MessageNotInflight" && code != "MessageNotInflight" {
		t.Errorf("ChangeMessageVisibility after expiry: %v", err)
	}
	if c := e.counts(url); c != [3]int{1, 0, 0} {
		t.Errorf("counts after ChangeMessageVisibility of an expired delivery = %v, want [1 0 0]", c)
	}
	again := e.receive(url, 1, 0)
	if len(again) != 1 || again[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("receive after expiry: %v", bodies(again))
	}
	// The batch form decides the same way.
	e.clock.Advance(11 * time.Second)
	batch, err := e.client.ChangeMessageVisibilityBatch(ctx, &sdk.ChangeMessageVisibilityBatchInput{QueueUrl: &url,
		Entries: []types.ChangeMessageVisibilityBatchRequestEntry{{Id: aws.String("a"), ReceiptHandle: again[0].ReceiptHandle, VisibilityTimeout: 300}}})
	if err != nil || len(batch.Failed) != 1 || len(batch.Successful) != 0 {
		t.Fatalf("ChangeMessageVisibilityBatch after expiry = %+v, %v", batch, err)
	}
	if c := e.counts(url); c != [3]int{1, 0, 0} {
		t.Errorf("counts after the batch = %v, want [1 0 0]", c)
	}
}

// TestRealFIFODeleteExpiredReceipt checks DeleteMessage on a FIFO queue
// with the receipt of a delivery whose visibility timeout ran out. The
// bug: when no receive had applied the expiry yet, the message was
// deleted. AWS refuses with InvalidParameterValue "... Reason: The receipt
// handle has expired." (snapshot of
// test_fifo_delete_message_with_expired_receipt_handle) and the message
// stays.
func TestRealFIFODeleteExpiredReceipt(t *testing.T) {
	e := newRealEnv(t)
	ctx := context.Background()
	url := e.createQueue("expired.fifo", map[string]string{"FifoQueue": "true", "VisibilityTimeout": "10"})
	e.sendFIFO(url, "g1-m1", "1", "d1")
	got := e.receive(url, 1, 0)
	if len(got) != 1 {
		t.Fatalf("receive: %d messages", len(got))
	}
	e.clock.Advance(11 * time.Second)
	_, err := e.client.DeleteMessage(ctx, &sdk.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: got[0].ReceiptHandle})
	if code := apiCode(t, err); code != "InvalidParameterValue" || !strings.Contains(err.Error(), "The receipt handle has expired.") {
		t.Errorf("DeleteMessage with an expired FIFO receipt: %v", err)
	}
	again := e.receive(url, 1, 0)
	if len(again) != 1 || aws.ToString(again[0].Body) != "g1-m1" {
		t.Fatalf("message gone after a refused delete: %v", bodies(again))
	}
	e.deleteMessage(url, again[0]) // the current receipt deletes
	if c := e.counts(url); c != [3]int{0, 0, 0} {
		t.Errorf("counts after delete = %v", c)
	}
}

// TestRealFIFOGroupHeadVisibleAgain checks when a FIFO message group is
// receivable again. The bug: a group with any message in flight delivered
// nothing, so after ChangeMessageVisibility 0 (or expiry) of its first
// message while a later one was still in flight, the first message was not
// redelivered. On AWS the group is receivable as soon as its first message
// is visible again, and only that message comes back (AWS-validated
// test_fifo_message_group_visibility_after_terminate_visibility_timeout and
// ..._after_change_message_visibility); a group whose first message is
// still in flight stays locked (..._after_partial_delete).
func TestRealFIFOGroupHeadVisibleAgain(t *testing.T) {
	e := newRealEnv(t)
	ctx := context.Background()
	url := e.createQueue("groups.fifo", map[string]string{"FifoQueue": "true", "VisibilityTimeout": "30", "ContentBasedDeduplication": "true"})
	for _, m := range [][2]string{{"g1-m1", "group-1"}, {"g1-m2", "group-1"}, {"g2-m1", "group-2"}} {
		e.sendFIFO(url, m[0], m[1], "")
	}
	first := e.receive(url, 2, 0)
	if !slices.Equal(bodies(first), []string{"g1-m1", "g1-m2"}) {
		t.Fatalf("first receive: %v", bodies(first))
	}
	if _, err := e.client.ChangeMessageVisibility(ctx, &sdk.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: first[0].ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		t.Fatalf("ChangeMessageVisibility 0: %v", err)
	}
	got := bodies(e.receive(url, 3, 0))
	sort.Strings(got) // the order of groups is unspecified
	if !slices.Equal(got, []string{"g1-m1", "g2-m1"}) {
		t.Fatalf("after ending g1-m1's visibility: %v, want g1-m1 and g2-m1 (g1-m2 still in flight)", got)
	}

	// Expiry does the same: g1-m1 (redelivered above, 30 s) returns while
	// g1-m2 is extended.
	if _, err := e.client.ChangeMessageVisibility(ctx, &sdk.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: first[1].ReceiptHandle, VisibilityTimeout: 120}); err != nil {
		t.Fatalf("ChangeMessageVisibility 120: %v", err)
	}
	e.clock.Advance(31 * time.Second)
	got2 := e.receive(url, 10, 0)
	got = bodies(got2)
	sort.Strings(got)
	if !slices.Equal(got, []string{"g1-m1", "g2-m1"}) {
		t.Fatalf("after g1-m1's timeout ran out: %v, want g1-m1 and g2-m1", got)
	}

	// Deleting g1-m1 leaves g1-m2, still in flight, at the head: the group
	// stays locked (g2-m1 is deleted too, to leave group-1 alone).
	for _, m := range got2 {
		e.deleteMessage(url, m)
	}
	e.sendFIFO(url, "g1-m3", "group-1", "")
	if more := e.receive(url, 10, 0); len(more) != 0 {
		t.Fatalf("with g1-m2 in flight at the head of its group: %v", bodies(more))
	}
	e.clock.Advance(91 * time.Second) // g1-m2's 120 s run out
	if got := bodies(e.receive(url, 10, 0)); !slices.Equal(got, []string{"g1-m2", "g1-m3"}) {
		t.Fatalf("after g1-m2's timeout: %v, want [g1-m2 g1-m3]", got)
	}
}

// TestRealJSONTypeMismatchMessage checks the text of a JSON type mismatch
// on the hot-path decoders (ReceiveMessage, ChangeMessageVisibility) and the
// generic one (SetQueueAttributes). Real SQS answers a string where an
// integer belongs with SerializationException "STRING_VALUE can not be
// converted to an Integer" (async-aws/aws#1667, symfony/symfony#53910: PHP
// clients that sent VisibilityTimeout as a string). Before, Sluice said
// "Unexpected value type string for field VisibilityTimeout.".
func TestRealJSONTypeMismatchMessage(t *testing.T) {
	e := newRealEnv(t)
	url := e.createQueue("types", nil)
	for _, tc := range []struct{ op, body, want string }{
		{"ReceiveMessage", `{"QueueUrl":"` + url + `","MaxNumberOfMessages":"3"}`, "STRING_VALUE can not be converted to an Integer"},
		{"ChangeMessageVisibility", `{"QueueUrl":"` + url + `","ReceiptHandle":"x","VisibilityTimeout":"30"}`, "STRING_VALUE can not be converted to an Integer"},
		{"SendMessage", `{"QueueUrl":"` + url + `","MessageBody":"b","DelaySeconds":"0"}`, "STRING_VALUE can not be converted to an Integer"},
		{"SetQueueAttributes", `{"QueueUrl":"` + url + `","Attributes":["VisibilityTimeout"]}`, "Start of list found where not expected"},
	} {
		status, doc := jsonCall(t, e.url, tc.op, tc.body)
		if status != 400 || doc["message"] != tc.want || !strings.HasSuffix(fmt.Sprint(doc["__type"]), "SerializationException") {
			t.Errorf("%s %s: %d %v, want 400 SerializationException %q", tc.op, tc.body, status, doc, tc.want)
		}
	}
}

// jsonCall posts a signed AWS JSON 1.0 request and decodes the answer.
func jsonCall(t *testing.T, endpoint, op, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "AmazonSQS."+op)
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "sqs", "us-east-1", time.Now()); err != nil {
		t.Fatalf("sign: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatalf("%s: decoding the answer: %v", op, err)
	}
	return resp.StatusCode, doc
}
