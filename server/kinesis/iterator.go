package kinesis

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"sync/atomic"
	"time"
)

// Shard iterators.
//
// A shard iterator is an opaque, tamper-evident token over a read position:
//
//	offset  size  field
//	0       1     version (2)
//	1       8     stream entity id (engine StreamInfo.EntityID), big-endian
//	9       4     shard index
//	13      8     log sequence to read next
//	21      8     issued at, Unix milliseconds
//	29      4     serial: the issuing codec's counter
//	33      1+a   account: length byte, bytes (≤ 64)
//	…       1+r   region: length byte, bytes (≤ 64)
//	…       1+n   stream name: length byte, bytes (≤ 128)
//	end-16  16    HMAC-SHA256 over everything before it, truncated to 128 bits
//
// encoded with standard base64 (at most 412 characters; AWS allows 512).
// The serial makes every iterator issued distinct, as AWS's are: a
// GetRecords that reads nothing answers a NextShardIterator other than the
// one it was given even within one millisecond (LocalStack's AWS-validated
// test_get_records_next_shard_iterator). Version 1 iterators (no serial,
// issued before the serial was added) still decode, so a restart onto this
// version keeps iterators valid.
//
// GetRecords takes nothing but the iterator, so it carries the stream's
// namespace and name; the entity id then proves it is the same stream. The
// MAC key comes from the engine's persistent secret store, so iterators
// survive restarts the way AWS iterators survive server failover, and a
// client cannot forge one for another stream or position. The entity id
// makes an iterator of a deleted-and-recreated stream invalid.

const (
	iteratorVersion      = 2
	iteratorVersion1     = 1
	iteratorFixedBytes   = 33
	iteratorFixedBytesV1 = 29
	iteratorMACBytes     = 16
	iteratorStringMax    = 128
	iteratorBytesMax     = iteratorFixedBytes + 3 + 64 + 64 + iteratorStringMax + iteratorMACBytes
	iteratorNSFieldMax   = 64
)

// iteratorSecretName is the engine secret the MAC key derives from.
const iteratorSecretName = "kinesis-iterator"

// errIteratorInvalid reports an iterator that does not decode or whose MAC
// does not match. Handlers turn it into InvalidArgumentException.
var errIteratorInvalid = errors.New("kinesis: invalid shard iterator")

// shardIterator is a decoded shard iterator.
type shardIterator struct {
	account  string
	region   string
	stream   string
	entityID uint64
	shard    uint32
	seq      uint64
	issued   time.Time // millisecond precision
	serial   uint32
	// v1 marks an iterator in the version 1 layout (no serial); only
	// decode sets it, so a decoded iterator re-encodes to its token.
	v1 bool
}

// iteratorCodec signs and verifies iterators with one key.
type iteratorCodec struct {
	key    []byte
	serial atomic.Uint32
}

// issue encodes it with the codec's next serial, so no two iterators it
// issues are the same token.
func (c *iteratorCodec) issue(it shardIterator) string {
	it.v1 = false
	it.serial = c.serial.Add(1)
	return c.encode(it)
}

// mac computes the truncated HMAC of payload into out.
func (c *iteratorCodec) mac(payload []byte, out *[sha256.Size]byte) {
	h := hmac.New(sha256.New, c.key)
	h.Write(payload) // hash.Hash.Write never fails
	h.Sum(out[:0])
}

// encode returns the base64 token for it. Fields longer than their limits
// (which the engine's namespace and name validation excludes) are cut, so
// such an iterator just fails to resolve.
func (c *iteratorCodec) encode(it shardIterator) string {
	var buf [iteratorBytesMax]byte
	raw := buf[:iteratorFixedBytes]
	raw[0] = iteratorVersion
	if it.v1 {
		raw = buf[:iteratorFixedBytesV1]
		raw[0] = iteratorVersion1
	}
	binary.BigEndian.PutUint64(raw[1:9], it.entityID)
	binary.BigEndian.PutUint32(raw[9:13], it.shard)
	binary.BigEndian.PutUint64(raw[13:21], it.seq)
	binary.BigEndian.PutUint64(raw[21:29], uint64(it.issued.UnixMilli()))
	if !it.v1 {
		binary.BigEndian.PutUint32(raw[29:33], it.serial)
	}
	raw = appendShortString(raw, it.account, iteratorNSFieldMax)
	raw = appendShortString(raw, it.region, iteratorNSFieldMax)
	raw = appendShortString(raw, it.stream, iteratorStringMax)
	var sum [sha256.Size]byte
	c.mac(raw, &sum)
	raw = append(raw, sum[:iteratorMACBytes]...)
	return base64.StdEncoding.EncodeToString(raw)
}

func appendShortString(dst []byte, s string, limit int) []byte {
	if len(s) > limit {
		s = s[:limit]
	}
	dst = append(dst, byte(len(s)))
	return append(dst, s...)
}

// decode parses and verifies a token. It does not check expiry.
func (c *iteratorCodec) decode(token string) (shardIterator, error) {
	// encoding/base64 skips '\r' and '\n'; a token is exactly what encode
	// wrote, so refuse them (else one iterator had many spellings).
	if len(token) > base64.StdEncoding.EncodedLen(iteratorBytesMax) || strings.ContainsAny(token, "\r\n") {
		return shardIterator{}, errIteratorInvalid
	}
	var buf [iteratorBytesMax]byte
	n, err := base64.StdEncoding.Decode(buf[:], []byte(token))
	if err != nil || n == 0 {
		return shardIterator{}, errIteratorInvalid
	}
	fixed := iteratorFixedBytes
	switch buf[0] {
	case iteratorVersion:
	case iteratorVersion1:
		fixed = iteratorFixedBytesV1
	default:
		return shardIterator{}, errIteratorInvalid
	}
	if n < fixed+3+iteratorMACBytes {
		return shardIterator{}, errIteratorInvalid
	}
	payload := buf[:n-iteratorMACBytes]
	var sum [sha256.Size]byte
	c.mac(payload, &sum)
	if subtle.ConstantTimeCompare(sum[:iteratorMACBytes], buf[n-iteratorMACBytes:n]) != 1 {
		return shardIterator{}, errIteratorInvalid
	}
	issuedMilli := binary.BigEndian.Uint64(payload[21:29])
	if issuedMilli > 1<<62 {
		return shardIterator{}, errIteratorInvalid
	}
	it := shardIterator{
		entityID: binary.BigEndian.Uint64(payload[1:9]),
		shard:    binary.BigEndian.Uint32(payload[9:13]),
		seq:      binary.BigEndian.Uint64(payload[13:21]),
		issued:   time.UnixMilli(int64(issuedMilli)),
		v1:       fixed == iteratorFixedBytesV1,
	}
	if !it.v1 {
		it.serial = binary.BigEndian.Uint32(payload[29:33])
	}
	rest := payload[fixed:]
	var ok1, ok2, ok3 bool
	it.account, rest, ok1 = readShortString(rest, iteratorNSFieldMax)
	it.region, rest, ok2 = readShortString(rest, iteratorNSFieldMax)
	it.stream, rest, ok3 = readShortString(rest, iteratorStringMax)
	if !ok1 || !ok2 || !ok3 || len(rest) != 0 {
		return shardIterator{}, errIteratorInvalid
	}
	return it, nil
}

func readShortString(b []byte, limit int) (s string, rest []byte, ok bool) {
	if len(b) == 0 || int(b[0]) > limit || len(b) < 1+int(b[0]) {
		return "", nil, false
	}
	return string(b[1 : 1+b[0]]), b[1+b[0]:], true
}

// expired reports whether it is older than the iterator lifetime at now,
// at the millisecond precision the iterator records.
func (it shardIterator) expired(now time.Time) bool {
	return now.UnixMilli()-it.issued.UnixMilli() > shardIteratorLifetime.Milliseconds()
}
