package sqs

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"slices"
	"strings"

	"github.com/sluice-dev/sluice/engine"
)

// MD5 digests as SQS computes them. MD5OfMessageBody is the hex MD5 of the
// body's UTF-8 bytes. MD5OfMessageAttributes (and MD5OfMessageSystemAttributes,
// same algorithm) hashes, for each attribute in ascending byte order of name:
//
//	uint32be(len(name)) name
//	uint32be(len(dataType)) dataType
//	transport byte: 1 for String/Number values, 2 for Binary values
//	uint32be(len(value)) value
//
// and is absent (empty string) when there are no attributes. SDKs (the Java
// SDK for attributes, every SDK for the body) recompute and compare these.

// md5SumString returns the MD5 of s without copying it.
func md5SumString(s string) [md5.Size]byte {
	return md5.Sum(stringBytes(s))
}

// bodyDigest returns MD5OfBody of a received message: the digest stored at
// send when there is one (every message sent since key block version 2),
// else computed from the body.
func bodyDigest(m *engine.ReceivedMessage) [md5.Size]byte {
	if m.HasBodyDigest {
		return m.BodyDigest
	}
	return md5.Sum(m.Body)
}

// md5OfAttributes returns the SQS digest of attrs, or "" when attrs is empty.
// attrs is sorted in place by name.
func md5OfAttributes(attrs []engine.MessageAttribute) string {
	if len(attrs) == 0 {
		return ""
	}
	slices.SortFunc(attrs, func(a, b engine.MessageAttribute) int { return strings.Compare(a.Name, b.Name) })
	h := md5.New()
	for i := range attrs {
		a := &attrs[i]
		writeLengthPrefixed(h, stringBytes(a.Name))
		writeLengthPrefixed(h, stringBytes(a.DataType))
		if baseDataType(a.DataType) == "Binary" {
			_, _ = h.Write([]byte{2})
			writeLengthPrefixed(h, a.BinaryValue)
		} else {
			_, _ = h.Write([]byte{1})
			writeLengthPrefixed(h, stringBytes(a.StringValue))
		}
	}
	var sum [md5.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0]))
}

func writeLengthPrefixed(h hash.Hash, b []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(b)))
	_, _ = h.Write(n[:])
	_, _ = h.Write(b)
}
