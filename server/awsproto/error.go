package awsproto

import (
	"errors"
	"net/http"
)

// Error is an AWS API error as the client sees it. Service packages map their
// engine errors to *Error values (one table per service); package server
// renders them in the shape of the request's protocol. Any error that is not
// an *Error renders as InternalFailure/500 with a generic message, so internal
// text never reaches a client.
type Error struct {
	// Code is the AWS error code: the query protocol's <Code>, the
	// x-amzn-query-error code for awsQueryCompatible JSON services, and the
	// JSON/CBOR "__type" when JSONType is empty. Example:
	// "AWS.SimpleQueueService.NonExistentQueue".
	Code string
	// JSONType, when set, is the JSON/CBOR "__type" value: the botocore error
	// shape name, optionally namespaced ("com.amazonaws.sqs#QueueDoesNotExist").
	// SDKs strip everything up to '#'. Empty: Code is used.
	JSONType string
	// Message is the human-readable text; it is sent to the client verbatim.
	Message string
	// HTTPStatus is the response status. Zero means 400 for sender faults and
	// 500 for receiver faults.
	HTTPStatus int
	// Sender is true for client faults (<Type>Sender</Type>) and false for
	// service faults (<Type>Receiver</Type>).
	Sender bool
	// Bare renders the query protocol's error as one empty element named
	// Code, without the ErrorResponse envelope: AWS's front end answers a
	// request it cannot map to any operation that way
	// (ErrUnroutedOperation).
	Bare bool
}

// Error implements error.
func (e *Error) Error() string {
	if e.Message == "" {
		return "awsproto: " + e.Code
	}
	return "awsproto: " + e.Code + ": " + e.Message
}

// Status returns the HTTP status to send: HTTPStatus, or 400/500 by fault
// when it is unset.
func (e *Error) Status() int {
	if e.HTTPStatus != 0 {
		return e.HTTPStatus
	}
	if e.Sender {
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// FaultType returns "Sender" or "Receiver", the query protocol's <Type> and
// the second half of the x-amzn-query-error header.
func (e *Error) FaultType() string {
	if e.Sender {
		return "Sender"
	}
	return "Receiver"
}

// TypeName returns the JSON/CBOR "__type" value: JSONType, or Code if unset.
func (e *Error) TypeName() string {
	if e.JSONType != "" {
		return e.JSONType
	}
	return e.Code
}

// WithMessage returns a copy of e with Message replaced. Use it to specialise
// a table entry per request without mutating the shared value.
func (e *Error) WithMessage(message string) *Error {
	c := *e
	c.Message = message
	return &c
}

// SenderError returns a 400 client-fault error with code and message.
func SenderError(code, message string) *Error {
	return &Error{Code: code, Message: message, HTTPStatus: http.StatusBadRequest, Sender: true}
}

// internalFailureMessage is the only text a client ever sees for an error
// that is not an *Error.
const internalFailureMessage = "The request processing has failed because of an unknown error, exception or failure."

// ErrInternalFailure is what any non-*Error renders as.
var ErrInternalFailure = &Error{
	Code:       "InternalFailure",
	Message:    internalFailureMessage,
	HTTPStatus: http.StatusInternalServerError,
	Sender:     false,
}

// AsError returns err as an *Error if it is (or wraps) one, and ok=false with
// ErrInternalFailure otherwise. The caller logs err when ok is false.
func AsError(err error) (e *Error, ok bool) {
	if errors.As(err, &e) && e != nil {
		return e, true
	}
	return ErrInternalFailure, false
}

// Protocol-level errors shared by every service. Messages follow what AWS
// answers where it is known; each is a template to copy with WithMessage.
var (
	// ErrMalformedQueryString: the form body/query string does not parse.
	ErrMalformedQueryString = SenderError("MalformedQueryString", "The query string is malformed.")
	// ErrUnroutedOperation: a request AWS's front end cannot map to an
	// operation at all, such as a plain GET of an SQS queue URL. AWS answers
	// 404 with the body <UnknownOperationException/> (LocalStack's
	// AWS-validated test_get_queue_without_action_returns_unknown_operation;
	// the same body AWS SDK v2 for JavaScript's query error parser and
	// smithy-rs's "answered like coral" server test expect).
	ErrUnroutedOperation = &Error{Code: "UnknownOperationException", HTTPStatus: http.StatusNotFound, Sender: true, Bare: true}
	// ErrMissingAction: a query-protocol request without Action.
	ErrMissingAction = SenderError("MissingAction", "The request must contain the parameter Action.")
	// ErrInvalidAction: a query-protocol Action the service does not know.
	ErrInvalidAction = SenderError("InvalidAction", "The action or operation requested is invalid. Verify that the action is typed correctly.")
	// ErrUnknownOperation: a JSON/CBOR X-Amz-Target the service does not know.
	ErrUnknownOperation = SenderError("UnknownOperationException", "")
	// ErrSerialization: a JSON/CBOR body that does not decode into the
	// operation's input shape.
	ErrSerialization = SenderError("SerializationException", "")
	// ErrMissingParameter: a required parameter is absent.
	ErrMissingParameter = SenderError("MissingParameter", "A required parameter is not supplied.")
	// ErrInvalidParameterValue: a parameter has a value out of its domain.
	ErrInvalidParameterValue = SenderError("InvalidParameterValue", "An invalid or out-of-range value was supplied for the input parameter.")
	// ErrRequestEntityTooLarge: the body exceeds the server's limit.
	ErrRequestEntityTooLarge = &Error{Code: "RequestEntityTooLarge", Message: "Request body is too large.", HTTPStatus: http.StatusRequestEntityTooLarge, Sender: true}
	// ErrIncompleteSignature: an Authorization header that does not parse.
	ErrIncompleteSignature = SenderError("IncompleteSignature", "The request signature does not conform to AWS standards.")
	// ErrServiceUnavailable: the server is shutting down or overloaded.
	ErrServiceUnavailable = &Error{Code: "ServiceUnavailable", Message: "The service is unavailable. Try again later.", HTTPStatus: http.StatusServiceUnavailable}
)
