package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// A queue message is one segment record: Payload is the body, Key is the
// compact binary "key block" below, Timestamp is the append time. The
// FIFO sequence number is not stored: it derives from the log seq.
//
// Key block, versions 1, 2 and 3 (on-disk format: never change; a new
// layout gets a new version byte):
//
//	version      u8   = 1, 2 or 3
//	flags        u8   bit set of the optional fields below, in this order
//	message id   16 bytes (UUID)
//	[v3flags]    u8   version 3 only: bit 0 (rec3Digest) = a digest follows;
//	                  the other bits are zero
//	[digest]     16 bytes: the sender's body digest   version 2; version 3 if rec3Digest
//	[receives]   uvarint >= 1: receives before a dead-letter move       version 3 only
//	[firstRecv]  uvarint unix nanoseconds > 0: the first of those        version 3 only
//	[delayUntil] uvarint unix nanoseconds     flag recDelay
//	[sentAt]     uvarint unix nanoseconds     flag recSent (send time of a moved message: the
//	                                          original send for redrive, the move for a move task)
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
// Version 1 is written for a message without a digest, version 2 for one
// with a digest. Version 3 is written only by dead-letter redrive (a
// receive past MaxReceiveCount, redrive.go): it carries the message's
// receive count and first receive time from the source queue, because
// AWS's ApproximateReceiveCount counts receives "across all queues" and
// ApproximateFirstReceiveTimestamp keeps the first receive in the source
// (NOTES-queue.md has the evidence). The count lives in the record, not
// in the index, so it survives a restart between the move and the first
// receive from the dead-letter queue. Sends never write version 3, so
// their records stay byte for byte as before. The flags byte has no free
// bit, hence the version 3 flags byte for what follows the id.
//
// Where retention counts from (recordSchedule.retentionFrom): the send
// time (sentAt, else the record timestamp), except for a message that
// dead-letter redrive moved into a FIFO queue (recDLSource set in a FIFO
// queue's log), whose retention counts from the move, i.e. the record
// timestamp: AWS resets a FIFO message's enqueue timestamp when it moves
// it to the dead-letter queue, and keeps it for standard queues
// (NOTES-queue.md). Its sentAt still holds the original send, reported as
// its send time. This is a reading of fields every version already has:
// the layout is unchanged, so records written before it (by older
// binaries too) follow it as well.
//
// Decoding is strict: unknown flags, trailing bytes, out-of-range lengths
// and counts, and empty optional fields whose flag is set are errors.
type messageRecord struct {
	id               [16]byte
	digest           [16]byte // the sender's body digest, if hasDigest
	hasDigest        bool     // version 2, or version 3 with rec3Digest
	receiveCount     uint32   // receives before a dead-letter move (version 3); 0 = none
	firstReceivedAt  int64    // unix nanoseconds: the first of them (version 3)
	delayUntil       int64    // unix nanoseconds; 0 = not delayed
	sentAt           int64    // unix nanoseconds; 0 = the record timestamp
	groupID          string
	dedupID          string
	senderID         string
	attributes       []MessageAttribute
	systemAttributes []MessageAttribute
	deadLetterSource *QueueRef
}

const (
	recordVersion1 = 1
	// recordVersion2 adds the body digest (SendMessage.BodyDigest) after
	// the message id; written whenever the sender supplies one.
	recordVersion2 = 2
	// recordVersion3 adds the receive count and first receive time of a
	// message moved by dead-letter redrive, after the id and the optional
	// digest (flagged in a second flags byte).
	recordVersion3 = 3

	recDelay    = 1 << 0
	recSent     = 1 << 1
	recGroup    = 1 << 2
	recDedup    = 1 << 3
	recSender   = 1 << 4
	recAttrs    = 1 << 5
	recSystem   = 1 << 6
	recDLSource = 1 << 7

	// rec3Digest is the only bit of the version 3 flags byte.
	rec3Digest = 1 << 0

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
	switch {
	case m.receiveCount > 0:
		var flags3 byte
		if m.hasDigest {
			flags3 |= rec3Digest
		}
		dst = append(dst, recordVersion3, flags)
		dst = append(dst, m.id[:]...)
		dst = append(dst, flags3)
		if m.hasDigest {
			dst = append(dst, m.digest[:]...)
		}
		dst = binary.AppendUvarint(dst, uint64(m.receiveCount))
		dst = binary.AppendUvarint(dst, uint64(m.firstReceivedAt))
	case m.hasDigest:
		dst = append(dst, recordVersion2, flags)
		dst = append(dst, m.id[:]...)
		dst = append(dst, m.digest[:]...)
	default:
		dst = append(dst, recordVersion1, flags)
		dst = append(dst, m.id[:]...)
	}
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

// recordBytes is what a key block is decoded from: a borrowed []byte
// (strings are copied out of it) or a string (strings are substrings of
// it: no allocation). The receive path copies the key blocks of one call
// into one buffer, converts it to one string and decodes from that.
type recordBytes interface{ ~[]byte | ~string }

// recordReader decodes with a sticky error: read every field, check once.
type recordReader[T recordBytes] struct {
	buf T
	off int
	err error
}

func (r *recordReader[T]) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s at offset %d", errRecordMalformed, what, r.off)
	}
}

func (r *recordReader[T]) byte1() byte {
	if r.err != nil || r.off >= len(r.buf) {
		r.fail("short byte")
		return 0
	}
	b := r.buf[r.off]
	r.off++
	return b
}

// uvarint reads an unsigned varint as binary.Uvarint does, except that a
// non-minimal encoding (a final zero byte after a continuation byte) is
// malformed: every value has one encoding, as binary.AppendUvarint writes.
func (r *recordReader[T]) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	var x uint64
	var s uint
	for i := 0; r.off+i < len(r.buf); i++ {
		if i == binary.MaxVarintLen64 {
			break // overflow
		}
		b := r.buf[r.off+i]
		if b < 0x80 {
			if i == binary.MaxVarintLen64-1 && b > 1 {
				break // overflow
			}
			if b == 0 && i > 0 {
				r.fail("non-minimal varint")
				return 0
			}
			r.off += i + 1
			return x | uint64(b)<<s
		}
		x |= uint64(b&0x7f) << s
		s += 7
	}
	r.fail("bad uvarint")
	return 0
}

// varint reads a signed (zig-zag) varint exactly as binary.Varint does.
func (r *recordReader[T]) varint() int64 {
	ux := r.uvarint()
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x
}

// positiveInt64 reads a uvarint that must be a positive int64.
func (r *recordReader[T]) positiveInt64() int64 {
	v := r.uvarint()
	if r.err == nil && (v == 0 || v > 1<<63-1) {
		r.fail("time out of range")
		return 0
	}
	return int64(v)
}

// receiveState reads the receive count (1 to 2^32-1) and first receive
// time (positive) of a version 3 key block.
func (r *recordReader[T]) receiveState() (uint32, int64) {
	count := r.uvarint()
	if r.err == nil && (count == 0 || count > 1<<32-1) {
		r.fail("receive count out of range")
		return 0, 0
	}
	first := r.positiveInt64()
	if r.err != nil {
		return 0, 0
	}
	return uint32(count), first
}

func (r *recordReader[T]) bytes() T {
	var none T
	n := r.uvarint()
	if r.err != nil {
		return none
	}
	if n > recordStringMaxBytes || n > uint64(len(r.buf)-r.off) {
		r.fail("string length out of range")
		return none
	}
	b := r.buf[r.off : r.off+int(n)]
	r.off += int(n)
	return b
}

// str reads a string: a copy from a []byte, a substring of a string.
func (r *recordReader[T]) str() string { return string(r.bytes()) }

// nonEmpty reads a string that must not be empty (its presence flag says so).
func (r *recordReader[T]) nonEmpty() string {
	s := r.str()
	if r.err == nil && s == "" {
		r.fail("empty flagged field")
	}
	return s
}

// decodeArena, when given to the decoder, supplies attribute slices and
// binary values from shared buffers instead of one allocation each. Slices
// handed out are capped (appending to one never overwrites a neighbour);
// growing a buffer leaves earlier slices on the old array, intact.
type decodeArena struct {
	attrs []MessageAttribute
	data  []byte
	// expect is how many key blocks the caller will still decode (with
	// this one): a growing attrs buffer makes room for that many lists of
	// the current one's length.
	expect int
}

func (a *decodeArena) attrSlice(n int) []MessageAttribute {
	if a == nil {
		return make([]MessageAttribute, n)
	}
	start := len(a.attrs)
	if cap(a.attrs)-start < n {
		a.attrs = slices.Grow(a.attrs, n*max(a.expect, 1))
	}
	a.attrs = a.attrs[:start+n]
	out := a.attrs[start : start+n : start+n]
	clear(out)
	return out
}

// arenaCopy copies b into a's data buffer (a nil: a new slice).
func arenaCopy[T recordBytes](a *decodeArena, b T) []byte {
	if a == nil || len(b) == 0 {
		return append([]byte{}, b...)
	}
	start := len(a.data)
	a.data = append(a.data, b...)
	return a.data[start:len(a.data):len(a.data)]
}

func (r *recordReader[T]) attrs(a *decodeArena) []MessageAttribute {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n == 0 || n > recordAttrsMax {
		r.fail("attribute count out of range")
		return nil
	}
	out := a.attrSlice(int(n))
	for i := range out {
		at := &out[i]
		at.Name = r.str()
		at.DataType = r.str()
		kind := r.byte1()
		if r.err == nil && (kind == attrKindBinary) != isBinaryDataType(at.DataType) {
			r.fail("attribute kind does not match its data type")
		}
		switch kind {
		case attrKindString:
			at.StringValue = r.str()
		case attrKindBinary:
			v := r.bytes()
			if r.err == nil {
				at.BinaryValue = arenaCopy(a, v)
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
	return decodeRecord(key, m, nil)
}

// decodeRecord parses a key block into m. From a string, m's strings are
// substrings of key; attribute slices and binary values come from a (nil:
// allocated).
func decodeRecord[T recordBytes](key T, m *messageRecord, a *decodeArena) error {
	*m = messageRecord{}
	r := recordReader[T]{buf: key}
	version := r.byte1()
	if r.err == nil && (version < recordVersion1 || version > recordVersion3) {
		return fmt.Errorf("%w: version %d", errRecordMalformed, version)
	}
	flags := r.byte1()
	if r.err == nil && len(key)-r.off < 16 {
		r.fail("short message id")
	}
	if r.err != nil {
		return r.err
	}
	for i := range m.id {
		m.id[i] = key[r.off+i]
	}
	r.off += 16
	hasDigest := version == recordVersion2
	if version == recordVersion3 {
		flags3 := r.byte1()
		if r.err == nil && flags3&^rec3Digest != 0 {
			r.fail("unknown version 3 flags")
		}
		if r.err != nil {
			return r.err
		}
		hasDigest = flags3&rec3Digest != 0
	}
	if hasDigest {
		if len(key)-r.off < 16 {
			r.fail("short body digest")
			return r.err
		}
		for i := range m.digest {
			m.digest[i] = key[r.off+i]
		}
		m.hasDigest = true
		r.off += 16
	}
	if version == recordVersion3 {
		m.receiveCount, m.firstReceivedAt = r.receiveState()
	}
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
		m.attributes = r.attrs(a)
	}
	if flags&recSystem != 0 {
		m.systemAttributes = r.attrs(a)
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

// recordSchedule is what the receive path needs of a key block to decide
// whether and when a message can be delivered.
type recordSchedule struct {
	delayUntil int64  // 0 = not delayed
	sentAt     int64  // 0 = the record timestamp
	groupID    []byte // borrowed from the key block; nil if none
	// receiveCount and firstReceivedAt: the receive state a dead-letter
	// move carried over (version 3); 0 = none.
	receiveCount    uint32
	firstReceivedAt int64
	// deadLetterMoved: dead-letter redrive wrote the record (recDLSource).
	deadLetterMoved bool
}

// retentionFrom returns the unix nanoseconds the retention of a record
// with schedule s and log timestamp timestamp counts from, in a FIFO queue
// (fifo) or a standard one: the record timestamp (the move) for a message
// dead-letter redrive moved into a FIFO queue (AWS: "For FIFO queues, the
// enqueue timestamp resets when the message is moved to a dead-letter
// queue"), else its send time. A move task clears the dead-letter source,
// and its records' sentAt is the move anyway.
func (s *recordSchedule) retentionFrom(fifo bool, timestamp int64) int64 {
	if (fifo && s.deadLetterMoved) || s.sentAt == 0 {
		return timestamp
	}
	return s.sentAt
}

// peekRecordSchedule decodes the schedule fields of a key block without
// allocating (the group id is borrowed from key).
func peekRecordSchedule(key []byte) (recordSchedule, error) {
	var s recordSchedule
	r := recordReader[[]byte]{buf: key}
	version := r.byte1()
	if r.err == nil && (version < recordVersion1 || version > recordVersion3) {
		return s, fmt.Errorf("%w: version %d", errRecordMalformed, version)
	}
	flags := r.byte1()
	r.off += 16
	if r.err == nil && r.off > len(key) {
		r.fail("short message id")
	}
	switch version {
	case recordVersion2:
		r.off += 16 // body digest
	case recordVersion3:
		flags3 := r.byte1()
		if r.err == nil && flags3&^rec3Digest != 0 {
			r.fail("unknown version 3 flags")
		}
		if flags3&rec3Digest != 0 {
			r.off += 16
		}
	}
	if r.err == nil && r.off > len(key) {
		r.fail("short body digest")
	}
	if version == recordVersion3 {
		s.receiveCount, s.firstReceivedAt = r.receiveState()
	}
	if flags&recDelay != 0 {
		s.delayUntil = r.positiveInt64()
	}
	if flags&recSent != 0 {
		s.sentAt = r.positiveInt64()
	}
	s.deadLetterMoved = flags&recDLSource != 0
	if flags&recGroup != 0 {
		s.groupID = r.bytes()
		if r.err == nil && len(s.groupID) == 0 {
			r.fail("empty flagged field")
		}
	}
	if r.err != nil {
		return recordSchedule{}, r.err
	}
	return s, nil
}

// recordHeaderBytes is the fixed start of a key block: version, flags,
// message id.
const recordHeaderBytes = 18

// recordMessageID returns the message id bytes of a key block of at least
// recordHeaderBytes.
func recordMessageID(key []byte) []byte { return key[2:recordHeaderBytes] }
