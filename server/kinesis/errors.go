package kinesis

import (
	"context"
	"errors"
	"net/http"
	"strings"

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
// InvalidArgumentException naming the member (validationMessage); unknown
// errors stay as they are, so the server logs them and answers
// InternalFailure. No engine text reaches the client: engine messages are
// Go-formatted ("24h0m0s", %q-quoted names) and name engine internals, so
// handlers that know AWS's wording for a failure build it themselves
// (shards.go, stream.go) and everything else gets a fixed text here.
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

// validationMessage words an engine validation error no handler
// translated. The handlers check the request's shape and AWS's rules
// before calling the engine, so this is reached only by a race (a stream
// setting changed between a handler's check and the engine call) or by an
// engine rule with no AWS counterpart. The engine's Reason is never sent:
// the member is named in AWS's "Invalid X." form (as in AWS's "Invalid
// ShardIterator." and "Invalid NextToken."), and a field that is not a
// Kinesis request member gets a neutral sentence.
func validationMessage(ve *engine.ValidationError) string {
	switch {
	case awsMemberFields[ve.Field]:
		return "Invalid " + ve.Field + "."
	case strings.HasPrefix(ve.Field, "Namespace."):
		// The region of the request's credential scope (or of an ARN)
		// is longer than the engine stores.
		return "Invalid region or account."
	}
	return "Invalid argument."
}

// awsMemberFields are the engine ValidationError fields that are also the
// names of Kinesis request members.
var awsMemberFields = map[string]bool{
	"StreamName": true, "ShardCount": true, "TargetShardCount": true, "RetentionPeriodHours": true,
	"MaxRecordSizeInKiB": true, "Tags": true, "KeyId": true, "EncryptionType": true, "ShardLevelMetrics": true,
	"Records": true, "PartitionKey": true, "Data": true, "ShardToSplit": true, "NewStartingHashKey": true,
	"ShardToMerge": true, "AdjacentShardToMerge": true, "Policy": true, "ResourceARN": true,
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

// onDemandNotSupported is the answer to SplitShard, MergeShards and
// UpdateShardCount on an ON_DEMAND stream. The code is AWS's: the model
// and the API reference list ValidationException for these three
// operations as "Specifies that you tried to invoke this API for a data
// stream with the on-demand capacity mode. This API is only supported for
// data streams with the provisioned capacity mode." (botocore kinesis
// 2013-12-02 ValidationException; docs.aws.amazon.com/kinesis/latest/
// APIReference/API_SplitShard.html, API_MergeShards.html,
// API_UpdateShardCount.html). The text is moto's, whose UpdateShardCount
// test asserts it (getmoto/moto tests/test_kinesis/test_kinesis.py
// test_stream_creation_on_demand, moto/kinesis/exceptions.py
// StreamCannotBeUpdatedError); no AWS-recorded text for SplitShard and
// MergeShards was found, so they answer the same.
func onDemandNotSupported(ns engine.Namespace, name string) *awsproto.Error {
	return errValidation.WithMessage("Request is invalid. Stream " + name + " under account " + ns.Account + " is in On-Demand mode.")
}

// shardRoomExceeded answers a reshard that would leave the stream with
// more shards, open and closed, than the engine keeps (ErrLimitExceeded
// from Split, Merge or UpdateShardCount once AWS's own bounds passed).
// AWS has no such per-stream bound (its shard quota is per account), so
// the text is a neutral one in the form of AWS's shard-limit message
// ("This request would exceed the shard limit for the account ...",
// kinesalite actions/splitShard.js).
func shardRoomExceeded(ns engine.Namespace, name string) *awsproto.Error {
	return errLimitExceeded.WithMessage("This request would exceed the shard limit for stream " + name + " under account " +
		ns.Account + ": closed shards count towards it until their data expires.")
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
