package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
)

// kinesis-efo-e2e: enhanced fan-out. Producers put exactly as in
// kinesis-e2e (PutRecord, or PutRecords with --batch; open loop with
// --rate), stamping each record with its intended send time; a registered
// stream consumer holds one SubscribeToShard event stream per shard, and
// the e2e latency of a record is the time its event was taken off the
// stream minus that intended send time.
//
// Subscriptions open during prepare, before any producer runs, so the
// measured interval starts with every shard pushing. A subscription ends
// after five minutes (AWS; Sluice the same) or on an error; the shard's
// consumer then subscribes again AFTER_SEQUENCE_NUMBER the last
// ContinuationSequenceNumber it saw, so nothing is lost or repeated across
// subscriptions, honouring AWS's one SubscribeToShard per second per
// consumer and shard and the five seconds AWS wants between successful
// calls (a quicker one gets ResourceInUseException).
//
// Servers without enhanced fan-out fail prepare with ErrUnsupported
// (kinesalite has no consumers at all, moto registers consumers but has no
// SubscribeToShard, the no-op server neither).

// Enhanced fan-out limits and timings the scenario respects.
const (
	// efoSubscribeIntervalMin is the least time between two
	// SubscribeToShard calls of one consumer on one shard (AWS: one call
	// per second, or LimitExceededException).
	efoSubscribeIntervalMin = time.Second
	// efoSubscribeReuseWindow is the least time between two successful
	// SubscribeToShard calls of one consumer on one shard (AWS:
	// ResourceInUseException within five seconds). A subscription that
	// ran its five minutes is long past it; one that failed early waits.
	efoSubscribeReuseWindow = 5 * time.Second
	// efoStopPoll is how often a consumer waiting on its event stream
	// checks whether the run is over (the runner offers no channel for it).
	efoStopPoll = 20 * time.Millisecond
	// efoStartSlack moves the AT_TIMESTAMP fallback position of an
	// existing stream back, so client-server clock skew cannot skip a
	// record of this run (older records are filtered out by run id).
	efoStartSlack = time.Minute
)

// ErrUnsupported reports an endpoint that does not implement an operation
// a scenario needs (SubscribeToShard on kinesalite or moto).
var ErrUnsupported = errors.New("bench: operation not implemented by the endpoint")

// efoOperations are the operations kinesis-efo-e2e needs beyond the
// Kinesis basics; the matrix does not run it on peers that lack one.
var efoOperations = []string{"RegisterStreamConsumer", "DescribeStreamConsumer", "SubscribeToShard"}

// efoShard is one shard's subscription state, owned by its consumer
// goroutine after prepare.
type efoShard struct {
	shardID string
	// stream is the open subscription (nil between subscriptions).
	stream *kinesis.SubscribeToShardEventStream
	// continuation is the last ContinuationSequenceNumber seen; empty
	// until the first event.
	continuation string
	// lastCall and lastSuccess are when the last SubscribeToShard call,
	// and the last successful one, were made.
	lastCall, lastSuccess time.Time
}

// nextCall is the earliest time AWS admits the shard's next
// SubscribeToShard.
func (shard *efoShard) nextCall() time.Time {
	next := shard.lastCall.Add(efoSubscribeIntervalMin)
	if reuse := shard.lastSuccess.Add(efoSubscribeReuseWindow); reuse.After(next) {
		next = reuse
	}
	return next
}

// efoRun is what prepareKinesisEFO hands the consumers.
type efoRun struct {
	env         *Env
	runID       string
	consumerARN string
	// initial is where a shard's first subscription starts, and where a
	// resubscription starts when no event has arrived yet.
	initial types.StartingPosition
	shards  []*efoShard
	tracker deliveryTracker
}

func prepareKinesisEFO(ctx context.Context, env *Env) (*Workload, func(context.Context) error, error) {
	cfg := env.Config
	prepareStart := time.Now()
	runID := newRunID()
	stream, cleanup, err := kinesisSetup(ctx, env, runID)
	if err != nil {
		return nil, cleanup, err
	}
	r := &efoRun{env: env, runID: runID, initial: types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon}}
	if cfg.Stream != "" {
		// An existing stream: start at LATEST, taken now, before any
		// producer runs; a resubscription before the first event falls
		// back to a timestamp just before prepare.
		r.initial = types.StartingPosition{Type: types.ShardIteratorTypeLatest}
	}
	consumerARN, deregister, err := registerEFOConsumer(ctx, env, stream.name, "sluice-bench-"+runID)
	cleanup = chainCleanup(cleanup, deregister)
	if err != nil {
		return nil, cleanup, err
	}
	r.consumerARN = consumerARN
	for _, shardID := range stream.shardIDs {
		shard := &efoShard{shardID: shardID}
		r.shards = append(r.shards, shard)
		if _, err := r.subscribe(ctx, shard, r.initial); err != nil {
			return nil, chainCleanup(cleanup, r.closeAll), err
		}
	}
	if cfg.Stream != "" {
		r.initial = types.StartingPosition{Type: types.ShardIteratorTypeAtTimestamp, Timestamp: aws.Time(prepareStart.Add(-efoStartSlack))}
	}
	batch := batchSize(cfg, 1, kinesisPutBatchMax)
	w := &Workload{
		Series:    []string{"e2e", "put", "subscribe"},
		OpSeries:  1,
		Consumers: len(r.shards),
		Notes: []string{fmt.Sprintf("stream %s, %d shards, consumer %s with one SubscribeToShard event stream per shard, batch %d",
			stream.name, len(stream.shardIDs), "sluice-bench-"+runID, batch)},
		Op:      kinesisProducer(env, stream.name, runID, batch, batch > 1, &r.tracker.sent, nil),
		Totals:  r.tracker.totals,
		Consume: r.consume,
		WaitDrained: func(ctx context.Context) error {
			// Sluice pushes within milliseconds; a quiet second means the
			// rest is not coming.
			return r.tracker.waitDrained(ctx, 20*cfg.PollInterval+time.Second)
		},
	}
	// Consumers close their streams as they return; streams still open
	// (a run that failed before its consumers started) close here.
	return w, chainCleanup(cleanup, r.closeAll), nil
}

// chainCleanup runs first (the later-acquired resource) and then next;
// either may be nil.
func chainCleanup(next, first func(context.Context) error) func(context.Context) error {
	if first == nil {
		return next
	}
	if next == nil {
		return first
	}
	return func(ctx context.Context) error {
		return errors.Join(first(ctx), next(ctx))
	}
}

// registerEFOConsumer registers a stream consumer and waits until it is
// ACTIVE. The returned cleanup deregisters it (also when err is not nil).
func registerEFOConsumer(ctx context.Context, env *Env, stream, name string) (string, func(context.Context) error, error) {
	client := env.Kinesis
	summary, err := client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
	if err != nil {
		return "", nil, fmt.Errorf("bench: DescribeStreamSummary %s: %w", stream, err)
	}
	streamARN := summary.StreamDescriptionSummary.StreamARN
	if aws.ToString(streamARN) == "" {
		return "", nil, fmt.Errorf("bench: DescribeStreamSummary %s returned no StreamARN", stream)
	}
	out, err := client.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: streamARN, ConsumerName: aws.String(name)})
	if err != nil {
		return "", nil, unsupported("RegisterStreamConsumer", err)
	}
	if out.Consumer == nil || aws.ToString(out.Consumer.ConsumerARN) == "" {
		return "", nil, fmt.Errorf("bench: RegisterStreamConsumer %s returned no ConsumerARN", name)
	}
	arn := aws.ToString(out.Consumer.ConsumerARN)
	deregister := func(ctx context.Context) error {
		_, err := client.DeregisterStreamConsumer(ctx, &kinesis.DeregisterStreamConsumerInput{ConsumerARN: aws.String(arn)})
		if err != nil {
			return fmt.Errorf("bench: DeregisterStreamConsumer %s: %w", name, err)
		}
		return nil
	}
	waitCtx, cancel := context.WithTimeout(ctx, kinesisActiveTimeout)
	defer cancel()
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	for {
		desc, err := client.DescribeStreamConsumer(waitCtx, &kinesis.DescribeStreamConsumerInput{ConsumerARN: aws.String(arn)})
		if err != nil {
			return "", deregister, unsupported("DescribeStreamConsumer", err)
		}
		if d := desc.ConsumerDescription; d != nil && d.ConsumerStatus == types.ConsumerStatusActive {
			return arn, deregister, nil
		}
		select {
		case <-waitCtx.Done():
			return "", deregister, fmt.Errorf("bench: consumer %s not ACTIVE: %w", name, waitCtx.Err())
		case <-ticker.C:
		}
	}
}

// unsupported wraps err from op with ErrUnsupported when the server said
// it does not know the operation, and with context otherwise.
func unsupported(op string, err error) error {
	if isUnknownOperation(err) {
		return fmt.Errorf("%w: %s: %w", ErrUnsupported, op, err)
	}
	return fmt.Errorf("bench: %s: %w", op, err)
}

// isUnknownOperation reports whether err is a server's way of saying it
// does not implement the operation: an unknown-operation error code, or
// an HTTP 404, 405 or 501 without a known AWS code.
func isUnknownOperation(err error) bool {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "UnknownOperationException", "UnknownOperation", "InvalidAction", "NotImplemented", "NotImplementedException", "UnsupportedOperation":
			return true
		}
	}
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) {
		switch respErr.HTTPStatusCode() {
		case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusNotImplemented:
			return true
		}
	}
	return false
}

// subscribe opens shard's next subscription at from and returns how long
// the call took (to the initial response).
func (r *efoRun) subscribe(ctx context.Context, shard *efoShard, from types.StartingPosition) (time.Duration, error) {
	if shard.continuation != "" {
		from = types.StartingPosition{Type: types.ShardIteratorTypeAfterSequenceNumber, SequenceNumber: aws.String(shard.continuation)}
	}
	start := time.Now()
	shard.lastCall = start
	out, err := r.env.Kinesis.SubscribeToShard(ctx, &kinesis.SubscribeToShardInput{
		ConsumerARN: aws.String(r.consumerARN), ShardId: aws.String(shard.shardID), StartingPosition: &from,
	}, r.env.streamingClient)
	took := time.Since(start)
	if err != nil {
		return took, unsupported("SubscribeToShard "+shard.shardID, err)
	}
	shard.lastSuccess = start
	shard.stream = out.GetStream()
	return took, nil
}

// closeAll closes every subscription still open; only when no consumer
// runs (a shard's subscription belongs to its consumer while it does).
func (r *efoRun) closeAll(context.Context) error {
	for _, shard := range r.shards {
		shard.close()
	}
	return nil
}

// close ends the shard's subscription, if one is open.
func (shard *efoShard) close() {
	if shard.stream != nil {
		_ = shard.stream.Close() // ending it on purpose; its error is moot
		shard.stream = nil
	}
}

// consume reads shard id's subscriptions until the run is over,
// resubscribing whenever one ends.
func (r *efoRun) consume(ctx context.Context, id int, rec *WorkerRecorder) error {
	shard := r.shards[id]
	stopPoll := time.NewTicker(efoStopPoll)
	defer stopPoll.Stop()
	pause := time.NewTimer(0)
	defer pause.Stop()
	for ctx.Err() == nil && !rec.Stopped() {
		if shard.stream == nil {
			// Pace the calls as AWS admits them (one per second, five
			// seconds after a successful one).
			if wait := time.Until(shard.nextCall()); wait > 0 {
				pause.Reset(wait)
				select {
				case <-ctx.Done():
					return nil
				case <-pause.C:
				}
			}
			took, err := r.subscribe(ctx, shard, r.initial)
			if err != nil {
				if ctx.Err() == nil {
					rec.Error(err) // counted; the next attempt follows at nextCall
				}
				continue
			}
			rec.Latency(2, took)
		}
		ended, err := r.read(ctx, shard, rec, stopPoll.C)
		if err != nil && ctx.Err() == nil && !rec.Stopped() {
			rec.Error(fmt.Errorf("bench: SubscribeToShard %s event stream: %w", shard.shardID, err))
		}
		if ended {
			return nil // the shard is closed and read to its end
		}
	}
	shard.close()
	return nil
}

// read takes events off shard's open subscription until it ends (nil
// error: lifetime over; ended: the shard itself ended), fails, or the run
// is over. It closes the subscription before returning.
func (r *efoRun) read(ctx context.Context, shard *efoShard, rec *WorkerRecorder, stopPoll <-chan time.Time) (ended bool, err error) {
	stream := shard.stream
	defer func() {
		closeErr := stream.Close()
		if err == nil && !ended && ctx.Err() == nil && !rec.Stopped() {
			err = closeErr
		}
		shard.stream = nil
	}()
	events := stream.Events()
	for {
		select {
		case <-ctx.Done():
			return false, nil
		case <-stopPoll:
			if rec.Stopped() {
				return false, nil
			}
		case event, ok := <-events:
			if !ok {
				return false, stream.Err()
			}
			v, isRecords := event.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent)
			if !isRecords {
				continue // an event type this SDK version does not know
			}
			r.deliver(v.Value.Records, rec)
			if v.Value.ContinuationSequenceNumber == nil {
				return true, nil
			}
			shard.continuation = *v.Value.ContinuationSequenceNumber
		}
	}
}

// deliver records the e2e latency of this run's records in one event.
func (r *efoRun) deliver(records []types.Record, rec *WorkerRecorder) {
	if len(records) == 0 {
		return
	}
	now := time.Now()
	own := 0
	for _, record := range records {
		h, ok := parseBody(record.Data)
		if !ok || h.RunID != r.runID {
			r.tracker.foreign.Add(1)
			continue
		}
		own++
		rec.Latency(0, now.Sub(h.Sent))
	}
	if own > 0 {
		rec.Received(own)
		r.tracker.received.Add(int64(own))
		r.tracker.lastDelivery.Store(now.UnixNano())
	}
}
