// Package server is Sluice's HTTP front end: one fasthttp listener that
// routes AWS API requests to the registered services (server/sqs,
// server/kinesis, ...), renders their results and errors in the request's
// wire protocol, and serves /health, /metrics and, when enabled,
// POST /_sluice/reset.
//
// Routing: a request with X-Amz-Target ("AmazonSQS.SendMessage") or an AWS
// JSON/CBOR Content-Type is JSON/CBOR and goes to the service with that
// target prefix. Any other request is the query protocol: its Action goes to
// the service named by the SigV4 credential scope, else to a service whose
// OwnsPath claims the URL path (SQS queue URLs), else to the first service
// that has the action. Unknown operations get the protocol's
// unknown-operation error (UnknownOperationException / InvalidAction), never
// a 404 page. A service with QueryJSON (SQS) answers query requests whose
// Accept header names application/json in JSON, in the query envelope.
//
// Usage:
//
//	srv, err := server.New(db, server.Config{Addr: ":4566"})
//	...
//	err = srv.Register(&server.Service{
//		Name: "sqs", TargetPrefix: "AmazonSQS", JSONVersion: "1.0", QueryCompatible: true,
//		JSON:  map[string]server.HandlerFunc{"SendMessage": sendMessageJSON},
//		XMLNamespace: "http://queue.amazonaws.com/doc/2012-11-05/", XMLDeclaration: true,
//		Query: map[string]server.HandlerFunc{"SendMessage": sendMessageQuery},
//	})
//	go srv.ListenAndServe()
//	...
//	err = srv.Shutdown(ctx) // drains in-flight requests
package server
