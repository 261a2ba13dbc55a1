package sqs

import (
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
