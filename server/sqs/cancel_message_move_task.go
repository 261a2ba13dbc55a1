package sqs

// CancelMessageMoveTask: TaskHandle. Returns the messages moved so far.
// A TaskHandle that is no handle answers InvalidParameterValue "Value for
// parameter TaskHandle is invalid."; one whose source queue does not exist
// ResourceNotFoundException for SourceArn; one whose task does not exist
// ResourceNotFoundException "Task does not exist." (LocalStack's
// AWS-recorded test_sqs_move_task.snapshot.json).
//
// Differences from AWS: none known.

import (
	"github.com/sluice-dev/sluice/server"
	"github.com/sluice-dev/sluice/server/awsproto"
)

type cancelMessageMoveTaskInput struct {
	TaskHandle string
}

func (in *cancelMessageMoveTaskInput) fromForm(f *awsproto.Form) error {
	in.TaskHandle = f.Value("TaskHandle")
	return nil
}

func (s *service) cancelMessageMoveTask(req *server.Request, resp *server.Response) error {
	var in cancelMessageMoveTaskInput
	if err := decode(req, &in); err != nil {
		return err
	}
	if in.TaskHandle == "" {
		return missingParameter("TaskHandle")
	}
	h, ok := decodeMoveTaskHandle(in.TaskHandle)
	if !ok {
		return errInvalidTaskHandle
	}
	if _, ok := parseQueueARN(h.SourceArn); !ok {
		return errInvalidTaskHandle
	}
	if _, err := s.queueByARN("SourceArn", h.SourceArn); err != nil {
		return err
	}
	moved, err := s.b.CancelMoveTask(h.TaskID)
	if err != nil {
		return s.mapError(err)
	}
	o := newOut(req, resp)
	o.begin("CancelMessageMoveTaskResult")
	o.long("ApproximateNumberOfMessagesMoved", moved)
	o.end("CancelMessageMoveTaskResult")
	resp.B = o.B
	return nil
}
