package sqs

import (
	"testing"

	"github.com/sluice-dev/sluice/server/awsproto"
)

// decodeAll decodes input into every operation's input struct with decode
// and runs the shape validation handlers do before touching the engine; it
// must never panic, whatever the input.
func decodeAll(decode func(formInput) error) {
	var send sendMessageInput
	if decode(&send) == nil {
		_, _ = prepareMessage(&send, "000000000000", md5SumString(send.MessageBody))
	}
	var batch sendMessageBatchInput
	if decode(&batch) == nil {
		ids := make([]string, len(batch.Entries))
		for i := range batch.Entries {
			ids[i] = batch.Entries[i].Id
			_, _ = prepareMessage(&batch.Entries[i].sendMessageInput, "000000000000", md5SumString(batch.Entries[i].MessageBody))
		}
		_ = validateBatchShape(ids, "SendMessageBatchRequestEntry")
	}
	var recv receiveMessageInput
	if decode(&recv) == nil {
		_, _ = recv.receiveOptions()
		_, _ = parseSystemAttributeNames(0, recv.AttributeNames)
		_ = parseAttributeFilter(recv.MessageAttributeNames)
	}
	var del deleteMessageBatchInput
	if decode(&del) == nil {
		_, _, _ = decodeBatchReceipts(del.Entries, "DeleteMessageBatchRequestEntry")
	}
	var create createQueueInput
	if decode(&create) == nil {
		_ = validateQueueName(create.QueueName, false)
		_ = validateTags(create.Tags)
	}
	var others = []formInput{&changeMessageVisibilityBatchInput{}, &setQueueAttributesInput{}, &getQueueAttributesInput{},
		&tagQueueInput{}, &untagQueueInput{}, &addPermissionInput{}, &listQueuesInput{}, &startMessageMoveTaskInput{}}
	for _, in := range others {
		_ = decode(in)
	}
}

// FuzzDecodeJSON checks that the JSON request decoding and validation paths
// never panic on arbitrary bodies.
func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(`{"QueueUrl":"http://localhost:4566/000000000000/q","MessageBody":"hi","MessageAttributes":{"a":{"DataType":"Binary","BinaryValue":"AQI="}}}`))
	f.Add([]byte(`{"QueueUrl":"q","Entries":[{"Id":"a","MessageBody":"x","DelaySeconds":5},{"Id":"a","ReceiptHandle":"AAAA"}]}`))
	f.Add([]byte(`{"QueueName":"q.fifo","Attributes":{"FifoQueue":"true"},"tags":{"k":"v"}}`))
	f.Add([]byte(`{"MaxNumberOfMessages":11,"AttributeNames":["All"],"MessageAttributeNames":["a.*"]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		decodeAll(func(in formInput) error { return awsproto.DecodeJSON(body, in) })
	})
}

// FuzzDecodeQuery checks that the query-protocol decoding and validation
// paths never panic on arbitrary form bodies.
func FuzzDecodeQuery(f *testing.F) {
	f.Add([]byte("Action=SendMessage&MessageBody=hi&MessageAttribute.1.Name=a&MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=v"))
	f.Add([]byte("Action=SendMessageBatch&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=x&SendMessageBatchRequestEntry.2.Id=a"))
	f.Add([]byte("Action=CreateQueue&QueueName=q&Attribute.1.Name=DelaySeconds&Attribute.1.Value=5&Tag.1.Key=k&Tag.1.Value=v"))
	f.Add([]byte("Action=ReceiveMessage&AttributeName.1=All&MessageAttributeName.1=a.*&MaxNumberOfMessages=10"))
	f.Add([]byte("DeleteMessageBatchRequestEntry.1.Id=a&DeleteMessageBatchRequestEntry.1.ReceiptHandle=AAAA&MessageAttribute.1.Value.BinaryValue=%%"))
	f.Fuzz(func(t *testing.T, body []byte) {
		form, err := awsproto.ParseForm(awsproto.FormLimits{}, body)
		if err != nil {
			return
		}
		decodeAll(func(in formInput) error { return in.fromForm(form) })
	})
}
