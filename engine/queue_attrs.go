package engine

import (
	"errors"
	"maps"
	"reflect"
	"slices"
	"time"
)

// Queue attribute limits (AWS values; see /work/shared/AWS-LIMITS.md).
const (
	VisibilityTimeoutMax       = 12 * time.Hour
	DelayMax                   = 15 * time.Minute
	MessageRetentionMin        = time.Minute
	MessageRetentionMax        = 14 * 24 * time.Hour
	MaximumMessageSizeMinBytes = 1024
	MaximumMessageSizeMaxBytes = 1 << 20
	ReceiveWaitTimeMax         = 20 * time.Second
	MaxReceiveCountMax         = 1000
	RedriveAllowSourcesMax     = 10

	defaultVisibilityTimeout = 30 * time.Second
	defaultMessageRetention  = 4 * 24 * time.Hour

	DeduplicationScopeQueue        = "queue"
	DeduplicationScopeMessageGroup = "messageGroup"
	FifoThroughputPerQueue         = "perQueue"
	FifoThroughputPerMessageGroup  = "perMessageGroupId"
)

// DefaultQueueAttributes returns AWS's defaults for a new standard or FIFO
// queue. Server (and embedders) start from it and override what the caller
// set: a zero VisibilityTimeout is a valid setting, so the engine cannot
// tell "unset" from "0" for every field.
func DefaultQueueAttributes(fifo bool) QueueAttributes {
	a := QueueAttributes{
		FIFO:                    fifo,
		VisibilityTimeout:       defaultVisibilityTimeout,
		MessageRetention:        defaultMessageRetention,
		MaximumMessageSizeBytes: MaximumMessageSizeMaxBytes,
	}
	if fifo {
		a.DeduplicationScope = DeduplicationScopeQueue
		a.FifoThroughputLimit = FifoThroughputPerQueue
	}
	return a
}

// normalizeQueueAttributes fills the fields whose zero value is not a valid
// setting (retention, maximum size, FIFO scope strings) with their defaults
// and returns a copy that shares nothing with a.
func normalizeQueueAttributes(a QueueAttributes) QueueAttributes {
	if a.MessageRetention == 0 {
		a.MessageRetention = defaultMessageRetention
	}
	if a.MaximumMessageSizeBytes == 0 {
		a.MaximumMessageSizeBytes = MaximumMessageSizeMaxBytes
	}
	if a.FIFO {
		if a.DeduplicationScope == "" {
			a.DeduplicationScope = DeduplicationScopeQueue
		}
		if a.FifoThroughputLimit == "" {
			a.FifoThroughputLimit = FifoThroughputPerQueue
		}
	}
	if a.Redrive != nil {
		r := *a.Redrive
		a.Redrive = &r
	}
	if a.RedriveAllow != nil {
		r := *a.RedriveAllow
		r.SourceQueues = slices.Clone(r.SourceQueues)
		a.RedriveAllow = &r
	}
	if len(a.Extra) == 0 {
		a.Extra = nil
	} else {
		a.Extra = maps.Clone(a.Extra)
	}
	return a
}

// validateQueueAttributes checks the rules that need no other queue (the
// dead-letter target's existence, type and allow policy are checked by the
// caller with the catalog). a must be normalized.
func validateQueueAttributes(a *QueueAttributes) error {
	checkRange := func(field string, v, lo, hi time.Duration) error {
		if v < lo || v > hi {
			return invalidf(field, "%s outside [%s, %s]", v, lo, hi)
		}
		return nil
	}
	err := errors.Join(
		checkRange("VisibilityTimeout", a.VisibilityTimeout, 0, VisibilityTimeoutMax),
		checkRange("Delay", a.Delay, 0, DelayMax),
		checkRange("MessageRetention", a.MessageRetention, MessageRetentionMin, MessageRetentionMax),
		checkRange("ReceiveWaitTime", a.ReceiveWaitTime, 0, ReceiveWaitTimeMax),
	)
	if err != nil {
		return firstError(err)
	}
	if a.MaximumMessageSizeBytes < MaximumMessageSizeMinBytes || a.MaximumMessageSizeBytes > MaximumMessageSizeMaxBytes {
		return invalidf("MaximumMessageSizeBytes", "%d outside [%d, %d]", a.MaximumMessageSizeBytes, MaximumMessageSizeMinBytes, MaximumMessageSizeMaxBytes)
	}
	if err := validateFIFOAttributes(a); err != nil {
		return err
	}
	if r := a.Redrive; r != nil {
		if r.MaxReceiveCount < 1 || r.MaxReceiveCount > MaxReceiveCountMax {
			return invalidf("Redrive.MaxReceiveCount", "%d outside [1, %d]", r.MaxReceiveCount, MaxReceiveCountMax)
		}
		if r.DeadLetterTarget.Name == "" {
			return invalidf("Redrive.DeadLetterTarget", "must name a queue")
		}
	}
	if r := a.RedriveAllow; r != nil {
		switch r.Permission {
		case RedriveAllowAll, RedriveDenyAll:
			if len(r.SourceQueues) != 0 {
				return invalidf("RedriveAllow.SourceQueues", "only allowed with permission %s", RedriveByQueue)
			}
		case RedriveByQueue:
			if len(r.SourceQueues) == 0 || len(r.SourceQueues) > RedriveAllowSourcesMax {
				return invalidf("RedriveAllow.SourceQueues", "%d queues outside [1, %d]", len(r.SourceQueues), RedriveAllowSourcesMax)
			}
		default:
			return invalidf("RedriveAllow.Permission", "%q is not allowAll, denyAll or byQueue", r.Permission)
		}
	}
	return nil
}

func validateFIFOAttributes(a *QueueAttributes) error {
	if !a.FIFO {
		switch {
		case a.ContentBasedDeduplication:
			return invalidf("ContentBasedDeduplication", "only valid on FIFO queues")
		case a.DeduplicationScope != "":
			return invalidf("DeduplicationScope", "only valid on FIFO queues")
		case a.FifoThroughputLimit != "":
			return invalidf("FifoThroughputLimit", "only valid on FIFO queues")
		}
		return nil
	}
	switch a.DeduplicationScope {
	case DeduplicationScopeQueue, DeduplicationScopeMessageGroup:
	default:
		return invalidf("DeduplicationScope", "%q is not queue or messageGroup", a.DeduplicationScope)
	}
	switch a.FifoThroughputLimit {
	case FifoThroughputPerQueue:
	case FifoThroughputPerMessageGroup:
		// AWS rejects per-group throughput with queue-wide deduplication.
		if a.DeduplicationScope != DeduplicationScopeMessageGroup {
			return invalidf("FifoThroughputLimit", "perMessageGroupId requires DeduplicationScope messageGroup")
		}
	default:
		return invalidf("FifoThroughputLimit", "%q is not perQueue or perMessageGroupId", a.FifoThroughputLimit)
	}
	return nil
}

// firstError unwraps an errors.Join result to its first error so callers
// can errors.As a single *ValidationError.
func firstError(err error) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		if errs := j.Unwrap(); len(errs) > 0 {
			return errs[0]
		}
	}
	return err
}

// queueAttributesEqual compares two normalized attribute sets, as
// CreateQueue does to decide between "idempotent" and ErrQueueExists.
func queueAttributesEqual(a, b QueueAttributes) bool {
	if len(a.Extra) == 0 && len(b.Extra) == 0 {
		a.Extra, b.Extra = nil, nil
	}
	return reflect.DeepEqual(a, b)
}

// redriveAllows reports whether policy (of a dead-letter queue; nil =
// allowAll) permits source to use it.
func redriveAllows(policy *RedriveAllowPolicy, source QueueRef) bool {
	if policy == nil {
		return true
	}
	switch policy.Permission {
	case RedriveAllowAll:
		return true
	case RedriveByQueue:
		return slices.Contains(policy.SourceQueues, source)
	default:
		return false
	}
}
