package engine

import (
	"math/big"
	"testing"
)

// TestHashPartitionKey checks MD5 partition-key hashing against vectors
// computed independently (Python: int(hashlib.md5(k).hexdigest(), 16)).
func TestHashPartitionKey(t *testing.T) {
	tests := []struct {
		key  string
		want string
	}{
		{"", "281949768489412648962353822266799178366"},
		{"a", "16955237001963240173058271559858726497"},
		{"abc", "191415658344158766168031473277922803570"},
		{"partitionKey", "193318062818912349798954611745638949166"},
	}
	for _, tt := range tests {
		if got := HashPartitionKey(tt.key).String(); got != tt.want {
			t.Errorf("HashPartitionKey(%q) = %s, want %s", tt.key, got, tt.want)
		}
	}
}

// TestUint128ParseString checks decimal parsing and formatting at the
// boundaries (0, 2^64±1, 2^128-1), rejection of overflow and non-digits,
// and agreement with math/big.
func TestUint128ParseString(t *testing.T) {
	valid := []struct {
		in   string
		want Uint128
		out  string
	}{
		{"0", Uint128{}, "0"},
		{"000", Uint128{}, "0"},
		{"1", Uint128{Lo: 1}, "1"},
		{"18446744073709551615", Uint128{Lo: ^uint64(0)}, "18446744073709551615"},
		{"18446744073709551616", Uint128{Hi: 1}, "18446744073709551616"},
		{"10000000000000000000", Uint128{Lo: 10_000_000_000_000_000_000}, "10000000000000000000"},
		{"100000000000000000000000000000000000000", Uint128{Hi: 0x4b3b4ca85a86c47a, Lo: 0x098a224000000000}, "100000000000000000000000000000000000000"},
		{"340282366920938463463374607431768211455", MaxUint128, "340282366920938463463374607431768211455"},
	}
	for _, tt := range valid {
		got, err := ParseUint128(tt.in)
		if err != nil {
			t.Fatalf("ParseUint128(%q): %v", tt.in, err)
		}
		if got != tt.want {
			t.Errorf("ParseUint128(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
		if s := got.String(); s != tt.out {
			t.Errorf("String(%q) = %s, want %s", tt.in, s, tt.out)
		}
	}
	invalid := []string{
		"", "-1", "+1", " 1", "1 ", "1.0", "0x10", "abc",
		"340282366920938463463374607431768211456",  // 2^128
		"3402823669209384634633746074317682114550", // 2^128 * 10 - 10
		"999999999999999999999999999999999999999999",
	}
	for _, in := range invalid {
		if _, err := ParseUint128(in); err == nil {
			t.Errorf("ParseUint128(%q) succeeded, want error", in)
		}
	}
}

// FuzzParseUint128 checks that the parser never panics, agrees with
// math/big on what is in range, and round-trips through String.
func FuzzParseUint128(f *testing.F) {
	for _, s := range []string{"0", "1", "340282366920938463463374607431768211455", "340282366920938463463374607431768211456", "-5", "00012"} {
		f.Add(s)
	}
	max := new(big.Int).Lsh(big.NewInt(1), 128)
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseUint128(s)
		ref, ok := new(big.Int).SetString(s, 10)
		digitsOnly := len(s) > 0
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				digitsOnly = false
			}
		}
		wantOK := ok && digitsOnly && ref.Cmp(max) < 0
		if (err == nil) != wantOK {
			t.Fatalf("ParseUint128(%q) err=%v, want ok=%v", s, err, wantOK)
		}
		if err != nil {
			return
		}
		if u.String() != ref.String() {
			t.Fatalf("ParseUint128(%q).String() = %s, want %s", s, u, ref)
		}
	})
}

// TestEvenRanges checks that even splits cover [0, 2^128-1] with no gaps or
// overlaps, that sizes differ by at most one, and that the starts match
// floor(i*2^128/n) (AWS's layout, e.g. 3 shards start at 0, 2^128/3, ...).
func TestEvenRanges(t *testing.T) {
	space := new(big.Int).Lsh(big.NewInt(1), 128)
	toBig := func(u Uint128) *big.Int {
		b := new(big.Int).SetUint64(u.Hi)
		b.Lsh(b, 64)
		return b.Or(b, new(big.Int).SetUint64(u.Lo))
	}
	for _, n := range []int{1, 2, 3, 4, 5, 7, 10, 64, 999, 1000, 10000} {
		ranges := evenRanges(n)
		if len(ranges) != n {
			t.Fatalf("n=%d: %d ranges", n, len(ranges))
		}
		if !ranges[0].Start.IsZero() || ranges[n-1].End != MaxUint128 {
			t.Fatalf("n=%d: ranges do not span the keyspace: %v..%v", n, ranges[0].Start, ranges[n-1].End)
		}
		minSize, maxSize := new(big.Int).Set(space), new(big.Int)
		for i, r := range ranges {
			want := new(big.Int).Mul(big.NewInt(int64(i)), space)
			want.Div(want, big.NewInt(int64(n)))
			if toBig(r.Start).Cmp(want) != 0 {
				t.Fatalf("n=%d i=%d: start %s, want %s", n, i, r.Start, want)
			}
			if r.Start.Cmp(r.End) > 0 {
				t.Fatalf("n=%d i=%d: empty range %v", n, i, r)
			}
			if i > 0 && ranges[i-1].End.add1() != r.Start {
				t.Fatalf("n=%d i=%d: gap or overlap between %v and %v", n, i, ranges[i-1], r)
			}
			size := new(big.Int).Sub(toBig(r.End), toBig(r.Start))
			if size.Cmp(minSize) < 0 {
				minSize = size
			}
			if size.Cmp(maxSize) > 0 {
				maxSize = size
			}
		}
		if new(big.Int).Sub(maxSize, minSize).Cmp(big.NewInt(1)) > 0 {
			t.Fatalf("n=%d: range sizes differ by more than one: %s..%s", n, minSize, maxSize)
		}
	}
}

// TestHashRangeContains checks the inclusive boundaries of a range,
// including the extreme keys 0 and 2^128-1.
func TestHashRangeContains(t *testing.T) {
	ranges := evenRanges(2)
	if !ranges[0].contains(Uint128{}) || ranges[1].contains(Uint128{}) {
		t.Fatal("hash key 0 must belong to the first range only")
	}
	if !ranges[1].contains(MaxUint128) || ranges[0].contains(MaxUint128) {
		t.Fatal("hash key 2^128-1 must belong to the last range only")
	}
	mid := Uint128{Hi: 1 << 63}
	if !ranges[1].contains(mid) || !ranges[0].contains(mid.sub1()) || ranges[0].contains(mid) {
		t.Fatal("2^127 must start the second range")
	}
}

// BenchmarkHashPartitionKey measures partition-key routing cost (MD5 of a
// short key); it must not allocate.
func BenchmarkHashPartitionKey(b *testing.B) {
	b.ReportAllocs()
	var sink Uint128
	for b.Loop() {
		sink = HashPartitionKey("user-1234567890")
	}
	_ = sink
}
