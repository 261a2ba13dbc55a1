package kinesis

import (
	"bytes"
	"encoding/base64"
	"sync"
	"unicode/utf8"

	"github.com/sluice-dev/sluice/engine"
)

// PutRecords carries up to 500 records and 10 MiB of base64 data; with
// encoding/json, decoding it was ~80% of the server's CPU per record
// (checkValid, unquoteBytes and utf8 walks over every base64 byte, then
// base64 again, plus two allocations per record). decodePutRecordsJSON is a
// fast path for the shape the SDKs send: it finds each Data string with
// bytes.IndexByte, base64-decodes it straight into one arena, and
// allocates a handful of times per request instead of per record.
//
// It never decides what encoding/json would reject or read differently:
// anything outside the plain shape (escapes, null, numbers, unknown or
// non-ASCII member names, duplicate Records, a control character, invalid
// UTF-8, trailing data, malformed base64) makes it return false, and the
// caller decodes the body with encoding/json, which then produces the
// canonical answer or SerializationException. FuzzPutRecordsJSON checks
// that both decoders agree on every input the fast path accepts.
//
// Why not a JSON library: the maintained fast ones (goccy/go-json,
// bytedance/sonic, json-iterator) still decode []byte through a generic
// string path and bring large dependencies (sonic needs amd64 JIT); the
// shape here is fixed and small, and the differential fuzz target pins
// the fallback semantics.

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
	s := jsonScanner{b: body}
	if !s.consume('{') {
		return false
	}
	if s.consume('}') {
		return s.atEnd()
	}
	// Decoded data never exceeds three quarters of the body, so one arena
	// holds every record's Data and no append reallocates it.
	if need := len(body) / 4 * 3; cap(sc.arena) < need {
		sc.arena = make([]byte, 0, need)
	}
	d := putRecordsDecoder{sc}
	for {
		name, ok := s.str()
		if !ok || !s.consume(':') {
			return false
		}
		switch memberName(name, "StreamName", "StreamARN", "StreamId", "Records") {
		case "StreamName":
			v, ok := s.str()
			if !ok {
				return false
			}
			in.StreamName = string(v)
		case "StreamARN":
			v, ok := s.str()
			if !ok {
				return false
			}
			in.StreamARN = string(v)
		case "StreamId":
			v, ok := s.str()
			if !ok {
				return false
			}
			in.StreamID = string(v)
		case "Records":
			if in.Records != nil || !d.records(&s, in) {
				return false
			}
		default:
			return false
		}
		if s.consume(',') {
			continue
		}
		return s.consume('}') && s.atEnd()
	}
}

// putRecordsDecoder decodes into a scratch.
type putRecordsDecoder struct {
	*putRecordsScratch
}

// records decodes the Records array.
func (d *putRecordsDecoder) records(s *jsonScanner, in *putRecordsInput) bool {
	if !s.consume('[') {
		return false
	}
	recs := d.entries[:0]
	if !s.consume(']') {
		for {
			if !s.consume('{') {
				return false
			}
			recs = append(recs, putRecordsEntry{})
			d.keyEnds = append(d.keyEnds, -1)
			if !d.entry(s, &recs[len(recs)-1]) {
				return false
			}
			if s.consume(',') {
				continue
			}
			if !s.consume(']') {
				return false
			}
			break
		}
	}
	// One string for all partition keys; each record's key is a slice of it.
	keys := string(d.keys)
	start := 0
	for i, end := range d.keyEnds {
		if end >= 0 {
			recs[i].PartitionKey = keys[start:end]
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

// entry decodes one record object after its '{'.
func (d *putRecordsDecoder) entry(s *jsonScanner, r *putRecordsEntry) bool {
	if s.consume('}') {
		return true
	}
	keyIndex := len(d.keyEnds) - 1
	for {
		name, ok := s.str()
		if !ok || !s.consume(':') {
			return false
		}
		switch memberName(name, "Data", "PartitionKey", "ExplicitHashKey") {
		case "Data":
			data, ok := d.data(s)
			if !ok {
				return false
			}
			r.Data = data
		case "PartitionKey":
			v, ok := s.str()
			if !ok || d.keyEnds[keyIndex] >= 0 {
				return false // a repeated key would need its bytes replaced
			}
			d.keys = append(d.keys, v...)
			d.keyEnds[keyIndex] = len(d.keys)
		case "ExplicitHashKey":
			v, ok := s.str()
			if !ok {
				return false
			}
			r.ExplicitHashKey = string(v)
		default:
			return false
		}
		if s.consume(',') {
			continue
		}
		return s.consume('}')
	}
}

// data decodes a base64 Data string into the arena.
func (d *putRecordsDecoder) data(s *jsonScanner) ([]byte, bool) {
	s.skipSpace()
	if s.pos >= len(s.b) || s.b[s.pos] != '"' {
		return nil, false
	}
	start := s.pos + 1
	n := bytes.IndexByte(s.b[start:], '"')
	if n < 0 {
		return nil, false
	}
	text := s.b[start : start+n]
	// A backslash means an escape, which encoding/json would unquote
	// first; base64 rejects every other character a JSON string may not
	// hold raw, except CR and LF, which it skips: the length check below
	// catches those (they make the text longer than its decoded size says).
	if len(text)%4 != 0 || bytes.IndexByte(text, '\\') >= 0 {
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
	s.pos = start + n + 1
	return out[:decoded:decoded], true
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

// jsonScanner walks a JSON body for decodePutRecordsJSON.
type jsonScanner struct {
	b   []byte
	pos int
}

func (s *jsonScanner) skipSpace() {
	for s.pos < len(s.b) {
		switch s.b[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// consume skips white space and then c, reporting whether c was there.
func (s *jsonScanner) consume(c byte) bool {
	s.skipSpace()
	if s.pos < len(s.b) && s.b[s.pos] == c {
		s.pos++
		return true
	}
	return false
}

// atEnd reports whether only white space is left.
func (s *jsonScanner) atEnd() bool {
	s.skipSpace()
	return s.pos == len(s.b)
}

// str reads a string without escapes or control characters that is valid
// UTF-8, returning its bytes (borrowed from the body).
func (s *jsonScanner) str() ([]byte, bool) {
	s.skipSpace()
	if s.pos >= len(s.b) || s.b[s.pos] != '"' {
		return nil, false
	}
	start := s.pos + 1
	ascii := true
	for i := start; i < len(s.b); i++ {
		switch c := s.b[i]; {
		case c == '"':
			text := s.b[start:i]
			if !ascii && !utf8.Valid(text) {
				return nil, false
			}
			s.pos = i + 1
			return text, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}
