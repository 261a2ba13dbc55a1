package sqs

// ListMessageMoveTasks: SourceArn, MaxResults (1–10, default 1). The most
// recent tasks first; TaskHandle only for a RUNNING task, as in AWS.
//
// Differences from AWS: none known.

import (
	"strconv"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/server"
	"github.com/sluice-dev/sluice/server/awsproto"
)

type listMessageMoveTasksInput struct {
	SourceArn  string
	MaxResults *int
}

func (in *listMessageMoveTasksInput) fromForm(f *awsproto.Form) error {
	in.SourceArn = f.Value("SourceArn")
	var err error
	in.MaxResults, err = formOptionalInt(f, "MaxResults")
	return err
}

func (s *service) listMessageMoveTasks(req *server.Request, resp *server.Response) error {
	var in listMessageMoveTasksInput
	if err := decode(req, &in); err != nil {
		return err
	}
	src, err := s.queueByARN("SourceArn", in.SourceArn)
	if err != nil {
		return err
	}
	limit := 1
	if in.MaxResults != nil {
		limit = *in.MaxResults
		if limit < 1 || limit > listMoveTasksMax {
			return invalidParameterValue("MaxResults", strconv.Itoa(limit), "Must be between 1 and 10.")
		}
	}
	tasks, err := s.b.ListMoveTasks(src.ref, limit)
	if err != nil {
		return s.mapError(err)
	}
	o := newOut(req, resp)
	o.begin("ListMessageMoveTasksResult")
	if len(tasks) > 0 {
		o.listStart("Results")
		for i := range tasks {
			writeMoveTask(&o, &tasks[i])
		}
		o.listEnd()
	}
	o.end("ListMessageMoveTasksResult")
	resp.B = o.B
	return nil
}

func writeMoveTask(o *out, t *engine.MoveTask) {
	o.itemStart("ListMessageMoveTasksResultEntry")
	if t.Status == engine.MoveTaskRunning {
		o.str("TaskHandle", encodeMoveTaskHandle(t.Handle, t.Source))
	}
	o.str("Status", t.Status)
	o.str("SourceArn", arnOf(t.Source))
	if t.Destination != nil {
		o.str("DestinationArn", arnOf(*t.Destination))
	}
	if t.MaxPerSecond > 0 {
		o.long("MaxNumberOfMessagesPerSecond", int64(t.MaxPerSecond))
	}
	o.long("ApproximateNumberOfMessagesMoved", t.Moved)
	o.long("ApproximateNumberOfMessagesToMove", t.ToMove)
	if t.Failure != "" {
		o.str("FailureReason", moveTaskFailureReason(t.Failure))
	}
	o.long("StartedTimestamp", t.Started.UnixMilli())
	o.itemEnd("ListMessageMoveTasksResultEntry")
}

// moveTaskFailureReason is the FailureReason AWS shows for an engine move
// task failure: SQS's own codes for the failures it defines, else the
// engine's text.
func moveTaskFailureReason(failure string) string {
	switch failure {
	case engine.MoveTaskFailureQueueNotFound:
		return "AWS.SimpleQueueService.NonExistentQueue"
	case engine.MoveTaskFailureUnknownSource:
		return "CouldNotDetermineMessageSource"
	}
	return failure
}
