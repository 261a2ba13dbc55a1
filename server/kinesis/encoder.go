package kinesis

import (
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/sluice-dev/sluice/server"
	"github.com/sluice-dev/sluice/server/awsproto"
)

// encoder writes one response body in either AWS JSON 1.1 or CBOR, append
// style and without reflection, so that every operation renders its output
// once for both encodings and GetRecords can stream thousands of records
// straight from the engine's borrowed slices.
//
// CBOR maps and arrays use indefinite lengths (0xbf/0x9f … 0xff), as
// Jackson's CBORGenerator (the Java SDK) writes them itself. Timestamps are
// tag 1 + integer epoch milliseconds in CBOR (the Java SDK's
// UNIX_TIMESTAMP_MILLIS default for CBOR payloads) and epoch seconds with a
// millisecond fraction in JSON.
//
// JSON commas: key and elem add a ',' unless the previous byte opened the
// container, which is all the state the writer needs.
//
// Room: appending grows b as append does, which for a large answer (a
// 14 MB GetRecords) copies it again at every 1.25x step and leaves ~5x its
// size as garbage. An operation that knows its output is large calls
// reserve first; when the encoder writes a server response (resp set),
// reserve takes the room from the server's pooled buffers, which go back
// to the pool once the response is written.
type encoder struct {
	b    []byte
	cbor bool
	// resp is the response b belongs to, or nil (tests, event streams).
	// b is resp.B's successor: reserve keeps the two in step.
	resp *server.Response
}

// CBOR initial bytes.
const (
	cborMajorUint   = 0 << 5
	cborMajorNegInt = 1 << 5
	cborMajorBytes  = 2 << 5
	cborMajorText   = 3 << 5
	cborMajorTag    = 6 << 5
	cborMapIndef    = 0xbf
	cborArrayIndef  = 0x9f
	cborBreak       = 0xff
	cborFalse       = 0xf4
	cborTrue        = 0xf5
	cborFloat64     = 0xfb
	cborTagEpoch    = 1
	// cborHeadBytesMax is the longest initial byte + argument.
	cborHeadBytesMax = 9
)

func (e *encoder) reset(cbor bool) {
	e.b = e.b[:0]
	e.cbor = cbor
}

// reserve makes room for at least n more bytes in b without changing its
// content: from the server's buffer pool when e writes a response, else
// like slices.Grow. No slice of b taken before may be used afterwards (the
// old buffer may go back to the pool).
func (e *encoder) reserve(n int) {
	if n <= cap(e.b)-len(e.b) {
		return
	}
	if e.resp == nil {
		e.b = slices.Grow(e.b, n)
		return
	}
	e.resp.B = e.b
	e.resp.Grow(n)
	e.b = e.resp.B
}

// blobSizeMax is the most bytes blob writes for n bytes of data.
func (e *encoder) blobSizeMax(n int) int {
	if e.cbor {
		return cborHeadBytesMax + n
	}
	return 2 + (n+2)/3*4 // quotes + base64 with padding
}

// strSizeMax is the most bytes str or strBytes writes for a value of n
// bytes: in JSON every byte may become a six-byte \u escape (control
// characters; invalid UTF-8 becomes \ufffd per byte).
func (e *encoder) strSizeMax(n int) int {
	if e.cbor {
		return cborHeadBytesMax + n
	}
	return 2 + 6*n
}

func (e *encoder) comma() {
	if n := len(e.b); n > 0 && e.b[n-1] != '{' && e.b[n-1] != '[' {
		e.b = append(e.b, ',')
	}
}

// objStart opens a map (top level, or as the value after key/elem).
func (e *encoder) objStart() {
	if e.cbor {
		e.b = append(e.b, cborMapIndef)
		return
	}
	e.b = append(e.b, '{')
}

func (e *encoder) objEnd() {
	if e.cbor {
		e.b = append(e.b, cborBreak)
		return
	}
	e.b = append(e.b, '}')
}

func (e *encoder) arrStart() {
	if e.cbor {
		e.b = append(e.b, cborArrayIndef)
		return
	}
	e.b = append(e.b, '[')
}

func (e *encoder) arrEnd() {
	if e.cbor {
		e.b = append(e.b, cborBreak)
		return
	}
	e.b = append(e.b, ']')
}

// key writes a member name; the value follows.
func (e *encoder) key(k string) {
	if e.cbor {
		e.b = appendCBORHead(e.b, cborMajorText, uint64(len(k)))
		e.b = append(e.b, k...)
		return
	}
	e.comma()
	e.b = append(e.b, '"')
	e.b = append(e.b, k...) // member names are ASCII identifiers
	e.b = append(e.b, '"', ':')
}

// elem precedes each array element.
func (e *encoder) elem() {
	if !e.cbor {
		e.comma()
	}
}

func (e *encoder) str(s string) {
	if e.cbor {
		e.b = appendCBORHead(e.b, cborMajorText, uint64(len(s)))
		e.b = append(e.b, s...)
		return
	}
	e.b = awsproto.AppendJSONString(e.b, s)
}

// strBytes writes b as a string value. b holds rendered text (sequence
// numbers, shard ids, hash keys): ASCII that needs no JSON escape, which is
// appended as is, without converting b to a string (an allocation per
// record in GetRecords); anything else goes through the escaper.
func (e *encoder) strBytes(b []byte) {
	if e.cbor {
		e.b = appendCBORHead(e.b, cborMajorText, uint64(len(b)))
		e.b = append(e.b, b...)
		return
	}
	for _, c := range b {
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			e.b = awsproto.AppendJSONString(e.b, string(b))
			return
		}
	}
	e.b = append(e.b, '"')
	e.b = append(e.b, b...)
	e.b = append(e.b, '"')
}

func (e *encoder) int(v int64) {
	if e.cbor {
		if v >= 0 {
			e.b = appendCBORHead(e.b, cborMajorUint, uint64(v))
		} else {
			e.b = appendCBORHead(e.b, cborMajorNegInt, uint64(-(v + 1)))
		}
		return
	}
	e.b = strconv.AppendInt(e.b, v, 10)
}

func (e *encoder) bool(v bool) {
	if e.cbor {
		if v {
			e.b = append(e.b, cborTrue)
		} else {
			e.b = append(e.b, cborFalse)
		}
		return
	}
	e.b = strconv.AppendBool(e.b, v)
}

// blob writes binary data: base64 in JSON, a byte string in CBOR.
func (e *encoder) blob(data []byte) {
	if e.cbor {
		e.b = appendCBORHead(e.b, cborMajorBytes, uint64(len(data)))
		e.b = append(e.b, data...)
		return
	}
	e.b = append(e.b, '"')
	e.b = appendBase64(e.b, data)
	e.b = append(e.b, '"')
}

// time writes a timestamp at millisecond precision.
func (e *encoder) time(t time.Time) {
	ms := t.UnixMilli()
	if e.cbor {
		e.b = appendCBORHead(e.b, cborMajorTag, cborTagEpoch)
		e.int(ms)
		return
	}
	e.b = appendEpochSeconds(e.b, ms)
}

// appendEpochSeconds renders milliseconds as seconds with a three-digit
// fraction ("1700000000.123"), the JSON protocol's timestamp format.
func appendEpochSeconds(dst []byte, ms int64) []byte {
	if ms < 0 {
		return strconv.AppendFloat(dst, float64(ms)/1000, 'f', 3, 64)
	}
	dst = strconv.AppendInt(dst, ms/1000, 10)
	frac := ms % 1000
	return append(dst, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
}

// Shorthands for key + value.

func (e *encoder) kstr(k, v string) {
	e.key(k)
	e.str(v)
}

func (e *encoder) kint(k string, v int64) {
	e.key(k)
	e.int(v)
}

func (e *encoder) kbool(k string, v bool) {
	e.key(k)
	e.bool(v)
}

func (e *encoder) ktime(k string, t time.Time) {
	e.key(k)
	e.time(t)
}

// kstrs writes a list of strings.
func (e *encoder) kstrs(k string, vs []string) {
	e.key(k)
	e.arrStart()
	for _, v := range vs {
		e.elem()
		e.str(v)
	}
	e.arrEnd()
}

// appendCBORHead appends a CBOR initial byte with argument n.
func appendCBORHead(dst []byte, major byte, n uint64) []byte {
	switch {
	case n < 24:
		return append(dst, major|byte(n))
	case n <= math.MaxUint8:
		return append(dst, major|24, byte(n))
	case n <= math.MaxUint16:
		return append(dst, major|25, byte(n>>8), byte(n))
	case n <= math.MaxUint32:
		return append(dst, major|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	default:
		return append(dst, major|27, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32),
			byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}
