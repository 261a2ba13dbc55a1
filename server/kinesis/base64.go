package kinesis

import (
	"encoding/base64"
	"encoding/binary"
	"slices"
)

// Record data crosses the JSON protocol as standard, padded base64, and
// encoding and decoding it is the largest per-byte cost of PutRecords and
// GetRecords (encoding/base64 moves one character per table lookup, ~1 µs
// per KiB). These codecs move two characters per lookup through 12-bit
// tables and 8-byte loads and stores, and hand the last quantum (and, when
// decoding, any input they do not fully understand) to encoding/base64, so
// their output is byte-for-byte encoding/base64's (FuzzBase64 checks it).

const base64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// base64Pairs maps a 12-bit value to its two characters, first in the low
// byte (little-endian stores write them in order). 8 KiB.
var base64Pairs = func() (t [1 << 12]uint16) {
	for v := range t {
		t[v] = uint16(base64Alphabet[v>>6]) | uint16(base64Alphabet[v&63])<<8
	}
	return t
}()

// base64PairValues maps two characters (little-endian uint16) to their
// 12-bit value, or base64Invalid when either is not in the alphabet.
// 128 KiB, built on first use.
var base64PairValues = func() *[1 << 16]uint16 {
	var single [256]uint16
	for i := range single {
		single[i] = base64Invalid
	}
	for i := range len(base64Alphabet) {
		single[base64Alphabet[i]] = uint16(i)
	}
	t := new([1 << 16]uint16)
	for x := range t {
		a, b := single[x&0xff], single[x>>8]
		if a == base64Invalid || b == base64Invalid {
			t[x] = base64Invalid
			continue
		}
		t[x] = a<<6 | b
	}
	return t
}()

const base64Invalid = 0xffff

// appendBase64 appends the standard base64 encoding of src to dst.
func appendBase64(dst, src []byte) []byte {
	n := base64.StdEncoding.EncodedLen(len(src))
	dst = slices.Grow(dst, n)
	out := dst[len(dst) : len(dst)+n]
	t := &base64Pairs
	// 12 input bytes make 16 characters; each 8-byte load uses its top 6.
	for len(src) >= 14 && len(out) >= 16 {
		x := binary.BigEndian.Uint64(src)
		y := binary.BigEndian.Uint64(src[6:])
		binary.LittleEndian.PutUint64(out, uint64(t[x>>52])|uint64(t[x>>40&0xfff])<<16|
			uint64(t[x>>28&0xfff])<<32|uint64(t[x>>16&0xfff])<<48)
		binary.LittleEndian.PutUint64(out[8:], uint64(t[y>>52])|uint64(t[y>>40&0xfff])<<16|
			uint64(t[y>>28&0xfff])<<32|uint64(t[y>>16&0xfff])<<48)
		src, out = src[12:], out[16:]
	}
	base64.StdEncoding.Encode(out, src)
	return dst[:len(dst)+n]
}

// decodeBase64 decodes src into dst (len(dst) >= DecodedLen(len(src))) as
// base64.StdEncoding.Decode does, with the same result and error.
func decodeBase64(dst, src []byte) (int, error) {
	t := base64PairValues
	in, out := src, dst
	// Leave the last quantum (it may hold padding) to encoding/base64;
	// each 8-byte store writes 6 decoded bytes and 2 that the next store
	// or the tail overwrites.
	for len(in) >= 12 && len(out) >= 8 {
		x := binary.LittleEndian.Uint64(in)
		a, b, c, d := t[x&0xffff], t[x>>16&0xffff], t[x>>32&0xffff], t[x>>48]
		if (a|b|c|d)&0xf000 != 0 {
			// Outside the alphabet: padding, a line break or an error.
			return base64.StdEncoding.Decode(dst, src)
		}
		binary.BigEndian.PutUint64(out, (uint64(a)<<36|uint64(b)<<24|uint64(c)<<12|uint64(d))<<16)
		in, out = in[8:], out[6:]
	}
	done := len(dst) - len(out)
	n, err := base64.StdEncoding.Decode(out, in)
	if err != nil {
		return base64.StdEncoding.Decode(dst, src) // the error's offset counts from src
	}
	return done + n, nil
}
