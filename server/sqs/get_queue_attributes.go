package sqs

// GetQueueAttributes: QueueUrl, AttributeNames (All or any
// QueueAttributeName; query AttributeName.N). Approximate counts are the
// engine's O(1) counters; timestamps are epoch seconds. A query request
// that accepts JSON gets Attributes as a list of {"Name","Value"} objects.
//
// Differences from AWS: SqsManagedSseEnabled reads "true" for queues without
// a KMS key (AWS's default for new queues) though nothing is encrypted
// beyond what the storage engine does.

import (
	"github.com/sluice-dev/sluice/server"
	"github.com/sluice-dev/sluice/server/awsproto"
)

type getQueueAttributesInput struct {
	QueueUrl       string //nolint:revive // model member name
	AttributeNames []string
}

func (in *getQueueAttributesInput) fromForm(f *awsproto.Form) error {
	in.QueueUrl = f.Value("QueueUrl")
	var err error
	in.AttributeNames, err = formStrings(f, "AttributeName")
	return err
}

func (s *service) getQueueAttributes(req *server.Request, resp *server.Response) error {
	var in getQueueAttributesInput
	if err := decode(req, &in); err != nil {
		return err
	}
	all := false
	for _, name := range in.AttributeNames {
		if !isQueueAttributeName(name) {
			return unknownAttribute(name)
		}
		all = all || name == attrAll
	}
	r, err := s.queueByURL(req, in.QueueUrl)
	if err != nil {
		return err
	}
	info := r.q.Info()
	counts := r.q.Counts()
	o := newOut(req, resp)
	o.begin("GetQueueAttributesResult")
	// No attribute to return (say, Policy of a queue without one) is
	// "Attributes":{} in JSON, as on AWS (LocalStack's test_sqs.snapshot.json,
	// test_sqs_permission_lifecycle).
	//
	// A query request that asks for JSON gets the attributes as a list of
	// {"Name":…,"Value":…} objects, the query protocol's Attribute entries,
	// not a map (LocalStack's TestSqsQueryApi
	// test_get_queue_attributes_json_format, marked AWS-validated).
	if o.queryJSON {
		o.listStart("Attributes")
	} else {
		o.mapStart("Attributes")
	}
	for _, name := range queueAttributeNames {
		if !all && !contains(in.AttributeNames, name) {
			continue
		}
		value, ok := queueAttributeValue(name, &info, &counts)
		if !ok {
			continue
		}
		if o.queryJSON {
			o.itemStart("Attribute")
			o.str("Name", name)
			o.str("Value", value)
			o.itemEnd("Attribute")
			continue
		}
		o.mapEntry("Attribute", "Name", "Value", name, value)
	}
	if o.queryJSON {
		o.listEnd()
	} else {
		o.mapEnd()
	}
	o.end("GetQueueAttributesResult")
	resp.B = o.B
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
