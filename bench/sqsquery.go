package bench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"
)

// sqsQueryAPIVersion is the SQS query protocol version.
const sqsQueryAPIVersion = "2012-11-05"

// queryResponseBytesMax bounds a query response body (10 messages of 1 MiB
// plus XML overhead).
const queryResponseBytesMax = 16 << 20

// sqsQuery is sqsAPI over the query protocol: form-encoded POSTs signed with
// SigV4, XML responses. It validates body MD5s as the SDK does, so the two
// protocols do the same work per message.
type sqsQuery struct {
	endpoint    string // scheme://host[:port], requests go to endpoint + "/"
	region      string
	http        aws.HTTPClient
	credentials aws.CredentialsProvider
	signer      *v4.Signer
}

func newSQSQuery(endpoint, region string, client aws.HTTPClient, creds aws.CredentialsProvider) *sqsQuery {
	return &sqsQuery{
		endpoint:    strings.TrimSuffix(endpoint, "/"),
		region:      region,
		http:        client,
		credentials: creds,
		signer:      v4.NewSigner(),
	}
}

// call POSTs one action and decodes the XML reply into out.
func (c *sqsQuery) call(ctx context.Context, form url.Values, out any) error {
	form.Set("Version", sqsQueryAPIVersion)
	body := form.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/", strings.NewReader(body))
	if err != nil {
		return fmt.Errorf("bench: query request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	creds, err := c.credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("bench: credentials: %w", err)
	}
	sum := sha256.Sum256([]byte(body))
	if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "sqs", c.region, time.Now()); err != nil {
		return fmt.Errorf("bench: sign: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, queryResponseBytesMax))
	if err != nil {
		return fmt.Errorf("bench: read %s response: %w", form.Get("Action"), err)
	}
	if resp.StatusCode >= 300 {
		return parseQueryError(resp.StatusCode, data)
	}
	if err := xml.Unmarshal(data, out); err != nil {
		return fmt.Errorf("bench: decode %s response: %w", form.Get("Action"), err)
	}
	return nil
}

type queryErrorResponse struct {
	Error struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
}

// parseQueryError turns an error reply into a smithy.APIError so errors are
// counted by code exactly like the SDK's.
func parseQueryError(status int, data []byte) error {
	var e queryErrorResponse
	if err := xml.Unmarshal(data, &e); err != nil || e.Error.Code == "" {
		return &smithy.GenericAPIError{Code: "HTTP" + strconv.Itoa(status), Message: truncate(string(data), 200)}
	}
	fault := smithy.FaultServer
	if e.Error.Type == "Sender" {
		fault = smithy.FaultClient
	}
	return &smithy.GenericAPIError{Code: e.Error.Code, Message: e.Error.Message, Fault: fault}
}

func (c *sqsQuery) CreateQueue(ctx context.Context, name string, fifo bool) (string, error) {
	form := url.Values{"Action": {"CreateQueue"}, "QueueName": {name}}
	if fifo {
		form.Set("Attribute.1.Name", "FifoQueue")
		form.Set("Attribute.1.Value", "true")
	}
	var out struct {
		QueueURL string `xml:"CreateQueueResult>QueueUrl"`
	}
	if err := c.call(ctx, form, &out); err != nil {
		return "", fmt.Errorf("bench: CreateQueue %s: %w", name, err)
	}
	return out.QueueURL, nil
}

func (c *sqsQuery) GetQueueURL(ctx context.Context, name string) (string, error) {
	var out struct {
		QueueURL string `xml:"GetQueueUrlResult>QueueUrl"`
	}
	if err := c.call(ctx, url.Values{"Action": {"GetQueueUrl"}, "QueueName": {name}}, &out); err != nil {
		return "", fmt.Errorf("bench: GetQueueUrl %s: %w", name, err)
	}
	return out.QueueURL, nil
}

func (c *sqsQuery) DeleteQueue(ctx context.Context, queueURL string) error {
	var out struct{}
	if err := c.call(ctx, url.Values{"Action": {"DeleteQueue"}, "QueueUrl": {queueURL}}, &out); err != nil {
		return fmt.Errorf("bench: DeleteQueue %s: %w", queueURL, err)
	}
	return nil
}

func (c *sqsQuery) SendMessage(ctx context.Context, queueURL string, m sqsMessage) error {
	form := url.Values{"Action": {"SendMessage"}, "QueueUrl": {queueURL}, "MessageBody": {m.Body}}
	if m.GroupID != "" {
		form.Set("MessageGroupId", m.GroupID)
		form.Set("MessageDeduplicationId", m.DeduplicationID)
	}
	var out struct {
		MD5 string `xml:"SendMessageResult>MD5OfMessageBody"`
	}
	if err := c.call(ctx, form, &out); err != nil {
		return err
	}
	if out.MD5 != md5Hex(m.Body) {
		return &checksumError{what: "SendMessage"}
	}
	return nil
}

type queryBatchError struct {
	ID      string `xml:"Id"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

func (c *sqsQuery) SendMessageBatch(ctx context.Context, queueURL string, ms []sqsMessage) ([]batchFailure, error) {
	form := url.Values{"Action": {"SendMessageBatch"}, "QueueUrl": {queueURL}}
	for i, m := range ms {
		prefix := "SendMessageBatchRequestEntry." + strconv.Itoa(i+1) + "."
		form.Set(prefix+"Id", entryIDs[i])
		form.Set(prefix+"MessageBody", m.Body)
		if m.GroupID != "" {
			form.Set(prefix+"MessageGroupId", m.GroupID)
			form.Set(prefix+"MessageDeduplicationId", m.DeduplicationID)
		}
	}
	var out struct {
		Successful []struct {
			ID  string `xml:"Id"`
			MD5 string `xml:"MD5OfMessageBody"`
		} `xml:"SendMessageBatchResult>SendMessageBatchResultEntry"`
		Failed []queryBatchError `xml:"SendMessageBatchResult>BatchResultErrorEntry"`
	}
	if err := c.call(ctx, form, &out); err != nil {
		return nil, err
	}
	for _, s := range out.Successful {
		i, err := strconv.Atoi(s.ID)
		if err != nil || i < 0 || i >= len(ms) {
			return nil, fmt.Errorf("bench: SendMessageBatch: unknown entry id %q", s.ID)
		}
		if s.MD5 != md5Hex(ms[i].Body) {
			return nil, &checksumError{what: "SendMessageBatch"}
		}
	}
	return queryFailures(out.Failed, len(out.Successful), len(ms)), nil
}

func queryFailures(failed []queryBatchError, succeeded, sent int) []batchFailure {
	var out []batchFailure
	for _, f := range failed {
		out = append(out, batchFailure{Code: f.Code, Message: f.Message})
	}
	for range sent - succeeded - len(failed) {
		out = append(out, batchFailure{Code: "MissingBatchEntry", Message: "bench: batch entry neither succeeded nor failed"})
	}
	return out
}

func (c *sqsQuery) ReceiveMessage(ctx context.Context, queueURL string, req receiveRequest) ([]receivedMessage, error) {
	form := url.Values{
		"Action":              {"ReceiveMessage"},
		"QueueUrl":            {queueURL},
		"MaxNumberOfMessages": {strconv.Itoa(req.Max)},
		"WaitTimeSeconds":     {strconv.Itoa(int(req.Wait / time.Second))},
	}
	if req.Visibility > 0 {
		form.Set("VisibilityTimeout", strconv.Itoa(int(req.Visibility/time.Second)))
	}
	var out struct {
		Messages []struct {
			Body          string `xml:"Body"`
			MD5           string `xml:"MD5OfBody"`
			ReceiptHandle string `xml:"ReceiptHandle"`
		} `xml:"ReceiveMessageResult>Message"`
	}
	if err := c.call(ctx, form, &out); err != nil {
		return nil, err
	}
	msgs := make([]receivedMessage, len(out.Messages))
	for i, m := range out.Messages {
		if m.MD5 != md5Hex(m.Body) {
			return nil, &checksumError{what: "ReceiveMessage"}
		}
		msgs[i] = receivedMessage{Body: m.Body, ReceiptHandle: m.ReceiptHandle}
	}
	return msgs, nil
}

func (c *sqsQuery) DeleteMessageBatch(ctx context.Context, queueURL string, handles []string) ([]batchFailure, error) {
	form := url.Values{"Action": {"DeleteMessageBatch"}, "QueueUrl": {queueURL}}
	for i, h := range handles {
		prefix := "DeleteMessageBatchRequestEntry." + strconv.Itoa(i+1) + "."
		form.Set(prefix+"Id", entryIDs[i])
		form.Set(prefix+"ReceiptHandle", h)
	}
	var out struct {
		Successful []struct {
			ID string `xml:"Id"`
		} `xml:"DeleteMessageBatchResult>DeleteMessageBatchResultEntry"`
		Failed []queryBatchError `xml:"DeleteMessageBatchResult>BatchResultErrorEntry"`
	}
	if err := c.call(ctx, form, &out); err != nil {
		return nil, err
	}
	return queryFailures(out.Failed, len(out.Successful), len(handles)), nil
}

func (c *sqsQuery) ApproximateCount(ctx context.Context, queueURL string) (int64, error) {
	form := url.Values{
		"Action":          {"GetQueueAttributes"},
		"QueueUrl":        {queueURL},
		"AttributeName.1": {"ApproximateNumberOfMessages"},
		"AttributeName.2": {"ApproximateNumberOfMessagesNotVisible"},
	}
	var out struct {
		Attributes []struct {
			Name  string `xml:"Name"`
			Value string `xml:"Value"`
		} `xml:"GetQueueAttributesResult>Attribute"`
	}
	if err := c.call(ctx, form, &out); err != nil {
		return 0, fmt.Errorf("bench: GetQueueAttributes: %w", err)
	}
	attributes := map[string]string{}
	for _, a := range out.Attributes {
		attributes[a.Name] = a.Value
	}
	return sumCounts(attributes)
}
