package kinesis

import "github.com/sluice-dev/sluice/engine"

// The account shard quota: AWS caps the open shards of an account in a
// region (500 by default in us-east-1) and refuses a CreateStream,
// SplitShard or UpdateShardCount that would go over it with
// LimitExceededException. DescribeLimits reports Config.ShardLimit
// always; it is enforced only with Config.EnforceShardLimit (`sluice serve
// --kinesis-limits aws`), so that by default a test may create a stream of
// 1,000 shards or 100 streams without asking for a higher quota.
//
// The quota is an AWS account rule, not a property of the data, so it
// lives here rather than in the engine: an embedding program has no
// account quota. Check and change are made atomic by quotaMu, which every
// quota-bound operation of this service holds from its count to its
// change; operations that only close shards (MergeShards, a smaller
// UpdateShardCount, DeleteStream) cannot take the account over and do
// not take it.

// accountUsage counts the open shards and the ON_DEMAND streams of ns.
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
			info := st.Info()
			openShards += info.OpenShards
			if info.Mode == engine.StreamModeOnDemand {
				onDemand++
			}
		}
		if len(names) < 1000 {
			return openShards, onDemand, nil
		}
		after = names[len(names)-1]
	}
}

// reserveShards checks that additional more open shards keep ns within
// the account shard quota. On success the caller must call the returned
// release once its change is made (or has failed); with the quota not
// enforced, or nothing added, it is a no-op.
func (s *Service) reserveShards(ns engine.Namespace, additional int) (release func(), err error) {
	if !s.cfg.EnforceShardLimit || additional <= 0 {
		return func() {}, nil
	}
	s.quotaMu.Lock()
	open, _, err := s.accountUsage(ns)
	if err != nil {
		s.quotaMu.Unlock()
		return nil, mapError(err)
	}
	if open+additional > s.cfg.ShardLimit {
		s.quotaMu.Unlock()
		return nil, shardQuotaExceeded(ns, open, s.cfg.ShardLimit, additional)
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
