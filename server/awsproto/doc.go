// Package awsproto holds the wire codecs shared by every AWS API that Sluice
// serves: the query protocol's form decoder and XML writer, AWS JSON 1.0/1.1
// and CBOR helpers, the error type and its rendering in each protocol's shape,
// request ids, and the SigV4 header parser.
//
// It knows nothing about the engine, HTTP servers or any one service: service
// packages (server/sqs, server/kinesis, ...) build *Error values from their own
// error tables and write results with the helpers here; package server renders
// them onto the wire.
//
// Encoders are append-style (AppendX(dst []byte, ...) []byte) so that hot
// paths reuse one buffer per request and do no reflection. Decoders bound
// every size they accept and return *Error values carrying the code the real
// service answers with (MalformedQueryString, SerializationException, ...).
//
// Usage (query protocol, inside a handler):
//
//	form, err := awsproto.ParseForm(body, nil, awsproto.FormLimits{})
//	if err != nil {
//		return err // already an *Error: MalformedQueryString
//	}
//	attrs, err := form.Map("Attribute", "Name", "Value")
//	...
//	w := awsproto.XMLWriter{B: dst}
//	w.Open("CreateQueueResult")
//	w.Elem("QueueUrl", url)
//	w.Close("CreateQueueResult")
package awsproto
