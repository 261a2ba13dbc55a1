package sqs

import (
	"encoding/json"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/server/awsproto"
)

// Queue attribute names (QueueAttributeName in the model), in the order
// GetQueueAttributes renders them.
const (
	attrAll                                   = "All"
	attrPolicy                                = "Policy"
	attrVisibilityTimeout                     = "VisibilityTimeout"
	attrMaximumMessageSize                    = "MaximumMessageSize"
	attrMessageRetentionPeriod                = "MessageRetentionPeriod"
	attrApproximateNumberOfMessages           = "ApproximateNumberOfMessages"
	attrApproximateNumberOfMessagesNotVisible = "ApproximateNumberOfMessagesNotVisible"
	attrCreatedTimestamp                      = "CreatedTimestamp"
	attrLastModifiedTimestamp                 = "LastModifiedTimestamp"
	attrQueueArn                              = "QueueArn"
	attrApproximateNumberOfMessagesDelayed    = "ApproximateNumberOfMessagesDelayed"
	attrDelaySeconds                          = "DelaySeconds"
	attrReceiveMessageWaitTimeSeconds         = "ReceiveMessageWaitTimeSeconds"
	attrRedrivePolicy                         = "RedrivePolicy"
	attrFifoQueue                             = "FifoQueue"
	attrContentBasedDeduplication             = "ContentBasedDeduplication"
	attrKmsMasterKeyID                        = "KmsMasterKeyId"
	attrKmsDataKeyReusePeriodSeconds          = "KmsDataKeyReusePeriodSeconds"
	attrDeduplicationScope                    = "DeduplicationScope"
	attrFifoThroughputLimit                   = "FifoThroughputLimit"
	attrRedriveAllowPolicy                    = "RedriveAllowPolicy"
	attrSqsManagedSseEnabled                  = "SqsManagedSseEnabled"
)

// queueAttributeNames lists every readable attribute in rendering order.
var queueAttributeNames = []string{
	attrQueueArn, attrApproximateNumberOfMessages, attrApproximateNumberOfMessagesNotVisible,
	attrApproximateNumberOfMessagesDelayed, attrCreatedTimestamp, attrLastModifiedTimestamp,
	attrVisibilityTimeout, attrMaximumMessageSize, attrMessageRetentionPeriod, attrDelaySeconds,
	attrReceiveMessageWaitTimeSeconds, attrPolicy, attrRedrivePolicy, attrRedriveAllowPolicy,
	attrFifoQueue, attrContentBasedDeduplication, attrDeduplicationScope, attrFifoThroughputLimit,
	attrKmsMasterKeyID, attrKmsDataKeyReusePeriodSeconds, attrSqsManagedSseEnabled,
}

// isReadOnlyAttribute reports attributes GetQueueAttributes returns but
// CreateQueue/SetQueueAttributes refuse (InvalidAttributeName).
func isReadOnlyAttribute(name string) bool {
	switch name {
	case attrApproximateNumberOfMessages, attrApproximateNumberOfMessagesNotVisible,
		attrApproximateNumberOfMessagesDelayed, attrCreatedTimestamp, attrLastModifiedTimestamp,
		attrQueueArn, attrAll:
		return true
	}
	return false
}

// isFIFOOnlyAttribute reports attributes that exist only on FIFO queues.
func isFIFOOnlyAttribute(name string) bool {
	switch name {
	case attrContentBasedDeduplication, attrDeduplicationScope, attrFifoThroughputLimit:
		return true
	}
	return false
}

// attributeContext is what applying attributes needs beyond the values: the
// namespace that unqualified references resolve in, and whether the queue
// exists already (SetQueueAttributes).
type attributeContext struct {
	ns       engine.Namespace
	existing bool
}

// applyQueueAttributes applies the wire attributes in to a (a copy the
// caller owns), validating each value as SQS does. Names are applied in
// sorted order so the first error is deterministic.
func applyQueueAttributes(a *engine.QueueAttributes, in map[string]string, ctx attributeContext) *awsproto.Error {
	names := make([]string, 0, len(in))
	for name := range in {
		names = append(names, name)
	}
	sortStrings(names)
	for _, name := range names {
		if err := applyQueueAttribute(a, name, in[name], ctx); err != nil {
			return err
		}
	}
	// A KMS key and SQS-managed encryption together are refused, as AWS
	// does (LocalStack's AWS-recorded test_sqs.snapshot.json,
	// test_sse_kms_and_sqs_are_mutually_exclusive).
	if sse, _ := parseAttributeBool(in[attrSqsManagedSseEnabled]); sse && in[attrKmsMasterKeyID] != "" {
		return errInvalidAttributeName.WithMessage("You can use one type of server-side encryption (SSE) at one time. You can either enable KMS SSE or SQS SSE.")
	}
	return nil
}

func applyQueueAttribute(a *engine.QueueAttributes, name, value string, ctx attributeContext) *awsproto.Error {
	if isReadOnlyAttribute(name) {
		return unknownAttribute(name)
	}
	if isFIFOOnlyAttribute(name) && !a.FIFO {
		return unknownAttribute(name)
	}
	switch name {
	case attrVisibilityTimeout:
		return setSeconds(&a.VisibilityTimeout, name, value, 0, visibilityTimeoutMax)
	case attrDelaySeconds:
		return setSeconds(&a.Delay, name, value, 0, delayMax)
	case attrMessageRetentionPeriod:
		return setSeconds(&a.MessageRetention, name, value, retentionMin, retentionMax)
	case attrReceiveMessageWaitTimeSeconds:
		return setSeconds(&a.ReceiveWaitTime, name, value, 0, waitTimeMax)
	case attrMaximumMessageSize:
		n, ok := parseAttributeInt(value)
		if !ok || n < maximumMessageSizeMin || n > messageBodySizeMax {
			return invalidAttributeValue(name)
		}
		a.MaximumMessageSizeBytes = int(n)
		return nil
	case attrFifoQueue:
		if ctx.existing && !a.FIFO {
			// A standard queue knows no FifoQueue attribute, whatever the
			// value (LocalStack's AWS-recorded test_sqs.snapshot.json,
			// test_set_unsupported_attribute_fifo).
			return unknownAttribute(name)
		}
		fifo, ok := parseAttributeBool(value)
		if !ok {
			return invalidAttributeValue(name)
		}
		if ctx.existing && !fifo {
			return invalidAttributeValueReason(name, "Modifying queue type is not supported.")
		}
		if !ctx.existing && fifo != a.FIFO {
			// CreateQueue reads FifoQueue first; a mismatch here means the
			// caller passed attributes of the other type.
			return invalidAttributeValue(name)
		}
		return nil
	case attrContentBasedDeduplication:
		v, ok := parseAttributeBool(value)
		if !ok {
			return invalidAttributeValue(name)
		}
		a.ContentBasedDeduplication = v
		return nil
	case attrDeduplicationScope:
		if value != engine.DeduplicationScopeQueue && value != engine.DeduplicationScopeMessageGroup {
			return invalidAttributeValue(name)
		}
		a.DeduplicationScope = value
		return nil
	case attrFifoThroughputLimit:
		if value != engine.FifoThroughputPerQueue && value != engine.FifoThroughputPerMessageGroup {
			return invalidAttributeValue(name)
		}
		a.FifoThroughputLimit = value
		return nil
	case attrRedrivePolicy:
		return applyRedrivePolicy(a, value, ctx)
	case attrRedriveAllowPolicy:
		return applyRedriveAllowPolicy(a, value)
	case attrPolicy:
		if value != "" && !json.Valid([]byte(value)) {
			return invalidAttributeValue(name)
		}
		setExtra(a, name, value)
		return nil
	case attrKmsMasterKeyID:
		setExtra(a, name, value)
		return nil
	case attrKmsDataKeyReusePeriodSeconds:
		var d time.Duration
		if err := setSeconds(&d, name, value, kmsDataKeyReuseMin, kmsDataKeyReuseMax); err != nil {
			return err
		}
		setExtra(a, name, value)
		return nil
	case attrSqsManagedSseEnabled:
		v, ok := parseAttributeBool(value)
		if !ok {
			return invalidAttributeValue(name)
		}
		setExtra(a, name, strconv.FormatBool(v))
		return nil
	}
	return unknownAttribute(name)
}

// setExtra stores a verbatim attribute; "" removes it.
func setExtra(a *engine.QueueAttributes, name, value string) {
	if value == "" {
		delete(a.Extra, name)
		return
	}
	if a.Extra == nil {
		a.Extra = make(map[string]string, 1)
	} else {
		a.Extra = maps.Clone(a.Extra)
	}
	a.Extra[name] = value
}

func setSeconds(d *time.Duration, name, value string, lo, hi time.Duration) *awsproto.Error {
	n, ok := parseAttributeInt(value)
	if !ok || n < int64(lo/time.Second) || n > int64(hi/time.Second) {
		return invalidAttributeValue(name)
	}
	*d = time.Duration(n) * time.Second
	return nil
}

// parseAttributeInt parses a non-negative decimal of at most 10 digits
// (attribute values are small; this rejects signs, spaces and overflow).
func parseAttributeInt(s string) (int64, bool) {
	if s == "" || len(s) > 10 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func parseAttributeBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// redrivePolicyJSON is the RedrivePolicy attribute's JSON. maxReceiveCount
// arrives as a number or a string.
type redrivePolicyJSON struct {
	DeadLetterTargetArn *string          `json:"deadLetterTargetArn"`
	MaxReceiveCount     *json.RawMessage `json:"maxReceiveCount"`
}

func applyRedrivePolicy(a *engine.QueueAttributes, value string, ctx attributeContext) *awsproto.Error {
	if value == "" || value == "{}" {
		a.Redrive = nil
		return nil
	}
	var p redrivePolicyJSON
	if err := json.Unmarshal([]byte(value), &p); err != nil {
		return invalidAttributeValueReason(attrRedrivePolicy, "Redrive policy is not a valid JSON map.")
	}
	// A policy that parses but lacks a member is InvalidParameterValue
	// quoting the policy, unlike unparsable JSON (InvalidAttributeValue).
	if p.DeadLetterTargetArn == nil {
		return invalidParameterValue(attrRedrivePolicy, value, "Redrive policy does not contain mandatory attribute: deadLetterTargetArn.")
	}
	if p.MaxReceiveCount == nil {
		return invalidParameterValue(attrRedrivePolicy, value, "Redrive policy does not contain mandatory attribute: maxReceiveCount.")
	}
	raw := strings.Trim(string(*p.MaxReceiveCount), `"`)
	count, ok := parseAttributeInt(raw)
	if !ok || count < maxReceiveCountMin || count > maxReceiveCountMax {
		return invalidParameterValue(attrRedrivePolicy, value, "Invalid value for maxReceiveCount: "+raw+", valid values are from 1 to 1000 both inclusive.")
	}
	arn, ok := parseQueueARN(*p.DeadLetterTargetArn)
	if !ok {
		return invalidParameterValue(attrRedrivePolicy, value, "Invalid value for deadLetterTargetArn.")
	}
	a.Redrive = &engine.RedrivePolicy{DeadLetterTarget: refFromARN(arn), MaxReceiveCount: int(count)}
	return nil
}

// redriveAllowPolicyJSON is the RedriveAllowPolicy attribute's JSON.
type redriveAllowPolicyJSON struct {
	RedrivePermission string   `json:"redrivePermission"`
	SourceQueueArns   []string `json:"sourceQueueArns"`
}

func applyRedriveAllowPolicy(a *engine.QueueAttributes, value string) *awsproto.Error {
	if value == "" || value == "{}" {
		a.RedriveAllow = nil
		return nil
	}
	var p redriveAllowPolicyJSON
	if err := json.Unmarshal([]byte(value), &p); err != nil {
		return invalidAttributeValueReason(attrRedriveAllowPolicy, "Redrive allow policy is not a valid JSON map.")
	}
	policy := &engine.RedriveAllowPolicy{Permission: p.RedrivePermission}
	switch p.RedrivePermission {
	case engine.RedriveAllowAll, engine.RedriveDenyAll:
		if len(p.SourceQueueArns) != 0 {
			return invalidAttributeValueReason(attrRedriveAllowPolicy, "sourceQueueArns may only be specified with redrivePermission byQueue.")
		}
	case engine.RedriveByQueue:
		if len(p.SourceQueueArns) == 0 || len(p.SourceQueueArns) > redriveAllowSourceQueuesMax {
			return invalidAttributeValueReason(attrRedriveAllowPolicy, "sourceQueueArns must list 1 to 10 queue ARNs when redrivePermission is byQueue.")
		}
		for _, s := range p.SourceQueueArns {
			arn, ok := parseQueueARN(s)
			if !ok {
				return invalidAttributeValueReason(attrRedriveAllowPolicy, "Invalid queue ARN "+s+".")
			}
			policy.SourceQueues = append(policy.SourceQueues, refFromARN(arn))
		}
	default:
		return invalidAttributeValueReason(attrRedriveAllowPolicy, "Invalid value for redrivePermission.")
	}
	a.RedriveAllow = policy
	return nil
}

// queueAttributeValue renders one attribute of a queue; ok=false when the
// attribute does not apply (FIFO attributes of a standard queue, unset
// optional attributes).
func queueAttributeValue(name string, info *engine.QueueInfo, counts *engine.QueueCounts) (string, bool) {
	a := &info.Attributes
	switch name {
	case attrQueueArn:
		return arnOf(info.Ref), true
	case attrApproximateNumberOfMessages:
		return strconv.FormatInt(counts.Visible, 10), true
	case attrApproximateNumberOfMessagesNotVisible:
		return strconv.FormatInt(counts.InFlight, 10), true
	case attrApproximateNumberOfMessagesDelayed:
		return strconv.FormatInt(counts.Delayed, 10), true
	case attrCreatedTimestamp:
		return strconv.FormatInt(info.Created.Unix(), 10), true
	case attrLastModifiedTimestamp:
		return strconv.FormatInt(info.LastModified.Unix(), 10), true
	case attrVisibilityTimeout:
		return seconds(a.VisibilityTimeout), true
	case attrMaximumMessageSize:
		return strconv.Itoa(a.MaximumMessageSizeBytes), true
	case attrMessageRetentionPeriod:
		return seconds(a.MessageRetention), true
	case attrDelaySeconds:
		return seconds(a.Delay), true
	case attrReceiveMessageWaitTimeSeconds:
		return seconds(a.ReceiveWaitTime), true
	case attrRedrivePolicy:
		if a.Redrive == nil {
			return "", false
		}
		return `{"deadLetterTargetArn":"` + arnOf(a.Redrive.DeadLetterTarget) + `","maxReceiveCount":` + strconv.Itoa(a.Redrive.MaxReceiveCount) + `}`, true
	case attrRedriveAllowPolicy:
		if a.RedriveAllow == nil {
			return "", false
		}
		return renderRedriveAllowPolicy(a.RedriveAllow), true
	case attrFifoQueue:
		return "true", a.FIFO
	case attrContentBasedDeduplication:
		return strconv.FormatBool(a.ContentBasedDeduplication), a.FIFO
	case attrDeduplicationScope:
		return a.DeduplicationScope, a.FIFO
	case attrFifoThroughputLimit:
		return a.FifoThroughputLimit, a.FIFO
	case attrSqsManagedSseEnabled:
		if v, ok := a.Extra[name]; ok {
			return v, true
		}
		// New queues use SSE-SQS by default unless a KMS key is set.
		_, kms := a.Extra[attrKmsMasterKeyID]
		return strconv.FormatBool(!kms), true
	case attrKmsDataKeyReusePeriodSeconds:
		if v, ok := a.Extra[name]; ok {
			return v, true
		}
		_, kms := a.Extra[attrKmsMasterKeyID]
		return "300", kms
	case attrPolicy, attrKmsMasterKeyID:
		v, ok := a.Extra[name]
		return v, ok
	}
	return "", false
}

func renderRedriveAllowPolicy(p *engine.RedriveAllowPolicy) string {
	b := []byte(`{"redrivePermission":`)
	b = awsproto.AppendJSONString(b, p.Permission)
	if len(p.SourceQueues) > 0 {
		b = append(b, `,"sourceQueueArns":[`...)
		for i, ref := range p.SourceQueues {
			if i > 0 {
				b = append(b, ',')
			}
			b = awsproto.AppendJSONString(b, arnOf(ref))
		}
		b = append(b, ']')
	}
	return string(append(b, '}'))
}

func seconds(d time.Duration) string {
	return strconv.FormatInt(int64(d/time.Second), 10)
}

// isQueueAttributeName reports whether name is a QueueAttributeName of the
// model (All included).
func isQueueAttributeName(name string) bool {
	if name == attrAll {
		return true
	}
	for _, n := range queueAttributeNames {
		if n == name {
			return true
		}
	}
	return false
}

// differingAttribute returns the first attribute named in requested whose
// value differs between the two attribute sets, or "" if none does. It
// decides whether CreateQueue on an existing queue is idempotent: SQS
// compares only the attributes the request names.
func differingAttribute(requested map[string]string, existing, wanted *engine.QueueInfo) string {
	names := make([]string, 0, len(requested))
	for name := range requested {
		names = append(names, name)
	}
	sortStrings(names)
	var zero engine.QueueCounts
	for _, name := range names {
		got, gotOK := queueAttributeValue(name, existing, &zero)
		want, wantOK := queueAttributeValue(name, wanted, &zero)
		if got != want || gotOK != wantOK {
			return name
		}
	}
	return ""
}
