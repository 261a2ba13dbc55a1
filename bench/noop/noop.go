// Package noop is a do-nothing SQS and Kinesis endpoint: it answers the
// calls the bench scenarios make, minimally but validly (correct shapes and
// MD5 digests, so the AWS SDK's validation passes), and stores nothing.
// Benchmarked through the same SDK as a real server, it shows the ceiling
// that HTTP, the wire protocol and the SDK impose on one machine.
//
// It is bench code, not server code: it never imports server/ or engine/,
// and it is not a faithful emulator (ReceiveMessage always returns canned
// messages, GetRecords canned records, and DeleteMessageBatch accepts any
// receipt handle).
//
// Usage:
//
//	srv, err := noop.Start("127.0.0.1:0")
//	if err != nil { ... }
//	defer srv.Close()
//	endpoint := srv.URL() // http://127.0.0.1:PORT
package noop

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Server limits. PutRecords may carry 10 MiB of data, which base64 inflates
// by a third; fasthttp's 4 MiB default is too small.
const (
	requestBodyBytesMax = 16 << 20
	// ReceiveMessage returns up to this many canned messages.
	cannedMessagesMax = 10
	// GetRecords returns up to this many canned records: as many as a
	// real server hands bench's readers per call (their default Limit),
	// so the ceiling does not need more requests per record than Sluice.
	cannedRecordsMax = 1000
	// cannedPayloadBytes is the size of each canned message body/record.
	cannedPayloadBytes = 1024
	// streamsMax bounds the stream table (names are client-chosen).
	streamsMax = 10000
	// shardsMax bounds the shards of one stream.
	shardsMax = 1000
)

// Stats counts what the server was asked to do.
type Stats struct {
	Requests       int64 // every HTTP request
	Sent           int64 // SQS messages accepted by SendMessage(Batch)
	Received       int64 // SQS messages handed out by ReceiveMessage
	Deleted        int64 // SQS receipt handles accepted by DeleteMessage(Batch)
	Put            int64 // Kinesis records accepted by PutRecord(s)
	Read           int64 // Kinesis records handed out by GetRecords
	QueuesCreated  int64
	QueuesDeleted  int64
	StreamsCreated int64
	StreamsDeleted int64
	BadRequests    int64 // requests answered with a 4xx
}

// Server is a running no-op endpoint.
type Server struct {
	ln      net.Listener
	srv     *fasthttp.Server
	done    chan error
	started time.Time

	requests, sent, received, deleted, put, read atomic.Int64
	queuesCreated, queuesDeleted                 atomic.Int64
	streamsCreated, streamsDeleted, badRequests  atomic.Int64
	sequence                                     atomic.Int64

	streams struct {
		sync.Mutex
		byName map[string]*stream
	}
}

// ErrClosed is returned by Wait after Close.
var ErrClosed = errors.New("noop: server closed")

// Start listens on addr (host:port; port 0 picks one) and serves in the
// background.
func Start(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("noop: listen %s: %w", addr, err)
	}
	return Serve(ln), nil
}

// Serve serves on ln in the background.
func Serve(ln net.Listener) *Server {
	s := &Server{ln: ln, done: make(chan error, 1), started: time.Now()}
	s.streams.byName = map[string]*stream{}
	s.srv = &fasthttp.Server{
		Handler:                      s.handle,
		Name:                         "sluice-bench-noop",
		MaxRequestBodySize:           requestBodyBytesMax,
		ReadTimeout:                  60 * time.Second,
		WriteTimeout:                 60 * time.Second,
		IdleTimeout:                  120 * time.Second,
		NoDefaultDate:                true,
		NoDefaultContentType:         true,
		DisablePreParseMultipartForm: true,
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s
}

// URL is the endpoint's base URL.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Addr is the listening address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops the server and waits for it.
func (s *Server) Close() error {
	if err := s.srv.Shutdown(); err != nil {
		return fmt.Errorf("noop: shutdown: %w", err)
	}
	if err := <-s.done; err != nil {
		return fmt.Errorf("noop: serve: %w", err)
	}
	return nil
}

// Wait blocks until the server stops and returns why.
func (s *Server) Wait() error {
	err := <-s.done
	s.done <- err
	return err
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	return Stats{
		Requests:       s.requests.Load(),
		Sent:           s.sent.Load(),
		Received:       s.received.Load(),
		Deleted:        s.deleted.Load(),
		Put:            s.put.Load(),
		Read:           s.read.Load(),
		QueuesCreated:  s.queuesCreated.Load(),
		QueuesDeleted:  s.queuesDeleted.Load(),
		StreamsCreated: s.streamsCreated.Load(),
		StreamsDeleted: s.streamsDeleted.Load(),
		BadRequests:    s.badRequests.Load(),
	}
}

func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	s.requests.Add(1)
	if string(ctx.Path()) == "/health" {
		ctx.SetStatusCode(fasthttp.StatusOK)
		ctx.SetBodyString("ok\n")
		return
	}
	target := ctx.Request.Header.Peek("X-Amz-Target")
	switch {
	case hasPrefix(target, sqsTargetPrefix):
		s.sqsJSON(ctx, string(target[len(sqsTargetPrefix):]))
	case hasPrefix(target, kinesisTargetPrefix):
		s.kinesis(ctx, string(target[len(kinesisTargetPrefix):]))
	case len(target) > 0:
		s.jsonError(ctx, "application/x-amz-json-1.1", "UnknownOperationException", "noop: unknown target "+string(target))
	default:
		s.sqsQuery(ctx)
	}
}

func hasPrefix(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && string(b[:len(prefix)]) == prefix
}
