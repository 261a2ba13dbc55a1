package index

import (
	"bytes"
	"math"
	"slices"
	"testing"
)

// component is one decoded key field for the tuple tests.
type component struct {
	kind byte // 's' string, 'u' uint64, 'i' int64, 'b' uint8
	s    string
	u    uint64
	i    int64
}

func encodeTuple(cs []component) []byte {
	var k []byte
	for _, c := range cs {
		switch c.kind {
		case 's':
			k = AppendString(k, c.s)
		case 'u':
			k = AppendUint64(k, c.u)
		case 'i':
			k = AppendInt64(k, c.i)
		case 'b':
			k = AppendUint8(k, uint8(c.u))
		}
	}
	return k
}

func compareTuple(a, b []component) int {
	for i := range min(len(a), len(b)) {
		var c int
		switch a[i].kind {
		case 's':
			c = bytes.Compare([]byte(a[i].s), []byte(b[i].s))
		case 'u', 'b':
			c = cmpOrdered(a[i].u, b[i].u)
		case 'i':
			c = cmpOrdered(a[i].i, b[i].i)
		}
		if c != 0 {
			return c
		}
	}
	return cmpOrdered(len(a), len(b))
}

func cmpOrdered[T int | uint64 | int64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func str(s string) component { return component{kind: 's', s: s} }
func u64(v uint64) component { return component{kind: 'u', u: v} }
func i64(v int64) component  { return component{kind: 'i', i: v} }

// TestKeyOrderPreserved checks the central property of the encoding: for
// tuples with the same component types, bytewise order of the encoded keys
// equals tuple order, including strings that are prefixes of one another,
// strings holding 0x00 and 0xFF bytes, negative times and extreme integers.
func TestKeyOrderPreserved(t *testing.T) {
	strs := []string{"", "\x00", "\x00\x00", "\x00\x01", "\x00\xff", "\x01", "a", "a\x00", "a\x00b", "a\x01", "ab", "abc", "b", "\xff", "\xff\xff"}
	u64s := []uint64{0, 1, 255, 256, 1 << 32, math.MaxUint64 - 1, math.MaxUint64}
	i64s := []int64{math.MinInt64, -1 << 40, -1, 0, 1, 1 << 40, math.MaxInt64}
	var tuples [][]component
	for _, a := range strs {
		for _, b := range strs {
			tuples = append(tuples, []component{str(a), str(b)})
		}
	}
	for _, s := range strs[:6] {
		for _, u := range u64s {
			for _, i := range i64s {
				tuples = append(tuples, []component{str(s), u64(u), i64(i)})
			}
		}
	}
	for _, group := range [][][]component{tuples[:len(strs)*len(strs)], tuples[len(strs)*len(strs):]} {
		for _, a := range group {
			for _, b := range group {
				want := compareTuple(a, b)
				got := bytes.Compare(encodeTuple(a), encodeTuple(b))
				if got != want {
					t.Fatalf("order of %v vs %v: bytes say %d, tuples say %d\n%x\n%x", a, b, got, want, encodeTuple(a), encodeTuple(b))
				}
			}
		}
	}
}

// TestKeyRoundTrip checks that KeyReader decodes what the Append functions
// wrote, for a table of values, and that Done reports complete decoding.
func TestKeyRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    string
		u    uint64
		i    int64
		b    uint8
	}{
		{"empty", "", 0, 0, 0},
		{"zeros", "\x00\x00", 1, -1, 1},
		{"escape-like", "\x00\x01\x00\xff", math.MaxUint64, math.MinInt64, 255},
		{"utf8", "queue-ü-名前", 42, math.MaxInt64, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := AppendUint8(nil, tc.b)
			k = AppendString(k, tc.s)
			k = AppendUint64(k, tc.u)
			k = AppendInt64(k, tc.i)
			k = AppendBytes(k, []byte(tc.s))
			r := NewKeyReader(k)
			b, s, u, i, bs := r.Uint8(), r.String(), r.Uint64(), r.Int64(), r.Bytes()
			if err := r.Done(); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if b != tc.b || s != tc.s || u != tc.u || i != tc.i || string(bs) != tc.s {
				t.Fatalf("round trip: got (%d %q %d %d %q)", b, s, u, i, bs)
			}
		})
	}
}

// TestKeyReaderErrors checks that malformed input yields ErrKeyMalformed
// (sticky, zero values after) rather than a panic or garbage.
func TestKeyReaderErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  []byte
		read func(r *KeyReader)
	}{
		{"short uint64", []byte{1, 2, 3}, func(r *KeyReader) { _ = r.Uint64() }},
		{"empty uint8", nil, func(r *KeyReader) { _ = r.Uint8() }},
		{"unterminated", []byte("abc"), func(r *KeyReader) { _ = r.String() }},
		{"dangling escape", []byte("abc\x00"), func(r *KeyReader) { _ = r.String() }},
		{"bad escape", []byte("a\x00\x05"), func(r *KeyReader) { _ = r.String() }},
		{"trailing", AppendUint64(nil, 1), func(r *KeyReader) { _ = r.Uint8() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewKeyReader(tc.key)
			tc.read(&r)
			if u := r.Uint64(); r.Err() != nil && u != 0 {
				t.Fatalf("read after error returned %d, want 0", u)
			}
			if err := r.Done(); err == nil {
				t.Fatalf("no error for %x", tc.key)
			}
		})
	}
}

// TestPrefixEnd checks the exclusive upper bound of prefix scans.
func TestPrefixEnd(t *testing.T) {
	for _, tc := range []struct {
		prefix, want []byte
	}{
		{nil, nil},
		{[]byte{0xff, 0xff}, nil},
		{[]byte{1}, []byte{2}},
		{[]byte{1, 0xff}, []byte{2}},
		{[]byte{1, 2, 0xff, 0xff}, []byte{1, 3}},
	} {
		p := slices.Clone(tc.prefix)
		got := PrefixEnd(p)
		if !bytes.Equal(got, tc.want) {
			t.Errorf("PrefixEnd(%x) = %x, want %x", tc.prefix, got, tc.want)
		}
		if !bytes.Equal(p, tc.prefix) {
			t.Errorf("PrefixEnd modified its input")
		}
	}
}

// TestAppendStringPrefix checks that the unterminated form is a prefix of
// exactly the names that start with it.
func TestAppendStringPrefix(t *testing.T) {
	p := AppendStringPrefix(nil, "ab")
	end := PrefixEnd(p)
	for _, tc := range []struct {
		name string
		in   bool
	}{{"ab", true}, {"abc", true}, {"ab\x00", true}, {"a", false}, {"ac", false}, {"b", false}, {"", false}} {
		k := AppendString(nil, tc.name)
		in := bytes.Compare(k, p) >= 0 && bytes.Compare(k, end) < 0
		if in != tc.in {
			t.Errorf("name %q in prefix range = %v, want %v", tc.name, in, tc.in)
		}
	}
}

// FuzzKeyReader checks two properties: (1) decoding arbitrary bytes as a
// (string, uint64, string) tuple never panics and either fails with
// ErrKeyMalformed or re-encodes to exactly the input; (2) encoding any
// (string, uint64, string) decodes back to it.
func FuzzKeyReader(f *testing.F) {
	f.Add([]byte{}, "", uint64(0), "")
	f.Add(AppendString(AppendUint64(AppendString(nil, "q"), 7), "x"), "a\x00b", uint64(1), "\xff")
	f.Add([]byte("\x00\x00\x01"), "\x00\x01", uint64(math.MaxUint64), "")
	f.Fuzz(func(t *testing.T, raw []byte, s1 string, u uint64, s2 string) {
		r := NewKeyReader(raw)
		a, n, b := r.String(), r.Uint64(), r.String()
		if err := r.Done(); err == nil {
			again := AppendString(AppendUint64(AppendString(nil, a), n), b)
			if !bytes.Equal(again, raw) {
				t.Fatalf("decode/encode not identity: %x -> %x", raw, again)
			}
		}
		k := AppendString(AppendUint64(AppendString(nil, s1), u), s2)
		r = NewKeyReader(k)
		if a, n, b := r.String(), r.Uint64(), r.String(); r.Done() != nil || a != s1 || n != u || b != s2 {
			t.Fatalf("round trip of (%q, %d, %q) failed: (%q, %d, %q) %v", s1, u, s2, a, n, b, r.Err())
		}
	})
}
