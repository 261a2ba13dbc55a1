package awsproto

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
)

type jsonInput struct {
	QueueUrl            string
	MaxNumberOfMessages *int
	Attributes          map[string]string
	Data                []byte
	Entries             []struct{ Id string }
}

// TestDecodeJSON checks that request bodies decode like AWS JSON services
// decode them and that every failure is a SerializationException whose
// message names no Go type.
func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name, body string
		ok         bool
	}{
		{"empty body is an empty object", "", true},
		{"whitespace", " \n", true},
		{"object", `{"QueueUrl":"u","MaxNumberOfMessages":3,"Attributes":{"a":"b"},"Data":"AAE=","Entries":[{"Id":"1"}]}`, true},
		{"unknown members ignored", `{"Nope":1,"QueueUrl":"u"}`, true},
		{"array top level", `[]`, false},
		{"null top level", `null`, false},
		{"string top level", `"x"`, false},
		{"type mismatch", `{"MaxNumberOfMessages":"3"}`, false},
		{"bad base64 blob", `{"Data":"%%%"}`, false},
		{"trailing data", `{}{}`, false},
		{"truncated", `{"QueueUrl":`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var in jsonInput
			err := DecodeJSON([]byte(tt.body), &in)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCode(t, err, "SerializationException")
			if strings.Contains(err.Error(), "jsonInput") || strings.Contains(err.Error(), "json:") {
				t.Fatalf("message leaks Go internals: %v", err)
			}
		})
	}
}

// TestDecodeJSONTypeMessages checks the type-mismatch texts AWS is known
// to send (awsTypeMessage). Before, every mismatch read "Unexpected value
// type string for field MaxNumberOfMessages.", where SQS answers
// "STRING_VALUE can not be converted to an Integer".
func TestDecodeJSONTypeMessages(t *testing.T) {
	type input struct {
		Count   *int32
		Limit   int64
		Name    string
		Entries []struct{ Id string }
		Attrs   map[string]string
	}
	for _, tt := range []struct{ body, want string }{
		{`{"Count":"3"}`, "STRING_VALUE can not be converted to an Integer"},
		{`{"Limit":"3"}`, "STRING_VALUE can not be converted to a Long"},
		{`{"Name":[1]}`, "Start of list found where not expected"},
		{`{"Name":{"a":1}}`, "Start of structure or map found where not expected."},
		{`{"Count":[]}`, "Start of list found where not expected"},
		{`{"Name":3}`, "Unexpected value type number for field Name."},
		{`{"Entries":"x"}`, "Unexpected value type string for field Entries."},
	} {
		var in input
		err := DecodeJSON([]byte(tt.body), &in)
		var e *Error
		if !errors.As(err, &e) || e.Code != "SerializationException" || e.Message != tt.want {
			t.Errorf("%s: %v, want SerializationException %q", tt.body, err, tt.want)
		}
	}
}

// FuzzDecodeJSON checks that no body panics the decoder and that every
// rejection is a SerializationException.
func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(`{"QueueUrl":"u"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var in jsonInput
		if err := DecodeJSON(body, &in); err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != "SerializationException" {
				t.Fatalf("unexpected error %v", err)
			}
		}
		var cin jsonInput
		if err := DecodeCBOR(body, &cin); err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != "SerializationException" {
				t.Fatalf("unexpected CBOR error %v", err)
			}
		}
	})
}

// TestAppendJSONString checks the hand-written string encoder against
// encoding/json's decoder, including control and invalid UTF-8 bytes.
func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote\back`, "ctl\x00\x1f\n\r\t", "☃😀", "bad\xffutf8", "<html>&"} {
		b := AppendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%q encodes to invalid JSON %s: %v", s, b, err)
		}
		want := strings.ToValidUTF8(s, "\uFFFD")
		if back != want {
			t.Fatalf("round trip %q -> %q", s, back)
		}
	}
	if got := string(AppendJSONString(nil, "<&>")); got != `"<&>"` {
		t.Fatalf("HTML characters escaped: %s", got)
	}
}

// TestJSONErrorShapes checks the JSON and CBOR error bodies and the
// x-amzn-query-error value byte for byte.
func TestJSONErrorShapes(t *testing.T) {
	e := &Error{Code: "AWS.SimpleQueueService.NonExistentQueue", JSONType: "com.amazonaws.sqs#QueueDoesNotExist",
		Message: `The specified queue does not exist "q".`, Sender: true}
	if got, want := string(AppendJSONError(nil, e)), `{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist \"q\"."}`; got != want {
		t.Fatalf("JSON error = %s, want %s", got, want)
	}
	if got := QueryErrorHeaderValue(e); got != "AWS.SimpleQueueService.NonExistentQueue;Sender" {
		t.Fatalf("query error header = %s", got)
	}
	if got := QueryErrorHeaderValue(ErrInternalFailure); got != "InternalFailure;Receiver" {
		t.Fatalf("query error header = %s", got)
	}
	long := &Error{Code: "ResourceNotFoundException", Message: strings.Repeat("m", 300) + "\xff"}
	var decoded map[string]string
	if err := cbor.Unmarshal(AppendCBORError(nil, long), &decoded); err != nil {
		t.Fatal(err)
	}
	if decoded["__type"] != "ResourceNotFoundException" || decoded["message"] != strings.Repeat("m", 300)+"\uFFFD" {
		t.Fatalf("CBOR error decoded to %q", decoded)
	}
}

// TestMarshal checks output encoding: no HTML escaping or trailing newline
// in JSON, base64 blobs, and tagged epoch timestamps in CBOR.
func TestMarshal(t *testing.T) {
	out := struct {
		S string
		B []byte
	}{"<a&b>", []byte{0, 1}}
	b, err := MarshalJSON(out)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"S":"<a&b>","B":"AAE="}`; got != want {
		t.Fatalf("MarshalJSON = %s, want %s", got, want)
	}
	ts := time.Unix(1700000000, 0)
	c, err := MarshalCBOR(struct{ T time.Time }{ts})
	if err != nil {
		t.Fatal(err)
	}
	var back struct{ T time.Time }
	if err := cbor.Unmarshal(c, &back); err != nil || !back.T.Equal(ts) {
		t.Fatalf("CBOR time round trip = %v, %v", back.T, err)
	}
	if !strings.Contains(string(c), "\xc1") { // tag 1: epoch-based date/time
		t.Fatalf("CBOR timestamp not tagged: %x", c)
	}
}

// TestErrorRendering checks the *Error helpers every renderer relies on.
func TestErrorRendering(t *testing.T) {
	if ErrInvalidAction.Status() != 400 || ErrInternalFailure.Status() != 500 || ErrRequestEntityTooLarge.Status() != 413 {
		t.Fatal("default statuses wrong")
	}
	if (&Error{Sender: true}).Status() != 400 || (&Error{}).Status() != 500 {
		t.Fatal("fault-derived statuses wrong")
	}
	c := ErrInvalidAction.WithMessage("m")
	if c == ErrInvalidAction || c.Message != "m" || ErrInvalidAction.Message == "m" {
		t.Fatal("WithMessage must copy")
	}
	wrapped := errors.Join(errors.New("ctx"), c)
	if e, ok := AsError(wrapped); !ok || e != c {
		t.Fatal("AsError must unwrap")
	}
	if e, ok := AsError(errors.New("disk on fire")); ok || e != ErrInternalFailure {
		t.Fatal("plain errors must become InternalFailure")
	}
	if (&Error{Code: "C"}).TypeName() != "C" || (&Error{Code: "C", JSONType: "T"}).TypeName() != "T" {
		t.Fatal("TypeName")
	}
}

// FuzzAppendJSONString checks the hand-written string encoder (word-at-a-
// time fast path included) against encoding/json: every input encodes to
// valid JSON that decodes back to the input with invalid UTF-8 replaced.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain text, plain text!", `0123456"89`, "01234567\\", "abcdefg\x1fhij", "abcdefgh\xff", "☃😀 01234567"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := AppendJSONString([]byte("x"), s)
		if b[0] != 'x' {
			t.Fatalf("prefix lost: %q", b)
		}
		var back string
		if err := json.Unmarshal(b[1:], &back); err != nil {
			t.Fatalf("%q encodes to invalid JSON %s: %v", s, b[1:], err)
		}
		if want := strings.ToValidUTF8(s, "\uFFFD"); back != want && !invalidRuns(s) {
			t.Fatalf("round trip %q -> %q", s, back)
		}
	})
}

// invalidRuns reports whether s has adjacent invalid UTF-8 bytes, which
// AppendJSONString replaces one by one while strings.ToValidUTF8 replaces
// a run with a single U+FFFD.
func invalidRuns(s string) bool {
	prevBad := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		bad := r == utf8.RuneError && size == 1
		if bad && prevBad {
			return true
		}
		prevBad = bad
		i += size
	}
	return false
}

// TestPlainASCII8 checks the word-at-a-time predicate against the byte
// rule for every byte value at every position of the word.
func TestPlainASCII8(t *testing.T) {
	base := []byte("abcdefgh")
	for pos := range 8 {
		for c := range 256 {
			w := append([]byte(nil), base...)
			w[pos] = byte(c)
			want := c >= 0x20 && c != '"' && c != '\\' && c < 0x80
			if got := plainASCII8(string(w)); got != want {
				t.Fatalf("byte %#x at %d: plainASCII8 = %v, want %v", c, pos, got, want)
			}
		}
	}
}

func BenchmarkAppendJSONString(b *testing.B) {
	body := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 23)[:1024]
	b.SetBytes(int64(len(body)))
	var dst []byte
	for b.Loop() {
		dst = AppendJSONString(dst[:0], body)
	}
}
