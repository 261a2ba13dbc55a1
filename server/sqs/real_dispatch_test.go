package sqs

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestRealQueueURLWithoutAction: a plain GET of a queue URL (no Action,
// unsigned, as a browser or curl sends it) answers 404 with the body
// <UnknownOperationException/> (LocalStack's AWS-validated
// TestSqsQueryApi.test_get_queue_without_action_returns_unknown_operation
// asserts the 404 and that element). Before, Sluice answered 400
// MissingAction in an ErrorResponse. The same holds for a signed POST
// without Action and for a queue that does not exist (the front end
// answers before any queue is looked up), while a request without Action
// to "/" keeps MissingAction, and a queue URL with an Action works.
func TestRealQueueURLWithoutAction(t *testing.T) {
	e := newRealEnv(t)
	u := e.createQueue("no-action", nil)
	queueURL, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(e.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	for _, path := range []string{queueURL.Path, queueURL.Path + "/", "/000000000000/no-such-queue"} {
		if status, body := get(path); status != 404 || body != "<UnknownOperationException/>" {
			t.Errorf("GET %s: %d %q, want 404 <UnknownOperationException/>", path, status, body)
		}
	}
	if status, body := queryCall(t, e.url, queueURL.Path, url.Values{"QueueName": {"no-action"}}); status != 404 || body != "<UnknownOperationException/>" {
		t.Errorf("signed POST to the queue URL without Action: %d %q", status, body)
	}
	if status, body := get("/"); status != 400 || !strings.Contains(body, "<Code>MissingAction</Code>") {
		t.Errorf("GET /: %d %q, want 400 MissingAction", status, body)
	}
	if status, body := get(queueURL.Path + "?Action=GetQueueAttributes&AttributeName.1=All"); status != 200 || !strings.Contains(body, "<GetQueueAttributesResponse") {
		t.Errorf("GET with Action: %d %s", status, body)
	}
}

// TestRealQueryJSON: a query-protocol request (Action=…, form or URL
// parameters) that sends Accept: application/json is answered in JSON
// with the query envelope, as AWS answers it:
// {"SendMessageResponse":{"SendMessageResult":{…},"ResponseMetadata":{"RequestId":…}}}
// (LocalStack's AWS-validated apigateway test_apigateway_sqs.py
// test_sqs_request_and_response_xml_templates_integration; ListQueues
// captures in localstack/localstack#3715 and JuliaCloud/AWS.jl#127;
// TestSqsQueryApi test_get_queue_attributes_json_format and
// test_get_list_queues_fails_json_format for GetQueueAttributes and
// errors). Before, Sluice answered XML whatever the Accept header said.
// Method: raw signed GETs and POSTs over the real server, decoded with
// encoding/json. The guards: without Accept, with */* or application/xml
// the answer stays XML, and a request without Action to a queue URL stays
// the XML 404 <UnknownOperationException/> with Accept: application/json
// too (test_get_without_query_json_format_returns_returns_xml).
func TestRealQueryJSON(t *testing.T) {
	e := newRealEnv(t)
	queueURL := e.createQueue("query-json", nil)
	u, err := url.Parse(queueURL)
	if err != nil {
		t.Fatal(err)
	}
	path := u.Path
	const accept = "application/json"
	decode := func(a queryJSONAnswer, wantStatus int) map[string]any {
		t.Helper()
		if a.status != wantStatus || a.contentType != "application/json" {
			t.Fatalf("status %d, Content-Type %q, want %d application/json: %s", a.status, a.contentType, wantStatus, a.body)
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(a.body), &doc); err != nil {
			t.Fatalf("not JSON: %v: %s", err, a.body)
		}
		return doc
	}
	// envelope returns {Action}Response.{Action}Result and checks
	// ResponseMetadata.RequestId against the header.
	envelope := func(doc map[string]any, action, requestID string) map[string]any {
		t.Helper()
		response, ok := doc[action+"Response"].(map[string]any)
		if !ok || len(doc) != 1 {
			t.Fatalf("no %sResponse root: %v", action, doc)
		}
		metadata, _ := response["ResponseMetadata"].(map[string]any)
		if id, _ := metadata["RequestId"].(string); id == "" || id != requestID {
			t.Errorf("%s: RequestId %v, header %q", action, metadata, requestID)
		}
		result, _ := response[action+"Result"].(map[string]any)
		return result
	}

	a := queryAccept(t, http.MethodPost, e.url, path, url.Values{"Action": {"SendMessage"}, "MessageBody": {"hello"}}, accept)
	sent := envelope(decode(a, 200), "SendMessage", a.requestID)
	if id, _ := sent["MessageId"].(string); id == "" || sent["MD5OfMessageBody"] != "5d41402abc4b2a76b9719d911017c592" {
		t.Errorf("SendMessageResult %v", sent)
	}

	a = queryAccept(t, http.MethodGet, e.url, path, url.Values{"Action": {"GetQueueAttributes"}, "AttributeName.1": {"All"}}, accept)
	attributes, _ := envelope(decode(a, 200), "GetQueueAttributes", a.requestID)["Attributes"].([]any)
	found := false
	for _, item := range attributes {
		attribute, _ := item.(map[string]any)
		if attribute["Name"] == "QueueArn" {
			arn, _ := attribute["Value"].(string)
			found = strings.HasPrefix(arn, "arn:aws:sqs:") && strings.HasSuffix(arn, ":query-json")
		}
	}
	if !found {
		t.Errorf("no QueueArn in Attributes %v", attributes)
	}

	a = queryAccept(t, http.MethodPost, e.url, "/", url.Values{"Action": {"ListQueues"}}, accept)
	listed := envelope(decode(a, 200), "ListQueues", a.requestID)
	if urls, _ := listed["queueUrls"].([]any); len(urls) != 1 || urls[0] != queueURL ||
		listed["NextToken"] != nil || listed["NextExclusiveStartQueueName"] != nil || len(listed) != 3 {
		t.Errorf("ListQueuesResult %v, want queueUrls [%s] and two nulls", listed, queueURL)
	}

	a = queryAccept(t, http.MethodPost, e.url, path, url.Values{"Action": {"ReceiveMessage"}}, accept)
	messages, _ := envelope(decode(a, 200), "ReceiveMessage", a.requestID)["messages"].([]any)
	if len(messages) != 1 {
		t.Fatalf("ReceiveMessageResult messages %v", messages)
	}
	message, _ := messages[0].(map[string]any)
	receipt, _ := message["ReceiptHandle"].(string)
	if message["Body"] != "hello" || receipt == "" {
		t.Errorf("message %v", message)
	}

	// An operation without output has the metadata alone.
	a = queryAccept(t, http.MethodPost, e.url, path, url.Values{"Action": {"DeleteMessage"}, "ReceiptHandle": {receipt}}, accept)
	if doc := decode(a, 200); envelope(doc, "DeleteMessage", a.requestID) != nil ||
		len(doc["DeleteMessageResponse"].(map[string]any)) != 1 {
		t.Errorf("DeleteMessage: %s", a.body)
	}

	// Errors: {"Error":{"Type","Code","Message"},"RequestId"}.
	a = queryAccept(t, http.MethodGet, e.url, path, url.Values{"Action": {"ListQueues"}}, accept)
	doc := decode(a, 400)
	failure, _ := doc["Error"].(map[string]any)
	if failure["Code"] != "InvalidAction" || failure["Message"] != "The action ListQueues is not valid for this endpoint." ||
		failure["Type"] != "Sender" || doc["RequestId"] != a.requestID {
		t.Errorf("ListQueues on a queue URL: %s", a.body)
	}
	a = queryAccept(t, http.MethodGet, e.url, "/000000000000/no-such-queue", url.Values{"Action": {"GetQueueAttributes"}, "AttributeName.1": {"All"}}, "text/html, application/json;q=0.9")
	failure, _ = decode(a, 400)["Error"].(map[string]any)
	if failure["Code"] != "AWS.SimpleQueueService.NonExistentQueue" {
		t.Errorf("missing queue: %s", a.body)
	}

	// Guards: XML without a JSON Accept; the no-Action 404 stays XML.
	for _, other := range []string{"", "*/*", "application/xml"} {
		a = queryAccept(t, http.MethodGet, e.url, path, url.Values{"Action": {"GetQueueAttributes"}, "AttributeName.1": {"QueueArn"}}, other)
		if a.status != 200 || a.contentType != "text/xml" || !strings.Contains(a.body, "<GetQueueAttributesResponse") {
			t.Errorf("Accept %q: %d %q %s", other, a.status, a.contentType, a.body)
		}
	}
	a = queryAccept(t, http.MethodGet, e.url, path, url.Values{}, accept)
	if a.status != 404 || a.body != "<UnknownOperationException/>" {
		t.Errorf("GET queue URL without Action, Accept JSON: %d %q", a.status, a.body)
	}
}
