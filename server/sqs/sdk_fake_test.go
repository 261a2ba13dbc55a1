package sqs

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// TestSDKWireShapes drives every queue-management and message action
// through aws-sdk-go-v2 (JSON protocol, response checksum validation on)
// against the handlers over the fake backend, checking what the SDK
// decodes: URLs, attributes, digests, batch results and error codes.
func TestSDKWireShapes(t *testing.T) {
	ts := startServer(t, newFakeBackend())
	c, ctx := ts.client, context.Background()

	created, err := c.CreateQueue(ctx, &sdk.CreateQueueInput{
		QueueName:  aws.String("orders"),
		Attributes: map[string]string{"VisibilityTimeout": "45", "DelaySeconds": "0"},
		Tags:       map[string]string{"team": "a"},
	})
	if err != nil {
		t.Fatalf("CreateQueue: %v", err)
	}
	url := aws.ToString(created.QueueUrl)
	if want := ts.url + "/000000000000/orders"; url != want {
		t.Fatalf("QueueUrl %q, want %q", url, want)
	}
	// Idempotent with equal (or unnamed) attributes; conflict otherwise.
	if _, err := c.CreateQueue(ctx, &sdk.CreateQueueInput{QueueName: aws.String("orders")}); err != nil {
		t.Errorf("idempotent CreateQueue: %v", err)
	}
	_, err = c.CreateQueue(ctx, &sdk.CreateQueueInput{QueueName: aws.String("orders"), Attributes: map[string]string{"VisibilityTimeout": "46"}})
	var exists *types.QueueNameExists
	if !errors.As(err, &exists) || apiCode(t, err) != "QueueAlreadyExists" {
		t.Errorf("conflicting CreateQueue: %v", err)
	}

	got, err := c.GetQueueUrl(ctx, &sdk.GetQueueUrlInput{QueueName: aws.String("orders")})
	if err != nil || aws.ToString(got.QueueUrl) != url {
		t.Errorf("GetQueueUrl = %v, %v", got, err)
	}
	_, err = c.GetQueueUrl(ctx, &sdk.GetQueueUrlInput{QueueName: aws.String("missing")})
	var dne *types.QueueDoesNotExist
	if !errors.As(err, &dne) || apiCode(t, err) != "AWS.SimpleQueueService.NonExistentQueue" {
		t.Errorf("GetQueueUrl(missing): %v", err)
	}

	attrs, err := c.GetQueueAttributes(ctx, &sdk.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: []types.QueueAttributeName{"All"}})
	if err != nil {
		t.Fatalf("GetQueueAttributes: %v", err)
	}
	for k, want := range map[string]string{
		"VisibilityTimeout": "45", "QueueArn": "arn:aws:sqs:us-east-1:000000000000:orders",
		"MaximumMessageSize": "1048576", "MessageRetentionPeriod": "345600", "ApproximateNumberOfMessages": "0",
		"SqsManagedSseEnabled": "true",
	} {
		if attrs.Attributes[k] != want {
			t.Errorf("attribute %s = %q, want %q", k, attrs.Attributes[k], want)
		}
	}
	if _, ok := attrs.Attributes["FifoQueue"]; ok {
		t.Errorf("standard queue reports FifoQueue")
	}

	sent, err := c.SendMessage(ctx, &sdk.SendMessageInput{
		QueueUrl: &url, MessageBody: aws.String("hello wörld"),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"SellerName": {DataType: aws.String("String"), StringValue: aws.String("Example Store")},
		},
	})
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	if aws.ToString(sent.MD5OfMessageAttributes) != "cd28f3b68aeee4b2eac9c66f2f694b58" || aws.ToString(sent.MessageId) == "" {
		t.Errorf("SendMessage result %+v", sent)
	}

	recv, err := c.ReceiveMessage(ctx, &sdk.ReceiveMessageInput{
		QueueUrl: &url, MaxNumberOfMessages: 10,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"},
		MessageAttributeNames:       []string{"Seller.*", "SellerName"},
	})
	if err != nil || len(recv.Messages) != 1 {
		t.Fatalf("ReceiveMessage = %+v, %v", recv, err)
	}
	m := recv.Messages[0]
	if aws.ToString(m.Body) != "hello wörld" || m.Attributes["ApproximateReceiveCount"] != "1" ||
		m.Attributes["SenderId"] != "000000000000" || aws.ToString(m.MD5OfMessageAttributes) != "cd28f3b68aeee4b2eac9c66f2f694b58" ||
		aws.ToString(m.MessageAttributes["SellerName"].StringValue) != "Example Store" {
		t.Errorf("received %+v", m)
	}

	if _, err := c.ChangeMessageVisibility(ctx, &sdk.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 60}); err != nil {
		t.Errorf("ChangeMessageVisibility: %v", err)
	}
	_, err = c.ChangeMessageVisibility(ctx, &sdk.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 43201})
	if apiCode(t, err) != "InvalidParameterValue" {
		t.Errorf("visibility out of range: %v", err)
	}
	if _, err := c.DeleteMessage(ctx, &sdk.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Errorf("DeleteMessage: %v", err)
	}
	_, err = c.DeleteMessage(ctx, &sdk.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: aws.String("not a handle")})
	var invalid *types.ReceiptHandleIsInvalid
	if !errors.As(err, &invalid) {
		t.Errorf("DeleteMessage(bad handle): %v", err)
	}

	batch, err := c.SendMessageBatch(ctx, &sdk.SendMessageBatchInput{QueueUrl: &url, Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("a"), MessageBody: aws.String("one")},
		{Id: aws.String("b"), MessageBody: aws.String("bad\x01")},
		{Id: aws.String("c"), MessageBody: aws.String("three"), DelaySeconds: 901},
	}})
	if err != nil {
		t.Fatalf("SendMessageBatch: %v", err)
	}
	if len(batch.Successful) != 1 || len(batch.Failed) != 2 || aws.ToString(batch.Failed[0].Code) != "InvalidMessageContents" ||
		!batch.Failed[0].SenderFault || aws.ToString(batch.Failed[1].Code) != "InvalidParameterValue" {
		t.Errorf("SendMessageBatch = %+v", batch)
	}
	_, err = c.SendMessageBatch(ctx, &sdk.SendMessageBatchInput{QueueUrl: &url, Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("a"), MessageBody: aws.String("one")}, {Id: aws.String("a"), MessageBody: aws.String("two")},
	}})
	var notDistinct *types.BatchEntryIdsNotDistinct
	if !errors.As(err, &notDistinct) {
		t.Errorf("duplicate ids: %v", err)
	}

	tags, err := c.ListQueueTags(ctx, &sdk.ListQueueTagsInput{QueueUrl: &url})
	if err != nil || tags.Tags["team"] != "a" {
		t.Errorf("ListQueueTags = %+v, %v", tags, err)
	}
	list, err := c.ListQueues(ctx, &sdk.ListQueuesInput{QueueNamePrefix: aws.String("ord")})
	if err != nil || len(list.QueueUrls) != 1 || list.QueueUrls[0] != url {
		t.Errorf("ListQueues = %+v, %v", list, err)
	}
	if _, err := c.AddPermission(ctx, &sdk.AddPermissionInput{QueueUrl: &url, Label: aws.String("p1"),
		AWSAccountIds: []string{"111122223333"}, Actions: []string{"SendMessage"}}); err != nil {
		t.Errorf("AddPermission: %v", err)
	}
	attrs, err = c.GetQueueAttributes(ctx, &sdk.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: []types.QueueAttributeName{"Policy"}})
	if err != nil || !strings.Contains(attrs.Attributes["Policy"], `"Sid":"p1"`) {
		t.Errorf("Policy after AddPermission = %+v, %v", attrs, err)
	}
	if _, err := c.RemovePermission(ctx, &sdk.RemovePermissionInput{QueueUrl: &url, Label: aws.String("p1")}); err != nil {
		t.Errorf("RemovePermission: %v", err)
	}
	if _, err := c.DeleteQueue(ctx, &sdk.DeleteQueueInput{QueueUrl: &url}); err != nil {
		t.Errorf("DeleteQueue: %v", err)
	}
}
