package sqs

// CreateQueue: QueueName, Attributes (every settable QueueAttributeName),
// tags. Query: QueueName, Attribute.N.Name/Value, Tag.N.Key/Value.
//
// Differences from AWS: CreateQueue on an existing queue is idempotent when
// every attribute the request names equals the queue's (as in AWS); the
// QueueAlreadyExists message names the first differing attribute. KMS
// attributes are stored, never used.

import (
	"errors"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/server"
	"github.com/sluice-dev/sluice/server/awsproto"
)

type createQueueInput struct {
	QueueName  string
	Attributes map[string]string
	Tags       map[string]string `json:"tags"`
}

func (in *createQueueInput) fromForm(f *awsproto.Form) error {
	in.QueueName = f.Value("QueueName")
	var err error
	if in.Attributes, err = f.Map("Attribute", "Name", "Value"); err != nil {
		return err
	}
	in.Tags, err = f.Map("Tag", "Key", "Value")
	return err
}

func (s *service) createQueue(req *server.Request, resp *server.Response) error {
	if err := notForQueueURL(req, "CreateQueue"); err != nil {
		return err
	}
	var in createQueueInput
	if err := decode(req, &in); err != nil {
		return err
	}
	if in.QueueName == "" {
		return missingParameter("QueueName")
	}
	fifo := false
	if v, ok := in.Attributes[attrFifoQueue]; ok {
		b, ok := parseAttributeBool(v)
		if !ok {
			return invalidAttributeValue(attrFifoQueue)
		}
		fifo = b
	}
	if err := validateQueueName(in.QueueName, fifo); err != nil {
		return err
	}
	ns := req.Namespace()
	attrs := engine.DefaultQueueAttributes(fifo)
	if err := applyQueueAttributes(&attrs, in.Attributes, attributeContext{ns: ns}); err != nil {
		return err
	}
	if err := validateTags(in.Tags); err != nil {
		return err
	}
	policy, hasPolicy := in.Attributes[attrRedrivePolicy]
	if hasPolicy {
		if err := s.checkRedriveTarget(&attrs, policy); err != nil {
			return err
		}
	}
	ref := engine.QueueRef{Namespace: ns, Name: in.QueueName}
	if _, err := s.b.CreateQueue(ns, in.QueueName, attrs, in.Tags); err != nil {
		if !errors.Is(err, engine.ErrQueueExists) {
			return s.mapCreateError(err, policy)
		}
		if err := s.checkIdempotentCreate(ref, &in, attrs); err != nil {
			return err
		}
	}
	o := newOut(req, resp)
	o.begin("CreateQueueResult")
	o.str("QueueUrl", queueURL(req, ref))
	o.end("CreateQueueResult")
	resp.B = o.B
	return nil
}

// checkIdempotentCreate decides a CreateQueue on an existing queue: success
// when every requested attribute matches, QueueAlreadyExists otherwise.
func (s *service) checkIdempotentCreate(ref engine.QueueRef, in *createQueueInput, attrs engine.QueueAttributes) error {
	q, err := s.b.Queue(ref.Namespace, ref.Name)
	if err != nil {
		return s.mapError(err)
	}
	existing := q.Info()
	wanted := existing
	wanted.Attributes = attrs
	requested := in.Attributes
	if existing.Attributes.FIFO != attrs.FIFO {
		return queueNameExists(attrFifoQueue)
	}
	if name := differingAttribute(requested, &existing, &wanted); name != "" {
		return queueNameExists(name)
	}
	return nil
}

// checkRedriveTarget answers what SQS answers for a RedrivePolicy whose
// dead-letter queue does not exist or is of the other queue type, quoting
// policy (the attribute as the request sent it). The engine checks the same
// again when it applies the attributes; this check gives SQS's messages,
// which need the policy text the engine never sees.
func (s *service) checkRedriveTarget(a *engine.QueueAttributes, policy string) error {
	if a.Redrive == nil {
		return nil
	}
	target := a.Redrive.DeadLetterTarget
	q, err := s.b.Queue(target.Namespace, target.Name)
	if err != nil {
		if isNotFound(err) {
			return redriveTargetMissing(policy)
		}
		return s.mapError(err)
	}
	if q.Info().Attributes.FIFO != a.FIFO {
		// Sic: SQS ends this reason with two periods.
		return invalidParameterValue(attrRedrivePolicy, policy, "Dead-letter queue must be same type of queue as the source..")
	}
	return nil
}

func redriveTargetMissing(policy string) *awsproto.Error {
	return invalidParameterValue(attrRedrivePolicy, policy, "Dead letter target does not exist.")
}

// mapCreateError refines engine errors of CreateQueue and
// SetQueueAttributes: a dead-letter target the engine refuses (one that
// vanished since checkRedriveTarget, the queue itself, or a target whose
// RedriveAllowPolicy excludes the source) is an invalid RedrivePolicy,
// quoting policy.
func (s *service) mapCreateError(err error, policy string) error {
	var ve *engine.ValidationError
	if errors.As(err, &ve) && (ve.Field == "Redrive.DeadLetterTarget" || ve.Field == "Redrive") {
		return invalidParameterValue(attrRedrivePolicy, policy, "Dead letter target "+ve.Reason+".")
	}
	if isNotFound(err) {
		return redriveTargetMissing(policy)
	}
	return s.mapError(err)
}
