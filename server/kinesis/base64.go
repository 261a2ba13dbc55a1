package kinesis

import (
	"encoding/base64"
	"slices"

	asmbase64 "github.com/segmentio/asm/base64"
)

// Record data crosses the JSON protocol as standard, padded base64, and
// encoding and decoding it is the largest per-byte cost of PutRecords and
// GetRecords (encoding/base64 moves one character per table lookup, ~1 µs
// per KiB). github.com/segmentio/asm/base64 does the bulk with AVX2 (arm64:
// NEON) and hands the rest to encoding/base64, ~8 GB/s decoding and ~5 GB/s
// encoding here against ~1.9 and ~2.5 GB/s for the 12-bit-table codec it
// replaced (and without that codec's 136 KiB of tables in the cache). Its
// output is byte-for-byte encoding/base64's (FuzzBase64 checks it).

// appendBase64 appends the standard base64 encoding of src to dst.
func appendBase64(dst, src []byte) []byte {
	n := base64.StdEncoding.EncodedLen(len(src))
	dst = slices.Grow(dst, n)
	asmbase64.StdEncoding.Encode(dst[len(dst):len(dst)+n], src)
	return dst[:len(dst)+n]
}

// decodeBase64 decodes src into dst (len(dst) >= DecodedLen(len(src))) as
// base64.StdEncoding.Decode does, with the same result and error.
func decodeBase64(dst, src []byte) (int, error) {
	n, err := asmbase64.StdEncoding.Decode(dst, src)
	if err != nil {
		// The accelerated decoder reports offsets from where its vector
		// loop stopped; encoding/base64's count from src.
		return base64.StdEncoding.Decode(dst, src)
	}
	return n, nil
}
