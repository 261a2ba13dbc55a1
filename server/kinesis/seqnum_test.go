package kinesis

import (
	"math"
	"math/big"
	"strings"
	"testing"
)

// TestSequenceNumberRoundTrip checks that sequence numbers are 56 decimal
// digits, decode back to (creation time, shard, seq), agree with a math/big
// rendering of the documented bit layout, and increase with seq in a shard.
func TestSequenceNumberRoundTrip(t *testing.T) {
	cases := []seqNumber{
		{createdUnix: 0, shard: 0, seq: 0},
		{createdUnix: 1_700_000_000, shard: 0, seq: 1},
		{createdUnix: 1_700_000_000, shard: 17, seq: 123456789},
		{createdUnix: mask36, shard: math.MaxUint32, seq: math.MaxUint64},
		{createdUnix: 1_700_000_000, shard: 3, seq: 1 << 48},
	}
	for _, n := range cases {
		s := formatSequenceNumber(n)
		if len(s) != seqDecimalDigits {
			t.Fatalf("%+v: %q has %d digits", n, s, len(s))
		}
		want := bigLayout(n).String()
		if s != want {
			t.Fatalf("%+v: got %s, layout says %s", n, s, want)
		}
		got, err := parseSequenceNumber(s)
		if err != nil || got != n {
			t.Fatalf("%+v: parse %s = %+v, %v", n, s, got, err)
		}
	}
	prev := ""
	for seq := uint64(0); seq < 5000; seq += 7 {
		s := formatSequenceNumber(seqNumber{createdUnix: 1_700_000_000, shard: 5, seq: seq})
		if prev != "" && s <= prev {
			t.Fatalf("seq %d: %s not above %s", seq, s, prev)
		}
		prev = s
	}
}

// bigLayout builds the number from the layout table with math/big, as an
// independent reference.
func bigLayout(n seqNumber) *big.Int {
	v := new(big.Int)
	push := func(value uint64, bitsWide uint) {
		v.Lsh(v, bitsWide)
		v.Or(v, new(big.Int).SetUint64(value))
	}
	push(2, 4)
	push(n.createdUnix, 36)
	push(uint64(n.shard)&0xf, 4)
	push(n.seq, 64)
	push(0, 8)
	push(n.createdUnix, 36)
	push(uint64(n.shard), 32)
	push(2, 4)
	return v
}

// TestSequenceNumberRejects checks that malformed and foreign sequence
// numbers are refused.
func TestSequenceNumberRejects(t *testing.T) {
	good := formatSequenceNumber(seqNumber{createdUnix: 1_700_000_000, shard: 2, seq: 42})
	flipLast := good[:55] + string('0'+(good[55]-'0'+1)%10)
	cases := map[string]string{
		"empty":         "",
		"short":         good[:55],
		"long":          good + "0",
		"non-digit":     good[:10] + "x" + good[11:],
		"sign":          "-" + good[1:],
		"zeros":         strings.Repeat("0", 56),
		"nines":         strings.Repeat("9", 56),
		"tampered":      flipLast,
		"aws-like-low":  "49590338271490256608559692538361571095921575989136588898",
		"max 188 bits":  new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 188), big.NewInt(1)).String()[:56],
		"leading space": " " + good[1:],
	}
	for name, s := range cases {
		if _, err := parseSequenceNumber(s); err == nil {
			t.Errorf("%s: %q accepted", name, s)
		}
	}
}

// FuzzParseSequenceNumber checks that the parser never panics and that
// whatever it accepts re-renders to the same string.
func FuzzParseSequenceNumber(f *testing.F) {
	f.Add(formatSequenceNumber(seqNumber{createdUnix: 1_700_000_000, shard: 2, seq: 42}))
	f.Add("49590338271490256608559692538361571095921575989136588898")
	f.Add("0")
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSequenceNumber(s)
		if err != nil {
			return
		}
		if back := formatSequenceNumber(n); back != s {
			t.Fatalf("%q parsed to %+v renders %q", s, n, back)
		}
	})
}
