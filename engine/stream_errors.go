package engine

import "errors"

// Stream errors. ErrStreamNotFound, ErrStreamExists, ErrLimitExceeded and
// ErrResourceInUse live in errors.go; these are the ones only streams return.
var (
	// ErrStreamHasConsumers: DeleteStream without enforceConsumerDeletion on
	// a stream with registered consumers (AWS: ResourceInUseException).
	ErrStreamHasConsumers = errors.New("engine: stream has registered consumers")
	// ErrShardNotFound: no retained shard with that index in the stream.
	ErrShardNotFound = errors.New("engine: shard does not exist")
	// ErrConsumerNotFound: no consumer with that name on the stream.
	ErrConsumerNotFound = errors.New("engine: stream consumer does not exist")
	// ErrConsumerExists: a consumer with that name is already registered.
	ErrConsumerExists = errors.New("engine: stream consumer already exists")
	// ErrThroughputExceeded: a shard's provisioned throughput was exceeded
	// (only with stream limits enabled). Put reports it per record.
	ErrThroughputExceeded = errors.New("engine: shard throughput exceeded")
)
