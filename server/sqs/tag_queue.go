package sqs

// TagQueue: QueueUrl, Tags (query Tag.N.Key/Value). At most 50 tags per
// queue after the change.
//
// Differences from AWS: none known.

import (
	"github.com/sluice-dev/sluice/server"
	"github.com/sluice-dev/sluice/server/awsproto"
)

type tagQueueInput struct {
	QueueUrl string //nolint:revive // model member name
	Tags     map[string]string
}

func (in *tagQueueInput) fromForm(f *awsproto.Form) error {
	in.QueueUrl = f.Value("QueueUrl")
	var err error
	in.Tags, err = f.Map("Tag", "Key", "Value")
	return err
}

func (s *service) tagQueue(req *server.Request, resp *server.Response) error {
	var in tagQueueInput
	if err := decode(req, &in); err != nil {
		return err
	}
	r, err := s.queueByURL(req, in.QueueUrl)
	if err != nil {
		return err
	}
	if len(in.Tags) == 0 {
		return missingParameter("Tags")
	}
	if err := validateTags(in.Tags); err != nil {
		return err
	}
	merged := len(in.Tags)
	for k := range r.q.Info().Tags {
		if _, ok := in.Tags[k]; !ok {
			merged++
		}
	}
	if merged > queueTagsMax {
		return invalidParameter("Too many tags added for queue " + r.ref.Name + ".")
	}
	if err := r.q.Tag(in.Tags); err != nil {
		return s.mapError(err)
	}
	o := newOut(req, resp)
	o.empty()
	resp.B = o.B
	return nil
}
