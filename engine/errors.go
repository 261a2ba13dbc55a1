package engine

import (
	"errors"
	"fmt"
)

// Errors returned by the engine. Callers branch with errors.Is; server maps
// each sentinel to its AWS error code in one table. Sentinels whose
// behaviour belongs to a resource kind are declared here so that every
// package can reference them; the kind's code documents when it returns them.
var (
	// ErrLocked: another process (or another Open in this process) holds the
	// data directory.
	ErrLocked = errors.New("engine: data directory is locked by another process")
	// ErrClosed: the DB was closed.
	ErrClosed = errors.New("engine: closed")

	// Queues.

	// ErrQueueNotFound: no queue with that name in the namespace.
	ErrQueueNotFound = errors.New("engine: queue does not exist")
	// ErrQueueExists: a queue with that name exists with different attributes.
	ErrQueueExists = errors.New("engine: queue already exists with different attributes")
	// ErrQueueDeletedRecently: the name was deleted less than 60 s ago.
	ErrQueueDeletedRecently = errors.New("engine: queue deleted recently")
	// ErrPurgeInProgress: a purge ran less than 60 s ago.
	ErrPurgeInProgress = errors.New("engine: purge already in progress")
	// ErrReceiptInvalid: a receipt is malformed.
	ErrReceiptInvalid = errors.New("engine: receipt is invalid")
	// ErrReceiptStale: the message is not in flight under this receipt.
	ErrReceiptStale = errors.New("engine: receipt is stale")
	// ErrMessageNotInflight: the message is not in flight.
	ErrMessageNotInflight = errors.New("engine: message not in flight")
	// ErrTooManyInflight: the queue's in-flight limit is reached (OverLimit).
	ErrTooManyInflight = errors.New("engine: too many messages in flight")
	// ErrBatchEmpty: a batch call had no entries.
	ErrBatchEmpty = errors.New("engine: batch is empty")
	// ErrBatchTooLarge: a batch call had too many entries or bytes.
	ErrBatchTooLarge = errors.New("engine: batch too large")
	// ErrBatchDuplicateID: two entries of a batch share an id.
	ErrBatchDuplicateID = errors.New("engine: batch entry ids not distinct")
	// ErrMoveTaskNotFound: no message move task with that handle.
	ErrMoveTaskNotFound = errors.New("engine: message move task not found")

	// Streams.

	// ErrStreamNotFound: no stream with that name in the namespace.
	ErrStreamNotFound = errors.New("engine: stream does not exist")
	// ErrStreamExists: a stream with that name exists.
	ErrStreamExists = errors.New("engine: stream already exists")

	// ErrLimitExceeded: a resource or throughput limit was reached.
	ErrLimitExceeded = errors.New("engine: limit exceeded")
	// ErrResourceInUse: the resource is in a state that forbids the call.
	ErrResourceInUse = errors.New("engine: resource in use")
)

// ValidationError reports input that breaks a semantic rule the engine
// enforces (a range, a combination of settings). Field names the engine's
// field (e.g. "VisibilityTimeout"); server maps it to the AWS parameter.
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string {
	if e.Field == "" {
		return "engine: invalid input: " + e.Reason
	}
	return fmt.Sprintf("engine: invalid %s: %s", e.Field, e.Reason)
}

// invalidf returns a *ValidationError for field with a formatted reason.
func invalidf(field, format string, args ...any) error {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
