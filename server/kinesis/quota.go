package kinesis

import "github.com/sluice-dev/sluice/engine"

// The account quotas: AWS caps the open shards of an account's
// PROVISIONED streams in a region (20,000 by default in us-east-1) and the
// number of its ON_DEMAND streams (50), and refuses a CreateStream,
// SplitShard, UpdateShardCount or UpdateStreamMode that would go over
// either with LimitExceededException. The two are separate: the quotas
// page of the Kinesis developer guide
// (docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html)
// gives the shard quota for provisioned mode only ("There's no upper
// limit" on an on-demand stream's shards) and the 50-stream quota for
// on-demand mode only. DescribeLimits reports both always (OpenShardCount
// counts what the shard quota counts: open shards of provisioned
// streams); they are enforced only with Config.EnforceShardLimit (`sluice
// serve --kinesis-limits aws`), so that by default a test may create a
// stream of 1,000 shards or 100 streams without asking for a higher quota.
//
// The quota is an AWS account rule, not a property of the data, so it
// lives here rather than in the engine: an embedding program has no
// account quota. Check and change are made atomic by quotaMu, which every
// quota-bound operation of this service holds from its count to its
// change; an addition that depends on the stream's state (its mode, its
// open shards) is computed under it too (reserveFor). Operations that
// only close shards (MergeShards, DeleteStream) cannot take the account
// over and do not take it; UpdateShardCount takes it even to shrink,
// since its target is a count, not a change.

// accountUsage counts the open shards of the PROVISIONED streams and the
// ON_DEMAND streams of ns.
func (s *Service) accountUsage(ns engine.Namespace) (openShards, onDemand int, err error) {
	after := ""
	for {
		names, err := s.db.ListStreams(ns, after, 1000)
		if err != nil {
			return 0, 0, err
		}
		for _, name := range names {
			st, err := s.db.Stream(ns, name)
			if err != nil {
				continue // deleted meanwhile
			}
			if info := st.Info(); info.Mode == engine.StreamModeOnDemand {
				onDemand++
			} else {
				openShards += info.OpenShards
			}
		}
		if len(names) < 1000 {
			return openShards, onDemand, nil
		}
		after = names[len(names)-1]
	}
}

// quotaAddition is what a stream of shards open shards entering mode adds
// to the account quotas: one ON_DEMAND stream, or its shards as
// provisioned ones.
func quotaAddition(mode engine.StreamMode, shards int) (shardsAdded, streamsAdded int) {
	if mode == engine.StreamModeOnDemand {
		return 0, 1
	}
	return shards, 0
}

// reserveShards checks that additional more open shards of provisioned
// streams keep ns within the account shard quota. On success the caller
// must call the returned release once its change is made (or has
// failed); with the quota not enforced, or nothing added, it is a no-op.
func (s *Service) reserveShards(ns engine.Namespace, additional int) (release func(), err error) {
	return s.reserve(ns, additional, 0)
}

// reserve checks both quotas for shards more open provisioned shards and
// streams more ON_DEMAND streams, and holds quotaMu until release.
func (s *Service) reserve(ns engine.Namespace, shards, streams int) (release func(), err error) {
	if shards <= 0 && streams <= 0 {
		return func() {}, nil
	}
	return s.reserveFor(ns, func() (int, int) { return shards, streams })
}

// reserveFor is reserve for a change whose addition depends on the state
// of the stream it changes (UpdateStreamMode, UpdateShardCount): need
// computes it under quotaMu, from the stream as the change will find it.
// Computed before the lock it could be stale: a concurrent switch of the
// same stream charged a switch already made (refused for adding nothing),
// or let one read as a no-op go unchecked after the stream had switched
// the other way. quotaMu is held until release even when need adds
// nothing, so the stream cannot change mode or grow between need and the
// change (grows of other streams wait; merges only close shards).
func (s *Service) reserveFor(ns engine.Namespace, need func() (shards, streams int)) (release func(), err error) {
	if !s.cfg.EnforceShardLimit {
		return func() {}, nil
	}
	s.quotaMu.Lock()
	shards, streams := need()
	if shards <= 0 && streams <= 0 {
		return s.quotaMu.Unlock, nil
	}
	open, onDemand, err := s.accountUsage(ns)
	if err != nil {
		s.quotaMu.Unlock()
		return nil, mapError(err)
	}
	if shards > 0 && open+shards > s.cfg.ShardLimit {
		s.quotaMu.Unlock()
		return nil, shardQuotaExceeded(ns, open, s.cfg.ShardLimit, shards)
	}
	if streams > 0 && onDemand+streams > onDemandStreamCountLimitDefault {
		s.quotaMu.Unlock()
		return nil, onDemandQuotaExceeded(ns, onDemand, onDemandStreamCountLimitDefault)
	}
	return s.quotaMu.Unlock, nil
}

// shardQuotaExceeded is AWS's answer to a request that would take the
// account over its shard quota (text as kinesalite recorded it from
// Kinesis, actions/createStream.js and its tests).
func shardQuotaExceeded(ns engine.Namespace, current, limit, additional int) error {
	return errLimitExceeded.WithMessage("This request would exceed the shard limit for the account " + ns.Account +
		" in " + ns.Region + ". Current shard count for the account: " + itoa(current) + ". Limit: " + itoa(limit) +
		". Number of additional shards that would have resulted from this request: " + itoa(additional) +
		". Refer to the AWS Service Limits page (http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html)" +
		" for current limits and how to request higher limits.")
}

// onDemandQuotaExceeded answers a request that would take the account over
// its on-demand stream quota. No recording of AWS's text for this case was
// found (kinesalite predates on-demand mode; kinesis-mock, moto and
// LocalStack do not enforce it), so the words are Sluice's, in the form of
// the shard quota's message above.
func onDemandQuotaExceeded(ns engine.Namespace, current, limit int) error {
	return errLimitExceeded.WithMessage("This request would exceed the on-demand stream count limit for the account " + ns.Account +
		" in " + ns.Region + ". Current on-demand stream count for the account: " + itoa(current) + ". Limit: " + itoa(limit) + ".")
}
