package bench

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// Kinesis limits the scenarios respect.
const (
	kinesisPutBatchMax     = 500   // records per PutRecords
	kinesisGetLimitMax     = 10000 // records per GetRecords
	kinesisGetLimitDefault = 1000
	kinesisPutBatchDefault = 100
	// kinesisActiveTimeout bounds the wait for a created stream to become
	// ACTIVE.
	kinesisActiveTimeout = 2 * time.Minute
)

func kinesisScenarios() []*Scenario {
	return []*Scenario{
		{Name: "kinesis-put", Service: "kinesis", Summary: "PutRecord, one record per request", Prepare: prepareKinesisPut(false)},
		{Name: "kinesis-put-batch", Service: "kinesis", Summary: "PutRecords, --batch records per request (default 100)", Prepare: prepareKinesisPut(true)},
		{Name: "kinesis-get", Service: "kinesis", Summary: "prefill --prefill records, then GetRecords every shard from TRIM_HORIZON, over and over", Prepare: prepareKinesisGet},
		{Name: "kinesis-e2e", Service: "kinesis", Summary: "producers put while one reader per shard polls GetRecords; latency from the put time in the data", EndToEnd: true, Prepare: prepareKinesisE2E},
		{Name: "kinesis-efo-e2e", Service: "kinesis", Summary: "producers put while a registered consumer holds one SubscribeToShard stream per shard; latency from the put time in the data", EndToEnd: true, Needs: efoOperations, Prepare: prepareKinesisEFO},
	}
}

// kinesisStream is a stream prepared for a run.
type kinesisStream struct {
	name     string
	shardIDs []string
}

// kinesisSetup creates a temporary stream with --shards shards and waits
// until it is ACTIVE, or uses --stream.
func kinesisSetup(ctx context.Context, env *Env, runID string) (kinesisStream, func(context.Context) error, error) {
	client := env.Kinesis
	s := kinesisStream{name: env.Config.Stream}
	var cleanup func(context.Context) error
	if s.name == "" {
		s.name = "sluice-bench-" + runID
		_, err := client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(s.name), ShardCount: aws.Int32(int32(max(env.Config.Shards, 1)))})
		if err != nil {
			return s, nil, fmt.Errorf("bench: CreateStream %s: %w", s.name, err)
		}
		cleanup = func(ctx context.Context) error {
			_, err := client.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String(s.name), EnforceConsumerDeletion: aws.Bool(true)})
			if err != nil {
				return fmt.Errorf("bench: DeleteStream %s: %w", s.name, err)
			}
			return nil
		}
		if err := waitStreamActive(ctx, client, s.name); err != nil {
			return s, cleanup, err
		}
	}
	var token *string
	for {
		in := &kinesis.ListShardsInput{NextToken: token}
		if token == nil {
			in.StreamName = aws.String(s.name)
		}
		out, err := client.ListShards(ctx, in)
		if err != nil {
			return s, cleanup, fmt.Errorf("bench: ListShards %s: %w", s.name, err)
		}
		for _, shard := range out.Shards {
			if shard.SequenceNumberRange == nil || shard.SequenceNumberRange.EndingSequenceNumber == nil {
				s.shardIDs = append(s.shardIDs, aws.ToString(shard.ShardId))
			}
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	if len(s.shardIDs) == 0 {
		return s, cleanup, fmt.Errorf("bench: stream %s has no open shards", s.name)
	}
	return s, cleanup, nil
}

func waitStreamActive(ctx context.Context, client *kinesis.Client, name string) error {
	ctx, cancel := context.WithTimeout(ctx, kinesisActiveTimeout)
	defer cancel()
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	for {
		out, err := client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		if err != nil {
			return fmt.Errorf("bench: DescribeStreamSummary %s: %w", name, err)
		}
		if out.StreamDescriptionSummary != nil && out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bench: stream %s not ACTIVE: %w", name, ctx.Err())
		case <-ticker.C:
		}
	}
}

// partitionKey spreads records evenly over the hash-key space.
func partitionKey(worker int, seq int64) string {
	return "pk-" + strconv.Itoa(worker) + "-" + strconv.FormatInt(seq, 10)
}

// kinesisProducer returns an Op that puts one record (PutRecord) or a batch
// (PutRecords) stamped with the intended time.
func kinesisProducer(env *Env, stream string, runID string, batch int, batched bool, sent *atomic.Int64, perShard *sync.Map) func(context.Context, *OpContext) (Done, error) {
	cfg := env.Config
	seqs := make([]int64, cfg.Concurrency)
	return func(ctx context.Context, oc *OpContext) (Done, error) {
		if !batched {
			seqs[oc.Worker]++
			seq := seqs[oc.Worker]
			data := appendBody(nil, bodyHeader{RunID: runID, Sent: oc.Intended, Producer: oc.Worker, Seq: seq}, cfg.Size.Sample(oc.Rand))
			out, err := env.Kinesis.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(stream), Data: data, PartitionKey: aws.String(partitionKey(oc.Worker, seq))})
			if err != nil {
				return Done{}, err
			}
			sent.Add(1)
			countShard(perShard, aws.ToString(out.ShardId), 1)
			return Done{Messages: 1, Bytes: len(data)}, nil
		}
		entries := make([]types.PutRecordsRequestEntry, batch)
		bytes := 0
		for i := range entries {
			seqs[oc.Worker]++
			seq := seqs[oc.Worker]
			data := appendBody(nil, bodyHeader{RunID: runID, Sent: oc.Intended, Producer: oc.Worker, Seq: seq}, cfg.Size.Sample(oc.Rand))
			entries[i] = types.PutRecordsRequestEntry{Data: data, PartitionKey: aws.String(partitionKey(oc.Worker, seq))}
			bytes += len(data)
		}
		out, err := env.Kinesis.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
		if err != nil {
			return Done{}, err
		}
		ok := 0
		for _, r := range out.Records {
			if r.ErrorCode != nil {
				oc.Rec.ErrorCode(aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage))
				continue
			}
			ok++
			countShard(perShard, aws.ToString(r.ShardId), 1)
		}
		for range len(entries) - len(out.Records) {
			oc.Rec.ErrorCode("MissingBatchEntry", "bench: PutRecords returned fewer results than records")
		}
		sent.Add(int64(ok))
		return Done{Messages: ok, Bytes: bytes * ok / len(entries)}, nil
	}
}

func countShard(perShard *sync.Map, shardID string, n int64) {
	if perShard == nil {
		return
	}
	counter, _ := perShard.LoadOrStore(shardID, new(atomic.Int64))
	counter.(*atomic.Int64).Add(n)
}

func prepareKinesisPut(batched bool) func(context.Context, *Env) (*Workload, func(context.Context) error, error) {
	return func(ctx context.Context, env *Env) (*Workload, func(context.Context) error, error) {
		runID := newRunID()
		stream, cleanup, err := kinesisSetup(ctx, env, runID)
		if err != nil {
			return nil, cleanup, err
		}
		batch := 1
		if batched {
			batch = batchSize(env.Config, kinesisPutBatchDefault, kinesisPutBatchMax)
		}
		var sent atomic.Int64
		w := &Workload{
			Series: []string{"put"},
			Notes:  []string{fmt.Sprintf("stream %s, %d shards, batch %d", stream.name, len(stream.shardIDs), batch)},
			Op:     kinesisProducer(env, stream.name, runID, batch, batched, &sent, nil),
			Totals: func() Totals { return Totals{Sent: sent.Load()} },
		}
		return w, cleanup, nil
	}
}

// prefillKinesis writes n records with PutRecords and returns how many each
// shard accepted.
func prefillKinesis(ctx context.Context, env *Env, stream, runID string, n int) (map[string]int64, int64, error) {
	ctx, cancel := context.WithTimeout(ctx, env.Config.PrefillTimeout)
	defer cancel()
	var perShard sync.Map
	var sent, next atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	workers := min(max(env.Config.Concurrency, 4), 64)
	for worker := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				start := next.Add(kinesisPutBatchMax) - kinesisPutBatchMax
				if start >= int64(n) {
					return
				}
				count := min(int64(kinesisPutBatchMax), int64(n)-start)
				entries := make([]types.PutRecordsRequestEntry, count)
				for i := range entries {
					seq := start + int64(i)
					entries[i] = types.PutRecordsRequestEntry{
						Data:         appendBody(nil, bodyHeader{RunID: runID, Sent: time.Now(), Producer: worker, Seq: seq}, env.Config.Size.Max()),
						PartitionKey: aws.String(partitionKey(worker, seq)),
					}
				}
				out, err := env.Kinesis.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
				if err != nil {
					if ctx.Err() == nil {
						errOnce.Do(func() { firstErr = fmt.Errorf("bench: prefill: %w", err) })
						cancel()
					}
					return
				}
				for _, r := range out.Records {
					if r.ErrorCode == nil {
						sent.Add(1)
						countShard(&perShard, aws.ToString(r.ShardId), 1)
					}
				}
			}
		}()
	}
	wg.Wait()
	counts := map[string]int64{}
	perShard.Range(func(k, v any) bool {
		counts[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return counts, sent.Load(), firstErr
}

// shardReader is one reader's position in a shard.
type shardReader struct {
	shardID  string
	iterator *string
	read     int64 // records read in the current pass
	passes   int64
}

func prepareKinesisGet(ctx context.Context, env *Env) (*Workload, func(context.Context) error, error) {
	cfg := env.Config
	runID := newRunID()
	stream, cleanup, err := kinesisSetup(ctx, env, runID)
	if err != nil {
		return nil, cleanup, err
	}
	perShard, prefilled, err := prefillKinesis(ctx, env, stream.name, runID, cfg.Prefill)
	if err != nil {
		return nil, cleanup, err
	}
	limit := batchSize(cfg, kinesisGetLimitDefault, kinesisGetLimitMax)
	readers := make([]*shardReader, cfg.Concurrency)
	for i := range readers {
		readers[i] = &shardReader{shardID: stream.shardIDs[i%len(stream.shardIDs)]}
	}
	var received, passes atomic.Int64
	w := &Workload{
		Series: []string{"get_records", "get_shard_iterator"},
		Notes: []string{
			fmt.Sprintf("stream %s, %d shards, %d readers, limit %d", stream.name, len(stream.shardIDs), len(readers), limit),
			fmt.Sprintf("prefilled %d records", prefilled),
		},
		Totals: func() Totals { return Totals{Sent: prefilled, Received: received.Load()} },
	}
	w.Op = func(ctx context.Context, oc *OpContext) (Done, error) {
		r := readers[oc.Worker]
		if r.iterator == nil {
			start := time.Now()
			out, err := env.Kinesis.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
				StreamName: aws.String(stream.name), ShardId: aws.String(r.shardID), ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
			})
			if err != nil {
				return Done{}, err
			}
			oc.Rec.Latency(1, time.Since(start))
			r.iterator, r.read = out.ShardIterator, 0
		}
		out, err := env.Kinesis.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: r.iterator, Limit: aws.Int32(int32(limit))})
		if err != nil {
			r.iterator = nil
			return Done{}, err
		}
		bytes := 0
		for _, rec := range out.Records {
			bytes += len(rec.Data)
		}
		r.read += int64(len(out.Records))
		received.Add(int64(len(out.Records)))
		r.iterator = out.NextShardIterator
		atTip := len(out.Records) == 0 && aws.ToInt64(out.MillisBehindLatest) == 0
		if r.iterator == nil || atTip || (cfg.Stream == "" && r.read >= perShard[r.shardID]) {
			// End of this pass: start over from TRIM_HORIZON.
			r.iterator = nil
			r.passes++
			passes.Add(1)
		}
		return Done{Messages: len(out.Records), Bytes: bytes}, nil
	}
	return w, cleanup, nil
}

func prepareKinesisE2E(ctx context.Context, env *Env) (*Workload, func(context.Context) error, error) {
	cfg := env.Config
	runID := newRunID()
	stream, cleanup, err := kinesisSetup(ctx, env, runID)
	if err != nil {
		return nil, cleanup, err
	}
	// Readers start at TRIM_HORIZON of a fresh stream, or at LATEST of an
	// existing one, taken now, before any producer runs.
	iteratorType := types.ShardIteratorTypeTrimHorizon
	if cfg.Stream != "" {
		iteratorType = types.ShardIteratorTypeLatest
	}
	iterators := make([]*string, len(stream.shardIDs))
	for i, shardID := range stream.shardIDs {
		out, err := env.Kinesis.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream.name), ShardId: aws.String(shardID), ShardIteratorType: iteratorType})
		if err != nil {
			return nil, cleanup, fmt.Errorf("bench: GetShardIterator %s: %w", shardID, err)
		}
		iterators[i] = out.ShardIterator
	}
	batch := batchSize(cfg, 1, kinesisPutBatchMax)
	var tracker deliveryTracker
	w := &Workload{
		Series:    []string{"e2e", "put", "get_records"},
		OpSeries:  1,
		Consumers: len(stream.shardIDs),
		Notes:     []string{fmt.Sprintf("stream %s, %d shards (one reader each), batch %d", stream.name, len(stream.shardIDs), batch)},
		Op:        kinesisProducer(env, stream.name, runID, batch, batch > 1, &tracker.sent, nil),
		Totals:    tracker.totals,
		WaitDrained: func(ctx context.Context) error {
			return tracker.waitDrained(ctx, 20*cfg.PollInterval+time.Second)
		},
	}
	w.Consume = func(ctx context.Context, id int, rec *WorkerRecorder) error {
		iterator := iterators[id]
		idle := time.NewTimer(0)
		defer idle.Stop()
		for ctx.Err() == nil && !rec.Stopped() && iterator != nil {
			start := time.Now()
			out, err := env.Kinesis.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iterator, Limit: aws.Int32(kinesisGetLimitMax)})
			if err != nil {
				if ctx.Err() != nil {
					return nil // the run is over; the aborted poll is not an error
				}
				// Counted, then retried with the same iterator after a
				// pause: one failed poll must not end the run.
				rec.Error(err)
				idle.Reset(cfg.PollInterval)
				select {
				case <-ctx.Done():
				case <-idle.C:
				}
				continue
			}
			now := time.Now()
			rec.Latency(2, now.Sub(start))
			iterator = out.NextShardIterator
			own := 0
			for _, r := range out.Records {
				h, ok := parseBody(r.Data)
				if !ok || h.RunID != runID {
					tracker.foreign.Add(1)
					continue
				}
				own++
				rec.Latency(0, now.Sub(h.Sent))
			}
			if own > 0 {
				rec.Received(own)
				tracker.received.Add(int64(own))
				tracker.lastDelivery.Store(now.UnixNano())
			}
			if len(out.Records) == 0 {
				idle.Reset(cfg.PollInterval)
				select {
				case <-ctx.Done():
				case <-idle.C:
				}
			}
		}
		return nil
	}
	return w, cleanup, nil
}
