package kinesis_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	kinesissvc "github.com/sluice-dev/sluice/server/kinesis"
)

// quietSubscriptions is a config whose subscriptions send nothing after
// the initial response on their own within a test (heartbeat and lifetime
// far away), so each one stays parked until something ends it.
var quietSubscriptions = kinesissvc.Config{SubscriptionHeartbeat: time.Hour, SubscriptionLifetime: 2 * time.Hour}

// subscribeShard calls SubscribeToShard from LATEST, or from sequence
// number seq when given (AT_SEQUENCE_NUMBER). ctx bounds the whole stream.
//
// Each call uses a client of its own: aws-sdk-go-v2 (smithy-go v1.28.9)
// shares one event-stream codec, scratch buffer included, between all
// streams of a client, so a second stream opened while one is being read
// is a data race (aws/smithy-go#714, open).
func subscribeShard(ctx context.Context, e *env, consumerARN, shardID, seq string) (*kinesis.SubscribeToShardEventStream, error) {
	pos := &types.StartingPosition{Type: types.ShardIteratorTypeLatest}
	if seq != "" {
		pos = &types.StartingPosition{Type: types.ShardIteratorTypeAtSequenceNumber, SequenceNumber: aws.String(seq)}
	}
	client := kinesis.New(e.client.Options()) // New installs a fresh protocol codec
	out, err := client.SubscribeToShard(ctx, &kinesis.SubscribeToShardInput{
		ConsumerARN: aws.String(consumerARN), ShardId: aws.String(shardID), StartingPosition: pos})
	if err != nil {
		return nil, err
	}
	return out.GetStream(), nil
}

// streamEnd reads stream until the server ends it and returns the error
// it ended with (nil for a clean end). The stream's context deadline turns
// a subscription that never ends into a test failure instead of a hang.
func streamEnd(t *testing.T, stream *kinesis.SubscribeToShardEventStream) error {
	t.Helper()
	defer stream.Close()
	for ev := range stream.Events() {
		if _, ok := ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent); !ok {
			t.Fatalf("event %T", ev)
		}
	}
	return stream.Err()
}

// wantStreamError fails unless the stream ended with an exception event
// whose Go type is E.
func wantStreamError[E error](t *testing.T, stream *kinesis.SubscribeToShardEventStream) {
	t.Helper()
	err := streamEnd(t, stream)
	var want E
	if !errors.As(err, &want) {
		t.Fatalf("stream ended with %v (%T), want %T", err, err, want)
	}
}

// TestSubscribeToShardAdmission checks, step by step through the SDK and
// with the engine clock moved by hand, the admission rules of the API
// reference: a second call for the same consumer and shard within 5 s of a
// successful one is refused with ResourceInUseException (another shard is
// independent); at 5 s the new call takes over and the old stream ends
// with a ResourceInUseException event; an admitted call that fails still
// counts against one call per second, so a retry within the second gets
// LimitExceededException and one a second later succeeds.
func TestSubscribeToShardAdmission(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	e := newEnv(t, envOptions{clock: clock, config: quietSubscriptions})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	createStream(t, e, "s", 2)
	consumer := registerConsumer(t, e, "s", "c")
	const shard0, shard1 = "shardId-000000000000", "shardId-000000000001"
	foreignSeq := strings.Repeat("1", 56) // well formed, not of this stream

	var open []*kinesis.SubscribeToShardEventStream
	defer func() {
		for _, s := range open {
			s.Close()
		}
	}()
	steps := []struct {
		name    string
		advance time.Duration
		shard   string
		seq     string
		want    string // error code; "" for success
		// takesOver is the index in open of the subscription this call
		// ends with a ResourceInUseException event.
		takesOver int
	}{
		{name: "first", shard: shard0, want: "", takesOver: -1},
		{name: "again at once", shard: shard0, want: "ResourceInUseException", takesOver: -1},
		{name: "other shard", shard: shard1, want: "", takesOver: -1},
		{name: "just under 5 s", advance: 5*time.Second - time.Millisecond, shard: shard0, want: "ResourceInUseException", takesOver: -1},
		{name: "at 5 s takes over", advance: time.Millisecond, shard: shard0, want: "", takesOver: 0},
		{name: "admitted but bad position", advance: 5 * time.Second, shard: shard0, seq: foreignSeq, want: "InvalidArgumentException", takesOver: -1},
		{name: "retry within the second", advance: 999 * time.Millisecond, shard: shard0, want: "LimitExceededException", takesOver: -1},
		{name: "retry a second later", advance: time.Millisecond, shard: shard0, want: "", takesOver: 2},
		{name: "other shard takes over after 5 s", advance: 5 * time.Second, shard: shard1, want: "", takesOver: 1},
	}
	for _, step := range steps {
		clock.Advance(step.advance)
		stream, err := subscribeShard(ctx, e, consumer, step.shard, step.seq)
		if step.want != "" {
			if err == nil {
				t.Fatalf("%s: subscribed, want %s", step.name, step.want)
			}
			wantAPIError(t, err, step.want)
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		open = append(open, stream)
		if step.takesOver >= 0 {
			wantStreamError[*types.ResourceInUseException](t, open[step.takesOver])
		}
	}
	// The subscriptions still current (3 on shard 0, 4 on shard 1) were
	// not ended by anything above: a put reaches both.
	for _, hashKey := range []string{"0", "340282366920938463463374607431768211455"} { // one per shard
		if _, err := e.client.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("k"),
			ExplicitHashKey: aws.String(hashKey), Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	for _, i := range []int{3, 4} {
		ev := <-open[i].Events()
		if v, ok := ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent); !ok || len(v.Value.Records) != 1 {
			t.Fatalf("subscription %d: event %#v (%v)", i, ev, open[i].Err())
		}
	}
}

// TestSubscriptionEndsWithConsumer checks that DeregisterStreamConsumer
// ends an open subscription at once (heartbeats are an hour apart, so only
// the deregistration can end it) with a ResourceNotFoundException event;
// that the old consumer ARN then no longer resolves even after a consumer
// of the same name is registered again; and that the new consumer is not
// held to the old one's 5 s window.
func TestSubscriptionEndsWithConsumer(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	e := newEnv(t, envOptions{clock: clock, config: quietSubscriptions})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	createStream(t, e, "s", 1)
	consumer := registerConsumer(t, e, "s", "c")
	stream, err := subscribeShard(ctx, e, consumer, "shardId-000000000000", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.DeregisterStreamConsumer(ctx, &kinesis.DeregisterStreamConsumerInput{ConsumerARN: aws.String(consumer)}); err != nil {
		t.Fatal(err)
	}
	wantStreamError[*types.ResourceNotFoundException](t, stream)

	clock.Advance(time.Second) // a new registration second: a new ARN
	again := registerConsumer(t, e, "s", "c")
	if again == consumer {
		t.Fatalf("re-registered consumer kept its ARN %s", again)
	}
	_, err = subscribeShard(ctx, e, consumer, "shardId-000000000000", "")
	wantAPIError(t, err, "ResourceNotFoundException")
	_, err = e.client.DescribeStreamConsumer(ctx, &kinesis.DescribeStreamConsumerInput{ConsumerARN: aws.String(consumer)})
	wantAPIError(t, err, "ResourceNotFoundException")
	stream, err = subscribeShard(ctx, e, again, "shardId-000000000000", "")
	if err != nil {
		t.Fatalf("new consumer: %v", err)
	}
	stream.Close()
}

// TestSubscriptionEndsWithStream checks that DeleteStream (with
// EnforceConsumerDeletion, as AWS requires when consumers exist) ends open
// subscriptions on every shard at once with a ResourceNotFoundException
// event instead of leaving them parked until their heartbeat.
func TestSubscriptionEndsWithStream(t *testing.T) {
	e := newEnv(t, envOptions{config: quietSubscriptions})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	createStream(t, e, "s", 2)
	consumer := registerConsumer(t, e, "s", "c")
	var streams []*kinesis.SubscribeToShardEventStream
	for _, shard := range []string{"shardId-000000000000", "shardId-000000000001"} {
		stream, err := subscribeShard(ctx, e, consumer, shard, "")
		if err != nil {
			t.Fatal(err)
		}
		streams = append(streams, stream)
	}
	_, err := e.client.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("s")})
	wantAPIError(t, err, "ResourceInUseException") // consumers exist
	if _, err := e.client.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("s"),
		EnforceConsumerDeletion: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	for _, stream := range streams {
		wantStreamError[*types.ResourceNotFoundException](t, stream)
	}
}
