package awsproto

import (
	"bytes"
	"strings"

	"github.com/fxamacker/cbor/v2"
)

// cborDecMode bounds what a CBOR request may contain. Kinesis PutRecords is
// the largest CBOR request (500 records, 10 MiB of data).
var cborDecMode = func() cbor.DecMode {
	mode, err := cbor.DecOptions{
		MaxNestedLevels:  32,
		MaxArrayElements: 100_000,
		MaxMapPairs:      100_000,
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		IndefLength:      cbor.IndefLengthAllowed,
		TagsMd:           cbor.TagsAllowed,
	}.DecMode()
	if err != nil {
		panic("BUG: awsproto: invalid CBOR decode options: " + err.Error())
	}
	return mode
}()

var cborEncMode = func() cbor.EncMode {
	mode, err := cbor.EncOptions{Time: cbor.TimeUnixDynamic, TimeTag: cbor.EncTagRequired}.EncMode()
	if err != nil {
		panic("BUG: awsproto: invalid CBOR encode options: " + err.Error())
	}
	return mode
}()

// DecodeCBOR decodes a CBOR request body (Kinesis with
// application/x-amz-cbor-1.1) into v. Empty body is an empty map; errors are
// SerializationException.
func DecodeCBOR(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := cborDecMode.Unmarshal(body, v); err != nil {
		return ErrSerialization.WithMessage("The request body could not be deserialized.")
	}
	return nil
}

// MarshalCBOR encodes an output struct as CBOR; time.Time values are tagged
// epoch timestamps, as AWS sends them.
func MarshalCBOR(v any) ([]byte, error) {
	return cborEncMode.Marshal(v)
}

// AppendCBORError appends the CBOR error body: a map with "__type" and
// "message".
func AppendCBORError(dst []byte, e *Error) []byte {
	dst = append(dst, 0xa2) // map(2)
	dst = appendCBORText(dst, "__type")
	dst = appendCBORText(dst, e.TypeName())
	dst = appendCBORText(dst, "message")
	return appendCBORText(dst, e.Message)
}

func appendCBORText(dst []byte, s string) []byte {
	s = strings.ToValidUTF8(s, "\uFFFD") // CBOR text must be UTF-8
	const major = 3 << 5
	n := uint64(len(s))
	switch {
	case n < 24:
		dst = append(dst, major|byte(n))
	case n <= 0xff:
		dst = append(dst, major|24, byte(n))
	case n <= 0xffff:
		dst = append(dst, major|25, byte(n>>8), byte(n))
	case n <= 0xffffffff:
		dst = append(dst, major|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	default:
		dst = append(dst, major|27, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, s...)
}
