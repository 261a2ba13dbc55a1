package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-dev/sluice/server/awsproto"
)

// HandlerFunc serves one AWS operation. It reads the input from req (Body
// for JSON/CBOR, Form for the query protocol), appends the output to resp,
// and returns nil; or it returns an error, which the server renders in the
// request's protocol: an *awsproto.Error (or an error wrapping one) as that
// AWS error, anything else as InternalFailure/500 with a generic message,
// logged with the request id.
//
// A handler must not keep req, resp or any slice borrowed from them after it
// returns; the server reuses them.
type HandlerFunc func(req *Request, resp *Response) error

// Service describes one AWS API to the router. A service package builds one
// (typically in a New(db) constructor) and cmd/sluice passes it to
// Server.Register. A Service may serve the JSON protocol, the query
// protocol, or both with different handler tables (SQS).
type Service struct {
	// Name is the SigV4 credential-scope service name ("sqs", "sns",
	// "kinesis", "firehose"). Query requests are routed by it first. It is
	// also the "service" label of metrics. Required.
	Name string

	// TargetPrefix is the X-Amz-Target prefix of the JSON protocol, the part
	// before the dot ("AmazonSQS", "Kinesis_20131202"). Empty: the service
	// has no JSON protocol.
	TargetPrefix string
	// JSONVersion is "1.0" or "1.1": the Content-Type of JSON responses is
	// application/x-amz-json-<JSONVersion>. Required with TargetPrefix.
	JSONVersion string
	// QueryCompatible marks awsQueryCompatible services (SQS): JSON error
	// responses carry x-amzn-query-error: <Code>;<Sender|Receiver>.
	QueryCompatible bool
	// CBOR lets the JSON handlers also receive application/x-amz-cbor-1.1
	// requests (Kinesis); Request.Protocol tells them apart and
	// Response.Encode picks the encoding.
	CBOR bool
	// JSON maps an operation name (the part of X-Amz-Target after the dot)
	// to its handler.
	JSON map[string]HandlerFunc

	// XMLNamespace is the xmlns of query-protocol responses and errors
	// ("http://queue.amazonaws.com/doc/2012-11-05/"). Required with Query.
	XMLNamespace string
	// XMLDeclaration prefixes query responses with <?xml version="1.0"?>
	// (SQS does, SNS does not).
	XMLDeclaration bool
	// Query maps a query-protocol Action to its handler.
	Query map[string]HandlerFunc
	// OwnsPath, if set, claims query requests without a SigV4 credential
	// scope whose URL path belongs to the service (SQS queue URLs
	// /ACCOUNT/QUEUE) when the Action exists in Query.
	OwnsPath func(path string) bool
	// QueryJSON makes the query protocol answer in JSON when the request's
	// Accept header names application/json, as AWS's front end does for
	// SQS (awsproto.AcceptsJSON): the handler sees Request.QueryJSON and
	// writes its result as a JSON object; the server wraps it as
	// {"{Action}Response":{"{Action}Result":…,"ResponseMetadata":{…}}} and
	// renders errors as {"Error":{…},"RequestId":…}. A request no
	// operation can be read from keeps its XML answer.
	QueryJSON bool
	// QueryBorrow, if set, names query parameters whose values may alias
	// the request buffer instead of being copied (awsproto.Form's
	// ParseBorrowing): only large values that every handler reads while it
	// runs and never keeps, such as SQS message bodies. The form is parsed
	// before the Action picks a service, so a name borrowed here is
	// borrowed in every query request.
	QueryBorrow func(key string) bool
}

func (svc *Service) validate() error {
	if svc.Name == "" || strings.ContainsAny(svc.Name, "./ ") {
		return fmt.Errorf("server: service name %q is invalid", svc.Name)
	}
	if svc.TargetPrefix == "" && len(svc.JSON) > 0 {
		return fmt.Errorf("server: service %s has JSON handlers but no TargetPrefix", svc.Name)
	}
	if svc.TargetPrefix != "" && svc.JSONVersion != "1.0" && svc.JSONVersion != "1.1" {
		return fmt.Errorf("server: service %s: JSONVersion must be 1.0 or 1.1, got %q", svc.Name, svc.JSONVersion)
	}
	if len(svc.Query) > 0 && svc.XMLNamespace == "" {
		return fmt.Errorf("server: service %s has query handlers but no XMLNamespace", svc.Name)
	}
	if len(svc.JSON) == 0 && len(svc.Query) == 0 {
		return fmt.Errorf("server: service %s has no handlers", svc.Name)
	}
	for op, h := range svc.JSON {
		if op == "" || h == nil {
			return fmt.Errorf("server: service %s: JSON operation %q has no handler", svc.Name, op)
		}
	}
	for op, h := range svc.Query {
		if op == "" || h == nil {
			return fmt.Errorf("server: service %s: query action %q has no handler", svc.Name, op)
		}
	}
	return nil
}

func (svc *Service) jsonContentType() string {
	if svc.JSONVersion == "1.1" {
		return awsproto.ContentTypeJSON11
	}
	return awsproto.ContentTypeJSON10
}

// ErrServing is returned by Register after Serve has started.
var ErrServing = errors.New("server: services must be registered before Serve")

// Register adds a service to the router. It must be called before Serve.
// Names and target prefixes must be unique. Query actions may overlap
// between services (SQS and SNS both have AddPermission): such requests are
// routed by the SigV4 scope, then by OwnsPath, then to the service
// registered first.
func (s *Server) Register(svc *Service) error {
	if err := svc.validate(); err != nil {
		return err
	}
	if s.serving.Load() {
		return ErrServing
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, other := range s.services {
		if other.Name == svc.Name {
			return fmt.Errorf("server: service %s registered twice", svc.Name)
		}
		if svc.TargetPrefix != "" && other.TargetPrefix == svc.TargetPrefix {
			return fmt.Errorf("server: services %s and %s share X-Amz-Target prefix %s", other.Name, svc.Name, svc.TargetPrefix)
		}
	}
	s.services = append(s.services, svc)
	s.byName[svc.Name] = svc
	if svc.QueryBorrow != nil {
		s.borrowers = append(s.borrowers, svc.QueryBorrow)
		s.borrowFunc = s.queryBorrow // one method value, not one per request
	}
	if svc.TargetPrefix != "" {
		s.byTarget[svc.TargetPrefix] = svc
	}
	return nil
}

// Request is what a handler sees of one AWS API request. The server owns
// it: it is valid only until the handler returns.
type Request struct {
	// Context is cancelled when the server shuts down, so long polls return
	// early (empty) instead of holding up the drain.
	Context context.Context
	// RequestID is the id sent back in x-amzn-RequestId / <RequestId>.
	RequestID string
	// Protocol is the wire protocol of the request.
	Protocol awsproto.Protocol
	// Service is the Service.Name the request was routed to.
	Service string
	// Operation is the operation name (X-Amz-Target suffix or Action).
	Operation string
	// Account is the AWS account id the request acts in: Config.AccountID.
	Account string
	// Region is the SigV4 credential-scope region, or us-east-1 without one.
	Region string
	// AccessKeyID is the SigV4 access key, "" for an unsigned request.
	AccessKeyID string
	// Host is host[:port] for URLs that clients will call back
	// (queue URLs): Config.Hostname (with the request's port when Hostname
	// has none) or else the request's Host header. Like Path and
	// Operation, it is an ordinary string (safe to keep after the handler
	// returns), shared between requests with the same value so that it
	// costs no allocation per request.
	Host string
	// Path is the request's URL path (SQS query requests name the queue in it).
	Path string
	// Body is the raw request body (borrowed: copy to keep).
	Body []byte
	// Form holds the decoded parameters of a query-protocol request (URL
	// query and form body); nil for JSON/CBOR.
	Form *awsproto.Form
	// QueryJSON is set on a query-protocol request whose Accept header
	// names application/json, routed to a Service with QueryJSON: the
	// handler writes its result as a JSON object (members as its JSON
	// protocol names them unless AWS is known to differ), or nothing for
	// an operation without output, and the server wraps it in the query
	// envelope (Service.QueryJSON). Protocol stays ProtocolQuery.
	QueryJSON bool

	ctx    *fasthttp.RequestCtx
	form   awsproto.Form
	logger *slog.Logger // server logger; Log adds the request id
}

// Log returns the server logger with the request id, service and operation
// attached.
func (r *Request) Log() *slog.Logger {
	return r.logger.With("request_id", r.RequestID, "service", r.Service, "operation", r.Operation)
}

// Header returns the value of request header name ("" when absent). The
// string is a copy.
func (r *Request) Header(name string) string {
	return string(r.ctx.Request.Header.Peek(name))
}

// Response collects a handler's output. For JSON/CBOR, B is the whole
// output document (use Encode, or append JSON by hand); an empty B is sent
// as {} (JSON) or an empty map (CBOR). For the query protocol, B is the
// content between <{Operation}Response> and <ResponseMetadata> (with
// Request.QueryJSON, the result object or nothing), normally the
// <{Operation}Result> element appended with the embedded XMLWriter:
//
//	resp.Open("GetQueueUrlResult")
//	resp.Elem("QueueUrl", url)
//	resp.Close("GetQueueUrlResult")
//
// B belongs to the server once the handler returns: a large B is sent
// without being copied, a small one is reused by the next request. So a
// handler may append to B, or assign a slice grown from it, but never a
// slice it keeps or shares (a package variable, a cache entry). Output
// expected to exceed 64 KiB should be sized with Grow first, which takes
// the buffer from a pool that gets it back once the response is written.
type Response struct {
	awsproto.XMLWriter

	protocol          awsproto.Protocol
	stream            StreamFunc
	streamContentType string

	buffers *bufferPool // the server's; nil in a zero Response
	small   []byte      // the exchange's own buffer, kept across requests
	loan    []byte      // the buffer Grow took from buffers, whole; nil if none
}

// StreamFunc writes a streamed response body (Kinesis SubscribeToShard's
// event stream). It runs after the handler has returned: over HTTP/1 on
// the connection's goroutine, each flush one chunk written to the socket;
// over HTTP/2 on a goroutine of its own that h2c copies from. Everything
// written to w is sent, and w.Flush pushes it to the client; a failed
// flush means the client is gone, and fn returns. A body that is never
// sent (a HEAD request) still runs fn, against a writer that fails at
// once, so fn should write and flush before it waits on anything. The
// server applies WriteTimeout once per response, so a stream that lasts
// longer calls extendWriteDeadline(d) to allow d more from now (it is
// a no-op where the transport has no deadline). When fn returns, the server
// resets the deadline to WriteTimeout from then, so fn need not leave a
// long one behind for the end of the body or the next request on the
// connection. To stop early on shutdown, capture
// Request.Context before returning: it is the server's lifetime context and
// stays valid. The Request itself must not be used inside fn.
type StreamFunc func(w *bufio.Writer, extendWriteDeadline func(time.Duration) error)

// StreamBody makes the response a 200 whose body fn streams with the given
// Content-Type; B is ignored. Call it last, then return nil from the
// handler. Errors can no longer be sent once streaming has started: fn
// reports them in its own framing.
func (r *Response) StreamBody(contentType string, fn StreamFunc) {
	r.streamContentType = contentType
	r.stream = fn
}

// Encode replaces B with v encoded for the request's protocol: JSON via
// awsproto.MarshalJSON or CBOR via awsproto.MarshalCBOR. Calling it for a
// query-protocol request is a bug and returns an error.
func (r *Response) Encode(v any) error {
	var (
		b   []byte
		err error
	)
	switch r.protocol {
	case awsproto.ProtocolJSON:
		b, err = awsproto.MarshalJSON(v)
	case awsproto.ProtocolCBOR:
		b, err = awsproto.MarshalCBOR(v)
	default:
		return fmt.Errorf("server: BUG: Encode called for a %s request", r.protocol)
	}
	if err != nil {
		return fmt.Errorf("server: encoding %s response: %w", r.protocol, err)
	}
	r.B = append(r.B[:0], b...)
	return nil
}

// Decode decodes a JSON or CBOR request body into v, returning
// SerializationException on malformed input.
func (r *Request) Decode(v any) error {
	switch r.Protocol {
	case awsproto.ProtocolJSON:
		return awsproto.DecodeJSON(r.Body, v)
	case awsproto.ProtocolCBOR:
		return awsproto.DecodeCBOR(r.Body, v)
	default:
		return fmt.Errorf("server: BUG: Decode called for a %s request", r.Protocol)
	}
}

// queryBorrow reports whether some service borrows the query parameter key
// (Service.QueryBorrow). Services are registered before serving, so it
// reads borrowers without the lock.
func (s *Server) queryBorrow(key string) bool {
	for _, borrow := range s.borrowers {
		if borrow(key) {
			return true
		}
	}
	return false
}
