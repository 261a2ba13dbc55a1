package sqs

// ListQueueTags: QueueUrl. Tags render in key order.
//
// Differences from AWS: none known.

import (
	"github.com/sluice-dev/sluice/server"
)

func (s *service) listQueueTags(req *server.Request, resp *server.Response) error {
	var in queueURLInput
	if err := decode(req, &in); err != nil {
		return err
	}
	r, err := s.queueByURL(req, in.QueueUrl)
	if err != nil {
		return err
	}
	tags := r.q.Info().Tags
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sortStrings(keys)
	o := newOut(req, resp)
	o.begin("ListQueueTagsResult")
	// A queue without tags answers "Tags":{} in JSON, as AWS does
	// (LocalStack's test_sqs.snapshot.json, test_tag_untag_queue).
	o.mapStart("Tags")
	for _, k := range keys {
		o.mapEntry("Tag", "Key", "Value", k, tags[k])
	}
	o.mapEnd()
	o.end("ListQueueTagsResult")
	resp.B = o.B
	return nil
}
