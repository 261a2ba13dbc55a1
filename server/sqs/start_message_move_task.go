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
// Differences from AWS: the task handle is the engine's opaque handle
// rather than AWS's base64 JSON.

import (
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
	o.str("TaskHandle", handle)
	o.end("StartMessageMoveTaskResult")
	resp.B = o.B
	return nil
}
