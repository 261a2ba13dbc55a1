package kinesis_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	kinesissvc "github.com/sluice-dev/sluice/server/kinesis"
)

// registerConsumer registers consumer c on stream s and returns its ARN.
func registerConsumer(t *testing.T, e *env, stream, name string) string {
	t.Helper()
	reg, err := e.client.RegisterStreamConsumer(context.Background(), &kinesis.RegisterStreamConsumerInput{
		StreamARN:    aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/" + stream),
		ConsumerName: aws.String(name),
	})
	if err != nil {
		t.Fatal(err)
	}
	return *reg.Consumer.ConsumerARN
}

func putData(t *testing.T, e *env, stream string, data ...string) {
	t.Helper()
	entries := make([]types.PutRecordsRequestEntry, len(data))
	for i, d := range data {
		entries[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String("k"), Data: []byte(d)}
	}
	out, err := e.client.PutRecords(context.Background(), &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
	if err != nil || *out.FailedRecordCount != 0 {
		t.Fatalf("put records: %v %+v", err, out)
	}
}

// subscribeEvent is the JSON payload of a SubscribeToShardEvent.
type subscribeEvent struct {
	Records []struct {
		SequenceNumber string
		Data           []byte
		PartitionKey   string
	}
	ContinuationSequenceNumber *string
	MillisBehindLatest         int64
	ChildShards                []json.RawMessage
}

// TestSubscribeToShardHTTP2 subscribes over cleartext HTTP/2 with prior
// knowledge (as the Java SDK's Netty client and the KCL do) through the
// server router, and reads the event stream frame by frame while it is
// open: each record put after subscribing arrives in its own event before
// the next put, so events are delivered incrementally, not buffered until
// the response ends. The heartbeat is set far beyond the test's deadline,
// so every event must be driven by a put (Stream.Wait wakes the
// subscription), not by a timer.
func TestSubscribeToShardHTTP2(t *testing.T) {
	e := newEnv(t, envOptions{config: kinesissvc.Config{SubscriptionHeartbeat: time.Hour, SubscriptionLifetime: 2 * time.Hour}})
	createStream(t, e, "s", 1)
	consumer := registerConsumer(t, e, "s", "c")

	transport := &http.Transport{Protocols: new(http.Protocols)}
	transport.Protocols.SetUnencryptedHTTP2(true)
	defer transport.CloseIdleConnections()
	body := `{"ConsumerARN":"` + consumer + `","ShardId":"shardId-000000000000","StartingPosition":{"Type":"LATEST"}}`
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", "http://"+e.addr+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "Kinesis_20131202.SubscribeToShard")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/vnd.amazon.eventstream" ||
		resp.Header.Get("x-amzn-RequestId") == "" {
		t.Fatalf("response %s %d %v", resp.Proto, resp.StatusCode, resp.Header)
	}
	decoder := eventstream.NewDecoder()
	next := func() (string, subscribeEvent) {
		t.Helper()
		msg, err := decoder.Decode(resp.Body, nil)
		if err != nil {
			t.Fatalf("decoding event: %v", err)
		}
		if mt := msg.Headers.Get(":message-type"); mt == nil || mt.String() != "event" {
			t.Fatalf("message type %v: %s", mt, msg.Payload)
		}
		var ev subscribeEvent
		if err := json.Unmarshal(msg.Payload, &ev); err != nil {
			t.Fatalf("payload %q: %v", msg.Payload, err)
		}
		return msg.Headers.Get(":event-type").String(), ev
	}
	if typ, _ := next(); typ != "initial-response" {
		t.Fatalf("first event %s", typ)
	}
	var lastContinuation string
	for _, want := range []string{"h2-one", "h2-two", "h2-three"} {
		putData(t, e, "s", want)
		typ, ev := next()
		if typ != "SubscribeToShardEvent" || ev.ContinuationSequenceNumber == nil || *ev.ContinuationSequenceNumber <= lastContinuation {
			t.Fatalf("event %s %+v after %s", typ, ev, lastContinuation)
		}
		lastContinuation = *ev.ContinuationSequenceNumber
		if len(ev.Records) != 1 || string(ev.Records[0].Data) != want || ev.Records[0].SequenceNumber != lastContinuation {
			t.Fatalf("want %s, got %+v", want, ev)
		}
	}
}

// TestSubscribeToShardEnds checks the two ways a subscription ends by
// itself, through the SDK over HTTP/1.1: at the end of its lifetime (the
// event channel closes without error), and when its shard is split and
// read to the end (the last event names the children and carries no
// continuation sequence number). It also replays from TRIM_HORIZON and
// AT_SEQUENCE_NUMBER. The engine clock moves 5 s before each subscription
// (AWS refuses a call within 5 s of a successful one for the same consumer
// and shard); the lifetime and heartbeats run on the real monotonic clock.
func TestSubscribeToShardEnds(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	e := newEnv(t, envOptions{clock: clock, config: kinesissvc.Config{
		SubscriptionHeartbeat: 20 * time.Millisecond, SubscriptionLifetime: 300 * time.Millisecond}})
	ctx := context.Background()
	createStream(t, e, "s", 1)
	consumer := registerConsumer(t, e, "s", "c")
	putData(t, e, "s", "a", "b", "c")

	subscribe := func(pos types.StartingPosition) *kinesis.SubscribeToShardEventStream {
		t.Helper()
		clock.Advance(5 * time.Second)
		out, err := e.client.SubscribeToShard(ctx, &kinesis.SubscribeToShardInput{ConsumerARN: aws.String(consumer),
			ShardId: aws.String("shardId-000000000000"), StartingPosition: &pos})
		if err != nil {
			t.Fatal(err)
		}
		return out.GetStream()
	}
	// drain reads every event until the server ends the stream.
	drain := func(stream *kinesis.SubscribeToShardEventStream) (data []string, seqs []string, last *types.SubscribeToShardEvent) {
		t.Helper()
		defer stream.Close()
		for ev := range stream.Events() {
			v, ok := ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent)
			if !ok {
				t.Fatalf("event %T", ev)
			}
			for _, r := range v.Value.Records {
				data = append(data, string(r.Data))
				seqs = append(seqs, *r.SequenceNumber)
			}
			last = &v.Value
		}
		if err := stream.Err(); err != nil {
			t.Fatalf("stream error after %d records (last %+v): %v", len(data), last, err)
		}
		return data, seqs, last
	}

	start := time.Now()
	data, seqs, last := drain(subscribe(types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon}))
	if strings.Join(data, ",") != "a,b,c" || last.ContinuationSequenceNumber == nil {
		t.Fatalf("trim horizon: %q %+v", data, last)
	}
	if elapsed := time.Since(start); elapsed < 300*time.Millisecond {
		t.Fatalf("stream ended after %v, before its lifetime", elapsed)
	}
	data, _, _ = drain(subscribe(types.StartingPosition{Type: types.ShardIteratorTypeAtSequenceNumber, SequenceNumber: aws.String(seqs[1])}))
	if strings.Join(data, ",") != "b,c" {
		t.Fatalf("at sequence number: %q", data)
	}

	if _, err := e.client.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("s"),
		ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String("170141183460469231731687303715884105728")}); err != nil {
		t.Fatal(err)
	}
	data, _, last = drain(subscribe(types.StartingPosition{Type: types.ShardIteratorTypeAfterSequenceNumber, SequenceNumber: aws.String(seqs[0])}))
	if strings.Join(data, ",") != "b,c" || last.ContinuationSequenceNumber != nil || len(last.ChildShards) != 2 ||
		*last.ChildShards[0].ShardId != "shardId-000000000001" {
		t.Fatalf("closed shard: %q %+v", data, last)
	}
}

// TestSubscribeToShardCBOR subscribes with a CBOR body (what the Java SDK
// sends): the event payloads are CBOR too and carry the records.
func TestSubscribeToShardCBOR(t *testing.T) {
	e := newEnv(t, envOptions{config: kinesissvc.Config{
		SubscriptionHeartbeat: 20 * time.Millisecond, SubscriptionLifetime: 200 * time.Millisecond}})
	createStream(t, e, "s", 1)
	consumer := registerConsumer(t, e, "s", "c")
	putData(t, e, "s", "cbor-record")
	body := mustCBOR(t, map[string]any{"ConsumerARN": consumer, "ShardId": "shardId-000000000000",
		"StartingPosition": map[string]any{"Type": "TRIM_HORIZON"}})
	status, header, raw := rawCall(t, e, "SubscribeToShard", "application/x-amz-cbor-1.1", body)
	if status != 200 || header.Get("Content-Type") != "application/vnd.amazon.eventstream" {
		t.Fatalf("status %d %v", status, header)
	}
	decoder := eventstream.NewDecoder()
	r := bytes.NewReader(raw)
	var records []string
	for r.Len() > 0 {
		msg, err := decoder.Decode(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ct := msg.Headers.Get(":content-type"); ct == nil || ct.String() != "application/x-amz-cbor-1.1" {
			t.Fatalf("content type %v", ct)
		}
		if msg.Headers.Get(":event-type").String() != "SubscribeToShardEvent" {
			continue
		}
		var ev struct {
			Records []struct{ Data []byte }
		}
		if err := unmarshalCBOR(msg.Payload, &ev); err != nil {
			t.Fatal(err)
		}
		for _, rec := range ev.Records {
			records = append(records, string(rec.Data))
		}
	}
	if strings.Join(records, ",") != "cbor-record" {
		t.Fatalf("records %q", records)
	}
}

// rawCall posts body to operation op with contentType through plain
// net/http (HTTP/1.1) and returns the status, headers and whole body.
func rawCall(t *testing.T, e *env, op, contentType string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", "http://"+e.addr+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "Kinesis_20131202."+op)
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, raw
}

// TestSubscriptionLeavesConnectionUsable is a regression test. Each event
// pushes the connection's write deadline three heartbeats ahead, and
// fasthttp refreshes a keep-alive connection's deadline only once a
// quarter of WriteTimeout has passed since it last set it; so a short
// subscription left an expired deadline behind, and the next response on
// the same connection failed (the client saw an unexpected EOF). Method:
// a subscription with a 1 ms heartbeat on one keep-alive connection, then
// a 50 ms subscription on another connection (so the first deadline
// passes: the server's lifetime timer does the waiting), then a plain
// request on the first connection. The engine clock moves 5 s between the
// subscriptions, which AWS would otherwise refuse.
func TestSubscriptionLeavesConnectionUsable(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	e := newEnv(t, envOptions{clock: clock, config: kinesissvc.Config{
		SubscriptionHeartbeat: time.Millisecond, SubscriptionLifetime: 50 * time.Millisecond}})
	createStream(t, e, "s", 1)
	consumer := registerConsumer(t, e, "s", "c")
	subscribe := `{"ConsumerARN":"` + consumer + `","ShardId":"shardId-000000000000","StartingPosition":{"Type":"LATEST"}}`
	first, second := &http.Client{Transport: &http.Transport{}}, &http.Client{Transport: &http.Transport{}}
	reused := false
	post := func(client *http.Client, op, body string) {
		t.Helper()
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused }}
		req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "POST", "http://"+e.addr+"/", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Amz-Target", "Kinesis_20131202."+op)
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %d %v", op, resp.StatusCode, err)
		}
	}
	post(first, "SubscribeToShard", subscribe)
	clock.Advance(5 * time.Second)
	post(second, "SubscribeToShard", subscribe)
	post(first, "DescribeStreamSummary", `{"StreamName":"s"}`)
	if !reused {
		t.Fatal("the request after the subscription did not reuse its connection")
	}
}

// TestSubscriptionBodyDropped checks a SubscribeToShard whose response body
// is never written (a HEAD request: headers only): it answers 200, and the
// shard takes a new subscription after AWS's 5 s. (That the dropped
// subscription still runs, sees a gone client and frees its slot is
// server.TestStreamDroppedBodyRuns.)
func TestSubscriptionBodyDropped(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	e := newEnv(t, envOptions{clock: clock})
	createStream(t, e, "s", 1)
	consumer := registerConsumer(t, e, "s", "c")
	subscribe := `{"ConsumerARN":"` + consumer + `","ShardId":"shardId-000000000000","StartingPosition":{"Type":"LATEST"}}`
	do := func(method string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, "http://"+e.addr+"/", strings.NewReader(subscribe))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Amz-Target", "Kinesis_20131202.SubscribeToShard")
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		return resp
	}
	head := do("HEAD")
	head.Body.Close()
	if head.StatusCode != 200 {
		t.Fatalf("HEAD SubscribeToShard: %d", head.StatusCode)
	}
	clock.Advance(5 * time.Second) // AWS's wait between two subscriptions
	resp := do("POST")
	defer resp.Body.Close() // ends the subscription
	if resp.StatusCode != 200 {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("SubscribeToShard after a dropped one: %d %s", resp.StatusCode, body)
	}
}
