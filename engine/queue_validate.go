package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
	"unicode/utf8"
)

// ErrInvalidMessageContents: a message body holds characters outside the
// set SQS allows (#x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD |
// #x10000-#x10FFFF) or is not valid UTF-8. Server maps it to
// InvalidMessageContents.
var ErrInvalidMessageContents = errors.New("engine: message contains characters outside the allowed set")

// Message limits.
const (
	// MessageAttributesMax is AWS's limit of user attributes per message.
	MessageAttributesMax = 10
	// fifoIDMaxBytes bounds MessageGroupId and MessageDeduplicationId.
	fifoIDMaxBytes = 128
	// ReceiveMaxMessages bounds ReceiveOptions.Max.
	ReceiveMaxMessages = 10
	// InflightMax is AWS's in-flight message limit per queue (standard and
	// FIFO): over it, Receive returns no messages.
	InflightMax = 120_000
	// dedupInterval is the FIFO deduplication interval and the lifetime of a
	// ReceiveRequestAttemptId.
	dedupInterval = 5 * time.Minute
	// purgeInterval is the minimum time between two purges of a queue, and
	// between deleting a queue and reusing its name.
	purgeInterval = 60 * time.Second
)

// validateSendMessage checks one message against the queue's rules and
// returns its size as SQS counts it (body plus attribute names, types and
// values).
func validateSendMessage(a *QueueAttributes, m *SendMessage) error {
	if len(m.Body) == 0 {
		return invalidf("Body", "must not be empty")
	}
	size := len(m.Body)
	if len(m.Attributes) > MessageAttributesMax {
		return invalidf("Attributes", "%d attributes, at most %d allowed", len(m.Attributes), MessageAttributesMax)
	}
	for i := range m.Attributes {
		at := &m.Attributes[i]
		if err := validateAttributeShape("Attributes", at); err != nil {
			return err
		}
		size += len(at.Name) + len(at.DataType) + len(at.StringValue) + len(at.BinaryValue)
	}
	for i := range m.SystemAttributes {
		if err := validateAttributeShape("SystemAttributes", &m.SystemAttributes[i]); err != nil {
			return err
		}
	}
	if size > a.MaximumMessageSizeBytes {
		return invalidf("Body", "message of %d bytes is longer than the queue's maximum of %d bytes", size, a.MaximumMessageSizeBytes)
	}
	if !m.BodyChecked && !validMessageChars(m.Body) {
		return fmt.Errorf("%w: body", ErrInvalidMessageContents)
	}
	if a.FIFO {
		return validateFIFOMessage(a, m)
	}
	if m.DeduplicationID != "" {
		return invalidf("DeduplicationID", "only valid on FIFO queues")
	}
	if m.GroupID != "" {
		if err := validateFIFOID("GroupID", m.GroupID); err != nil {
			return err
		}
	}
	if m.Delay != nil && (*m.Delay < 0 || *m.Delay > DelayMax) {
		return invalidf("Delay", "%s outside [0s, %s]", *m.Delay, DelayMax)
	}
	return nil
}

func validateFIFOMessage(a *QueueAttributes, m *SendMessage) error {
	if m.Delay != nil {
		return invalidf("Delay", "per-message delay is not valid on FIFO queues")
	}
	if m.GroupID == "" {
		return invalidf("GroupID", "required on FIFO queues")
	}
	if err := validateFIFOID("GroupID", m.GroupID); err != nil {
		return err
	}
	if m.DeduplicationID == "" {
		if !a.ContentBasedDeduplication {
			return invalidf("DeduplicationID", "required unless the queue has ContentBasedDeduplication")
		}
		return nil
	}
	return validateFIFOID("DeduplicationID", m.DeduplicationID)
}

// validateFIFOID checks a group or deduplication id: 1..128 characters of
// alphanumerics and ASCII punctuation.
func validateFIFOID(field, id string) error {
	if len(id) == 0 || len(id) > fifoIDMaxBytes {
		return invalidf(field, "length %d outside [1, %d]", len(id), fifoIDMaxBytes)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' {
			return invalidf(field, "character %q not alphanumeric or punctuation", c)
		}
	}
	return nil
}

// validateAttributeShape checks what the engine needs to store an
// attribute; the full AWS naming rules are checked by server.
func validateAttributeShape(field string, at *MessageAttribute) error {
	if at.Name == "" {
		return invalidf(field, "attribute name must not be empty")
	}
	dt := at.DataType
	base := dt
	for i := 0; i < len(dt); i++ {
		if dt[i] == '.' {
			base = dt[:i]
			break
		}
	}
	switch base {
	case "String", "Number", "Binary":
		return nil
	}
	return invalidf(field, "attribute %q has data type %q, want String, Number or Binary[.custom]", at.Name, dt)
}

// validMessageChars reports whether b is UTF-8 made only of the characters
// SQS accepts. ASCII is checked a byte at a time; only non-ASCII input pays
// for rune decoding.
func validMessageChars(b []byte) bool {
	const highBits, spaces = 0x8080808080808080, 0x2020202020202020
	i := 0
	// Fast path: 8 bytes at a time while they are printable ASCII (no byte
	// has its high bit set and none is below 0x20).
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		if w&highBits != 0 || (w-spaces)&^w&highBits != 0 {
			break
		}
	}
	for i < len(b) {
		c := b[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return false
		}
		if (r >= 0xD800 && r < 0xE000) || r == 0xFFFE || r == 0xFFFF {
			return false
		}
		i += n
	}
	return true
}

// newMessageID returns a random (version 4) UUID. math/rand/v2's global
// generator is a per-thread ChaCha8 seeded from the OS: unpredictable and
// far cheaper than crypto/rand per message.
func newMessageID() [16]byte {
	var id [16]byte
	hi, lo := rand.Uint64(), rand.Uint64()
	for i := 0; i < 8; i++ {
		id[i] = byte(hi >> (56 - 8*i))
		id[8+i] = byte(lo >> (56 - 8*i))
	}
	id[6] = id[6]&0x0f | 0x40 // version 4
	id[8] = id[8]&0x3f | 0x80 // RFC 4122 variant
	return id
}

// formatUUID renders id as 8-4-4-4-12 lower-case hex.
func formatUUID(id [16]byte) string {
	var out [uuidTextBytes]byte
	return string(appendUUID(out[:0], id[:]))
}

// appendUUID appends the 16 bytes of id as 8-4-4-4-12 lower-case hex
// (uuidTextBytes bytes).
func appendUUID(dst []byte, id []byte) []byte {
	const hexDigits = "0123456789abcdef"
	for i, b := range id[:16] {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hexDigits[b>>4], hexDigits[b&0x0f])
	}
	return dst
}

// fifoSequenceNumber renders a FIFO SequenceNumber for log seq: the decimal
// value 10^20 + seq, a 21-digit number (every uint64 is below 10^20) that
// increases with seq and fits in 128 bits. AWS documents it only as a
// large, non-consecutive, increasing number.
func fifoSequenceNumber(seq uint64) string {
	var out [fifoSequenceNumberBytes]byte
	return string(appendFIFOSequenceNumber(out[:0], seq))
}

// appendFIFOSequenceNumber appends fifoSequenceNumber(seq)
// (fifoSequenceNumberBytes bytes).
func appendFIFOSequenceNumber(dst []byte, seq uint64) []byte {
	var buf [20]byte
	b := strconv.AppendUint(buf[:0], seq, 10)
	dst = append(dst, '1')
	for i := len(b); i < 20; i++ {
		dst = append(dst, '0')
	}
	return append(dst, b...)
}
