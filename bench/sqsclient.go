package bench

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// sqsAPI is the slice of SQS the scenarios use, implemented once over the
// SDK (JSON protocol) and once over raw signed form POSTs (query protocol).
type sqsAPI interface {
	CreateQueue(ctx context.Context, name string, fifo bool) (queueURL string, err error)
	GetQueueURL(ctx context.Context, name string) (string, error)
	DeleteQueue(ctx context.Context, queueURL string) error
	// SendMessage sends one message with the single-message action.
	SendMessage(ctx context.Context, queueURL string, m sqsMessage) error
	// SendMessageBatch sends up to 10 messages; failed entries come back
	// as batchFailures (the request itself succeeded).
	SendMessageBatch(ctx context.Context, queueURL string, ms []sqsMessage) ([]batchFailure, error)
	ReceiveMessage(ctx context.Context, queueURL string, req receiveRequest) ([]receivedMessage, error)
	DeleteMessageBatch(ctx context.Context, queueURL string, receiptHandles []string) ([]batchFailure, error)
	// ApproximateCount returns ApproximateNumberOfMessages +
	// ApproximateNumberOfMessagesNotVisible.
	ApproximateCount(ctx context.Context, queueURL string) (int64, error)
}

type sqsMessage struct {
	Body            string
	GroupID         string // FIFO only
	DeduplicationID string // FIFO only
}

type receiveRequest struct {
	Max        int
	Wait       time.Duration
	Visibility time.Duration // 0 = queue default
}

type receivedMessage struct {
	Body          string
	ReceiptHandle string
}

type batchFailure struct {
	Code    string
	Message string
}

// sqsJSON is sqsAPI over the AWS SDK (JSON 1.0 protocol). The SDK validates
// the MD5 digests of sent and received bodies.
type sqsJSON struct {
	client *sqs.Client
}

func (c *sqsJSON) CreateQueue(ctx context.Context, name string, fifo bool) (string, error) {
	in := &sqs.CreateQueueInput{QueueName: aws.String(name)}
	if fifo {
		in.Attributes = map[string]string{"FifoQueue": "true"}
	}
	out, err := c.client.CreateQueue(ctx, in)
	if err != nil {
		return "", fmt.Errorf("bench: CreateQueue %s: %w", name, err)
	}
	return aws.ToString(out.QueueUrl), nil
}

func (c *sqsJSON) GetQueueURL(ctx context.Context, name string) (string, error) {
	out, err := c.client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("bench: GetQueueUrl %s: %w", name, err)
	}
	return aws.ToString(out.QueueUrl), nil
}

func (c *sqsJSON) DeleteQueue(ctx context.Context, queueURL string) error {
	if _, err := c.client.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(queueURL)}); err != nil {
		return fmt.Errorf("bench: DeleteQueue %s: %w", queueURL, err)
	}
	return nil
}

func (c *sqsJSON) SendMessage(ctx context.Context, queueURL string, m sqsMessage) error {
	in := &sqs.SendMessageInput{QueueUrl: aws.String(queueURL), MessageBody: aws.String(m.Body)}
	if m.GroupID != "" {
		in.MessageGroupId = aws.String(m.GroupID)
		in.MessageDeduplicationId = aws.String(m.DeduplicationID)
	}
	_, err := c.client.SendMessage(ctx, in)
	return err
}

func (c *sqsJSON) SendMessageBatch(ctx context.Context, queueURL string, ms []sqsMessage) ([]batchFailure, error) {
	entries := make([]types.SendMessageBatchRequestEntry, len(ms))
	for i, m := range ms {
		entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(entryIDs[i]), MessageBody: aws.String(m.Body)}
		if m.GroupID != "" {
			entries[i].MessageGroupId = aws.String(m.GroupID)
			entries[i].MessageDeduplicationId = aws.String(m.DeduplicationID)
		}
	}
	out, err := c.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: entries})
	if err != nil {
		return nil, err
	}
	return jsonFailures(out.Failed, len(out.Successful), len(ms)), nil
}

func (c *sqsJSON) ReceiveMessage(ctx context.Context, queueURL string, req receiveRequest) ([]receivedMessage, error) {
	in := &sqs.ReceiveMessageInput{
		QueueUrl:            aws.String(queueURL),
		MaxNumberOfMessages: int32(req.Max),
		WaitTimeSeconds:     int32(req.Wait / time.Second),
	}
	if req.Visibility > 0 {
		in.VisibilityTimeout = int32(req.Visibility / time.Second)
	}
	out, err := c.client.ReceiveMessage(ctx, in)
	if err != nil {
		return nil, err
	}
	msgs := make([]receivedMessage, len(out.Messages))
	for i, m := range out.Messages {
		msgs[i] = receivedMessage{Body: aws.ToString(m.Body), ReceiptHandle: aws.ToString(m.ReceiptHandle)}
	}
	return msgs, nil
}

func (c *sqsJSON) DeleteMessageBatch(ctx context.Context, queueURL string, handles []string) ([]batchFailure, error) {
	entries := make([]types.DeleteMessageBatchRequestEntry, len(handles))
	for i, h := range handles {
		entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(entryIDs[i]), ReceiptHandle: aws.String(h)}
	}
	out, err := c.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: entries})
	if err != nil {
		return nil, err
	}
	return jsonFailures(out.Failed, len(out.Successful), len(handles)), nil
}

func (c *sqsJSON) ApproximateCount(ctx context.Context, queueURL string) (int64, error) {
	out, err := c.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queueURL),
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		return 0, fmt.Errorf("bench: GetQueueAttributes: %w", err)
	}
	return sumCounts(out.Attributes)
}

func sumCounts(attributes map[string]string) (int64, error) {
	var total int64
	for _, name := range []string{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"} {
		v, ok := attributes[name]
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bench: attribute %s=%q: %w", name, v, err)
		}
		total += n
	}
	return total, nil
}

// jsonFailures converts failed entries; entries the server neither
// acknowledged nor failed count as "MissingBatchEntry".
func jsonFailures(failed []types.BatchResultErrorEntry, succeeded, sent int) []batchFailure {
	var out []batchFailure
	for _, f := range failed {
		out = append(out, batchFailure{Code: aws.ToString(f.Code), Message: aws.ToString(f.Message)})
	}
	for range sent - succeeded - len(failed) {
		out = append(out, batchFailure{Code: "MissingBatchEntry", Message: "bench: batch entry neither succeeded nor failed"})
	}
	return out
}

// entryIDs are the batch entry Ids 0..9.
var entryIDs = [10]string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

// md5Hex is the digest SQS reports for a body.
func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
