package engine

import "time"

// Split splits open shard into two children at newStartingHashKey (which
// must be > the shard's start + 1 and < its end): the shard closes (readable
// until its data expires) and the children take [start, key-1] and
// [key, end]. Errors: ErrShardNotFound, *ValidationError (closed shard, bad
// key, ON_DEMAND stream), ErrLimitExceeded.
func (s *Stream) Split(shard int, newStartingHashKey Uint128) error {
	return s.reshard(func(m *streamMeta, now time.Time) (reshardPlan, error) {
		return m.planSplit(shard, newStartingHashKey, now)
	})
}

// Merge merges two open shards whose hash ranges are adjacent into one
// child (Parent = shard, AdjacentParent = adjacent); both close.
func (s *Stream) Merge(shard, adjacent int) error {
	return s.reshard(func(m *streamMeta, now time.Time) (reshardPlan, error) {
		return m.planMerge(shard, adjacent, now)
	})
}

// UpdateShardCount reshards to target open shards of even hash ranges
// (UNIFORM_SCALING) through splits and merges, as AWS does; see
// planUniform. AWS's limits give ErrLimitExceeded: more than double or
// less than half the open shards, or more than 10 calls per rolling 24 h.
func (s *Stream) UpdateShardCount(target int) error {
	return s.reshard(func(m *streamMeta, now time.Time) (reshardPlan, error) {
		plan, err := m.planUniform(target, now)
		if err == nil {
			m.recordShardCountUpdate(now)
		}
		return plan, err
	})
}

// reshard plans a change on a copy of the metadata, closes the parents at
// their current log end (no append is in flight: Put holds s.mu shared),
// persists the result and wakes waiters on the closed shards. The stream
// must be ACTIVE (else a *StreamStateError matching ErrResourceInUse); with
// a transition delay it reads UPDATING for the delay afterwards, though the
// new shards are in place at once.
func (s *Stream) reshard(planFn func(m *streamMeta, now time.Time) (reshardPlan, error)) error {
	if err := s.db.enter(); err != nil {
		return err
	}
	defer s.db.exit()
	s.mu.Lock()
	defer s.mu.Unlock()
	snap, err := s.liveSnapshot()
	if err != nil {
		return err
	}
	now := s.db.Clock().Now()
	if err := s.checkChange(snap.meta, changeUpdating, now); err != nil {
		return err
	}
	next := snap.meta.clone()
	s.beginChange(next, changeUpdating, now)
	plan, err := planFn(next, now)
	if err != nil {
		return err
	}
	endSeqs := make(map[int]uint64, len(plan.close))
	for _, idx := range plan.close {
		st := s.shardState(idx, true)
		log, err := s.shardLog(st)
		if err != nil {
			return err
		}
		endSeqs[idx] = log.NextSeq()
	}
	next.apply(plan, func(idx int) uint64 { return endSeqs[idx] }, now)
	if err := s.commitLocked(next); err != nil {
		return err
	}
	s.shards.Lock()
	for _, idx := range plan.close {
		if st, ok := s.shards.m[idx]; ok {
			st.markClosed()
		}
	}
	s.shards.Unlock()
	return nil
}
