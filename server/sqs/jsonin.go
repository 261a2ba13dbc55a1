package sqs

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Fast JSON decoding of the hot operations' inputs (SendMessage,
// SendMessageBatch, ReceiveMessage, DeleteMessage, DeleteMessageBatch,
// ChangeMessageVisibility[Batch]). encoding/json validates the whole body
// and then decodes it by reflection, which dominated the handlers' CPU.
//
// The fast path accepts exactly the canonical shape SDKs send: exact member
// names, each member at most once, the model's types, no nulls. Anything
// else (a syntax error, a type mismatch, a key that only matches a member
// case-insensitively, a duplicate, null) makes it give up, and the caller
// decodes the body again with encoding/json into a fresh struct, so every
// answer, result and error message is the one encoding/json gives;
// FuzzFastJSONMatchesEncodingJSON checks that both agree wherever the fast
// path succeeds.
//
// Strings are copied, except members the handler uses only while it runs
// and never hands to the engine for keeping (MessageBody, batch entry Id,
// ReceiptHandle): those may alias the request body when they contain no
// escapes and are valid UTF-8.

// jsonFast is implemented by inputs with a fast decoder. decodeFast
// reports false when the caller must fall back to encoding/json.
type jsonFast interface {
	decodeFast(r *jsonReader) bool
}

// jsonReader is a pull parser over a JSON document.
type jsonReader struct {
	b []byte
	i int
}

func (r *jsonReader) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// consume skips whitespace and then c; false if the next byte is not c.
func (r *jsonReader) consume(c byte) bool {
	r.ws()
	if r.i < len(r.b) && r.b[r.i] == c {
		r.i++
		return true
	}
	return false
}

// peek returns the next non-space byte (0 at the end).
func (r *jsonReader) peek() byte {
	r.ws()
	if r.i < len(r.b) {
		return r.b[r.i]
	}
	return 0
}

// end reports whether only whitespace remains.
func (r *jsonReader) end() bool {
	r.ws()
	return r.i == len(r.b)
}

// object parses an object, calling member for each key with the reader
// positioned at the value; member returns false to give up.
func (r *jsonReader) object(member func(key []byte) bool) bool {
	if !r.consume('{') {
		return false
	}
	if r.consume('}') {
		return true
	}
	for {
		key, ok := r.rawString()
		if !ok || !r.consume(':') || !member(key) {
			return false
		}
		if r.consume(',') {
			continue
		}
		return r.consume('}')
	}
}

// array parses an array, calling elem for each element.
func (r *jsonReader) array(elem func() bool) bool {
	if !r.consume('[') {
		return false
	}
	if r.consume(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if r.consume(',') {
			continue
		}
		return r.consume(']')
	}
}

// rawString returns the bytes of a string without escapes (keys); false
// for escapes, control characters or non-ASCII (the fallback handles them).
func (r *jsonReader) rawString() ([]byte, bool) {
	if !r.consume('"') {
		return nil, false
	}
	start := r.i
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			r.i++
			return r.b[start : r.i-1], true
		case c == '\\' || c < 0x20 || c >= utf8.RuneSelf:
			return nil, false
		}
		r.i++
	}
	return nil, false
}

// stringValue parses a string value. With alias it may return a string
// sharing the request body's memory.
func (r *jsonReader) stringValue(alias bool) (string, bool) {
	if !r.consume('"') {
		return "", false
	}
	start := r.i
	ascii := true
	for r.i < len(r.b) {
		r.i += plainPrefix(r.b[r.i:])
		if r.i >= len(r.b) {
			break
		}
		c := r.b[r.i]
		switch {
		case c == '"':
			s := r.b[start:r.i]
			r.i++
			if !ascii && !utf8.Valid(s) {
				return string(unquoteInvalidUTF8(nil, s)), true
			}
			if alias {
				return bytesString(s), true
			}
			return string(s), true
		case c == '\\':
			r.i = start
			return r.unquoteSlow()
		case c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
		r.i++
	}
	return "", false
}

// plainPrefix returns how many leading bytes of b need no attention in a
// string: printable ASCII other than '"' and '\\'. It checks eight bytes
// at a time (a word with any byte of interest is left to the caller).
func plainPrefix(b []byte) int {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	n := 0
	for n+8 <= len(b) {
		w := binary.LittleEndian.Uint64(b[n:])
		quote := w ^ ('"' * lo)
		backslash := w ^ ('\\' * lo)
		special := w&hi | (w-0x20*lo)&^w&hi | (quote-lo)&^quote&hi | (backslash-lo)&^backslash&hi
		if special != 0 {
			break
		}
		n += 8
	}
	return n
}

// unquoteSlow decodes a string with escapes from r.i (just after the
// opening quote) as encoding/json does: invalid UTF-8 and unpaired
// surrogates become U+FFFD.
func (r *jsonReader) unquoteSlow() (string, bool) {
	out := make([]byte, 0, 64)
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			r.i++
			return string(out), true
		case c < 0x20:
			return "", false
		case c == '\\':
			if r.i+1 >= len(r.b) {
				return "", false
			}
			e := r.b[r.i+1]
			r.i += 2
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				rr, ok := hex4(r.b, r.i)
				if !ok {
					return "", false
				}
				r.i += 4
				if utf16.IsSurrogate(rr) {
					if r.i+6 <= len(r.b) && r.b[r.i] == '\\' && r.b[r.i+1] == 'u' {
						if rr1, ok := hex4(r.b, r.i+2); ok {
							if dec := utf16.DecodeRune(rr, rr1); dec != unicode.ReplacementChar {
								out = utf8.AppendRune(out, dec)
								r.i += 6
								continue
							}
						}
					}
					rr = unicode.ReplacementChar
				}
				out = utf8.AppendRune(out, rr)
			default:
				return "", false
			}
		case c < utf8.RuneSelf:
			out = append(out, c)
			r.i++
		default:
			rr, size := utf8.DecodeRune(r.b[r.i:])
			if rr == utf8.RuneError && size == 1 {
				out = utf8.AppendRune(out, unicode.ReplacementChar)
			} else {
				out = append(out, r.b[r.i:r.i+size]...)
			}
			r.i += size
		}
	}
	return "", false
}

// unquoteInvalidUTF8 appends s (no escapes) with invalid UTF-8 replaced
// by U+FFFD.
func unquoteInvalidUTF8(dst, s []byte) []byte {
	for len(s) > 0 {
		rr, size := utf8.DecodeRune(s)
		if rr == utf8.RuneError && size == 1 {
			dst = utf8.AppendRune(dst, unicode.ReplacementChar)
		} else {
			dst = append(dst, s[:size]...)
		}
		s = s[size:]
	}
	return dst
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r*16 + rune(c)
	}
	return r, true
}

// intValue parses an integer number (-?[0-9]{1,18}, JSON syntax: no
// leading zeros); anything else, including fractions and exponents, gives
// up.
func (r *jsonReader) intValue() (*int, bool) {
	r.ws()
	start := r.i
	neg := false
	if r.i < len(r.b) && r.b[r.i] == '-' {
		neg = true
		r.i++
	}
	digits := r.i
	n := 0
	for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
		n = n*10 + int(r.b[r.i]-'0')
		r.i++
	}
	count := r.i - digits
	if count == 0 || count > 18 || (count > 1 && r.b[digits] == '0') {
		return nil, false
	}
	if r.i < len(r.b) {
		switch r.b[r.i] {
		case '.', 'e', 'E':
			return nil, false
		}
	}
	_ = start
	if neg {
		n = -n
	}
	return &n, true
}

// stringList parses an array of strings (copied).
func (r *jsonReader) stringList() ([]string, bool) {
	out := []string{}
	ok := r.array(func() bool {
		s, ok := r.stringValue(false)
		out = append(out, s)
		return ok
	})
	return out, ok
}

// blob parses a base64 string as encoding/json decodes []byte.
func (r *jsonReader) blob() ([]byte, bool) {
	s, ok := r.stringValue(true)
	if !ok {
		return nil, false
	}
	b := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(b, stringBytes(s))
	if err != nil {
		return nil, false
	}
	return b[:n], true
}

// skip skips any value, checking its syntax loosely enough to stay safe:
// what it accepts that encoding/json would reject only matters for
// unknown members, and the differential fuzz test covers those.
func (r *jsonReader) skip() bool {
	switch r.peek() {
	case '{':
		return r.object(func([]byte) bool { return r.skip() })
	case '[':
		return r.array(r.skip)
	case '"':
		_, ok := r.stringValue(true)
		return ok
	case 't':
		return r.literal("true")
	case 'f':
		return r.literal("false")
	case 'n':
		return false // null: leave it to encoding/json
	default:
		return r.number()
	}
}

func (r *jsonReader) literal(lit string) bool {
	if bytes.HasPrefix(r.b[r.i:], []byte(lit)) {
		r.i += len(lit)
		return true
	}
	return false
}

// number skips a JSON number with strict syntax.
func (r *jsonReader) number() bool {
	b, i := r.b, r.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	r.i = i
	return true
}

// unknown handles a key the decoder does not know: a case-insensitive
// match of a known member gives up (encoding/json would fill it),
// anything else is skipped as encoding/json ignores it.
func (r *jsonReader) unknown(key []byte, members ...string) bool {
	for _, m := range members {
		if strings.EqualFold(bytesString(key), m) {
			return false
		}
	}
	return r.skip()
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

// decodeFastJSON runs in's fast decoder over body; false means fall back.
func decodeFastJSON(body []byte, in jsonFast) bool {
	r := jsonReader{b: body}
	if r.end() {
		return true // empty body: "{}"
	}
	return in.decodeFast(&r) && r.end()
}
