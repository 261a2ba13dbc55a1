package sqs

// ChangeMessageVisibility: QueueUrl, ReceiptHandle, VisibilityTimeout
// (0–43200; the total since receive may not exceed 12 hours).
//
// A delivery whose visibility timeout ran out is no longer in flight:
// MessageNotInflight, and the message stays visible. On a standard queue
// the receipt of an earlier delivery of a message in flight again applies
// to the current delivery, as on AWS (LocalStack's AWS-validated
// test_terminate_visibility_timeout_after_receive); on a FIFO queue it is
// refused (InvalidParameterValue). A receipt of a deleted message is
// InvalidParameterValue "Message does not exist or is not available for
// visibility timeout change.", as on AWS.
//
// Differences from AWS: for a delivery whose timeout ran out, LocalStack
// (PR 9632, validated against AWS) reports AWS answering success and doing
// nothing, where Sluice answers MessageNotInflight.

import (
	"errors"
	"strconv"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/server"
	"github.com/sluice-dev/sluice/server/awsproto"
)

type changeMessageVisibilityInput struct {
	QueueUrl          string //nolint:revive // model member name
	ReceiptHandle     string
	VisibilityTimeout *int
}

func (in *changeMessageVisibilityInput) fromForm(f *awsproto.Form) error {
	in.QueueUrl = f.Value("QueueUrl")
	in.ReceiptHandle = f.Value("ReceiptHandle")
	var err error
	in.VisibilityTimeout, err = formOptionalInt(f, "VisibilityTimeout")
	return err
}

// checkVisibility validates a VisibilityTimeout parameter.
func checkVisibility(v *int) *awsproto.Error {
	if v == nil {
		return missingParameter("VisibilityTimeout")
	}
	if *v < 0 || *v > int(visibilityTimeoutMax.Seconds()) {
		return invalidParameterValue("VisibilityTimeout", strconv.Itoa(*v), "Must be between 0 and 43200, if provided.")
	}
	return nil
}

// visibilityError maps one ChangeVisibility failure.
func (s *service) visibilityError(handle string, timeout int, err error) *awsproto.Error {
	var ve *engine.ValidationError
	switch {
	case errors.Is(err, engine.ErrReceiptInvalid):
		return receiptHandleInvalid(handle)
	case errors.Is(err, engine.ErrReceiptStale):
		return invalidParameterValue("ReceiptHandle", handle, "Message does not exist or is not available for visibility timeout change.")
	case errors.Is(err, engine.ErrMessageNotInflight):
		return errMessageNotInflight
	case errors.As(err, &ve):
		return invalidParameterValue("VisibilityTimeout", strconv.Itoa(timeout), "Total VisibilityTimeout for the message is beyond the limit [43200 seconds]")
	}
	return asAWSError(s, s.mapError(err))
}

func (s *service) changeMessageVisibility(req *server.Request, resp *server.Response) error {
	var in changeMessageVisibilityInput
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
	if err := checkVisibility(in.VisibilityTimeout); err != nil {
		return err
	}
	var buf [64]byte
	raw, ok := decodeReceiptHandle(buf[:0], in.ReceiptHandle)
	if !ok {
		return receiptHandleInvalid(in.ReceiptHandle)
	}
	if err := r.q.ChangeVisibility(raw, secondsDuration(*in.VisibilityTimeout)); err != nil {
		return s.visibilityError(in.ReceiptHandle, *in.VisibilityTimeout, err)
	}
	o := newOut(req, resp)
	o.empty()
	resp.B = o.B
	return nil
}
