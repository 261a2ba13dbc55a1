package sqs

import (
	"bytes"
	"testing"
)

// TestReceiptHandleRoundTrip checks that handles decode to the bytes they
// encode and that malformed handles are refused.
func TestReceiptHandleRoundTrip(t *testing.T) {
	for _, raw := range [][]byte{{1}, {0xff, 0xfe, 0}, bytes.Repeat([]byte{7}, 25)} {
		h := appendReceiptHandle(nil, raw)
		got, ok := decodeReceiptHandle(nil, string(h))
		if !ok || !bytes.Equal(got, raw) {
			t.Errorf("round trip of %x via %q = %x, %v", raw, h, got, ok)
		}
	}
	for _, bad := range []string{"", "!!!", "a", string(bytes.Repeat([]byte{'A'}, receiptHandleLengthMax+1)), "AA=="} {
		if _, ok := decodeReceiptHandle(nil, bad); ok {
			t.Errorf("decodeReceiptHandle(%q) accepted", bad)
		}
	}
}

// FuzzDecodeReceiptHandle checks that decoding never panics and that every
// accepted handle re-encodes to itself (the encoding is canonical).
func FuzzDecodeReceiptHandle(f *testing.F) {
	f.Add("AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGQ")
	f.Add("")
	f.Add("____")
	f.Fuzz(func(t *testing.T, handle string) {
		raw, ok := decodeReceiptHandle(nil, handle)
		if !ok {
			return
		}
		if back := string(appendReceiptHandle(nil, raw)); back != handle {
			t.Fatalf("handle %q decoded to %x, re-encoded as %q", handle, raw, back)
		}
	})
}
