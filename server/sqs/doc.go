// Package sqs serves the Amazon SQS API (2012-11-05) over the engine's
// queues: the AWS JSON 1.0 protocol (X-Amz-Target: AmazonSQS.<Op>, the
// default of current SDKs, awsQueryCompatible error codes in
// x-amzn-query-error) and the legacy query protocol (Action=<Op>, form
// bodies, XML responses; JSON in the query envelope when the request's
// Accept header names application/json, as AWS answers), with one handler
// per action serving both.
//
// The package parses requests, checks their AWS shape (names, character
// sets, batch sizes, attribute types and ranges), calls the engine and
// renders the reply. Queue semantics (visibility, delay, retention, FIFO
// ordering and deduplication, redrive) live in package engine. AWS error
// codes exist only in errors.go.
//
// Queue URLs are http://HOST/ACCOUNT/NAME, where HOST is the request's Host
// (or the configured hostname); queue ARNs are arn:aws:sqs:REGION:ACCOUNT:NAME.
// A request acts in the namespace (configured account, SigV4 region).
//
// Usage:
//
//	srv, _ := server.New(db, server.Config{})
//	_ = srv.Register(sqs.New(db, sqs.Options{}))
//	_ = srv.ListenAndServe()
package sqs
