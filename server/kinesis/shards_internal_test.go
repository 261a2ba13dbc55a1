package kinesis

import (
	"testing"
	"time"
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
