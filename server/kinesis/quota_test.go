package kinesis_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	kinesissvc "github.com/sluice-dev/sluice/server/kinesis"
)

// wantShardQuotaError fails unless err is AWS's LimitExceededException for
// a request over the account shard quota, with its numbers.
func wantShardQuotaError(t *testing.T, err error, current, limit, additional int) {
	t.Helper()
	wantAPIError(t, err, "LimitExceededException")
	var ae smithy.APIError
	errors.As(err, &ae)
	want := fmt.Sprintf("This request would exceed the shard limit for the account 000000000000 in us-east-1. "+
		"Current shard count for the account: %d. Limit: %d. "+
		"Number of additional shards that would have resulted from this request: %d. "+
		"Refer to the AWS Service Limits page (http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) "+
		"for current limits and how to request higher limits.", current, limit, additional)
	if ae.ErrorMessage() != want {
		t.Fatalf("message\n got %q\nwant %q", ae.ErrorMessage(), want)
	}
}

// createOnDemandStreams creates ON_DEMAND streams od0 … od{n-1}.
func createOnDemandStreams(t *testing.T, e *env, n int) {
	t.Helper()
	for i := range n {
		if _, err := e.client.CreateStream(context.Background(), &kinesis.CreateStreamInput{StreamName: aws.String(fmt.Sprintf("od%d", i)),
			StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}}); err != nil {
			t.Fatalf("ON_DEMAND stream %d: %v", i, err)
		}
	}
}

func openShardCount(t *testing.T, e *env) (open, limit int32) {
	t.Helper()
	lim, err := e.client.DescribeLimits(context.Background(), &kinesis.DescribeLimitsInput{})
	if err != nil {
		t.Fatal(err)
	}
	return *lim.OpenShardCount, *lim.ShardLimit
}

// TestShardQuotaEnforced: with the quota enforced (--kinesis-limits aws),
// CreateStream (provisioned and ON_DEMAND), SplitShard and UpdateShardCount
// that would take the account's open shards over ShardLimit fail with
// AWS's LimitExceededException, change nothing, and succeed again once
// MergeShards or DeleteStream has made room.
func TestShardQuotaEnforced(t *testing.T) {
	e := newEnv(t, envOptions{config: kinesissvc.Config{ShardLimit: 10, EnforceShardLimit: true}})
	ctx := context.Background()
	createStream(t, e, "six", 6)

	_, err := e.client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("five"), ShardCount: aws.Int32(5)})
	wantShardQuotaError(t, err, 6, 10, 5)
	// A taken name is ResourceInUseException even when the shards would
	// not fit either.
	_, err = e.client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("six"), ShardCount: aws.Int32(5)})
	wantAPIError(t, err, "ResourceInUseException")
	if _, err := e.client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("five")}); err == nil {
		t.Fatal("a refused CreateStream created the stream")
	}

	// An ON_DEMAND stream's shards are outside the shard quota (AWS's
	// quotas page: no upper limit on an on-demand stream's shards).
	if _, err := e.client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("od"),
		StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}}); err != nil {
		t.Fatal(err)
	}
	if open, limit := openShardCount(t, e); open != 6 || limit != 10 {
		t.Fatalf("DescribeLimits with an ON_DEMAND stream: OpenShardCount %d ShardLimit %d, want 6 and 10", open, limit)
	}
	// A provisioned stream of 4 fits exactly; one more shard does not.
	createStream(t, e, "four", 4)
	if open, _ := openShardCount(t, e); open != 10 {
		t.Fatalf("OpenShardCount %d, want 10", open)
	}
	_, err = e.client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("one"), ShardCount: aws.Int32(1)})
	wantShardQuotaError(t, err, 10, 10, 1)

	// SplitShard adds one open shard.
	desc, err := e.client.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("six")})
	if err != nil {
		t.Fatal(err)
	}
	shards := desc.StreamDescription.Shards
	split := func() error {
		_, err := e.client.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("six"),
			ShardToSplit: shards[0].ShardId, NewStartingHashKey: aws.String("1000")})
		return err
	}
	wantShardQuotaError(t, split(), 10, 10, 1)

	// UpdateShardCount counts the shards it would add.
	_, err = e.client.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: aws.String("six"),
		TargetShardCount: aws.Int32(8), ScalingType: types.ScalingTypeUniformScaling})
	wantShardQuotaError(t, err, 10, 10, 2)
	if open, _ := openShardCount(t, e); open != 10 {
		t.Fatalf("refused requests changed the open shards: %d", open)
	}

	// Merging frees one shard, and the split fits again.
	if _, err := e.client.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String("six"),
		ShardToMerge: shards[4].ShardId, AdjacentShardToMerge: shards[5].ShardId}); err != nil {
		t.Fatal(err)
	}
	if err := split(); err != nil {
		t.Fatalf("split after a merge made room: %v", err)
	}
	if open, _ := openShardCount(t, e); open != 10 {
		t.Fatalf("open shards after merge and split: %d, want 10", open)
	}

	// A smaller UpdateShardCount is never refused by the quota, even with
	// the account at it.
	if _, err := e.client.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: aws.String("six"),
		TargetShardCount: aws.Int32(3), ScalingType: types.ScalingTypeUniformScaling}); err != nil {
		t.Fatalf("shrinking at the quota: %v", err)
	}
	if open, _ := openShardCount(t, e); open != 7 {
		t.Fatalf("open shards after shrinking to 3: %d, want 7", open)
	}

	// Deleting a stream gives its shards back: 7 + 4 does not fit, 3 + 4
	// does.
	_, err = e.client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("four2"), ShardCount: aws.Int32(4)})
	wantShardQuotaError(t, err, 7, 10, 4)
	if _, err := e.client.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("four")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("four2"), ShardCount: aws.Int32(4)}); err != nil {
		t.Fatalf("CreateStream after DeleteStream made room: %v", err)
	}
}

// TestOnDemandStreamQuota: with the quotas enforced, the account holds at
// most 50 ON_DEMAND streams (AWS's default on-demand stream quota):
// CreateStream in ON_DEMAND mode and UpdateStreamMode to ON_DEMAND past it
// fail with LimitExceededException and change nothing. UpdateStreamMode to
// PROVISIONED brings the stream's open shards under the shard quota.
func TestOnDemandStreamQuota(t *testing.T) {
	e := newEnv(t, envOptions{config: kinesissvc.Config{ShardLimit: 10, EnforceShardLimit: true}})
	ctx := context.Background()
	onDemand := &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}
	createOnDemandStreams(t, e, 50)
	wantOnDemandQuotaError := func(err error, current int) {
		t.Helper()
		wantAPIError(t, err, "LimitExceededException")
		var ae smithy.APIError
		errors.As(err, &ae)
		want := fmt.Sprintf("This request would exceed the on-demand stream count limit for the account 000000000000 in us-east-1. "+
			"Current on-demand stream count for the account: %d. Limit: 50.", current)
		if ae.ErrorMessage() != want {
			t.Fatalf("message\n got %q\nwant %q", ae.ErrorMessage(), want)
		}
	}
	_, err := e.client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("od50"), StreamModeDetails: onDemand})
	wantOnDemandQuotaError(err, 50)
	if _, err := e.client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("od50")}); err == nil {
		t.Fatal("a refused CreateStream created the stream")
	}
	lim, err := e.client.DescribeLimits(ctx, &kinesis.DescribeLimitsInput{})
	if err != nil || *lim.OnDemandStreamCount != 50 || *lim.OnDemandStreamCountLimit != 50 || *lim.OpenShardCount != 0 {
		t.Fatalf("DescribeLimits: %v %+v", err, lim)
	}

	// A provisioned stream cannot switch to ON_DEMAND while the account
	// is at the quota.
	createStream(t, e, "p", 2)
	arn := func(name string) *string { return aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/" + name) }
	updateMode := func(name string, mode types.StreamMode) error {
		_, err := e.client.UpdateStreamMode(ctx, &kinesis.UpdateStreamModeInput{StreamARN: arn(name), StreamModeDetails: &types.StreamModeDetails{StreamMode: mode}})
		return err
	}
	wantOnDemandQuotaError(updateMode("p", types.StreamModeOnDemand), 50)
	sum, err := e.client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("p")})
	if err != nil || sum.StreamDescriptionSummary.StreamModeDetails.StreamMode != types.StreamModeProvisioned {
		t.Fatalf("refused UpdateStreamMode changed the mode: %v %+v", err, sum)
	}

	// Switching an ON_DEMAND stream (4 open shards) to PROVISIONED adds
	// its shards to the shard quota: 2 + 4 fits under 10, and then 6 + 4
	// fits exactly, 10 + 4 does not.
	if err := updateMode("od0", types.StreamModeProvisioned); err != nil {
		t.Fatalf("od0 to PROVISIONED: %v", err)
	}
	if err := updateMode("od1", types.StreamModeProvisioned); err != nil {
		t.Fatalf("od1 to PROVISIONED: %v", err)
	}
	wantShardQuotaError(t, updateMode("od2", types.StreamModeProvisioned), 10, 10, 4)

	// Two ON_DEMAND streams fewer make room for p, and for one new one.
	if err := updateMode("p", types.StreamModeOnDemand); err != nil {
		t.Fatalf("p to ON_DEMAND below the quota: %v", err)
	}
	if _, err := e.client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("od50"), StreamModeDetails: onDemand}); err != nil {
		t.Fatalf("ON_DEMAND stream below the quota: %v", err)
	}
	_, err = e.client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("od51"), StreamModeDetails: onDemand})
	wantOnDemandQuotaError(err, 50)
}

// TestShardQuotaConcurrentCreates: the check and the change are one step,
// so concurrent CreateStream calls never take the account over its quota
// together.
func TestShardQuotaConcurrentCreates(t *testing.T) {
	e := newEnv(t, envOptions{config: kinesissvc.Config{ShardLimit: 9, EnforceShardLimit: true}})
	ctx := context.Background()
	const callers = 32
	var wg sync.WaitGroup
	errs := make([]error, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.client.CreateStream(ctx, &kinesis.CreateStreamInput{
				StreamName: aws.String(fmt.Sprintf("s%d", i)), ShardCount: aws.Int32(2)})
		}()
	}
	wg.Wait()
	created := 0
	for _, err := range errs {
		if err == nil {
			created++
			continue
		}
		wantAPIError(t, err, "LimitExceededException")
	}
	if created != 4 {
		t.Fatalf("%d of %d CreateStream calls of 2 shards succeeded under a quota of 9, want 4", created, callers)
	}
	if open, _ := openShardCount(t, e); open != 8 {
		t.Fatalf("OpenShardCount %d, want 8", open)
	}
}

// TestShardQuotaReportedNotEnforcedByDefault: without EnforceShardLimit
// (the default, `--kinesis-limits none`) DescribeLimits reports the quota
// but nothing refuses a stream over it.
func TestShardQuotaReportedNotEnforcedByDefault(t *testing.T) {
	e := newEnv(t, envOptions{config: kinesissvc.Config{ShardLimit: 3}})
	createStream(t, e, "big", 5)
	if open, limit := openShardCount(t, e); open != 5 || limit != 3 {
		t.Fatalf("DescribeLimits: OpenShardCount %d ShardLimit %d, want 5 and 3", open, limit)
	}
}

// TestQuotaConcurrentModeSwitches: UpdateStreamMode counts what it adds
// from the stream's mode as it is when the switch is made, under the quota
// lock. It once read the mode before taking the lock, so of concurrent
// switches of one stream to the same mode, those that read it before the
// first one switched were charged for a switch the stream had already
// made: with the account at a quota they were refused with
// LimitExceededException for adding nothing (and a switch read as a no-op
// went unchecked even after another call had switched the stream the
// other way). Method: with the account exactly at both quotas once the
// stream has switched, callers released together switch it to ON_DEMAND
// and then back to PROVISIONED, round after round; every call must
// succeed and the account must never be over either quota.
func TestQuotaConcurrentModeSwitches(t *testing.T) {
	e := newEnv(t, envOptions{config: kinesissvc.Config{ShardLimit: 10, EnforceShardLimit: true}})
	ctx := context.Background()
	createOnDemandStreams(t, e, 49)
	createStream(t, e, "fill", 8)
	createStream(t, e, "p", 2) // 10 provisioned shards: the shard quota
	arn := aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/p")
	const rounds, callers = 20, 8
	for round := range rounds {
		for _, mode := range []types.StreamMode{types.StreamModeOnDemand, types.StreamModeProvisioned} {
			start := make(chan struct{})
			errs := make([]error, callers)
			var wg sync.WaitGroup
			for i := range callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, errs[i] = e.client.UpdateStreamMode(ctx, &kinesis.UpdateStreamModeInput{StreamARN: arn,
						StreamModeDetails: &types.StreamModeDetails{StreamMode: mode}})
				}()
			}
			close(start)
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("round %d, caller %d, switch to %s: %v", round, i, mode, err)
				}
			}
			lim, err := e.client.DescribeLimits(ctx, &kinesis.DescribeLimitsInput{})
			if err != nil {
				t.Fatal(err)
			}
			if *lim.OpenShardCount > 10 || *lim.OnDemandStreamCount > 50 {
				t.Fatalf("round %d, after switches to %s: OpenShardCount %d, OnDemandStreamCount %d: over a quota",
					round, mode, *lim.OpenShardCount, *lim.OnDemandStreamCount)
			}
		}
	}
}
