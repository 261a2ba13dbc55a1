package awsproto

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// Content types of the AWS JSON protocols and of Kinesis' CBOR variant.
const (
	ContentTypeJSON10 = "application/x-amz-json-1.0"
	ContentTypeJSON11 = "application/x-amz-json-1.1"
	ContentTypeCBOR11 = "application/x-amz-cbor-1.1"
)

// HeaderQueryError is the header awsQueryCompatible JSON services (SQS) add
// to error responses: "Code;Sender" or "Code;Receiver". botocore and
// aws-sdk-go-v2 take the error code from it in preference to "__type", so
// that code written for the query protocol's codes keeps working.
const HeaderQueryError = "x-amzn-query-error"

// HeaderRequestID carries the request id on JSON responses (and on query
// responses, in addition to <RequestId>).
const HeaderRequestID = "x-amzn-RequestId"

// QueryErrorHeaderValue returns the x-amzn-query-error value for e.
func QueryErrorHeaderValue(e *Error) string {
	return e.Code + ";" + e.FaultType()
}

// DecodeJSON decodes a JSON request body into v (a pointer to the
// operation's input struct) the way AWS JSON services do: an empty body is
// "{}", the top level must be an object, unknown members are ignored, and
// any syntax or type error is SerializationException. Messages never
// mention Go type names.
func DecodeJSON(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	if body[0] != '{' {
		return ErrSerialization.WithMessage("Start of structure or map expected.")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return serializationError(err)
	}
	return nil
}

func serializationError(err error) *Error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		if msg := awsTypeMessage(typeErr); msg != "" {
			return ErrSerialization.WithMessage(msg)
		}
		field := typeErr.Field
		if field == "" {
			return ErrSerialization.WithMessage("Unexpected value type " + typeErr.Value + ".")
		}
		return ErrSerialization.WithMessage("Unexpected value type " + typeErr.Value + " for field " + field + ".")
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return ErrSerialization.WithMessage("Malformed JSON at offset " + strconv.FormatInt(syntaxErr.Offset, 10) + ".")
	}
	// base64 errors for blob members, invalid UTF-8 escapes and the like.
	return ErrSerialization.WithMessage("The request body could not be deserialized.")
}

// awsTypeMessage words the type mismatches whose text AWS's JSON services
// are known to send, or returns "". SQS answers a string where its model
// has an integer with "STRING_VALUE can not be converted to an Integer"
// (real responses quoted in async-aws/aws#1667 and symfony/symfony#53910,
// 2024); a list or an object where a scalar belongs is "Start of list
// found where not expected" / "Start of structure or map found where not
// expected." (recorded from Kinesis by kinesalite, validations/index.js).
func awsTypeMessage(e *json.UnmarshalTypeError) string {
	if e.Type == nil {
		return ""
	}
	kind := e.Type.Kind()
	switch {
	case e.Value == "array" && kind != reflect.Slice && kind != reflect.Array:
		return "Start of list found where not expected"
	case e.Value == "object" && kind != reflect.Struct && kind != reflect.Map:
		return "Start of structure or map found where not expected."
	case e.Value == "string":
		switch kind {
		case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int, reflect.Uint8, reflect.Uint16, reflect.Uint32:
			return "STRING_VALUE can not be converted to an Integer"
		case reflect.Int64, reflect.Uint64, reflect.Uint:
			return "STRING_VALUE can not be converted to a Long"
		}
	}
	return ""
}

// MarshalJSON encodes an operation's output struct. HTML characters are not
// escaped (AWS does not escape them) and there is no trailing newline. []byte
// members encode as standard base64, which is what AWS blobs are.
func MarshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return b[:len(b)-1], nil // drop Encode's '\n'
}

const (
	swarOnes  = 0x0101010101010101
	swarHighs = 0x8080808080808080
)

// plainASCII8 reports whether none of the first 8 bytes of s (len(s) >= 8)
// needs attention in a JSON string: no control character, '"', '\\' or
// non-ASCII byte. The checks are the exact word-at-a-time "has a byte less
// than n / equal to c" tests, valid because bytes with the high bit set
// are excluded first. Small enough to inline into the encoder's loop.
func plainASCII8(s string) bool {
	w := binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s), 8))
	q, b := w^(swarOnes*'"'), w^(swarOnes*'\\')
	return (w|(w-swarOnes*0x20)&^w|(q-swarOnes)&^q|(b-swarOnes)&^b)&swarHighs == 0
}

// AppendJSONString appends s as a JSON string literal, escaping '"', '\\'
// and control characters and replacing invalid UTF-8 with U+FFFD. For
// hand-written encoders on hot paths.
func AppendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Skip eight plain ASCII bytes at a time: message bodies are
		// mostly text that needs no escaping.
		for i+8 <= len(s) && plainASCII8(s[i:i+8]) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendJSONError appends the AWS JSON error body
// {"__type":"…","message":"…"}.
func AppendJSONError(dst []byte, e *Error) []byte {
	dst = append(dst, `{"__type":`...)
	dst = AppendJSONString(dst, e.TypeName())
	dst = append(dst, `,"message":`...)
	dst = AppendJSONString(dst, e.Message)
	return append(dst, '}')
}
