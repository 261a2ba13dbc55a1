package kinesis_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// cborDecoder decodes responses the way a CBOR client sees them: maps with
// string keys, tag 1 as time.Time.
var cborDecoder = func() cbor.DecMode {
	mode, err := cbor.DecOptions{
		DefaultMapType: reflect.TypeOf(map[string]any{}),
		IndefLength:    cbor.IndefLengthAllowed,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return mode
}()

// mustCBOR encodes v as a CBOR request body.
func mustCBOR(t *testing.T, v any) []byte {
	t.Helper()
	b, err := cbor.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// unmarshalCBOR decodes a CBOR response or event payload.
func unmarshalCBOR(b []byte, v any) error {
	return cborDecoder.Unmarshal(b, v)
}

// wireReply is one raw response, decoded generically.
type wireReply struct {
	status      int
	contentType string
	raw         []byte
	doc         map[string]any
}

// callJSON posts in (blobs as []byte, which encoding/json renders as
// base64) as an AWS JSON 1.1 request.
func callJSON(t *testing.T, e *env, op string, in map[string]any) wireReply {
	t.Helper()
	body, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	status, header, raw := rawCall(t, e, op, "application/x-amz-json-1.1", body)
	r := wireReply{status: status, contentType: header.Get("Content-Type"), raw: raw}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&r.doc); err != nil {
		t.Fatalf("%s: JSON response %q: %v", op, raw, err)
	}
	return r
}

// callCBOR posts in as an application/x-amz-cbor-1.1 request (blobs as
// byte strings), as the Java SDK and the KCL do.
func callCBOR(t *testing.T, e *env, op string, in map[string]any) wireReply {
	t.Helper()
	status, header, raw := rawCall(t, e, op, "application/x-amz-cbor-1.1", mustCBOR(t, in))
	r := wireReply{status: status, contentType: header.Get("Content-Type"), raw: raw}
	if err := unmarshalCBOR(raw, &r.doc); err != nil {
		t.Fatalf("%s: CBOR response %x: %v", op, raw, err)
	}
	return r
}

// opaque names members whose values legitimately differ between two
// calls (iterators are issued per call; two puts get two sequence
// numbers): compareWire only checks that both are non-empty strings of the
// same length.
type opaque map[string]bool

// compareWire compares a JSON answer with a CBOR answer member by member:
// the same members, strings equal, JSON base64 blobs equal to CBOR byte
// strings, JSON epoch seconds equal to CBOR tag-1 timestamps at
// millisecond precision, numbers equal.
func compareWire(t *testing.T, op string, j, c wireReply, skip opaque) {
	t.Helper()
	if j.status != c.status {
		t.Fatalf("%s: status JSON %d, CBOR %d", op, j.status, c.status)
	}
	if j.contentType != "application/x-amz-json-1.1" || c.contentType != "application/x-amz-cbor-1.1" {
		t.Fatalf("%s: content types %q, %q", op, j.contentType, c.contentType)
	}
	var diffs []string
	compareValue(op, "", j.doc, c.doc, skip, &diffs)
	if len(diffs) > 0 {
		t.Fatalf("%s: JSON and CBOR answers differ:\n%s\nJSON: %s\nCBOR: %x", op, strings.Join(diffs, "\n"), j.raw, c.raw)
	}
}

func compareValue(path, key string, j, c any, skip opaque, diffs *[]string) {
	fail := func(format string, args ...any) {
		*diffs = append(*diffs, path+": "+fmt.Sprintf(format, args...))
	}
	if skip[key] {
		js, ok1 := j.(string)
		cs, ok2 := c.(string)
		if !ok1 || !ok2 || js == "" || len(js) != len(cs) {
			fail("opaque member: JSON %#v, CBOR %#v", j, c)
		}
		return
	}
	switch jv := j.(type) {
	case map[string]any:
		cv, ok := c.(map[string]any)
		if !ok {
			fail("JSON object, CBOR %T", c)
			return
		}
		if jk, ck := sortedKeys(jv), sortedKeys(cv); !reflect.DeepEqual(jk, ck) {
			fail("members JSON %v, CBOR %v", jk, ck)
			return
		}
		for k := range jv {
			compareValue(path+"."+k, k, jv[k], cv[k], skip, diffs)
		}
	case []any:
		cv, ok := c.([]any)
		if !ok || len(cv) != len(jv) {
			fail("JSON array of %d, CBOR %#v", len(jv), c)
			return
		}
		for i := range jv {
			compareValue(fmt.Sprintf("%s[%d]", path, i), key, jv[i], cv[i], skip, diffs)
		}
	case string:
		switch cv := c.(type) {
		case string:
			if jv != cv {
				fail("JSON %q, CBOR %q", jv, cv)
			}
		case []byte: // blob
			if decoded, err := base64.StdEncoding.DecodeString(jv); err != nil || !bytes.Equal(decoded, cv) {
				fail("blob JSON %q, CBOR %q", jv, cv)
			}
		default:
			fail("JSON string %q, CBOR %T %v", jv, c, c)
		}
	case json.Number:
		switch cv := c.(type) {
		case time.Time:
			// Tag 1 holds epoch milliseconds as the Java SDK writes and
			// reads them (RFC 8949 says seconds), so fxamacker's time is
			// 1000 times too late and its Unix() is the milliseconds.
			ms := cv.Unix()
			seconds, ok := new(big.Rat).SetString(jv.String())
			if !ok || seconds.Mul(seconds, big.NewRat(1000, 1)).Cmp(big.NewRat(ms, 1)) != 0 {
				fail("timestamp JSON %s s, CBOR %d ms", jv, ms)
			}
		case uint64, int64:
			if jv.String() != fmt.Sprint(cv) {
				fail("JSON %s, CBOR %v", jv, cv)
			}
		default:
			fail("JSON number %s, CBOR %T %v", jv, c, c)
		}
	case bool:
		if c != jv {
			fail("JSON %v, CBOR %v", jv, c)
		}
	default:
		fail("unexpected JSON %T", j)
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestCBORMatchesJSON sends the data-plane calls the Java SDK and the KCL
// make in CBOR, raw (fxamacker/cbor, no SDK), next to the same calls in
// JSON, and compares the answers member by member: the encodings must
// carry the same information. Calls that read (DescribeStreamSummary,
// GetRecords) read the same state, so every member matches exactly except
// per-call iterators; for puts only the sequence numbers differ, and they
// increase.
func TestCBORMatchesJSON(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, name := range []string{"j", "c"} {
		in := map[string]any{"StreamName": name, "ShardCount": 2}
		var r wireReply
		if name == "c" {
			r = callCBOR(t, e, "CreateStream", in)
			if !bytes.Equal(r.raw, []byte{0xa0}) {
				t.Fatalf("CBOR CreateStream body %x, want an empty map", r.raw)
			}
		} else {
			r = callJSON(t, e, "CreateStream", in)
		}
		if r.status != 200 || len(r.doc) != 0 {
			t.Fatalf("CreateStream %s: %d %s", name, r.status, r.raw)
		}
	}
	both := func(op string, in map[string]any, skip opaque) (wireReply, wireReply) {
		t.Helper()
		j, c := callJSON(t, e, op, in), callCBOR(t, e, op, in)
		compareWire(t, op, j, c, skip)
		if j.status != 200 {
			t.Fatalf("%s: %d %s", op, j.status, j.raw)
		}
		return j, c
	}
	for _, name := range []string{"j", "c"} {
		both("DescribeStreamSummary", map[string]any{"StreamName": name}, nil)
	}

	seqs := opaque{"SequenceNumber": true}
	j, c := both("PutRecord", map[string]any{"StreamName": "j", "PartitionKey": "pk", "Data": []byte("hello\x00\xff")}, seqs)
	if j.doc["SequenceNumber"].(string) >= c.doc["SequenceNumber"].(string) {
		t.Fatalf("sequence numbers %s then %s", j.doc["SequenceNumber"], c.doc["SequenceNumber"])
	}
	records := []any{
		map[string]any{"PartitionKey": "pk", "Data": []byte("one")},
		map[string]any{"PartitionKey": "pk", "Data": []byte{}},
		map[string]any{"PartitionKey": "other", "ExplicitHashKey": "1", "Data": bytes.Repeat([]byte{0x80}, 3000)},
	}
	j, c = both("PutRecords", map[string]any{"StreamName": "j", "Records": records}, seqs)
	if n := j.doc["FailedRecordCount"]; n != json.Number("0") {
		t.Fatalf("failed records %v", n)
	}
	shard := j.doc["Records"].([]any)[0].(map[string]any)["ShardId"].(string)

	iterators := opaque{"ShardIterator": true, "NextShardIterator": true}
	j, c = both("GetShardIterator", map[string]any{"StreamName": "j", "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"}, iterators)
	jr, cr := both("GetRecords", map[string]any{"ShardIterator": j.doc["ShardIterator"]}, iterators)
	// The iterators are interchangeable: a CBOR-issued one reads the same
	// records over JSON.
	cross := callJSON(t, e, "GetRecords", map[string]any{"ShardIterator": c.doc["ShardIterator"]})
	compareWire(t, "GetRecords (CBOR iterator)", cross, cr, iterators)
	// Both PutRecord calls and both PutRecords batches (the explicit hash
	// key 1 routes to the first shard too) landed on the first shard.
	got := cr.doc["Records"].([]any)
	if len(got) != 8 || len(jr.doc["Records"].([]any)) != 8 {
		t.Fatalf("%d records, want 8", len(got))
	}
	for i, want := range []string{"hello\x00\xff", "hello\x00\xff", "one", "", strings.Repeat("\x80", 3000), "one"} {
		if data := got[i].(map[string]any)["Data"].([]byte); string(data) != want {
			t.Fatalf("record %d: %d bytes %q", i, len(data), data[:min(len(data), 16)])
		}
	}
}

// TestCBORErrors checks the error shape of CBOR requests against JSON: the
// same status and a map with the same "__type" and "message", for a
// missing resource, a validation failure, an unknown operation, and a body
// that does not decode (SerializationException; the messages of the two
// decoders differ, the type does not).
func TestCBORErrors(t *testing.T) {
	e := newEnv(t, envOptions{})
	createStream(t, e, "s", 1)
	cases := []struct {
		name, op string
		in       map[string]any
		code     string
	}{
		{"missing stream", "DescribeStreamSummary", map[string]any{"StreamName": "nope"}, "ResourceNotFoundException"},
		{"missing shard", "GetShardIterator", map[string]any{"StreamName": "s", "ShardId": "shardId-000000000009", "ShardIteratorType": "LATEST"}, "ResourceNotFoundException"},
		{"no partition key", "PutRecord", map[string]any{"StreamName": "s", "Data": []byte("x")}, "ValidationException"},
		{"bad iterator", "GetRecords", map[string]any{"ShardIterator": "AAAA"}, "InvalidArgumentException"},
		{"bad shard count", "CreateStream", map[string]any{"StreamName": "x", "ShardCount": 0}, "ValidationException"},
		{"unknown operation", "Nope", map[string]any{}, "UnknownOperationException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j, c := callJSON(t, e, tc.op, tc.in), callCBOR(t, e, tc.op, tc.in)
			compareWire(t, tc.op, j, c, nil)
			if j.status != 400 || j.doc["__type"] != tc.code || len(j.doc) != 2 || j.doc["message"] == "" {
				t.Fatalf("JSON error %d %s", j.status, j.raw)
			}
		})
	}
	// Undecodable bodies: a CBOR array where a map belongs, truncated CBOR,
	// a wrong member type, and JSON syntax errors.
	for _, body := range [][]byte{{0x80}, {0xbf, 0x6a}, mustCBOR(t, map[string]any{"StreamName": 7})} {
		status, header, raw := rawCall(t, e, "DescribeStreamSummary", "application/x-amz-cbor-1.1", body)
		var doc map[string]any
		if err := unmarshalCBOR(raw, &doc); err != nil || status != 400 || header.Get("Content-Type") != "application/x-amz-cbor-1.1" ||
			doc["__type"] != "SerializationException" || len(doc) != 2 {
			t.Fatalf("CBOR body %x: %d %x %v", body, status, raw, err)
		}
	}
	for _, body := range []string{"[", `{"StreamName":7}`, `{"StreamName":"s"`} {
		status, _, raw := rawCall(t, e, "DescribeStreamSummary", "application/x-amz-json-1.1", []byte(body))
		if status != 400 || !bytes.Contains(raw, []byte(`"__type":"SerializationException"`)) {
			t.Fatalf("JSON body %s: %d %s", body, status, raw)
		}
	}
}
