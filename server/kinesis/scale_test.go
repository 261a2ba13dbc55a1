package kinesis_test

import (
	"context"
	"fmt"
	"math/big"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/segment"
)

// Scale tests: many streams and many shards through aws-sdk-go-v2 and the
// real server, with fsync off (durability is tested elsewhere).

// scaleEnv is a server whose engine never fsyncs appends, on disk or, with
// inMemory, on an in-memory filesystem. Opening a shard's log still
// creates and fsyncs directories, about 9 ms per log on the dev disk and
// serialized in the engine (NOTES.md), so a test that first-writes 1,000
// shards would spend its whole budget there on disk.
func scaleEnv(t *testing.T, inMemory bool) *env {
	opts := engine.Options{Sync: segment.SyncPolicy{Mode: segment.SyncNever}}
	if inMemory {
		opts.FS = vfs.NewMem()
	}
	return newEnv(t, envOptions{engine: opts})
}

// parallel runs fn(i) for i in [0, n) on workers goroutines and fails the
// test with the first error.
func parallel(t *testing.T, n, workers int, fn func(i int) error) {
	t.Helper()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		next     = make(chan int)
	)
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("item %d: %w", i, err)
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
}

// TestManyStreams creates 100 streams at once (8 concurrent clients), puts
// to and reads back from every one of them, and checks that ListStreams
// sees all 100 exactly once, in name order, both in pages of 7 (NextToken)
// and with the SDK paginator, and that every page's StreamSummaries
// describe the same streams as its StreamNames.
func TestManyStreams(t *testing.T) {
	e := scaleEnv(t, false)
	ctx := context.Background()
	const streams = 100
	name := func(i int) string { return fmt.Sprintf("scale-%03d", i) }
	parallel(t, streams, 8, func(i int) error {
		_, err := e.client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name(i)), ShardCount: aws.Int32(int32(1 + i%3))})
		return err
	})
	parallel(t, streams, 8, func(i int) error {
		entries := make([]types.PutRecordsRequestEntry, 10)
		for j := range entries {
			entries[j] = types.PutRecordsRequestEntry{PartitionKey: aws.String("k"), Data: []byte(name(i) + "/" + strconv.Itoa(j))}
		}
		out, err := e.client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(name(i)), Records: entries})
		if err != nil {
			return err
		}
		if *out.FailedRecordCount != 0 {
			return fmt.Errorf("%d records failed", *out.FailedRecordCount)
		}
		return nil
	})
	parallel(t, streams, 8, func(i int) error {
		// Partition key "k" lands on one shard; find it by reading all.
		var got []string
		for shard := range 1 + i%3 {
			it, err := e.client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(name(i)),
				ShardId: aws.String(fmt.Sprintf("shardId-%012d", shard)), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
			if err != nil {
				return err
			}
			out, err := e.client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
			if err != nil {
				return err
			}
			for _, r := range out.Records {
				got = append(got, string(r.Data))
			}
		}
		if len(got) != 10 || got[0] != name(i)+"/0" || got[9] != name(i)+"/9" {
			return fmt.Errorf("read back %q", got)
		}
		return nil
	})

	checkPage := func(out *kinesis.ListStreamsOutput) {
		t.Helper()
		if len(out.StreamSummaries) != len(out.StreamNames) {
			t.Fatalf("%d summaries for %d names", len(out.StreamSummaries), len(out.StreamNames))
		}
		for j, s := range out.StreamSummaries {
			n := out.StreamNames[j]
			if *s.StreamName != n || *s.StreamARN != "arn:aws:kinesis:us-east-1:000000000000:stream/"+n ||
				s.StreamStatus != types.StreamStatusActive || s.StreamModeDetails == nil ||
				s.StreamModeDetails.StreamMode != types.StreamModeProvisioned || s.StreamCreationTimestamp == nil {
				t.Fatalf("summary %d of page: %+v for %s", j, s, n)
			}
		}
	}
	checkAll := func(how string, names []string) {
		t.Helper()
		if len(names) != streams {
			t.Fatalf("%s: %d streams listed", how, len(names))
		}
		for i, n := range names {
			if n != name(i) {
				t.Fatalf("%s: stream %d is %s", how, i, n)
			}
		}
	}

	var names []string
	in := &kinesis.ListStreamsInput{Limit: aws.Int32(7)}
	for pages := 0; ; pages++ {
		if pages > streams {
			t.Fatal("ListStreams does not end")
		}
		out, err := e.client.ListStreams(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		checkPage(out)
		names = append(names, out.StreamNames...)
		if !*out.HasMoreStreams {
			if out.NextToken != nil || len(out.StreamNames) != streams%7 {
				t.Fatalf("last page: %d names, token %v", len(out.StreamNames), out.NextToken)
			}
			break
		}
		if len(out.StreamNames) != 7 || out.NextToken == nil {
			t.Fatalf("page %d: %d names, token %v", pages, len(out.StreamNames), out.NextToken)
		}
		in = &kinesis.ListStreamsInput{NextToken: out.NextToken, Limit: aws.Int32(7)}
	}
	checkAll("pages of 7", names)

	names = nil
	p := kinesis.NewListStreamsPaginator(e.client, &kinesis.ListStreamsInput{Limit: aws.Int32(30)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		checkPage(out)
		names = append(names, out.StreamNames...)
	}
	checkAll("paginator", names)

	// The default page is 100: everything, with nothing more.
	out, err := e.client.ListStreams(ctx, &kinesis.ListStreamsInput{})
	if err != nil || *out.HasMoreStreams || out.NextToken != nil {
		t.Fatalf("default page: %v %+v", err, out)
	}
	checkPage(out)
	checkAll("default page", out.StreamNames)

	lim, err := e.client.DescribeLimits(ctx, &kinesis.DescribeLimitsInput{})
	if err != nil || *lim.OpenShardCount != 199 { // 34×1 + 33×2 + 33×3
		t.Fatalf("limits: %v %+v", err, lim)
	}
}

// TestThousandShards creates one stream of 1,000 shards through the SDK
// and checks, in order: that creating it and using its control plane
// (summary, ListShards in pages, reads from a few shards) leaves the
// process's goroutine count where it was, i.e. idle shards cost no
// goroutine, timer or poller each (a count, not a timing); that ListShards
// returns all 1,000 in order with hash ranges tiling the key space, in one
// default page and in pages of 100 via NextToken; that PutRecords reaches
// every shard (explicit hash keys at each shard's start, and 2,000 plain
// partition keys spread over most shards); and that GetRecords on a few
// shards reads what was put there. The engine runs on an in-memory
// filesystem (see scaleEnv).
//
// Shards that have been written keep a segment writer goroutine for the
// segment IdleTimeout (30 s, not settable through engine.Options), so the
// goroutine check comes before the puts; the count after them is logged.
func TestThousandShards(t *testing.T) {
	e := scaleEnv(t, true)
	ctx := context.Background()
	const shards = 1000
	stream := aws.String("wide")
	// Warm up the client's connection and the server's per-connection
	// goroutines before the baseline.
	if _, err := e.client.ListStreams(ctx, &kinesis.ListStreamsInput{}); err != nil {
		t.Fatal(err)
	}
	baseline := runtime.NumGoroutine()

	if _, err := e.client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: stream, ShardCount: aws.Int32(shards)}); err != nil {
		t.Fatal(err)
	}
	sum, err := e.client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: stream})
	if err != nil || *sum.StreamDescriptionSummary.OpenShardCount != shards ||
		sum.StreamDescriptionSummary.StreamStatus != types.StreamStatusActive {
		t.Fatalf("summary: %v %+v", err, sum)
	}

	// One default page holds all 1,000.
	all, err := e.client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: stream})
	if err != nil || all.NextToken != nil {
		t.Fatalf("default page: %v, token %v", err, all.NextToken)
	}
	checkShardList(t, all.Shards, shards)
	// Pages of 100 through NextToken.
	var paged []types.Shard
	in := &kinesis.ListShardsInput{StreamName: stream, MaxResults: aws.Int32(100)}
	for pages := 0; ; pages++ {
		if pages > shards/100 {
			t.Fatal("ListShards does not end")
		}
		out, err := e.client.ListShards(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, out.Shards...)
		if out.NextToken == nil {
			break
		}
		if len(out.Shards) != 100 {
			t.Fatalf("page %d: %d shards", pages, len(out.Shards))
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken, MaxResults: aws.Int32(100)}
	}
	checkShardList(t, paged, shards)

	few := []int{0, 1, 499, 998, 999}
	iterators := make(map[int]*string)
	for _, i := range few {
		it, err := e.client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: stream,
			ShardId: all.Shards[i].ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		out, err := e.client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
		if err != nil || len(out.Records) != 0 || out.NextShardIterator == nil {
			t.Fatalf("empty shard %d: %v %+v", i, err, out)
		}
		iterators[i] = out.NextShardIterator
	}

	idle := runtime.NumGoroutine()
	if idle-baseline >= 50 {
		t.Fatalf("%d goroutines with 1,000 idle shards, %d before: cost grows with shards", idle, baseline)
	}

	// One record per shard at its starting hash key, in two full batches.
	for batch := range shards / 500 {
		entries := make([]types.PutRecordsRequestEntry, 500)
		for j := range entries {
			sh := all.Shards[batch*500+j]
			entries[j] = types.PutRecordsRequestEntry{PartitionKey: aws.String("k"),
				ExplicitHashKey: sh.HashKeyRange.StartingHashKey, Data: []byte(*sh.ShardId)}
		}
		out, err := e.client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: stream, Records: entries})
		if err != nil || *out.FailedRecordCount != 0 {
			t.Fatalf("put batch %d: %v %+v", batch, err, out)
		}
		for j, r := range out.Records {
			if want := *all.Shards[batch*500+j].ShardId; *r.ShardId != want {
				t.Fatalf("record for %s went to %s", want, *r.ShardId)
			}
		}
	}
	// Plain partition keys (MD5-hashed) spread over most shards: 2,000
	// uniform keys over 1,000 equal ranges cover about 86% of them.
	reached := make(map[string]bool)
	for batch := range 4 {
		entries := make([]types.PutRecordsRequestEntry, 500)
		for j := range entries {
			entries[j] = types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprintf("key-%d-%d", batch, j)), Data: []byte("spread")}
		}
		out, err := e.client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: stream, Records: entries})
		if err != nil || *out.FailedRecordCount != 0 {
			t.Fatalf("spread batch %d: %v %+v", batch, err, out)
		}
		for _, r := range out.Records {
			reached[*r.ShardId] = true
		}
	}
	if len(reached) < 750 {
		t.Fatalf("2,000 partition keys reached only %d shards", len(reached))
	}

	for _, i := range few {
		out, err := e.client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iterators[i]})
		if err != nil || len(out.Records) == 0 {
			t.Fatalf("shard %d: %v %+v", i, err, out)
		}
		if got := string(out.Records[0].Data); got != *all.Shards[i].ShardId {
			t.Fatalf("shard %d: first record %q", i, got)
		}
		for _, r := range out.Records[1:] {
			if string(r.Data) != "spread" {
				t.Fatalf("shard %d: record %q", i, r.Data)
			}
		}
	}
	t.Logf("goroutines: %d before, %d with 1,000 idle shards, %d after writing to all (segment writers idle out after 30 s)",
		baseline, idle, runtime.NumGoroutine())
}

// checkShardList checks that shards are shardId-000000000000 onwards, n of
// them, open, with hash ranges that tile [0, 2^128) in order.
func checkShardList(t *testing.T, shards []types.Shard, n int) {
	t.Helper()
	if len(shards) != n {
		t.Fatalf("%d shards listed, want %d", len(shards), n)
	}
	next := new(big.Int)
	for i, sh := range shards {
		if want := fmt.Sprintf("shardId-%012d", i); *sh.ShardId != want {
			t.Fatalf("shard %d is %s", i, *sh.ShardId)
		}
		start, ok1 := new(big.Int).SetString(*sh.HashKeyRange.StartingHashKey, 10)
		end, ok2 := new(big.Int).SetString(*sh.HashKeyRange.EndingHashKey, 10)
		if !ok1 || !ok2 || start.Cmp(next) != 0 || end.Cmp(start) < 0 || sh.SequenceNumberRange.EndingSequenceNumber != nil {
			t.Fatalf("shard %d: %+v (range should start at %s)", i, sh, next)
		}
		next.Add(end, big.NewInt(1))
	}
	if next.Cmp(new(big.Int).Lsh(big.NewInt(1), 128)) != 0 {
		t.Fatalf("hash ranges end at %s", next)
	}
}
