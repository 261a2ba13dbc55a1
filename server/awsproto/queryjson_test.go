package awsproto

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestAcceptsJSON: which Accept headers select the query protocol's JSON
// answer. Only an explicit application/json media range does; wildcards
// and other types keep XML.
func TestAcceptsJSON(t *testing.T) {
	tests := []struct {
		accept string
		want   bool
	}{
		{"", false},
		{"*/*", false},
		{"application/*", false},
		{"text/xml", false},
		{"application/xml", false},
		{"application/jsonx", false},
		{"application/json", true},
		{"Application/JSON", true},
		{" application/json ; charset=utf-8", true},
		{"text/html, application/xhtml+xml, application/json;q=0.9, */*;q=0.8", true},
		{"text/html,application/json", true},
		{",,", false},
	}
	for _, tt := range tests {
		if got := AcceptsJSON([]byte(tt.accept)); got != tt.want {
			t.Errorf("AcceptsJSON(%q) = %v, want %v", tt.accept, got, tt.want)
		}
	}
	// It runs on every SQS query request.
	accept := []byte("text/html, application/xhtml+xml, application/json;q=0.9")
	if allocs := testing.AllocsPerRun(100, func() { AcceptsJSON(accept) }); allocs != 0 {
		t.Errorf("AcceptsJSON allocates %v times", allocs)
	}
}

// FuzzAcceptsJSON compares AcceptsJSON with a plain split-and-compare
// reading of the header.
func FuzzAcceptsJSON(f *testing.F) {
	for _, seed := range []string{"", "*/*", "application/json", "text/html, application/json;q=0.9", " Application/Json ;", ",,;"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		want := false
		for _, mediaRange := range strings.Split(accept, ",") {
			mediaType, _, _ := strings.Cut(mediaRange, ";")
			want = want || strings.EqualFold(strings.TrimSpace(mediaType), "application/json")
		}
		if got := AcceptsJSON([]byte(accept)); got != want {
			t.Errorf("AcceptsJSON(%q) = %v, want %v", accept, got, want)
		}
	})
}

// TestQueryJSONEnvelopes: the JSON envelope around a result, around no
// result, and the error document, each valid JSON with escaped text.
func TestQueryJSONEnvelopes(t *testing.T) {
	doc := AppendQueryJSONResponseStart(nil, "GetQueueUrl", true)
	doc = append(doc, `{"QueueUrl":"u"}`...)
	doc = AppendQueryJSONResponseEnd(doc, "r\"1", true)
	want := `{"GetQueueUrlResponse":{"GetQueueUrlResult":{"QueueUrl":"u"},"ResponseMetadata":{"RequestId":"r\"1"}}}`
	if string(doc) != want {
		t.Errorf("with result:\n%s\nwant\n%s", doc, want)
	}
	doc = AppendQueryJSONResponseEnd(AppendQueryJSONResponseStart(nil, "DeleteQueue", false), "r1", false)
	if want := `{"DeleteQueueResponse":{"ResponseMetadata":{"RequestId":"r1"}}}`; string(doc) != want {
		t.Errorf("without result: %s, want %s", doc, want)
	}
	e := &Error{Code: "InvalidAction", Message: `The action "<x>" is not valid.`, Sender: true}
	doc = AppendQueryJSONError(nil, e, "r1")
	var parsed struct {
		Error     struct{ Type, Code, Message string }
		RequestID string `json:"RequestId"`
	}
	if err := json.Unmarshal(doc, &parsed); err != nil {
		t.Fatalf("%s: %v", doc, err)
	}
	if parsed.Error.Type != "Sender" || parsed.Error.Code != e.Code || parsed.Error.Message != e.Message || parsed.RequestID != "r1" {
		t.Errorf("error document %s", doc)
	}
}
