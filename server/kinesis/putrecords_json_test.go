package kinesis

import (
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/server/awsproto"
)

// checkFastDecoder decodes body with a fast path and with encoding/json
// (awsproto.DecodeJSON): when the fast path accepts the body, both must
// succeed with identical results (nil and empty slices differ). It
// returns whether the fast path accepted.
func checkFastDecoder[T any](t *testing.T, body []byte, fast func([]byte, *T, *putRecordsScratch) bool) bool {
	t.Helper()
	var got, want T
	scratch := acquirePutScratch()
	defer scratch.release()
	if !fast(body, &got, scratch) {
		return false
	}
	if err := awsproto.DecodeJSON(body, &want); err != nil {
		t.Fatalf("fast path accepted %q, encoding/json rejects it: %v", body, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoders disagree on %q:\nfast %#v\njson %#v", body, got, want)
	}
	return true
}

func checkPutRecordsDecoders(t *testing.T, body []byte) bool {
	t.Helper()
	return checkFastDecoder(t, body, decodePutRecordsJSON)
}

func checkPutRecordDecoders(t *testing.T, body []byte) bool {
	t.Helper()
	return checkFastDecoder(t, body, decodePutRecordJSON)
}

// TestDecodePutRecordsJSON checks which bodies take the fast path and
// that it decodes them exactly as encoding/json does; everything unusual
// must fall back to encoding/json.
func TestDecodePutRecordsJSON(t *testing.T) {
	cases := []struct {
		name string
		body string
		fast bool
	}{
		{"sdk shape", `{"Records":[{"Data":"aGVsbG8=","PartitionKey":"pk"},{"Data":"AA==","PartitionKey":"k2","ExplicitHashKey":"7"}],"StreamName":"s"}`, true},
		{"white space", " \n{ \"StreamName\" : \"s\" ,\t\"Records\" : [ { \"Data\" : \"\" , \"PartitionKey\" : \"p\" } ] }\r\n", true},
		{"empty object", `{}`, true},
		{"empty records", `{"StreamARN":"arn","Records":[]}`, true},
		{"empty record", `{"Records":[{}]}`, true},
		{"no padding needed", `{"Records":[{"Data":"YWJj","PartitionKey":"p"}]}`, true},
		{"case-insensitive names", `{"streamname":"s","RECORDS":[{"data":"AA==","partitionKEY":"p"}]}`, true},
		{"duplicate scalar, last wins", `{"StreamName":"a","StreamName":"b","Records":[{"Data":"AA==","Data":"AQ==","PartitionKey":"p"}]}`, true},
		{"utf-8 key", `{"Records":[{"Data":"AA==","PartitionKey":"ключ-🔑"}]}`, true},
		{"stream id", `{"StreamId":"id","Records":[]}`, true},
		{"escape in key", `{"Records":[{"Data":"AA==","PartitionKey":"a\u0041"}]}`, true},
		{"escape in data", `{"Records":[{"Data":"AA\u003d=","PartitionKey":"p"}]}`, true},
		{"escaped slash in data", `{"Records":[{"Data":"a\/8=","PartitionKey":"p"}]}`, true},
		{"escaped member name", `{"Stream\u004eame":"s"}`, true},
		{"escaped newline in key", `{"Records":[{"Data":"AA==","PartitionKey":"a\nb"}]}`, false},
		{"unknown escape", `{"StreamName":"a\qb"}`, false},
		{"lone surrogate", `{"StreamName":"a\ud800b"}`, false},
		{"high surrogate then letter", `{"StreamName":"\ud800\u0041"}`, false},
		{"replacement character", `{"StreamName":"\ufffd"}`, false},
		{"escaped backslash", `{"StreamName":"a\\b"}`, false},
		{"newline in data", "{\"Records\":[{\"Data\":\"AA\r\nAA==\",\"PartitionKey\":\"p\"}]}", false},
		{"bad base64", `{"Records":[{"Data":"!!!!","PartitionKey":"p"}]}`, false},
		{"unpadded base64", `{"Records":[{"Data":"AA","PartitionKey":"p"}]}`, false},
		{"invalid utf-8 key", "{\"Records\":[{\"Data\":\"AA==\",\"PartitionKey\":\"\xff\"}]}", false},
		{"control character", "{\"StreamName\":\"a\tb\"}", false},
		{"null data", `{"Records":[{"Data":null,"PartitionKey":"p"}]}`, false},
		{"null records", `{"Records":null}`, false},
		{"unknown member", `{"StreamName":"s","Extra":1}`, false},
		{"non-ascii member", `{"ſtreamName":"s"}`, false},
		{"duplicate records", `{"Records":[],"Records":[]}`, false},
		{"duplicate partition key", `{"Records":[{"PartitionKey":"a","PartitionKey":"b"}]}`, false},
		{"trailing data", `{"StreamName":"s"}x`, false},
		{"trailing comma", `{"StreamName":"s",}`, false},
		{"nan", `{"Records":[{"Data":nan}]}`, false},
		{"loose number", `{"StreamName":1-2}`, false},
		{"number", `{"StreamName":5}`, false},
		{"truncated", `{"Records":[{"Data":"AA==`, false},
		{"array", `[]`, false},
		{"empty", ``, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkPutRecordsDecoders(t, []byte(tc.body)); got != tc.fast {
				t.Fatalf("fast path took it: %v, want %v", got, tc.fast)
			}
		})
	}
	// A full-size request: 500 records of 1 KiB.
	var b strings.Builder
	b.WriteString(`{"StreamName":"s","Records":[`)
	for i := range 500 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"Data":"` + strings.Repeat("QUJD", 341) + `AA==","PartitionKey":"key-` + itoa(i) + `"}`)
	}
	b.WriteString(`]}`)
	if !checkPutRecordsDecoders(t, []byte(b.String())) {
		t.Fatal("500-record request fell back")
	}
}

// FuzzPutRecordsJSON is a differential fuzz target: whenever the fast
// PutRecords decoder accepts a body, encoding/json must accept it too and
// decode exactly the same input.
func FuzzPutRecordsJSON(f *testing.F) {
	for _, seed := range []string{
		`{"StreamName":"s","Records":[{"Data":"aGVsbG8=","PartitionKey":"pk","ExplicitHashKey":"1"}]}`,
		`{"streamARN":"a","records":[{},{"data":""}]}`,
		" {\"Records\" : [ ] } ",
		`{"Records":[{"Data":"AA==","PartitionKey":"ключ"}]}`,
		`{"StreamName":"a\qb\ud800\ud800\u0041","Records":[{"Data":"a\/8=","PartitionKey":"\u00e9\t"}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkPutRecordsDecoders(t, body)
	})
}

// TestDecodePutRecordsJSONAllocs asserts the fast path's cost: with a
// pooled scratch, a 500-record request allocates only the stream name and
// the one string holding every partition key, not per record.
func TestDecodePutRecordsJSONAllocs(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"StreamName":"s","Records":[`)
	for i := range 500 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"Data":"` + strings.Repeat("QUJD", 341) + `AA==","PartitionKey":"key-` + itoa(i) + `"}`)
	}
	b.WriteString(`]}`)
	body := []byte(b.String())
	// One scratch, reset between runs: sync.Pool drops items at random
	// under the race detector.
	scratch := new(putRecordsScratch)
	allocs := testing.AllocsPerRun(20, func() {
		var in putRecordsInput
		if !decodePutRecordsJSON(body, &in, scratch) || len(in.Records) != 500 {
			t.Fatal("fast path refused the request")
		}
		scratch.reset()
	})
	if allocs > 2 {
		t.Fatalf("%v allocations per 500-record request, want at most 2", allocs)
	}
}

// TestDecodePutRecordJSON checks which PutRecord bodies take the fast
// path and that it decodes them exactly as encoding/json does.
func TestDecodePutRecordJSON(t *testing.T) {
	cases := []struct {
		name string
		body string
		fast bool
	}{
		{"sdk shape", `{"Data":"aGVsbG8=","PartitionKey":"pk","StreamName":"s"}`, true},
		{"every member", `{"StreamARN":"arn","StreamId":"id","Data":"AA==","PartitionKey":"p","ExplicitHashKey":"7","SequenceNumberForOrdering":"49"}`, true},
		{"case-insensitive names", `{"streamname":"s","DATA":"AA==","partitionkey":"p"}`, true},
		{"empty data", `{"StreamName":"s","Data":"","PartitionKey":"p"}`, true},
		{"empty object", `{}`, true},
		{"duplicate key, last wins", `{"PartitionKey":"a","PartitionKey":"b","Data":"AA=="}`, true},
		{"utf-8 key", `{"Data":"AA==","PartitionKey":"ключ-🔑"}`, true},
		{"escape in data", `{"Data":"AA\u003d=","PartitionKey":"p"}`, true},
		{"duplicate data", `{"Data":"AA==","Data":"AQ==","PartitionKey":"p"}`, false},
		{"null data", `{"Data":null,"PartitionKey":"p"}`, false},
		{"bad base64", `{"Data":"!!!!","PartitionKey":"p"}`, false},
		{"unpadded base64", `{"Data":"AA","PartitionKey":"p"}`, false},
		{"newline in data", "{\"Data\":\"AA\r\nAA==\",\"PartitionKey\":\"p\"}", false},
		{"lone surrogate in key", `{"Data":"AA==","PartitionKey":"a\ud800"}`, false},
		{"invalid utf-8 key", "{\"Data\":\"AA==\",\"PartitionKey\":\"\xff\"}", false},
		{"number", `{"ExplicitHashKey":7}`, false},
		{"unknown member", `{"Data":"AA==","Records":[]}`, false},
		{"trailing data", `{"Data":"AA=="}x`, false},
		{"array", `[]`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkPutRecordDecoders(t, []byte(tc.body)); got != tc.fast {
				t.Fatalf("fast path took it: %v, want %v", got, tc.fast)
			}
		})
	}
	big := []byte(`{"StreamName":"s","Data":"` + strings.Repeat("QUJD", 341) + `AA==","PartitionKey":"key"}`)
	if !checkPutRecordDecoders(t, big) {
		t.Fatal("1 KiB record fell back")
	}
}

// FuzzPutRecordJSON: whenever the fast PutRecord decoder accepts a body,
// encoding/json must accept it too and decode exactly the same input.
func FuzzPutRecordJSON(f *testing.F) {
	for _, seed := range []string{
		`{"StreamName":"s","Data":"aGVsbG8=","PartitionKey":"pk","ExplicitHashKey":"1","SequenceNumberForOrdering":"2"}`,
		`{"streamARN":"a","data":""}`,
		`{"Data":"a\/8=","PartitionKey":"\u00e9\t","StreamName":"a\qb"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkPutRecordDecoders(t, body)
	})
}
