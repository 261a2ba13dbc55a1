package noop

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"
)

const (
	sqsTargetPrefix = "AmazonSQS."
	sqsJSONType     = "application/x-amz-json-1.0"
	sqsXMLNamespace = "http://queue.amazonaws.com/doc/2012-11-05/"
	accountID       = "000000000000"
)

// cannedBody is the body of every canned message.
var cannedBody = strings.Repeat("noop canned message ", cannedPayloadBytes/20+1)[:cannedPayloadBytes]

var cannedBodyMD5 = md5Hex([]byte(cannedBody))

// cannedReceiveJSON[n] and cannedReceiveXML[n] are complete ReceiveMessage
// replies with n messages, built once.
var cannedReceiveJSON, cannedReceiveXML = func() (jsonReplies, xmlReplies [cannedMessagesMax + 1][]byte) {
	for n := 0; n <= cannedMessagesMax; n++ {
		j := []byte(`{"Messages":[`)
		x := []byte(`<?xml version="1.0"?><ReceiveMessageResponse xmlns="` + sqsXMLNamespace + `"><ReceiveMessageResult>`)
		for i := range n {
			if i > 0 {
				j = append(j, ',')
			}
			id := "00000000-0000-4000-8000-00000000000" + strconv.Itoa(i)
			handle := "noop-receipt-" + strconv.Itoa(i)
			j = append(j, `{"MessageId":"`+id+`","ReceiptHandle":"`+handle+`","MD5OfBody":"`+cannedBodyMD5+`","Body":"`+cannedBody+`"}`...)
			x = append(x, `<Message><MessageId>`+id+`</MessageId><ReceiptHandle>`+handle+`</ReceiptHandle><MD5OfBody>`+cannedBodyMD5+`</MD5OfBody><Body>`+cannedBody+`</Body></Message>`...)
		}
		jsonReplies[n] = append(j, `]}`...)
		xmlReplies[n] = append(x, `</ReceiveMessageResult><ResponseMetadata><RequestId>noop</RequestId></ResponseMetadata></ReceiveMessageResponse>`...)
	}
	return jsonReplies, xmlReplies
}()

func md5Hex(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

// messageID returns a UUID-shaped id from a counter.
func messageID(n int64) string {
	s := strconv.FormatInt(n, 16)
	return "00000000-0000-4000-8000-" + strings.Repeat("0", max(12-len(s), 0)) + s
}

type sqsRequest struct {
	QueueName           string     `json:"QueueName"`
	QueueURL            string     `json:"QueueUrl"`
	MessageBody         string     `json:"MessageBody"`
	MaxNumberOfMessages int        `json:"MaxNumberOfMessages"`
	Entries             []sqsEntry `json:"Entries"`
}

type sqsEntry struct {
	ID          string `json:"Id"`
	MessageBody string `json:"MessageBody"`
}

// scanSQS fills req for the payload-carrying actions without a full JSON
// decode (see scan.go); false means decode it.
func scanSQS(doc []byte, action string, req *sqsRequest) bool {
	switch action {
	case "SendMessage":
		body, ok := scanOne(doc, "MessageBody")
		req.MessageBody = body
		return ok
	case "SendMessageBatch":
		ids, ok := scanStrings(doc, "Id")
		if !ok || len(ids) == 0 {
			return false
		}
		bodies, ok := scanStrings(doc, "MessageBody")
		if !ok || len(bodies) != len(ids) {
			return false
		}
		req.Entries = make([]sqsEntry, len(ids))
		for i := range ids {
			req.Entries[i] = sqsEntry{ID: ids[i], MessageBody: bodies[i]}
		}
		return true
	}
	return false
}

func (s *Server) sqsJSON(ctx *fasthttp.RequestCtx, action string) {
	var req sqsRequest
	if !scanSQS(ctx.PostBody(), action, &req) {
		if err := json.Unmarshal(ctx.PostBody(), &req); err != nil {
			s.jsonError(ctx, sqsJSONType, "InvalidParameterValue", "noop: bad JSON: "+err.Error())
			return
		}
	}
	ctx.Response.Header.SetContentType(sqsJSONType)
	switch action {
	case "CreateQueue", "GetQueueUrl":
		if req.QueueName == "" {
			s.jsonError(ctx, sqsJSONType, "MissingParameter", "noop: QueueName is required")
			return
		}
		if action == "CreateQueue" {
			s.queuesCreated.Add(1)
		}
		ctx.SetBodyString(`{"QueueUrl":` + strconv.Quote(s.queueURL(ctx, req.QueueName)) + `}`)
	case "DeleteQueue":
		s.queuesDeleted.Add(1)
		ctx.SetBodyString(`{}`)
	case "PurgeQueue", "DeleteMessage", "ChangeMessageVisibility", "SetQueueAttributes":
		if action == "DeleteMessage" {
			s.deleted.Add(1)
		}
		ctx.SetBodyString(`{}`)
	case "GetQueueAttributes":
		ctx.SetBodyString(`{"Attributes":{"ApproximateNumberOfMessages":"0","ApproximateNumberOfMessagesNotVisible":"0"}}`)
	case "SendMessage":
		n := s.sequence.Add(1)
		s.sent.Add(1)
		ctx.SetBodyString(`{"MessageId":"` + messageID(n) + `","MD5OfMessageBody":"` + md5Hex([]byte(req.MessageBody)) + `"}`)
	case "SendMessageBatch":
		b := append(make([]byte, 0, 1024), `{"Successful":[`...)
		for i, e := range req.Entries {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"Id":`...)
			b = strconv.AppendQuote(b, e.ID)
			b = append(b, `,"MessageId":"`+messageID(s.sequence.Add(1))+`","MD5OfMessageBody":"`+md5Hex([]byte(e.MessageBody))+`"}`...)
		}
		s.sent.Add(int64(len(req.Entries)))
		ctx.SetBody(append(b, `],"Failed":[]}`...))
	case "ReceiveMessage":
		n := clampReceive(req.MaxNumberOfMessages)
		s.received.Add(int64(n))
		ctx.SetBody(cannedReceiveJSON[n])
	case "DeleteMessageBatch":
		b := append(make([]byte, 0, 1024), `{"Successful":[`...)
		for i, e := range req.Entries {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"Id":`...)
			b = strconv.AppendQuote(b, e.ID)
			b = append(b, '}')
		}
		s.deleted.Add(int64(len(req.Entries)))
		ctx.SetBody(append(b, `],"Failed":[]}`...))
	default:
		s.jsonError(ctx, sqsJSONType, "InvalidAction", "noop: unsupported action "+action)
	}
}

func clampReceive(n int) int {
	if n <= 0 {
		return 1
	}
	return min(n, cannedMessagesMax)
}

func (s *Server) queueURL(ctx *fasthttp.RequestCtx, name string) string {
	return "http://" + string(ctx.Host()) + "/" + accountID + "/" + name
}

func (s *Server) jsonError(ctx *fasthttp.RequestCtx, contentType, code, message string) {
	s.badRequests.Add(1)
	ctx.SetStatusCode(fasthttp.StatusBadRequest)
	ctx.Response.Header.SetContentType(contentType)
	ctx.Response.Header.Set("x-amzn-query-error", code+";Sender")
	ctx.SetBodyString(`{"__type":` + strconv.Quote(code) + `,"message":` + strconv.Quote(message) + `}`)
}

// sqsQuery answers the query protocol (form POST, XML reply).
func (s *Server) sqsQuery(ctx *fasthttp.RequestCtx) {
	args := ctx.PostArgs()
	if args.Len() == 0 {
		args = ctx.QueryArgs()
	}
	action := string(args.Peek("Action"))
	ctx.Response.Header.SetContentType("text/xml")
	b := make([]byte, 0, 1024)
	open := func(name string) {
		b = append(b, `<?xml version="1.0"?><`+name+`Response xmlns="`+sqsXMLNamespace+`">`...)
	}
	closeResponse := func(name string) {
		b = append(b, `<ResponseMetadata><RequestId>noop</RequestId></ResponseMetadata></`+name+`Response>`...)
		ctx.SetBody(b)
	}
	switch action {
	case "CreateQueue", "GetQueueUrl":
		name := string(args.Peek("QueueName"))
		if name == "" {
			s.queryError(ctx, "MissingParameter", "noop: QueueName is required")
			return
		}
		if action == "CreateQueue" {
			s.queuesCreated.Add(1)
		}
		open(action)
		b = append(b, `<`+action+`Result><QueueUrl>`...)
		b = appendXMLText(b, s.queueURL(ctx, name))
		b = append(b, `</QueueUrl></`+action+`Result>`...)
		closeResponse(action)
	case "DeleteQueue", "PurgeQueue", "DeleteMessage", "ChangeMessageVisibility", "SetQueueAttributes":
		switch action {
		case "DeleteQueue":
			s.queuesDeleted.Add(1)
		case "DeleteMessage":
			s.deleted.Add(1)
		}
		open(action)
		closeResponse(action)
	case "GetQueueAttributes":
		open(action)
		b = append(b, `<GetQueueAttributesResult><Attribute><Name>ApproximateNumberOfMessages</Name><Value>0</Value></Attribute><Attribute><Name>ApproximateNumberOfMessagesNotVisible</Name><Value>0</Value></Attribute></GetQueueAttributesResult>`...)
		closeResponse(action)
	case "SendMessage":
		s.sent.Add(1)
		open(action)
		b = append(b, `<SendMessageResult><MessageId>`+messageID(s.sequence.Add(1))+`</MessageId><MD5OfMessageBody>`+md5Hex(args.Peek("MessageBody"))+`</MD5OfMessageBody></SendMessageResult>`...)
		closeResponse(action)
	case "SendMessageBatch":
		open(action)
		b = append(b, `<SendMessageBatchResult>`...)
		for i := 1; i <= 10; i++ {
			prefix := "SendMessageBatchRequestEntry." + strconv.Itoa(i) + "."
			id := args.Peek(prefix + "Id")
			if id == nil {
				break
			}
			s.sent.Add(1)
			b = append(b, `<SendMessageBatchResultEntry><Id>`...)
			b = appendXMLText(b, string(id))
			b = append(b, `</Id><MessageId>`+messageID(s.sequence.Add(1))+`</MessageId><MD5OfMessageBody>`+md5Hex(args.Peek(prefix+"MessageBody"))+`</MD5OfMessageBody></SendMessageBatchResultEntry>`...)
		}
		b = append(b, `</SendMessageBatchResult>`...)
		closeResponse(action)
	case "ReceiveMessage":
		n, _ := strconv.Atoi(string(args.Peek("MaxNumberOfMessages")))
		n = clampReceive(n)
		s.received.Add(int64(n))
		ctx.SetBody(cannedReceiveXML[n])
	case "DeleteMessageBatch":
		open(action)
		b = append(b, `<DeleteMessageBatchResult>`...)
		for i := 1; i <= 10; i++ {
			id := args.Peek("DeleteMessageBatchRequestEntry." + strconv.Itoa(i) + ".Id")
			if id == nil {
				break
			}
			s.deleted.Add(1)
			b = append(b, `<DeleteMessageBatchResultEntry><Id>`...)
			b = appendXMLText(b, string(id))
			b = append(b, `</Id></DeleteMessageBatchResultEntry>`...)
		}
		b = append(b, `</DeleteMessageBatchResult>`...)
		closeResponse(action)
	default:
		s.queryError(ctx, "InvalidAction", "noop: unsupported action "+action)
	}
}

func (s *Server) queryError(ctx *fasthttp.RequestCtx, code, message string) {
	s.badRequests.Add(1)
	ctx.SetStatusCode(fasthttp.StatusBadRequest)
	b := append(make([]byte, 0, 1024), `<?xml version="1.0"?><ErrorResponse xmlns="`+sqsXMLNamespace+`"><Error><Type>Sender</Type><Code>`+code+`</Code><Message>`...)
	b = appendXMLText(b, message)
	ctx.SetBody(append(b, `</Message><Detail/></Error><RequestId>noop</RequestId></ErrorResponse>`...))
}

// appendXMLText appends s with XML's special characters escaped.
func appendXMLText(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '<':
			b = append(b, "&lt;"...)
		case '>':
			b = append(b, "&gt;"...)
		case '&':
			b = append(b, "&amp;"...)
		case '"':
			b = append(b, "&quot;"...)
		case '\'':
			b = append(b, "&apos;"...)
		case '\r':
			b = append(b, "&#xD;"...)
		default:
			b = append(b, c)
		}
	}
	return b
}
