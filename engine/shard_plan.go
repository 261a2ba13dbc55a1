package engine

import (
	"fmt"
	"slices"
	"time"
)

// Resharding is planned here, purely: a plan names the open shards to close
// and the shards to create (with lineage and hash ranges). The stream
// applies a plan under its lock, filling in each closed shard's EndSeq from
// its log, then persists the metadata.

// reshardPlan is the result of planning a split, merge or UpdateShardCount.
type reshardPlan struct {
	// close lists open shards (by index) that the change closes.
	close []int
	// create lists new shards in index order. A shard with EndSeq != 0 is
	// a short-lived intermediate (created and closed at once, empty), as
	// AWS makes during UpdateShardCount.
	create []ShardInfo
}

// newShard returns an open shard with the next free index of m.
func (m *streamMeta) newShard(parent, adjacent int, r hashRange, now time.Time) ShardInfo {
	s := ShardInfo{
		Index: m.NextShardIndex, Parent: parent, AdjacentParent: adjacent,
		HashStart: r.Start, HashEnd: r.End, StartSeq: 1, Created: now,
	}
	m.NextShardIndex++
	return s
}

// initialShards fills m with n open shards dividing the keyspace evenly.
func (m *streamMeta) initialShards(n int, now time.Time) {
	m.Shards = make([]ShardInfo, 0, n)
	for _, r := range evenRanges(n) {
		m.Shards = append(m.Shards, m.newShard(-1, -1, r, now))
	}
}

// openShardForEdit returns the open shard idx or an error naming field.
func (m *streamMeta) openShardForEdit(field string, idx int) (*ShardInfo, error) {
	s := m.shard(idx)
	if s == nil {
		return nil, fmt.Errorf("%w: shard %d in stream %q", ErrShardNotFound, idx, m.Name)
	}
	if !s.Open() {
		return nil, invalidf(field, "shard %d in stream %q has already been merged or split, and thus is not eligible for merging or splitting", idx, m.Name)
	}
	return s, nil
}

// planSplit plans SplitShard: shard idx closes and two children take
// [start, newStart-1] and [newStart, end]. As in AWS, newStart must be
// greater than start+1 and less than end.
func (m *streamMeta) planSplit(idx int, newStart Uint128, now time.Time) (reshardPlan, error) {
	if err := m.checkReshardable(); err != nil {
		return reshardPlan{}, err
	}
	s, err := m.openShardForEdit("ShardToSplit", idx)
	if err != nil {
		return reshardPlan{}, err
	}
	if newStart.Cmp(s.HashStart.add1()) <= 0 || newStart.Cmp(s.HashEnd) >= 0 {
		return reshardPlan{}, invalidf("NewStartingHashKey",
			"%s used on shard %d is not both greater than one plus the shard's StartingHashKey %s and less than the shard's EndingHashKey %s",
			newStart, idx, s.HashStart, s.HashEnd)
	}
	if err := m.checkShardRoom(2); err != nil {
		return reshardPlan{}, err
	}
	start, end := s.HashStart, s.HashEnd
	return reshardPlan{
		close: []int{idx},
		create: []ShardInfo{
			m.newShard(idx, -1, hashRange{start, newStart.sub1()}, now),
			m.newShard(idx, -1, hashRange{newStart, end}, now),
		},
	}, nil
}

// planMerge plans MergeShards: shard idx and adjacent (whose hash ranges must
// touch, in either order) close and one child takes their union, with
// Parent = idx and AdjacentParent = adjacent.
func (m *streamMeta) planMerge(idx, adjacent int, now time.Time) (reshardPlan, error) {
	if err := m.checkReshardable(); err != nil {
		return reshardPlan{}, err
	}
	a, err := m.openShardForEdit("ShardToMerge", idx)
	if err != nil {
		return reshardPlan{}, err
	}
	b, err := m.openShardForEdit("AdjacentShardToMerge", adjacent)
	if err != nil {
		return reshardPlan{}, err
	}
	lo, hi := a, b
	if b.HashStart.Cmp(a.HashStart) < 0 {
		lo, hi = b, a
	}
	if idx == adjacent || lo.HashEnd == MaxUint128 || lo.HashEnd.add1() != hi.HashStart {
		return reshardPlan{}, invalidf("AdjacentShardToMerge",
			"shards %d and %d in stream %q are not an adjacent pair of shards eligible for merging", idx, adjacent, m.Name)
	}
	if err := m.checkShardRoom(1); err != nil {
		return reshardPlan{}, err
	}
	return reshardPlan{
		close:  []int{idx, adjacent},
		create: []ShardInfo{m.newShard(idx, adjacent, hashRange{lo.HashStart, hi.HashEnd}, now)},
	}, nil
}

// checkReshardable rejects resharding an ON_DEMAND stream: AWS supports
// SplitShard, MergeShards and UpdateShardCount only in PROVISIONED mode.
func (m *streamMeta) checkReshardable() error {
	if m.Mode != StreamModeProvisioned {
		return invalidf("StreamMode", "stream %q is %s; resharding is supported only for PROVISIONED streams", m.Name, m.Mode)
	}
	return nil
}

// checkShardRoom fails with a *ReshardLimitError (RetainedShards) if
// adding n shards would pass the per-stream bound on retained shards.
func (m *streamMeta) checkShardRoom(n int) error {
	if len(m.Shards)+n > streamShardsMax {
		return &ReshardLimitError{Limit: ReshardRetainedShards, Stream: m.Name, Max: streamShardsMax}
	}
	return nil
}

// ReshardLimit names the bound a SplitShard, MergeShards or
// UpdateShardCount hit.
type ReshardLimit uint8

const (
	// ReshardOpenMax: UpdateShardCount's target is over the open shards
	// a stream may have (Max).
	ReshardOpenMax ReshardLimit = iota + 1
	// ReshardOverDouble: UpdateShardCount's target is over double the
	// open shard count.
	ReshardOverDouble
	// ReshardUnderHalf: UpdateShardCount's target is below half the open
	// shard count.
	ReshardUnderHalf
	// ReshardDailyUpdates: UpdateShardCount ran Max times in the rolling
	// Window already.
	ReshardDailyUpdates
	// ReshardRetainedShards: the stream would keep more than Max shards,
	// open and closed (closed ones count until their data expires).
	ReshardRetainedShards
)

// ReshardLimitError is the ErrLimitExceeded of a reshard: which bound, and
// the numbers it compared, so that a caller can word it (errors.Is(err,
// ErrLimitExceeded) holds).
type ReshardLimitError struct {
	Limit  ReshardLimit
	Stream string
	// Open and Target: UpdateShardCount's open shard count and target.
	Open, Target int
	// Max is the bound (a shard count, or calls per Window).
	Max    int
	Window time.Duration
}

func (e *ReshardLimitError) Error() string {
	var what string
	switch e.Limit {
	case ReshardOpenMax:
		what = fmt.Sprintf("target shard count %d is over %d open shards", e.Target, e.Max)
	case ReshardOverDouble:
		what = fmt.Sprintf("UpdateShardCount cannot scale up over double the open shard count %d (target %d)", e.Open, e.Target)
	case ReshardUnderHalf:
		what = fmt.Sprintf("UpdateShardCount cannot scale down below half the open shard count %d (target %d)", e.Open, e.Target)
	case ReshardDailyUpdates:
		what = fmt.Sprintf("UpdateShardCount can be called at most %d times per rolling %v", e.Max, e.Window)
	case ReshardRetainedShards:
		what = fmt.Sprintf("the stream would hold more than %d shards (closed shards count until their data expires)", e.Max)
	}
	return fmt.Sprintf("%v: stream %q: %s", ErrLimitExceeded, e.Stream, what)
}

func (e *ReshardLimitError) Unwrap() error { return ErrLimitExceeded }

// planUniform plans UpdateShardCount with UNIFORM_SCALING: afterwards the
// open shards are target even ranges of the keyspace. AWS's bounds apply:
// at most shardCountUpdatesMax calls per rolling 24 h, target at most
// streamOpenShardsMax, double and at least half the open shard count (a
// *ReshardLimitError, as AWS answers LimitExceededException for all four).
//
// Like AWS, it reaches the target by splits and merges, so lineage stays a
// tree of at most two parents per shard: (1) an open shard whose range is
// already a target range stays open; (2) every other open shard is split at
// the target boundaries inside it (one parent, one or more children);
// (3) every target range made of several pieces is built by merging them
// pairwise left to right. Pieces and partial merges that are not final are
// short-lived intermediates: created and closed at once, empty.
func (m *streamMeta) planUniform(target int, now time.Time) (reshardPlan, error) {
	if err := m.checkReshardable(); err != nil {
		return reshardPlan{}, err
	}
	open := m.openShards()
	if err := m.checkUniformBounds(target, len(open), now); err != nil {
		return reshardPlan{}, err
	}
	targets := evenRanges(target)
	var plan reshardPlan
	// Step 1 and 2: cut the open shards at target boundaries into pieces,
	// each lying in exactly one target range.
	type piece struct {
		shard ShardInfo
		isNew bool // created by this plan
	}
	pieces := make([][]piece, len(targets)) // per target range, in hash order
	t := 0
	for _, s := range open {
		for targets[t].End.Cmp(s.HashStart) < 0 {
			t++
		}
		if targets[t].Start == s.HashStart && targets[t].End == s.HashEnd {
			pieces[t] = append(pieces[t], piece{shard: s})
			continue
		}
		if targets[t].End.Cmp(s.HashEnd) >= 0 { // s lies inside target t: no cut
			pieces[t] = append(pieces[t], piece{shard: s})
			continue
		}
		plan.close = append(plan.close, s.Index)
		start := s.HashStart
		for start.Cmp(s.HashEnd) <= 0 {
			end := targets[t].End
			if end.Cmp(s.HashEnd) > 0 {
				end = s.HashEnd
			}
			child := m.newShard(s.Index, -1, hashRange{start, end}, now)
			pieces[t] = append(pieces[t], piece{shard: child, isNew: true})
			if end == s.HashEnd {
				break
			}
			start = end.add1()
			t++
		}
	}
	// Step 3: merge the pieces of each target range pairwise.
	var created []ShardInfo
	closeNew := func(s ShardInfo) ShardInfo {
		s.EndSeq, s.Closed = s.StartSeq, now
		return s
	}
	for _, ps := range pieces {
		if len(ps) == 1 {
			if ps[0].isNew {
				created = append(created, ps[0].shard)
			}
			continue
		}
		acc := ps[0]
		for _, p := range ps[1:] {
			for _, q := range []piece{acc, p} {
				if q.isNew {
					created = append(created, closeNew(q.shard))
				} else {
					plan.close = append(plan.close, q.shard.Index)
				}
			}
			merged := m.newShard(acc.shard.Index, p.shard.Index, hashRange{acc.shard.HashStart, p.shard.HashEnd}, now)
			acc = piece{shard: merged, isNew: true}
		}
		created = append(created, acc.shard)
	}
	// Index order is creation order; merges allocated indexes after the
	// splits they consume, so sorting by index keeps lineage before child.
	sortShardsByIndex(created)
	plan.create = created
	if err := m.checkShardRoom(len(created)); err != nil {
		return reshardPlan{}, err
	}
	return plan, nil
}

// checkUniformBounds applies AWS's UpdateShardCount limits.
func (m *streamMeta) checkUniformBounds(target, open int, now time.Time) error {
	if target < 1 {
		return invalidf("TargetShardCount", "%d is below 1", target)
	}
	limit := &ReshardLimitError{Stream: m.Name, Open: open, Target: target}
	switch {
	case target > streamOpenShardsMax:
		limit.Limit, limit.Max = ReshardOpenMax, streamOpenShardsMax
	case target > 2*open:
		limit.Limit = ReshardOverDouble
	case 2*target < open:
		limit.Limit = ReshardUnderHalf
	case m.recentShardCountUpdates(now) >= shardCountUpdatesMax:
		limit.Limit, limit.Max, limit.Window = ReshardDailyUpdates, shardCountUpdatesMax, shardCountUpdateWindow
	default:
		return nil
	}
	return limit
}

// recentShardCountUpdates counts UpdateShardCount calls within the window
// ending at now.
func (m *streamMeta) recentShardCountUpdates(now time.Time) int {
	n := 0
	for _, t := range m.ShardCountUpdates {
		if now.Sub(t) < shardCountUpdateWindow {
			n++
		}
	}
	return n
}

// recordShardCountUpdate notes an UpdateShardCount call at now, forgetting
// calls that left the window.
func (m *streamMeta) recordShardCountUpdate(now time.Time) {
	kept := m.ShardCountUpdates[:0]
	for _, t := range m.ShardCountUpdates {
		if now.Sub(t) < shardCountUpdateWindow {
			kept = append(kept, t)
		}
	}
	m.ShardCountUpdates = append(kept, now)
}

// apply installs plan into m: each closed shard gets EndSeq from endSeq and
// Closed = now, new shards are appended (indexes stay ascending).
func (m *streamMeta) apply(plan reshardPlan, endSeq func(index int) uint64, now time.Time) {
	for _, idx := range plan.close {
		s := m.shard(idx)
		s.EndSeq = endSeq(idx)
		s.Closed = now
	}
	m.Shards = append(m.Shards, plan.create...)
}

func sortShardsByIndex(shards []ShardInfo) {
	slices.SortFunc(shards, func(a, b ShardInfo) int { return a.Index - b.Index })
}
