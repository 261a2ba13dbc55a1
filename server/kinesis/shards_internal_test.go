package kinesis

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/server/awsproto"
)

// TestShardsCursor checks the ListShards NextToken cursor: every filter
// that the next page must keep applying round-trips, AFTER_SHARD_ID and
// no filter leave just the index, and cursors Sluice did not write (as a
// forged token could carry) are refused rather than read as "no filter".
func TestShardsCursor(t *testing.T) {
	at := time.Unix(1_700_000_000, 123_456_789)
	for _, f := range []*shardFilter{
		nil,
		{Type: "AFTER_SHARD_ID", ShardID: "shardId-000000000001"},
		{Type: "AT_TRIM_HORIZON"},
		{Type: "FROM_TRIM_HORIZON"},
		{Type: "AT_LATEST"},
		{Type: "AT_TIMESTAMP", Timestamp: &timestamp{t: at}},
		{Type: "FROM_TIMESTAMP", Timestamp: &timestamp{t: at}},
	} {
		cursor := shardsCursor(7, f)
		index, got, ok := parseShardsCursor(cursor)
		if !ok || index != 7 {
			t.Fatalf("%q: index %d ok %v", cursor, index, ok)
		}
		if f == nil || f.Type == "AFTER_SHARD_ID" {
			if got != nil {
				t.Fatalf("%q: filter %+v, want none", cursor, got)
			}
			continue
		}
		if got == nil || got.Type != f.Type || (f.Timestamp == nil) != (got.Timestamp == nil) ||
			f.Timestamp != nil && !got.Timestamp.t.Equal(f.Timestamp.t) {
			t.Fatalf("%q: filter %+v, want %+v", cursor, got, f)
		}
	}
	for _, bad := range []string{"", "x", "-2", "1,", "1,BOGUS", "1,AFTER_SHARD_ID", "1,AT_LATEST,5",
		"1,AT_TIMESTAMP", "1,AT_TIMESTAMP,x", "1,FROM_TIMESTAMP,1,2"} {
		if _, _, ok := parseShardsCursor(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestReshardErrorWording checks reshardError's answers for the engine
// errors Split, Merge and UpdateShardCount return after the handler's own
// checks passed (a concurrent change, or the engine's bound on retained
// shards): AWS codes with fixed texts, never the engine's.
//
// Regression: UpdateShardCount passed the engine's ErrLimitExceeded text on
// ("stream \"s\" would hold more than 20000 shards (closed shards count
// until their data expires)"), and SplitShard and MergeShards answered it
// with "Rate exceeded.".
func TestReshardErrorWording(t *testing.T) {
	tg := target{ns: engine.Namespace{Account: "000000000000", Region: "us-east-1"}, name: "s"}
	cases := []struct {
		err           error
		code, message string
	}{
		{&engine.ReshardLimitError{Limit: engine.ReshardRetainedShards, Stream: "s", Max: 20000},
			"LimitExceededException", "This request would exceed the shard limit for stream s under account 000000000000: closed shards count towards it until their data expires."},
		{&engine.ValidationError{Field: "StreamMode", Reason: `stream "s" is ON_DEMAND; resharding is supported only for PROVISIONED streams`},
			"ValidationException", "Request is invalid. Stream s under account 000000000000 is in On-Demand mode."},
		{fmt.Errorf("%w: shard 9 in stream %q", engine.ErrShardNotFound, "s"), "ResourceNotFoundException", "Requested resource not found."},
	}
	for _, tc := range cases {
		var ae *awsproto.Error
		if err := reshardError(tc.err, tg); !errors.As(err, &ae) || ae.Code != tc.code || ae.Message != tc.message {
			t.Errorf("%v: got %v, want %s %q", tc.err, err, tc.code, tc.message)
		}
	}
}
