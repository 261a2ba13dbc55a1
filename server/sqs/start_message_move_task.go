package sqs

// StartMessageMoveTask: SourceArn (a dead-letter queue), DestinationArn
// (optional: each message's original source queue when absent),
// MaxNumberOfMessagesPerSecond (1–500).
//
// A moved message is a new message in its destination, as in AWS ("All
// redriven messages are considered new messages with a new messageID and
// enqueueTime"): a new MessageId, SentTimestamp (and retention) from the
// move, ApproximateReceiveCount from 0 and ApproximateFirstReceiveTimestamp
// its first receive there.
//
// TaskHandle has AWS's shape, base64 of {"taskId":...,"sourceArn":...}
// (see moveTaskHandle).
//
// Differences from AWS: taskId is the engine's task handle, not a bare
// UUID.

import (
	"encoding/base64"
	"encoding/json"
	"strconv"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/server"
	"github.com/sluice-dev/sluice/server/awsproto"
)

type startMessageMoveTaskInput struct {
	SourceArn                    string
	DestinationArn               string
	MaxNumberOfMessagesPerSecond *int
}

func (in *startMessageMoveTaskInput) fromForm(f *awsproto.Form) error {
	in.SourceArn = f.Value("SourceArn")
	in.DestinationArn = f.Value("DestinationArn")
	var err error
	in.MaxNumberOfMessagesPerSecond, err = formOptionalInt(f, "MaxNumberOfMessagesPerSecond")
	return err
}

func (s *service) startMessageMoveTask(req *server.Request, resp *server.Response) error {
	var in startMessageMoveTaskInput
	if err := decode(req, &in); err != nil {
		return err
	}
	src, err := s.queueByARN("SourceArn", in.SourceArn)
	if err != nil {
		return err
	}
	// SQS moves messages only out of a dead-letter queue, with or without
	// DestinationArn; the engine requires a dead-letter queue only when it
	// must find each message's original source.
	sources, err := s.b.DeadLetterSourceQueues(src.ref, "", 1)
	if err != nil {
		return s.mapError(err)
	}
	if len(sources) == 0 {
		return errNotDeadLetterQueue
	}
	var dst *engine.QueueRef
	if in.DestinationArn != "" {
		d, err := s.queueByARN("DestinationArn", in.DestinationArn)
		if err != nil {
			return err
		}
		dst = &d.ref
	}
	rate := 0
	if in.MaxNumberOfMessagesPerSecond != nil {
		rate = *in.MaxNumberOfMessagesPerSecond
		if rate < 1 || rate > moveTaskRateMax {
			return invalidParameterValue("MaxNumberOfMessagesPerSecond", strconv.Itoa(rate), "Must be between 1 and 500.")
		}
	}
	handle, err := s.b.StartMoveTask(src.ref, dst, rate)
	if err != nil {
		return s.mapError(err)
	}
	o := newOut(req, resp)
	o.begin("StartMessageMoveTaskResult")
	o.str("TaskHandle", encodeMoveTaskHandle(handle, src.ref))
	o.end("StartMessageMoveTaskResult")
	resp.B = o.B
	return nil
}

// moveTaskHandle is the TaskHandle clients see, as AWS shapes it: the
// standard base64 of this JSON object. CancelMessageMoveTask tells a value
// that is no such object ("Value for parameter TaskHandle is invalid.")
// from one whose source queue does not exist and from one whose task does
// not (LocalStack's AWS-recorded test_sqs_move_task.snapshot.json). TaskID
// carries the engine's handle.
type moveTaskHandle struct {
	TaskID    string `json:"taskId"`
	SourceArn string `json:"sourceArn"`
}

// encodeMoveTaskHandle renders the TaskHandle of the engine task handle
// whose source queue is src.
func encodeMoveTaskHandle(handle string, src engine.QueueRef) string {
	// Marshalling two strings cannot fail.
	v, _ := json.Marshal(moveTaskHandle{TaskID: handle, SourceArn: arnOf(src)})
	return base64.StdEncoding.EncodeToString(v)
}

// decodeMoveTaskHandle parses a TaskHandle; ok is false for anything
// encodeMoveTaskHandle could not have produced.
func decodeMoveTaskHandle(s string) (moveTaskHandle, bool) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return moveTaskHandle{}, false
	}
	var h moveTaskHandle
	if err := json.Unmarshal(raw, &h); err != nil || h.TaskID == "" || h.SourceArn == "" {
		return moveTaskHandle{}, false
	}
	return h, true
}
