package kinesis_test

import (
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// mustCBOR encodes v as a CBOR request body.
func mustCBOR(t *testing.T, v any) []byte {
	t.Helper()
	b, err := cbor.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// unmarshalCBOR decodes a CBOR response or event payload.
func unmarshalCBOR(b []byte, v any) error {
	return cbor.Unmarshal(b, v)
}
