package kinesis_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go/middleware"

	kinesissvc "github.com/sluice-dev/sluice/server/kinesis"
)

const transitionDelay = 30 * time.Second

// newTransitionEnv starts a server whose streams take transitionDelay for
// each lifecycle transition, on a fake clock.
func newTransitionEnv(t *testing.T) *env {
	t.Helper()
	clock := &fakeClock{now: time.Now()}
	return newEnv(t, envOptions{clock: clock, config: kinesissvc.Config{TransitionDelay: transitionDelay}})
}

// advanceEachCall is an SDK stack option that moves clock by step before
// every call, so a waiter's polls see time pass without the test sleeping;
// calls counts them.
func advanceEachCall(clock *fakeClock, step time.Duration, calls *atomic.Int32) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("advanceFakeClock",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				calls.Add(1)
				clock.Advance(step)
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	}
}

// wantNotActive fails unless err is ResourceInUseException naming status.
func wantNotActive(t *testing.T, what string, err error, status types.StreamStatus) {
	t.Helper()
	var inUse *types.ResourceInUseException
	if !errors.As(err, &inUse) {
		t.Fatalf("%s: got %v, want ResourceInUseException", what, err)
	}
	if want := "not ACTIVE, instead in state " + string(status); !strings.Contains(aws.ToString(inUse.Message), want) {
		t.Fatalf("%s: message %q lacks %q", what, aws.ToString(inUse.Message), want)
	}
}

// wantNotFound fails unless err is ResourceNotFoundException.
func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	var notFound *types.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		t.Fatalf("%s: got %v, want ResourceNotFoundException", what, err)
	}
}

// describeStatus returns the status DescribeStream, DescribeStreamSummary
// and ListStreams' StreamSummaries report, failing if they disagree.
func describeStatus(t *testing.T, e *env, name string) types.StreamStatus {
	t.Helper()
	ctx := context.Background()
	d, err := e.client.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(name)})
	if err != nil {
		t.Fatalf("DescribeStream: %v", err)
	}
	sum, err := e.client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
	if err != nil {
		t.Fatalf("DescribeStreamSummary: %v", err)
	}
	list, err := e.client.ListStreams(ctx, &kinesis.ListStreamsInput{})
	if err != nil {
		t.Fatalf("ListStreams: %v", err)
	}
	listed := types.StreamStatus("")
	for _, s := range list.StreamSummaries {
		if aws.ToString(s.StreamName) == name {
			listed = s.StreamStatus
		}
	}
	status := d.StreamDescription.StreamStatus
	if sum.StreamDescriptionSummary.StreamStatus != status || listed != status {
		t.Fatalf("statuses disagree: DescribeStream %s, summary %s, ListStreams %q",
			status, sum.StreamDescriptionSummary.StreamStatus, listed)
	}
	return status
}

func putRecord(e *env, name string) error {
	_, err := e.client.PutRecord(context.Background(), &kinesis.PutRecordInput{
		StreamName: aws.String(name), PartitionKey: aws.String("k"), Data: []byte("v")})
	return err
}

func putRecords(e *env, name string) error {
	_, err := e.client.PutRecords(context.Background(), &kinesis.PutRecordsInput{
		StreamName: aws.String(name), Records: []types.PutRecordsRequestEntry{{PartitionKey: aws.String("k"), Data: []byte("v")}}})
	return err
}

func trimHorizonIterator(e *env, name string) error {
	_, err := e.client.GetShardIterator(context.Background(), &kinesis.GetShardIteratorInput{
		StreamName: aws.String(name), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	return err
}

// TestStreamCreatingThroughSDK checks, through aws-sdk-go-v2 with a 30 s
// transition delay on a fake clock, the CREATING window: the three status
// reports say CREATING; PutRecord, PutRecords and GetShardIterator get
// ResourceNotFoundException (AWS: read and write only an ACTIVE stream);
// ListShards and control-plane changes get ResourceInUseException ("must be
// in the ACTIVE state"); the SDK's StreamExists waiter polls until the
// delay has passed on the clock and then succeeds, and writes work.
func TestStreamCreatingThroughSDK(t *testing.T) {
	e := newTransitionEnv(t)
	ctx := context.Background()
	name := aws.String("s")
	if _, err := e.client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: name, ShardCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	if got := describeStatus(t, e, "s"); got != types.StreamStatusCreating {
		t.Fatalf("status %s, want CREATING", got)
	}
	wantNotFound(t, "PutRecord", putRecord(e, "s"))
	wantNotFound(t, "PutRecords", putRecords(e, "s"))
	wantNotFound(t, "GetShardIterator", trimHorizonIterator(e, "s"))
	// A sequence number made up to look like one of this stream's (none
	// exists while it is CREATING) is refused the same way.
	desc, err := e.client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: name})
	if err != nil {
		t.Fatal(err)
	}
	forged := kinesissvc.ForgeSequenceNumber(desc.StreamDescriptionSummary.StreamCreationTimestamp.Unix(), 0, 1)
	_, err = e.client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: name, ShardId: aws.String("shardId-000000000000"),
		ShardIteratorType: types.ShardIteratorTypeAtSequenceNumber, StartingSequenceNumber: aws.String(forged)})
	wantNotFound(t, "GetShardIterator AT_SEQUENCE_NUMBER", err)
	_, err = e.client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: name})
	wantNotActive(t, "ListShards", err, types.StreamStatusCreating)
	_, err = e.client.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: name, TargetShardCount: aws.Int32(4), ScalingType: types.ScalingTypeUniformScaling})
	wantNotActive(t, "UpdateShardCount", err, types.StreamStatusCreating)
	_, err = e.client.AddTagsToStream(ctx, &kinesis.AddTagsToStreamInput{StreamName: name, Tags: map[string]string{"a": "b"}})
	wantNotActive(t, "AddTagsToStream", err, types.StreamStatusCreating)
	_, err = e.client.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: name})
	wantNotActive(t, "DeleteStream", err, types.StreamStatusCreating)

	var polls atomic.Int32
	w := kinesis.NewStreamExistsWaiter(e.client, func(o *kinesis.StreamExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = time.Millisecond, 2*time.Millisecond
		o.APIOptions = append(o.APIOptions, advanceEachCall(e.clock, 5*time.Second, &polls))
	})
	if err := w.Wait(ctx, &kinesis.DescribeStreamInput{StreamName: name}, 10*time.Second); err != nil {
		t.Fatalf("StreamExists waiter: %v", err)
	}
	if n := polls.Load(); n != int32(transitionDelay/(5*time.Second)) {
		t.Fatalf("waiter polled %d times, want %d (CREATING until the delay)", n, transitionDelay/(5*time.Second))
	}
	if got := describeStatus(t, e, "s"); got != types.StreamStatusActive {
		t.Fatalf("status %s after the waiter", got)
	}
	if err := putRecord(e, "s"); err != nil {
		t.Fatalf("PutRecord once ACTIVE: %v", err)
	}
}

// TestStreamUpdatingThroughSDK checks the UPDATING window after each
// asynchronous change AWS documents (UpdateShardCount, SplitShard,
// MergeShards, UpdateStreamMode, Start/StopStreamEncryption): the stream
// reads UPDATING for the delay, PutRecord, PutRecords and GetShardIterator
// keep working ("Read and write operations continue to work while the
// stream is in the UPDATING state"), a second change gets
// ResourceInUseException, and after the delay the stream is ACTIVE.
func TestStreamUpdatingThroughSDK(t *testing.T) {
	e := newTransitionEnv(t)
	ctx := context.Background()
	name := aws.String("s")
	if _, err := e.client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: name, ShardCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(transitionDelay)
	d, err := e.client.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: name})
	if err != nil {
		t.Fatal(err)
	}
	shard0, shard1 := d.StreamDescription.Shards[0], d.StreamDescription.Shards[1]
	changes := []struct {
		name   string
		change func() error
	}{
		{"UpdateShardCount", func() error {
			_, err := e.client.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: name, TargetShardCount: aws.Int32(4), ScalingType: types.ScalingTypeUniformScaling})
			return err
		}},
		{"UpdateShardCount back", func() error {
			_, err := e.client.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: name, TargetShardCount: aws.Int32(2), ScalingType: types.ScalingTypeUniformScaling})
			return err
		}},
		{"StartStreamEncryption", func() error {
			_, err := e.client.StartStreamEncryption(ctx, &kinesis.StartStreamEncryptionInput{StreamName: name, EncryptionType: types.EncryptionTypeKms, KeyId: aws.String("alias/aws/kinesis")})
			return err
		}},
		{"StopStreamEncryption", func() error {
			_, err := e.client.StopStreamEncryption(ctx, &kinesis.StopStreamEncryptionInput{StreamName: name, EncryptionType: types.EncryptionTypeKms, KeyId: aws.String("alias/aws/kinesis")})
			return err
		}},
		{"UpdateStreamMode", func() error {
			_, err := e.client.UpdateStreamMode(ctx, &kinesis.UpdateStreamModeInput{StreamARN: d.StreamDescription.StreamARN,
				StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeProvisioned}})
			return err
		}},
	}
	for _, c := range changes {
		if err := c.change(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := describeStatus(t, e, "s"); got != types.StreamStatusUpdating {
			t.Fatalf("after %s: %s, want UPDATING", c.name, got)
		}
		if err := putRecord(e, "s"); err != nil {
			t.Fatalf("PutRecord while UPDATING after %s: %v", c.name, err)
		}
		if err := putRecords(e, "s"); err != nil {
			t.Fatalf("PutRecords while UPDATING after %s: %v", c.name, err)
		}
		if _, err := e.client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: name}); err != nil {
			t.Fatalf("ListShards while UPDATING: %v", err)
		}
		_, err := e.client.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: name,
			ShardToMerge: shard0.ShardId, AdjacentShardToMerge: shard1.ShardId})
		// The state is checked before the shards (closed after a reshard).
		wantNotActive(t, "MergeShards after "+c.name, err, types.StreamStatusUpdating)
		e.clock.Advance(transitionDelay)
		if got := describeStatus(t, e, "s"); got != types.StreamStatusActive {
			t.Fatalf("after %s and the delay: %s", c.name, got)
		}
	}
	// SplitShard and MergeShards themselves start UPDATING.
	ls, err := e.client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: name,
		ShardFilter: &types.ShardFilter{Type: types.ShardFilterTypeAtLatest}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: name,
		ShardToMerge: ls.Shards[0].ShardId, AdjacentShardToMerge: ls.Shards[1].ShardId}); err != nil {
		t.Fatalf("MergeShards: %v", err)
	}
	if got := describeStatus(t, e, "s"); got != types.StreamStatusUpdating {
		t.Fatalf("after MergeShards: %s", got)
	}
	if err := trimHorizonIterator(e, "s"); err != nil {
		t.Fatalf("GetShardIterator while UPDATING: %v", err)
	}
	e.clock.Advance(transitionDelay)
	ls, err = e.client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: name,
		ShardFilter: &types.ShardFilter{Type: types.ShardFilterTypeAtLatest}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: name,
		ShardToSplit: ls.Shards[0].ShardId, NewStartingHashKey: aws.String("1000")}); err != nil {
		t.Fatalf("SplitShard: %v", err)
	}
	if got := describeStatus(t, e, "s"); got != types.StreamStatusUpdating {
		t.Fatalf("after SplitShard: %s", got)
	}
}

// TestStreamDeletingThroughSDK checks the DELETING window: the stream is
// still described and listed, as DELETING; writes still work ("might
// continue to accept data read and write operations ... until the stream
// deletion is complete"); a second DeleteStream and other changes get
// ResourceInUseException; the SDK's StreamNotExists waiter polls until the
// delay has passed and then sees ResourceNotFoundException; the name can
// then be reused.
func TestStreamDeletingThroughSDK(t *testing.T) {
	e := newTransitionEnv(t)
	ctx := context.Background()
	name := aws.String("s")
	if _, err := e.client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: name, ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(transitionDelay)
	if _, err := e.client.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: name}); err != nil {
		t.Fatal(err)
	}
	if got := describeStatus(t, e, "s"); got != types.StreamStatusDeleting {
		t.Fatalf("status %s, want DELETING", got)
	}
	if err := putRecord(e, "s"); err != nil {
		t.Fatalf("PutRecord while DELETING: %v", err)
	}
	_, err := e.client.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: name})
	wantNotActive(t, "DeleteStream again", err, types.StreamStatusDeleting)
	_, err = e.client.IncreaseStreamRetentionPeriod(ctx, &kinesis.IncreaseStreamRetentionPeriodInput{StreamName: name, RetentionPeriodHours: aws.Int32(48)})
	wantNotActive(t, "IncreaseStreamRetentionPeriod", err, types.StreamStatusDeleting)
	_, err = e.client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: name, ShardCount: aws.Int32(1)})
	var inUse *types.ResourceInUseException
	if !errors.As(err, &inUse) {
		t.Fatalf("CreateStream while DELETING: %v", err)
	}

	var polls atomic.Int32
	w := kinesis.NewStreamNotExistsWaiter(e.client, func(o *kinesis.StreamNotExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = time.Millisecond, 2*time.Millisecond
		o.APIOptions = append(o.APIOptions, advanceEachCall(e.clock, 5*time.Second, &polls))
	})
	if err := w.Wait(ctx, &kinesis.DescribeStreamInput{StreamName: name}, 10*time.Second); err != nil {
		t.Fatalf("StreamNotExists waiter: %v", err)
	}
	if n := polls.Load(); n != int32(transitionDelay/(5*time.Second)) {
		t.Fatalf("waiter polled %d times, want %d (DELETING until the delay)", n, transitionDelay/(5*time.Second))
	}
	wantNotFound(t, "PutRecord after deletion", putRecord(e, "s"))
	list, err := e.client.ListStreams(ctx, &kinesis.ListStreamsInput{})
	if err != nil || len(list.StreamNames) != 0 {
		t.Fatalf("ListStreams after deletion: %v, %v", list.StreamNames, err)
	}
	if _, err := e.client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: name, ShardCount: aws.Int32(1)}); err != nil {
		t.Fatalf("CreateStream after deletion: %v", err)
	}
}
