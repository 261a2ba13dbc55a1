package sqs

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// newestMoveTask returns the newest move task of sourceARN.
func newestMoveTask(t *testing.T, e *realEnv, sourceARN string) types.ListMessageMoveTasksResultEntry {
	t.Helper()
	out, err := e.client.ListMessageMoveTasks(context.Background(), &sdk.ListMessageMoveTasksInput{SourceArn: &sourceARN})
	if err != nil || len(out.Results) != 1 {
		t.Fatalf("ListMessageMoveTasks: %+v, %v", out, err)
	}
	return out.Results[0]
}

// pollMoveTask polls the newest task of sourceARN every 5 ms until done
// accepts it or timeout passes (the task runs on real timers and exposes
// no completion event).
func pollMoveTask(t *testing.T, e *realEnv, sourceARN string, timeout time.Duration, done func(types.ListMessageMoveTasksResultEntry) bool) types.ListMessageMoveTasksResultEntry {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		task := newestMoveTask(t, e, sourceARN)
		if done(task) {
			return task
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("move task of %s after %s: %+v", sourceARN, timeout, task)
		}
	}
}

// TestRealMoveTaskSurvivesRestart checks, through aws-sdk-go-v2, that a
// running message move task survives a restart of server and engine on the
// same directory, as AWS keeps tasks running: ListMessageMoveTasks shows
// it RUNNING with the same TaskHandle, rate, StartedTimestamp and
// ApproximateNumberOfMessagesToMove and a moved count no lower than
// before, then COMPLETED, with every message in the destination exactly
// once; a second task on the source is refused while it runs; and a
// resumed task can be cancelled. Method: 50 messages in a dead-letter
// queue, a task at 10 messages per second (a batch of 10 each second, the
// first at once), a restart as soon as the first batch moved (the task
// would need 4 more seconds), polling on real time for the end.
func TestRealMoveTaskSurvivesRestart(t *testing.T) {
	e := newRealEnv(t)
	ctx := context.Background()
	dlq := e.createQueue("dlq", nil)
	dlqARN := e.arn(dlq)
	e.createQueue("src", map[string]string{"RedrivePolicy": redrivePolicy(dlqARN, 1)})
	dest := e.createQueue("dest", nil)
	destARN := e.arn(dest)
	const n = 50
	for i := range n {
		e.send(dlq, "m"+strconv.Itoa(i))
	}

	start, err := e.client.StartMessageMoveTask(ctx, &sdk.StartMessageMoveTaskInput{
		SourceArn: &dlqARN, DestinationArn: &destARN, MaxNumberOfMessagesPerSecond: aws.Int32(10)})
	if err != nil {
		t.Fatalf("StartMessageMoveTask: %v", err)
	}
	before := pollMoveTask(t, e, dlqARN, 10*time.Second, func(task types.ListMessageMoveTasksResultEntry) bool {
		return task.ApproximateNumberOfMessagesMoved >= 10
	})
	if aws.ToString(before.Status) != "RUNNING" {
		t.Fatalf("before the restart: %+v, want RUNNING", before)
	}

	e.restart()
	after := newestMoveTask(t, e, dlqARN)
	if aws.ToString(after.Status) != "RUNNING" || aws.ToString(after.TaskHandle) != aws.ToString(start.TaskHandle) ||
		aws.ToInt32(after.MaxNumberOfMessagesPerSecond) != 10 || after.StartedTimestamp != before.StartedTimestamp ||
		aws.ToInt64(after.ApproximateNumberOfMessagesToMove) != n || aws.ToString(after.DestinationArn) != destARN ||
		after.ApproximateNumberOfMessagesMoved < before.ApproximateNumberOfMessagesMoved {
		t.Fatalf("after the restart: %+v, want the task as before (%+v) still RUNNING", after, before)
	}
	_, err = e.client.StartMessageMoveTask(ctx, &sdk.StartMessageMoveTaskInput{SourceArn: &dlqARN, DestinationArn: &destARN})
	if code := apiCode(t, err); code != "InvalidParameterValue" {
		t.Errorf("second task while the resumed one runs: %v", err)
	}
	done := pollMoveTask(t, e, dlqARN, 30*time.Second, func(task types.ListMessageMoveTasksResultEntry) bool {
		return aws.ToString(task.Status) != "RUNNING"
	})
	if aws.ToString(done.Status) != "COMPLETED" || done.ApproximateNumberOfMessagesMoved != n || done.TaskHandle != nil || done.FailureReason != nil {
		t.Fatalf("resumed task ended %+v, want COMPLETED with %d moved", done, n)
	}
	seen := make(map[string]int)
	for {
		msgs := e.receive(dest, 10, 0)
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			seen[aws.ToString(m.Body)]++
		}
	}
	for i := range n {
		if body := "m" + strconv.Itoa(i); seen[body] != 1 {
			t.Errorf("message %s arrived %d times in the destination, want once", body, seen[body])
		}
	}
	if len(seen) != n {
		t.Errorf("%d distinct messages in the destination, want %d", len(seen), n)
	}
	if c := e.counts(dlq); c != [3]int{0, 0, 0} {
		t.Errorf("dead-letter queue after the move: %v", c)
	}

	// A resumed task can be cancelled: 20 messages at 1 per second take
	// 10 s per batch after the first.
	for i := range 20 {
		e.send(dlq, "slow"+strconv.Itoa(i))
	}
	slow, err := e.client.StartMessageMoveTask(ctx, &sdk.StartMessageMoveTaskInput{
		SourceArn: &dlqARN, DestinationArn: &destARN, MaxNumberOfMessagesPerSecond: aws.Int32(1)})
	if err != nil {
		t.Fatalf("start slow task: %v", err)
	}
	pollMoveTask(t, e, dlqARN, 10*time.Second, func(task types.ListMessageMoveTasksResultEntry) bool {
		return task.ApproximateNumberOfMessagesMoved >= 10
	})
	e.restart()
	cancelled, err := e.client.CancelMessageMoveTask(ctx, &sdk.CancelMessageMoveTaskInput{TaskHandle: slow.TaskHandle})
	if err != nil || cancelled.ApproximateNumberOfMessagesMoved != 10 {
		t.Fatalf("CancelMessageMoveTask of the resumed task: %+v, %v; want 10 moved", cancelled, err)
	}
	if task := newestMoveTask(t, e, dlqARN); aws.ToString(task.Status) != "CANCELLED" {
		t.Errorf("cancelled resumed task: %+v", task)
	}
	if c := e.counts(dlq); c[0] != 10 {
		t.Errorf("dead-letter queue after the cancel: %v, want the 10 not moved", c)
	}
}

// TestRealMoveTaskFailureReasons checks, through aws-sdk-go-v2, the
// FailureReason values AWS defines for a FAILED move task, which the
// engine reports in its own terms: a task without a destination over
// messages sent straight to the dead-letter queue (no recorded source)
// fails with CouldNotDetermineMessageSource, and one whose destination
// queue is deleted while it runs fails with
// AWS.SimpleQueueService.NonExistentQueue.
func TestRealMoveTaskFailureReasons(t *testing.T) {
	e := newRealEnv(t)
	ctx := context.Background()
	failed := func(task types.ListMessageMoveTasksResultEntry) bool {
		return aws.ToString(task.Status) != "RUNNING"
	}

	dlq := e.createQueue("dlq", nil)
	dlqARN := e.arn(dlq)
	e.createQueue("src", map[string]string{"RedrivePolicy": redrivePolicy(dlqARN, 1)})
	e.send(dlq, "sent straight to the DLQ")
	if _, err := e.client.StartMessageMoveTask(ctx, &sdk.StartMessageMoveTaskInput{SourceArn: &dlqARN}); err != nil {
		t.Fatalf("StartMessageMoveTask: %v", err)
	}
	task := pollMoveTask(t, e, dlqARN, 10*time.Second, failed)
	if aws.ToString(task.Status) != "FAILED" || aws.ToString(task.FailureReason) != "CouldNotDetermineMessageSource" {
		t.Fatalf("task over a message without source: %+v, want FAILED CouldNotDetermineMessageSource", task)
	}

	dlq2 := e.createQueue("dlq2", nil)
	dlq2ARN := e.arn(dlq2)
	e.createQueue("src2", map[string]string{"RedrivePolicy": redrivePolicy(dlq2ARN, 1)})
	dest := e.createQueue("dest", nil)
	destARN := e.arn(dest)
	for i := range 50 {
		e.send(dlq2, "m"+strconv.Itoa(i))
	}
	// Ten messages per second: the first batch of ten moves at once, the
	// next, a second later, finds the destination gone.
	if _, err := e.client.StartMessageMoveTask(ctx, &sdk.StartMessageMoveTaskInput{
		SourceArn: &dlq2ARN, DestinationArn: &destARN, MaxNumberOfMessagesPerSecond: aws.Int32(10)}); err != nil {
		t.Fatalf("StartMessageMoveTask: %v", err)
	}
	pollMoveTask(t, e, dlq2ARN, 10*time.Second, func(task types.ListMessageMoveTasksResultEntry) bool {
		return task.ApproximateNumberOfMessagesMoved > 0
	})
	if _, err := e.client.DeleteQueue(ctx, &sdk.DeleteQueueInput{QueueUrl: &dest}); err != nil {
		t.Fatalf("DeleteQueue: %v", err)
	}
	task = pollMoveTask(t, e, dlq2ARN, 30*time.Second, failed)
	if aws.ToString(task.Status) != "FAILED" || aws.ToString(task.FailureReason) != "AWS.SimpleQueueService.NonExistentQueue" {
		t.Fatalf("task whose destination was deleted: %+v, want FAILED AWS.SimpleQueueService.NonExistentQueue", task)
	}
}
