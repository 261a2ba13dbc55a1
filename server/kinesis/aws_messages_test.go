package kinesis_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestAWSErrorMessages checks, over the JSON wire protocol, error answers
// whose exact text AWS is known to give: the texts kinesalite records from
// real AWS (its test/*.js files were run against Kinesis), the API
// reference and the botocore model. Each row was a difference found in a
// fidelity audit; before it Sluice answered with the same code and another
// text, or with another code, or with success:
//
//   - a present empty StreamName or PartitionKey was reported as null (or,
//     for StreamName, as InvalidArgumentException "Either StreamName or
//     StreamARN must be provided."); AWS checks it against its pattern
//     and minimum length;
//   - validation violations in PutRecord(s) are listed partitionKey,
//     explicitHashKey, data (Sluice listed data first), and no more than 10
//     are listed (Sluice listed all of them);
//   - GetShardIterator refused a missing StartingSequenceNumber with its
//     own text, and accepted one with TRIM_HORIZON or LATEST;
//   - an empty Tags map was accepted; tag maps were capped at 50 entries
//     by validation (the model allows 200; 50 is the per-stream quota);
//     tag key and value lengths and tag key lists were reported per element
//     under made-up member names; tags with characters AWS refuses were
//     stored;
//   - UpdateShardCount beyond twice the open shards answered "Rate
//     exceeded." instead of AWS's text;
//   - SplitShard and MergeShards rendered the engine's reasons ("ShardToSplit:
//     shard 0 in stream \"s\" …", "… is outside the hash key range") and
//     GetShardIterator's not-found text;
//   - engine texts reached the wire: SplitShard, MergeShards and
//     UpdateShardCount on an ON_DEMAND stream answered
//     InvalidArgumentException "StreamMode: stream \"od\" is ON_DEMAND;
//     resharding is supported only for PROVISIONED streams" (AWS:
//     ValidationException); the eleventh UpdateShardCount in 24 hours
//     answered "UpdateShardCount can be called at most 10 times per rolling
//     24h0m0s for stream \"busy\""; a TargetShardCount above 10000 and a
//     CreateStream ShardCount above 10000 answered the engine's
//     "TargetShardCount: 20001 is outside [1, 10000]" and "ShardCount: 20000
//     outside [1, 10000]";
//   - a present empty StreamARN was taken as absent (the call succeeded by
//     StreamName, or answered "Value null at 'streamARN'"), and ListShards
//     with a NextToken answered a present empty StreamName with
//     InvalidArgumentException before validating it. (A present empty
//     StreamName beside a valid StreamARN was already refused as AWS does;
//     its row keeps it so.)
func TestAWSErrorMessages(t *testing.T) {
	e := newEnv(t, envOptions{})
	createStream(t, e, "s", 2)
	account := "000000000000"
	arn := "arn:aws:kinesis:us-east-1:" + account + ":stream/s"
	// Split shard 0 so that it is closed: shards 2 and 3 take its range.
	half := "170141183460469231731687303715884105727"
	if r := callJSON(t, e, "SplitShard", map[string]any{"StreamName": "s", "ShardToSplit": "shardId-000000000000", "NewStartingHashKey": "1000"}); r.status != 200 {
		t.Fatalf("SplitShard: %d %s", r.status, r.raw)
	}
	// An ON_DEMAND stream (four shards), and a stream that used up its ten
	// UpdateShardCount calls of the rolling 24 hours.
	if r := callJSON(t, e, "CreateStream", map[string]any{"StreamName": "od", "StreamModeDetails": map[string]any{"StreamMode": "ON_DEMAND"}}); r.status != 200 {
		t.Fatalf("CreateStream ON_DEMAND: %d %s", r.status, r.raw)
	}
	createStream(t, e, "busy", 1)
	for i := range 10 {
		in := map[string]any{"StreamName": "busy", "TargetShardCount": 2 - i%2, "ScalingType": "UNIFORM_SCALING"} // 2, 1, 2, …
		if r := callJSON(t, e, "UpdateShardCount", in); r.status != 200 {
			t.Fatalf("UpdateShardCount %d: %d %s", i+1, r.status, r.raw)
		}
	}
	emptyName := "Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; " +
		"Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1"
	emptyARN := "Value '' at 'streamARN' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+; " +
		"Value '' at 'streamARN' failed to satisfy constraint: Member must have length greater than or equal to 1"
	onDemand := "Request is invalid. Stream od under account " + account + " is in On-Demand mode."

	tooManyRecords := make([]any, 501)
	for i := range tooManyRecords {
		tooManyRecords[i] = map[string]any{"Data": []byte{}}
	}
	tooManyMessage := "10 validation errors detected: Value '[…]' at 'records' failed to satisfy constraint: Member must have length less than or equal to 500"
	for i := 1; i <= 9; i++ {
		tooManyMessage += fmt.Sprintf("; Value null at 'records.%d.member.partitionKey' failed to satisfy constraint: Member must not be null", i)
	}
	manyTags := map[string]any{}
	for i := range 201 {
		manyTags[fmt.Sprintf("k%03d", i)] = "v"
	}
	manyKeys := make([]string, 51)
	for i := range manyKeys {
		manyKeys[i] = fmt.Sprint(i)
	}
	long := strings.Repeat("a", 129)
	invalidTagChars := "Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - % @ :."
	sequenceRule := "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or " +
		"(2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified "
	iterator := func(typ string, seq string) map[string]any {
		in := map[string]any{"StreamName": "s", "ShardId": "shardId-000000000001", "ShardIteratorType": typ}
		if seq != "" {
			in["StartingSequenceNumber"] = seq
		}
		return in
	}

	cases := []struct {
		name, op string
		in       map[string]any
		code     string
		// message is the whole text; with prefix set, message is its
		// start and suffix its end (for values AWS prints at length).
		message, suffix string
		prefix          bool
	}{
		{name: "PutRecord member order", op: "PutRecord", in: map[string]any{"StreamName": "s"},
			code: "ValidationException", message: "2 validation errors detected: " +
				"Value null at 'partitionKey' failed to satisfy constraint: Member must not be null; " +
				"Value null at 'data' failed to satisfy constraint: Member must not be null"},
		{name: "PutRecords member order", op: "PutRecords", in: map[string]any{"StreamName": "s", "Records": []any{map[string]any{"ExplicitHashKey": "x"}}},
			code: "ValidationException", message: "3 validation errors detected: " +
				"Value null at 'records.1.member.partitionKey' failed to satisfy constraint: Member must not be null; " +
				"Value 'x' at 'records.1.member.explicitHashKey' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38}); " +
				"Value null at 'records.1.member.data' failed to satisfy constraint: Member must not be null"},
		{name: "empty partition key", op: "PutRecord", in: map[string]any{"StreamName": "s", "PartitionKey": "", "Data": []byte{}},
			code: "ValidationException", message: "1 validation error detected: " +
				"Value '' at 'partitionKey' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{name: "empty names", op: "PutRecords", in: map[string]any{"StreamName": "", "Records": []any{map[string]any{"PartitionKey": "", "Data": []byte{}}}},
			code: "ValidationException", message: "3 validation errors detected: " +
				"Value '' at 'records.1.member.partitionKey' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
				"Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; " +
				"Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{name: "empty stream name", op: "DescribeStreamSummary", in: map[string]any{"StreamName": ""},
			code: "ValidationException", message: "2 validation errors detected: " +
				"Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; " +
				"Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{name: "create with an empty name", op: "CreateStream", in: map[string]any{"StreamName": "", "ShardCount": 1},
			code: "ValidationException", message: "2 validation errors detected: " +
				"Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; " +
				"Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{name: "null is absent", op: "PutRecord", in: map[string]any{"StreamName": "s", "PartitionKey": nil, "Data": []byte{}},
			code: "ValidationException", message: "1 validation error detected: Value null at 'partitionKey' failed to satisfy constraint: Member must not be null"},
		{name: "at most 10 violations", op: "PutRecords", in: map[string]any{"StreamName": "s", "Records": tooManyRecords},
			code: "ValidationException", message: tooManyMessage},
		{name: "empty records", op: "PutRecords", in: map[string]any{"StreamName": "s", "Records": []any{}},
			code: "ValidationException", message: "1 validation error detected: Value '[]' at 'records' failed to satisfy constraint: Member must have length greater than or equal to 1"},

		{name: "LATEST with sequence number", op: "GetShardIterator", in: iterator("LATEST", "1"),
			code: "InvalidArgumentException", message: sequenceRule + "LATEST and also a StartingSequenceNumber."},
		{name: "TRIM_HORIZON with sequence number", op: "GetShardIterator", in: iterator("TRIM_HORIZON", "1"),
			code: "InvalidArgumentException", message: sequenceRule + "TRIM_HORIZON and also a StartingSequenceNumber."},
		{name: "AT_SEQUENCE_NUMBER without one", op: "GetShardIterator", in: iterator("AT_SEQUENCE_NUMBER", ""),
			code: "InvalidArgumentException", message: sequenceRule + "AT_SEQUENCE_NUMBER and no StartingSequenceNumber."},
		{name: "AFTER_SEQUENCE_NUMBER without one", op: "GetShardIterator", in: iterator("AFTER_SEQUENCE_NUMBER", ""),
			code: "InvalidArgumentException", message: sequenceRule + "AFTER_SEQUENCE_NUMBER and no StartingSequenceNumber."},

		{name: "empty tag map", op: "AddTagsToStream", in: map[string]any{"StreamName": "s", "Tags": map[string]any{}},
			code: "ValidationException", message: "1 validation error detected: Value '{}' at 'tags' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{name: "empty tag map by ARN", op: "TagResource", in: map[string]any{"ResourceARN": arn, "Tags": map[string]any{}},
			code: "ValidationException", message: "1 validation error detected: Value '{}' at 'tags' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{name: "201 tags", op: "AddTagsToStream", in: map[string]any{"StreamName": "s", "Tags": manyTags},
			code: "ValidationException", prefix: true, message: "1 validation error detected: Value '{k000=v, k001=v",
			suffix: "' at 'tags' failed to satisfy constraint: Member must have length less than or equal to 200"},
		{name: "empty tag key", op: "AddTagsToStream", in: map[string]any{"StreamName": "s", "Tags": map[string]any{"": "v", "b": "c"}},
			code: "ValidationException", message: "1 validation error detected: Value '{=v, b=c}' at 'tags' failed to satisfy constraint: " +
				"Map keys must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1]"},
		{name: "long tag value", op: "AddTagsToStream", in: map[string]any{"StreamName": "s", "Tags": map[string]any{"a": strings.Repeat("v", 257)}},
			code: "ValidationException", prefix: true, message: "1 validation error detected: Value '{a=vvv",
			suffix: "' at 'tags' failed to satisfy constraint: Map value must satisfy constraint: " +
				"[Member must have length less than or equal to 256, Member must have length greater than or equal to 0]"},
		{name: "tag key with comma", op: "AddTagsToStream", in: map[string]any{"StreamName": "s", "Tags": map[string]any{"a,b": "v"}},
			code: "InvalidArgumentException", message: invalidTagChars},
		{name: "CreateStream tag key with newline", op: "CreateStream", in: map[string]any{"StreamName": "tagged", "ShardCount": 1, "Tags": map[string]any{"a\nb": "v"}},
			code: "InvalidArgumentException", message: invalidTagChars},
		{name: "tag value with tab", op: "TagResource", in: map[string]any{"ResourceARN": arn, "Tags": map[string]any{"a": "x\ty"}},
			code: "InvalidArgumentException", message: invalidTagChars},
		{name: "no tag keys", op: "RemoveTagsFromStream", in: map[string]any{"StreamName": "s", "TagKeys": []string{}},
			code: "ValidationException", message: "1 validation error detected: Value '[]' at 'tagKeys' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{name: "51 tag keys", op: "RemoveTagsFromStream", in: map[string]any{"StreamName": "s", "TagKeys": manyKeys},
			code: "ValidationException", message: "1 validation error detected: Value '[" + strings.Join(manyKeys, ", ") +
				"]' at 'tagKeys' failed to satisfy constraint: Member must have length less than or equal to 50"},
		{name: "long tag key in list", op: "UntagResource", in: map[string]any{"ResourceARN": arn, "TagKeys": []string{"a", long, "b"}},
			code: "ValidationException", message: "1 validation error detected: Value '[a, " + long + ", b]' at 'tagKeys' failed to satisfy constraint: " +
				"Member must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1]"},
		{name: "tag key with semicolon", op: "RemoveTagsFromStream", in: map[string]any{"StreamName": "s", "TagKeys": []string{"a;b"}},
			code: "InvalidArgumentException", message: invalidTagChars},

		{name: "split unknown shard", op: "SplitShard", in: map[string]any{"StreamName": "s", "ShardToSplit": "shardId-000000000009", "NewStartingHashKey": "5"},
			code: "ResourceNotFoundException", message: "Could not find shard shardId-000000000009 in stream s under account " + account + "."},
		{name: "split at a hash key too small", op: "SplitShard", in: map[string]any{"StreamName": "s", "ShardToSplit": "shardId-000000000002", "NewStartingHashKey": "1"},
			code: "InvalidArgumentException", message: "NewStartingHashKey 1 used in SplitShard() on shard shardId-000000000002 in stream s under account " + account +
				" is not both greater than one plus the shard's StartingHashKey 0 and less than the shard's EndingHashKey 999."},
		{name: "split at a hash key above 2^128", op: "SplitShard", in: map[string]any{"StreamName": "s", "ShardToSplit": "shardId-000000000003", "NewStartingHashKey": "999999999999999999999999999999999999999"},
			code: "InvalidArgumentException", message: "NewStartingHashKey 999999999999999999999999999999999999999 used in SplitShard() on shard shardId-000000000003 in stream s under account " + account +
				" is not both greater than one plus the shard's StartingHashKey 1000 and less than the shard's EndingHashKey " + half + "."},
		{name: "split a closed shard", op: "SplitShard", in: map[string]any{"StreamName": "s", "ShardToSplit": "shardId-000000000000", "NewStartingHashKey": "5"},
			code: "InvalidArgumentException", message: "Shard shardId-000000000000 in stream s under account " + account +
				" has already been merged or split, and thus is not eligible for merging or splitting."},
		{name: "merge with a closed shard", op: "MergeShards", in: map[string]any{"StreamName": "s", "ShardToMerge": "shardId-000000000003", "AdjacentShardToMerge": "shardId-000000000000"},
			code: "InvalidArgumentException", message: "Shard shardId-000000000000 in stream s under account " + account +
				" has already been merged or split, and thus is not eligible for merging or splitting."},
		{name: "merge shards that do not touch", op: "MergeShards", in: map[string]any{"StreamName": "s", "ShardToMerge": "shardId-000000000002", "AdjacentShardToMerge": "shardId-000000000001"},
			code: "InvalidArgumentException", message: "Shards shardId-000000000002 and shardId-000000000001 in stream s under account " + account +
				" are not an adjacent pair of shards eligible for merging"},
		{name: "UpdateShardCount above double", op: "UpdateShardCount", in: map[string]any{"StreamName": "s", "TargetShardCount": 7, "ScalingType": "UNIFORM_SCALING"},
			code: "LimitExceededException", message: "UpdateShardCount cannot scale up over double your current open shard count. Current open shard count: 3, Target shard count: 7"},
		{name: "merge an unknown shard", op: "MergeShards", in: map[string]any{"StreamName": "s", "ShardToMerge": "shardId-000000000002", "AdjacentShardToMerge": "shardId-000000000042"},
			code: "ResourceNotFoundException", message: "Could not find shard shardId-000000000042 in stream s under account " + account + "."},

		{name: "split an ON_DEMAND stream", op: "SplitShard", in: map[string]any{"StreamName": "od", "ShardToSplit": "shardId-000000000000", "NewStartingHashKey": "5"},
			code: "ValidationException", message: onDemand},
		{name: "merge in an ON_DEMAND stream", op: "MergeShards", in: map[string]any{"StreamName": "od", "ShardToMerge": "shardId-000000000000", "AdjacentShardToMerge": "shardId-000000000001"},
			code: "ValidationException", message: onDemand},
		{name: "UpdateShardCount of an ON_DEMAND stream", op: "UpdateShardCount", in: map[string]any{"StreamARN": "arn:aws:kinesis:us-east-1:" + account + ":stream/od", "TargetShardCount": 5, "ScalingType": "UNIFORM_SCALING"},
			code: "ValidationException", message: onDemand},
		{name: "UpdateShardCount above 10000", op: "UpdateShardCount", in: map[string]any{"StreamName": "s", "TargetShardCount": 20001, "ScalingType": "UNIFORM_SCALING"},
			code: "LimitExceededException", message: "Target shard count or number of open shards cannot be greater than 10000. Current open shard count: 3, Target shard count: 20001"},
		{name: "UpdateShardCount below half", op: "UpdateShardCount", in: map[string]any{"StreamName": "s", "TargetShardCount": 1, "ScalingType": "UNIFORM_SCALING"},
			code: "LimitExceededException", message: "UpdateShardCount cannot scale down below half your current open shard count. Current open shard count: 3, Target shard count: 1"},
		{name: "eleventh UpdateShardCount in 24 hours", op: "UpdateShardCount", in: map[string]any{"StreamName": "busy", "TargetShardCount": 2, "ScalingType": "UNIFORM_SCALING"},
			code: "LimitExceededException", message: "UpdateShardCount cannot be called more than 10 times per rolling 24-hour period for stream busy under account " + account + "."},
		{name: "CreateStream above 10000 shards", op: "CreateStream", in: map[string]any{"StreamName": "big", "ShardCount": 20000},
			code: "LimitExceededException", message: "This request would exceed the shard limit for stream big under account " + account + ". Limit: 10000. Number of shards requested: 20000."},

		{name: "empty StreamName beside a StreamARN", op: "DescribeStreamSummary", in: map[string]any{"StreamName": "", "StreamARN": arn},
			code: "ValidationException", message: "2 validation errors detected: " + emptyName},
		{name: "empty StreamName beside a StreamARN in PutRecords", op: "PutRecords", in: map[string]any{"StreamName": "", "StreamARN": arn,
			"Records": []any{map[string]any{"PartitionKey": "k", "Data": []byte("x")}}},
			code: "ValidationException", message: "2 validation errors detected: " + emptyName},
		{name: "empty StreamARN beside a StreamName", op: "DescribeStreamSummary", in: map[string]any{"StreamName": "s", "StreamARN": ""},
			code: "ValidationException", message: "2 validation errors detected: " + emptyARN},
		{name: "empty StreamARN beside a StreamName in PutRecord", op: "PutRecord", in: map[string]any{"StreamName": "s", "StreamARN": "", "PartitionKey": "k", "Data": []byte("x")},
			code: "ValidationException", message: "2 validation errors detected: " + emptyARN},
		{name: "both empty", op: "ListShards", in: map[string]any{"StreamName": "", "StreamARN": ""},
			code: "ValidationException", message: "4 validation errors detected: " + emptyName + "; " + emptyARN},
		{name: "empty StreamName beside a NextToken", op: "ListShards", in: map[string]any{"StreamName": "", "NextToken": "x"},
			code: "ValidationException", message: "2 validation errors detected: " + emptyName},
		{name: "RegisterStreamConsumer with an empty StreamARN", op: "RegisterStreamConsumer", in: map[string]any{"StreamARN": "", "ConsumerName": "c"},
			code: "ValidationException", message: "2 validation errors detected: " + emptyARN},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The CBOR protocol (Java SDK, KCL) gets the same answer; its
			// decoder, unlike JSON's PutRecord(s) fast path, is generic.
			for _, r := range []wireReply{callJSON(t, e, tc.op, tc.in), callCBOR(t, e, tc.op, tc.in)} {
				msg, _ := r.doc["message"].(string)
				ok := r.status == 400 && r.doc["__type"] == tc.code
				if tc.prefix {
					ok = ok && strings.HasPrefix(msg, tc.message) && strings.HasSuffix(msg, tc.suffix)
				} else {
					ok = ok && msg == tc.message
				}
				if !ok {
					t.Fatalf("%s: got %d %v %q\nwant 400 %s %q…%q", r.contentType, r.status, r.doc["__type"], msg, tc.code, tc.message, tc.suffix)
				}
			}
		})
	}

	// The characters AWS allows are stored and removed (kinesalite
	// test/removeTagsFromStream.js "valid characters"; \p{Z} and \p{N} of
	// the API's pattern take a no-break space and a superscript two).
	tags := map[string]any{"ü0 _.\u00a0²": "a", "/=+-@:%": "b"}
	if r := callJSON(t, e, "AddTagsToStream", map[string]any{"StreamName": "s", "Tags": tags}); r.status != 200 {
		t.Fatalf("AddTagsToStream: %d %s", r.status, r.raw)
	}
	r := callJSON(t, e, "ListTagsForStream", map[string]any{"StreamName": "s"})
	if got, _ := json.Marshal(r.doc["Tags"]); string(got) != `[{"Key":"/=+-@:%","Value":"b"},{"Key":"ü0 _.`+"\u00a0"+`²","Value":"a"}]` {
		t.Fatalf("tags %s", got)
	}
	if r := callJSON(t, e, "RemoveTagsFromStream", map[string]any{"StreamName": "s", "TagKeys": []string{"ü0 _.\u00a0²", "/=+-@:%"}}); r.status != 200 {
		t.Fatalf("RemoveTagsFromStream: %d %s", r.status, r.raw)
	}
}
