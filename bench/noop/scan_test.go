package noop

import (
	"encoding/json"
	"slices"
	"testing"
)

// TestScanStrings checks the payload scan against hand-written documents:
// values in order, escapes decoded, and a refusal (so the caller falls
// back to encoding/json) for anything that is not a compact string member.
func TestScanStrings(t *testing.T) {
	tests := []struct {
		doc  string
		key  string
		want []string
		ok   bool
	}{
		{`{"Entries":[{"Id":"a","MessageBody":"x"},{"Id":"b","MessageBody":"y z"}]}`, "MessageBody", []string{"x", "y z"}, true},
		{`{"Entries":[{"Id":"a","MessageBody":"x"},{"Id":"b","MessageBody":"y"}]}`, "Id", []string{"a", "b"}, true},
		{`{"MessageBody":"say \"hi\" \\ \u00e9"}`, "MessageBody", []string{`say "hi" \ é`}, true},
		{`{"MessageBody":"\"MessageBody\":\"inner\""}`, "MessageBody", []string{`"MessageBody":"inner"`}, true},
		{`{"StreamName":"s"}`, "PartitionKey", nil, true},
		{`{"MessageBody": "spaced"}`, "MessageBody", nil, false},
		{`{"Id":{"DataType":"String"},"Id":"x"}`, "Id", nil, false},
		{`{"MessageBody":"unterminated`, "MessageBody", nil, false},
		{`{"MessageBody":"bad \q escape"}`, "MessageBody", nil, false},
	}
	for _, tt := range tests {
		got, ok := scanStrings([]byte(tt.doc), tt.key)
		if ok != tt.ok || (ok && !slices.Equal(got, tt.want)) {
			t.Errorf("scanStrings(%s, %q) = %q, %v; want %q, %v", tt.doc, tt.key, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzScanStrings checks that the scan never panics on arbitrary input and
// that, on documents encoding/json writes (compact, with escapes), it
// finds exactly the values that were encoded.
func FuzzScanStrings(f *testing.F) {
	f.Add("a", "body", []byte(`{"Id":"x"}`))
	f.Add("<&>", "quote\" backslash\\ tab\t é \u2028", []byte(`{"Id":"\`))
	f.Fuzz(func(t *testing.T, id, body string, raw []byte) {
		_, _ = scanStrings(raw, "Id")
		type entry struct {
			ID          string `json:"Id"`
			MessageBody string `json:"MessageBody"`
		}
		doc, err := json.Marshal(struct {
			Entries  []entry
			QueueUrl string
		}{Entries: []entry{{id, body}, {body, id}}, QueueUrl: "q"})
		if err != nil {
			t.Fatal(err)
		}
		var want struct{ Entries []entry }
		if err := json.Unmarshal(doc, &want); err != nil {
			t.Fatal(err)
		}
		ids, ok := scanStrings(doc, "Id")
		if !ok || !slices.Equal(ids, []string{want.Entries[0].ID, want.Entries[1].ID}) {
			t.Fatalf("ids %q, %v from %s", ids, ok, doc)
		}
		bodies, ok := scanStrings(doc, "MessageBody")
		if !ok || !slices.Equal(bodies, []string{want.Entries[0].MessageBody, want.Entries[1].MessageBody}) {
			t.Fatalf("bodies %q, %v from %s", bodies, ok, doc)
		}
	})
}
