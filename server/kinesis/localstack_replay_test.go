package kinesis_test

// Replays of LocalStack's AWS-validated Kinesis tests
// (localstack/localstack tests/aws/services/kinesis/test_kinesis.py, tests
// marked @markers.aws.validated; recorded answers in
// test_kinesis.snapshot.json). Each test names the LocalStack test it
// replays and checks what the recording (or the validated assertions)
// settles.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/fxamacker/cbor/v2"
)

// wantKeys fails unless m has exactly the keys want.
func wantKeys(t *testing.T, what string, m any, want ...string) {
	t.Helper()
	doc, ok := m.(map[string]any)
	if !ok {
		t.Fatalf("%s: %T is not an object", what, m)
	}
	got := sortedKeys(doc)
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("%s: members %v, AWS answers %v", what, got, want)
	}
}

// TestReplayNextShardIteratorIsNew replays
// test_get_records_next_shard_iterator: on an ON_DEMAND stream, GetRecords
// from a LATEST iterator and again from its NextShardIterator; AWS answers
// a NextShardIterator different from the iterator passed each time, even
// when nothing was read. The engine clock is frozen, so the calls fall in
// one millisecond (they did often on a fast machine).
func TestReplayNextShardIteratorIsNew(t *testing.T) {
	clock := &fakeClock{now: time.Now().Add(-time.Hour).Truncate(time.Second)}
	e := newEnv(t, envOptions{clock: clock})
	ctx := context.Background()
	if _, err := e.client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	desc, err := e.client.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("s")})
	if err != nil {
		t.Fatal(err)
	}
	gi, err := e.client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("s"),
		ShardId: desc.StreamDescription.Shards[0].ShardId, ShardIteratorType: types.ShardIteratorTypeLatest})
	if err != nil {
		t.Fatal(err)
	}
	first := aws.ToString(gi.ShardIterator)
	r1, err := e.client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(first)})
	if err != nil {
		t.Fatal(err)
	}
	second := aws.ToString(r1.NextShardIterator)
	r2, err := e.client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(second)})
	if err != nil {
		t.Fatal(err)
	}
	third := aws.ToString(r2.NextShardIterator)
	if first == second || first == third || second == third {
		t.Fatalf("iterators repeat: %q, %q, %q", first, second, third)
	}
	// Each still reads from the same place.
	for _, it := range []string{first, second, third} {
		if _, err := e.client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(it)}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReplayQuotedShardIterator replays
// test_get_records_shard_iterator_with_surrounding_quotes: AWS reads
// records through a shard iterator wrapped in double quotes (as the AWS CLI
// easily passes it; localstack/localstack#9884, etspaceman/kinesis-mock#689).
// Over JSON (the SDK) and CBOR.
func TestReplayQuotedShardIterator(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	createStream(t, e, "s", 1)
	if _, err := e.client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("s"),
		Records: []types.PutRecordsRequestEntry{{Data: []byte("Hello world"), PartitionKey: aws.String("1")}}}); err != nil {
		t.Fatal(err)
	}
	iterator := func() string {
		gi, err := e.client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("s"),
			ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(gi.ShardIterator)
	}
	out, err := e.client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(`"` + iterator() + `"`)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Records) != 1 || string(out.Records[0].Data) != "Hello world" || out.NextShardIterator == nil {
		t.Fatalf("JSON: %+v", out)
	}
	r := callCBOR(t, e, "GetRecords", map[string]any{"ShardIterator": `"` + iterator() + `"`})
	if r.status != 200 {
		t.Fatalf("CBOR: status %d %v", r.status, r.doc)
	}
	if recs, _ := r.doc["Records"].([]any); len(recs) != 1 {
		t.Fatalf("CBOR: %v", r.doc)
	}
	// Only a matched pair is stripped; anything else is still no iterator.
	for _, bad := range []string{`"`, `""`, `"` + iterator(), iterator() + `"`, `'` + iterator() + `'`} {
		_, err := e.client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(bad)})
		wantAPIError(t, err, "InvalidArgumentException")
	}
}

// TestReplayCreateStreamWithoutShardCount replays
// test_create_stream_without_shard_count: an ON_DEMAND stream of four
// shards, each with exactly ShardId, HashKeyRange and a
// SequenceNumberRange holding only StartingSequenceNumber. And
// test_create_stream_without_stream_name_raises: no StreamName is a 400,
// over JSON and CBOR.
func TestReplayCreateStreamWithoutShardCount(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, call := range []func(*testing.T, *env, string, map[string]any) wireReply{callJSON, callCBOR} {
		if r := call(t, e, "CreateStream", map[string]any{}); r.status != 400 || r.doc["__type"] != "ValidationException" {
			t.Fatalf("CreateStream without name: %d %v", r.status, r.doc)
		}
	}
	if r := callJSON(t, e, "CreateStream", map[string]any{"StreamName": "s"}); r.status != 200 {
		t.Fatalf("CreateStream: %d %v", r.status, r.doc)
	}
	for _, call := range []func(*testing.T, *env, string, map[string]any) wireReply{callJSON, callCBOR} {
		r := call(t, e, "DescribeStream", map[string]any{"StreamName": "s"})
		shards, _ := r.doc["StreamDescription"].(map[string]any)["Shards"].([]any)
		if len(shards) != 4 {
			t.Fatalf("%d shards, AWS creates 4: %v", len(shards), r.doc)
		}
		for i, s := range shards {
			what := fmt.Sprintf("shard %d", i)
			wantKeys(t, what, s, "ShardId", "HashKeyRange", "SequenceNumberRange")
			sh := s.(map[string]any)
			if sh["ShardId"] != fmt.Sprintf("shardId-%012d", i) {
				t.Fatalf("%s: %v", what, sh["ShardId"])
			}
			wantKeys(t, what+" HashKeyRange", sh["HashKeyRange"], "StartingHashKey", "EndingHashKey")
			wantKeys(t, what+" SequenceNumberRange", sh["SequenceNumberRange"], "StartingSequenceNumber")
		}
	}
}

// TestReplayStreamConsumers replays test_stream_consumers: the members of
// a consumer in ListStreamConsumers and DescribeStreamConsumer.
func TestReplayStreamConsumers(t *testing.T) {
	e := newEnv(t, envOptions{})
	createStream(t, e, "s", 1)
	arn := "arn:aws:kinesis:us-east-1:000000000000:stream/s"
	if r := callJSON(t, e, "ListStreamConsumers", map[string]any{"StreamARN": arn}); r.status != 200 || len(r.doc["Consumers"].([]any)) != 0 {
		t.Fatalf("no consumers: %d %v", r.status, r.doc)
	}
	reg := callJSON(t, e, "RegisterStreamConsumer", map[string]any{"StreamARN": arn, "ConsumerName": "consumer"})
	consumerARN, _ := reg.doc["Consumer"].(map[string]any)["ConsumerARN"].(string)
	if !strings.HasPrefix(consumerARN, arn+"/consumer/consumer:") {
		t.Fatalf("consumer ARN %q", consumerARN)
	}
	for _, call := range []func(*testing.T, *env, string, map[string]any) wireReply{callJSON, callCBOR} {
		l := call(t, e, "ListStreamConsumers", map[string]any{"StreamARN": arn})
		consumers, _ := l.doc["Consumers"].([]any)
		if len(consumers) != 1 {
			t.Fatalf("consumers %v", l.doc)
		}
		wantKeys(t, "listed consumer", consumers[0], "ConsumerName", "ConsumerARN", "ConsumerStatus", "ConsumerCreationTimestamp")
		d := call(t, e, "DescribeStreamConsumer", map[string]any{"StreamARN": arn, "ConsumerARN": consumerARN})
		c := d.doc["ConsumerDescription"]
		wantKeys(t, "described consumer", c, "ConsumerName", "ConsumerARN", "ConsumerStatus", "ConsumerCreationTimestamp", "StreamARN")
		if m := c.(map[string]any); m["ConsumerStatus"] != "ACTIVE" || m["StreamARN"] != arn || m["ConsumerName"] != "consumer" {
			t.Fatalf("described consumer %v", m)
		}
	}
	if r := callJSON(t, e, "DeregisterStreamConsumer", map[string]any{"ConsumerARN": consumerARN}); r.status != 200 {
		t.Fatalf("deregister: %d %v", r.status, r.doc)
	}
}

// TestReplayRecordLifecycle replays test_record_lifecycle_data_integrity:
// PutRecord of "", ASCII, 1,000 bytes and multi-byte UTF-8 (the empty blob
// is accepted), then GetRecords from the shard's StartingSequenceNumber.
// AWS's records carry exactly SequenceNumber, ApproximateArrivalTimestamp,
// Data and PartitionKey (no EncryptionType on an unencrypted stream; the
// test skips that path only because LocalStack adds it). Written and read
// over JSON and CBOR.
func TestReplayRecordLifecycle(t *testing.T) {
	e := newEnv(t, envOptions{})
	data := []string{"test", "ünicödé 统一码 💣💻🔥", strings.Repeat("a", 1000), ""}
	for _, enc := range []struct {
		name string
		call func(*testing.T, *env, string, map[string]any) wireReply
	}{{"json", callJSON}, {"cbor", callCBOR}} {
		t.Run(enc.name, func(t *testing.T) {
			name := "s-" + enc.name
			if r := enc.call(t, e, "CreateStream", map[string]any{"StreamName": name, "ShardCount": 1}); r.status != 200 {
				t.Fatalf("CreateStream: %d %v", r.status, r.doc)
			}
			d := enc.call(t, e, "DescribeStream", map[string]any{"StreamName": name})
			shard := d.doc["StreamDescription"].(map[string]any)["Shards"].([]any)[0].(map[string]any)
			start := shard["SequenceNumberRange"].(map[string]any)["StartingSequenceNumber"]
			gi := enc.call(t, e, "GetShardIterator", map[string]any{"StreamName": name, "ShardId": shard["ShardId"],
				"ShardIteratorType": "AT_SEQUENCE_NUMBER", "StartingSequenceNumber": start})
			if gi.status != 200 {
				t.Fatalf("GetShardIterator: %d %v", gi.status, gi.doc)
			}
			for _, s := range data {
				if r := enc.call(t, e, "PutRecord", map[string]any{"StreamName": name, "Data": []byte(s), "PartitionKey": "1"}); r.status != 200 {
					t.Fatalf("PutRecord %q: %d %v", s, r.status, r.doc)
				}
			}
			r := enc.call(t, e, "GetRecords", map[string]any{"ShardIterator": gi.doc["ShardIterator"]})
			recs, _ := r.doc["Records"].([]any)
			if len(recs) != len(data) {
				t.Fatalf("GetRecords: %d %v", r.status, r.doc)
			}
			for i, rec := range recs {
				wantKeys(t, fmt.Sprintf("record %d", i), rec, "SequenceNumber", "ApproximateArrivalTimestamp", "Data", "PartitionKey")
				var got []byte
				switch v := rec.(map[string]any)["Data"].(type) {
				case []byte:
					got = v
				case string:
					var err error
					if got, err = base64.StdEncoding.DecodeString(v); err != nil {
						t.Fatal(err)
					}
				}
				if string(got) != data[i] || rec.(map[string]any)["PartitionKey"] != "1" {
					t.Fatalf("record %d: %q, put %q", i, got, data[i])
				}
			}
		})
	}
}

// TestReplaySubscribe replays test_subscribe_to_shard (TRIM_HORIZON),
// test_subscribe_to_shard_with_sequence_number_as_iterator
// (AT_SEQUENCE_NUMBER of the shard's StartingSequenceNumber) and
// test_subscribe_to_shard_with_at_timestamp (AT_TIMESTAMP 2015-01-01,
// before the stream existed): each subscription, made before the puts,
// delivers the five records put after it, with exactly the members AWS
// recorded (no EncryptionType).
func TestReplaySubscribe(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	for i, typ := range []types.ShardIteratorType{types.ShardIteratorTypeTrimHorizon,
		types.ShardIteratorTypeAtSequenceNumber, types.ShardIteratorTypeAtTimestamp} {
		t.Run(string(typ), func(t *testing.T) {
			name := fmt.Sprintf("s%d", i)
			createStream(t, e, name, 1)
			desc, err := e.client.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(name)})
			if err != nil {
				t.Fatal(err)
			}
			reg, err := e.client.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{
				StreamARN: desc.StreamDescription.StreamARN, ConsumerName: aws.String("c1")})
			if err != nil {
				t.Fatal(err)
			}
			pos := &types.StartingPosition{Type: typ}
			switch typ {
			case types.ShardIteratorTypeAtSequenceNumber:
				pos.SequenceNumber = desc.StreamDescription.Shards[0].SequenceNumberRange.StartingSequenceNumber
			case types.ShardIteratorTypeAtTimestamp:
				pos.Timestamp = aws.Time(time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC))
			}
			// A client per subscription (NOTES.md: smithy-go event stream codec).
			client := kinesis.New(e.client.Options())
			sub, err := client.SubscribeToShard(ctx, &kinesis.SubscribeToShardInput{ConsumerARN: reg.Consumer.ConsumerARN,
				ShardId: desc.StreamDescription.Shards[0].ShardId, StartingPosition: pos})
			if err != nil {
				t.Fatal(err)
			}
			stream := sub.GetStream()
			defer stream.Close()
			for i := range 5 {
				if _, err := e.client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(name), Records: []types.PutRecordsRequestEntry{
					{Data: fmt.Appendf(nil, "Hello world_%d", i), PartitionKey: aws.String("1")}}}); err != nil {
					t.Fatal(err)
				}
			}
			var got []types.Record
			for ev := range stream.Events() {
				v, ok := ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent)
				if !ok {
					t.Fatalf("event %T", ev)
				}
				got = append(got, v.Value.Records...)
				if len(got) >= 5 {
					break
				}
			}
			if len(got) != 5 {
				t.Fatalf("records %d, err %v", len(got), stream.Err())
			}
			for i, r := range got {
				if string(r.Data) != fmt.Sprintf("Hello world_%d", i) || aws.ToString(r.PartitionKey) != "1" ||
					r.SequenceNumber == nil || r.ApproximateArrivalTimestamp == nil || r.EncryptionType != "" {
					t.Fatalf("record %d: %+v", i, r)
				}
			}
			if _, err := e.client.DeregisterStreamConsumer(ctx, &kinesis.DeregisterStreamConsumerInput{
				StreamARN: desc.StreamDescription.StreamARN, ConsumerName: aws.String("c1")}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestReplayCBOR replays the CBOR tests LocalStack validated against AWS
// with its own CBOR client (tag 1 timestamps as integer epoch milliseconds,
// localstack/aws/client.py _patch_cbor2, aws/aws-sdk-java-v2#4661):
//   - test_subscribe_to_shard_with_at_timestamp_cbor: DescribeStream by
//     StreamARN; StreamCreationTimestamp is tag 1 with an integer (never
//     "\xc1\xfb", a float64), in milliseconds within a minute of now;
//     GetShardIterator AT_TIMESTAMP now (tag 1, integer milliseconds) by
//     StreamARN answers a ShardIterator.
//   - test_get_records_empty_stream: an empty CBOR GetRecords has an empty
//     Records array.
//   - test_cbor_blob_handling: a CBOR PutRecord byte string reads back as
//     the same byte string over CBOR.
//   - test_get_records: the JSON and CBOR records agree on Data,
//     PartitionKey, SequenceNumber and (absent) EncryptionType, and the CBOR
//     ApproximateArrivalTimestamp in milliseconds is the JSON one.
func TestReplayCBOR(t *testing.T) {
	e := newEnv(t, envOptions{})
	createStream(t, e, "s", 1)
	arn := "arn:aws:kinesis:us-east-1:000000000000:stream/s"
	before, after := time.Now().Add(-time.Minute), time.Now().Add(time.Minute)

	d := callCBOR(t, e, "DescribeStream", map[string]any{"StreamARN": arn})
	if d.status != 200 {
		t.Fatalf("DescribeStream: %d %v", d.status, d.doc)
	}
	key := []byte("StreamCreationTimestamp")
	i := bytes.Index(d.raw, key)
	if i < 0 || len(d.raw) < i+len(key)+2 || d.raw[i+len(key)] != 0xc1 || d.raw[i+len(key)+1]>>5 != 0 {
		t.Fatalf("StreamCreationTimestamp is not tag 1 + unsigned integer: %x", d.raw)
	}
	var created struct {
		StreamDescription struct {
			StreamCreationTimestamp cbor.RawTag
		}
	}
	if err := unmarshalCBOR(d.raw, &created); err != nil {
		t.Fatal(err)
	}
	var millis int64
	if err := cbor.Unmarshal(created.StreamDescription.StreamCreationTimestamp.Content, &millis); err != nil {
		t.Fatal(err)
	}
	if ts := time.UnixMilli(millis); ts.Before(before) || ts.After(after) {
		t.Fatalf("StreamCreationTimestamp %d ms is %v", millis, ts)
	}

	gi := callCBOR(t, e, "GetShardIterator", map[string]any{"StreamARN": arn, "ShardId": "shardId-000000000000",
		"ShardIteratorType": "AT_TIMESTAMP", "Timestamp": cbor.Tag{Number: 1, Content: time.Now().UnixMilli()}})
	if gi.status != 200 || gi.doc["ShardIterator"] == nil {
		t.Fatalf("GetShardIterator AT_TIMESTAMP: %d %v", gi.status, gi.doc)
	}

	th := callCBOR(t, e, "GetShardIterator", map[string]any{"StreamName": "s", "ShardId": "shardId-000000000000", "ShardIteratorType": "TRIM_HORIZON"})
	empty := callCBOR(t, e, "GetRecords", map[string]any{"ShardIterator": th.doc["ShardIterator"]})
	if recs, ok := empty.doc["Records"].([]any); empty.status != 200 || !ok || len(recs) != 0 {
		t.Fatalf("empty GetRecords: %d %v", empty.status, empty.doc)
	}

	if r := callCBOR(t, e, "PutRecord", map[string]any{"StreamName": "s", "PartitionKey": "key-1", "Data": []byte("hello world 1")}); r.status != 200 {
		t.Fatalf("PutRecord: %d %v", r.status, r.doc)
	}
	c := callCBOR(t, e, "GetRecords", map[string]any{"ShardIterator": th.doc["ShardIterator"]})
	j := callJSON(t, e, "GetRecords", map[string]any{"ShardIterator": th.doc["ShardIterator"]})
	crecs, _ := c.doc["Records"].([]any)
	jrecs, _ := j.doc["Records"].([]any)
	if len(crecs) != 1 || len(jrecs) != 1 {
		t.Fatalf("GetRecords: CBOR %v, JSON %v", c.doc, j.doc)
	}
	cr, jr := crecs[0].(map[string]any), jrecs[0].(map[string]any)
	if data, _ := cr["Data"].([]byte); string(data) != "hello world 1" || jr["Data"] != base64.StdEncoding.EncodeToString(data) {
		t.Fatalf("Data: CBOR %#v, JSON %#v", cr["Data"], jr["Data"])
	}
	if cr["PartitionKey"] != "key-1" || jr["PartitionKey"] != "key-1" || cr["SequenceNumber"] != jr["SequenceNumber"] {
		t.Fatalf("records differ: CBOR %v, JSON %v", cr, jr)
	}
	if _, ok := cr["EncryptionType"]; ok {
		t.Fatalf("CBOR record has EncryptionType: %v", cr)
	}
	if _, ok := jr["EncryptionType"]; ok {
		t.Fatalf("JSON record has EncryptionType: %v", jr)
	}
	var arrival struct {
		Records []struct{ ApproximateArrivalTimestamp cbor.RawTag }
	}
	if err := unmarshalCBOR(c.raw, &arrival); err != nil || len(arrival.Records) != 1 || arrival.Records[0].ApproximateArrivalTimestamp.Number != 1 {
		t.Fatalf("CBOR ApproximateArrivalTimestamp: %v %x", err, c.raw)
	}
	var cms int64
	if err := cbor.Unmarshal(arrival.Records[0].ApproximateArrivalTimestamp.Content, &cms); err != nil {
		t.Fatalf("CBOR ApproximateArrivalTimestamp not an integer: %v", err)
	}
	if js := string(jr["ApproximateArrivalTimestamp"].(json.Number)); js != fmt.Sprintf("%d.%03d", cms/1000, cms%1000) {
		t.Fatalf("ApproximateArrivalTimestamp: JSON %s, CBOR %d ms", js, cms)
	}
}
