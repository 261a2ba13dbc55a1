package sqs

// DeleteMessage: QueueUrl, ReceiptHandle. A malformed handle is
// ReceiptHandleIsInvalid. A well-formed handle of an earlier delivery (the
// message was received again since, or already deleted) succeeds without
// deleting on standard queues, as AWS documents; on FIFO queues it is
// ReceiptHandleIsInvalid ("The receipt handle has expired").
//
// Differences from AWS: none known.

import (
	"errors"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/server"
	"github.com/sluice-dev/sluice/server/awsproto"
)

type deleteMessageInput struct {
	QueueUrl      string //nolint:revive // model member name
	ReceiptHandle string
}

func (in *deleteMessageInput) fromForm(f *awsproto.Form) error {
	in.QueueUrl = f.Value("QueueUrl")
	in.ReceiptHandle = f.Value("ReceiptHandle")
	return nil
}

func (s *service) deleteMessage(req *server.Request, resp *server.Response) error {
	var in deleteMessageInput
	held, err := decodeHot(req, &in)
	defer held.release() // in borrows the parser's memory
	if err != nil {
		return err
	}
	r, err := s.queueByURL(req, in.QueueUrl)
	if err != nil {
		return err
	}
	if in.ReceiptHandle == "" {
		return missingParameter("ReceiptHandle")
	}
	var buf [64]byte
	raw, ok := decodeReceiptHandle(buf[:0], in.ReceiptHandle)
	if !ok {
		return receiptHandleInvalid(in.ReceiptHandle)
	}
	receipts := [1][]byte{raw}
	errs := r.q.Delete(receipts[:])
	if len(errs) > 0 && errs[0] != nil {
		if e := s.deleteError(r.q, in.ReceiptHandle, errs[0]); e != nil {
			return e
		}
	}
	o := newOut(req, resp)
	o.empty()
	resp.B = o.B
	return nil
}

// deleteError maps one Delete failure; nil means SQS reports success.
func (s *service) deleteError(q queueHandle, handle string, err error) error {
	switch {
	case errors.Is(err, engine.ErrReceiptInvalid):
		return receiptHandleInvalid(handle)
	case errors.Is(err, engine.ErrReceiptStale), errors.Is(err, engine.ErrMessageNotInflight):
		if q.Info().Attributes.FIFO {
			// AWS answers InvalidParameterValue, not ReceiptHandleIsInvalid
			// (LocalStack's AWS-validated snapshot of
			// test_fifo_delete_message_with_expired_receipt_handle).
			return invalidParameterValue("ReceiptHandle", handle, "The receipt handle has expired.")
		}
		return nil
	}
	return s.mapError(err)
}
