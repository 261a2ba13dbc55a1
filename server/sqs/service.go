package sqs

import (
	"errors"
	"log/slog"
	"strings"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/server"
	"github.com/sluice-dev/sluice/server/awsproto"
)

// Options configures the SQS service. The zero value is ready to use.
type Options struct {
	// Logger receives handler diagnostics. Default: slog.Default().
	Logger *slog.Logger
}

// xmlNamespace is the xmlns of every SQS query response.
const xmlNamespace = "http://queue.amazonaws.com/doc/2012-11-05/"

// service holds what every handler needs.
type service struct {
	b   backend
	log *slog.Logger
}

// newService builds the server.Service for b: the same handler serves an
// operation in both protocols.
func newService(b backend, opts Options) *server.Service {
	s := &service{b: b, log: opts.Logger}
	if s.log == nil {
		s.log = slog.Default()
	}
	handlers := map[string]server.HandlerFunc{
		"AddPermission":                s.addPermission,
		"CancelMessageMoveTask":        s.cancelMessageMoveTask,
		"ChangeMessageVisibility":      s.changeMessageVisibility,
		"ChangeMessageVisibilityBatch": s.changeMessageVisibilityBatch,
		"CreateQueue":                  s.createQueue,
		"DeleteMessage":                s.deleteMessage,
		"DeleteMessageBatch":           s.deleteMessageBatch,
		"DeleteQueue":                  s.deleteQueue,
		"GetQueueAttributes":           s.getQueueAttributes,
		"GetQueueUrl":                  s.getQueueURL,
		"ListDeadLetterSourceQueues":   s.listDeadLetterSourceQueues,
		"ListMessageMoveTasks":         s.listMessageMoveTasks,
		"ListQueueTags":                s.listQueueTags,
		"ListQueues":                   s.listQueues,
		"PurgeQueue":                   s.purgeQueue,
		"ReceiveMessage":               s.receiveMessage,
		"RemovePermission":             s.removePermission,
		"SendMessage":                  s.sendMessage,
		"SendMessageBatch":             s.sendMessageBatch,
		"SetQueueAttributes":           s.setQueueAttributes,
		"StartMessageMoveTask":         s.startMessageMoveTask,
		"TagQueue":                     s.tagQueue,
		"UntagQueue":                   s.untagQueue,
	}
	query := make(map[string]server.HandlerFunc, len(handlers))
	for action, h := range handlers {
		query[action] = queryWording(h)
	}
	return &server.Service{
		Name:            "sqs",
		TargetPrefix:    "AmazonSQS",
		JSONVersion:     "1.0",
		QueryCompatible: true,
		QueryJSON:       true,
		JSON:            handlers,
		XMLNamespace:    xmlNamespace,
		XMLDeclaration:  true,
		Query:           query,
		OwnsPath:        ownsPath,
		QueryBorrow:     borrowsQueryParam,
	}
}

// queryWording wraps a handler for the query protocol, whose texts differ
// from JSON's for some errors: a missing queue is "The specified queue does
// not exist for this wsdl version." over the query protocol (LocalStack's
// AWS-recorded test_sqs.snapshot.json, test_non_existent_queue) and "The
// specified queue does not exist." over JSON. The wrapper costs nothing
// until a handler fails.
func queryWording(h server.HandlerFunc) server.HandlerFunc {
	return func(req *server.Request, resp *server.Response) error {
		err := h(req, resp)
		if err == nil {
			return nil
		}
		var ae *awsproto.Error
		if errors.As(err, &ae) && ae.Code == errQueueDoesNotExist.Code && ae.Message == errQueueDoesNotExist.Message {
			return errQueueDoesNotExistQuery
		}
		return err
	}
}

// notForQueueURL is the query protocol's answer to an action that names no
// queue (CreateQueue, ListQueues) sent to a queue URL: InvalidAction "The
// action CreateQueue is not valid for this endpoint." (LocalStack's
// AWS-validated TestSqsQueryApi test_get_create_queue_fails and
// test_get_list_queues_fails). It returns nil for every other request.
func notForQueueURL(req *server.Request, action string) error {
	if req.Protocol != awsproto.ProtocolQuery || !ownsPath(req.Path) {
		return nil
	}
	return awsproto.ErrInvalidAction.WithMessage("The action " + action + " is not valid for this endpoint.")
}

// borrowsQueryParam is true for MessageBody parameters: SendMessage and
// SendMessageBatch read the body once (validate, hash, append to the log,
// which copies it) and keep nothing of it, as with JSON requests, whose
// bodies the fast decoder borrows too.
func borrowsQueryParam(key string) bool {
	return key == "MessageBody" || strings.HasSuffix(key, ".MessageBody")
}

// ownsPath claims query requests sent to a queue URL (/ACCOUNT/QUEUE), the
// legacy way of naming the queue.
func ownsPath(path string) bool {
	_, ok := parseQueueURL(path)
	return ok
}

// formInput is an operation input that the query protocol fills from the
// form; the JSON protocol decodes the same struct with encoding/json.
type formInput interface {
	fromForm(f *awsproto.Form) error
}

// decode fills in from the request in its protocol. Inputs with a fast
// JSON decoder use decodeHot (jsonin.go) instead.
func decode[T any, P interface {
	*T
	formInput
}](req *server.Request, in P) error {
	if req.Protocol == awsproto.ProtocolQuery {
		return in.fromForm(req.Form)
	}
	return req.Decode(in)
}

// newOut returns a writer over resp's buffer in the request's protocol.
// Handlers finish with resp.B = o.B.
func newOut(req *server.Request, resp *server.Response) out {
	return out{B: resp.B[:0], xml: req.Protocol == awsproto.ProtocolQuery && !req.QueryJSON, queryJSON: req.QueryJSON}
}

// resolved is a queue a request names, opened.
type resolved struct {
	q   queueHandle
	ref engine.QueueRef
}

// queueByURL opens the queue a QueueUrl names. Query requests may name it
// by the request path instead. The account comes from the URL, the region
// from the request.
func (s *service) queueByURL(req *server.Request, queueURL string) (resolved, error) {
	if queueURL == "" && req.Protocol == awsproto.ProtocolQuery {
		queueURL = req.Path
	}
	if queueURL == "" {
		return resolved{}, missingParameter("QueueUrl")
	}
	addr, ok := parseQueueURL(queueURL)
	if !ok {
		if strings.Contains(queueURL, "/") {
			// A URL, but not one of a queue: SQS answers NonExistentQueue.
			return resolved{}, errQueueDoesNotExist
		}
		return resolved{}, errInvalidAddress.WithMessage("The address " + queueURL + " is not valid for this endpoint.")
	}
	ref := engine.QueueRef{Namespace: engine.Namespace{Account: addr.Account, Region: req.Region}, Name: addr.Name}
	q, err := s.b.Queue(ref.Namespace, ref.Name)
	if err != nil {
		return resolved{}, s.mapError(err)
	}
	return resolved{q: q, ref: ref}, nil
}

// queueByARN opens the queue an ARN names.
func (s *service) queueByARN(param, arn string) (resolved, error) {
	if arn == "" {
		return resolved{}, missingParameter(param)
	}
	a, ok := parseQueueARN(arn)
	if !ok {
		return resolved{}, invalidParameterValue(param, arn, "Invalid ARN format.")
	}
	ref := engine.QueueRef{Namespace: engine.Namespace{Account: a.Account, Region: a.Region}, Name: a.Name}
	q, err := s.b.Queue(ref.Namespace, ref.Name)
	if err != nil {
		if isNotFound(err) {
			return resolved{}, errResourceNotFound.WithMessage("The resource that you specified for the " + param + " parameter doesn't exist.")
		}
		return resolved{}, s.mapError(err)
	}
	return resolved{q: q, ref: ref}, nil
}

// queueURL renders the URL of ref as seen by this request's client.
func queueURL(req *server.Request, ref engine.QueueRef) string {
	b := make([]byte, 0, len("http://")+len(req.Host)+len(ref.Account)+len(ref.Name)+2)
	b = append(b, "http://"...)
	b = appendQueueURL(b, req.Host, ref.Account, ref.Name)
	return bytesString(b)
}

// arnOf renders the ARN of ref.
func arnOf(ref engine.QueueRef) string {
	return formatQueueARN(ref.Region, ref.Account, ref.Name)
}

// refFromARN converts a parsed ARN to an engine reference.
func refFromARN(a queueARN) engine.QueueRef {
	return engine.QueueRef{Namespace: engine.Namespace{Account: a.Account, Region: a.Region}, Name: a.Name}
}
