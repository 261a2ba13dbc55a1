package sqs

import (
	"context"
	"errors"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// TestRealQueueAttributes checks the queue attribute round trip on the real
// engine (every settable attribute in CreateQueue and SetQueueAttributes
// comes back from GetQueueAttributes, defaults included), idempotent and
// conflicting CreateQueue, and the validation errors with AWS's codes.
func TestRealQueueAttributes(t *testing.T) {
	e := newRealEnv(t)
	ctx := context.Background()
	set := map[string]string{
		"DelaySeconds": "5", "MaximumMessageSize": "2048", "MessageRetentionPeriod": "3600",
		"ReceiveMessageWaitTimeSeconds": "2", "VisibilityTimeout": "45",
		"KmsMasterKeyId": "alias/aws/sqs", "KmsDataKeyReusePeriodSeconds": "600",
		"Policy": `{"Version":"2012-10-17","Statement":[]}`,
	}
	url := e.createQueue("attrs", set)
	got := e.attrs(url)
	for k, v := range set {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if got["SqsManagedSseEnabled"] != "false" || got["QueueArn"] != "arn:aws:sqs:us-east-1:000000000000:attrs" {
		t.Errorf("derived attributes %v", got)
	}
	for _, k := range []string{"CreatedTimestamp", "LastModifiedTimestamp"} {
		if n, err := strconv.ParseInt(got[k], 10, 64); err != nil || n < 1_600_000_000 {
			t.Errorf("%s = %q", k, got[k])
		}
	}
	for _, k := range []string{"FifoQueue", "ContentBasedDeduplication", "RedrivePolicy"} {
		if _, ok := got[k]; ok {
			t.Errorf("standard queue reports %s", k)
		}
	}
	// Defaults.
	def := e.attrs(e.createQueue("defaults", nil))
	for k, v := range map[string]string{
		"DelaySeconds": "0", "MaximumMessageSize": "1048576", "MessageRetentionPeriod": "345600",
		"ReceiveMessageWaitTimeSeconds": "0", "VisibilityTimeout": "30", "SqsManagedSseEnabled": "true",
	} {
		if def[k] != v {
			t.Errorf("default %s = %q, want %q", k, def[k], v)
		}
	}
	fifo := e.attrs(e.createQueue("defaults.fifo", map[string]string{"FifoQueue": "true"}))
	for k, v := range map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "false", "DeduplicationScope": "queue", "FifoThroughputLimit": "perQueue"} {
		if fifo[k] != v {
			t.Errorf("FIFO default %s = %q, want %q", k, fifo[k], v)
		}
	}

	// SetQueueAttributes changes only what it names; LastModified moves.
	e.clock.Advance(10 * time.Second)
	if _, err := e.client.SetQueueAttributes(ctx, &sdk.SetQueueAttributesInput{QueueUrl: &url, Attributes: map[string]string{"VisibilityTimeout": "60", "Policy": ""}}); err != nil {
		t.Fatalf("SetQueueAttributes: %v", err)
	}
	after := e.attrs(url)
	if after["VisibilityTimeout"] != "60" || after["DelaySeconds"] != "5" || after["LastModifiedTimestamp"] == got["LastModifiedTimestamp"] {
		t.Errorf("after SetQueueAttributes: %v", after)
	}
	if _, ok := after["Policy"]; ok {
		t.Errorf("empty Policy not removed")
	}
	// Named attributes only.
	only := e.attrs(url, "VisibilityTimeout", "ApproximateNumberOfMessages")
	if len(only) != 2 {
		t.Errorf("GetQueueAttributes(2 names) = %v", only)
	}

	// CreateQueue on an existing queue: idempotent when the named
	// attributes match (or none are named), QueueAlreadyExists otherwise.
	if again := e.createQueue("attrs", map[string]string{"DelaySeconds": "5"}); again != url {
		t.Errorf("idempotent CreateQueue URL %s", again)
	}
	e.createQueue("attrs", nil)
	_, err := e.client.CreateQueue(ctx, &sdk.CreateQueueInput{QueueName: aws.String("attrs"), Attributes: map[string]string{"DelaySeconds": "6"}})
	var exists *types.QueueNameExists
	if !errors.As(err, &exists) || apiCode(t, err) != "QueueAlreadyExists" {
		t.Errorf("conflicting CreateQueue: %v", err)
	}

	for _, tc := range []struct {
		name  string
		queue string
		attrs map[string]string
		code  string
	}{
		{"visibility too long", "v", map[string]string{"VisibilityTimeout": "43201"}, "InvalidAttributeValue"},
		{"negative delay", "v", map[string]string{"DelaySeconds": "-1"}, "InvalidAttributeValue"},
		{"retention too short", "v", map[string]string{"MessageRetentionPeriod": "59"}, "InvalidAttributeValue"},
		{"message size too small", "v", map[string]string{"MaximumMessageSize": "1023"}, "InvalidAttributeValue"},
		{"wait too long", "v", map[string]string{"ReceiveMessageWaitTimeSeconds": "21"}, "InvalidAttributeValue"},
		{"not a number", "v", map[string]string{"VisibilityTimeout": "ten"}, "InvalidAttributeValue"},
		{"unknown attribute", "v", map[string]string{"Colour": "blue"}, "InvalidAttributeName"},
		{"read-only attribute", "v", map[string]string{"QueueArn": "arn:aws:sqs:us-east-1:000000000000:v"}, "InvalidAttributeName"},
		{"FIFO attribute on standard", "v", map[string]string{"ContentBasedDeduplication": "true"}, "InvalidAttributeName"},
		{"FIFO name without FifoQueue", "v.fifo", nil, "InvalidParameterValue"},
		{"FifoQueue without .fifo", "v", map[string]string{"FifoQueue": "true"}, "InvalidParameterValue"},
		{"bad name", "bad name", nil, "InvalidParameterValue"},
		{"long name", strings.Repeat("n", 81), nil, "InvalidParameterValue"},
		{"bad policy", "v", map[string]string{"Policy": "{"}, "InvalidAttributeValue"},
		{"bad dedup scope", "v.fifo", map[string]string{"FifoQueue": "true", "DeduplicationScope": "everything"}, "InvalidAttributeValue"},
	} {
		_, err := e.client.CreateQueue(ctx, &sdk.CreateQueueInput{QueueName: aws.String(tc.queue), Attributes: tc.attrs})
		if code := apiCode(t, err); code != tc.code {
			t.Errorf("CreateQueue %s: %v, want %s", tc.name, err, tc.code)
		}
	}
	for _, tc := range []struct {
		name  string
		attrs map[string]string
		code  string
	}{
		{"visibility too long", map[string]string{"VisibilityTimeout": "43201"}, "InvalidAttributeValue"},
		{"FifoQueue on a standard queue", map[string]string{"FifoQueue": "true"}, "InvalidAttributeName"},
		{"unknown", map[string]string{"Colour": "blue"}, "InvalidAttributeName"},
	} {
		_, err := e.client.SetQueueAttributes(ctx, &sdk.SetQueueAttributesInput{QueueUrl: &url, Attributes: tc.attrs})
		if code := apiCode(t, err); code != tc.code {
			t.Errorf("SetQueueAttributes %s: %v, want %s", tc.name, err, tc.code)
		}
	}
	_, err = e.client.GetQueueAttributes(ctx, &sdk.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: []types.QueueAttributeName{"Colour"}})
	if code := apiCode(t, err); code != "InvalidAttributeName" {
		t.Errorf("GetQueueAttributes(unknown): %v", err)
	}
	// The failed calls changed nothing.
	if now := e.attrs(url, "VisibilityTimeout"); now["VisibilityTimeout"] != "60" {
		t.Errorf("VisibilityTimeout after failed sets = %q", now["VisibilityTimeout"])
	}
}

// TestRealQueueLifecycle checks GetQueueUrl, ListQueues (prefix, paging),
// DeleteQueue (operations on the deleted queue fail with
// NonExistentQueue; the name is reusable after 60 s, not before) and the
// errors for queue URLs that name no queue.
func TestRealQueueLifecycle(t *testing.T) {
	e := newRealEnv(t)
	ctx := context.Background()
	var urls []string
	for _, name := range []string{"alpha-1", "alpha-2", "alpha-3", "beta"} {
		urls = append(urls, e.createQueue(name, nil))
	}
	got, err := e.client.GetQueueUrl(ctx, &sdk.GetQueueUrlInput{QueueName: aws.String("beta")})
	if err != nil || aws.ToString(got.QueueUrl) != urls[3] {
		t.Errorf("GetQueueUrl = %v, %v", got, err)
	}
	list, err := e.client.ListQueues(ctx, &sdk.ListQueuesInput{QueueNamePrefix: aws.String("alpha")})
	if err != nil || !slices.Equal(list.QueueUrls, urls[:3]) || list.NextToken != nil {
		t.Errorf("ListQueues(alpha) = %v, %v", list, err)
	}
	var paged []string
	var token *string
	for range 10 {
		page, err := e.client.ListQueues(ctx, &sdk.ListQueuesInput{MaxResults: aws.Int32(3), NextToken: token})
		if err != nil {
			t.Fatalf("ListQueues page: %v", err)
		}
		paged = append(paged, page.QueueUrls...)
		if token = page.NextToken; token == nil {
			break
		}
	}
	if !slices.Equal(paged, urls) {
		t.Errorf("paged ListQueues = %v", paged)
	}
	_, err = e.client.ListQueues(ctx, &sdk.ListQueuesInput{MaxResults: aws.Int32(1001)})
	if code := apiCode(t, err); code != "InvalidParameterValue" {
		t.Errorf("MaxResults 1001: %v", err)
	}

	if _, err := e.client.DeleteQueue(ctx, &sdk.DeleteQueueInput{QueueUrl: &urls[3]}); err != nil {
		t.Fatalf("DeleteQueue: %v", err)
	}
	var dne *types.QueueDoesNotExist
	for name, call := range map[string]func() error{
		"SendMessage": func() error {
			_, err := e.client.SendMessage(ctx, &sdk.SendMessageInput{QueueUrl: &urls[3], MessageBody: aws.String("x")})
			return err
		},
		"ReceiveMessage": func() error {
			_, err := e.client.ReceiveMessage(ctx, &sdk.ReceiveMessageInput{QueueUrl: &urls[3]})
			return err
		},
		"GetQueueAttributes": func() error {
			_, err := e.client.GetQueueAttributes(ctx, &sdk.GetQueueAttributesInput{QueueUrl: &urls[3]})
			return err
		},
		"DeleteQueue": func() error {
			_, err := e.client.DeleteQueue(ctx, &sdk.DeleteQueueInput{QueueUrl: &urls[3]})
			return err
		},
		"GetQueueUrl": func() error {
			_, err := e.client.GetQueueUrl(ctx, &sdk.GetQueueUrlInput{QueueName: aws.String("beta")})
			return err
		},
	} {
		if err := call(); !errors.As(err, &dne) || apiCode(t, err) != "AWS.SimpleQueueService.NonExistentQueue" {
			t.Errorf("%s on a deleted queue: %v", name, err)
		}
	}
	_, err = e.client.CreateQueue(ctx, &sdk.CreateQueueInput{QueueName: aws.String("beta")})
	var recently *types.QueueDeletedRecently
	if !errors.As(err, &recently) {
		t.Errorf("CreateQueue within 60s of delete: %v", err)
	}
	e.clock.Advance(61 * time.Second)
	if again := e.createQueue("beta", nil); again != urls[3] {
		t.Errorf("recreated URL %s", again)
	}
	if c := e.counts(urls[3]); c != [3]int{0, 0, 0} {
		t.Errorf("recreated queue is not empty: %v", c)
	}

	for _, u := range []string{e.url + "/000000000000/nope", e.url + "/", "nope"} {
		_, err := e.client.SendMessage(ctx, &sdk.SendMessageInput{QueueUrl: aws.String(u), MessageBody: aws.String("x")})
		if code := apiCode(t, err); code != "AWS.SimpleQueueService.NonExistentQueue" && code != "InvalidAddress" {
			t.Errorf("SendMessage to %q: %v", u, err)
		}
	}
}

// TestRealTagsAndPermissions checks tags (at creation, TagQueue merge,
// UntagQueue, limits) and AddPermission/RemovePermission through the
// Policy attribute.
func TestRealTagsAndPermissions(t *testing.T) {
	e := newRealEnv(t)
	ctx := context.Background()
	out, err := e.client.CreateQueue(ctx, &sdk.CreateQueueInput{QueueName: aws.String("tagged"), Tags: map[string]string{"team": "a", "env": "dev"}})
	if err != nil {
		t.Fatal(err)
	}
	url := aws.ToString(out.QueueUrl)
	tags := func() map[string]string {
		t.Helper()
		out, err := e.client.ListQueueTags(ctx, &sdk.ListQueueTagsInput{QueueUrl: &url})
		if err != nil {
			t.Fatalf("ListQueueTags: %v", err)
		}
		return out.Tags
	}
	if got := tags(); !maps.Equal(got, map[string]string{"team": "a", "env": "dev"}) {
		t.Errorf("tags at creation %v", got)
	}
	if _, err := e.client.TagQueue(ctx, &sdk.TagQueueInput{QueueUrl: &url, Tags: map[string]string{"team": "b", "cost": "42"}}); err != nil {
		t.Fatalf("TagQueue: %v", err)
	}
	if _, err := e.client.UntagQueue(ctx, &sdk.UntagQueueInput{QueueUrl: &url, TagKeys: []string{"env", "absent"}}); err != nil {
		t.Fatalf("UntagQueue: %v", err)
	}
	if got := tags(); !maps.Equal(got, map[string]string{"team": "b", "cost": "42"}) {
		t.Errorf("tags after tag/untag %v", got)
	}
	many := map[string]string{}
	for i := range 49 {
		many["k"+strconv.Itoa(i)] = "v"
	}
	_, err = e.client.TagQueue(ctx, &sdk.TagQueueInput{QueueUrl: &url, Tags: many})
	if code := apiCode(t, err); code != "InvalidParameterValue" {
		t.Errorf("51 tags: %v", err)
	}
	_, err = e.client.TagQueue(ctx, &sdk.TagQueueInput{QueueUrl: &url, Tags: map[string]string{"aws:reserved": "x"}})
	if code := apiCode(t, err); code != "InvalidParameterValue" {
		t.Errorf("aws: tag key: %v", err)
	}

	if _, err := e.client.AddPermission(ctx, &sdk.AddPermissionInput{QueueUrl: &url, Label: aws.String("send"), AWSAccountIds: []string{"111122223333"}, Actions: []string{"SendMessage", "ReceiveMessage"}}); err != nil {
		t.Fatalf("AddPermission: %v", err)
	}
	policy := e.attrs(url, "Policy")["Policy"]
	// The default document AddPermission starts has Version 2008-10-17 on
	// AWS (LocalStack's AWS-validated test_sqs_permission_lifecycle
	// snapshot), not IAM's 2012-10-17.
	for _, want := range []string{`"Version":"2008-10-17"`, `"Sid":"send"`, `arn:aws:iam::111122223333:root`, `SQS:SendMessage`, `arn:aws:sqs:us-east-1:000000000000:tagged`} {
		if !strings.Contains(policy, want) {
			t.Errorf("Policy %s lacks %s", policy, want)
		}
	}
	_, err = e.client.AddPermission(ctx, &sdk.AddPermissionInput{QueueUrl: &url, Label: aws.String("send"), AWSAccountIds: []string{"111122223333"}, Actions: []string{"SendMessage"}})
	if code := apiCode(t, err); code != "InvalidParameterValue" {
		t.Errorf("duplicate label: %v", err)
	}
	if _, err := e.client.RemovePermission(ctx, &sdk.RemovePermissionInput{QueueUrl: &url, Label: aws.String("send")}); err != nil {
		t.Fatalf("RemovePermission: %v", err)
	}
	if p := e.attrs(url, "Policy")["Policy"]; strings.Contains(p, `"send"`) {
		t.Errorf("Policy after RemovePermission: %s", p)
	}
	_, err = e.client.RemovePermission(ctx, &sdk.RemovePermissionInput{QueueUrl: &url, Label: aws.String("send")})
	if code := apiCode(t, err); code != "InvalidParameterValue" {
		t.Errorf("RemovePermission of an absent label: %v", err)
	}
}

// TestRealRestart checks persistence across a restart of server and
// engine on the same directory: queues with their attributes, tags and
// dead-letter links survive; acknowledged messages that were not deleted
// come back (visible ones at once, in-flight ones when their visibility
// expires, with their receive counts; delayed ones when due) and deleted
// ones do not; FIFO order and sequence numbers continue; old receipts of
// in-flight messages still delete.
func TestRealRestart(t *testing.T) {
	e := newRealEnv(t)
	ctx := context.Background()
	dlq := e.createQueue("dlq", nil)
	out, err := e.client.CreateQueue(ctx, &sdk.CreateQueueInput{
		QueueName:  aws.String("main"),
		Attributes: map[string]string{"VisibilityTimeout": "100", "DelaySeconds": "0", "RedrivePolicy": redrivePolicy(e.arn(dlq), 3)},
		Tags:       map[string]string{"team": "a"},
	})
	if err != nil {
		t.Fatal(err)
	}
	url := aws.ToString(out.QueueUrl)
	fifo := e.createQueue("main.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
	attrsBefore := e.attrs(url)

	e.send(url, "deleted")
	e.send(url, "inflight")
	e.send(url, "inflight-deleted-after-restart")
	got := e.receive(url, 3, 0)
	if len(got) != 3 {
		t.Fatalf("received %d of 3", len(got))
	}
	receipts := map[string]types.Message{}
	for _, m := range got {
		receipts[aws.ToString(m.Body)] = m
	}
	e.deleteMessage(url, receipts["deleted"])
	e.send(url, "visible")
	if _, err := e.client.SendMessage(ctx, &sdk.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("delayed"), DelaySeconds: 300}); err != nil {
		t.Fatal(err)
	}
	lastSeq := aws.ToString(e.sendFIFO(fifo, "f1", "g", "").SequenceNumber)
	e.sendFIFO(fifo, "f2", "g", "")

	e.restart()

	list, err := e.client.ListQueues(ctx, &sdk.ListQueuesInput{})
	if err != nil || len(list.QueueUrls) != 3 {
		t.Fatalf("ListQueues after restart: %v, %v", list, err)
	}
	attrsAfter := e.attrs(url)
	for _, k := range []string{"VisibilityTimeout", "RedrivePolicy", "CreatedTimestamp", "LastModifiedTimestamp", "QueueArn", "MessageRetentionPeriod"} {
		if attrsAfter[k] != attrsBefore[k] {
			t.Errorf("%s after restart %q, before %q", k, attrsAfter[k], attrsBefore[k])
		}
	}
	tags, err := e.client.ListQueueTags(ctx, &sdk.ListQueueTagsInput{QueueUrl: &url})
	if err != nil || tags.Tags["team"] != "a" {
		t.Errorf("tags after restart: %v, %v", tags, err)
	}
	srcs, err := e.client.ListDeadLetterSourceQueues(ctx, &sdk.ListDeadLetterSourceQueuesInput{QueueUrl: &dlq})
	if err != nil || len(srcs.QueueUrls) != 1 || !strings.HasSuffix(srcs.QueueUrls[0], "/000000000000/main") {
		t.Errorf("dead-letter sources after restart: %v, %v", srcs, err)
	}
	// FIFO (before the clock moves, so the 5-minute dedup window still
	// covers f1): order and sequence numbers continue, the window holds.
	dup := e.sendFIFO(fifo, "f1", "g", "")
	f3 := e.sendFIFO(fifo, "f3", "g", "")
	if sequenceNumber(t, aws.ToString(f3.SequenceNumber)).Cmp(sequenceNumber(t, lastSeq)) <= 0 {
		t.Errorf("SequenceNumber after restart %s not above %s", aws.ToString(f3.SequenceNumber), lastSeq)
	}
	fm := e.receive(fifo, 10, 0)
	if !slices.Equal(bodies(fm), []string{"f1", "f2", "f3"}) {
		t.Errorf("FIFO after restart: %v (duplicate id %s)", bodies(fm), aws.ToString(dup.MessageId))
	}

	// Only the visible message is deliverable now.
	now := e.receive(url, 10, 0)
	if !slices.Equal(bodies(now), []string{"visible"}) {
		t.Fatalf("after restart: %v, want [visible]", bodies(now))
	}
	// Counts once the receive scanned the log: three in flight (two from
	// before the restart), one delayed. (Before any receive they are off:
	// see TestEngineBugCountsAfterRestart.)
	if c := e.counts(url); c != [3]int{0, 3, 1} {
		t.Errorf("counts after restart and a receive: %v, want [0 3 1]", c)
	}
	// A receipt issued before the restart still deletes.
	e.deleteMessage(url, receipts["inflight-deleted-after-restart"])
	e.clock.Advance(101 * time.Second)
	again := e.receive(url, 10, 0)
	if len(again) != 2 {
		t.Fatalf("after the visibility timeout: %v, want inflight and visible", bodies(again))
	}
	for _, m := range again {
		if aws.ToString(m.Body) == "inflight" && m.Attributes["ApproximateReceiveCount"] != "2" {
			t.Errorf("inflight ApproximateReceiveCount after restart = %s, want 2", m.Attributes["ApproximateReceiveCount"])
		}
		if b := aws.ToString(m.Body); b != "inflight" && b != "visible" {
			t.Errorf("unexpected message %q after restart", b)
		}
	}
	e.clock.Advance(200 * time.Second)
	delayed := e.receive(url, 10, 0)
	var sawDelayed bool
	for _, m := range delayed {
		sawDelayed = sawDelayed || aws.ToString(m.Body) == "delayed"
	}
	if !sawDelayed {
		t.Errorf("delayed message not delivered after restart: %v", bodies(delayed))
	}
}

// TestRealFifoQueueAttributeChanges checks SetQueueAttributes with
// FifoQueue. The bug: on a standard queue Sluice answered
// InvalidAttributeValue "Invalid value for the parameter FifoQueue.
// Reason: Modifying queue type is not supported."; AWS answers
// InvalidAttributeName "Unknown Attribute FifoQueue." there and keeps the
// InvalidAttributeValue for FifoQueue=false on a FIFO queue (LocalStack's
// AWS-recorded test_sqs.snapshot.json, test_set_unsupported_attribute_fifo).
func TestRealFifoQueueAttributeChanges(t *testing.T) {
	e := newRealEnv(t)
	std := e.createQueue("std", nil)
	fifo := e.createQueue("q.fifo", map[string]string{"FifoQueue": "true"})
	set := func(queue, value string) [2]wireAnswer {
		return e.wireCall("SetQueueAttributes", map[string]any{"QueueUrl": queue, "Attributes": map[string]string{"FifoQueue": value}},
			url.Values{"QueueUrl": {queue}, "Attribute.1.Name": {"FifoQueue"}, "Attribute.1.Value": {value}})
	}
	expectError(t, "FifoQueue=true on a standard queue", set(std, "true"), 400, "InvalidAttributeName", "Unknown Attribute FifoQueue.")
	expectError(t, "FifoQueue=false on a FIFO queue", set(fifo, "false"), 400, "InvalidAttributeValue",
		"Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.")
	for _, a := range set(fifo, "true") {
		if a.Status != 200 {
			t.Errorf("FifoQueue=true on a FIFO queue: %s", a)
		}
	}
}

// TestRealSSEMutuallyExclusive checks SetQueueAttributes with a KMS key
// and SQS-managed encryption together. The bug: Sluice stored both; AWS
// refuses with InvalidAttributeName "You can use one type of server-side
// encryption (SSE) at one time. You can either enable KMS SSE or SQS SSE."
// (LocalStack's AWS-recorded test_sqs.snapshot.json,
// test_sse_kms_and_sqs_are_mutually_exclusive).
func TestRealSSEMutuallyExclusive(t *testing.T) {
	e := newRealEnv(t)
	q := e.createQueue("sse", nil)
	answers := e.wireCall("SetQueueAttributes",
		map[string]any{"QueueUrl": q, "Attributes": map[string]string{"KmsMasterKeyId": "testKeyId", "SqsManagedSseEnabled": "true"}},
		url.Values{"QueueUrl": {q}, "Attribute.1.Name": {"KmsMasterKeyId"}, "Attribute.1.Value": {"testKeyId"},
			"Attribute.2.Name": {"SqsManagedSseEnabled"}, "Attribute.2.Value": {"true"}})
	expectError(t, "KMS and SQS SSE", answers, 400, "InvalidAttributeName",
		"You can use one type of server-side encryption (SSE) at one time. You can either enable KMS SSE or SQS SSE.")
	if got := e.attrs(q, "KmsMasterKeyId"); len(got) != 0 {
		t.Errorf("the refused key was stored: %v", got)
	}
}

// TestRealRemovePermissionUnknownLabel checks RemovePermission of a label
// on a queue without a policy. The bug: Sluice said "Value
// crossaccountpermission2 for parameter Label is invalid. Reason: can't
// find label on existing policy."; AWS ends "Reason: can't find label."
// (LocalStack's AWS-recorded test_sqs.snapshot.json,
// test_sqs_permission_lifecycle, after both permissions were removed).
func TestRealRemovePermissionUnknownLabel(t *testing.T) {
	e := newRealEnv(t)
	q := e.createQueue("perm", nil)
	for _, label := range []string{"crossaccountpermission", "crossaccountpermission2"} {
		if _, err := e.client.AddPermission(context.Background(), &sdk.AddPermissionInput{QueueUrl: &q, Label: aws.String(label),
			AWSAccountIds: []string{"000000000000"}, Actions: []string{"ReceiveMessage"}}); err != nil {
			t.Fatalf("AddPermission %s: %v", label, err)
		}
		if _, err := e.client.RemovePermission(context.Background(), &sdk.RemovePermissionInput{QueueUrl: &q, Label: aws.String(label)}); err != nil {
			t.Fatalf("RemovePermission %s: %v", label, err)
		}
	}
	answers := e.wireCall("RemovePermission", map[string]any{"QueueUrl": q, "Label": "crossaccountpermission2"},
		url.Values{"QueueUrl": {q}, "Label": {"crossaccountpermission2"}})
	expectError(t, "unknown label", answers, 400, "InvalidParameterValue",
		"Value crossaccountpermission2 for parameter Label is invalid. Reason: can't find label.")
}
