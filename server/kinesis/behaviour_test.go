package kinesis_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
)

// Behaviour found to differ from Amazon Kinesis Data Streams in an audit
// through the wire API (aws-sdk-go-v2 against the real server), each with
// the source of AWS's behaviour.

// reshardedStream builds, on a hand-moved clock, a two-shard stream whose
// shard 0 is split (at +1 min) into 2 and 3, which are merged (at +2 min)
// into 4: closed 0, 2, 3 (2 and 3 without records) and open 1, 4. It
// returns the stream's creation time.
func reshardedStream(t *testing.T, e *env, clock *fakeClock, name string) time.Time {
	t.Helper()
	ctx := context.Background()
	created := clock.Now()
	createStream(t, e, name, 2)
	if _, err := e.client.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(name), PartitionKey: aws.String("k"),
		ExplicitHashKey: aws.String("0"), Data: []byte("in shard 0")}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if _, err := e.client.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String(name),
		ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String("85070591730234615865843651857942052864")}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if _, err := e.client.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String(name),
		ShardToMerge: aws.String("shardId-000000000002"), AdjacentShardToMerge: aws.String("shardId-000000000003")}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	return created
}

func shardNumbers(shards []types.Shard) string {
	ids := make([]string, len(shards))
	for i, sh := range shards {
		ids[i] = strings.TrimLeft(strings.TrimPrefix(*sh.ShardId, "shardId-"), "0")
		if ids[i] == "" {
			ids[i] = "0"
		}
	}
	return strings.Join(ids, ",")
}

// TestListShardsFilterPaging checks every ShardFilter type on a resharded
// stream, in one call and in pages of one shard, and that the timestamp
// filters' bounds are inclusive (a shard closed exactly at the time was
// left out).
//
// Regression: a NextToken forgot the filter, so from the second page on
// ListShards listed every shard (AT_LATEST in pages of one listed the
// closed 2 and 3). The KCL's KinesisShardDetector and the KPL send the
// ShardFilter on the first call only and page with NextToken alone (AWS
// refuses both together: amazon-kinesis-client#788), and AWS keeps
// filtering (amazon-kinesis-producer#375: AT_LATEST in pages of 10 listed
// the 128 open shards of a resharded stream). Expected sets follow the
// ShardFilter documentation (botocore kinesis 2013-12-02 ShardFilter.Type).
func TestListShardsFilterPaging(t *testing.T) {
	clock := &fakeClock{now: time.Now().Add(-time.Hour).Truncate(time.Second)}
	e := newEnv(t, envOptions{clock: clock})
	ctx := context.Background()
	created := reshardedStream(t, e, clock, "s")
	at := func(d time.Duration) *time.Time { ts := created.Add(d); return &ts }
	cases := []struct {
		name   string
		filter types.ShardFilter
		want   string
	}{
		{"after shard 1", types.ShardFilter{Type: types.ShardFilterTypeAfterShardId, ShardId: aws.String("shardId-000000000001")}, "2,3,4"},
		// Open at the trim horizon (nothing has expired: the first shards).
		{"at trim horizon", types.ShardFilter{Type: types.ShardFilterTypeAtTrimHorizon}, "0,1"},
		{"from trim horizon", types.ShardFilter{Type: types.ShardFilterTypeFromTrimHorizon}, "0,1,2,3,4"},
		{"at latest", types.ShardFilter{Type: types.ShardFilterTypeAtLatest}, "1,4"},
		// Started at or before the time and open then.
		{"at timestamp before the split", types.ShardFilter{Type: types.ShardFilterTypeAtTimestamp, Timestamp: at(30 * time.Second)}, "0,1"},
		// Both bounds are inclusive: at the split, the parent (closed then)
		// and its children (created then).
		{"at timestamp of the split", types.ShardFilter{Type: types.ShardFilterTypeAtTimestamp, Timestamp: at(time.Minute)}, "0,1,2,3"},
		{"at timestamp between", types.ShardFilter{Type: types.ShardFilterTypeAtTimestamp, Timestamp: at(90 * time.Second)}, "1,2,3"},
		{"at timestamp in the future", types.ShardFilter{Type: types.ShardFilterTypeAtTimestamp, Timestamp: at(time.Hour)}, "1,4"},
		// Closed at or after the time, and every open shard.
		{"from timestamp before the split", types.ShardFilter{Type: types.ShardFilterTypeFromTimestamp, Timestamp: at(30 * time.Second)}, "0,1,2,3,4"},
		{"from timestamp of the split", types.ShardFilter{Type: types.ShardFilterTypeFromTimestamp, Timestamp: at(time.Minute)}, "0,1,2,3,4"},
		{"from timestamp between", types.ShardFilter{Type: types.ShardFilterTypeFromTimestamp, Timestamp: at(90 * time.Second)}, "1,2,3,4"},
		{"from timestamp before creation", types.ShardFilter{Type: types.ShardFilterTypeFromTimestamp, Timestamp: at(-time.Hour)}, "0,1,2,3,4"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			filter := tc.filter
			one, err := e.client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("s"), ShardFilter: &filter})
			if err != nil {
				t.Fatal(err)
			}
			if got := shardNumbers(one.Shards); got != tc.want || one.NextToken != nil {
				t.Fatalf("one call: shards %s (next token %v), want %s", got, one.NextToken != nil, tc.want)
			}
			var paged []types.Shard
			page, err := e.client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("s"), ShardFilter: &filter, MaxResults: aws.Int32(1)})
			for calls := 0; ; calls++ {
				if err != nil {
					t.Fatal(err)
				}
				if calls > 5 {
					t.Fatalf("no end after %d pages: %s", calls, shardNumbers(paged))
				}
				paged = append(paged, page.Shards...)
				if page.NextToken == nil {
					break
				}
				// The next page, as the KCL asks for it: NextToken only.
				page, err = e.client.ListShards(ctx, &kinesis.ListShardsInput{NextToken: page.NextToken, MaxResults: aws.Int32(1)})
			}
			if got := shardNumbers(paged); got != tc.want {
				t.Fatalf("pages of one: shards %s, want %s", got, tc.want)
			}
		})
	}
}

// TestClosedShardSequenceRange checks that no closed shard's
// EndingSequenceNumber is below its StartingSequenceNumber, and that
// iterators at either end of an empty closed shard lead to its children.
//
// Regression: a shard closed without records (here the split children 2
// and 3, merged at once; UpdateShardCount's short-lived intermediates too)
// reported an EndingSequenceNumber one below its StartingSequenceNumber.
// AWS's ending sequence numbers encode the close time and are never below
// the starting ones (kinesalite, written against AWS, ends closed shards
// with the largest sequence index: actions/updateShardCount.js).
func TestClosedShardSequenceRange(t *testing.T) {
	clock := &fakeClock{now: time.Now().Add(-time.Hour).Truncate(time.Second)}
	e := newEnv(t, envOptions{clock: clock})
	ctx := context.Background()
	reshardedStream(t, e, clock, "s")
	ls, err := e.client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("s")})
	if err != nil {
		t.Fatal(err)
	}
	closed := 0
	for _, sh := range ls.Shards {
		r := sh.SequenceNumberRange
		if r.EndingSequenceNumber == nil {
			continue
		}
		closed++
		start, _ := new(big.Int).SetString(*r.StartingSequenceNumber, 10)
		end, _ := new(big.Int).SetString(*r.EndingSequenceNumber, 10)
		if start == nil || end == nil || end.Cmp(start) < 0 {
			t.Errorf("%s: ending sequence number %s below starting %s", *sh.ShardId, *r.EndingSequenceNumber, *r.StartingSequenceNumber)
		}
	}
	if closed != 3 {
		t.Fatalf("%d closed shards, want 3: %s", closed, shardNumbers(ls.Shards))
	}
	// Shard 2 is empty: reading from either end of its range reaches its
	// end at once, with its child (4) and no next iterator.
	empty := ls.Shards[2]
	for _, typ := range []types.ShardIteratorType{types.ShardIteratorTypeAtSequenceNumber, types.ShardIteratorTypeAfterSequenceNumber} {
		for _, seq := range []*string{empty.SequenceNumberRange.StartingSequenceNumber, empty.SequenceNumberRange.EndingSequenceNumber} {
			it, err := e.client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("s"), ShardId: empty.ShardId,
				ShardIteratorType: typ, StartingSequenceNumber: seq})
			if err != nil {
				t.Fatalf("%s %s: %v", typ, *seq, err)
			}
			out, err := e.client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Records) != 0 || out.NextShardIterator != nil || len(out.ChildShards) != 1 || *out.ChildShards[0].ShardId != "shardId-000000000004" {
				t.Fatalf("%s %s: %+v", typ, *seq, out)
			}
		}
	}
}

// TestListStreamConsumersCreationTimestamp checks ListStreamConsumers'
// StreamCreationTimestamp, which "distinguish[es] data streams that have
// the same name" and "can't [be specified] if you specify the NextToken
// parameter" (botocore ListStreamConsumersInput).
//
// Regression: the parameter was ignored, so a creation time of an earlier
// stream of the same name listed the current stream's consumers.
func TestListStreamConsumersCreationTimestamp(t *testing.T) {
	clock := &fakeClock{now: time.Now().Add(-time.Hour).Truncate(time.Second)}
	e := newEnv(t, envOptions{clock: clock})
	ctx := context.Background()
	createStream(t, e, "s", 1)
	arn := aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/s")
	for _, name := range []string{"a", "b"} {
		if _, err := e.client.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: arn, ConsumerName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := e.client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamARN: arn})
	if err != nil {
		t.Fatal(err)
	}
	created := sum.StreamDescriptionSummary.StreamCreationTimestamp
	l, err := e.client.ListStreamConsumers(ctx, &kinesis.ListStreamConsumersInput{StreamARN: arn, StreamCreationTimestamp: created, MaxResults: aws.Int32(1)})
	if err != nil || len(l.Consumers) != 1 || l.NextToken == nil {
		t.Fatalf("this stream's creation time: %v %+v", err, l)
	}
	_, err = e.client.ListStreamConsumers(ctx, &kinesis.ListStreamConsumersInput{StreamARN: arn, StreamCreationTimestamp: created, NextToken: l.NextToken})
	wantAPIError(t, err, "InvalidArgumentException")
	l, err = e.client.ListStreamConsumers(ctx, &kinesis.ListStreamConsumersInput{StreamARN: arn, NextToken: l.NextToken})
	if err != nil || len(l.Consumers) != 1 || *l.Consumers[0].ConsumerName != "b" {
		t.Fatalf("page 2: %v %+v", err, l)
	}
	earlier := created.Add(-time.Minute)
	_, err = e.client.ListStreamConsumers(ctx, &kinesis.ListStreamConsumersInput{StreamARN: arn, StreamCreationTimestamp: &earlier})
	wantAPIError(t, err, "ResourceNotFoundException")
	// ListShards treats it alike.
	_, err = e.client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("s"), StreamCreationTimestamp: &earlier})
	wantAPIError(t, err, "ResourceNotFoundException")
	if ls, err := e.client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("s"), StreamCreationTimestamp: created}); err != nil || len(ls.Shards) != 1 {
		t.Fatalf("list shards at the creation time: %v %+v", err, ls)
	}
}

// TestListStreamsPageMax checks that a ListStreams Limit above 100 still
// answers at most 100 streams: "If you specify a value greater than 100,
// at most 100 results are returned" (botocore ListStreamsInput.Limit; the
// model accepts up to 10,000).
//
// Regression: Limit 1000 listed all 101 streams in one page.
func TestListStreamsPageMax(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	const streams = 101
	for i := range streams {
		if _, err := e.client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(fmt.Sprintf("s%03d", i)), ShardCount: aws.Int32(1)}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := e.client.ListStreams(ctx, &kinesis.ListStreamsInput{Limit: aws.Int32(1000)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.StreamNames) != 100 || len(out.StreamSummaries) != 100 || !*out.HasMoreStreams || out.NextToken == nil {
		t.Fatalf("Limit 1000: %d names, %d summaries, more %v", len(out.StreamNames), len(out.StreamSummaries), *out.HasMoreStreams)
	}
	out, err = e.client.ListStreams(ctx, &kinesis.ListStreamsInput{NextToken: out.NextToken, Limit: aws.Int32(1000)})
	if err != nil || len(out.StreamNames) != 1 || out.StreamNames[0] != "s100" || *out.HasMoreStreams {
		t.Fatalf("page 2: %v %+v", err, out)
	}
}

// TestListShardsPagingFilterWithIgnoredTimestamp checks that a ShardFilter
// whose type takes no timestamp (AT_LATEST, AT_TRIM_HORIZON,
// FROM_TRIM_HORIZON) but that carries one anyway pages to the end.
//
// Regression: the first page accepted the filter (the timestamp is
// ignored for those types) but wrote it into the NextToken's cursor as
// "index,AT_LATEST,nanos", which parseShardsCursor refuses, so the second
// page failed with InvalidArgumentException "Invalid NextToken.".
func TestListShardsPagingFilterWithIgnoredTimestamp(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	createStream(t, e, "s", 3)
	ts := time.Now()
	for _, typ := range []types.ShardFilterType{types.ShardFilterTypeAtLatest, types.ShardFilterTypeAtTrimHorizon, types.ShardFilterTypeFromTrimHorizon} {
		filter := types.ShardFilter{Type: typ, Timestamp: &ts}
		page, err := e.client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("s"), ShardFilter: &filter, MaxResults: aws.Int32(1)})
		var paged []types.Shard
		for calls := 0; ; calls++ {
			if err != nil {
				t.Fatalf("%s, page %d: %v", typ, calls+1, err)
			}
			if calls > 5 {
				t.Fatalf("%s: no end after %d pages", typ, calls)
			}
			paged = append(paged, page.Shards...)
			if page.NextToken == nil {
				break
			}
			page, err = e.client.ListShards(ctx, &kinesis.ListShardsInput{NextToken: page.NextToken, MaxResults: aws.Int32(1)})
		}
		if got := shardNumbers(paged); got != "0,1,2" {
			t.Fatalf("%s: shards %s, want 0,1,2", typ, got)
		}
	}
}

// TestOnDemandStreamRefusesResharding drives SplitShard, MergeShards and
// UpdateShardCount on an ON_DEMAND stream through the SDK: each is
// ValidationException, which the model and the API reference document for
// these three operations ("you tried to invoke this API for a data stream
// with the on-demand capacity mode. This API is only supported for data
// streams with the provisioned capacity mode", botocore kinesis
// 2013-12-02), the shards stay as they were, and once the stream is
// PROVISIONED again resharding works.
//
// Regression: the three answered InvalidArgumentException with the
// engine's text ("StreamMode: stream \"od\" is ON_DEMAND; resharding is
// supported only for PROVISIONED streams").
func TestOnDemandStreamRefusesResharding(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	name := aws.String("od")
	if _, err := e.client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: name,
		StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}}); err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"SplitShard": func() error {
			_, err := e.client.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: name,
				ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String("5")})
			return err
		},
		"MergeShards": func() error {
			_, err := e.client.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: name,
				ShardToMerge: aws.String("shardId-000000000000"), AdjacentShardToMerge: aws.String("shardId-000000000001")})
			return err
		},
		"UpdateShardCount": func() error {
			_, err := e.client.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: name,
				TargetShardCount: aws.Int32(8), ScalingType: types.ScalingTypeUniformScaling})
			return err
		},
	}
	for op, call := range calls {
		var ve *types.ValidationException
		if err := call(); !errors.As(err, &ve) || ve.ErrorMessage() != "Request is invalid. Stream od under account 000000000000 is in On-Demand mode." {
			t.Fatalf("%s on an ON_DEMAND stream: %v, want ValidationException", op, err)
		}
	}
	ls, err := e.client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: name})
	if err != nil || shardNumbers(ls.Shards) != "0,1,2,3" {
		t.Fatalf("shards after the refused calls: %v %v", err, ls)
	}
	arn := aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/od")
	if _, err := e.client.UpdateStreamMode(ctx, &kinesis.UpdateStreamModeInput{StreamARN: arn,
		StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeProvisioned}}); err != nil {
		t.Fatal(err)
	}
	if err := calls["UpdateShardCount"](); err != nil {
		t.Fatalf("UpdateShardCount once PROVISIONED: %v", err)
	}
}

// TestEmptyStreamNameBesideStreamARN sends, through the SDK, a present
// empty StreamName beside a valid StreamARN and the reverse: each is the
// ValidationException of the empty member, as AWS validates every present
// member against the model's constraints whatever the other holds (see
// resolveRef). An empty StreamARN beside a valid name used to be taken as
// absent and the call succeeded.
func TestEmptyStreamNameBesideStreamARN(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	createStream(t, e, "s", 1)
	arn := "arn:aws:kinesis:us-east-1:000000000000:stream/s"
	for _, tc := range []struct{ name, arn, member string }{{"", arn, "streamName"}, {"s", "", "streamARN"}} {
		_, err := e.client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(tc.name), StreamARN: aws.String(tc.arn)})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" ||
			!strings.HasPrefix(ae.ErrorMessage(), "2 validation errors detected: Value '' at '"+tc.member+"'") {
			t.Fatalf("StreamName %q, StreamARN %q: %v, want ValidationException for %s", tc.name, tc.arn, err, tc.member)
		}
	}
}
