package engine

import (
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
)

// Uint128 is an unsigned 128-bit integer: a Kinesis hash key. Partition keys
// hash (MD5) into the keyspace [0, 2^128-1]; every open shard owns one
// contiguous, inclusive range of it.
type Uint128 struct {
	Hi, Lo uint64
}

// MaxUint128 is 2^128-1, the largest hash key.
var MaxUint128 = Uint128{Hi: ^uint64(0), Lo: ^uint64(0)}

// ErrHashKeyInvalid reports a hash key that is not a decimal number in
// [0, 2^128-1].
var ErrHashKeyInvalid = errors.New("engine: hash key is not a decimal integer in [0, 2^128-1]")

// Cmp returns -1, 0 or +1 as u is less than, equal to or greater than v.
func (u Uint128) Cmp(v Uint128) int {
	switch {
	case u.Hi < v.Hi:
		return -1
	case u.Hi > v.Hi:
		return 1
	case u.Lo < v.Lo:
		return -1
	case u.Lo > v.Lo:
		return 1
	}
	return 0
}

// IsZero reports whether u == 0.
func (u Uint128) IsZero() bool { return u.Hi == 0 && u.Lo == 0 }

// add1 returns u+1, wrapping at 2^128.
func (u Uint128) add1() Uint128 {
	lo, carry := bits.Add64(u.Lo, 1, 0)
	return Uint128{Hi: u.Hi + carry, Lo: lo}
}

// sub1 returns u-1, wrapping at 0.
func (u Uint128) sub1() Uint128 {
	lo, borrow := bits.Sub64(u.Lo, 1, 0)
	return Uint128{Hi: u.Hi - borrow, Lo: lo}
}

// divmod10e19 divides u by 10^19 and returns the quotient and remainder.
func (u Uint128) divmod10e19() (Uint128, uint64) {
	const divisor = 10_000_000_000_000_000_000
	qHi, r := bits.Div64(0, u.Hi, divisor)
	qLo, r := bits.Div64(r, u.Lo, divisor)
	return Uint128{Hi: qHi, Lo: qLo}, r
}

// String returns u in decimal, the form Kinesis uses for hash keys.
func (u Uint128) String() string {
	var buf [39]byte
	return string(u.AppendDecimal(buf[:0]))
}

// AppendDecimal appends u in decimal to dst.
func (u Uint128) AppendDecimal(dst []byte) []byte {
	if u.Hi == 0 {
		return strconv.AppendUint(dst, u.Lo, 10)
	}
	// 2^128 < 10^39: at most three base-10^19 limbs.
	q, low := u.divmod10e19()
	high, mid := q.divmod10e19()
	if high.Lo != 0 {
		dst = strconv.AppendUint(dst, high.Lo, 10)
		dst = appendPadded19(dst, mid)
	} else {
		dst = strconv.AppendUint(dst, mid, 10)
	}
	return appendPadded19(dst, low)
}

func appendPadded19(dst []byte, v uint64) []byte {
	var buf [19]byte
	for i := len(buf) - 1; i >= 0; i-- {
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return append(dst, buf[:]...)
}

// ParseUint128 parses a decimal hash key in [0, 2^128-1]. It accepts only
// ASCII digits (no sign, no spaces); leading zeros are accepted, server-side
// pattern checks are the server's business.
func ParseUint128(s string) (Uint128, error) {
	if len(s) == 0 {
		return Uint128{}, fmt.Errorf("%w: empty", ErrHashKeyInvalid)
	}
	var u Uint128
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return Uint128{}, fmt.Errorf("%w: %q", ErrHashKeyInvalid, s)
		}
		// u = u*10 + digit, detecting overflow past 2^128-1.
		hiHi, hiLo := bits.Mul64(u.Hi, 10)
		loHi, loLo := bits.Mul64(u.Lo, 10)
		hi, carry := bits.Add64(hiLo, loHi, 0)
		if hiHi != 0 || carry != 0 {
			return Uint128{}, fmt.Errorf("%w: %q overflows", ErrHashKeyInvalid, s)
		}
		lo, carry := bits.Add64(loLo, uint64(c-'0'), 0)
		hi, carry = bits.Add64(hi, 0, carry)
		if carry != 0 {
			return Uint128{}, fmt.Errorf("%w: %q overflows", ErrHashKeyInvalid, s)
		}
		u = Uint128{Hi: hi, Lo: lo}
	}
	return u, nil
}

// HashPartitionKey maps a partition key to its hash key: the MD5 digest of
// the key's UTF-8 bytes read as a big-endian 128-bit integer, as Kinesis does.
func HashPartitionKey(key string) Uint128 {
	sum := md5.Sum([]byte(key))
	return Uint128{
		Hi: binary.BigEndian.Uint64(sum[0:8]),
		Lo: binary.BigEndian.Uint64(sum[8:16]),
	}
}

// hashRange is an inclusive range of hash keys.
type hashRange struct {
	Start, End Uint128
}

// contains reports whether k lies in r.
func (r hashRange) contains(k Uint128) bool {
	return r.Start.Cmp(k) <= 0 && k.Cmp(r.End) <= 0
}

// evenSplitStart returns floor(i * 2^128 / n) for 0 <= i < n: the first hash
// key of shard i when the keyspace is divided evenly into n shards (the
// layout AWS gives CreateStream and UpdateShardCount UNIFORM_SCALING).
func evenSplitStart(i, n uint64) Uint128 {
	// i * 2^128 is the 192-bit number (i, 0, 0); divide limb by limb. The top
	// quotient limb is i/n == 0 because i < n.
	_, r := bits.Div64(0, i, n)
	hi, r := bits.Div64(r, 0, n)
	lo, _ := bits.Div64(r, 0, n)
	return Uint128{Hi: hi, Lo: lo}
}

// evenRanges divides the whole keyspace into n contiguous ranges whose sizes
// differ by at most one; n must be >= 1.
func evenRanges(n int) []hashRange {
	ranges := make([]hashRange, n)
	for i := range ranges {
		ranges[i].Start = evenSplitStart(uint64(i), uint64(n))
		if i > 0 {
			ranges[i-1].End = ranges[i].Start.sub1()
		}
	}
	ranges[n-1].End = MaxUint128
	return ranges
}
