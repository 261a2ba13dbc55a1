package sqs

// SetQueueAttributes: QueueUrl, Attributes (every settable attribute with
// SQS's ranges; query Attribute.N.Name/Value). RedrivePolicy and
// RedriveAllowPolicy take SQS's JSON; "" removes them, as does "" for Policy
// and KmsMasterKeyId.
//
// Differences from AWS: attribute changes apply at once (AWS may take up to
// 60 seconds, 15 minutes for MessageRetentionPeriod).

import (
	"github.com/sluice-dev/sluice/server"
	"github.com/sluice-dev/sluice/server/awsproto"
)

type setQueueAttributesInput struct {
	QueueUrl   string //nolint:revive // model member name
	Attributes map[string]string
}

func (in *setQueueAttributesInput) fromForm(f *awsproto.Form) error {
	in.QueueUrl = f.Value("QueueUrl")
	var err error
	in.Attributes, err = f.Map("Attribute", "Name", "Value")
	return err
}

func (s *service) setQueueAttributes(req *server.Request, resp *server.Response) error {
	var in setQueueAttributesInput
	if err := decode(req, &in); err != nil {
		return err
	}
	r, err := s.queueByURL(req, in.QueueUrl)
	if err != nil {
		return err
	}
	if len(in.Attributes) == 0 {
		return missingParameter("Attribute.1.Name")
	}
	info := r.q.Info()
	attrs := info.Attributes
	if err := applyQueueAttributes(&attrs, in.Attributes, attributeContext{ns: r.ref.Namespace, existing: true}); err != nil {
		return err
	}
	policy, hasPolicy := in.Attributes[attrRedrivePolicy]
	if hasPolicy {
		if err := s.checkRedriveTarget(&attrs, policy); err != nil {
			return err
		}
	}
	if err := r.q.SetAttributes(attrs); err != nil {
		return s.mapCreateError(err, policy)
	}
	o := newOut(req, resp)
	o.empty()
	resp.B = o.B
	return nil
}
