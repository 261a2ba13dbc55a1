package sqs

import (
	"net/http"
	"strconv"

	"github.com/sluice-dev/sluice/server/awsproto"
)

// The SQS error table: every error shape of the 2012-11-05 model with its
// awsQueryCompatible code and HTTP status (the x-amzn-query-error header and
// the query protocol's <Code>), plus the generic codes SQS answers with for
// parameter validation. JSONType is the namespaced shape name SQS puts in
// "__type"; SDKs strip the namespace, and awsQueryCompatible SDKs
// (aws-sdk-go-v2, botocore) then take the code from x-amzn-query-error.
//
// Messages are the texts SQS returns where known; entries whose text depends
// on the request are specialised with WithMessage by the helpers below.

func sqsError(shape, code string, status int, sender bool, message string) *awsproto.Error {
	e := &awsproto.Error{Code: code, Message: message, HTTPStatus: status, Sender: sender}
	if shape != "" {
		e.JSONType = "com.amazonaws.sqs#" + shape
	}
	return e
}

// coralError is a 400 sender fault whose JSON "__type" is an exception of
// AWS's service framework (namespace com.amazon.coral.service) rather than
// an SQS shape.
func coralError(exception, code string) *awsproto.Error {
	return &awsproto.Error{Code: code, JSONType: "com.amazon.coral.service#" + exception, HTTPStatus: http.StatusBadRequest, Sender: true}
}

// Modeled error shapes (botocore service-2.json "exception" shapes).
var (
	errBatchEntryIdsNotDistinct     = sqsError("BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", http.StatusBadRequest, true, "")
	errBatchRequestTooLong          = sqsError("BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong", http.StatusBadRequest, true, "")
	errEmptyBatchRequest            = sqsError("EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest", http.StatusBadRequest, true, "")
	errInvalidAddress               = sqsError("InvalidAddress", "InvalidAddress", http.StatusNotFound, true, "The address is not valid for this endpoint.")
	errInvalidAttributeName         = sqsError("InvalidAttributeName", "InvalidAttributeName", http.StatusBadRequest, true, "")
	errInvalidAttributeValue        = sqsError("InvalidAttributeValue", "InvalidAttributeValue", http.StatusBadRequest, true, "")
	errInvalidBatchEntryID          = sqsError("InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId", http.StatusBadRequest, true, "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.")
	errInvalidIDFormat              = sqsError("InvalidIdFormat", "InvalidIdFormat", http.StatusBadRequest, true, "The specified receipt handle isn't valid for the current version.")
	errInvalidMessageContents       = sqsError("InvalidMessageContents", "InvalidMessageContents", http.StatusBadRequest, true, "")
	errInvalidSecurity              = sqsError("InvalidSecurity", "InvalidSecurity", http.StatusForbidden, true, "The request was not made over HTTPS or did not use SigV4 for signing.")
	errMessageNotInflight           = sqsError("MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight", http.StatusBadRequest, true, "The specified message isn't in flight.")
	errOverLimit                    = sqsError("OverLimit", "OverLimit", http.StatusForbidden, true, "")
	errPurgeQueueInProgress         = sqsError("PurgeQueueInProgress", "AWS.SimpleQueueService.PurgeQueueInProgress", http.StatusForbidden, true, "")
	errQueueDeletedRecently         = sqsError("QueueDeletedRecently", "AWS.SimpleQueueService.QueueDeletedRecently", http.StatusBadRequest, true, "You must wait 60 seconds after deleting a queue before you can create another with the same name.")
	errQueueDoesNotExist            = sqsError("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", http.StatusBadRequest, true, "The specified queue does not exist.")
	errQueueNameExists              = sqsError("QueueNameExists", "QueueAlreadyExists", http.StatusBadRequest, true, "")
	errReceiptHandleIsInvalid       = sqsError("ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", http.StatusNotFound, true, "")
	errRequestThrottled             = sqsError("RequestThrottled", "RequestThrottled", http.StatusForbidden, true, "Request is throttled.")
	errResourceNotFound             = sqsError("ResourceNotFoundException", "ResourceNotFoundException", http.StatusNotFound, true, "")
	errTooManyEntriesInBatchRequest = sqsError("TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", http.StatusBadRequest, true, "")
	errUnsupportedOperation         = sqsError("UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", http.StatusBadRequest, true, "")

	// KMS shapes: Sluice stores KmsMasterKeyId but never calls KMS, so these
	// are never produced; they are listed so the table covers the model.
	errKmsAccessDenied    = sqsError("KmsAccessDenied", "KMS.AccessDeniedException", http.StatusBadRequest, true, "")
	errKmsDisabled        = sqsError("KmsDisabled", "KMS.DisabledException", http.StatusBadRequest, true, "")
	errKmsInvalidKeyUsage = sqsError("KmsInvalidKeyUsage", "KMS.InvalidKeyUsageException", http.StatusBadRequest, true, "")
	errKmsInvalidState    = sqsError("KmsInvalidState", "KMS.InvalidStateException", http.StatusBadRequest, true, "")
	errKmsNotFound        = sqsError("KmsNotFound", "KMS.NotFoundException", http.StatusBadRequest, true, "")
	errKmsOptInRequired   = sqsError("KmsOptInRequired", "KMS.OptInRequired", http.StatusForbidden, true, "")
	errKmsThrottled       = sqsError("KmsThrottled", "KMS.ThrottlingException", http.StatusBadRequest, true, "")
)

// Unmodeled codes SQS returns for parameter validation (the "common errors"
// of the query era). They are not shapes in the JSON model, so SDKs surface
// them as generic API errors whose code comes from x-amzn-query-error. Their
// JSON "__type" is not the query code but the request-validation exception
// of AWS's service framework: botocore reports it as QueryErrorCode
// "InvalidParameterValueException" and "MissingRequiredParameterException"
// in LocalStack's AWS-recorded test_sqs.snapshot.json
// (test_posting_to_fifo_requires_deduplicationid_group_id and others).
var (
	errInvalidParameterValue = coralError("InvalidParameterValueException", "InvalidParameterValue")
	errMissingParameter      = coralError("MissingRequiredParameterException", "MissingParameter")
	errInternal              = sqsError("InternalError", "InternalError", http.StatusInternalServerError, false, "We encountered an internal error. Please try again.")
	errServiceUnavailable    = sqsError("ServiceUnavailable", "ServiceUnavailable", http.StatusServiceUnavailable, false, "The request has failed due to a temporary failure of the server.")
)

// errQueueDoesNotExistQuery is errQueueDoesNotExist as the query protocol
// words it (see queryWording).
var errQueueDoesNotExistQuery = errQueueDoesNotExist.WithMessage("The specified queue does not exist for this wsdl version.")

// modeledErrors lists every modeled error shape, for the coverage test.
var modeledErrors = []*awsproto.Error{
	errBatchEntryIdsNotDistinct, errBatchRequestTooLong, errEmptyBatchRequest,
	errInvalidAddress, errInvalidAttributeName, errInvalidAttributeValue,
	errInvalidBatchEntryID, errInvalidIDFormat, errInvalidMessageContents,
	errInvalidSecurity, errKmsAccessDenied, errKmsDisabled, errKmsInvalidKeyUsage,
	errKmsInvalidState, errKmsNotFound, errKmsOptInRequired, errKmsThrottled,
	errMessageNotInflight, errOverLimit, errPurgeQueueInProgress,
	errQueueDeletedRecently, errQueueDoesNotExist, errQueueNameExists,
	errReceiptHandleIsInvalid, errRequestThrottled, errResourceNotFound,
	errTooManyEntriesInBatchRequest, errUnsupportedOperation,
}

// Specialised messages. Each returns a fresh copy of a table entry.

func missingParameter(name string) *awsproto.Error {
	return errMissingParameter.WithMessage("The request must contain the parameter " + name + ".")
}

func invalidParameter(message string) *awsproto.Error {
	return errInvalidParameterValue.WithMessage(message)
}

// invalidParameterValue renders SQS's "Value X for parameter P is invalid.
// Reason: R." message.
func invalidParameterValue(param, value, reason string) *awsproto.Error {
	return errInvalidParameterValue.WithMessage("Value " + value + " for parameter " + param + " is invalid. Reason: " + reason)
}

func unknownAttribute(name string) *awsproto.Error {
	return errInvalidAttributeName.WithMessage("Unknown Attribute " + name + ".")
}

func invalidAttributeValue(name string) *awsproto.Error {
	return errInvalidAttributeValue.WithMessage("Invalid value for the parameter " + name + ".")
}

func invalidAttributeValueReason(name, reason string) *awsproto.Error {
	return errInvalidAttributeValue.WithMessage("Invalid value for the parameter " + name + ". Reason: " + reason)
}

func emptyBatch(entryShape string) *awsproto.Error {
	return errEmptyBatchRequest.WithMessage("There should be at least one " + entryShape + " in the request.")
}

func tooManyEntries(count int) *awsproto.Error {
	return errTooManyEntriesInBatchRequest.WithMessage("Maximum number of entries per request are " +
		strconv.Itoa(batchEntriesMax) + ". You have sent " + strconv.Itoa(count) + ".")
}

func idsNotDistinct(id string) *awsproto.Error {
	return errBatchEntryIdsNotDistinct.WithMessage("Id " + id + " repeated.")
}

func batchTooLong(size int) *awsproto.Error {
	return errBatchRequestTooLong.WithMessage("Batch requests cannot be longer than " +
		strconv.Itoa(batchPayloadSizeMax) + " bytes. You have sent " + strconv.Itoa(size) + " bytes.")
}

func queueNameExists(attribute string) *awsproto.Error {
	if attribute == "" {
		return errQueueNameExists.WithMessage("A queue already exists with the same name and a different value for attributes.")
	}
	return errQueueNameExists.WithMessage("A queue already exists with the same name and a different value for attribute " + attribute)
}

func receiptHandleInvalid(handle string) *awsproto.Error {
	return errReceiptHandleIsInvalid.WithMessage("The input receipt handle \"" + handle + "\" is not a valid receipt handle.")
}

// errInvalidTaskHandle is CancelMessageMoveTask's answer for a TaskHandle
// that is no task handle.
var errInvalidTaskHandle = invalidParameter("Value for parameter TaskHandle is invalid.")

// errNotDeadLetterQueue is StartMessageMoveTask's answer for a SourceArn
// that is no queue's dead-letter queue.
var errNotDeadLetterQueue = invalidParameter("Source queue must be configured as a Dead Letter Queue.")

func purgeInProgress(queueName string) *awsproto.Error {
	return errPurgeQueueInProgress.WithMessage("Only one PurgeQueue operation on " + queueName + " is allowed every 60 seconds.")
}
