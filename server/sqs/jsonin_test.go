package sqs

import (
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/server/awsproto"
)

// fastInputs returns fresh zero values of every input with a fast decoder,
// twice (one for each decoder).
func fastInputs() [][2]jsonFast {
	return [][2]jsonFast{
		{&sendMessageInput{}, &sendMessageInput{}},
		{&sendMessageBatchInput{}, &sendMessageBatchInput{}},
		{&receiveMessageInput{}, &receiveMessageInput{}},
		{&deleteMessageInput{}, &deleteMessageInput{}},
		{&deleteMessageBatchInput{}, &deleteMessageBatchInput{}},
		{&changeMessageVisibilityInput{}, &changeMessageVisibilityInput{}},
		{&changeMessageVisibilityBatchInput{}, &changeMessageVisibilityBatchInput{}},
	}
}

// checkFastMatchesJSON decodes body with the fast decoders and, wherever
// one succeeds, checks that encoding/json (awsproto.DecodeJSON) succeeds
// too with an identical result.
func checkFastMatchesJSON(t *testing.T, body []byte) (accepted int) {
	t.Helper()
	for _, pair := range fastInputs() {
		fast, slow := pair[0], pair[1]
		hold, ok := decodeFastJSON(body, fast)
		defer hold.release()
		if !ok {
			continue
		}
		accepted++
		if err := awsproto.DecodeJSON(body, slow); err != nil {
			t.Fatalf("%T: fast decoder accepted %q, encoding/json refused it: %v", fast, body, err)
		}
		checkBodyASCII(t, fast)
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%T of %q:\nfast %+v\njson %+v", fast, body, fast, slow)
		}
	}
	return accepted
}

// checkBodyASCII checks what the fast decoder's bodyASCII promises (the
// body passes validateBody, which is then skipped) and clears it, the one
// field encoding/json does not set.
func checkBodyASCII(t *testing.T, in jsonFast) {
	t.Helper()
	var sends []*sendMessageInput
	switch in := in.(type) {
	case *sendMessageInput:
		sends = append(sends, in)
	case *sendMessageBatchInput:
		for i := range in.Entries {
			sends = append(sends, &in.Entries[i].sendMessageInput)
		}
	}
	for _, m := range sends {
		if m.bodyASCII {
			if err := validateBody(m.MessageBody); err != nil && m.MessageBody != "" {
				t.Fatalf("bodyASCII set for body %q, which validateBody refuses: %v", m.MessageBody, err)
			}
			m.bodyASCII = false
		}
	}
}

var fastJSONSeeds = []string{
	`{"QueueUrl":"http://localhost:4566/000000000000/q","MessageBody":"hi","DelaySeconds":5,"MessageAttributes":{"a":{"DataType":"Binary","BinaryValue":"AQI="},"s":{"DataType":"String","StringValue":"v","StringListValues":[]}},"MessageSystemAttributes":{"AWSTraceHeader":{"DataType":"String","StringValue":"Root=1"}}}`,
	`{"QueueUrl":"q","Entries":[{"Id":"a","MessageBody":"x","DelaySeconds":-5,"MessageGroupId":"g","MessageDeduplicationId":"d"},{"Id":"b","MessageBody":"{\"json\":\"in json\"}\n\u00e9\ud83d\ude00"}]}`,
	`{"QueueUrl":"q","MaxNumberOfMessages":10,"VisibilityTimeout":0,"WaitTimeSeconds":20,"AttributeNames":["All"],"MessageSystemAttributeNames":["SenderId"],"MessageAttributeNames":["a.*"],"ReceiveRequestAttemptId":"x"}`,
	`{"QueueUrl":"q","ReceiptHandle":"AAAA","VisibilityTimeout":30}`,
	`{"QueueUrl":"q","Entries":[{"Id":"a","ReceiptHandle":"AAAA","VisibilityTimeout":1},{"Id":"b","ReceiptHandle":"BBBB"}]}`,
	`  {"QueueUrl" : "q" , "Unknown": {"x":[1,2.5e3,true,false,"s"]}, "MessageBody":"\ud800 lone"}  `,
	`{"queueurl":"q"}`,
	`{"QueueUrl":"q","QueueUrl":"r"}`,
	`{"MessageBody":null}`,
	`{"DelaySeconds":1.0}`,
	`{"DelaySeconds":"1"}`,
	`{"MessageBody":"bad \x01 control"}`,
	"{\"MessageBody\":\"invalid utf8 \xff\xfe\"}",
	`{"MessageAttributes":{"a":{"DataType":"Binary","BinaryValue":"not base64!"}}}`,
	`{"MessageAttributes":{"a":{"DataType":"String"},"a":{"StringValue":"second"}}}`,
	`{"Entries":[{"Id":"a"}]} trailing`,
	`[]`,
	``,
	`{"MaxNumberOfMessages":012}`,
	`{"MaxNumberOfMessages":-0}`,
	`{"MaxNumberOfMessages":99999999999999999999}`,
	// fastjson reads these more leniently than encoding/json.
	`{"MessageBody":"unknown \q escape"}`,
	`{"MessageBody":"lone \udc00\u0041 low"}`,
	`{"MessageBody":"high \ud800\u0041 then letter"}`,
	`{"MessageBody":"short \u00"}`,
	"{\"MessageBody\":\"raw\ttab\"}",
	"{\"MessageBody\":\"escaped\\ttab\",\n\"QueueUrl\":\"q\"}",
	`{"MessageBody":"escaped\ttab and \\ backslash"}`,
	`{"MaxNumberOfMessages":+1}`,
	`{"MaxNumberOfMessages":1-2}`,
	`{"MaxNumberOfMessages":nan}`,
	`{"QueueUrl":"q",}`,
	`{"Queue\u0055rl":"q"}`,
	"{\"MessageAttributes\":{\"a\\u0001\":{\"DataType\":\"String\",\"StringValue\":\"v\"}}}",
	"{\"MessageAttributes\":{\"a\x01\":{\"DataType\":\"String\",\"StringValue\":\"v\"}}}",
	`{"MessageBody":"\ufffd"}`,
}

// TestFastJSONMatchesEncodingJSON runs the differential check over seeds
// covering canonical requests, escapes, invalid UTF-8, and the inputs the
// fast path must refuse (case-folded or unknown keys, duplicates, nulls,
// type mismatches, syntax errors, and what fastjson reads more leniently
// than encoding/json: unknown escapes, lone surrogates, raw control
// characters, loose numbers), and checks that the canonical ones do take
// the fast path.
func TestFastJSONMatchesEncodingJSON(t *testing.T) {
	for i, seed := range fastJSONSeeds {
		n := checkFastMatchesJSON(t, []byte(seed))
		if i < 5 && n == 0 {
			t.Errorf("canonical seed %d took no fast path: %s", i, seed)
		}
	}
	if n := checkFastMatchesJSON(t, []byte(strings.Replace(fastJSONSeeds[0], `"hi"`, `"`+strings.Repeat("x", 1<<16)+`"`, 1))); n == 0 {
		t.Errorf("large body took no fast path")
	}
}

// FuzzFastJSONMatchesEncodingJSON: whatever the fast decoders accept,
// encoding/json accepts with the same result.
func FuzzFastJSONMatchesEncodingJSON(f *testing.F) {
	for _, seed := range fastJSONSeeds {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkFastMatchesJSON(t, body)
	})
}

// TestPlainPrefix puts one byte of interest at every position of a plain
// buffer: the prefix must stop at or before it, at most 7 bytes before
// (the word that holds it), and cover everything when there is none.
func TestPlainPrefix(t *testing.T) {
	for _, special := range []byte{'\\', 0x1f, '\n', 0x80, 0xff, 0} {
		for size := 0; size <= 100; size++ {
			for pos := 0; pos <= size; pos++ {
				b := []byte(strings.Repeat("x", size))
				if pos < size {
					b[pos] = special
				}
				n := plainPrefix(b)
				if pos == size {
					if n != size&^7 {
						t.Fatalf("plain %d bytes: prefix %d", size, n)
					}
					continue
				}
				if n > pos || n < pos&^7 {
					t.Fatalf("%#x at %d of %d: prefix %d", special, pos, size, n)
				}
			}
		}
	}
}
