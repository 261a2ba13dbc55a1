package sqs

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"flag"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/query golden files from the responses")

// Patterns of the parts of query responses that change from run to run.
var (
	goldenTimestamp = regexp.MustCompile(`<Name>(SentTimestamp|ApproximateFirstReceiveTimestamp|CreatedTimestamp|LastModifiedTimestamp)</Name><Value>[0-9]+</Value>`)
	goldenSequence  = regexp.MustCompile(`<SequenceNumber>[0-9]+</SequenceNumber>|<Name>SequenceNumber</Name><Value>[0-9]+</Value>`)
)

// normalizeReal replaces request ids, message ids, receipts, timestamps,
// sequence numbers and the server's host with placeholders.
func normalizeReal(body, host string) string {
	body = normalize(body)
	body = strings.ReplaceAll(body, host, "HOST")
	body = goldenTimestamp.ReplaceAllString(body, "<Name>$1</Name><Value>TS</Value>")
	return goldenSequence.ReplaceAllStringFunc(body, func(s string) string {
		if strings.HasPrefix(s, "<Name>") {
			return "<Name>SequenceNumber</Name><Value>SEQ</Value>"
		}
		return "<SequenceNumber>SEQ</SequenceNumber>"
	})
}

var receiptHandleValue = regexp.MustCompile(`<ReceiptHandle>([A-Za-z0-9_-]+)</ReceiptHandle>`)

// receiptsOf returns the receipt handles of a ReceiveMessage response.
func receiptsOf(body string) []string {
	var out []string
	for _, m := range receiptHandleValue.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestRealQueryProtocol drives the main message flow and its errors over
// the query protocol (SigV4-signed form bodies, as the older SDKs and the
// AWS CLI v1 send them) against the real engine and compares every
// response document with testdata/query/NN-step.xml (regenerate with
// -update, then review the diff). Queues are named by QueueUrl and by the
// request path. It also checks an explicit DelaySeconds=0 overriding the
// queue's delay, which aws-sdk-go-v2 cannot send.
func TestRealQueryProtocol(t *testing.T) {
	e := newRealEnv(t)
	host := strings.TrimPrefix(e.url, "http://")
	qurl := e.url + "/000000000000/flow"
	const path = "/000000000000/flow"
	var receipts []string
	steps := []struct {
		name   string
		path   string
		params func() url.Values
		status int
		after  func(body string)
	}{
		{"create", "/", func() url.Values {
			return url.Values{"Action": {"CreateQueue"}, "QueueName": {"flow"},
				"Attribute.1.Name": {"DelaySeconds"}, "Attribute.1.Value": {"30"},
				"Attribute.2.Name": {"VisibilityTimeout"}, "Attribute.2.Value": {"60"},
				"Tag.1.Key": {"team"}, "Tag.1.Value": {"a"}}
		}, 200, nil},
		{"get-url", "/", func() url.Values {
			return url.Values{"Action": {"GetQueueUrl"}, "QueueName": {"flow"}}
		}, 200, nil},
		{"send-no-delay", path, func() url.Values {
			return url.Values{"Action": {"SendMessage"}, "MessageBody": {"hello <world> & \"you\""}, "DelaySeconds": {"0"},
				"MessageAttribute.1.Name": {"kind"}, "MessageAttribute.1.Value.DataType": {"String"}, "MessageAttribute.1.Value.StringValue": {"greeting"},
				"MessageAttribute.2.Name": {"blob"}, "MessageAttribute.2.Value.DataType": {"Binary"}, "MessageAttribute.2.Value.BinaryValue": {"AAEC"},
				"MessageSystemAttribute.1.Name": {"AWSTraceHeader"}, "MessageSystemAttribute.1.Value.DataType": {"String"}, "MessageSystemAttribute.1.Value.StringValue": {"Root=1-5759e988-bd862e3fe1be46a994272793"}}
		}, 200, nil},
		{"send-delayed", "/", func() url.Values {
			return url.Values{"Action": {"SendMessage"}, "QueueUrl": {qurl}, "MessageBody": {"queue delay applies"}}
		}, 200, nil},
		{"send-batch", path, func() url.Values {
			return url.Values{"Action": {"SendMessageBatch"},
				"SendMessageBatchRequestEntry.1.Id": {"one"}, "SendMessageBatchRequestEntry.1.MessageBody": {"b1"}, "SendMessageBatchRequestEntry.1.DelaySeconds": {"0"},
				"SendMessageBatchRequestEntry.2.Id": {"two"}, "SendMessageBatchRequestEntry.2.MessageBody": {"bad\x01body"},
				"SendMessageBatchRequestEntry.3.Id": {"three"}, "SendMessageBatchRequestEntry.3.MessageBody": {"b3"}, "SendMessageBatchRequestEntry.3.DelaySeconds": {"0"}}
		}, 200, nil},
		{"attributes-counts", path, func() url.Values {
			return url.Values{"Action": {"GetQueueAttributes"}, "AttributeName.1": {"ApproximateNumberOfMessages"},
				"AttributeName.2": {"ApproximateNumberOfMessagesDelayed"}, "AttributeName.3": {"DelaySeconds"}}
		}, 200, nil},
		{"receive", path, func() url.Values {
			return url.Values{"Action": {"ReceiveMessage"}, "MaxNumberOfMessages": {"1"},
				"AttributeName.1": {"All"}, "MessageAttributeName.1": {"All"}}
		}, 200, func(body string) { receipts = append(receipts, receiptsOf(body)...) }},
		{"receive-batch", path, func() url.Values {
			return url.Values{"Action": {"ReceiveMessage"}, "MaxNumberOfMessages": {"10"}, "VisibilityTimeout": {"0"},
				"MessageSystemAttributeName.1": {"ApproximateReceiveCount"}}
		}, 200, func(body string) { receipts = append(receipts, receiptsOf(body)...) }},
		{"change-visibility", path, func() url.Values {
			return url.Values{"Action": {"ChangeMessageVisibility"}, "ReceiptHandle": {receipts[0]}, "VisibilityTimeout": {"120"}}
		}, 200, nil},
		{"change-visibility-batch", path, func() url.Values {
			return url.Values{"Action": {"ChangeMessageVisibilityBatch"},
				"ChangeMessageVisibilityBatchRequestEntry.1.Id": {"ok"}, "ChangeMessageVisibilityBatchRequestEntry.1.ReceiptHandle": {receipts[0]}, "ChangeMessageVisibilityBatchRequestEntry.1.VisibilityTimeout": {"60"},
				"ChangeMessageVisibilityBatchRequestEntry.2.Id": {"bad"}, "ChangeMessageVisibilityBatchRequestEntry.2.ReceiptHandle": {"garbage!"}, "ChangeMessageVisibilityBatchRequestEntry.2.VisibilityTimeout": {"60"}}
		}, 200, nil},
		{"delete", path, func() url.Values {
			return url.Values{"Action": {"DeleteMessage"}, "ReceiptHandle": {receipts[0]}}
		}, 200, nil},
		{"delete-batch", path, func() url.Values {
			v := url.Values{"Action": {"DeleteMessageBatch"}}
			for i, r := range receipts[1:] {
				n := strconv.Itoa(i + 1)
				v.Set("DeleteMessageBatchRequestEntry."+n+".Id", "d"+n)
				v.Set("DeleteMessageBatchRequestEntry."+n+".ReceiptHandle", r)
			}
			v.Set("DeleteMessageBatchRequestEntry.9.Id", "bad")
			v.Set("DeleteMessageBatchRequestEntry.9.ReceiptHandle", "%%")
			return v
		}, 200, nil},
		{"set-attributes", path, func() url.Values {
			return url.Values{"Action": {"SetQueueAttributes"}, "Attribute.1.Name": {"MaximumMessageSize"}, "Attribute.1.Value": {"2048"}}
		}, 200, nil},
		{"attributes-all", "/", func() url.Values {
			return url.Values{"Action": {"GetQueueAttributes"}, "QueueUrl": {qurl}, "AttributeName.1": {"All"}}
		}, 200, nil},
		{"list-queues", "/", func() url.Values {
			return url.Values{"Action": {"ListQueues"}, "QueueNamePrefix": {"fl"}}
		}, 200, nil},
		{"list-tags", path, func() url.Values {
			return url.Values{"Action": {"ListQueueTags"}}
		}, 200, nil},
		{"purge", path, func() url.Values {
			return url.Values{"Action": {"PurgeQueue"}}
		}, 200, nil},
		// Errors.
		{"error-missing-queue", "/", func() url.Values {
			return url.Values{"Action": {"SendMessage"}, "QueueUrl": {e.url + "/000000000000/nope"}, "MessageBody": {"x"}}
		}, 400, nil},
		{"error-missing-parameter", path, func() url.Values {
			return url.Values{"Action": {"DeleteMessage"}}
		}, 400, nil},
		{"error-invalid-receipt", path, func() url.Values {
			return url.Values{"Action": {"DeleteMessage"}, "ReceiptHandle": {"garbage!"}}
		}, 404, nil},
		{"error-attribute-value", path, func() url.Values {
			return url.Values{"Action": {"SetQueueAttributes"}, "Attribute.1.Name": {"VisibilityTimeout"}, "Attribute.1.Value": {"43201"}}
		}, 400, nil},
		{"error-attribute-name", path, func() url.Values {
			return url.Values{"Action": {"GetQueueAttributes"}, "AttributeName.1": {"Colour"}}
		}, 400, nil},
		{"error-empty-batch", path, func() url.Values {
			return url.Values{"Action": {"SendMessageBatch"}}
		}, 400, nil},
		{"error-purge-in-progress", path, func() url.Values {
			return url.Values{"Action": {"PurgeQueue"}}
		}, 403, nil},
		{"error-unknown-action", "/", func() url.Values {
			return url.Values{"Action": {"FlyToTheMoon"}}
		}, 400, nil},
		{"delete-queue", path, func() url.Values {
			return url.Values{"Action": {"DeleteQueue"}}
		}, 200, nil},
	}
	for i, st := range steps {
		status, body := queryCall(t, e.url, st.path, st.params())
		if st.after != nil {
			st.after(body)
		}
		got := normalizeReal(body, host)
		file := filepath.Join("testdata", "query", strconv.Itoa(10+i)+"-"+st.name+".xml")
		if *updateGolden {
			if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, []byte(got+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%s: %v (run with -update to create it)", st.name, err)
		}
		if status != st.status || got+"\n" != string(want) {
			t.Errorf("%s: status %d, body\n%s\nwant %d, golden %s:\n%s", st.name, status, got, st.status, file, want)
		}
	}
}

// TestRealQueryBodiesRoundTrip sends escape-heavy bodies over the query
// protocol, several batches on one kept-alive connection (the server
// decodes borrowed bodies in place in its reused request buffer), and
// checks every body comes back byte for byte, with its MD5, received over
// the query protocol too (XML text escapes on the way out).
func TestRealQueryBodiesRoundTrip(t *testing.T) {
	e := newRealEnv(t)
	qurl := e.createQueue("roundtrip", nil)
	path := strings.TrimPrefix(qurl, e.url)
	r := rand.New(rand.NewPCG(7, 8))
	alphabet := []rune("ab +%&=;/?#\"'<>\\\t\n\r{}[]:,.é✓漢🙂%2B+%20")
	want := map[string]int{}
	for batch := range 8 {
		params := url.Values{"Action": {"SendMessageBatch"}}
		for i := 1; i <= 10; i++ {
			var sb strings.Builder
			for n := 1 + r.IntN(3000); sb.Len() < n; {
				sb.WriteRune(alphabet[r.IntN(len(alphabet))])
			}
			body := sb.String()
			want[body]++
			p := "SendMessageBatchRequestEntry." + strconv.Itoa(i) + "."
			params.Set(p+"Id", "b"+strconv.Itoa(batch)+"e"+strconv.Itoa(i))
			params.Set(p+"MessageBody", body)
		}
		status, resp := queryCall(t, e.url, path, params)
		if status != 200 || strings.Contains(resp, "<BatchResultErrorEntry>") {
			t.Fatalf("batch %d: status %d: %s", batch, status, resp)
		}
	}
	for got := 0; got < 80; {
		status, resp := queryCall(t, e.url, path, url.Values{"Action": {"ReceiveMessage"}, "MaxNumberOfMessages": {"10"}, "VisibilityTimeout": {"300"}})
		var out struct {
			Messages []struct{ Body, MD5OfBody string } `xml:"ReceiveMessageResult>Message"`
		}
		if err := xml.Unmarshal([]byte(resp), &out); status != 200 || err != nil || len(out.Messages) == 0 {
			t.Fatalf("received %d of 80, then status %d, %v: %.300s", got, status, err, resp)
		}
		for _, m := range out.Messages {
			sum := md5.Sum([]byte(m.Body))
			if want[m.Body] == 0 || m.MD5OfBody != hex.EncodeToString(sum[:]) {
				t.Fatalf("unexpected body of %d bytes (MD5OfBody %s): %q", len(m.Body), m.MD5OfBody, m.Body[:min(len(m.Body), 80)])
			}
			want[m.Body]--
			got++
		}
	}
}
