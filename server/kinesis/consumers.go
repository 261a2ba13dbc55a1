package kinesis

import (
	"errors"
	"slices"
	"strings"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/server/awsproto"
)

// Enhanced fan-out consumers: RegisterStreamConsumer,
// DeregisterStreamConsumer, DescribeStreamConsumer, ListStreamConsumers.
// Consumers are stored by the engine; Sluice gives every consumer the full
// read throughput, so registration only matters to SubscribeToShard.

// consumerRef resolves a consumer given by ConsumerARN, or by StreamARN +
// ConsumerName.
func (s *Service) consumerRef(in *consumerInput) (*engine.Stream, target, engine.StreamConsumer, error) {
	var v validator
	v.streamARN("streamARN", in.StreamARN)
	v.name("consumerName", in.ConsumerName, consumerNameLengthMax)
	if err := v.err(); err != nil {
		return nil, target{}, engine.StreamConsumer{}, err
	}
	var t target
	name := in.ConsumerName
	created := int64(-1) // the ARN's creation timestamp; -1: not given
	switch {
	case in.ConsumerARN != "":
		p, ok := parseARN(in.ConsumerARN, true)
		if !ok {
			v.fail(quote(in.ConsumerARN), "consumerARN", "Member must satisfy regular expression pattern: ^(arn):aws.*:kinesis:.*:\\d{12}:.*stream\\/[a-zA-Z0-9_.-]+\\/consumer\\/[a-zA-Z0-9_.-]+:[0-9]+")
			return nil, t, engine.StreamConsumer{}, v.err()
		}
		t = target{ns: engine.Namespace{Account: p.account, Region: p.region}, name: p.stream}
		name = p.consumer
		created = p.consumerCreated
	case in.StreamARN.s != "" && in.ConsumerName != "":
		p, _ := parseARN(in.StreamARN.s, false) // validated above
		t = target{ns: engine.Namespace{Account: p.account, Region: p.region}, name: p.stream}
	default:
		return nil, t, engine.StreamConsumer{}, invalidArgument("Either ConsumerARN or both ConsumerName and StreamARN must be provided.")
	}
	st, err := s.db.Stream(t.ns, t.name)
	if err != nil {
		return nil, t, engine.StreamConsumer{}, streamError(err, t.ns, t.name)
	}
	// A consumer ARN names one registration: after the consumer is
	// deregistered and registered again, the old ARN (another creation
	// second) no longer resolves, as on AWS.
	if sc, err := st.Consumer(name); err == nil && (created < 0 || created == sc.Created.Unix()) {
		return st, t, sc, nil
	}
	return nil, t, engine.StreamConsumer{}, consumerNotFound(t, name)
}

func consumerNotFound(t target, name string) *awsproto.Error {
	return errResourceNotFound.WithMessage("Consumer " + name + " under stream " + t.name + " under account " + t.ns.Account + " not found.")
}

func (t target) consumerARN(sc engine.StreamConsumer) string {
	return consumerARN(t.ns.Region, t.ns.Account, t.name, sc.Name, sc.Created.Unix())
}

func writeConsumer(e *encoder, t target, sc engine.StreamConsumer, withStream bool) {
	e.objStart()
	e.kstr("ConsumerName", sc.Name)
	e.kstr("ConsumerARN", t.consumerARN(sc))
	e.kstr("ConsumerStatus", sc.Status)
	e.ktime("ConsumerCreationTimestamp", sc.Created)
	if withStream {
		e.kstr("StreamARN", t.arn())
	}
	e.objEnd()
}

func (s *Service) registerStreamConsumer(c *call) error {
	var in consumerInput
	if err := c.decode(&in); err != nil {
		return err
	}
	var v validator
	v.required("streamARN", in.StreamARN.set)
	v.required("consumerName", in.ConsumerName != "")
	v.name("consumerName", in.ConsumerName, consumerNameLengthMax)
	validateTags(&v, "tags", in.Tags)
	st, t, err := s.openStream(c, streamRef{StreamARN: in.StreamARN}, &v)
	if err != nil {
		return err
	}
	sc, err := st.RegisterConsumer(in.ConsumerName)
	switch {
	case errors.Is(err, engine.ErrConsumerExists):
		return errResourceInUse.WithMessage("Consumer " + in.ConsumerName + " under stream " + t.name + " already exists for account " + t.ns.Account + ".")
	case errors.Is(err, engine.ErrLimitExceeded):
		return errLimitExceeded.WithMessage("Stream " + t.name + " under account " + t.ns.Account + " has reached the limit of 20 registered consumers.")
	case err != nil:
		return streamError(err, t.ns, t.name)
	}
	e := &c.out
	e.objStart()
	e.key("Consumer")
	writeConsumer(e, t, sc, false)
	e.objEnd()
	return nil
}

func (s *Service) deregisterStreamConsumer(c *call) error {
	var in consumerInput
	if err := c.decode(&in); err != nil {
		return err
	}
	st, t, sc, err := s.consumerRef(&in)
	if err != nil {
		return err
	}
	if err := st.DeregisterConsumer(sc.Name); err != nil {
		if errors.Is(err, engine.ErrConsumerNotFound) {
			return consumerNotFound(t, sc.Name)
		}
		return streamError(err, t.ns, t.name)
	}
	// Open subscriptions end now, with the error a new one would get.
	s.subs.endConsumer(st.EntityID(), sc.Name, sc.Created.UnixNano(), consumerNotFound(t, sc.Name))
	return nil
}

func (s *Service) describeStreamConsumer(c *call) error {
	var in consumerInput
	if err := c.decode(&in); err != nil {
		return err
	}
	_, t, sc, err := s.consumerRef(&in)
	if err != nil {
		return err
	}
	e := &c.out
	e.objStart()
	e.key("ConsumerDescription")
	writeConsumer(e, t, sc, true)
	e.objEnd()
	return nil
}

func (s *Service) listStreamConsumers(c *call) error {
	var in listConsumersInput
	if err := c.decode(&in); err != nil {
		return err
	}
	var v validator
	v.required("streamARN", in.StreamARN.set)
	v.streamARN("streamARN", in.StreamARN)
	v.intRange("maxResults", in.MaxResults, 1, 10_000)
	if err := v.err(); err != nil {
		return err
	}
	if in.NextToken != "" && in.StreamCreationTimestamp != nil {
		return invalidArgument("NextToken and StreamCreationTimestamp cannot be provided together.")
	}
	st, t, err := s.openStream(c, streamRef{StreamARN: in.StreamARN}, &v)
	if err != nil {
		return err
	}
	// StreamCreationTimestamp picks one of the streams that have had this
	// name (as in ListShards): another creation time names a deleted one.
	if in.StreamCreationTimestamp != nil && in.StreamCreationTimestamp.t.Unix() != st.Info().Created.Unix() {
		return streamNotFound(t.ns, t.name)
	}
	after := ""
	if in.NextToken != "" {
		tok, err := decodeListToken(in.NextToken, s.now())
		if err != nil {
			return err
		}
		after = tok.after
	}
	consumers := st.Consumers()
	slices.SortFunc(consumers, func(a, b engine.StreamConsumer) int { return strings.Compare(a.Name, b.Name) })
	if after != "" {
		i, found := slices.BinarySearchFunc(consumers, after, func(c engine.StreamConsumer, n string) int { return strings.Compare(c.Name, n) })
		if found {
			i++
		}
		consumers = consumers[i:]
	}
	limit := listConsumersResultsDefault
	if in.MaxResults != nil {
		limit = min(int(*in.MaxResults), listConsumersResultsMax)
	}
	more := len(consumers) > limit
	if more {
		consumers = consumers[:limit]
	}
	e := &c.out
	e.objStart()
	e.key("Consumers")
	e.arrStart()
	for _, sc := range consumers {
		e.elem()
		writeConsumer(e, t, sc, false)
	}
	e.arrEnd()
	if more {
		e.kstr("NextToken", encodeListToken(listToken{account: t.ns.Account, region: t.ns.Region, stream: t.name,
			after: consumers[len(consumers)-1].Name}, s.now()))
	}
	e.objEnd()
	return nil
}
