package sqs

// ReceiveMessage: QueueUrl, MaxNumberOfMessages (1–10, default 1),
// VisibilityTimeout (0–43200), WaitTimeSeconds (0–20; the queue's
// ReceiveMessageWaitTimeSeconds when absent), AttributeNames and
// MessageSystemAttributeNames (All or SenderId, SentTimestamp,
// ApproximateReceiveCount, ApproximateFirstReceiveTimestamp,
// SequenceNumber, MessageDeduplicationId, MessageGroupId, AWSTraceHeader,
// DeadLetterQueueSourceArn), MessageAttributeNames (All, ".*", "prefix.*"
// or names), ReceiveRequestAttemptId (FIFO). Query: AttributeName.N,
// MessageSystemAttributeName.N, MessageAttributeName.N. MessageAttributeNames
// also takes "*", and names that no attribute can have select nothing (see
// attributeFilter).
//
// MD5OfMessageAttributes covers the attributes returned (after the
// MessageAttributeNames filter), as SQS computes it. A query request that
// accepts JSON gets the list as "messages", as AWS names it there.
//
// A message moved by redrive keeps counting in its dead-letter queue, as
// in AWS ("received across all queues"): after maxReceiveCount N receives
// in the source, its first receive from the dead-letter queue reports
// ApproximateReceiveCount N+1 and the source's SentTimestamp and
// ApproximateFirstReceiveTimestamp.
//
// Differences from AWS: a long poll returns as soon as any message is
// available (AWS may wait to fill MaxNumberOfMessages); SenderId is the
// sender's account id.

import (
	"strconv"
	"strings"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/server"
	"github.com/sluice-dev/sluice/server/awsproto"
)

type receiveMessageInput struct {
	QueueUrl                    string //nolint:revive // model member name
	AttributeNames              []string
	MessageSystemAttributeNames []string
	MessageAttributeNames       []string
	MaxNumberOfMessages         *int
	VisibilityTimeout           *int
	WaitTimeSeconds             *int
	ReceiveRequestAttemptId     string //nolint:revive // model member name
}

func (in *receiveMessageInput) fromForm(f *awsproto.Form) error {
	in.QueueUrl = f.Value("QueueUrl")
	in.ReceiveRequestAttemptId = f.Value("ReceiveRequestAttemptId")
	var err error
	if in.AttributeNames, err = formStrings(f, "AttributeName"); err != nil {
		return err
	}
	if in.MessageSystemAttributeNames, err = formStrings(f, "MessageSystemAttributeName"); err != nil {
		return err
	}
	if in.MessageAttributeNames, err = formStrings(f, "MessageAttributeName"); err != nil {
		return err
	}
	if in.MaxNumberOfMessages, err = formOptionalInt(f, "MaxNumberOfMessages"); err != nil {
		return err
	}
	if in.VisibilityTimeout, err = formOptionalInt(f, "VisibilityTimeout"); err != nil {
		return err
	}
	in.WaitTimeSeconds, err = formOptionalInt(f, "WaitTimeSeconds")
	return err
}

// System attribute names (MessageSystemAttributeName).
const (
	sysSenderID                         = "SenderId"
	sysSentTimestamp                    = "SentTimestamp"
	sysApproximateReceiveCount          = "ApproximateReceiveCount"
	sysApproximateFirstReceiveTimestamp = "ApproximateFirstReceiveTimestamp"
	sysSequenceNumber                   = "SequenceNumber"
	sysMessageDeduplicationID           = "MessageDeduplicationId"
	sysMessageGroupID                   = "MessageGroupId"
	sysAWSTraceHeader                   = "AWSTraceHeader"
	sysDeadLetterQueueSourceArn         = "DeadLetterQueueSourceArn"
)

// systemAttributeNames in rendering order; the bit of each in a
// systemAttributeSet is its index.
var systemAttributeNames = [...]string{
	sysSenderID, sysSentTimestamp, sysApproximateReceiveCount, sysApproximateFirstReceiveTimestamp,
	sysSequenceNumber, sysMessageDeduplicationID, sysMessageGroupID, sysAWSTraceHeader,
	sysDeadLetterQueueSourceArn,
}

type systemAttributeSet uint16

const allSystemAttributes = systemAttributeSet(1)<<len(systemAttributeNames) - 1

// parseSystemAttributeNames builds the requested set. "All" selects every
// attribute; queue attribute names that older clients send in
// AttributeNames (e.g. "Policy") are ignored, as SQS does.
func parseSystemAttributeNames(set systemAttributeSet, names []string) (systemAttributeSet, *awsproto.Error) {
	for _, name := range names {
		if name == attrAll {
			set = allSystemAttributes
			continue
		}
		found := false
		for i, n := range systemAttributeNames {
			if n == name {
				set |= 1 << i
				found = true
				break
			}
		}
		if !found && !isQueueAttributeName(name) {
			return 0, unknownAttribute(name)
		}
	}
	return set, nil
}

// attributeFilter selects message attributes by MessageAttributeNames.
// As SQS does (observed, and recorded by LocalStack's AWS-validated
// test_receive_message_message_attribute_names_filters): "All", "*" and
// ".*" select every attribute; a name ending in ".*" is a prefix without
// the ".*" ("Hel.*" selects "Hello" and "Help.Me"); any other name
// selects the attribute of exactly that name, and a name no attribute can
// have ("AWS.", "..foo") selects nothing rather than failing the receive.
//
// In JSON, a message with attributes that a non-empty filter (of names
// some attribute could have) all leaves out still carries
// "MessageAttributes":{}, without MD5OfMessageAttributes; a filter of only
// impossible names leaves the member out (the same test's
// only_non_existing_names and illegal_name_* recordings).
type attributeFilter struct {
	all      bool
	names    []string
	prefixes []string
}

func parseAttributeFilter(names []string) attributeFilter {
	var f attributeFilter
	for _, name := range names {
		switch {
		case name == attrAll || name == "*" || name == ".*":
			f.all = true
		case strings.HasSuffix(name, ".*"):
			f.prefixes = append(f.prefixes, name[:len(name)-len(".*")])
		case isAttributeName(name):
			f.names = append(f.names, name)
		}
	}
	return f
}

func (f *attributeFilter) match(name string) bool {
	if f.all {
		return true
	}
	for _, n := range f.names {
		if n == name {
			return true
		}
	}
	for _, p := range f.prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func (f *attributeFilter) empty() bool { return !f.all && len(f.names) == 0 && len(f.prefixes) == 0 }

// receiveOptions validates the numeric parameters.
func (in *receiveMessageInput) receiveOptions() (engine.ReceiveOptions, *awsproto.Error) {
	opts := engine.ReceiveOptions{Max: 1, AttemptID: in.ReceiveRequestAttemptId}
	if n := in.MaxNumberOfMessages; n != nil {
		if *n < 1 || *n > receiveMessagesMax {
			return opts, invalidParameterValue("MaxNumberOfMessages", strconv.Itoa(*n), "Must be between 1 and 10, if provided.")
		}
		opts.Max = *n
	}
	if n := in.VisibilityTimeout; n != nil {
		if *n < 0 || *n > int(visibilityTimeoutMax.Seconds()) {
			return opts, invalidParameterValue("VisibilityTimeout", strconv.Itoa(*n), "Must be between 0 and 43200, if provided.")
		}
		d := secondsDuration(*n)
		opts.Visibility = &d
	}
	if n := in.WaitTimeSeconds; n != nil {
		if *n < 0 || *n > int(waitTimeMax.Seconds()) {
			return opts, invalidParameterValue("WaitTimeSeconds", strconv.Itoa(*n), "Must be >= 0 and <= 20, if provided.")
		}
		d := secondsDuration(*n)
		opts.Wait = &d
	}
	if in.ReceiveRequestAttemptId != "" {
		if err := validateFIFOID("ReceiveRequestAttemptId", in.ReceiveRequestAttemptId); err != nil {
			return opts, err
		}
	}
	return opts, nil
}

func (s *service) receiveMessage(req *server.Request, resp *server.Response) error {
	var in receiveMessageInput
	held, err := decodeHot(req, &in)
	held.release() // in borrows nothing: no need to hold it over the long poll
	if err != nil {
		return err
	}
	r, err := s.queueByURL(req, in.QueueUrl)
	if err != nil {
		return err
	}
	opts, perr := in.receiveOptions()
	if perr != nil {
		return perr
	}
	system, perr := parseSystemAttributeNames(0, in.AttributeNames)
	if perr != nil {
		return perr
	}
	if system, perr = parseSystemAttributeNames(system, in.MessageSystemAttributeNames); perr != nil {
		return perr
	}
	filter := parseAttributeFilter(in.MessageAttributeNames)
	msgs, err := r.q.Receive(req.Context, opts)
	if err != nil {
		return s.mapError(err)
	}
	o := newOut(req, resp)
	o.begin("ReceiveMessageResult")
	// An empty receive still has "Messages":[] in JSON, as on AWS (recorded
	// in LocalStack's test_sqs.snapshot.json, get-messages-duplicate); the
	// query protocol's flattened list has no wrapper to leave empty. A
	// query request that asks for JSON gets "messages" in lower camel case
	// (AWS's answer as described in localstack/localstack#10732, 2024:
	// only the case differs).
	messagesName := "Messages"
	if o.queryJSON {
		messagesName = "messages"
	}
	o.listStart(messagesName)
	var scratch []engine.MessageAttribute
	for i := range msgs {
		scratch = writeMessage(&o, &msgs[i], system, &filter, scratch[:0])
	}
	o.listEnd()
	o.end("ReceiveMessageResult")
	resp.B = o.B
	return nil
}

// writeMessage renders one received message; scratch is reused for the
// filtered attributes and returned.
func writeMessage(o *out, m *engine.ReceivedMessage, system systemAttributeSet, filter *attributeFilter, scratch []engine.MessageAttribute) []engine.MessageAttribute {
	o.itemStart("Message")
	o.str("MessageId", m.MessageID)
	o.B = appendReceiptMember(o, m.Receipt)
	digest := bodyDigest(m)
	o.hexDigest("MD5OfBody", digest[:])
	o.strBytes("Body", m.Body)
	if system != 0 {
		writeSystemAttributes(o, m, system)
	}
	if !filter.empty() {
		for _, a := range m.Attributes {
			if filter.match(a.Name) {
				scratch = append(scratch, a)
			}
		}
	}
	if !filter.empty() && len(m.Attributes) > 0 {
		if len(scratch) > 0 {
			o.str("MD5OfMessageAttributes", md5OfAttributes(scratch))
		}
		o.mapStart("MessageAttributes")
		for i := range scratch {
			a := &scratch[i]
			o.mapStructStart("MessageAttribute", a.Name)
			if baseDataType(a.DataType) == "Binary" {
				o.blob("BinaryValue", a.BinaryValue)
			} else {
				o.str("StringValue", a.StringValue)
			}
			o.str("DataType", a.DataType)
			o.mapStructEnd("MessageAttribute")
		}
		o.mapEnd()
	}
	o.itemEnd("Message")
	return scratch
}

// appendReceiptMember writes the ReceiptHandle member without an
// intermediate string.
func appendReceiptMember(o *out, receipt []byte) []byte {
	if o.xml {
		o.openTag("ReceiptHandle")
		o.B = appendReceiptHandle(o.B, receipt) // base64url needs no escaping
		o.closeTag("ReceiptHandle")
		return o.B
	}
	o.jsonKey("ReceiptHandle")
	o.B = append(o.B, '"')
	o.B = appendReceiptHandle(o.B, receipt)
	return append(o.B, '"')
}

func writeSystemAttributes(o *out, m *engine.ReceivedMessage, set systemAttributeSet) {
	o.mapStart("Attributes")
	for i, name := range systemAttributeNames {
		if set&(1<<i) == 0 {
			continue
		}
		value := ""
		switch name {
		case sysSenderID:
			value = m.SenderID
		case sysSentTimestamp:
			o.mapEntryInt("Attribute", "Name", "Value", name, m.SentTimestamp.UnixMilli())
			continue
		case sysApproximateReceiveCount:
			o.mapEntryInt("Attribute", "Name", "Value", name, int64(m.ReceiveCount))
			continue
		case sysApproximateFirstReceiveTimestamp:
			o.mapEntryInt("Attribute", "Name", "Value", name, m.FirstReceiveTimestamp.UnixMilli())
			continue
		case sysSequenceNumber:
			value = m.SequenceNumber
		case sysMessageDeduplicationID:
			value = m.DeduplicationID
		case sysMessageGroupID:
			value = m.GroupID
		case sysAWSTraceHeader:
			for _, a := range m.SystemAttributes {
				if a.Name == sysAWSTraceHeader {
					value = a.StringValue
				}
			}
		case sysDeadLetterQueueSourceArn:
			if m.DeadLetterSource != nil {
				value = arnOf(*m.DeadLetterSource)
			}
		}
		if value == "" {
			continue
		}
		o.mapEntry("Attribute", "Name", "Value", name, value)
	}
	o.mapEnd()
}
