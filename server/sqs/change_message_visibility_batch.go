package sqs

// ChangeMessageVisibilityBatch: QueueUrl, Entries (1–10 of Id,
// ReceiptHandle, VisibilityTimeout; query
// ChangeMessageVisibilityBatchRequestEntry.N.*). Per-entry failures are
// reported in Failed.
//
// Differences from AWS: none known.

import (
	"time"

	"github.com/sluice-dev/sluice/server"
	"github.com/sluice-dev/sluice/server/awsproto"
)

type changeMessageVisibilityBatchInput struct{ receiptBatchInput }

func (in *changeMessageVisibilityBatchInput) fromForm(f *awsproto.Form) error {
	return in.fromFormEntries(f, "ChangeMessageVisibilityBatchRequestEntry")
}

func (s *service) changeMessageVisibilityBatch(req *server.Request, resp *server.Response) error {
	var in changeMessageVisibilityBatchInput
	held, err := decodeHot(req, &in)
	defer held.release() // in borrows the parser's memory
	if err != nil {
		return err
	}
	r, err := s.queueByURL(req, in.QueueUrl)
	if err != nil {
		return err
	}
	raw, entryErr, perr := decodeBatchReceipts(in.Entries, "ChangeMessageVisibilityBatchRequestEntry")
	if perr != nil {
		return perr
	}
	valid := make([][]byte, 0, len(raw))
	timeouts := make([]time.Duration, 0, len(raw))
	index := make([]int, 0, len(raw))
	for i := range raw {
		if entryErr[i] == nil {
			entryErr[i] = checkVisibility(in.Entries[i].VisibilityTimeout)
		}
		if entryErr[i] == nil {
			valid = append(valid, raw[i])
			timeouts = append(timeouts, secondsDuration(*in.Entries[i].VisibilityTimeout))
			index = append(index, i)
		}
	}
	if len(valid) > 0 {
		errs := r.q.ChangeVisibilityBatch(valid, timeouts)
		for k, e := range errs {
			if e == nil || k >= len(index) {
				continue
			}
			i := index[k]
			entryErr[i] = s.visibilityError(in.Entries[i].ReceiptHandle, *in.Entries[i].VisibilityTimeout, e)
		}
	}
	return writeReceiptBatchResult(req, resp, "ChangeMessageVisibilityBatchResult", "ChangeMessageVisibilityBatchResultEntry", in.Entries, entryErr)
}
