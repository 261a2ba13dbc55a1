package kinesis

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/server/awsproto"
)

// fuzzSeeds are request bodies shaped like the SDKs' (JSON); the CBOR
// target gets the same requests CBOR-encoded. testdata/fuzz holds more.
var fuzzSeeds = []struct{ op, body string }{
	{"CreateStream", `{"StreamName":"f","ShardCount":2}`},
	{"CreateStream", `{"StreamName":"od","StreamModeDetails":{"StreamMode":"ON_DEMAND"},"Tags":{"k":"v"}}`},
	{"DescribeStreamSummary", `{"StreamName":"s"}`},
	{"DescribeStream", `{"StreamARN":"arn:aws:kinesis:us-east-1:000000000000:stream/s","Limit":1}`},
	{"PutRecord", `{"StreamName":"s","Data":"aGVsbG8=","PartitionKey":"pk"}`},
	{"PutRecord", `{"StreamName":"s","Data":"","PartitionKey":"pk","ExplicitHashKey":"170141183460469231731687303715884105728","SequenceNumberForOrdering":"1"}`},
	{"PutRecords", `{"StreamName":"s","Records":[{"Data":"AA==","PartitionKey":"a"},{"Data":"AQ==","PartitionKey":"b","ExplicitHashKey":"5"}]}`},
	{"GetShardIterator", `{"StreamName":"s","ShardId":"shardId-000000000000","ShardIteratorType":"TRIM_HORIZON"}`},
	{"GetShardIterator", `{"StreamName":"s","ShardId":"shardId-000000000001","ShardIteratorType":"AT_TIMESTAMP","Timestamp":1.7e9}`},
	{"GetShardIterator", `{"StreamName":"s","ShardId":"shardId-000000000000","ShardIteratorType":"AFTER_SEQUENCE_NUMBER","StartingSequenceNumber":"49680612938902706756617184080926734321507451390757175298"}`},
	{"GetRecords", `{"ShardIterator":"AAAAAAAAAAA=","Limit":10}`},
	{"ListShards", `{"StreamName":"s","ShardFilter":{"Type":"AT_TRIM_HORIZON"}}`},
	{"ListShards", `{"NextToken":"MQ","MaxResults":1}`},
	{"SplitShard", `{"StreamName":"s","ShardToSplit":"shardId-000000000000","NewStartingHashKey":"1000"}`},
	{"MergeShards", `{"StreamName":"s","ShardToMerge":"shardId-000000000000","AdjacentShardToMerge":"shardId-000000000001"}`},
	{"UpdateShardCount", `{"StreamName":"s","TargetShardCount":3,"ScalingType":"UNIFORM_SCALING"}`},
	{"AddTagsToStream", `{"StreamName":"s","Tags":{"a":"b"}}`},
	{"ListTagsForResource", `{"ResourceARN":"arn:aws:kinesis:us-east-1:000000000000:stream/s"}`},
	{"RegisterStreamConsumer", `{"StreamARN":"arn:aws:kinesis:us-east-1:000000000000:stream/s","ConsumerName":"c"}`},
	{"SubscribeToShard", `{"ConsumerARN":"arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:1","ShardId":"shardId-000000000000","StartingPosition":{"Type":"AT_TIMESTAMP","Timestamp":"2024-01-01T00:00:00Z"}}`},
	{"IncreaseStreamRetentionPeriod", `{"StreamName":"s","RetentionPeriodHours":48}`},
	{"ListStreams", `{"Limit":1,"ExclusiveStartStreamName":"a"}`},
	{"DeleteStream", `{"StreamName":"f","EnforceConsumerDeletion":true}`},
}

// fuzzService is a service over a real engine in a temp dir, with stream
// "s" (2 shards, a few records) for the fuzzed requests to act on.
func fuzzService(f *testing.F) *Service {
	db, err := engine.Open(f.TempDir(), &engine.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		if err := db.Close(); err != nil {
			f.Error(err)
		}
	})
	s, err := New(db, Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.Fatal(err)
	}
	ns := engine.Namespace{Account: "000000000000", Region: "us-east-1"}
	if _, err := db.CreateStream(ns, "s", engine.StreamConfig{ShardCount: 2}, nil); err != nil {
		f.Fatal(err)
	}
	st, err := db.Stream(ns, "s")
	if err != nil {
		f.Fatal(err)
	}
	if _, err := st.Put(context.Background(), []engine.PutRecord{{PartitionKey: "a", Data: []byte("x")}, {PartitionKey: "b"}}); err != nil {
		f.Fatal(err)
	}
	return s
}

// checkFuzzedCall runs operation op on body and checks what any input may
// do: no panic; an error must map to an AWS error that is not
// InternalFailure (bad input is the client's fault); a success must be a
// well-formed document in the request's encoding.
func checkFuzzedCall(t *testing.T, s *Service, op string, body []byte, isCBOR bool) {
	fn := s.ops[op]
	if fn == nil {
		return
	}
	c := call{ctx: context.Background(), ns: engine.Namespace{Account: "000000000000", Region: "us-east-1"},
		cbor: isCBOR, body: body, out: encoder{cbor: isCBOR}}
	if err := fn(s, &c); err != nil {
		ae, ok := awsproto.AsError(mapError(err))
		if !ok || ae.Code == awsproto.ErrInternalFailure.Code || ae.Status() >= 500 {
			t.Fatalf("%s %q: internal error %v", op, body, err)
		}
		return
	}
	if c.stream != nil || len(c.out.b) == 0 {
		return // SubscribeToShard (not run) or an empty answer
	}
	if isCBOR {
		if err := cbor.Wellformed(c.out.b); err != nil {
			t.Fatalf("%s %q: malformed CBOR answer %x: %v", op, body, c.out.b, err)
		}
	} else if !json.Valid(c.out.b) {
		t.Fatalf("%s %q: malformed JSON answer %s", op, body, c.out.b)
	}
}

// FuzzOperationJSON feeds arbitrary AWS JSON 1.1 bodies to every
// operation (by name) on a real engine: decoding, validation and the
// engine calls must reject bad input with a client error, never panic or
// answer InternalFailure, and answers must be valid JSON.
func FuzzOperationJSON(f *testing.F) {
	for _, seed := range fuzzSeeds {
		f.Add(seed.op, []byte(seed.body))
	}
	s := fuzzService(f)
	f.Fuzz(func(t *testing.T, op string, body []byte) {
		checkFuzzedCall(t, s, op, body, false)
	})
}

// FuzzOperationCBOR is FuzzOperationJSON for application/x-amz-cbor-1.1
// bodies (the Java SDK and KCL encoding), seeded with the JSON seeds
// re-encoded as CBOR (blobs as byte strings, timestamps as tag 1 + epoch
// milliseconds).
func FuzzOperationCBOR(f *testing.F) {
	for _, seed := range fuzzSeeds {
		body, err := jsonSeedToCBOR(seed.body)
		if err != nil {
			f.Fatalf("seed %s: %v", seed.body, err)
		}
		f.Add(seed.op, body)
	}
	s := fuzzService(f)
	f.Fuzz(func(t *testing.T, op string, body []byte) {
		checkFuzzedCall(t, s, op, body, true)
	})
}

// jsonSeedToCBOR re-encodes a JSON seed as the Java SDK would: members
// named Data become byte strings, Timestamp numbers become tag 1 around
// epoch milliseconds, integers stay integers.
func jsonSeedToCBOR(body string) ([]byte, error) {
	var doc any
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		return nil, err
	}
	return cbor.Marshal(toCBORValue("", doc))
}

func toCBORValue(key string, v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = toCBORValue(k, x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = toCBORValue(key, x)
		}
		return out
	case string:
		if key == "Data" {
			var b []byte
			if err := json.Unmarshal([]byte(`"`+v+`"`), &b); err == nil {
				return b
			}
		}
		return v
	case float64:
		if key == "Timestamp" {
			return cbor.Tag{Number: 1, Content: int64(v * 1000)}
		}
		if v == float64(int64(v)) {
			return int64(v)
		}
		return v
	default:
		return v
	}
}

// FuzzCBORShortText checks optString's CBOR fast path against the decoder
// it stands in for: whatever cborShortText accepts, cbor.Unmarshal into a
// string accepts with the same text, and optString then agrees with
// cbor.Unmarshal on every input (text, error, or null as absent).
func FuzzCBORShortText(f *testing.F) {
	for _, s := range []string{"", "pk", "partition-key-1", string(make([]byte, 24)), string(make([]byte, 300)), "\xff", "é"} {
		b, err := cbor.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x7f, 0x61, 'a', 0xff}) // indefinite-length text
	f.Add([]byte{0x62, 0xc3, 0x28})      // invalid UTF-8
	f.Add([]byte{0x42, 'a', 'b'})        // byte string
	f.Add([]byte{0xf6})                  // null
	f.Fuzz(func(t *testing.T, b []byte) {
		var want string
		wantErr := cbor.Unmarshal(b, &want)
		if s, ok := cborShortText(b); ok && (wantErr != nil || s != want) {
			t.Fatalf("cborShortText(%x) = %q, cbor.Unmarshal = %q, %v", b, s, want, wantErr)
		}
		var o optString
		err := o.UnmarshalCBOR(b)
		null := len(b) == 1 && (b[0] == 0xf6 || b[0] == 0xf7)
		switch {
		case null:
			if err != nil || o.set {
				t.Fatalf("null %x: set %v, %v", b, o.set, err)
			}
		case (err == nil) != (wantErr == nil) || err == nil && (!o.set || o.s != want):
			t.Fatalf("optString(%x) = %q set %v, %v; cbor.Unmarshal = %q, %v", b, o.s, o.set, err, want, wantErr)
		}
	})
}
