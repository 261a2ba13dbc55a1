package sqs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// queryCall sends a SigV4-signed query-protocol request (form body) to
// path and returns the status and body.
func queryCall(t testing.TB, endpoint, path string, params url.Values) (int, string) {
	t.Helper()
	if params.Get("Version") == "" {
		params.Set("Version", "2012-11-05")
	}
	a := queryAccept(t, http.MethodPost, endpoint, path, params, "")
	return a.status, a.body
}

// queryJSONAnswer is one raw answer of queryAccept.
type queryJSONAnswer struct {
	status      int
	contentType string
	requestID   string // the x-amzn-RequestId header
	body        string
}

// queryAccept sends a SigV4-signed query-protocol request with the given
// Accept header (none if empty): a GET with params in the URL, or a POST
// with them as the form body.
func queryAccept(t testing.TB, method, endpoint, path string, params url.Values, accept string) queryJSONAnswer {
	t.Helper()
	if params.Get("Action") != "" && params.Get("Version") == "" {
		params.Set("Version", "2012-11-05")
	}
	target, body := endpoint+path, ""
	if method == http.MethodGet {
		if len(params) > 0 {
			target += "?" + params.Encode()
		}
	} else {
		body = params.Encode()
	}
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "sqs", "us-east-1", time.Now()); err != nil {
		t.Fatalf("sign: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return queryJSONAnswer{resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("x-amzn-RequestId"), string(b)}
}

var (
	requestIDPattern = regexp.MustCompile(`<RequestId>[0-9a-f-]{36}</RequestId>`)
	messageIDPattern = regexp.MustCompile(`<MessageId>[0-9a-f-]{36}</MessageId>`)
	receiptPattern   = regexp.MustCompile(`<ReceiptHandle>[A-Za-z0-9_-]+</ReceiptHandle>`)
)

// normalize replaces the random parts of a response with placeholders.
func normalize(s string) string {
	s = requestIDPattern.ReplaceAllString(s, "<RequestId>RID</RequestId>")
	s = messageIDPattern.ReplaceAllString(s, "<MessageId>MID</MessageId>")
	return receiptPattern.ReplaceAllString(s, "<ReceiptHandle>RH</ReceiptHandle>")
}

// TestQueryProtocolGolden checks the exact XML documents of the query
// protocol for a create/send/receive/error sequence, including queues
// named by the request path instead of QueueUrl.
func TestQueryProtocolGolden(t *testing.T) {
	ts := startServer(t, newFakeBackend())
	host := strings.TrimPrefix(ts.url, "http://")
	const decl = `<?xml version="1.0"?>`
	const ns = ` xmlns="http://queue.amazonaws.com/doc/2012-11-05/"`
	steps := []struct {
		name   string
		path   string
		params url.Values
		status int
		want   string
	}{
		{"create", "/", url.Values{"Action": {"CreateQueue"}, "QueueName": {"q1"}, "Attribute.1.Name": {"DelaySeconds"}, "Attribute.1.Value": {"0"}}, 200,
			decl + `<CreateQueueResponse` + ns + `><CreateQueueResult><QueueUrl>http://` + host + `/000000000000/q1</QueueUrl></CreateQueueResult><ResponseMetadata><RequestId>RID</RequestId></ResponseMetadata></CreateQueueResponse>`},
		{"send by path", "/000000000000/q1", url.Values{"Action": {"SendMessage"}, "MessageBody": {"a<b&\r"},
			"MessageAttribute.1.Name": {"n"}, "MessageAttribute.1.Value.DataType": {"Number"}, "MessageAttribute.1.Value.StringValue": {"42"}}, 200,
			decl + `<SendMessageResponse` + ns + `><SendMessageResult><MD5OfMessageBody>` + md5HexString("a<b&\r") + `</MD5OfMessageBody><MD5OfMessageAttributes>` +
				"30e7543857de47826ea2a48bbec32fd7" + `</MD5OfMessageAttributes><MessageId>MID</MessageId></SendMessageResult><ResponseMetadata><RequestId>RID</RequestId></ResponseMetadata></SendMessageResponse>`},
		{"receive", "/", url.Values{"Action": {"ReceiveMessage"}, "QueueUrl": {ts.url + "/000000000000/q1"}, "AttributeName.1": {"ApproximateReceiveCount"}, "MessageAttributeName.1": {"All"}}, 200,
			decl + `<ReceiveMessageResponse` + ns + `><ReceiveMessageResult><Message><MessageId>MID</MessageId><ReceiptHandle>RH</ReceiptHandle><MD5OfBody>` + md5HexString("a<b&\r") +
				`</MD5OfBody><Body>a&lt;b&amp;&#xD;</Body><Attribute><Name>ApproximateReceiveCount</Name><Value>1</Value></Attribute><MD5OfMessageAttributes>30e7543857de47826ea2a48bbec32fd7</MD5OfMessageAttributes>` +
				`<MessageAttribute><Name>n</Name><Value><StringValue>42</StringValue><DataType>Number</DataType></Value></MessageAttribute></Message></ReceiveMessageResult><ResponseMetadata><RequestId>RID</RequestId></ResponseMetadata></ReceiveMessageResponse>`},
		{"missing queue", "/", url.Values{"Action": {"GetQueueUrl"}, "QueueName": {"nope"}}, 400,
			decl + `<ErrorResponse` + ns + `><Error><Type>Sender</Type><Code>AWS.SimpleQueueService.NonExistentQueue</Code><Message>The specified queue does not exist for this wsdl version.</Message><Detail/></Error><RequestId>RID</RequestId></ErrorResponse>`},
		{"delete", "/000000000000/q1", url.Values{"Action": {"DeleteQueue"}}, 200,
			decl + `<DeleteQueueResponse` + ns + `><ResponseMetadata><RequestId>RID</RequestId></ResponseMetadata></DeleteQueueResponse>`},
	}
	for _, st := range steps {
		status, body := queryCall(t, ts.url, st.path, st.params)
		if status != st.status || normalize(body) != st.want {
			t.Errorf("%s: status %d body\n%s\nwant %d\n%s", st.name, status, normalize(body), st.status, st.want)
		}
	}
}
