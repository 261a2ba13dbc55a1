package kinesis

import (
	"context"
	"errors"
	"net/http"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/server/awsproto"
)

// Kinesis error codes (botocore model "errors" of each operation). All are
// client faults with status 400 except InternalFailureException (500).
var (
	errResourceNotFound = kinesisError("ResourceNotFoundException", "Requested resource not found.")
	errResourceInUse    = kinesisError("ResourceInUseException", "The resource is in use.")
	errInvalidArgument  = kinesisError("InvalidArgumentException", "Invalid argument.")
	errLimitExceeded    = kinesisError("LimitExceededException", "Rate exceeded.")
	errThroughput       = kinesisError("ProvisionedThroughputExceededException", "Rate exceeded for shard.")
	errExpiredIterator  = kinesisError("ExpiredIteratorException", "Iterator expired.")
	errExpiredNextToken = kinesisError("ExpiredNextTokenException", "The pagination token passed to the operation is expired.")
	errValidation       = kinesisError("ValidationException", "Validation failed.")
	errInternalFailure  = &awsproto.Error{Code: "InternalFailureException", Message: "Internal service failure.", HTTPStatus: http.StatusInternalServerError}
)

func kinesisError(code, message string) *awsproto.Error {
	return &awsproto.Error{Code: code, Message: message, HTTPStatus: http.StatusBadRequest, Sender: true}
}

// errorTable maps each engine error a stream call can return to its AWS
// error. Handlers that know the resource name replace the message (AWS
// messages name the stream and account); the table's message is the
// fallback. TestEveryEngineStreamErrorMapped keeps it complete.
var errorTable = []struct {
	engine error
	aws    *awsproto.Error
}{
	{engine.ErrStreamNotFound, errResourceNotFound},
	{engine.ErrShardNotFound, errResourceNotFound},
	{engine.ErrConsumerNotFound, errResourceNotFound},
	{engine.ErrStreamExists, errResourceInUse},
	{engine.ErrConsumerExists, errResourceInUse},
	{engine.ErrStreamHasConsumers, errResourceInUse.WithMessage("The stream has registered consumers; delete them first or set EnforceConsumerDeletion.")},
	{engine.ErrResourceInUse, errResourceInUse},
	{engine.ErrStreamNotActive, errResourceInUse},
	{engine.ErrLimitExceeded, errLimitExceeded},
	{engine.ErrThroughputExceeded, errThroughput},
	{engine.ErrClosed, awsproto.ErrServiceUnavailable},
}

// mapError turns an operation's error into the *awsproto.Error the client
// sees. *awsproto.Error values pass through; engine validation errors are
// InvalidArgumentException with the engine's reason (it names only the
// caller's own input); unknown errors stay as they are, so the server logs
// them and answers InternalFailure.
func mapError(err error) error {
	var ae *awsproto.Error
	if errors.As(err, &ae) {
		return ae
	}
	var ve *engine.ValidationError
	if errors.As(err, &ve) {
		return errInvalidArgument.WithMessage(validationMessage(ve))
	}
	for _, e := range errorTable {
		if errors.Is(err, e.engine) {
			return e.aws
		}
	}
	if errors.Is(err, context.Canceled) {
		return awsproto.ErrServiceUnavailable
	}
	return err
}

// validationMessage renders an engine validation error for the client.
func validationMessage(ve *engine.ValidationError) string {
	if ve.Field == "" {
		return ve.Reason
	}
	return ve.Field + ": " + ve.Reason
}

// Messages AWS sends for the common cases, built per request.

func streamNotFound(ns engine.Namespace, name string) *awsproto.Error {
	return errResourceNotFound.WithMessage("Stream " + name + " under account " + ns.Account + " not found.")
}

func streamExists(ns engine.Namespace, name string) *awsproto.Error {
	return errResourceInUse.WithMessage("Stream " + name + " under account " + ns.Account + " already exists.")
}

func shardNotFound(ns engine.Namespace, stream, shardID string) *awsproto.Error {
	return errResourceNotFound.WithMessage("Shard " + shardID + " in stream " + stream + " under account " + ns.Account + " does not exist")
}

func invalidArgument(message string) *awsproto.Error {
	return errInvalidArgument.WithMessage(message)
}

// streamNotActive is AWS's answer to a control-plane change on a stream
// in a transition ("Stream s under account 1 not ACTIVE, instead in state
// UPDATING", as kinesalite records it from AWS).
func streamNotActive(ns engine.Namespace, name string, status engine.StreamStatus) *awsproto.Error {
	return errResourceInUse.WithMessage("Stream " + name + " under account " + ns.Account +
		" not ACTIVE, instead in state " + string(status))
}

// streamError maps err from a call on stream name, naming the stream in
// not-found, exists and not-active messages as AWS does. A data-plane call
// on a CREATING stream matches ErrStreamNotFound (ResourceNotFoundException);
// a control-plane change on a stream that is not ACTIVE is
// ResourceInUseException.
func streamError(err error, ns engine.Namespace, name string) error {
	var state *engine.StreamStateError
	switch {
	case errors.Is(err, engine.ErrStreamNotFound):
		return streamNotFound(ns, name)
	case errors.Is(err, engine.ErrStreamExists):
		return streamExists(ns, name)
	case errors.As(err, &state):
		return streamNotActive(ns, name, state.Status)
	}
	return mapError(err)
}
