package sqs

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"strconv"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/sluice-dev/sluice/server"
	"github.com/sluice-dev/sluice/server/awsproto"
)

// Fast JSON decoding of the hot operations' inputs (SendMessage,
// SendMessageBatch, ReceiveMessage, DeleteMessage, DeleteMessageBatch,
// ChangeMessageVisibility[Batch]). encoding/json validates the whole body
// and then decodes it by reflection, which dominated the handlers' CPU, so
// these bodies are parsed with github.com/valyala/fastjson (no reflection,
// pooled parsers) and the tree is copied into the input structs.
//
// fastjson is more lenient than encoding/json (it keeps unknown escapes
// and lone surrogates as text, accepts raw control characters in strings,
// reads numbers loosely, and never rejects invalid UTF-8), and encoding/json
// matches member names case-insensitively. So the fast path accepts
// exactly the canonical shape SDKs send: exact member names, each member
// at most once, no unknown members, the model's types, no nulls, and
// strings whose decoded text proves that fastjson and encoding/json agree
// on it (see jsonDecoder.text). Anything else makes it give up, and the
// caller decodes the body again with encoding/json into a fresh struct, so
// every answer, result and error message is the one encoding/json gives;
// FuzzFastJSONMatchesEncodingJSON checks that both agree wherever the fast
// path succeeds.
//
// Strings are copied, except members the handler uses only while it runs
// and never hands to the engine for keeping (MessageBody, batch entry Id,
// ReceiptHandle): those borrow the parser's memory, which decodeHot's
// caller holds until the handler returns (jsonHold.release).

// jsonParsers holds fastjson parsers for reuse across requests.
var jsonParsers fastjson.ParserPool

// jsonFast is implemented by inputs with a fast decoder. decodeFast
// reports false when the caller must fall back to encoding/json.
type jsonFast interface {
	decodeFast(d *jsonDecoder, v *fastjson.Value) bool
}

// jsonHold holds a parser whose memory decoded inputs may borrow.
type jsonHold struct{ p *fastjson.Parser }

// release returns the parser to the pool; strings the input borrowed
// from it must not be used afterwards.
func (h jsonHold) release() {
	if h.p != nil {
		jsonParsers.Put(h.p)
	}
}

// decodeHot is decode for the inputs with a fast decoder: JSON bodies go
// through it first and fall back to encoding/json, from a zero value, when
// it gives up. The caller must release the hold once it no longer uses in.
func decodeHot[T any, P interface {
	*T
	formInput
	jsonFast
}](req *server.Request, in P) (jsonHold, error) {
	if req.Protocol == awsproto.ProtocolJSON {
		hold, ok := decodeFastJSON(req.Body, in)
		if ok {
			return hold, nil
		}
		hold.release()
		var zero T
		*in = zero
	}
	return jsonHold{}, decode(req, in)
}

// jsonDecoder checks the values of one parsed request body.
type jsonDecoder struct {
	body []byte
	// rawSpace caches whether body holds a raw tab, LF or CR: 0 unknown,
	// 1 no, 2 yes.
	rawSpace uint8
	num      []byte // scratch for a number's text
	// ascii is whether the last string text accepted is all ASCII: with
	// text's other conditions (no control character but tab, LF, CR), it
	// then holds only characters SQS accepts in a message body.
	ascii bool
}

// decodeFastJSON runs in's fast decoder over body; false means fall back.
// Release the hold (also on false) when done with in.
func decodeFastJSON(body []byte, in jsonFast) (jsonHold, bool) {
	if len(bytes.TrimLeft(body, " \t\r\n")) == 0 {
		return jsonHold{}, true // empty body: "{}"
	}
	hold := jsonHold{jsonParsers.Get()}
	v, err := hold.p.ParseBytes(body)
	if err != nil {
		return hold, false
	}
	d := jsonDecoder{body: body}
	return hold, in.decodeFast(&d, v)
}

// object calls member for each member of the object v in order; false if
// v is not an object or member returns false for any.
func object(v *fastjson.Value, member func(key []byte, v *fastjson.Value) bool) bool {
	o, err := v.Object()
	if err != nil {
		return false
	}
	ok := true
	o.Visit(func(key []byte, v *fastjson.Value) {
		ok = ok && member(key, v)
	})
	return ok
}

// text returns the string v holds, or false unless fastjson's decoding of
// it is provably encoding/json's. The decoded text settles it: fastjson
// leaves every escape encoding/json would reject or read differently
// (unknown escapes, bad or lone surrogates) as text starting with a
// backslash, or as U+FFFD for a high surrogate it paired with a
// non-surrogate; it copies raw control characters and invalid UTF-8, which
// escapes never produce. So text with no backslash, no U+FFFD, valid
// UTF-8, and no control characters but tab, LF and CR is decoded the same
// by both; those three are accepted only when the body holds none of them
// raw (then they came from escapes).
func (d *jsonDecoder) text(v *fastjson.Value) ([]byte, bool) {
	if v.Type() != fastjson.TypeString {
		return nil, false
	}
	b, err := v.StringBytes()
	if err != nil || !d.plain(b) {
		return nil, false
	}
	return b, true
}

// plain reports whether text decoded by fastjson is what encoding/json
// decodes from the same JSON string (see text).
func (d *jsonDecoder) plain(b []byte) bool {
	ascii, space := true, false
	for i := 0; i < len(b); i++ {
		i += plainPrefix(b[i:])
		if i >= len(b) {
			break
		}
		switch c := b[i]; {
		case c == '\\':
			return false
		case c == '\t' || c == '\n' || c == '\r':
			space = true
		case c < 0x20:
			return false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	if !ascii && (!utf8.Valid(b) || bytes.Contains(b, []byte("\uFFFD"))) {
		return false
	}
	d.ascii = ascii
	return !space || !d.hasRawSpace()
}

// hasRawSpace reports whether the body holds a raw tab, LF or CR.
func (d *jsonDecoder) hasRawSpace() bool {
	if d.rawSpace == 0 {
		d.rawSpace = 1
		if bytes.IndexByte(d.body, '\n') >= 0 || bytes.IndexByte(d.body, '\r') >= 0 || bytes.IndexByte(d.body, '\t') >= 0 {
			d.rawSpace = 2
		}
	}
	return d.rawSpace == 2
}

// plainPrefix returns how many leading bytes of b need no attention:
// printable ASCII other than '\\'. It checks 32 bytes at a time, then
// eight (a word with any byte of interest is left to the caller).
func plainPrefix(b []byte) int {
	n := 0
	for n+32 <= len(b) {
		// Four independent words per round keep the CPU's ALUs busy.
		w := b[n : n+32]
		if specialBytes(binary.LittleEndian.Uint64(w))|specialBytes(binary.LittleEndian.Uint64(w[8:]))|
			specialBytes(binary.LittleEndian.Uint64(w[16:]))|specialBytes(binary.LittleEndian.Uint64(w[24:])) != 0 {
			break
		}
		n += 32
	}
	for n+8 <= len(b) {
		if specialBytes(binary.LittleEndian.Uint64(b[n:])) != 0 {
			break
		}
		n += 8
	}
	return n
}

// specialBytes is non-zero if any byte of the little-endian word w is not
// printable ASCII or is a backslash.
func specialBytes(w uint64) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	backslash := w ^ ('\\' * lo)
	return w&hi | (w-0x20*lo)&^w&hi | (backslash-lo)&^backslash&hi
}

// stringValue returns a copy of the string v holds (see text).
func (d *jsonDecoder) stringValue(v *fastjson.Value) (string, bool) {
	b, ok := d.text(v)
	return string(b), ok
}

// borrowed returns the string v holds in the parser's memory (see
// jsonHold).
func (d *jsonDecoder) borrowed(v *fastjson.Value) (string, bool) {
	b, ok := d.text(v)
	return bytesString(b), ok
}

// intValue returns the integer v holds when encoding/json would decode
// it into an int: JSON integer syntax (no leading zeros, fraction or
// exponent) within int's range; anything else gives up.
func (d *jsonDecoder) intValue(v *fastjson.Value) (*int, bool) {
	if v.Type() != fastjson.TypeNumber {
		return nil, false
	}
	d.num = v.MarshalTo(d.num[:0]) // a number's text as it appeared
	digits := d.num
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || (len(digits) > 1 && digits[0] == '0') {
		return nil, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return nil, false
		}
	}
	n, err := strconv.Atoi(string(d.num))
	if err != nil {
		return nil, false
	}
	return &n, true
}

// stringList decodes an array of strings.
func (d *jsonDecoder) stringList(v *fastjson.Value) ([]string, bool) {
	a, err := v.Array()
	if err != nil {
		return nil, false
	}
	out := make([]string, len(a))
	for i, e := range a {
		var ok bool
		if out[i], ok = d.stringValue(e); !ok {
			return nil, false
		}
	}
	return out, true
}

// blob decodes a base64 string as encoding/json decodes []byte.
func (d *jsonDecoder) blob(v *fastjson.Value) ([]byte, bool) {
	s, ok := d.text(v)
	if !ok {
		return nil, false
	}
	b := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(b, s)
	if err != nil {
		return nil, false
	}
	return b[:n], true
}

// seen tracks members already decoded, to give up on duplicates.
type seen uint32

func (s *seen) first(bit int) bool {
	if *s&(1<<bit) != 0 {
		return false
	}
	*s |= 1 << bit
	return true
}
