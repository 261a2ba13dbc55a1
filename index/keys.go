package index

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Key encoding.
//
// Keys are built from components appended with the Append* functions. The
// encoding preserves order: comparing two encoded keys bytewise gives the same
// result as comparing their component tuples one by one. It is the encoding
// CockroachDB and FoundationDB use for the same reason:
//
//	uint8   1 byte
//	uint64  8 bytes, big-endian
//	int64   8 bytes, big-endian with the sign bit flipped (negatives sort first)
//	string  the bytes with 0x00 escaped as 0x00 0xFF, then the terminator 0x00 0x01
//	bytes   same as string
//
// Escaping makes a string component self-delimiting, so "ab" followed by
// anything never collides with "abc", and a string that is a prefix of
// another sorts first (its terminator 0x00 0x01 sorts below any escaped byte
// or real byte that could follow).

const (
	escapeByte     = 0x00
	escapedZero    = 0xFF // 0x00 0xFF encodes a literal 0x00 inside a component
	terminatorByte = 0x01 // 0x00 0x01 ends a string/bytes component
)

// ErrKeyMalformed reports a key that does not decode as the expected
// components. Keys come from this package's own encoders, so it indicates
// corruption or a programming error.
var ErrKeyMalformed = errors.New("index: malformed key")

// AppendUint8 appends v as one byte.
func AppendUint8(dst []byte, v uint8) []byte { return append(dst, v) }

// AppendUint64 appends v big-endian so that numeric order is byte order.
func AppendUint64(dst []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(dst, v) }

// AppendInt64 appends v big-endian with the sign bit flipped so that negative
// values sort before positive ones (timestamps before 1970 stay ordered).
func AppendInt64(dst []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(v)^(1<<63))
}

// AppendString appends s escaped and terminated (see the package comment on
// key encoding).
func AppendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == escapeByte {
			dst = append(dst, escapeByte, escapedZero)
			continue
		}
		dst = append(dst, s[i])
	}
	return append(dst, escapeByte, terminatorByte)
}

// AppendBytes appends b escaped and terminated; it encodes exactly like
// AppendString(dst, string(b)).
func AppendBytes(dst []byte, b []byte) []byte {
	for _, c := range b {
		if c == escapeByte {
			dst = append(dst, escapeByte, escapedZero)
			continue
		}
		dst = append(dst, c)
	}
	return append(dst, escapeByte, terminatorByte)
}

// AppendStringPrefix appends s escaped but without the terminator: the result
// is a prefix of every key whose string component at this position starts
// with s. Use it with PrefixEnd to scan "names beginning with s".
func AppendStringPrefix(dst []byte, s string) []byte {
	dst = AppendString(dst, s)
	return dst[:len(dst)-2]
}

// PrefixEnd returns the smallest key greater than every key that starts with
// prefix: the exclusive upper bound of a prefix scan. It returns nil when no
// such key exists (prefix is empty or all 0xFF), meaning "no upper bound".
// The result never aliases prefix.
func PrefixEnd(prefix []byte) []byte {
	for i := len(prefix) - 1; i >= 0; i-- {
		if prefix[i] != 0xFF {
			end := make([]byte, i+1)
			copy(end, prefix[:i+1])
			end[i]++
			return end
		}
	}
	return nil
}

// KeyReader decodes a key component by component with a sticky error: after
// the first failure every further read returns a zero value, and Err reports
// the first failure. Read every field, then check Err once.
type KeyReader struct {
	buf []byte
	off int
	err error
}

// NewKeyReader returns a reader over key. The reader does not copy key.
func NewKeyReader(key []byte) KeyReader { return KeyReader{buf: key} }

// Err returns the first decoding error, wrapping ErrKeyMalformed, or nil.
func (r *KeyReader) Err() error { return r.err }

// Len returns the number of undecoded bytes.
func (r *KeyReader) Len() int { return len(r.buf) - r.off }

// Done reports an error unless the key was decoded completely and without
// error; use it after the last field.
func (r *KeyReader) Done() error {
	if r.err == nil && r.off != len(r.buf) {
		r.fail("trailing bytes", len(r.buf)-r.off)
	}
	return r.err
}

func (r *KeyReader) fail(what string, n int) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s at offset %d (%d bytes)", ErrKeyMalformed, what, r.off, n)
	}
}

func (r *KeyReader) take(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.buf)-r.off < n {
		r.fail("short "+what, len(r.buf)-r.off)
		return nil
	}
	b := r.buf[r.off : r.off+n]
	r.off += n
	return b
}

// Uint8 decodes one byte.
func (r *KeyReader) Uint8() uint8 {
	b := r.take(1, "uint8")
	if b == nil {
		return 0
	}
	return b[0]
}

// Uint64 decodes a big-endian uint64.
func (r *KeyReader) Uint64() uint64 {
	b := r.take(8, "uint64")
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// Int64 decodes a value written by AppendInt64.
func (r *KeyReader) Int64() int64 {
	return int64(r.Uint64() ^ (1 << 63))
}

// Bytes decodes a string/bytes component into a newly allocated slice.
func (r *KeyReader) Bytes() []byte {
	return r.appendBytes(nil)
}

// String decodes a string/bytes component.
func (r *KeyReader) String() string {
	return string(r.appendBytes(nil))
}

func (r *KeyReader) appendBytes(dst []byte) []byte {
	if r.err != nil {
		return dst
	}
	start := r.off
	for i := r.off; i < len(r.buf); i++ {
		if r.buf[i] != escapeByte {
			continue
		}
		if i+1 >= len(r.buf) {
			r.fail("dangling escape", len(r.buf)-start)
			return dst
		}
		switch r.buf[i+1] {
		case terminatorByte:
			dst = append(dst, r.buf[start:i]...)
			r.off = i + 2
			return dst
		case escapedZero:
			dst = append(dst, r.buf[start:i]...)
			dst = append(dst, escapeByte)
			start = i + 2
			i++
		default:
			r.fail("bad escape", len(r.buf)-start)
			return dst
		}
	}
	r.fail("unterminated string", len(r.buf)-start)
	return dst
}
