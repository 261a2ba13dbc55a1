package sqs

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/sqs"
)

// TestRealRedriveReceiveState checks the system attributes of a message
// moved by redrive and then by a move task, as AWS reports them
// (engine/NOTES-queue.md has the evidence). With maxReceiveCount 3: three
// receives in the source report ApproximateReceiveCount 1, 2, 3; the fourth
// moves the message; the first receive from the dead-letter queue reports
// ApproximateReceiveCount 4 (receives "across all queues"), the source's
// ApproximateFirstReceiveTimestamp and the original SentTimestamp, and the
// next one 5. A restart between the move and the dead-letter receive keeps
// them (they are in the moved record). StartMessageMoveTask back to the
// source starts the message afresh: ApproximateReceiveCount 1 and a new
// ApproximateFirstReceiveTimestamp. Method: the real engine behind the
// SDK, the offset clock advanced 10 s between steps so timestamps differ;
// before key block version 3 the dead-letter receive reported 1 and a new
// first receive time.
func TestRealRedriveReceiveState(t *testing.T) {
	e := newRealEnv(t)
	ctx := context.Background()
	dlq := e.createQueue("dlq", map[string]string{"VisibilityTimeout": "0"})
	dlqARN := e.arn(dlq)
	src := e.createQueue("src", map[string]string{"VisibilityTimeout": "0", "RedrivePolicy": redrivePolicy(dlqARN, 3)})
	srcARN := e.arn(src)
	id := e.send(src, "poison")
	step := func() { e.clock.Advance(10 * time.Second) }

	var sent, firstReceive string
	for i := 1; i <= 3; i++ {
		step()
		got := e.receive(src, 1, 0)
		if len(got) != 1 || got[0].Attributes["ApproximateReceiveCount"] != strconv.Itoa(i) {
			t.Fatalf("source receive %d: %+v", i, got)
		}
		if i == 1 {
			sent, firstReceive = got[0].Attributes["SentTimestamp"], got[0].Attributes["ApproximateFirstReceiveTimestamp"]
		}
	}
	step()
	if got := e.receive(src, 10, 0); len(got) != 0 {
		t.Fatalf("fourth receive delivered %v instead of moving it", bodies(got))
	}

	e.restart()
	for i := 4; i <= 5; i++ {
		step()
		got := e.receive(dlq, 1, 0)
		if len(got) != 1 {
			t.Fatalf("dead-letter receive %d: %d messages", i-3, len(got))
		}
		a := got[0].Attributes
		if aws.ToString(got[0].MessageId) != id || a["ApproximateReceiveCount"] != strconv.Itoa(i) ||
			a["ApproximateFirstReceiveTimestamp"] != firstReceive || a["SentTimestamp"] != sent ||
			a["DeadLetterQueueSourceArn"] != srcARN {
			t.Fatalf("dead-letter receive %d: id %s attributes %v; want id %s, ApproximateReceiveCount %d, "+
				"ApproximateFirstReceiveTimestamp %s, SentTimestamp %s, DeadLetterQueueSourceArn %s",
				i-3, aws.ToString(got[0].MessageId), a, id, i, firstReceive, sent, srcARN)
		}
	}

	if _, err := e.client.StartMessageMoveTask(ctx, &sdk.StartMessageMoveTaskInput{SourceArn: &dlqARN}); err != nil {
		t.Fatalf("StartMessageMoveTask: %v", err)
	}
	if task := waitMoveTask(t, e, dlqARN); aws.ToString(task.Status) != "COMPLETED" || task.ApproximateNumberOfMessagesMoved != 1 {
		t.Fatalf("move task %+v", task)
	}
	step()
	before := e.clock.Now().UnixMilli()
	got := e.receive(src, 1, 0)
	if len(got) != 1 {
		t.Fatalf("source after the move task: %d messages", len(got))
	}
	a := got[0].Attributes
	first, err := strconv.ParseInt(a["ApproximateFirstReceiveTimestamp"], 10, 64)
	if err != nil || a["ApproximateReceiveCount"] != "1" || first < before {
		t.Fatalf("after the move task: attributes %v; want ApproximateReceiveCount 1 and "+
			"ApproximateFirstReceiveTimestamp >= %d (not the old %s)", a, before, firstReceive)
	}
	if _, ok := a["DeadLetterQueueSourceArn"]; ok {
		t.Errorf("a message moved back still reports DeadLetterQueueSourceArn %s", a["DeadLetterQueueSourceArn"])
	}
}
