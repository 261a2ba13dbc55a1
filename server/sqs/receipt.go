package sqs

import (
	"encoding/base64"
)

// Receipt handles on the wire are the engine's opaque receipt bytes in
// unpadded URL-safe base64: no '+', '/' or '=' that a careless client could
// mangle in a form body or URL. The engine parses (and fuzzes) the bytes.

var receiptEncoding = base64.RawURLEncoding.Strict()

// receiptHandleLengthMax bounds a handle before decoding. Engine receipts are
// a few dozen bytes; AWS handles are up to 1024 characters.
const receiptHandleLengthMax = 1024

func appendReceiptHandle(dst, receipt []byte) []byte {
	return receiptEncoding.AppendEncode(dst, receipt)
}

// decodeReceiptHandle returns the receipt bytes of handle, appended to dst,
// and ok=false when handle is empty, too long or not valid base64; the
// caller answers ReceiptHandleIsInvalid.
func decodeReceiptHandle(dst []byte, handle string) ([]byte, bool) {
	if handle == "" || len(handle) > receiptHandleLengthMax {
		return dst, false
	}
	for i := 0; i < len(handle); i++ {
		// The decoder skips '\r' and '\n'; refuse them so that the
		// encoding stays canonical (one handle per receipt).
		if !isNameByte(handle[i]) {
			return dst, false
		}
	}
	out, err := receiptEncoding.AppendDecode(dst, stringBytes(handle))
	if err != nil {
		return dst, false
	}
	return out, true
}

// appendBase64 appends v in standard padded base64, the encoding of blobs
// (binary message attributes) in both protocols.
func appendBase64(dst, v []byte) []byte {
	return base64.StdEncoding.AppendEncode(dst, v)
}
