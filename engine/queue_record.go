package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A queue message is one segment record: Payload is the body, Key is the
// compact binary "key block" below, Timestamp is the append time. The
// FIFO sequence number is not stored: it derives from the log seq.
//
// Key block, version 1 (on-disk format: never change; a new layout gets a
// new version byte):
//
//	version      u8   = 1
//	flags        u8   bit set of the optional fields below, in this order
//	message id   16 bytes (UUID)
//	[delayUntil] uvarint unix nanoseconds     flag recDelay
//	[sentAt]     uvarint unix nanoseconds     flag recSent (original send time of a moved message)
//	[groupID]    str                          flag recGroup
//	[dedupID]    str                          flag recDedup
//	[senderID]   str                          flag recSender
//	[attributes] attrs                        flag recAttrs
//	[system]     attrs                        flag recSystem
//	[dlSource]   str account, str region, str name   flag recDLSource
//
//	str   = uvarint length, bytes
//	attrs = uvarint count (1..recordAttrsMax), then per attribute:
//	        str name, str dataType, u8 kind (0 string, 1 binary), str value
//
// Decoding is strict: unknown flags, trailing bytes, out-of-range lengths
// and counts, and empty optional fields whose flag is set are errors.
type messageRecord struct {
	id               [16]byte
	delayUntil       int64 // unix nanoseconds; 0 = not delayed
	sentAt           int64 // unix nanoseconds; 0 = the record timestamp
	groupID          string
	dedupID          string
	senderID         string
	attributes       []MessageAttribute
	systemAttributes []MessageAttribute
	deadLetterSource *QueueRef
}

const (
	recordVersion1 = 1

	recDelay    = 1 << 0
	recSent     = 1 << 1
	recGroup    = 1 << 2
	recDedup    = 1 << 3
	recSender   = 1 << 4
	recAttrs    = 1 << 5
	recSystem   = 1 << 6
	recDLSource = 1 << 7

	// recordAttrsMax bounds attributes per list; AWS allows 10 user
	// attributes, the slack admits system attributes and future ones.
	recordAttrsMax = 64
	// recordStringMaxBytes bounds one string field: the key block is at
	// most 64 KiB (segment limit) anyway.
	recordStringMaxBytes = 64 << 10
	attrKindString       = 0
	attrKindBinary       = 1
)

// errRecordMalformed marks a key block that does not decode. Records come
// from the engine itself, so it means corruption or a bug.
var errRecordMalformed = errors.New("engine: malformed queue record")

// appendMessageRecord appends the key block of m to dst.
func appendMessageRecord(dst []byte, m *messageRecord) []byte {
	var flags byte
	if m.delayUntil > 0 {
		flags |= recDelay
	}
	if m.sentAt > 0 {
		flags |= recSent
	}
	if m.groupID != "" {
		flags |= recGroup
	}
	if m.dedupID != "" {
		flags |= recDedup
	}
	if m.senderID != "" {
		flags |= recSender
	}
	if len(m.attributes) > 0 {
		flags |= recAttrs
	}
	if len(m.systemAttributes) > 0 {
		flags |= recSystem
	}
	if m.deadLetterSource != nil {
		flags |= recDLSource
	}
	dst = append(dst, recordVersion1, flags)
	dst = append(dst, m.id[:]...)
	if flags&recDelay != 0 {
		dst = binary.AppendUvarint(dst, uint64(m.delayUntil))
	}
	if flags&recSent != 0 {
		dst = binary.AppendUvarint(dst, uint64(m.sentAt))
	}
	if flags&recGroup != 0 {
		dst = appendRecordString(dst, m.groupID)
	}
	if flags&recDedup != 0 {
		dst = appendRecordString(dst, m.dedupID)
	}
	if flags&recSender != 0 {
		dst = appendRecordString(dst, m.senderID)
	}
	if flags&recAttrs != 0 {
		dst = appendRecordAttrs(dst, m.attributes)
	}
	if flags&recSystem != 0 {
		dst = appendRecordAttrs(dst, m.systemAttributes)
	}
	if flags&recDLSource != 0 {
		dst = appendRecordString(dst, m.deadLetterSource.Account)
		dst = appendRecordString(dst, m.deadLetterSource.Region)
		dst = appendRecordString(dst, m.deadLetterSource.Name)
	}
	return dst
}

func appendRecordString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendRecordBytes(dst []byte, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

func appendRecordAttrs(dst []byte, attrs []MessageAttribute) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(attrs)))
	for i := range attrs {
		a := &attrs[i]
		dst = appendRecordString(dst, a.Name)
		dst = appendRecordString(dst, a.DataType)
		if isBinaryDataType(a.DataType) {
			dst = append(dst, attrKindBinary)
			dst = appendRecordBytes(dst, a.BinaryValue)
		} else {
			dst = append(dst, attrKindString)
			dst = appendRecordString(dst, a.StringValue)
		}
	}
	return dst
}

// isBinaryDataType reports whether an attribute data type ("Binary" or
// "Binary.custom") carries a binary value.
func isBinaryDataType(dataType string) bool {
	return len(dataType) >= 6 && dataType[:6] == "Binary" && (len(dataType) == 6 || dataType[6] == '.')
}

// recordReader decodes with a sticky error: read every field, check once.
type recordReader struct {
	buf []byte
	off int
	err error
}

func (r *recordReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s at offset %d", errRecordMalformed, what, r.off)
	}
}

func (r *recordReader) byte1() byte {
	if r.err != nil || r.off >= len(r.buf) {
		r.fail("short byte")
		return 0
	}
	b := r.buf[r.off]
	r.off++
	return b
}

func (r *recordReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.buf[r.off:])
	if n <= 0 {
		r.fail("bad uvarint")
		return 0
	}
	r.off += n
	return v
}

// positiveInt64 reads a uvarint that must be a positive int64.
func (r *recordReader) positiveInt64() int64 {
	v := r.uvarint()
	if r.err == nil && (v == 0 || v > 1<<63-1) {
		r.fail("time out of range")
		return 0
	}
	return int64(v)
}

func (r *recordReader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > recordStringMaxBytes || n > uint64(len(r.buf)-r.off) {
		r.fail("string length out of range")
		return nil
	}
	b := r.buf[r.off : r.off+int(n)]
	r.off += int(n)
	return b
}

func (r *recordReader) str() string { return string(r.bytes()) }

// nonEmpty reads a string that must not be empty (its presence flag says so).
func (r *recordReader) nonEmpty() string {
	s := r.str()
	if r.err == nil && s == "" {
		r.fail("empty flagged field")
	}
	return s
}

func (r *recordReader) attrs() []MessageAttribute {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n == 0 || n > recordAttrsMax {
		r.fail("attribute count out of range")
		return nil
	}
	out := make([]MessageAttribute, n)
	for i := range out {
		a := &out[i]
		a.Name = r.str()
		a.DataType = r.str()
		kind := r.byte1()
		if r.err == nil && (kind == attrKindBinary) != isBinaryDataType(a.DataType) {
			r.fail("attribute kind does not match its data type")
		}
		switch kind {
		case attrKindString:
			a.StringValue = r.str()
		case attrKindBinary:
			if b := r.bytes(); b != nil {
				a.BinaryValue = append([]byte{}, b...)
			} else {
				a.BinaryValue = []byte{}
			}
		default:
			r.fail("unknown attribute kind")
		}
		if r.err != nil {
			return nil
		}
	}
	return out
}

// decodeMessageRecord parses a key block into m. Strings and attribute
// values are copied, so key may be a borrowed slice.
func decodeMessageRecord(key []byte, m *messageRecord) error {
	*m = messageRecord{}
	r := recordReader{buf: key}
	if v := r.byte1(); r.err == nil && v != recordVersion1 {
		return fmt.Errorf("%w: version %d", errRecordMalformed, v)
	}
	flags := r.byte1()
	if r.err == nil && len(key)-r.off < 16 {
		r.fail("short message id")
	}
	if r.err != nil {
		return r.err
	}
	copy(m.id[:], key[r.off:r.off+16])
	r.off += 16
	if flags&recDelay != 0 {
		m.delayUntil = r.positiveInt64()
	}
	if flags&recSent != 0 {
		m.sentAt = r.positiveInt64()
	}
	if flags&recGroup != 0 {
		m.groupID = r.nonEmpty()
	}
	if flags&recDedup != 0 {
		m.dedupID = r.nonEmpty()
	}
	if flags&recSender != 0 {
		m.senderID = r.nonEmpty()
	}
	if flags&recAttrs != 0 {
		m.attributes = r.attrs()
	}
	if flags&recSystem != 0 {
		m.systemAttributes = r.attrs()
	}
	if flags&recDLSource != 0 {
		src := &QueueRef{}
		src.Account, src.Region, src.Name = r.str(), r.str(), r.nonEmpty()
		m.deadLetterSource = src
	}
	if r.err == nil && r.off != len(key) {
		r.fail("trailing bytes")
	}
	return r.err
}

// peekRecordSchedule returns the delay-until time and group id of a key
// block without decoding attributes: the receive path needs only these to
// decide whether a message can be delivered now. The group id string
// allocates only on FIFO records.
func peekRecordSchedule(key []byte) (delayUntil int64, groupID string, err error) {
	r := recordReader{buf: key}
	if v := r.byte1(); r.err == nil && v != recordVersion1 {
		return 0, "", fmt.Errorf("%w: version %d", errRecordMalformed, v)
	}
	flags := r.byte1()
	r.off += 16
	if r.err == nil && r.off > len(key) {
		r.fail("short message id")
	}
	if flags&recDelay != 0 {
		delayUntil = r.positiveInt64()
	}
	if flags&recSent != 0 {
		r.positiveInt64()
	}
	if flags&recGroup != 0 {
		groupID = r.nonEmpty()
	}
	if r.err != nil {
		return 0, "", r.err
	}
	return delayUntil, groupID, nil
}
