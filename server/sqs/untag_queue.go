package sqs

// UntagQueue: QueueUrl, TagKeys (query TagKey.N). Unknown keys are ignored.
//
// Differences from AWS: none known.

import (
	"github.com/sluice-dev/sluice/server"
	"github.com/sluice-dev/sluice/server/awsproto"
)

type untagQueueInput struct {
	QueueUrl string //nolint:revive // model member name
	TagKeys  []string
}

func (in *untagQueueInput) fromForm(f *awsproto.Form) error {
	in.QueueUrl = f.Value("QueueUrl")
	var err error
	in.TagKeys, err = formStrings(f, "TagKey")
	return err
}

func (s *service) untagQueue(req *server.Request, resp *server.Response) error {
	var in untagQueueInput
	if err := decode(req, &in); err != nil {
		return err
	}
	r, err := s.queueByURL(req, in.QueueUrl)
	if err != nil {
		return err
	}
	if len(in.TagKeys) == 0 {
		return missingParameter("TagKeys")
	}
	if err := r.q.Untag(in.TagKeys); err != nil {
		return s.mapError(err)
	}
	o := newOut(req, resp)
	o.empty()
	resp.B = o.B
	return nil
}
