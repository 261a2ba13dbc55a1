package sqs

// CancelMessageMoveTask: TaskHandle. Returns the messages moved so far.
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
	moved, err := s.b.CancelMoveTask(in.TaskHandle)
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
