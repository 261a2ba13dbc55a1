package awsproto

// Protocol is the wire protocol of one request.
type Protocol uint8

// Protocols. The zero value is not a protocol.
const (
	// ProtocolQuery: form-encoded Action=…&Version=… requests, XML responses
	// (SNS; SQS's legacy protocol).
	ProtocolQuery Protocol = 1 + iota
	// ProtocolJSON: AWS JSON 1.0/1.1, operation in X-Amz-Target (SQS,
	// Kinesis, Firehose).
	ProtocolJSON
	// ProtocolCBOR: Kinesis' CBOR variant of AWS JSON 1.1
	// (application/x-amz-cbor-1.1), operation in X-Amz-Target.
	ProtocolCBOR
)

// String returns "query", "json" or "cbor".
func (p Protocol) String() string {
	switch p {
	case ProtocolQuery:
		return "query"
	case ProtocolJSON:
		return "json"
	case ProtocolCBOR:
		return "cbor"
	default:
		return "unknown"
	}
}
