// Package kinesis serves the Amazon Kinesis Data Streams API (2013-12-02)
// on top of the engine's streams.
//
// It speaks both encodings the SDKs use: AWS JSON 1.1 (X-Amz-Target
// "Kinesis_20131202.<Operation>", blobs as base64, timestamps as epoch
// seconds) and CBOR (application/x-amz-cbor-1.1, the Java SDK and KCL
// default: blobs as byte strings, timestamps as tag 1 + epoch milliseconds).
// Errors have the AWS shape {"__type", "message"} in either encoding.
//
// The package owns the AWS face of streams: shard ids (shardId-%012d),
// ARNs, 56-digit sequence numbers (seqnum.go), signed expiring shard
// iterators (iterator.go), request validation and the error table
// (errors.go). Semantics (routing records to shards, resharding,
// retention) live in the engine.
//
// SubscribeToShard streams AWS event-stream frames (eventstream.go) through
// server.Response.StreamBody. Clients that insist on HTTP/2 (the KCL) reach
// the same handlers: the server serves cleartext HTTP/2 on the same port
// (package server/h2c).
//
// Usage:
//
//	svc, err := kinesis.New(db, kinesis.Config{Logger: logger})
//	if err != nil { ... }
//	err = srv.Register(svc.ServerService()) // srv is a *server.Server
package kinesis
