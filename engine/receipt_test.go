package engine

import (
	"bytes"
	"errors"
	"testing"
)

// TestReceiptRoundTrip checks that every encoded receipt parses back to the
// same fields and that each single-byte change or truncation is rejected as
// ErrReceiptInvalid (the checksum and the strict layout catch them).
func TestReceiptRoundTrip(t *testing.T) {
	for _, r := range []receipt{
		{entity: 1, seq: 1, generation: 1},
		{entity: 42, seq: 1 << 40, generation: 7},
		{entity: ^uint64(0), seq: ^uint64(0), generation: ^uint32(0)},
	} {
		b := appendReceipt(nil, r)
		if len(b) != receiptSizeBytes {
			t.Fatalf("len %d, want %d", len(b), receiptSizeBytes)
		}
		got, err := parseReceipt(b)
		if err != nil || got != r {
			t.Fatalf("parse(%x) = %+v, %v; want %+v", b, got, err, r)
		}
		for i := range b {
			c := bytes.Clone(b)
			c[i] ^= 0x10
			if _, err := parseReceipt(c); !errors.Is(err, ErrReceiptInvalid) {
				t.Fatalf("flipped byte %d: err %v, want ErrReceiptInvalid", i, err)
			}
		}
		for n := 0; n < len(b); n++ {
			if _, err := parseReceipt(b[:n]); !errors.Is(err, ErrReceiptInvalid) {
				t.Fatalf("truncated to %d: err %v", n, err)
			}
		}
		if _, err := parseReceipt(append(bytes.Clone(b), 0)); !errors.Is(err, ErrReceiptInvalid) {
			t.Fatalf("extended: err %v", err)
		}
	}
	// Zero seq or generation is never issued, so it is rejected even with a
	// valid checksum.
	for _, r := range []receipt{{entity: 1, seq: 0, generation: 1}, {entity: 1, seq: 1, generation: 0}} {
		if _, err := parseReceipt(appendReceipt(nil, r)); !errors.Is(err, ErrReceiptInvalid) {
			t.Fatalf("%+v: err %v, want ErrReceiptInvalid", r, err)
		}
	}
}

// FuzzParseReceipt checks that the receipt parser never panics, accepts
// only canonical encodings (re-encoding a parsed receipt gives the input
// back) and fails only with ErrReceiptInvalid.
func FuzzParseReceipt(f *testing.F) {
	f.Add(appendReceipt(nil, receipt{entity: 3, seq: 99, generation: 2}))
	f.Add([]byte{})
	f.Add([]byte("AQAAAAAAAAA"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseReceipt(b)
		if err != nil {
			if !errors.Is(err, ErrReceiptInvalid) {
				t.Fatalf("error %v does not wrap ErrReceiptInvalid", err)
			}
			return
		}
		if again := appendReceipt(nil, r); !bytes.Equal(again, b) {
			t.Fatalf("non-canonical receipt accepted: %x re-encodes to %x", b, again)
		}
	})
}
