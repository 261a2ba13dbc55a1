package kinesis

import (
	"bytes"
	"encoding/base64"
	"testing"
)

// checkBase64 compares the fast codecs with encoding/base64: encoding src
// must give the same text, and decoding text the same bytes, count and
// error.
func checkBase64(t *testing.T, src, text []byte) {
	t.Helper()
	want := base64.StdEncoding.AppendEncode([]byte("prefix"), src)
	if got := appendBase64([]byte("prefix"), src); !bytes.Equal(got, want) {
		t.Fatalf("encode %x: %q, want %q", src, got, want)
	}
	size := base64.StdEncoding.DecodedLen(len(text))
	wantBuf, gotBuf := make([]byte, size), make([]byte, size)
	wantN, wantErr := base64.StdEncoding.Decode(wantBuf, text)
	gotN, gotErr := decodeBase64(gotBuf, text)
	if gotN != wantN || (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) ||
		!bytes.Equal(gotBuf[:gotN], wantBuf[:wantN]) {
		t.Fatalf("decode %q: %d %v %x, want %d %v %x", text, gotN, gotErr, gotBuf[:gotN], wantN, wantErr, wantBuf[:wantN])
	}
}

// TestBase64 checks the fast codecs against encoding/base64 for every
// length up to 300 bytes, and decoding of malformed or unusual text.
func TestBase64(t *testing.T) {
	for n := range 300 {
		src := make([]byte, n)
		for i := range src {
			src[i] = byte(i*131 + n*7)
		}
		checkBase64(t, src, base64.StdEncoding.AppendEncode(nil, src))
	}
	for _, text := range []string{
		"", "AA==", "AAA=", "AAAA", "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=",
		"QUJDREVG\nR0hJSktMTU5PUFFSU1RVVldY",   // line break: skipped
		"QUJDREVGR0hJSktM=U5PUFFSU1RVVldY",     // padding inside
		"QUJDREVGR0hJSktMTU5PUFFS!1RVVldY",     // bad character
		"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWQ",   // unpadded tail
		"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWR==", // non-zero trailing bits
		"QUJDREVGR0hJSktMTU5PUFFSU1RVVldY\xff\xff\xff\xff",
	} {
		checkBase64(t, nil, []byte(text))
	}
}

// FuzzBase64 is a differential fuzz target: the fast codecs must agree
// with encoding/base64 on any input, as data to encode and as text to
// decode.
func FuzzBase64(f *testing.F) {
	f.Add([]byte("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="))
	f.Add([]byte("QUJDREVG\r\nR0hJSktMTU5PUFFSU1RVVldY"))
	f.Add([]byte{0, 1, 2, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		checkBase64(t, b, b)
	})
}
