package engine

import (
	"errors"
	"fmt"
)

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
	// ErrStreamNotActive: the stream is in a transition (CREATING,
	// UPDATING, DELETING; only with a transition delay) that forbids the
	// call. It always comes as a *StreamStateError.
	ErrStreamNotActive = errors.New("engine: stream is not active")
)

// StreamStateError is returned by a call the stream's current state
// forbids. A control-plane change on a stream that is not ACTIVE also
// matches ErrResourceInUse (AWS: ResourceInUseException); a data-plane call
// on a CREATING stream also matches ErrStreamNotFound (AWS:
// ResourceNotFoundException, the stream is not there yet).
type StreamStateError struct {
	Stream string
	Status StreamStatus
	// DataPlane is set for Put/Read/Bounds/SeekTimestamp/Wait.
	DataPlane bool
}

func (e *StreamStateError) Error() string {
	return fmt.Sprintf("engine: stream %q is %s, not ACTIVE", e.Stream, e.Status)
}

// Unwrap makes the error match ErrStreamNotActive and either
// ErrStreamNotFound (data plane) or ErrResourceInUse (control plane).
func (e *StreamStateError) Unwrap() []error {
	if e.DataPlane {
		return []error{ErrStreamNotActive, ErrStreamNotFound}
	}
	return []error{ErrStreamNotActive, ErrResourceInUse}
}
