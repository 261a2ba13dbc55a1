package sqs

import (
	"errors"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/server/awsproto"
)

// engineErrors maps every engine sentinel a queue operation can return to
// its SQS error. Operation-specific messages (receipt handles, queue names)
// are refined by the handlers before falling back to this table.
var engineErrors = []struct {
	sentinel error
	aws      *awsproto.Error
}{
	{engine.ErrQueueNotFound, errQueueDoesNotExist},
	{engine.ErrQueueExists, queueNameExists("")},
	{engine.ErrQueueDeletedRecently, errQueueDeletedRecently},
	{engine.ErrPurgeInProgress, errPurgeQueueInProgress.WithMessage("Only one PurgeQueue operation on the queue is allowed every 60 seconds.")},
	{engine.ErrReceiptInvalid, errReceiptHandleIsInvalid.WithMessage("The input receipt handle is invalid.")},
	{engine.ErrReceiptStale, errReceiptHandleIsInvalid.WithMessage("The receipt handle has expired.")},
	{engine.ErrMessageNotInflight, errMessageNotInflight},
	{engine.ErrTooManyInflight, errOverLimit.WithMessage("Too many messages in flight.")},
	{engine.ErrBatchEmpty, errEmptyBatchRequest.WithMessage("There should be at least one entry in the request.")},
	{engine.ErrBatchTooLarge, errTooManyEntriesInBatchRequest.WithMessage("Maximum number of entries per request are 10.")},
	{engine.ErrBatchDuplicateID, errBatchEntryIdsNotDistinct.WithMessage("Batch entry ids are repeated.")},
	{engine.ErrMoveTaskNotFound, errResourceNotFound.WithMessage("Task does not exist.")},
	{engine.ErrInvalidMessageContents, errInvalidMessageContents.WithMessage("Invalid binary character was found in the message body, the set of allowed characters is available at http://www.w3.org/TR/REC-xml/#charsets")},
	{engine.ErrLimitExceeded, errOverLimit.WithMessage("A limit was exceeded.")},
	{engine.ErrResourceInUse, errInvalidParameterValue.WithMessage("The resource is in use.")},
	{engine.ErrClosed, errServiceUnavailable},
}

// queueSentinels lists the engine sentinels of the Queues contract, for the
// coverage test: each must appear in engineErrors.
var queueSentinels = []error{
	engine.ErrClosed, engine.ErrQueueNotFound, engine.ErrQueueExists, engine.ErrQueueDeletedRecently,
	engine.ErrPurgeInProgress, engine.ErrReceiptInvalid, engine.ErrReceiptStale,
	engine.ErrMessageNotInflight, engine.ErrTooManyInflight, engine.ErrBatchEmpty,
	engine.ErrBatchTooLarge, engine.ErrBatchDuplicateID, engine.ErrMoveTaskNotFound,
	engine.ErrInvalidMessageContents, engine.ErrLimitExceeded, engine.ErrResourceInUse,
}

func isNotFound(err error) bool { return errors.Is(err, engine.ErrQueueNotFound) }

// mapError converts an engine error to the SQS error. An *awsproto.Error
// passes through; a *engine.ValidationError becomes InvalidParameterValue
// naming the field; anything unknown is returned as is and rendered by the
// server as InternalFailure (and logged).
func (s *service) mapError(err error) error {
	if err == nil {
		return nil
	}
	var ae *awsproto.Error
	if errors.As(err, &ae) {
		return ae
	}
	for _, m := range engineErrors {
		if errors.Is(err, m.sentinel) {
			return m.aws
		}
	}
	var ve *engine.ValidationError
	if errors.As(err, &ve) {
		return validationError(ve)
	}
	return err
}

// engineFieldParams names the SQS parameter of each engine field.
var engineFieldParams = map[string]string{
	"Body":                      "MessageBody",
	"Attributes":                "MessageAttributes",
	"SystemAttributes":          "MessageSystemAttributes",
	"Delay":                     "DelaySeconds",
	"GroupID":                   "MessageGroupId",
	"DeduplicationID":           "MessageDeduplicationId",
	"VisibilityTimeout":         "VisibilityTimeout",
	"Visibility":                "VisibilityTimeout",
	"Wait":                      "WaitTimeSeconds",
	"Max":                       "MaxNumberOfMessages",
	"AttemptID":                 "ReceiveRequestAttemptId",
	"MessageRetention":          "MessageRetentionPeriod",
	"MaximumMessageSizeBytes":   "MaximumMessageSize",
	"ReceiveWaitTime":           "ReceiveMessageWaitTimeSeconds",
	"ContentBasedDeduplication": "ContentBasedDeduplication",
	"DeduplicationScope":        "DeduplicationScope",
	"FifoThroughputLimit":       "FifoThroughputLimit",
	"Redrive":                   "RedrivePolicy",
	"Redrive.MaxReceiveCount":   "RedrivePolicy",
	"Redrive.DeadLetterTarget":  "RedrivePolicy",
	"RedriveAllow":              "RedriveAllowPolicy",
	"RedriveAllow.Permission":   "RedriveAllowPolicy",
	"RedriveAllow.SourceQueues": "RedriveAllowPolicy",
	"MaxPerSecond":              "MaxNumberOfMessagesPerSecond",
}

// validationError renders an engine validation failure as SQS's
// InvalidParameterValue, naming the SQS parameter.
func validationError(ve *engine.ValidationError) *awsproto.Error {
	param, ok := engineFieldParams[ve.Field]
	if !ok {
		param = ve.Field
	}
	if param == "" {
		return invalidParameter("One or more parameters are invalid. Reason: " + ve.Reason + ".")
	}
	return invalidParameter("Invalid value for the parameter " + param + ". Reason: " + ve.Reason + ".")
}
