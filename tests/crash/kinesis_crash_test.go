package crash

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/sluice-dev/sluice/internal/childserver"
)

const (
	kinesisKillRounds = 4
	// kinesisRoundMin and kinesisRoundMax bound how long the load runs
	// before each SIGKILL (drawn from the seed).
	kinesisRoundMin = 500 * time.Millisecond
	kinesisRoundMax = 1500 * time.Millisecond
	kinesisWriters  = 4
	kinesisShards   = 4
	// kinesisBatchMax is the most records one PutRecords carries here;
	// kinesisDataMax bounds one record's data, in bytes.
	kinesisBatchMax = 60
	kinesisDataMax  = 3000
	// kinesisKeysPerWriter is how many partition keys each writer cycles
	// through (ordering is checked per key).
	kinesisKeysPerWriter = 6
	// kinesisSpotChecks is how many acknowledged records per shard are
	// read back through AT_SEQUENCE_NUMBER iterators.
	kinesisSpotChecks = 25
)

// recordID names one record a writer tried to put: writer and counter.
type recordID struct {
	writer  int
	counter int
}

// kinesisRecordData renders a record's data: a header naming the record
// and its size, then bytes derived from (writer, counter), so any record
// read back can be checked byte for byte without keeping what was sent.
func kinesisRecordData(id recordID, size int) []byte {
	header := fmt.Sprintf("w%02d-c%08d-n%05d|", id.writer, id.counter, size)
	data := make([]byte, len(header)+size)
	copy(data, header)
	rng := rand.New(rand.NewPCG(uint64(id.writer), uint64(id.counter)))
	for i := len(header); i < len(data); i++ {
		data[i] = byte(rng.Uint32())
	}
	return data
}

// parseKinesisRecordData recovers the id from data and checks the bytes.
func parseKinesisRecordData(data []byte) (recordID, error) {
	var id recordID
	var size int
	if _, err := fmt.Sscanf(string(data[:min(len(data), 24)]), "w%02d-c%08d-n%05d|", &id.writer, &id.counter, &size); err != nil {
		return id, fmt.Errorf("unparsable header %q: %w", data[:min(len(data), 24)], err)
	}
	if want := kinesisRecordData(id, size); !bytes.Equal(data, want) {
		return id, fmt.Errorf("record %+v: %d bytes differ from the %d sent", id, len(data), len(want))
	}
	return id, nil
}

func kinesisPartitionKey(id recordID) string {
	return fmt.Sprintf("w%d-k%d", id.writer, id.counter%kinesisKeysPerWriter)
}

// kinesisAck is where an acknowledged record landed.
type kinesisAck struct {
	shardID, seq string
}

// kinesisLedger records what the writers sent and what was acknowledged.
type kinesisLedger struct {
	mu    sync.Mutex
	sent  map[recordID]bool
	acked map[recordID]kinesisAck
	// failedRequests counts requests that got no answer (kills).
	failedRequests int
	// killing is set just before each SIGKILL and cleared after the
	// restart: a request that fails while it is clear is a finding.
	killing bool
	// unexpected collects those failures.
	unexpected []string
}

// TestKinesisCrash runs concurrent Kinesis writers (PutRecords batches
// of random sizes and PutRecord calls, through aws-sdk-go-v2 with retries
// off) against a real `sluice serve`, SIGKILLs the server at seeded random
// points several times, restarting it on the same data directory, then
// reads every shard from TRIM_HORIZON. Goal: a process crash loses no
// acknowledged record and corrupts or invents nothing. It asserts: every
// acknowledged record is read back at the shard and sequence number its
// put returned, byte-identical, with its partition key; records of one
// shard come back in strictly increasing sequence order, and each writer's
// records of one partition key in put order; every record read is one a
// writer sent (unacknowledged puts cut by a kill may or may not be there)
// and none is read twice; a sample of acknowledged records is also read
// through AT_SEQUENCE_NUMBER iterators. Both fsync policies: "never" still
// acknowledges after write(2), which a process crash must not undo.
func TestKinesisCrash(t *testing.T) {
	seed := *flagSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun: go test ./tests/crash -run TestKinesisCrash -args -crash.seed=%d)", seed, seed)
	for i, fsync := range []string{"always", "never"} {
		t.Run("fsync-"+fsync, func(t *testing.T) {
			runKinesisCrash(t, fsync, seed+uint64(i))
		})
	}
}

func runKinesisCrash(t *testing.T, fsync string, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x6b696e))
	srv := childserver.Start(t, childserver.Config{Dir: t.TempDir(), Fsync: fsync})
	ctx := context.Background()
	client := newKinesisClient(srv.Endpoint())
	const stream = "crash"
	if _, err := client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(stream), ShardCount: aws.Int32(kinesisShards)}); err != nil {
		t.Fatalf("CreateStream: %v", err)
	}
	ledger := &kinesisLedger{sent: make(map[recordID]bool), acked: make(map[recordID]kinesisAck)}

	for round := range kinesisKillRounds {
		loadCtx, stopLoad := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for w := range kinesisWriters {
			writerRNG := rand.New(rand.NewPCG(seed, uint64(round*kinesisWriters+w)+1))
			wg.Go(func() { kinesisWriter(loadCtx, client, stream, w, round, writerRNG, ledger) })
		}
		d := kinesisRoundMin + time.Duration(rng.Int64N(int64(kinesisRoundMax-kinesisRoundMin)))
		timer := time.NewTimer(d)
		<-timer.C
		ledger.mu.Lock()
		ledger.killing = true
		ledger.mu.Unlock()
		srv.Kill() // while the writers are mid-request
		stopLoad()
		wg.Wait()
		ledger.mu.Lock()
		if len(ledger.unexpected) > 0 {
			t.Fatalf("round %d: puts failed before the kill: %v", round, ledger.unexpected)
		}
		ledger.killing = false
		t.Logf("round %d: killed after %s; %d records sent, %d acknowledged, %d requests cut",
			round, d.Round(time.Millisecond), len(ledger.sent), len(ledger.acked), ledger.failedRequests)
		ledger.mu.Unlock()
		srv.Restart()
	}
	if len(ledger.acked) == 0 {
		t.Fatal("no record was acknowledged: the load never ran")
	}
	client = newKinesisClient(srv.Endpoint()) // the kills cut the old connections
	checkKinesisStream(t, client, stream, ledger, rng)
	srv.Stop()
}

func newKinesisClient(endpoint string) *kinesis.Client {
	return kinesis.New(kinesis.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  aws.AnonymousCredentials{},
		Retryer:      aws.NopRetryer{},
		HTTPClient: &http.Client{
			Timeout:   30 * time.Second,
			Transport: bufferedBodyTransport{http.DefaultTransport.(*http.Transport).Clone()},
		},
	})
}

// kinesisWriter puts records until ctx is done: mostly PutRecords batches,
// every fifth call a single PutRecord. Writer ids are unique per round (a
// round's writers restart their counters at round*1e6).
func kinesisWriter(ctx context.Context, client *kinesis.Client, stream string, writer, round int, rng *rand.Rand, ledger *kinesisLedger) {
	counter := round * 1_000_000
	for ctx.Err() == nil {
		n := 1
		if rng.IntN(5) != 0 {
			n = 1 + rng.IntN(kinesisBatchMax)
		}
		ids := make([]recordID, n)
		entries := make([]types.PutRecordsRequestEntry, n)
		ledger.mu.Lock()
		for i := range ids {
			ids[i] = recordID{writer: writer, counter: counter}
			counter++
			ledger.sent[ids[i]] = true
			entries[i] = types.PutRecordsRequestEntry{
				PartitionKey: aws.String(kinesisPartitionKey(ids[i])),
				Data:         kinesisRecordData(ids[i], rng.IntN(kinesisDataMax)),
			}
		}
		ledger.mu.Unlock()
		acks := make([]*kinesisAck, n)
		if n == 1 {
			out, err := client.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(stream),
				PartitionKey: entries[0].PartitionKey, Data: entries[0].Data})
			if err == nil {
				acks[0] = &kinesisAck{shardID: aws.ToString(out.ShardId), seq: aws.ToString(out.SequenceNumber)}
			}
			if !ledger.record(ids, acks, err) {
				return
			}
			continue
		}
		out, err := client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
		if err == nil {
			for i, r := range out.Records {
				if i < n && r.ErrorCode == nil {
					acks[i] = &kinesisAck{shardID: aws.ToString(r.ShardId), seq: aws.ToString(r.SequenceNumber)}
				}
			}
		}
		if !ledger.record(ids, acks, err) {
			return
		}
	}
}

// record notes a put's outcome; false when the request got no answer (the
// server is down: the writer stops for this round).
func (l *kinesisLedger) record(ids []recordID, acks []*kinesisAck, err error) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.failedRequests++
		if !l.killing {
			l.unexpected = append(l.unexpected, err.Error())
		}
		return false
	}
	for i, a := range acks {
		if a != nil {
			l.acked[ids[i]] = *a
		}
	}
	return true
}

// readRecord is one record read back.
type readRecord struct {
	id      recordID
	shardID string
	seq     string
	key     string
}

// checkKinesisStream reads every shard and checks the ledger against it.
func checkKinesisStream(t *testing.T, client *kinesis.Client, stream string, ledger *kinesisLedger, rng *rand.Rand) {
	ctx := context.Background()
	shards, err := client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatalf("ListShards: %v", err)
	}
	if len(shards.Shards) != kinesisShards {
		t.Fatalf("%d shards after the crashes, want %d", len(shards.Shards), kinesisShards)
	}
	byID := make(map[recordID]readRecord)
	perShard := make(map[string][]readRecord)
	var problems []string
	fail := func(format string, args ...any) {
		if len(problems) < 30 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	for _, sh := range shards.Shards {
		shardID := aws.ToString(sh.ShardId)
		it, err := client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream),
			ShardId: sh.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatalf("GetShardIterator %s: %v", shardID, err)
		}
		iterator := it.ShardIterator
		for iterator != nil {
			out, err := client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iterator, Limit: aws.Int32(10000)})
			if err != nil {
				t.Fatalf("GetRecords %s: %v", shardID, err)
			}
			for _, r := range out.Records {
				id, err := parseKinesisRecordData(r.Data)
				if err != nil {
					fail("shard %s seq %s: %v", shardID, aws.ToString(r.SequenceNumber), err)
					continue
				}
				rec := readRecord{id: id, shardID: shardID, seq: aws.ToString(r.SequenceNumber), key: aws.ToString(r.PartitionKey)}
				if prev, dup := byID[id]; dup {
					fail("record %+v read twice: %s/%s and %s/%s", id, prev.shardID, prev.seq, shardID, rec.seq)
				}
				byID[id] = rec
				perShard[shardID] = append(perShard[shardID], rec)
			}
			if len(out.Records) == 0 {
				break // at the tip of an open shard
			}
			iterator = out.NextShardIterator
		}
	}

	ledger.mu.Lock()
	defer ledger.mu.Unlock()
	lost := 0
	for id, ack := range ledger.acked {
		rec, ok := byID[id]
		switch {
		case !ok:
			lost++
			fail("acknowledged record %+v (%s/%s) lost", id, ack.shardID, ack.seq)
		case rec.shardID != ack.shardID || rec.seq != ack.seq:
			fail("acknowledged record %+v at %s/%s, read at %s/%s", id, ack.shardID, ack.seq, rec.shardID, rec.seq)
		case rec.key != kinesisPartitionKey(id):
			fail("record %+v partition key %q", id, rec.key)
		}
	}
	unacked := 0
	for id := range byID {
		if !ledger.sent[id] {
			fail("record %+v read but never sent", id)
		}
		if _, ok := ledger.acked[id]; !ok {
			unacked++
		}
	}
	for shardID, recs := range perShard {
		lastByKey := make(map[string]int) // writer's partition key -> last counter
		for i, rec := range recs {
			if i > 0 && !seqLess(recs[i-1].seq, rec.seq) {
				fail("shard %s: sequence %s after %s", shardID, rec.seq, recs[i-1].seq)
			}
			if last, ok := lastByKey[rec.key]; ok && rec.id.counter <= last {
				fail("shard %s: key %s: record %d after %d", shardID, rec.key, rec.id.counter, last)
			}
			lastByKey[rec.key] = rec.id.counter
		}
	}
	spotCheckKinesis(t, client, stream, perShard, ledger, rng, fail)
	t.Logf("%d records sent, %d acknowledged, %d read (%d of them unacknowledged puts cut by a kill)",
		len(ledger.sent), len(ledger.acked), len(byID), unacked)
	if len(problems) > 0 {
		t.Fatalf("%d acknowledged records lost; problems (first %d):\n%s", lost, len(problems), joinLines(problems))
	}
}

// spotCheckKinesis reads a random sample of acknowledged records of each
// shard through AT_SEQUENCE_NUMBER iterators.
func spotCheckKinesis(t *testing.T, client *kinesis.Client, stream string, perShard map[string][]readRecord,
	ledger *kinesisLedger, rng *rand.Rand, fail func(string, ...any)) {
	ctx := context.Background()
	shardIDs := make([]string, 0, len(perShard))
	for id := range perShard {
		shardIDs = append(shardIDs, id)
	}
	sort.Strings(shardIDs)
	for _, shardID := range shardIDs {
		recs := perShard[shardID]
		for range min(kinesisSpotChecks, len(recs)) {
			rec := recs[rng.IntN(len(recs))]
			if _, ok := ledger.acked[rec.id]; !ok {
				continue
			}
			it, err := client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream),
				ShardId: aws.String(shardID), ShardIteratorType: types.ShardIteratorTypeAtSequenceNumber,
				StartingSequenceNumber: aws.String(rec.seq)})
			if err != nil {
				t.Fatalf("GetShardIterator AT_SEQUENCE_NUMBER %s: %v", rec.seq, err)
			}
			out, err := client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator, Limit: aws.Int32(1)})
			if err != nil {
				t.Fatalf("GetRecords at %s: %v", rec.seq, err)
			}
			if len(out.Records) != 1 || aws.ToString(out.Records[0].SequenceNumber) != rec.seq {
				fail("AT_SEQUENCE_NUMBER %s/%s did not return record %+v", shardID, rec.seq, rec.id)
				continue
			}
			if id, err := parseKinesisRecordData(out.Records[0].Data); err != nil || id != rec.id {
				fail("AT_SEQUENCE_NUMBER %s/%s: record %+v, want %+v (%v)", shardID, rec.seq, id, rec.id, err)
			}
		}
	}
}

// seqLess compares two decimal sequence numbers (without leading zeros, a
// shorter one is smaller).
func seqLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func joinLines(lines []string) string {
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}
