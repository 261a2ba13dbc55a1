package sqs

// DeleteQueue: QueueUrl. The queue and its messages are deleted at once;
// the name can be reused after 60 seconds (QueueDeletedRecently before).
//
// Differences from AWS: none known.

import (
	"github.com/sluice-dev/sluice/server"
	"github.com/sluice-dev/sluice/server/awsproto"
)

// queueURLInput is the input of operations that take only QueueUrl.
type queueURLInput struct {
	QueueUrl string //nolint:revive // model member name
}

func (in *queueURLInput) fromForm(f *awsproto.Form) error {
	in.QueueUrl = f.Value("QueueUrl")
	return nil
}

func (s *service) deleteQueue(req *server.Request, resp *server.Response) error {
	var in queueURLInput
	if err := decode(req, &in); err != nil {
		return err
	}
	r, err := s.queueByURL(req, in.QueueUrl)
	if err != nil {
		return err
	}
	if err := s.b.DeleteQueue(r.ref.Namespace, r.ref.Name); err != nil {
		return s.mapError(err)
	}
	o := newOut(req, resp)
	o.empty()
	resp.B = o.B
	return nil
}
