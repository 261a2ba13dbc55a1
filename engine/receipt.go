package engine

import (
	"encoding/binary"
	"fmt"

	"github.com/cespare/xxhash/v2"
)

// A receipt names one delivery of one message: the queue (by its stable
// entity id, so a receipt of a deleted-and-recreated queue never matches the
// new one), the message's log sequence and the delivery generation (the
// message's receive count at that delivery). Every delivery of a message has
// a new generation, so a receipt from an earlier delivery is recognisably
// stale.
//
// Wire layout, version 1, 25 bytes, little-endian:
//
//	+---------+-------------+----------+----------------+-----------------+
//	| ver (1) | entity (8)  | seq (8)  | generation (4) | check (4)       |
//	+---------+-------------+----------+----------------+-----------------+
//
// check is the low 32 bits of xxhash64 over the first 21 bytes. It is not a
// security measure (receipts are not secrets in SQS either); it makes random
// or truncated input fail as ErrReceiptInvalid instead of naming some other
// message. The parser accepts exactly this layout and nothing else.
type receipt struct {
	entity     uint64
	seq        uint64
	generation uint32
}

// On-disk/wire format: never change. A new layout gets a new version byte.
const (
	receiptVersion1  = 1
	receiptSizeBytes = 25
	receiptBodyBytes = 21
)

// appendReceipt appends the encoding of r to dst.
func appendReceipt(dst []byte, r receipt) []byte {
	start := len(dst)
	dst = append(dst, receiptVersion1)
	dst = binary.LittleEndian.AppendUint64(dst, r.entity)
	dst = binary.LittleEndian.AppendUint64(dst, r.seq)
	dst = binary.LittleEndian.AppendUint32(dst, r.generation)
	sum := uint32(xxhash.Sum64(dst[start : start+receiptBodyBytes]))
	return binary.LittleEndian.AppendUint32(dst, sum)
}

// parseReceipt decodes b strictly. Any deviation from the layout (length,
// version, checksum, a zero sequence or generation, which are never issued)
// returns an error wrapping ErrReceiptInvalid.
func parseReceipt(b []byte) (receipt, error) {
	if len(b) != receiptSizeBytes {
		return receipt{}, fmt.Errorf("%w: %d bytes, want %d", ErrReceiptInvalid, len(b), receiptSizeBytes)
	}
	if b[0] != receiptVersion1 {
		return receipt{}, fmt.Errorf("%w: version %d", ErrReceiptInvalid, b[0])
	}
	want := binary.LittleEndian.Uint32(b[receiptBodyBytes:])
	if got := uint32(xxhash.Sum64(b[:receiptBodyBytes])); got != want {
		return receipt{}, fmt.Errorf("%w: checksum mismatch", ErrReceiptInvalid)
	}
	r := receipt{
		entity:     binary.LittleEndian.Uint64(b[1:9]),
		seq:        binary.LittleEndian.Uint64(b[9:17]),
		generation: binary.LittleEndian.Uint32(b[17:21]),
	}
	if r.seq == 0 || r.generation == 0 {
		return receipt{}, fmt.Errorf("%w: zero sequence or generation", ErrReceiptInvalid)
	}
	return r, nil
}
