package sqs

// ListDeadLetterSourceQueues: QueueUrl (the dead-letter queue), MaxResults
// (1–1000), NextToken. Lists queues whose RedrivePolicy targets it.
//
// Differences from AWS: NextToken is an opaque base64 of the last name.

import (
	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/server"
	"github.com/sluice-dev/sluice/server/awsproto"
)

type listDeadLetterSourceQueuesInput struct {
	QueueUrl   string //nolint:revive // model member name
	NextToken  string
	MaxResults *int
}

func (in *listDeadLetterSourceQueuesInput) fromForm(f *awsproto.Form) error {
	in.QueueUrl = f.Value("QueueUrl")
	in.NextToken = f.Value("NextToken")
	var err error
	in.MaxResults, err = formOptionalInt(f, "MaxResults")
	return err
}

func (s *service) listDeadLetterSourceQueues(req *server.Request, resp *server.Response) error {
	var in listDeadLetterSourceQueuesInput
	if err := decode(req, &in); err != nil {
		return err
	}
	r, err := s.queueByURL(req, in.QueueUrl)
	if err != nil {
		return err
	}
	limit, after, paginate, err := pageParams(in.MaxResults, in.NextToken)
	if err != nil {
		return err
	}
	if after != "" {
		// The token holds a source queue's name; the engine continues
		// after a reference's String (sources share the DLQ's namespace).
		after = engine.QueueRef{Namespace: r.ref.Namespace, Name: after}.String()
	}
	refs, err := s.b.DeadLetterSourceQueues(r.ref, after, limit+1)
	if err != nil {
		return s.mapError(err)
	}
	next := ""
	if len(refs) > limit {
		refs = refs[:limit]
		if paginate {
			next = nextTokenAfter(refs[len(refs)-1].Name)
		}
	}
	o := newOut(req, resp)
	o.begin("ListDeadLetterSourceQueuesResult")
	o.listStart("queueUrls")
	for _, ref := range refs {
		o.strItem("QueueUrl", queueURL(req, engine.QueueRef{Namespace: ref.Namespace, Name: ref.Name}))
	}
	o.listEnd()
	if next != "" {
		o.str("NextToken", next)
	}
	o.end("ListDeadLetterSourceQueuesResult")
	resp.B = o.B
	return nil
}
