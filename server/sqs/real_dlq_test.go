package sqs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

// redrivePolicy renders a RedrivePolicy attribute.
func redrivePolicy(dlqARN string, maxReceives int) string {
	return `{"deadLetterTargetArn":"` + dlqARN + `","maxReceiveCount":"` + strconv.Itoa(maxReceives) + `"}`
}

// TestRealRedrive checks dead-letter redrive on the real engine: a message
// received maxReceiveCount times moves to the dead-letter queue on the next
// receive, arrives there with DeadLetterQueueSourceArn, and
// ListDeadLetterSourceQueues lists the source.
func TestRealRedrive(t *testing.T) {
	e := newRealEnv(t)
	ctx := context.Background()
	dlq := e.createQueue("dlq", nil)
	dlqARN := e.arn(dlq)
	src := e.createQueue("src", map[string]string{"VisibilityTimeout": "0", "RedrivePolicy": redrivePolicy(dlqARN, 2)})
	other := e.createQueue("src2", map[string]string{"RedrivePolicy": redrivePolicy(dlqARN, 5)})
	e.createQueue("unrelated", nil)
	if got := e.attrs(src, "RedrivePolicy")["RedrivePolicy"]; got != `{"deadLetterTargetArn":"`+dlqARN+`","maxReceiveCount":2}` {
		t.Errorf("RedrivePolicy = %s", got)
	}
	e.send(src, "poison")
	for i := 1; i <= 2; i++ {
		got := e.receive(src, 1, 0)
		if len(got) != 1 || got[0].Attributes["ApproximateReceiveCount"] != strconv.Itoa(i) {
			t.Fatalf("receive %d: %+v", i, got)
		}
	}
	if got := e.receive(src, 10, 0); len(got) != 0 {
		t.Fatalf("third receive delivered %v instead of moving it", bodies(got))
	}
	if c := e.counts(src); c != [3]int{0, 0, 0} {
		t.Errorf("source counts after redrive: %v", c)
	}
	moved := e.receive(dlq, 10, 0)
	if len(moved) != 1 || aws.ToString(moved[0].Body) != "poison" {
		t.Fatalf("dead-letter queue holds %v", bodies(moved))
	}
	if got := moved[0].Attributes["DeadLetterQueueSourceArn"]; got != e.arn(src) {
		t.Errorf("DeadLetterQueueSourceArn = %q, want %q", got, e.arn(src))
	}

	list, err := e.client.ListDeadLetterSourceQueues(ctx, &sdk.ListDeadLetterSourceQueuesInput{QueueUrl: &dlq})
	if err != nil {
		t.Fatalf("ListDeadLetterSourceQueues: %v", err)
	}
	if !slices.Equal(list.QueueUrls, []string{src, other}) {
		t.Errorf("ListDeadLetterSourceQueues = %v, want [%s %s]", list.QueueUrls, src, other)
	}
	page, err := e.client.ListDeadLetterSourceQueues(ctx, &sdk.ListDeadLetterSourceQueuesInput{QueueUrl: &dlq, MaxResults: aws.Int32(1)})
	if err != nil || len(page.QueueUrls) != 1 || page.NextToken == nil {
		t.Fatalf("first page: %+v, %v", page, err)
	}
	page2, err := e.client.ListDeadLetterSourceQueues(ctx, &sdk.ListDeadLetterSourceQueuesInput{QueueUrl: &dlq, MaxResults: aws.Int32(1), NextToken: page.NextToken})
	if err != nil || !slices.Equal(page2.QueueUrls, []string{other}) || page2.NextToken != nil {
		t.Errorf("second page: %+v, %v", page2, err)
	}

	// Removing the policy stops redrive.
	if _, err := e.client.SetQueueAttributes(ctx, &sdk.SetQueueAttributesInput{QueueUrl: &src, Attributes: map[string]string{"RedrivePolicy": ""}}); err != nil {
		t.Fatalf("remove RedrivePolicy: %v", err)
	}
	if _, ok := e.attrs(src)["RedrivePolicy"]; ok {
		t.Errorf("RedrivePolicy still reported after removal")
	}
	e.send(src, "kept")
	for i := 1; i <= 4; i++ {
		if got := e.receive(src, 1, 0); len(got) != 1 {
			t.Fatalf("receive %d without redrive: %d messages", i, len(got))
		}
	}
}

// TestRealRedriveValidation checks the RedrivePolicy and RedriveAllowPolicy
// errors: a missing dead-letter queue, one of the other type, malformed
// JSON, an out-of-range maxReceiveCount, and RedriveAllowPolicy denyAll and
// byQueue refusing sources they do not list.
func TestRealRedriveValidation(t *testing.T) {
	e := newRealEnv(t)
	ctx := context.Background()
	dlq := e.createQueue("dlq", nil)
	dlqARN := e.arn(dlq)
	fifoDLQ := e.createQueue("dlq.fifo", map[string]string{"FifoQueue": "true"})
	missingARN := "arn:aws:sqs:us-east-1:000000000000:missing"
	for _, tc := range []struct {
		name, policy, code string
	}{
		{"missing target", redrivePolicy(missingARN, 3), "InvalidParameterValue"},
		{"FIFO target of a standard queue", redrivePolicy(e.arn(fifoDLQ), 3), "InvalidParameterValue"},
		{"not JSON", "{", "InvalidAttributeValue"},
		{"no maxReceiveCount", `{"deadLetterTargetArn":"` + dlqARN + `"}`, "InvalidParameterValue"},
		{"maxReceiveCount 0", redrivePolicy(dlqARN, 0), "InvalidParameterValue"},
		{"maxReceiveCount 1001", redrivePolicy(dlqARN, 1001), "InvalidParameterValue"},
		{"bad ARN", `{"deadLetterTargetArn":"nope","maxReceiveCount":3}`, "InvalidParameterValue"},
	} {
		_, err := e.client.CreateQueue(ctx, &sdk.CreateQueueInput{QueueName: aws.String("bad-src"), Attributes: map[string]string{"RedrivePolicy": tc.policy}})
		if code := apiCode(t, err); code != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}

	// RedriveAllowPolicy denyAll: no source may use the queue.
	if _, err := e.client.SetQueueAttributes(ctx, &sdk.SetQueueAttributesInput{QueueUrl: &dlq, Attributes: map[string]string{"RedriveAllowPolicy": `{"redrivePermission":"denyAll"}`}}); err != nil {
		t.Fatalf("set denyAll: %v", err)
	}
	_, err := e.client.CreateQueue(ctx, &sdk.CreateQueueInput{QueueName: aws.String("denied"), Attributes: map[string]string{"RedrivePolicy": redrivePolicy(dlqARN, 3)}})
	if code := apiCode(t, err); code != "InvalidParameterValue" {
		t.Errorf("source of a denyAll queue: %v", err)
	}
	// byQueue: only the listed source.
	allowedARN := "arn:aws:sqs:us-east-1:000000000000:allowed"
	policy := `{"redrivePermission":"byQueue","sourceQueueArns":["` + allowedARN + `"]}`
	if _, err := e.client.SetQueueAttributes(ctx, &sdk.SetQueueAttributesInput{QueueUrl: &dlq, Attributes: map[string]string{"RedriveAllowPolicy": policy}}); err != nil {
		t.Fatalf("set byQueue: %v", err)
	}
	if got := e.attrs(dlq, "RedriveAllowPolicy")["RedriveAllowPolicy"]; got != policy {
		t.Errorf("RedriveAllowPolicy = %s, want %s", got, policy)
	}
	e.createQueue("allowed", map[string]string{"RedrivePolicy": redrivePolicy(dlqARN, 3)})
	_, err = e.client.CreateQueue(ctx, &sdk.CreateQueueInput{QueueName: aws.String("not-allowed"), Attributes: map[string]string{"RedrivePolicy": redrivePolicy(dlqARN, 3)}})
	if code := apiCode(t, err); code != "InvalidParameterValue" {
		t.Errorf("source not in byQueue list: %v", err)
	}
	for _, bad := range []string{
		`{"redrivePermission":"sometimes"}`,
		`{"redrivePermission":"byQueue"}`,
		`{"redrivePermission":"allowAll","sourceQueueArns":["` + allowedARN + `"]}`,
		`[`,
	} {
		_, err := e.client.SetQueueAttributes(ctx, &sdk.SetQueueAttributesInput{QueueUrl: &dlq, Attributes: map[string]string{"RedriveAllowPolicy": bad}})
		if code := apiCode(t, err); code != "InvalidAttributeValue" {
			t.Errorf("RedriveAllowPolicy %s: %v", bad, err)
		}
	}
}

// TestRealRedrivePolicyMessages pins the text of the RedrivePolicy errors
// that SQS words as "Value <policy> for parameter RedrivePolicy is invalid.
// Reason: ...", quoting the policy as sent, over both protocols.
// Regression: Sluice answered a missing dead-letter queue with
// "Value  for parameter RedrivePolicy is invalid. Reason: Dead letter target
// queue 000000000000/us-east-1/missing does not exist." (no policy, the
// engine's internal queue name), a FIFO/standard mismatch with the engine's
// wording, and a policy lacking a member with InvalidAttributeValue.
// AWS answers, as quoted from real responses in public issue reports
// (crossplane-contrib/provider-aws#443, serverless/serverless#5215, and
// Terraform logs): "Reason: Dead letter target does not exist.",
// "Reason: Dead-letter queue must be same type of queue as the source.."
// (two periods), and InvalidParameterValue "Reason: Redrive policy does not
// contain mandatory attribute: deadLetterTargetArn.".
func TestRealRedrivePolicyMessages(t *testing.T) {
	e := newRealEnv(t)
	ctx := context.Background()
	fifoDLQ := e.createQueue("dlq.fifo", map[string]string{"FifoQueue": "true"})
	src := e.createQueue("src", nil)
	missingARN := "arn:aws:sqs:us-east-1:000000000000:missing"
	invalid := func(policy, reason string) string {
		return "Value " + policy + " for parameter RedrivePolicy is invalid. Reason: " + reason
	}
	cases := []struct {
		name, policy, message string
	}{
		{"missing target", redrivePolicy(missingARN, 3), "Dead letter target does not exist."},
		{"FIFO target of a standard queue", redrivePolicy(e.arn(fifoDLQ), 3), "Dead-letter queue must be same type of queue as the source.."},
		{"no deadLetterTargetArn", `{"maxReceiveCount":5}`, "Redrive policy does not contain mandatory attribute: deadLetterTargetArn."},
		{"no maxReceiveCount", `{"deadLetterTargetArn":"` + missingARN + `"}`, "Redrive policy does not contain mandatory attribute: maxReceiveCount."},
	}
	for _, tc := range cases {
		want := invalid(tc.policy, tc.message)
		_, err := e.client.CreateQueue(ctx, &sdk.CreateQueueInput{QueueName: aws.String("bad-src"), Attributes: map[string]string{"RedrivePolicy": tc.policy}})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidParameterValue" || ae.ErrorMessage() != want {
			t.Errorf("CreateQueue, %s: %v\nwant InvalidParameterValue: %s", tc.name, err, want)
		}
		status, body := queryCall(t, e.url, "/", url.Values{"Action": {"SetQueueAttributes"}, "QueueUrl": {src},
			"Attribute.1.Name": {"RedrivePolicy"}, "Attribute.1.Value": {tc.policy}})
		var doc struct {
			Code    string `xml:"Error>Code"`
			Message string `xml:"Error>Message"`
		}
		if err := xml.Unmarshal([]byte(body), &doc); err != nil || status != 400 || doc.Code != "InvalidParameterValue" || doc.Message != want {
			t.Errorf("query SetQueueAttributes, %s: status %d (%v): %s\nwant 400 InvalidParameterValue: %s", tc.name, status, err, body, want)
		}
	}
	if got := e.attrs(src, "RedrivePolicy"); len(got) != 0 {
		t.Errorf("refused policies were applied: %v", got)
	}
}

// waitMoveTask polls ListMessageMoveTasks until the newest task of
// sourceARN leaves RUNNING (the task runs in its own goroutine and exposes
// no completion event) or 10 s pass.
func waitMoveTask(t *testing.T, e *realEnv, sourceARN string) types.ListMessageMoveTasksResultEntry {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		out, err := e.client.ListMessageMoveTasks(context.Background(), &sdk.ListMessageMoveTasksInput{SourceArn: &sourceARN})
		if err != nil {
			t.Fatalf("ListMessageMoveTasks: %v", err)
		}
		if len(out.Results) > 0 && aws.ToString(out.Results[0].Status) != "RUNNING" {
			return out.Results[0]
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("move task of %s still running after 10s: %+v", sourceARN, out.Results)
		}
	}
}

// TestRealMoveTasks checks StartMessageMoveTask back to the original source
// and to an explicit destination, ListMessageMoveTasks (status, counts,
// newest first), CancelMessageMoveTask of a slow task, and their errors.
func TestRealMoveTasks(t *testing.T) {
	e := newRealEnv(t)
	ctx := context.Background()
	dlq := e.createQueue("dlq", nil)
	dlqARN := e.arn(dlq)
	src := e.createQueue("src", map[string]string{"VisibilityTimeout": "0", "RedrivePolicy": redrivePolicy(dlqARN, 1)})
	const n = 3
	sentIDs := map[string]bool{}
	for i := range n {
		sentIDs[e.send(src, "m"+strconv.Itoa(i))] = true
	}
	// Each message: one receive, then the next receive moves it.
	for i := range n {
		if got := e.receive(src, 1, 0); len(got) != 1 {
			t.Fatalf("receive %d: %d messages", i, len(got))
		}
	}
	if got := e.receive(src, 10, 0); len(got) != 0 {
		t.Fatalf("messages not moved: %v", bodies(got))
	}
	if c := e.counts(dlq); c[0] != n {
		t.Fatalf("dead-letter queue counts %v, want %d visible", c, n)
	}

	// Back to the source.
	start, err := e.client.StartMessageMoveTask(ctx, &sdk.StartMessageMoveTaskInput{SourceArn: &dlqARN})
	if err != nil || aws.ToString(start.TaskHandle) == "" {
		t.Fatalf("StartMessageMoveTask: %v, %+v", err, start)
	}
	task := waitMoveTask(t, e, dlqARN)
	if aws.ToString(task.Status) != "COMPLETED" || task.ApproximateNumberOfMessagesMoved != n || task.ApproximateNumberOfMessagesToMove == nil || *task.ApproximateNumberOfMessagesToMove != n {
		t.Errorf("finished task %+v", task)
	}
	if task.TaskHandle != nil {
		t.Errorf("finished task still reports a TaskHandle")
	}
	if task.StartedTimestamp == 0 || aws.ToString(task.SourceArn) != dlqARN {
		t.Errorf("task fields %+v", task)
	}
	back := e.receive(src, 10, 0)
	if got := bodies(back); len(got) != n {
		t.Fatalf("source after the move: %v", got)
	}
	// Moved messages are new messages (AWS: "All redriven messages are
	// considered new messages with a new messageID and enqueueTime"):
	// new ids, no dead-letter source, received once.
	for _, m := range back {
		if sentIDs[aws.ToString(m.MessageId)] || m.Attributes["DeadLetterQueueSourceArn"] != "" || m.Attributes["ApproximateReceiveCount"] != "1" {
			t.Errorf("moved-back message %s: attributes %v, want a new id, count 1, no DeadLetterQueueSourceArn", aws.ToString(m.MessageId), m.Attributes)
		}
	}
	if c := e.counts(dlq); c != [3]int{0, 0, 0} {
		t.Errorf("dead-letter queue after the move: %v", c)
	}

	// To an explicit destination: the receives above left the source's
	// messages at ApproximateReceiveCount 1 with maxReceiveCount 1, so the
	// next receive moves them again.
	if got := e.receive(src, 10, 0); len(got) != 0 {
		t.Fatalf("messages not moved again: %v", bodies(got))
	}
	dest := e.createQueue("dest", nil)
	destARN := e.arn(dest)
	if _, err := e.client.StartMessageMoveTask(ctx, &sdk.StartMessageMoveTaskInput{SourceArn: &dlqARN, DestinationArn: &destARN, MaxNumberOfMessagesPerSecond: aws.Int32(100)}); err != nil {
		t.Fatalf("StartMessageMoveTask to dest: %v", err)
	}
	task = waitMoveTask(t, e, dlqARN)
	if aws.ToString(task.Status) != "COMPLETED" || aws.ToString(task.DestinationArn) != destARN || aws.ToInt32(task.MaxNumberOfMessagesPerSecond) != 100 {
		t.Errorf("task to dest %+v", task)
	}
	if c := e.counts(dest); c[0] != n {
		t.Errorf("destination counts %v", c)
	}
	list, err := e.client.ListMessageMoveTasks(ctx, &sdk.ListMessageMoveTasksInput{SourceArn: &dlqARN, MaxResults: aws.Int32(10)})
	if err != nil || len(list.Results) != 2 || aws.ToString(list.Results[0].DestinationArn) != destARN {
		t.Errorf("ListMessageMoveTasks(10) = %+v, %v", list, err)
	}

	// Cancel a slow task: 25 messages at 1 per second take far longer
	// than the test.
	for i := range 25 {
		if _, err := e.client.SendMessage(ctx, &sdk.SendMessageInput{QueueUrl: &dlq, MessageBody: aws.String("slow" + strconv.Itoa(i))}); err != nil {
			t.Fatal(err)
		}
	}
	slow, err := e.client.StartMessageMoveTask(ctx, &sdk.StartMessageMoveTaskInput{SourceArn: &dlqARN, DestinationArn: &destARN, MaxNumberOfMessagesPerSecond: aws.Int32(1)})
	if err != nil {
		t.Fatalf("start slow task: %v", err)
	}
	_, err = e.client.StartMessageMoveTask(ctx, &sdk.StartMessageMoveTaskInput{SourceArn: &dlqARN, DestinationArn: &destARN})
	if code := apiCode(t, err); code != "InvalidParameterValue" {
		t.Errorf("second task on a running source: %v", err)
	}
	running, err := e.client.ListMessageMoveTasks(ctx, &sdk.ListMessageMoveTasksInput{SourceArn: &dlqARN})
	if err != nil || len(running.Results) != 1 || aws.ToString(running.Results[0].Status) != "RUNNING" || aws.ToString(running.Results[0].TaskHandle) != aws.ToString(slow.TaskHandle) {
		t.Errorf("running task listing: %+v, %v", running, err)
	}
	cancelled, err := e.client.CancelMessageMoveTask(ctx, &sdk.CancelMessageMoveTaskInput{TaskHandle: slow.TaskHandle})
	if err != nil {
		t.Fatalf("CancelMessageMoveTask: %v", err)
	}
	if cancelled.ApproximateNumberOfMessagesMoved >= 25 {
		t.Errorf("cancelled task moved %d of 25", cancelled.ApproximateNumberOfMessagesMoved)
	}
	if task := waitMoveTask(t, e, dlqARN); aws.ToString(task.Status) != "CANCELLED" {
		t.Errorf("cancelled task status %s", aws.ToString(task.Status))
	}
	_, err = e.client.CancelMessageMoveTask(ctx, &sdk.CancelMessageMoveTaskInput{TaskHandle: slow.TaskHandle})
	if err == nil {
		t.Errorf("cancelling a cancelled task succeeded")
	}

	// Errors (CancelMessageMoveTask's: TestRealMoveTaskHandleErrors).
	var notFound *types.ResourceNotFoundException
	missing := "arn:aws:sqs:us-east-1:000000000000:missing"
	_, err = e.client.StartMessageMoveTask(ctx, &sdk.StartMessageMoveTaskInput{SourceArn: &missing})
	if !errors.As(err, &notFound) {
		t.Errorf("start on a missing queue: %v", err)
	}
	notDLQ := e.arn(dest)
	// SQS refuses a source that is no dead-letter queue with or without a
	// destination ("This action is currently limited to supporting message
	// redrive from queues that are configured as dead-letter queues (DLQs)
	// of other Amazon SQS queues only", StartMessageMoveTask API
	// reference). Regression: with DestinationArn Sluice started the task.
	const notDLQMessage = "Source queue must be configured as a Dead Letter Queue."
	for _, in := range []*sdk.StartMessageMoveTaskInput{
		{SourceArn: &notDLQ},
		{SourceArn: &notDLQ, DestinationArn: &dlqARN},
	} {
		_, err = e.client.StartMessageMoveTask(ctx, in)
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidParameterValue" || ae.ErrorMessage() != notDLQMessage {
			t.Errorf("start on a queue that is no dead-letter queue, destination %q: %v, want InvalidParameterValue: %s",
				aws.ToString(in.DestinationArn), err, notDLQMessage)
		}
	}
	_, err = e.client.StartMessageMoveTask(ctx, &sdk.StartMessageMoveTaskInput{SourceArn: &dlqARN, MaxNumberOfMessagesPerSecond: aws.Int32(501)})
	if code := apiCode(t, err); code != "InvalidParameterValue" {
		t.Errorf("rate 501: %v", err)
	}
	_, err = e.client.ListMessageMoveTasks(ctx, &sdk.ListMessageMoveTasksInput{SourceArn: aws.String("not an arn")})
	if code := apiCode(t, err); code != "InvalidParameterValue" {
		t.Errorf("ListMessageMoveTasks(bad ARN): %v", err)
	}
}

// TestRealMoveTaskHandleErrors checks CancelMessageMoveTask's answers for
// handles that name no task. The bug: Sluice's TaskHandle was the engine's
// own text, and any unknown handle answered 404 ResourceNotFoundException
// "The resource that you specified for the TaskHandle parameter doesn't
// exist.". AWS's handle is the base64 of {"taskId":...,"sourceArn":...},
// and AWS tells three cases apart (LocalStack's AWS-recorded
// test_sqs_move_task.snapshot.json): a value that is no handle, 400
// InvalidParameterValue "Value for parameter TaskHandle is invalid."; a
// handle whose source queue does not exist, 404 ResourceNotFoundException
// "The resource that you specified for the SourceArn parameter doesn't
// exist."; a handle of an existing queue naming no task, 404
// ResourceNotFoundException "Task does not exist.".
func TestRealMoveTaskHandleErrors(t *testing.T) {
	e := newRealEnv(t)
	ctx := context.Background()
	dlq := e.createQueue("dlq", nil)
	dlqARN := e.arn(dlq)
	e.createQueue("src", map[string]string{"RedrivePolicy": redrivePolicy(dlqARN, 1)})
	handle := func(taskID, sourceARN string) string {
		raw, err := json.Marshal(map[string]string{"taskId": taskID, "sourceArn": sourceARN})
		if err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(raw)
	}
	cancel := func(h string) [2]wireAnswer {
		return e.wireCall("CancelMessageMoveTask", map[string]any{"TaskHandle": h}, url.Values{"TaskHandle": {h}})
	}
	expectError(t, "not a handle", cancel("foobared"), 400, "InvalidParameterValue", "Value for parameter TaskHandle is invalid.")
	expectError(t, "missing source queue", cancel(handle("10f57157-fc38-4da9-a113-4de7e12d05dd", "arn:aws:sqs:us-east-1:000000000000:test-queue-doesnt-exist-123456")),
		404, "ResourceNotFoundException", "The resource that you specified for the SourceArn parameter doesn't exist.")
	expectError(t, "unknown task", cancel(handle("10f57157-fc38-4da9-a113-4de7e12d05aa", dlqARN)),
		404, "ResourceNotFoundException", "Task does not exist.")

	// The handle StartMessageMoveTask returns has AWS's shape.
	out, err := e.client.StartMessageMoveTask(ctx, &sdk.StartMessageMoveTaskInput{SourceArn: &dlqARN})
	if err != nil {
		t.Fatalf("StartMessageMoveTask: %v", err)
	}
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(out.TaskHandle))
	var decoded map[string]string
	if err != nil || json.Unmarshal(raw, &decoded) != nil || decoded["sourceArn"] != dlqARN || decoded["taskId"] == "" {
		t.Errorf("TaskHandle %q decodes to %q (%v)", aws.ToString(out.TaskHandle), raw, err)
	}
}
