package sqs

// DeleteMessageBatch: QueueUrl, Entries (1–10 of Id, ReceiptHandle; query
// DeleteMessageBatchRequestEntry.N.{Id,ReceiptHandle}). Per-entry failures
// (ReceiptHandleIsInvalid) are reported in Failed; the engine deletes the
// valid entries in one call.
//
// Differences from AWS: as DeleteMessage.

import (
	"github.com/sluice-dev/sluice/server"
	"github.com/sluice-dev/sluice/server/awsproto"
)

type receiptEntry struct {
	Id                string //nolint:revive // model member name
	ReceiptHandle     string
	VisibilityTimeout *int
}

type receiptBatchInput struct {
	QueueUrl string //nolint:revive // model member name
	Entries  []receiptEntry
}

// fromFormEntries reads entryShape.N.{Id,ReceiptHandle,VisibilityTimeout}.
func (in *receiptBatchInput) fromFormEntries(f *awsproto.Form, entryShape string) error {
	in.QueueUrl = f.Value("QueueUrl")
	members, err := f.Members(entryShape)
	if err != nil {
		return err
	}
	in.Entries = make([]receiptEntry, len(members))
	for i, m := range members {
		e := &in.Entries[i]
		e.Id = m.Fields.Value("Id")
		e.ReceiptHandle = m.Fields.Value("ReceiptHandle")
		if e.VisibilityTimeout, err = formOptionalInt(m.Fields, "VisibilityTimeout"); err != nil {
			return err
		}
	}
	return nil
}

type deleteMessageBatchInput struct{ receiptBatchInput }

func (in *deleteMessageBatchInput) fromForm(f *awsproto.Form) error {
	return in.fromFormEntries(f, "DeleteMessageBatchRequestEntry")
}

// decodeBatchReceipts validates the batch shape and decodes each handle;
// entries with malformed handles get an entry error.
func decodeBatchReceipts(entries []receiptEntry, entryShape string) (raw [][]byte, entryErr []*awsproto.Error, err *awsproto.Error) {
	ids := make([]string, len(entries))
	for i := range entries {
		ids[i] = entries[i].Id
	}
	if err := validateBatchShape(ids, entryShape); err != nil {
		return nil, nil, err
	}
	raw = make([][]byte, len(entries))
	entryErr = make([]*awsproto.Error, len(entries))
	// One buffer for every decoded receipt (the handles are bounded by
	// receiptHandleLengthMax, so this is at most a few KiB).
	size := 0
	for i := range entries {
		size += receiptEncoding.DecodedLen(min(len(entries[i].ReceiptHandle), receiptHandleLengthMax))
	}
	buf := make([]byte, 0, size)
	for i := range entries {
		h := entries[i].ReceiptHandle
		if h == "" {
			entryErr[i] = missingParameter("ReceiptHandle")
			continue
		}
		start := len(buf)
		b, ok := decodeReceiptHandle(buf, h)
		if !ok {
			entryErr[i] = receiptHandleInvalid(h)
			continue
		}
		buf = b
		raw[i] = buf[start:len(buf):len(buf)]
	}
	return raw, entryErr, nil
}

func (s *service) deleteMessageBatch(req *server.Request, resp *server.Response) error {
	var in deleteMessageBatchInput
	held, err := decodeHot(req, &in)
	defer held.release() // in borrows the parser's memory
	if err != nil {
		return err
	}
	r, err := s.queueByURL(req, in.QueueUrl)
	if err != nil {
		return err
	}
	raw, entryErr, perr := decodeBatchReceipts(in.Entries, "DeleteMessageBatchRequestEntry")
	if perr != nil {
		return perr
	}
	valid := make([][]byte, 0, len(raw))
	index := make([]int, 0, len(raw))
	for i := range raw {
		if entryErr[i] == nil {
			valid = append(valid, raw[i])
			index = append(index, i)
		}
	}
	if len(valid) > 0 {
		errs := r.q.Delete(valid)
		for k, e := range errs {
			if e == nil || k >= len(index) {
				continue
			}
			i := index[k]
			if mapped := s.deleteError(r.q, in.Entries[i].ReceiptHandle, e); mapped != nil {
				entryErr[i] = asAWSError(s, mapped)
			}
		}
	}
	return writeReceiptBatchResult(req, resp, "DeleteMessageBatchResult", "DeleteMessageBatchResultEntry", in.Entries, entryErr)
}

// writeReceiptBatchResult renders the Successful/Failed result shared by
// DeleteMessageBatch and ChangeMessageVisibilityBatch.
func writeReceiptBatchResult(req *server.Request, resp *server.Response, result, entryShape string, entries []receiptEntry, entryErr []*awsproto.Error) error {
	o := newOut(req, resp)
	o.begin(result)
	o.listStart("Successful")
	var failures []batchFailure
	for i := range entries {
		if entryErr[i] != nil {
			failures = append(failures, batchFailure{id: entries[i].Id, err: entryErr[i]})
			continue
		}
		o.itemStart(entryShape)
		o.str("Id", entries[i].Id)
		o.itemEnd(entryShape)
	}
	o.listEnd()
	writeBatchFailures(&o, failures)
	o.end(result)
	resp.B = o.B
	return nil
}

// asAWSError converts a mapped error for a batch entry; unknown errors are
// logged and reported as InternalError (SenderFault=false).
func asAWSError(s *service, err error) *awsproto.Error {
	if e, ok := awsproto.AsError(err); ok {
		return e
	}
	s.log.Error("sqs: batch entry failed", "err", err)
	return errInternal
}
