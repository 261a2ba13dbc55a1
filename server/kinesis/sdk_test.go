package kinesis_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/server"
	kinesissvc "github.com/sluice-dev/sluice/server/kinesis"
)

func TestMain(m *testing.M) {
	// aws-sdk-go-v2 refuses a custom HTTP client while AWS_CA_BUNDLE is set.
	os.Unsetenv("AWS_CA_BUNDLE")
	os.Exit(m.Run())
}

// fakeClock is an engine clock the tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// env is one running server: a real engine in a temp dir, the Kinesis
// service registered with the server router (server.New, which also serves
// h2c on the same port), and an SDK client.
type env struct {
	db     *engine.DB
	clock  *fakeClock
	addr   string
	client *kinesis.Client
}

type envOptions struct {
	clock  *fakeClock
	config kinesissvc.Config
	// dir is the data directory; empty: a fresh temp dir.
	dir string
	// engine is the engine's options (the clock is set from clock).
	engine engine.Options
}

func newEnv(t testing.TB, opts envOptions) *env {
	t.Helper()
	var clock engine.Clock = engine.SystemClock{}
	if opts.clock != nil {
		clock = opts.clock
	}
	dir := opts.dir
	if dir == "" {
		dir = t.TempDir()
	}
	engineOptions := opts.engine
	engineOptions.Clock = clock
	db, err := engine.Open(dir, &engineOptions)
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if opts.config.Logger == nil {
		opts.config.Logger = quiet
	}
	svc, err := kinesissvc.New(db, opts.config)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(db, server.Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Register(svc.ServerService()); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if err := db.Close(); err != nil {
			t.Errorf("close db: %v", err)
		}
	})
	e := &env{db: db, clock: opts.clock, addr: ln.Addr().String()}
	e.client = kinesis.New(kinesis.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://" + e.addr),
		Credentials:  aws.AnonymousCredentials{},
		Retryer:      aws.NopRetryer{},
		HTTPClient:   &http.Client{Transport: bufferedBodyTransport{http.DefaultTransport.(*http.Transport).Clone()}},
	})
	return e
}

// bufferedBodyTransport hands net/http a private in-memory copy of each
// request body. Without it, aws-sdk-go-v2 (smithy-go) and Go's net/http
// race on a fast server: smithy-go closes its request body wrapper as soon
// as the round trip returns, while the transport's write loop may still
// drain the body; the closed wrapper's WriteTo fails, and the transport
// closes the connection under the response being read ("use of closed
// network connection" in the middle of a SubscribeToShard stream). The
// same workaround as tests/crash.
type bufferedBodyTransport struct{ base http.RoundTripper }

func (b bufferedBodyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return b.base.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	closeErr := req.Body.Close()
	if err != nil || closeErr != nil {
		return nil, errors.Join(err, closeErr)
	}
	req = req.Clone(req.Context())
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return b.base.RoundTrip(req)
}

// wantAPIError fails unless err is an AWS API error with code.
func wantAPIError(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want %s, got %v", code, err)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("want %s, got %s: %s", code, ae.ErrorCode(), ae.ErrorMessage())
	}
}

func createStream(t *testing.T, e *env, name string, shards int32) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(shards)}); err != nil {
		t.Fatal(err)
	}
	w := kinesis.NewStreamExistsWaiter(e.client, func(o *kinesis.StreamExistsWaiterOptions) { o.MinDelay = time.Millisecond })
	if err := w.Wait(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(name)}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestStreamLifecycle drives create, describe, list and delete through the
// SDK, including its waiters, and checks shard ids, ARNs and hash ranges.
func TestStreamLifecycle(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	createStream(t, e, "s1", 3)
	createStream(t, e, "s2", 1)
	_, err := e.client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("s1"), ShardCount: aws.Int32(1)})
	wantAPIError(t, err, "ResourceInUseException")

	d, err := e.client.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("s1")})
	if err != nil {
		t.Fatal(err)
	}
	sd := d.StreamDescription
	if *sd.StreamARN != "arn:aws:kinesis:us-east-1:000000000000:stream/s1" || sd.StreamStatus != types.StreamStatusActive ||
		len(sd.Shards) != 3 || *sd.HasMoreShards || *sd.RetentionPeriodHours != 24 {
		t.Fatalf("description %+v", sd)
	}
	if *sd.Shards[0].ShardId != "shardId-000000000000" || *sd.Shards[0].HashKeyRange.StartingHashKey != "0" ||
		*sd.Shards[2].HashKeyRange.EndingHashKey != "340282366920938463463374607431768211455" {
		t.Fatalf("shards %+v", sd.Shards)
	}
	for _, sh := range sd.Shards {
		if len(*sh.SequenceNumberRange.StartingSequenceNumber) != 56 || sh.SequenceNumberRange.EndingSequenceNumber != nil {
			t.Fatalf("sequence range %+v", sh.SequenceNumberRange)
		}
	}
	// Pagination of DescribeStream.
	d, err = e.client.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("s1"), Limit: aws.Int32(2)})
	if err != nil || len(d.StreamDescription.Shards) != 2 || !*d.StreamDescription.HasMoreShards {
		t.Fatalf("limit 2: %v %+v", err, d)
	}
	d, err = e.client.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("s1"), ExclusiveStartShardId: aws.String("shardId-000000000001")})
	if err != nil || len(d.StreamDescription.Shards) != 1 || *d.StreamDescription.Shards[0].ShardId != "shardId-000000000002" {
		t.Fatalf("exclusive start: %v %+v", err, d)
	}
	// By ARN.
	sum, err := e.client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamARN: sd.StreamARN})
	if err != nil || *sum.StreamDescriptionSummary.OpenShardCount != 3 || *sum.StreamDescriptionSummary.StreamName != "s1" {
		t.Fatalf("summary: %v %+v", err, sum)
	}
	// ListStreams with pagination.
	l, err := e.client.ListStreams(ctx, &kinesis.ListStreamsInput{Limit: aws.Int32(1)})
	if err != nil || len(l.StreamNames) != 1 || !*l.HasMoreStreams || l.NextToken == nil || len(l.StreamSummaries) != 1 {
		t.Fatalf("list: %v %+v", err, l)
	}
	l, err = e.client.ListStreams(ctx, &kinesis.ListStreamsInput{NextToken: l.NextToken})
	if err != nil || len(l.StreamNames) != 1 || l.StreamNames[0] != "s2" || *l.HasMoreStreams {
		t.Fatalf("list page 2: %v %+v", err, l)
	}

	if _, err := e.client.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("s1")}); err != nil {
		t.Fatal(err)
	}
	w := kinesis.NewStreamNotExistsWaiter(e.client, func(o *kinesis.StreamNotExistsWaiterOptions) { o.MinDelay = time.Millisecond })
	if err := w.Wait(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("s1")}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("s1")})
	wantAPIError(t, err, "ResourceNotFoundException")
	_, err = e.client.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("bad name!")})
	wantAPIError(t, err, "ValidationException")
	_, err = e.client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{})
	wantAPIError(t, err, "InvalidArgumentException")
}

// TestPutAndGetRecords writes with PutRecord and PutRecords and reads back
// with every iterator type, checking order, contents, sequence numbers and
// the error answers for foreign and malformed sequence numbers.
func TestPutAndGetRecords(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	createStream(t, e, "s", 1)
	first, err := e.client.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("k"), Data: []byte("zero")})
	if err != nil {
		t.Fatal(err)
	}
	if *first.ShardId != "shardId-000000000000" || len(*first.SequenceNumber) != 56 || first.EncryptionType != types.EncryptionTypeNone {
		t.Fatalf("put record %+v", first)
	}
	entries := make([]types.PutRecordsRequestEntry, 500)
	for i := range entries {
		entries[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String("key"), Data: []byte{byte(i), byte(i >> 8)}}
	}
	pr, err := e.client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: entries})
	if err != nil || *pr.FailedRecordCount != 0 || len(pr.Records) != 500 {
		t.Fatalf("put records: %v %+v", err, pr)
	}
	prev := *first.SequenceNumber
	for _, r := range pr.Records {
		if *r.SequenceNumber <= prev {
			t.Fatalf("sequence %s not above %s", *r.SequenceNumber, prev)
		}
		prev = *r.SequenceNumber
	}
	_, err = e.client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: append(entries, entries[0])})
	wantAPIError(t, err, "ValidationException")

	iter := func(typ types.ShardIteratorType, seq *string, ts *time.Time) *string {
		t.Helper()
		out, err := e.client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("s"),
			ShardId: aws.String("shardId-000000000000"), ShardIteratorType: typ, StartingSequenceNumber: seq, Timestamp: ts})
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		return out.ShardIterator
	}
	// TRIM_HORIZON reads everything in order, in pages.
	it := iter(types.ShardIteratorTypeTrimHorizon, nil, nil)
	var got []types.Record
	for len(got) < 501 {
		out, err := e.client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it, Limit: aws.Int32(200)})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Records) == 0 {
			t.Fatalf("empty page after %d records", len(got))
		}
		got = append(got, out.Records...)
		it = out.NextShardIterator
	}
	if string(got[0].Data) != "zero" || *got[0].SequenceNumber != *first.SequenceNumber || *got[0].PartitionKey != "k" ||
		got[0].ApproximateArrivalTimestamp == nil || time.Since(*got[0].ApproximateArrivalTimestamp) > time.Minute {
		t.Fatalf("first record %+v", got[0])
	}
	for i := 1; i < len(got); i++ {
		if got[i].Data[0] != byte(i-1) || *got[i].SequenceNumber != *pr.Records[i-1].SequenceNumber {
			t.Fatalf("record %d: %+v", i, got[i])
		}
	}
	// Caught up: empty page, MillisBehindLatest 0, iterator still given.
	out, err := e.client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it})
	if err != nil || len(out.Records) != 0 || *out.MillisBehindLatest != 0 || out.NextShardIterator == nil {
		t.Fatalf("caught up: %v %+v", err, out)
	}
	// AT/AFTER_SEQUENCE_NUMBER.
	at := iter(types.ShardIteratorTypeAtSequenceNumber, pr.Records[10].SequenceNumber, nil)
	out, err = e.client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: at, Limit: aws.Int32(1)})
	if err != nil || *out.Records[0].SequenceNumber != *pr.Records[10].SequenceNumber {
		t.Fatalf("at: %v %+v", err, out)
	}
	after := iter(types.ShardIteratorTypeAfterSequenceNumber, pr.Records[10].SequenceNumber, nil)
	out, err = e.client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: after, Limit: aws.Int32(1)})
	if err != nil || *out.Records[0].SequenceNumber != *pr.Records[11].SequenceNumber {
		t.Fatalf("after: %v %+v", err, out)
	}
	// LATEST sees only what comes next.
	latest := iter(types.ShardIteratorTypeLatest, nil, nil)
	if _, err := e.client.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("k"), Data: []byte("new")}); err != nil {
		t.Fatal(err)
	}
	out, err = e.client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: latest})
	if err != nil || len(out.Records) != 1 || string(out.Records[0].Data) != "new" {
		t.Fatalf("latest: %v %+v", err, out)
	}
	// AT_TIMESTAMP in the past reads from the start.
	past := time.Now().Add(-time.Hour)
	out, err = e.client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter(types.ShardIteratorTypeAtTimestamp, nil, &past), Limit: aws.Int32(1)})
	if err != nil || string(out.Records[0].Data) != "zero" {
		t.Fatalf("at timestamp: %v %+v", err, out)
	}

	// Sequence numbers of another stream, malformed ones, bad iterators.
	createStream(t, e, "other", 1)
	o, err := e.client.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("other"), PartitionKey: aws.String("k"), Data: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("s"), ShardId: aws.String("shardId-000000000000"),
		ShardIteratorType: types.ShardIteratorTypeAtSequenceNumber, StartingSequenceNumber: aws.String(strings.Repeat("1", 56))})
	wantAPIError(t, err, "InvalidArgumentException")
	if o.SequenceNumber != nil && !strings.HasPrefix(*o.SequenceNumber, (*first.SequenceNumber)[:12]) {
		_, err = e.client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("s"), ShardId: aws.String("shardId-000000000000"),
			ShardIteratorType: types.ShardIteratorTypeAtSequenceNumber, StartingSequenceNumber: o.SequenceNumber})
		wantAPIError(t, err, "InvalidArgumentException")
	}
	_, err = e.client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("s"), ShardId: aws.String("shardId-000000000000"),
		ShardIteratorType: types.ShardIteratorTypeAtSequenceNumber, StartingSequenceNumber: aws.String("12x")})
	wantAPIError(t, err, "ValidationException")
	_, err = e.client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("s"), ShardId: aws.String("shardId-000000000009"),
		ShardIteratorType: types.ShardIteratorTypeLatest})
	wantAPIError(t, err, "ResourceNotFoundException")
	_, err = e.client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String("AAAA" + (*it)[4:])})
	wantAPIError(t, err, "InvalidArgumentException")
}

// TestIteratorExpiry checks, with the engine's clock moved by hand, that an
// iterator works for five minutes and then answers ExpiredIteratorException,
// while the NextShardIterator of a fresh read is valid again.
func TestIteratorExpiry(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	e := newEnv(t, envOptions{clock: clock})
	ctx := context.Background()
	createStream(t, e, "s", 1)
	it, err := e.client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("s"),
		ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(5 * time.Minute)
	out, err := e.client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil {
		t.Fatalf("at 5 min: %v", err)
	}
	clock.Advance(time.Millisecond)
	_, err = e.client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	wantAPIError(t, err, "ExpiredIteratorException")
	if _, err := e.client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: out.NextShardIterator}); err != nil {
		t.Fatalf("next iterator: %v", err)
	}
}

// TestReshardingLineage splits and merges shards and checks the lineage
// in ListShards (with filters and pagination), that reading a closed parent
// to its end yields ChildShards and no NextShardIterator, and
// UpdateShardCount's answer.
func TestReshardingLineage(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	createStream(t, e, "s", 1)
	if _, err := e.client.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("k"), Data: []byte("before")}); err != nil {
		t.Fatal(err)
	}
	it, err := e.client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("s"),
		ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	half := "170141183460469231731687303715884105728"
	if _, err := e.client.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("s"),
		ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String(half)}); err != nil {
		t.Fatal(err)
	}
	ls, err := e.client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("s")})
	if err != nil || len(ls.Shards) != 3 {
		t.Fatalf("list shards: %v %+v", err, ls)
	}
	if ls.Shards[0].SequenceNumberRange.EndingSequenceNumber == nil || *ls.Shards[1].ParentShardId != "shardId-000000000000" ||
		*ls.Shards[2].HashKeyRange.StartingHashKey != half {
		t.Fatalf("lineage %+v", ls.Shards)
	}
	open, err := e.client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("s"),
		ShardFilter: &types.ShardFilter{Type: types.ShardFilterTypeAtLatest}})
	if err != nil || len(open.Shards) != 2 {
		t.Fatalf("AT_LATEST: %v %+v", err, open)
	}
	page, err := e.client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("s"), MaxResults: aws.Int32(2)})
	if err != nil || len(page.Shards) != 2 || page.NextToken == nil {
		t.Fatalf("page 1: %v %+v", err, page)
	}
	_, err = e.client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("s"), NextToken: page.NextToken})
	wantAPIError(t, err, "InvalidArgumentException")
	page, err = e.client.ListShards(ctx, &kinesis.ListShardsInput{NextToken: page.NextToken})
	if err != nil || len(page.Shards) != 1 || *page.Shards[0].ShardId != "shardId-000000000002" || page.NextToken != nil {
		t.Fatalf("page 2: %v %+v", err, page)
	}

	// The parent reads to its end, then reports its children.
	out, err := e.client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil {
		t.Fatal(err)
	}
	for len(out.ChildShards) == 0 {
		if out.NextShardIterator == nil {
			t.Fatal("no next iterator and no children")
		}
		if out, err = e.client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: out.NextShardIterator}); err != nil {
			t.Fatal(err)
		}
	}
	if out.NextShardIterator != nil || len(out.ChildShards) != 2 || out.ChildShards[0].ParentShards[0] != "shardId-000000000000" {
		t.Fatalf("end of parent: %+v", out)
	}

	if _, err := e.client.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String("s"),
		ShardToMerge: aws.String("shardId-000000000001"), AdjacentShardToMerge: aws.String("shardId-000000000002")}); err != nil {
		t.Fatal(err)
	}
	ls, err = e.client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("s"),
		ShardFilter: &types.ShardFilter{Type: types.ShardFilterTypeAtLatest}})
	if err != nil || len(ls.Shards) != 1 || *ls.Shards[0].AdjacentParentShardId != "shardId-000000000002" {
		t.Fatalf("after merge: %v %+v", err, ls)
	}
	up, err := e.client.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: aws.String("s"),
		TargetShardCount: aws.Int32(2), ScalingType: types.ScalingTypeUniformScaling})
	if err != nil || *up.CurrentShardCount != 1 || *up.TargetShardCount != 2 {
		t.Fatalf("update shard count: %v %+v", err, up)
	}
	_, err = e.client.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: aws.String("s"),
		TargetShardCount: aws.Int32(100), ScalingType: types.ScalingTypeUniformScaling})
	if err == nil {
		t.Fatal("scaling ×50 accepted")
	}
}

// TestSubscribeToShard registers a consumer and subscribes with the SDK
// (HTTP/1.1 event stream): records put after subscribing arrive in events
// with a continuation sequence number, and an idle subscription still gets
// heartbeat events.
func TestSubscribeToShard(t *testing.T) {
	e := newEnv(t, envOptions{config: kinesissvc.Config{SubscriptionHeartbeat: 50 * time.Millisecond}})
	ctx := context.Background()
	createStream(t, e, "s", 1)
	arn := aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/s")
	reg, err := e.client.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: arn, ConsumerName: aws.String("c")})
	if err != nil {
		t.Fatal(err)
	}
	desc, err := e.client.DescribeStreamConsumer(ctx, &kinesis.DescribeStreamConsumerInput{ConsumerARN: reg.Consumer.ConsumerARN})
	if err != nil || desc.ConsumerDescription.ConsumerStatus != types.ConsumerStatusActive {
		t.Fatalf("describe consumer: %v %+v", err, desc)
	}
	sub, err := e.client.SubscribeToShard(ctx, &kinesis.SubscribeToShardInput{ConsumerARN: reg.Consumer.ConsumerARN,
		ShardId: aws.String("shardId-000000000000"), StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeLatest}})
	if err != nil {
		t.Fatal(err)
	}
	stream := sub.GetStream()
	defer stream.Close()
	if _, err := e.client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: []types.PutRecordsRequestEntry{
		{PartitionKey: aws.String("a"), Data: []byte("one")}, {PartitionKey: aws.String("b"), Data: []byte("two")}}}); err != nil {
		t.Fatal(err)
	}
	var got []string
	heartbeats := 0
	for ev := range stream.Events() {
		v, ok := ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent)
		if !ok {
			t.Fatalf("event %T", ev)
		}
		if v.Value.ContinuationSequenceNumber == nil || len(*v.Value.ContinuationSequenceNumber) != 56 {
			t.Fatalf("continuation %+v", v.Value)
		}
		for _, r := range v.Value.Records {
			got = append(got, string(r.Data))
		}
		if len(v.Value.Records) == 0 && len(got) == 2 {
			heartbeats++
		}
		if heartbeats == 2 {
			break
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "one,two" {
		t.Fatalf("records %q", got)
	}
	l, err := e.client.ListStreamConsumers(ctx, &kinesis.ListStreamConsumersInput{StreamARN: arn})
	if err != nil || len(l.Consumers) != 1 {
		t.Fatalf("list consumers: %v %+v", err, l)
	}
	if _, err := e.client.DeregisterStreamConsumer(ctx, &kinesis.DeregisterStreamConsumerInput{ConsumerARN: reg.Consumer.ConsumerARN}); err != nil {
		t.Fatal(err)
	}
}

// TestStreamSettingsAndTags covers the metadata operations: retention,
// tags (stream and resource APIs), encryption, monitoring, mode, record
// size, policies and limits.
func TestStreamSettingsAndTags(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	createStream(t, e, "s", 1)
	name := aws.String("s")
	arn := aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/s")
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.client.IncreaseStreamRetentionPeriod(ctx, &kinesis.IncreaseStreamRetentionPeriodInput{StreamName: name, RetentionPeriodHours: aws.Int32(48)}))
	_, err := e.client.DecreaseStreamRetentionPeriod(ctx, &kinesis.DecreaseStreamRetentionPeriodInput{StreamName: name, RetentionPeriodHours: aws.Int32(72)})
	wantAPIError(t, err, "InvalidArgumentException")
	must(e.client.AddTagsToStream(ctx, &kinesis.AddTagsToStreamInput{StreamName: name, Tags: map[string]string{"a": "1", "b": "2"}}))
	must(e.client.TagResource(ctx, &kinesis.TagResourceInput{ResourceARN: arn, Tags: map[string]string{"c": "3"}}))
	must(e.client.RemoveTagsFromStream(ctx, &kinesis.RemoveTagsFromStreamInput{StreamName: name, TagKeys: []string{"a"}}))
	tags, err := e.client.ListTagsForStream(ctx, &kinesis.ListTagsForStreamInput{StreamName: name, Limit: aws.Int32(1)})
	if err != nil || len(tags.Tags) != 1 || *tags.Tags[0].Key != "b" || !*tags.HasMoreTags {
		t.Fatalf("tags: %v %+v", err, tags)
	}
	rt, err := e.client.ListTagsForResource(ctx, &kinesis.ListTagsForResourceInput{ResourceARN: arn})
	if err != nil || len(rt.Tags) != 2 {
		t.Fatalf("resource tags: %v %+v", err, rt)
	}
	must(e.client.StartStreamEncryption(ctx, &kinesis.StartStreamEncryptionInput{StreamName: name, EncryptionType: types.EncryptionTypeKms, KeyId: aws.String("alias/aws/kinesis")}))
	mon, err := e.client.EnableEnhancedMonitoring(ctx, &kinesis.EnableEnhancedMonitoringInput{StreamName: name, ShardLevelMetrics: []types.MetricsName{types.MetricsNameIncomingBytes}})
	if err != nil || len(mon.DesiredShardLevelMetrics) != 1 {
		t.Fatalf("monitoring: %v %+v", err, mon)
	}
	sum, err := e.client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: name})
	if err != nil || *sum.StreamDescriptionSummary.RetentionPeriodHours != 48 || sum.StreamDescriptionSummary.EncryptionType != types.EncryptionTypeKms ||
		len(sum.StreamDescriptionSummary.EnhancedMonitoring[0].ShardLevelMetrics) != 1 {
		t.Fatalf("summary: %v %+v", err, sum)
	}
	must(e.client.StopStreamEncryption(ctx, &kinesis.StopStreamEncryptionInput{StreamName: name, EncryptionType: types.EncryptionTypeKms, KeyId: aws.String("alias/aws/kinesis")}))
	must(e.client.DisableEnhancedMonitoring(ctx, &kinesis.DisableEnhancedMonitoringInput{StreamName: name, ShardLevelMetrics: []types.MetricsName{types.MetricsNameAll}}))
	must(e.client.UpdateStreamMode(ctx, &kinesis.UpdateStreamModeInput{StreamARN: arn, StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}}))
	must(e.client.UpdateMaxRecordSize(ctx, &kinesis.UpdateMaxRecordSizeInput{StreamARN: arn, MaxRecordSizeInKiB: aws.Int32(2048)}))
	must(e.client.UpdateStreamWarmThroughput(ctx, &kinesis.UpdateStreamWarmThroughputInput{StreamARN: arn, WarmThroughputMiBps: aws.Int32(10)}))
	must(e.client.PutResourcePolicy(ctx, &kinesis.PutResourcePolicyInput{ResourceARN: arn, Policy: aws.String(`{"Version":"2012-10-17"}`)}))
	pol, err := e.client.GetResourcePolicy(ctx, &kinesis.GetResourcePolicyInput{ResourceARN: arn})
	if err != nil || *pol.Policy != `{"Version":"2012-10-17"}` {
		t.Fatalf("policy: %v %+v", err, pol)
	}
	must(e.client.DeleteResourcePolicy(ctx, &kinesis.DeleteResourcePolicyInput{ResourceARN: arn}))
	lim, err := e.client.DescribeLimits(ctx, &kinesis.DescribeLimitsInput{})
	if err != nil || *lim.ShardLimit != 20_000 || *lim.OnDemandStreamCount != 1 {
		t.Fatalf("limits: %v %+v", err, lim)
	}
	must(e.client.DescribeAccountSettings(ctx, &kinesis.DescribeAccountSettingsInput{}))
}
