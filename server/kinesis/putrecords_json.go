package kinesis

import (
	"bytes"
	"encoding/base64"
	"sync"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/sluice-dev/sluice/engine"
)

// PutRecords carries up to 500 records and 10 MiB of base64 data; with
// encoding/json, decoding it was ~80% of the server's CPU per record
// (checkValid, unquoteBytes and utf8 walks over every base64 byte, then
// base64 again, plus two allocations per record). decodePutRecordsJSON is a
// fast path: github.com/valyala/fastjson parses the body without
// reflection into a pooled parser's tree, each Data string is
// base64-decoded straight into one arena, and a request allocates a
// handful of times instead of per record.
//
// It never decides what encoding/json would reject or read differently.
// fastjson is more lenient (it keeps unknown escapes and lone surrogates
// as text, accepts raw control characters, never rejects invalid UTF-8),
// so strings are taken only when their decoded text proves both agree
// (plainText), and anything else outside the plain shape (null, numbers,
// unknown or non-ASCII member names, duplicate Records or PartitionKey,
// malformed base64, any syntax error) makes it return false; the caller
// then decodes the body with encoding/json, which produces the canonical
// answer or SerializationException. FuzzPutRecordsJSON checks that both
// decoders agree on every input the fast path accepts.

// putRecordsScratch is one PutRecords call's reusable memory: the decoded
// data of every record, the partition keys, the decoded entries and the
// engine records. It is pooled; the engine holds none of it after Put
// returns.
type putRecordsScratch struct {
	arena   []byte // decoded Data of every record
	keys    []byte // every PartitionKey, back to back
	keyEnds []int  // end offset in keys of record i's key, or -1 for none
	entries []putRecordsEntry
	records []engine.PutRecord
	parser  fastjson.Parser // holds a copy of the last body it parsed
	parsed  int             // length of the last body parsed
}

// putScratchKeepBytesMax bounds the arena a pooled scratch keeps: a
// PutRecords body is at most 16 MiB (server.MinRequestBodyBytes), whose
// data decodes to at most 12 MiB.
const putScratchKeepBytesMax = 12 << 20

var putScratchPool = sync.Pool{New: func() any { return new(putRecordsScratch) }}

func acquirePutScratch() *putRecordsScratch {
	return putScratchPool.Get().(*putRecordsScratch)
}

// release returns the scratch to the pool; nothing taken from it may be
// used afterwards.
func (sc *putRecordsScratch) release() {
	sc.reset()
	putScratchPool.Put(sc)
}

// reset empties the scratch for another request, keeping its memory.
func (sc *putRecordsScratch) reset() {
	if cap(sc.arena) > putScratchKeepBytesMax {
		sc.arena = nil
	}
	if sc.parsed > putScratchKeepBytesMax {
		sc.parser = fastjson.Parser{} // drop the copy of a large body
	}
	sc.parsed = 0
	// Drop the references into the keys string and the request.
	clear(sc.entries[:cap(sc.entries)])
	clear(sc.records[:cap(sc.records)])
	sc.arena, sc.keys, sc.keyEnds = sc.arena[:0], sc.keys[:0], sc.keyEnds[:0]
	sc.entries, sc.records = sc.entries[:0], sc.records[:0]
}

// decodePutRecordsJSON decodes a PutRecords JSON body into in, which must
// be zero, using sc's memory for the records and their data. It returns
// false, leaving in in an unspecified state, when the body is not in the
// plain shape; the caller then resets in and uses encoding/json.
func decodePutRecordsJSON(body []byte, in *putRecordsInput, sc *putRecordsScratch) bool {
	d := putRecordsDecoder{sc}
	return sc.visitBody(body, putRecordsMembers, func(name string, v *fastjson.Value) bool {
		if name == "Records" {
			return in.Records == nil && d.records(v, in)
		}
		return streamRefMember(&in.streamRef, name, v)
	})
}

// decodePutRecordJSON is decodePutRecordsJSON's fast path for PutRecord,
// with the same rules: it decodes body into in, which must be zero, with
// Data in sc's arena, or returns false (in unspecified) for anything
// outside the plain shape, and the caller uses encoding/json. With
// encoding/json PutRecord's decode was 7 % of the server's CPU per record
// in kinesis-efo-e2e (checkValid and unquoteBytes over the base64 text,
// then base64 again). FuzzPutRecordJSON checks that both agree.
func decodePutRecordJSON(body []byte, in *putRecordInput, sc *putRecordsScratch) bool {
	d := putRecordsDecoder{sc}
	return sc.visitBody(body, putRecordMembers, func(name string, v *fastjson.Value) bool {
		ok := false
		switch name {
		case "Data":
			// A repeated Data would decode into the arena twice; let
			// encoding/json take it.
			if in.Data == nil {
				in.Data, ok = d.data(v)
			}
		case "PartitionKey":
			in.PartitionKey.s, ok = stringValue(v)
			in.PartitionKey.set = ok
		case "ExplicitHashKey":
			in.ExplicitHashKey, ok = stringValue(v)
		case "SequenceNumberForOrdering":
			in.SequenceNumberForOrdering, ok = stringValue(v)
		default:
			ok = streamRefMember(&in.streamRef, name, v)
		}
		return ok
	})
}

// The member names each fast path takes (memberName matches them).
var (
	putRecordsMembers = []string{"StreamName", "StreamARN", "StreamId", "Records"}
	putRecordMembers  = []string{"StreamName", "StreamARN", "StreamId", "Data", "PartitionKey", "ExplicitHashKey", "SequenceNumberForOrdering"}
)

// visitBody parses body with sc's parser, sizes sc's arena for the Data
// the body can hold, and calls member for each member of the top-level
// object with its name among names ("" for any other name). It returns
// false when the body is not a JSON object or member returns false.
func (sc *putRecordsScratch) visitBody(body []byte, names []string, member func(name string, v *fastjson.Value) bool) bool {
	sc.parsed = len(body)
	v, err := sc.parser.ParseBytes(body)
	if err != nil {
		return false
	}
	o, err := v.Object()
	if err != nil {
		return false
	}
	// Decoded data never exceeds three quarters of the body, so one arena
	// holds every record's Data and no append reallocates it.
	if need := len(body) / 4 * 3; cap(sc.arena) < need {
		sc.arena = make([]byte, 0, need)
	}
	ok := true
	o.Visit(func(key []byte, v *fastjson.Value) {
		if ok {
			ok = member(memberName(key, names...), v)
		}
	})
	return ok
}

// streamRefMember decodes a stream-naming member; false for any other
// name ("" included) or a value outside the plain shape.
func streamRefMember(ref *streamRef, name string, v *fastjson.Value) bool {
	ok := false
	switch name {
	case "StreamName":
		ref.StreamName.s, ok = stringValue(v)
		ref.StreamName.set = ok
	case "StreamARN":
		ref.StreamARN.s, ok = stringValue(v)
		ref.StreamARN.set = ok
	case "StreamId":
		ref.StreamID, ok = stringValue(v)
	}
	return ok
}

// putRecordsDecoder decodes into a scratch.
type putRecordsDecoder struct {
	*putRecordsScratch
}

// records decodes the Records array.
func (d *putRecordsDecoder) records(v *fastjson.Value, in *putRecordsInput) bool {
	a, err := v.Array()
	if err != nil {
		return false
	}
	recs := d.entries[:0]
	for _, ev := range a {
		o, err := ev.Object()
		if err != nil {
			return false
		}
		recs = append(recs, putRecordsEntry{})
		d.keyEnds = append(d.keyEnds, -1)
		if !d.entry(o, &recs[len(recs)-1]) {
			return false
		}
	}
	// One string for all partition keys; each record's key is a slice of it.
	keys := string(d.keys)
	start := 0
	for i, end := range d.keyEnds {
		if end >= 0 {
			recs[i].PartitionKey = present(keys[start:end])
			start = end
		}
	}
	if recs == nil {
		recs = []putRecordsEntry{} // "Records":[] is present, not absent
	}
	d.entries = recs
	in.Records = recs
	return true
}

// entry decodes one record object.
func (d *putRecordsDecoder) entry(o *fastjson.Object, r *putRecordsEntry) bool {
	keyIndex := len(d.keyEnds) - 1
	ok := true
	o.Visit(func(key []byte, v *fastjson.Value) {
		if !ok {
			return
		}
		switch memberName(key, "Data", "PartitionKey", "ExplicitHashKey") {
		case "Data":
			r.Data, ok = d.data(v)
		case "PartitionKey":
			var text []byte
			text, ok = plainText(v)
			if !ok || d.keyEnds[keyIndex] >= 0 {
				ok = false // a repeated key would need its bytes replaced
				return
			}
			d.keys = append(d.keys, text...)
			d.keyEnds[keyIndex] = len(d.keys)
		case "ExplicitHashKey":
			r.ExplicitHashKey, ok = stringValue(v)
		default:
			ok = false
		}
	})
	return ok
}

// data decodes a base64 Data string into the arena.
func (d *putRecordsDecoder) data(v *fastjson.Value) ([]byte, bool) {
	if v.Type() != fastjson.TypeString {
		return nil, false
	}
	text, err := v.StringBytes()
	// base64 rejects every character whose decoding fastjson and
	// encoding/json could disagree on (a backslash fastjson kept from an
	// escape, control characters, non-ASCII), except CR and LF, which it
	// skips: the length check below catches those (they make the text
	// longer than its decoded size says).
	if err != nil || len(text)%4 != 0 {
		return nil, false
	}
	size := base64.StdEncoding.DecodedLen(len(text))
	at := len(d.arena)
	if cap(d.arena)-at < size {
		return nil, false
	}
	out := d.arena[at : at+size : at+size]
	decoded, err := decodeBase64(out, text)
	padding := 0
	if len(text) > 0 && text[len(text)-1] == '=' {
		padding++
		if text[len(text)-2] == '=' {
			padding++
		}
	}
	if err != nil || decoded != size-padding {
		return nil, false
	}
	d.arena = d.arena[:at+decoded]
	return out[:decoded:decoded], true
}

// stringValue returns a copy of the string v holds (see plainText).
func stringValue(v *fastjson.Value) (string, bool) {
	b, ok := plainText(v)
	return string(b), ok
}

// plainText returns the string v holds, or false unless fastjson's
// decoding of it is provably encoding/json's. fastjson leaves every escape
// encoding/json would reject or read differently (unknown escapes, bad or
// lone surrogates) as text with a backslash, or as U+FFFD for a high
// surrogate it paired with a non-surrogate; it copies raw control
// characters and invalid UTF-8, which encoding/json rejects or replaces.
// Decoded text with none of those is read the same by both.
func plainText(v *fastjson.Value) ([]byte, bool) {
	if v.Type() != fastjson.TypeString {
		return nil, false
	}
	b, err := v.StringBytes()
	if err != nil {
		return nil, false
	}
	ascii := true
	for _, c := range b {
		switch {
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	if !ascii && (!utf8.Valid(b) || bytes.Contains(b, []byte("\uFFFD"))) {
		return nil, false
	}
	return b, true
}

// memberName returns the name among names that raw matches exactly or,
// for ASCII raw, case-insensitively (encoding/json's rule for ASCII
// names); "" otherwise.
func memberName(raw []byte, names ...string) string {
	for _, name := range names {
		if string(raw) == name {
			return name
		}
	}
	for _, c := range raw {
		if c >= utf8.RuneSelf {
			return "" // encoding/json folds some non-ASCII letters: let it decide
		}
	}
	for _, name := range names {
		if asciiEqualFold(raw, name) {
			return name
		}
	}
	return ""
}

func asciiEqualFold(raw []byte, name string) bool {
	if len(raw) != len(name) {
		return false
	}
	for i := range len(raw) {
		a, b := raw[i], name[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}
