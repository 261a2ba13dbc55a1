package kinesis

import (
	"encoding/binary"
	"hash/crc32"
)

// AWS event-stream framing (application/vnd.amazon.eventstream), used by
// SubscribeToShard. One message:
//
//	offset  size  field
//	0       4     total length (prelude + headers + payload + message CRC)
//	4       4     headers length
//	8       4     CRC32 (IEEE) of bytes 0..7
//	12      h     headers
//	12+h    p     payload
//	end-4   4     CRC32 (IEEE) of everything before it
//
// A header is: name length (1 byte), name, value type (1 byte; 7 = string),
// value length (2 bytes), value. All integers are big-endian. The encoder is
// append-style so an event with thousands of records costs one buffer; the
// tests decode its output with aws-sdk-go-v2's eventstream decoder.

const (
	eventStreamPreludeBytes = 12
	eventStreamCRCBytes     = 4
	eventStreamTypeString   = 7
)

// eventHeader is one string-valued header.
type eventHeader struct {
	name, value string
}

// beginEventMessage appends the prelude placeholder and the headers of a
// message whose payload the caller appends next; finishEventMessage fixes
// up the lengths and CRCs. start is len(dst) before the call.
func beginEventMessage(dst []byte, headers ...eventHeader) (out []byte, start int) {
	start = len(dst)
	dst = append(dst, make([]byte, eventStreamPreludeBytes)...)
	for _, h := range headers {
		dst = append(dst, byte(len(h.name)))
		dst = append(dst, h.name...)
		dst = append(dst, eventStreamTypeString, byte(len(h.value)>>8), byte(len(h.value)))
		dst = append(dst, h.value...)
	}
	headersLen := len(dst) - start - eventStreamPreludeBytes
	binary.BigEndian.PutUint32(dst[start+4:], uint32(headersLen))
	return dst, start
}

// finishEventMessage completes the message begun at start.
func finishEventMessage(dst []byte, start int) []byte {
	total := len(dst) - start + eventStreamCRCBytes
	binary.BigEndian.PutUint32(dst[start:], uint32(total))
	binary.BigEndian.PutUint32(dst[start+8:], crc32.ChecksumIEEE(dst[start:start+8]))
	return binary.BigEndian.AppendUint32(dst, crc32.ChecksumIEEE(dst[start:]))
}

// appendEventMessage appends a complete message with payload.
func appendEventMessage(dst []byte, payload []byte, headers ...eventHeader) []byte {
	dst, start := beginEventMessage(dst, headers...)
	dst = append(dst, payload...)
	return finishEventMessage(dst, start)
}
