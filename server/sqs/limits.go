package sqs

import "time"

// AWS quotas and defaults that the SQS wire layer enforces or renders. The
// engine enforces the semantic ones again (it owns delay, retention, receive
// counts); the copies here let the server reject a malformed request with the
// exact AWS error before touching the engine. Sources: botocore sqs
// 2012-11-05 model, the SQS developer guide quotas pages and
// shared/AWS-LIMITS.md.
const (
	// queueNameLengthMax bounds a queue name, the ".fifo" suffix included.
	queueNameLengthMax = 80

	// messageBodySizeMax is the largest MessageBody (and the largest
	// MaximumMessageSize): 1 MiB since 2025-08-04.
	messageBodySizeMax = 1 << 20
	// maximumMessageSizeMin is the smallest MaximumMessageSize attribute.
	maximumMessageSizeMin = 1024

	// batchEntriesMax is the most entries a *Batch request may carry.
	batchEntriesMax = 10
	// batchEntryIDLengthMax bounds a batch entry Id ([A-Za-z0-9_-]).
	batchEntryIDLengthMax = 80
	// batchPayloadSizeMax bounds the summed message sizes (body plus
	// attributes) of one SendMessageBatch.
	batchPayloadSizeMax = messageBodySizeMax

	// messageAttributesMax is the most message attributes one message may
	// carry.
	messageAttributesMax = 10
	// messageAttributeNameLengthMax bounds a message attribute name.
	messageAttributeNameLengthMax = 256
	// messageAttributeDataTypeLengthMax bounds a message attribute DataType
	// (base type plus custom suffix).
	messageAttributeDataTypeLengthMax = 256

	// receiveMessagesMax is the largest MaxNumberOfMessages.
	receiveMessagesMax = 10
	// waitTimeMax is the longest WaitTimeSeconds / ReceiveMessageWaitTimeSeconds.
	waitTimeMax = 20 * time.Second
	// visibilityTimeoutMax is the longest VisibilityTimeout (12 hours).
	visibilityTimeoutMax = 12 * time.Hour
	// delayMax is the longest DelaySeconds (15 minutes).
	delayMax = 15 * time.Minute
	// retentionMin and retentionMax bound MessageRetentionPeriod.
	retentionMin = 60 * time.Second
	retentionMax = 14 * 24 * time.Hour
	// kmsDataKeyReuseMin and kmsDataKeyReuseMax bound
	// KmsDataKeyReusePeriodSeconds (stored, not interpreted).
	kmsDataKeyReuseMin = 60 * time.Second
	kmsDataKeyReuseMax = 24 * time.Hour

	// maxReceiveCountMin and maxReceiveCountMax bound a RedrivePolicy's
	// maxReceiveCount.
	maxReceiveCountMin = 1
	maxReceiveCountMax = 1000
	// redriveAllowSourceQueuesMax bounds RedriveAllowPolicy.sourceQueueArns.
	redriveAllowSourceQueuesMax = 10

	// fifoIDLengthMax bounds MessageGroupId, MessageDeduplicationId and
	// ReceiveRequestAttemptId.
	fifoIDLengthMax = 128

	// listQueuesMax is the largest ListQueues / ListDeadLetterSourceQueues
	// page, and the page size of an unpaginated ListQueues.
	listQueuesMax = 1000
	// listMoveTasksMax is the largest ListMessageMoveTasks MaxResults.
	listMoveTasksMax = 10
	// moveTaskRateMax bounds MaxNumberOfMessagesPerSecond.
	moveTaskRateMax = 500

	// queueTagsMax is the most tags a queue may carry.
	queueTagsMax = 50
	// tagKeyLengthMax and tagValueLengthMax bound one tag.
	tagKeyLengthMax   = 128
	tagValueLengthMax = 256

	// permissionLabelLengthMax bounds an AddPermission Label.
	permissionLabelLengthMax = 80
	// permissionActionsMax is the most actions one policy may name.
	permissionActionsMax = 7
)
