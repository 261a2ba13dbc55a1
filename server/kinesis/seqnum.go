package kinesis

import (
	"errors"
	"math/bits"
	"strconv"
)

// Sequence numbers.
//
// AWS sequence numbers are 56-digit decimal strings. kinesalite
// reverse-engineered their layout as a 188-bit number written as 47 hex
// digits; Sluice keeps that shape so that clients which sort, compare or
// pattern-match them (the KCL parses them as BigInteger) see what they expect:
//
//	hex digits  bits  field
//	1           4     version, always 2
//	9           36    stream creation time, Unix seconds
//	1           4     shard index, low 4 bits
//	16          64    log sequence number within the shard
//	2           8     reserved, 0
//	9           36    stream creation time again (AWS: record time)
//	8           32    shard index
//	1           4     version, always 2
//
// A value in [2·2^184, 3·2^184) always has 56 decimal digits. Within one
// shard every field but the log sequence is constant, and that field sits
// above the varying-free tail, so numbers increase with the log sequence;
// the shard index makes them unique within a stream. Keeping the encoding a
// pure function of (stream creation second, shard, log seq) lets the server
// render a shard's StartingSequenceNumber or a ContinuationSequenceNumber
// without reading records. Decoding checks every constant field, so a number
// from another stream (other creation time) or a malformed one is rejected.

// seqDecimalDigits is the length of every sequence number Sluice renders.
const seqDecimalDigits = 56

// seqVersion is the leading and trailing nibble.
const seqVersion = 2

// errSequenceNumberInvalid reports a sequence number that is not one Sluice
// rendered. Handlers turn it into InvalidArgumentException.
var errSequenceNumberInvalid = errors.New("kinesis: invalid sequence number")

// seqNumber is a decoded sequence number.
type seqNumber struct {
	// createdUnix is the stream creation time in Unix seconds (36 bits).
	createdUnix uint64
	// shard is the engine shard index.
	shard uint32
	// seq is the log sequence within the shard.
	seq uint64
}

// seqWords is a 192-bit number as three 64-bit words, most significant
// first. Only the low 188 bits are used.
type seqWords [3]uint64

const mask36 = 1<<36 - 1

// words packs n into the 188-bit layout.
func (n seqNumber) words() seqWords {
	created := n.createdUnix & mask36
	shard := uint64(n.shard)
	// Bit positions from the least significant end (188 bits in all):
	//  184..187 version, 148..183 created, 144..147 shard nibble,
	//  80..143 seq, 72..79 reserved, 36..71 created, 4..35 shard, 0..3 version.
	var w seqWords
	// Word 2 (bits 0..63).
	w[2] = seqVersion | shard<<4 | (created&0xfffffff)<<36
	// Word 1 (bits 64..127): created bits 28..35 at 64..71, reserved at
	// 72..79, seq bits 0..47 at 80..127.
	w[1] = created>>28 | (n.seq&(1<<48-1))<<16
	// Word 0 (bits 128..191): seq bits 48..63 at 128..143, shard nibble at
	// 144..147, created at 148..183, version at 184..187.
	w[0] = n.seq>>48 | (shard&0xf)<<16 | created<<20 | seqVersion<<56
	return w
}

// fromWords unpacks and validates the layout.
func fromWords(w seqWords) (seqNumber, bool) {
	if w[0]>>56 != seqVersion || w[2]&0xf != seqVersion {
		return seqNumber{}, false
	}
	shard := (w[2] >> 4) & 0xffffffff
	createdLow := w[2] >> 36                    // 28 bits
	createdHigh := w[1] & 0xff                  // 8 bits
	reserved := (w[1] >> 8) & 0xff              // 8 bits
	seq := w[1]>>16 | (w[0]&0xffff)<<48         // 64 bits
	nibble := (w[0] >> 16) & 0xf                // 4 bits
	createdTop := (w[0] >> 20) & mask36         // 36 bits
	createdTail := createdLow | createdHigh<<28 // 36 bits
	if reserved != 0 || nibble != shard&0xf || createdTop != createdTail {
		return seqNumber{}, false
	}
	return seqNumber{createdUnix: createdTop, shard: uint32(shard), seq: seq}, true
}

// appendSequenceNumber appends the 56-digit decimal form of n.
func appendSequenceNumber(dst []byte, n seqNumber) []byte {
	return appendDecimal188(dst, n.words())
}

// formatSequenceNumber returns the decimal form of n.
func formatSequenceNumber(n seqNumber) string {
	var buf [seqDecimalDigits]byte
	return string(appendSequenceNumber(buf[:0], n))
}

// parseSequenceNumber decodes a decimal sequence number rendered by
// appendSequenceNumber. Anything else is errSequenceNumberInvalid.
func parseSequenceNumber(s string) (seqNumber, error) {
	if len(s) != seqDecimalDigits {
		return seqNumber{}, errSequenceNumberInvalid
	}
	var w seqWords
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return seqNumber{}, errSequenceNumberInvalid
		}
		// w = w*10 + digit, in 192 bits; 56 digits fit, so only the top
		// word can overflow, and the layout check rejects that below.
		var carry uint64
		hi, lo := bits.Mul64(w[2], 10)
		w[2], carry = bits.Add64(lo, uint64(c-'0'), 0)
		carry += hi
		hi, lo = bits.Mul64(w[1], 10)
		var hi2 uint64
		w[1], hi2 = bits.Add64(lo, carry, 0)
		carry = hi + hi2
		hi, lo = bits.Mul64(w[0], 10)
		if hi != 0 {
			return seqNumber{}, errSequenceNumberInvalid
		}
		var overflow uint64
		w[0], overflow = bits.Add64(lo, carry, 0)
		if overflow != 0 {
			return seqNumber{}, errSequenceNumberInvalid
		}
	}
	n, ok := fromWords(w)
	if !ok {
		return seqNumber{}, errSequenceNumberInvalid
	}
	return n, nil
}

// pow10to19 is the largest power of ten below 2^64.
const pow10to19 = 10_000_000_000_000_000_000

// appendDecimal188 appends w in decimal without leading zeros ("0" for 0).
func appendDecimal188(dst []byte, w seqWords) []byte {
	// Three divisions by 10^19 give three 19-digit chunks, least
	// significant first; 10^57 > 2^188, so three chunks cover every value.
	var chunks [3]uint64
	for i := range chunks {
		var rem uint64
		w[0], rem = bits.Div64(0, w[0], pow10to19)
		w[1], rem = bits.Div64(rem, w[1], pow10to19)
		w[2], rem = bits.Div64(rem, w[2], pow10to19)
		chunks[i] = rem
	}
	started := false
	for i := len(chunks) - 1; i >= 0; i-- {
		c := chunks[i]
		if !started {
			if c == 0 && i > 0 {
				continue
			}
			started = true
			dst = strconv.AppendUint(dst, c, 10)
			continue
		}
		var buf [19]byte
		for j := len(buf) - 1; j >= 0; j-- {
			buf[j] = byte('0' + c%10)
			c /= 10
		}
		dst = append(dst, buf[:]...)
	}
	return dst
}
