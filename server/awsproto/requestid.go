package awsproto

import "math/rand/v2"

// RequestIDLen is the length of a request id: a UUID in its 36-character
// canonical text form, as AWS returns in x-amzn-RequestId.
const RequestIDLen = 36

const hexDigits = "0123456789abcdef"

// AppendRequestID appends a fresh random version-4 UUID in canonical form
// (xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx). Request ids only need to be unique
// enough to correlate logs, not unpredictable, so they come from math/rand/v2's
// runtime generator: lock-free and allocation-free, unlike crypto/rand.
func AppendRequestID(dst []byte) []byte {
	hi, lo := rand.Uint64(), rand.Uint64()
	hi = hi&^(0xf<<12) | 0x4<<12 // version 4
	lo = lo&^(0x3<<62) | 0x2<<62 // RFC 4122 variant
	var raw [16]byte
	for i := range 8 {
		raw[i] = byte(hi >> (56 - 8*i))
		raw[8+i] = byte(lo >> (56 - 8*i))
	}
	for i, b := range raw {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hexDigits[b>>4], hexDigits[b&0xf])
	}
	return dst
}

// NewRequestID returns a fresh request id (see AppendRequestID).
func NewRequestID() string {
	var buf [RequestIDLen]byte
	return string(AppendRequestID(buf[:0]))
}
