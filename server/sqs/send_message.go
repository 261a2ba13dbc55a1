package sqs

// SendMessage: QueueUrl, MessageBody, DelaySeconds (0–900, standard queues
// only; FIFO queues accept 0), MessageAttributes (≤10, String/Number/Binary[.custom]),
// MessageSystemAttributes (AWSTraceHeader), MessageGroupId,
// MessageDeduplicationId. Query: MessageAttribute.N.Name,
// MessageAttribute.N.Value.{DataType,StringValue,BinaryValue} and the same
// under MessageSystemAttribute.N.
//
// Returns MD5OfMessageBody, MD5OfMessageAttributes and
// MD5OfMessageSystemAttributes computed as SQS does, MessageId, and
// SequenceNumber on FIFO queues.
//
// Differences from AWS: MessageGroupId on a standard queue is accepted and
// returned on receive (as for SQS fair queues) but does not order delivery.

import (
	"crypto/md5"
	"errors"
	"strconv"
	"strings"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/server"
	"github.com/sluice-dev/sluice/server/awsproto"
)

type sendMessageInput struct {
	QueueUrl                string //nolint:revive // model member name
	MessageBody             string
	DelaySeconds            *int
	MessageAttributes       attrMap
	MessageSystemAttributes attrMap
	MessageDeduplicationId  string //nolint:revive // model member name
	MessageGroupId          string //nolint:revive // model member name

	// bodyASCII is set by the JSON decoder when MessageBody is ASCII
	// without control characters but tab, LF and CR: characters SQS
	// accepts, so validateBody need not scan it again.
	bodyASCII bool
}

func (in *sendMessageInput) fromForm(f *awsproto.Form) error {
	in.QueueUrl = f.Value("QueueUrl")
	return in.fromFields(f)
}

// fromFields reads the message members, shared with batch entries.
func (in *sendMessageInput) fromFields(f *awsproto.Form) error {
	in.MessageBody = f.Value("MessageBody")
	in.MessageDeduplicationId = f.Value("MessageDeduplicationId")
	in.MessageGroupId = f.Value("MessageGroupId")
	var err error
	if in.DelaySeconds, err = formOptionalInt(f, "DelaySeconds"); err != nil {
		return err
	}
	if in.MessageAttributes, err = formAttrMap(f, "MessageAttribute"); err != nil {
		return err
	}
	in.MessageSystemAttributes, err = formAttrMap(f, "MessageSystemAttribute")
	return err
}

// preparedMessage is a validated message ready for the engine, with the
// digests its result reports.
type preparedMessage struct {
	msg                 engine.SendMessage
	sizeBytes           int
	md5Attributes       string
	md5SystemAttributes string
}

// prepareMessage validates one message's shape (everything SQS checks
// without knowing the queue) and converts it. bodyDigest is the MD5 of
// in.MessageBody, computed by the caller (a batch hashes its bodies
// together).
func prepareMessage(in *sendMessageInput, senderID string, bodyDigest [md5.Size]byte) (preparedMessage, *awsproto.Error) {
	if in.MessageBody == "" {
		return preparedMessage{}, missingParameter("MessageBody")
	}
	if !in.bodyASCII {
		if err := validateBody(in.MessageBody); err != nil {
			return preparedMessage{}, err
		}
	}
	attrs := in.MessageAttributes.list()
	attrSize, err := validateMessageAttributes(attrs)
	if err != nil {
		return preparedMessage{}, err
	}
	system := in.MessageSystemAttributes.list()
	if _, err := validateSystemAttributes(system); err != nil {
		return preparedMessage{}, err
	}
	size := len(in.MessageBody) + attrSize
	if size > messageBodySizeMax {
		return preparedMessage{}, messageTooLong(messageBodySizeMax)
	}
	p := preparedMessage{
		msg: engine.SendMessage{
			Body:             stringBytes(in.MessageBody),
			Attributes:       engineAttributes(attrs),
			SystemAttributes: engineAttributes(system),
			GroupID:          in.MessageGroupId,
			DeduplicationID:  in.MessageDeduplicationId,
			SenderID:         senderID,
			BodyDigest:       bodyDigest,
			HasBodyDigest:    true,
			BodyChecked:      true, // by validateBody or the decoder
		},
		sizeBytes: size,
	}
	if in.DelaySeconds != nil {
		d := *in.DelaySeconds
		if d < 0 || d > int(delayMax.Seconds()) {
			return preparedMessage{}, invalidParameterValue("DelaySeconds", strconv.Itoa(d), "DelaySeconds must be >= 0 and <= 900.")
		}
		delay := secondsDuration(d)
		p.msg.Delay = &delay
	}
	if in.MessageGroupId != "" {
		if err := validateFIFOID("MessageGroupId", in.MessageGroupId); err != nil {
			return preparedMessage{}, err
		}
	}
	if in.MessageDeduplicationId != "" {
		if err := validateFIFOID("MessageDeduplicationId", in.MessageDeduplicationId); err != nil {
			return preparedMessage{}, err
		}
	}
	p.md5Attributes = md5OfAttributes(p.msg.Attributes)
	p.md5SystemAttributes = md5OfAttributes(p.msg.SystemAttributes)
	return p, nil
}

// sendEntryError converts an engine send failure of message m into SQS's
// error, consulting the queue's attributes (only on this error path) for
// the queue-type-specific messages.
func (s *service) sendEntryError(q queueHandle, m *engine.SendMessage, err error) *awsproto.Error {
	var ve *engine.ValidationError
	if !errors.As(err, &ve) {
		mapped := s.mapError(err)
		var ae *awsproto.Error
		if errors.As(mapped, &ae) {
			return ae
		}
		s.log.Error("sqs: send failed", "err", err)
		return awsproto.ErrInternalFailure
	}
	fifo := q.Info().Attributes.FIFO
	const wrongType = "The request include parameter that is not valid for this queue type."
	switch ve.Field {
	case "Body":
		if len(m.Body) == 0 {
			return missingParameter("MessageBody")
		}
		return messageTooLong(q.Info().Attributes.MaximumMessageSizeBytes)
	case "Delay":
		v := ""
		if m.Delay != nil {
			v = strconv.FormatInt(int64(m.Delay.Seconds()), 10)
		}
		if fifo {
			return invalidParameterValue("DelaySeconds", v, wrongType)
		}
		return invalidParameterValue("DelaySeconds", v, "DelaySeconds must be >= 0 and <= 900.")
	case "GroupID":
		if fifo && m.GroupID == "" {
			return missingParameter("MessageGroupId")
		}
		return invalidParameterValue("MessageGroupId", m.GroupID, ve.Reason)
	case "DeduplicationID":
		if !fifo {
			return invalidParameterValue("MessageDeduplicationId", m.DeduplicationID, wrongType)
		}
		if m.DeduplicationID == "" {
			return invalidParameter("The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
		}
		return invalidParameterValue("MessageDeduplicationId", m.DeduplicationID, ve.Reason)
	}
	return validationError(ve)
}

// dropFIFOZeroDelay clears an explicit DelaySeconds of 0 on a message to
// a FIFO queue (only FIFO queue names end in ".fifo"): AWS accepts it
// (LocalStack's AWS-validated test_send_message_with_delay_0_works_for_fifo)
// while any other value is the per-message delay FIFO queues reject, so
// the message takes the queue's delay like one sent without the parameter.
func dropFIFOZeroDelay(queueName string, m *engine.SendMessage) {
	if m.Delay != nil && *m.Delay == 0 && strings.HasSuffix(queueName, fifoSuffix) {
		m.Delay = nil
	}
}

func (s *service) sendMessage(req *server.Request, resp *server.Response) error {
	var in sendMessageInput
	held, err := decodeHot(req, &in)
	defer held.release() // in borrows the parser's memory
	if err != nil {
		return err
	}
	r, err := s.queueByURL(req, in.QueueUrl)
	if err != nil {
		return err
	}
	p, perr := prepareMessage(&in, req.Account, md5SumString(in.MessageBody))
	if perr != nil {
		return perr
	}
	dropFIFOZeroDelay(r.ref.Name, &p.msg)
	msgs := [1]engine.SendMessage{p.msg}
	results, err := r.q.Send(req.Context, msgs[:])
	if err != nil {
		return s.sendEntryError(r.q, &msgs[0], err)
	}
	if len(results) != 1 {
		return errors.New("sqs: BUG: engine returned " + strconv.Itoa(len(results)) + " results for 1 message")
	}
	res := &results[0]
	if res.Err != nil {
		return s.sendEntryError(r.q, &msgs[0], res.Err)
	}
	o := newOut(req, resp)
	o.begin("SendMessageResult")
	writeSendResult(&o, &p, res)
	o.end("SendMessageResult")
	resp.B = o.B
	return nil
}

// writeSendResult writes the members SendMessageResult and
// SendMessageBatchResultEntry share.
func writeSendResult(o *out, p *preparedMessage, res *engine.SendResult) {
	o.hexDigest("MD5OfMessageBody", p.msg.BodyDigest[:])
	if p.md5Attributes != "" {
		o.str("MD5OfMessageAttributes", p.md5Attributes)
	}
	if p.md5SystemAttributes != "" {
		o.str("MD5OfMessageSystemAttributes", p.md5SystemAttributes)
	}
	o.str("MessageId", res.MessageID)
	if res.SequenceNumber != "" {
		o.str("SequenceNumber", res.SequenceNumber)
	}
}
