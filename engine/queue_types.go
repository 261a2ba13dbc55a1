package engine

import "time"

// QueueAttributes are a queue's settings. The zero value of a field means
// "unset" only where its doc says so; FillDefaults turns a zero-valued
// struct into AWS's defaults.
type QueueAttributes struct {
	// FIFO makes the queue a FIFO queue (its name must end in ".fifo"; the
	// server checks the name). Fixed at creation.
	FIFO bool
	// VisibilityTimeout is how long a received message stays invisible.
	// 0..12h. Default: 30s (applied when the whole struct is zero-valued by
	// FillDefaults, since 0 is a valid value).
	VisibilityTimeout time.Duration
	// Delay is how long a new message stays invisible after send. 0..15m.
	// Default: 0.
	Delay time.Duration
	// MessageRetention is how long a message is kept. 60s..14d. Default: 4d.
	MessageRetention time.Duration
	// MaximumMessageSizeBytes bounds body plus attributes, in bytes.
	// 1024..1048576. Default: 1048576.
	MaximumMessageSizeBytes int
	// ReceiveWaitTime is the default long-poll wait of Receive. 0..20s.
	// Default: 0.
	ReceiveWaitTime time.Duration
	// ContentBasedDeduplication derives a missing DeduplicationID from
	// SHA-256(body). FIFO only. Default: false.
	ContentBasedDeduplication bool
	// DeduplicationScope is "queue" (a deduplication id is unique in the
	// whole queue) or "messageGroup" (unique within its message group).
	// Enforced. FIFO only. Default: "queue".
	DeduplicationScope string
	// FifoThroughputLimit is "perQueue" or "perMessageGroupId" (AWS's
	// high-throughput mode; requires DeduplicationScope "messageGroup").
	// Validated and stored; the engine never throttles, in either mode
	// (see "FIFO throughput" in queue_doc.go). FIFO only. Default:
	// "perQueue".
	FifoThroughputLimit string
	// Redrive moves a message to a dead-letter queue once it has been
	// received MaxReceiveCount times. Default: nil (no redrive).
	Redrive *RedrivePolicy
	// RedriveAllow restricts which queues may use this queue as their
	// dead-letter queue. Default: nil (allowAll).
	RedriveAllow *RedriveAllowPolicy
	// Extra holds attributes stored verbatim and not interpreted: Policy,
	// KmsMasterKeyId, KmsDataKeyReusePeriodSeconds, SqsManagedSseEnabled...
	Extra map[string]string
}

// QueueRef names a queue across namespaces (dead-letter targets may live in
// the same namespace only in AWS, but the engine does not assume it).
type QueueRef struct {
	Namespace
	Name string
}

// String renders the reference as "account/region/name" for logs.
func (r QueueRef) String() string { return r.Namespace.String() + "/" + r.Name }

// RedrivePolicy is a queue's dead-letter configuration.
type RedrivePolicy struct {
	// DeadLetterTarget is the dead-letter queue.
	DeadLetterTarget QueueRef
	// MaxReceiveCount is how many receives a message gets before it moves:
	// the receive that would exceed it moves the message instead. 1..1000.
	MaxReceiveCount int
}

// Redrive allow permissions.
const (
	RedriveAllowAll = "allowAll"
	RedriveDenyAll  = "denyAll"
	RedriveByQueue  = "byQueue"
)

// RedriveAllowPolicy restricts which source queues may name this queue as
// their dead-letter target.
type RedriveAllowPolicy struct {
	// Permission is allowAll, denyAll or byQueue.
	Permission string
	// SourceQueues lists the allowed sources when Permission is byQueue
	// (1..10 entries).
	SourceQueues []QueueRef
}

// QueueInfo describes a queue.
type QueueInfo struct {
	Ref          QueueRef
	Attributes   QueueAttributes
	Tags         map[string]string
	Created      time.Time
	LastModified time.Time
}

// QueueCounts are approximate message counts, computed in O(1).
type QueueCounts struct {
	// Visible counts messages available for receive (including messages
	// not yet scanned by the read cursor).
	Visible int64
	// InFlight counts received, not deleted messages whose visibility
	// timeout has not expired.
	InFlight int64
	// Delayed counts messages whose delay has not elapsed.
	Delayed int64
}

// MessageAttribute is one message attribute. DataType is String, Number or
// Binary, optionally followed by ".customType"; exactly one of StringValue
// (String and Number types) and BinaryValue (Binary types) is meaningful.
type MessageAttribute struct {
	Name        string
	DataType    string
	StringValue string
	BinaryValue []byte
}

// SendMessage is one message to send.
type SendMessage struct {
	// Body is the message body (1 byte and up, at most the queue's
	// MaximumMessageSizeBytes together with the attributes).
	Body []byte
	// Attributes are user message attributes (at most 10).
	Attributes []MessageAttribute
	// SystemAttributes are system attributes (AWSTraceHeader).
	SystemAttributes []MessageAttribute
	// Delay overrides the queue's Delay; nil means the queue default.
	// 0..15m. Standard queues only.
	Delay *time.Duration
	// GroupID is the message group (required on FIFO queues; on standard
	// queues it is stored and returned but does not order delivery).
	GroupID string
	// DeduplicationID is the FIFO deduplication id. Empty with
	// ContentBasedDeduplication means SHA-256(body). FIFO only.
	DeduplicationID string
	// SenderID is returned to receivers as the SenderId attribute.
	SenderID string
	// BodyDigest, if HasBodyDigest, is a 16-byte digest of Body that the
	// engine stores with the message and returns on receive, so that a
	// protocol layer which must report a digest (SQS: MD5OfBody) computes
	// it once per message instead of once per delivery. The engine does
	// not check it against Body.
	BodyDigest    [16]byte
	HasBodyDigest bool
	// BodyChecked, if set, says the caller has already checked that Body
	// is UTF-8 made only of the characters SQS accepts (the check behind
	// ErrInvalidMessageContents), so the engine does not scan it again.
	// The SQS protocol layer checks every body to word its own error.
	BodyChecked bool
}

// SendResult is the outcome of one SendMessage.
type SendResult struct {
	// MessageID is the message's UUID (for a FIFO duplicate: the original's).
	MessageID string
	// SequenceNumber is the FIFO sequence number: a decimal 128-bit
	// integer, increasing within the queue. Empty on standard queues.
	SequenceNumber string
	// Duplicate reports a FIFO deduplication hit: nothing was stored.
	Duplicate bool
	// Err is this entry's failure (nil on success).
	Err error
}

// ReceiveOptions configures Receive.
type ReceiveOptions struct {
	// Max is the most messages to return, 1..10.
	Max int
	// Wait is the long-poll wait, 0..20s; nil means the queue's
	// ReceiveWaitTime.
	Wait *time.Duration
	// Visibility overrides the queue's VisibilityTimeout, 0..12h.
	Visibility *time.Duration
	// AttemptID is the FIFO ReceiveRequestAttemptId: a retry with the same
	// id within 5 minutes returns the same messages while they are in
	// flight.
	AttemptID string
}

// ReceivedMessage is one delivered message. Every field is owned by the
// caller.
type ReceivedMessage struct {
	MessageID string
	// Receipt identifies this delivery; pass it to Delete and
	// ChangeVisibility. Opaque bytes: server encodes them for the wire.
	Receipt               []byte
	Body                  []byte
	Attributes            []MessageAttribute
	SystemAttributes      []MessageAttribute
	SentTimestamp         time.Time
	FirstReceiveTimestamp time.Time
	ReceiveCount          int
	SenderID              string
	GroupID               string
	DeduplicationID       string
	SequenceNumber        string
	// DeadLetterSource is set when redrive moved the message here.
	DeadLetterSource *QueueRef
	// BodyDigest is SendMessage.BodyDigest, if HasBodyDigest (messages
	// sent without one, or stored before digests were, have none).
	BodyDigest    [16]byte
	HasBodyDigest bool
}

// Message move task statuses.
const (
	MoveTaskRunning    = "RUNNING"
	MoveTaskCompleted  = "COMPLETED"
	MoveTaskCancelling = "CANCELLING"
	MoveTaskCancelled  = "CANCELLED"
	MoveTaskFailed     = "FAILED"
)

// MoveTask describes a message move task (dead-letter queue redrive back).
type MoveTask struct {
	// Handle identifies the task for CancelMoveTask (opaque).
	Handle string
	// Source is the dead-letter queue messages move from.
	Source QueueRef
	// Destination is where messages go; nil means each message's original
	// source queue.
	Destination *QueueRef
	// MaxPerSecond is the rate limit; 0 means the engine's default.
	MaxPerSecond int
	// Status is one of the MoveTask* constants.
	Status  string
	Moved   int64
	ToMove  int64
	Started time.Time
	// Failure explains a FAILED status.
	Failure string
}
