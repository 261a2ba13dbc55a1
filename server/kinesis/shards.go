package kinesis

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/engine"
)

// Shard listing and resharding: ListShards, SplitShard, MergeShards,
// UpdateShardCount. Known difference from AWS: resharding completes before
// the call returns (the new shards are listed at once). With a transition
// delay (Config.TransitionDelay) the stream then reads UPDATING for the
// delay and refuses further changes with ResourceInUseException, as AWS
// does while its reshard runs; without one it never reads UPDATING.
// ListShards on a CREATING or DELETING stream is ResourceInUseException
// (the KCL's shard detector expects it there and retries). SplitShard,
// MergeShards and UpdateShardCount on an ON_DEMAND stream are
// ValidationException (onDemandNotSupported).

func (s *Service) listShards(c *call) error {
	var in listShardsInput
	if err := c.decode(&in); err != nil {
		return err
	}
	var v validator
	v.intRange("maxResults", in.MaxResults, 1, 10_000)
	v.name("exclusiveStartShardId", in.ExclusiveStartShardID, 128)
	if in.ShardFilter != nil {
		v.required("shardFilter.type", in.ShardFilter.Type != "")
		v.enum("shardFilter.type", in.ShardFilter.Type,
			"AFTER_SHARD_ID", "AT_TRIM_HORIZON", "FROM_TRIM_HORIZON", "AT_LATEST", "AT_TIMESTAMP", "FROM_TIMESTAMP")
		v.name("shardFilter.shardId", in.ShardFilter.ShardID, 128)
	}
	limit := listShardsResultsDefault
	if in.MaxResults != nil {
		limit = min(int(*in.MaxResults), listShardsResultsDefault)
	}
	after := -1
	var t target
	if in.NextToken != "" {
		// The members' own constraints first, as AWS validates the shape
		// before the operation runs: a present empty StreamName or
		// StreamARN is a ValidationException here too.
		v.streamName("streamName", in.StreamName)
		v.streamARN("streamARN", in.StreamARN)
		if err := v.err(); err != nil {
			return err
		}
		if in.StreamName.set || in.StreamARN.set {
			return invalidArgument("NextToken and StreamName cannot be provided together.")
		}
		if in.ExclusiveStartShardID != "" {
			return invalidArgument("NextToken and ExclusiveStartShardId cannot be provided together.")
		}
		if in.ShardFilter != nil {
			return invalidArgument("NextToken and ShardFilter cannot be provided together.")
		}
		if in.StreamCreationTimestamp != nil {
			return invalidArgument("NextToken and StreamCreationTimestamp cannot be provided together.")
		}
		if err := v.err(); err != nil {
			return err
		}
		tok, err := decodeListToken(in.NextToken, s.now())
		if err != nil {
			return err
		}
		n, filter, ok := parseShardsCursor(tok.after)
		if !ok || tok.stream == "" {
			return invalidArgument("Invalid NextToken.")
		}
		after, in.ShardFilter = n, filter
		t = target{ns: engine.Namespace{Account: tok.account, Region: tok.region}, name: tok.stream}
	} else {
		var err error
		if t, err = resolveRef(c, in.streamRef, &v); err != nil {
			return err
		}
		if in.ExclusiveStartShardID != "" {
			if n, ok := parseShardID(in.ExclusiveStartShardID); ok {
				after = n
			}
		}
	}
	st, err := s.db.Stream(t.ns, t.name)
	if err != nil {
		return streamError(err, t.ns, t.name)
	}
	info := st.Info()
	if info.Status == engine.StreamCreating || info.Status == engine.StreamDeleting {
		return streamNotActive(t.ns, t.name, info.Status)
	}
	if in.StreamCreationTimestamp != nil && in.StreamCreationTimestamp.t.Unix() != info.Created.Unix() {
		return streamNotFound(t.ns, t.name)
	}
	now := s.now()
	shards, err := filterShards(&info, in.ShardFilter, now)
	if err != nil {
		return err
	}
	if f := in.ShardFilter; f != nil && f.Timestamp != nil {
		// The next page filters at the same time (and the cursor's
		// nanoseconds stay within int64).
		f.Timestamp = &timestamp{t: filterTime(&info, f.Timestamp.t, now)}
	}
	shards = shardsAfterIn(shards, after)
	more := len(shards) > limit
	if more {
		shards = shards[:limit]
	}
	e := &c.out
	e.objStart()
	e.key("Shards")
	e.arrStart()
	for i := range shards {
		e.elem()
		writeShard(e, &info, &shards[i])
	}
	e.arrEnd()
	if more {
		e.kstr("NextToken", encodeListToken(listToken{
			account: t.ns.Account, region: t.ns.Region, stream: t.name,
			after: shardsCursor(shards[len(shards)-1].Index, in.ShardFilter),
		}, now))
	}
	e.objEnd()
	return nil
}

// A ListShards NextToken resumes the listing it came from, filter
// included: the KCL (KinesisShardDetector) and the KPL send a ShardFilter
// on the first call only and then page with NextToken alone (NextToken and
// ShardFilter together are InvalidArgumentException), and AWS keeps
// filtering (amazon-kinesis-producer#375: AT_LATEST in pages of 10 over a
// resharded 128-shard stream listed the 128 open shards). The token's
// cursor is "index" or "index,type[,timestampUnixNano]"; AFTER_SHARD_ID
// needs no more than the index, which is already past the filter's shard.

// shardsCursor is the cursor after shard index under filter f (nil: none).
func shardsCursor(index int, f *shardFilter) string {
	cursor := strconv.Itoa(index)
	if f == nil || f.Type == "AFTER_SHARD_ID" {
		return cursor
	}
	cursor += "," + f.Type
	// Only the timestamp types read a timestamp; another type may arrive
	// with one, which it ignores and parseShardsCursor would refuse.
	if f.Timestamp != nil && (f.Type == "AT_TIMESTAMP" || f.Type == "FROM_TIMESTAMP") {
		cursor += "," + strconv.FormatInt(f.Timestamp.t.UnixNano(), 10)
	}
	return cursor
}

// parseShardsCursor reverses shardsCursor; ok is false for a cursor it
// did not write.
func parseShardsCursor(cursor string) (index int, f *shardFilter, ok bool) {
	fields := strings.Split(cursor, ",")
	index, err := strconv.Atoi(fields[0])
	if err != nil || index < -1 || len(fields) > 3 {
		return 0, nil, false
	}
	if len(fields) == 1 {
		return index, nil, true
	}
	f = &shardFilter{Type: fields[1]}
	switch f.Type {
	case "AT_TRIM_HORIZON", "FROM_TRIM_HORIZON", "AT_LATEST":
		return index, f, len(fields) == 2
	case "AT_TIMESTAMP", "FROM_TIMESTAMP":
		if len(fields) != 3 {
			return 0, nil, false
		}
		nanos, err := strconv.ParseInt(fields[2], 10, 64)
		if err != nil {
			return 0, nil, false
		}
		f.Timestamp = &timestamp{t: time.Unix(0, nanos)}
		return index, f, true
	}
	return 0, nil, false
}

// shardsAfterIn returns the shards of a filtered (index-sorted) list whose
// index is above after.
func shardsAfterIn(shards []engine.ShardInfo, after int) []engine.ShardInfo {
	out := shards[:0:0]
	for _, sh := range shards {
		if sh.Index > after {
			out = append(out, sh)
		}
	}
	return out
}

// filterShards applies a ListShards ShardFilter.
func filterShards(info *engine.StreamInfo, f *shardFilter, now time.Time) ([]engine.ShardInfo, error) {
	if f == nil {
		return info.Shards, nil
	}
	var out []engine.ShardInfo
	// The documented bounds are inclusive: AT_TIMESTAMP lists the shards
	// "whose start timestamp is less than or equal to the given timestamp
	// and end timestamp is greater than or equal to the given timestamp or
	// still open", FROM_TIMESTAMP "all closed shards whose end timestamp is
	// greater than or equal to the given timestamp and also all open
	// shards" (botocore ShardFilter.Type).
	endsAtOrAfter := func(sh engine.ShardInfo, t time.Time) bool {
		return sh.Open() || !sh.Closed.Before(t)
	}
	switch f.Type {
	case "AFTER_SHARD_ID":
		if f.ShardID == "" {
			return nil, invalidArgument("ShardId must be specified for the AFTER_SHARD_ID filter type.")
		}
		after, ok := parseShardID(f.ShardID)
		if !ok {
			after = -1
		}
		return shardsAfterIn(info.Shards, after), nil
	case "AT_TRIM_HORIZON":
		// The oldest retained shards: those whose parents are gone.
		for _, sh := range info.Shards {
			if !retained(info, sh.Parent) && !retained(info, sh.AdjacentParent) {
				out = append(out, sh)
			}
		}
	case "FROM_TRIM_HORIZON":
		return info.Shards, nil
	case "AT_LATEST":
		for _, sh := range info.Shards {
			if sh.Open() {
				out = append(out, sh)
			}
		}
	case "AT_TIMESTAMP", "FROM_TIMESTAMP":
		if f.Timestamp == nil {
			return nil, invalidArgument("Timestamp must be specified for the " + f.Type + " filter type.")
		}
		t := filterTime(info, f.Timestamp.t, now)
		for _, sh := range info.Shards {
			if endsAtOrAfter(sh, t) && (f.Type == "FROM_TIMESTAMP" || !sh.Created.After(t)) {
				out = append(out, sh)
			}
		}
	}
	return out, nil
}

// filterTime is the time an AT_TIMESTAMP or FROM_TIMESTAMP filter
// applies at: t, but no earlier than the stream's creation (FROM_TIMESTAMP
// "is corrected to TRIM_HORIZON") and no later than now (no shard has
// changed since).
func filterTime(info *engine.StreamInfo, t, now time.Time) time.Time {
	if t.Before(info.Created) {
		t = info.Created
	}
	if t.After(now) {
		t = now
	}
	return t
}

func retained(info *engine.StreamInfo, index int) bool {
	return index >= 0 && shardByIndex(info, index) != nil
}

func (s *Service) splitShard(c *call) error {
	var in splitShardInput
	if err := c.decode(&in); err != nil {
		return err
	}
	var v validator
	v.required("shardToSplit", in.ShardToSplit != "")
	v.name("shardToSplit", in.ShardToSplit, 128)
	v.required("newStartingHashKey", in.NewStartingHashKey != "")
	v.hashKey("newStartingHashKey", in.NewStartingHashKey)
	st, t, err := s.openStream(c, in.streamRef, &v)
	if err != nil {
		return err
	}
	info := st.Info()
	if info.Mode == engine.StreamModeOnDemand {
		return onDemandNotSupported(t.ns, t.name)
	}
	sh, err := findReshardShard(&info, t, in.ShardToSplit)
	if err != nil {
		return err
	}
	key, err := engine.ParseUint128(in.NewStartingHashKey)
	if err != nil {
		// Above 2^128-1: outside every shard's range.
		return splitHashKeyInvalid(t, sh, in.NewStartingHashKey)
	}
	release, err := s.reserveShards(t.ns, 1) // two children replace one parent
	if err != nil {
		return err
	}
	defer release()
	if err := st.Split(sh.Index, key); err != nil {
		var ve *engine.ValidationError
		if errors.As(err, &ve) {
			switch ve.Field {
			case "NewStartingHashKey":
				return splitHashKeyInvalid(t, sh, in.NewStartingHashKey)
			case "ShardToSplit":
				return shardNotEligible(t, sh.Index)
			}
		}
		return reshardError(err, t)
	}
	return nil
}

// reshardError maps an error of Split, Merge or UpdateShardCount that the
// handler did not word itself. The engine's ErrLimitExceeded texts are
// never passed on (they are Go-formatted and name engine internals): the
// bound it names (engine.ReshardLimitError) is worded here.
func reshardError(err error, t target) error {
	var ve *engine.ValidationError
	var limit *engine.ReshardLimitError
	switch {
	case errors.As(err, &ve) && ve.Field == "StreamMode":
		// The stream turned ON_DEMAND after the handler looked.
		return onDemandNotSupported(t.ns, t.name)
	case errors.As(err, &limit):
		return reshardLimitExceeded(limit, t)
	}
	return streamError(err, t.ns, t.name)
}

// reshardLimitExceeded words a reshard's LimitExceededException. The
// UpdateShardCount scaling bounds are in AWS's words as kinesalite records
// them (actions/updateShardCount.js: "Target shard count or number of open
// shards cannot be greater than N. ...", "UpdateShardCount cannot scale up
// over double your current open shard count. ...", "... scale down below
// half ..."). For the quota of 10 calls per rolling 24 hours (API
// reference, UpdateShardCount) no AWS text was found; the sentence is a
// neutral one, as is the engine's bound on retained shards
// (shardRoomExceeded).
func reshardLimitExceeded(limit *engine.ReshardLimitError, t target) error {
	counts := ". Current open shard count: " + itoa(limit.Open) + ", Target shard count: " + itoa(limit.Target)
	switch limit.Limit {
	case engine.ReshardOpenMax:
		return errLimitExceeded.WithMessage("Target shard count or number of open shards cannot be greater than " + itoa(limit.Max) + counts)
	case engine.ReshardOverDouble:
		return errLimitExceeded.WithMessage("UpdateShardCount cannot scale up over double your current open shard count" + counts)
	case engine.ReshardUnderHalf:
		return errLimitExceeded.WithMessage("UpdateShardCount cannot scale down below half your current open shard count" + counts)
	case engine.ReshardDailyUpdates:
		return errLimitExceeded.WithMessage("UpdateShardCount cannot be called more than " + itoa(limit.Max) +
			" times per rolling 24-hour period for stream " + t.name + " under account " + t.ns.Account + ".")
	}
	return shardRoomExceeded(t.ns, t.name)
}

// Resharding errors, in AWS's words. kinesalite records them from AWS
// (actions/splitShard.js, actions/mergeShards.js, test/splitShard.js);
// moto has the same closed-shard text. The rules themselves are the
// engine's (shard_plan.go); the server only names the shards and stream.

// findReshardShard is findShard for SplitShard and MergeShards, whose
// unknown-shard text differs from GetShardIterator's.
func findReshardShard(info *engine.StreamInfo, t target, id string) (*engine.ShardInfo, error) {
	if sh, err := findShard(info, t, id); err == nil {
		return sh, nil
	}
	return nil, errResourceNotFound.WithMessage("Could not find shard " + id + " in stream " + t.name + " under account " + t.ns.Account + ".")
}

func splitHashKeyInvalid(t target, sh *engine.ShardInfo, key string) error {
	var start, end [48]byte
	return invalidArgument("NewStartingHashKey " + key + " used in SplitShard() on shard " + shardID(sh.Index) +
		" in stream " + t.name + " under account " + t.ns.Account +
		" is not both greater than one plus the shard's StartingHashKey " + string(sh.HashStart.AppendDecimal(start[:0])) +
		" and less than the shard's EndingHashKey " + string(sh.HashEnd.AppendDecimal(end[:0])) + ".")
}

func shardNotEligible(t target, index int) error {
	return invalidArgument("Shard " + shardID(index) + " in stream " + t.name + " under account " + t.ns.Account +
		" has already been merged or split, and thus is not eligible for merging or splitting.")
}

func (s *Service) mergeShards(c *call) error {
	var in mergeShardsInput
	if err := c.decode(&in); err != nil {
		return err
	}
	var v validator
	v.required("shardToMerge", in.ShardToMerge != "")
	v.name("shardToMerge", in.ShardToMerge, 128)
	v.required("adjacentShardToMerge", in.AdjacentShardToMerge != "")
	v.name("adjacentShardToMerge", in.AdjacentShardToMerge, 128)
	st, t, err := s.openStream(c, in.streamRef, &v)
	if err != nil {
		return err
	}
	info := st.Info()
	if info.Mode == engine.StreamModeOnDemand {
		return onDemandNotSupported(t.ns, t.name)
	}
	a, err := findReshardShard(&info, t, in.ShardToMerge)
	if err != nil {
		return err
	}
	b, err := findReshardShard(&info, t, in.AdjacentShardToMerge)
	if err != nil {
		return err
	}
	if err := st.Merge(a.Index, b.Index); err != nil {
		var ve *engine.ValidationError
		if errors.As(err, &ve) {
			switch {
			case ve.Field == "ShardToMerge" || ve.Field == "AdjacentShardToMerge" && !b.Open():
				// A closed shard (the engine checks ShardToMerge first).
				closed := a
				if a.Open() {
					closed = b
				}
				return shardNotEligible(t, closed.Index)
			case ve.Field == "AdjacentShardToMerge":
				return invalidArgument("Shards " + shardID(a.Index) + " and " + shardID(b.Index) + " in stream " + t.name +
					" under account " + t.ns.Account + " are not an adjacent pair of shards eligible for merging")
			}
		}
		return reshardError(err, t)
	}
	return nil
}

func (s *Service) updateShardCount(c *call) error {
	var in updateShardCountInput
	if err := c.decode(&in); err != nil {
		return err
	}
	var v validator
	v.required("targetShardCount", in.TargetShardCount != nil)
	v.intRange("targetShardCount", in.TargetShardCount, 1, 1_000_000)
	v.required("scalingType", in.ScalingType != "")
	v.enum("scalingType", in.ScalingType, "UNIFORM_SCALING")
	st, t, err := s.openStream(c, in.streamRef, &v)
	if err != nil {
		return err
	}
	info := st.Info()
	if info.Mode == engine.StreamModeOnDemand {
		return onDemandNotSupported(t.ns, t.name)
	}
	current := info.OpenShards
	// The shards added are counted from the open shards under the quota
	// lock (reserveFor): a merge of this stream since info was read would
	// make target-current too few.
	release, err := s.reserveFor(t.ns, func() (shardsAdded, streamsAdded int) {
		return int(*in.TargetShardCount) - st.Info().OpenShards, 0
	})
	if err != nil {
		return err
	}
	defer release()
	if err := st.UpdateShardCount(int(*in.TargetShardCount)); err != nil {
		return reshardError(err, t)
	}
	e := &c.out
	e.objStart()
	e.kstr("StreamName", t.name)
	e.kint("CurrentShardCount", int64(current))
	e.kint("TargetShardCount", *in.TargetShardCount)
	e.kstr("StreamARN", t.arn())
	e.objEnd()
	return nil
}
