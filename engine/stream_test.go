package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand"
	randv2 "math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// streamTestClock is a settable clock for stream tests: time moves only
// when the test advances it.
type streamTestClock struct {
	mu  sync.Mutex
	now time.Time
}

func newStreamTestClock() *streamTestClock { return &streamTestClock{now: streamTestEpoch} }

func (c *streamTestClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *streamTestClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

var streamTestNS = Namespace{Account: "000000000000", Region: "us-east-1"}

// openStreamDB opens a DB on fs with clock and segment size (0 = default).
func openStreamDB(t testing.TB, fs vfs.FS, clock Clock, segmentSize int64) *DB {
	t.Helper()
	db, err := Open("data", &Options{FS: fs, Clock: clock, SegmentSizeBytes: segmentSize})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return db
}

func createTestStream(t testing.TB, db *DB, name string, cfg StreamConfig) *Stream {
	t.Helper()
	if _, err := db.CreateStream(streamTestNS, name, cfg, nil); err != nil {
		t.Fatalf("CreateStream: %v", err)
	}
	s, err := db.Stream(streamTestNS, name)
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	return s
}

// streamStored is a record as the test remembers it.
type streamStored struct {
	key  string
	data []byte
}

// putStreamAll puts recs in one call and fails the test on any error.
func putStreamAll(t testing.TB, s *Stream, recs []PutRecord) []PutResult {
	t.Helper()
	res, err := s.Put(context.Background(), recs)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("Put record %d: %v", i, r.Err)
		}
	}
	return res
}

// readShardAll reads shard from seq 0 to the end, copying records.
func readShardAll(t testing.TB, s *Stream, shard int) []StreamRecord {
	t.Helper()
	var out []StreamRecord
	from := uint64(0)
	for {
		next, err := s.Read(shard, from, 100, 0, func(r *StreamRecord) error {
			c := *r
			c.PartitionKey = strings.Clone(r.PartitionKey)
			c.Data = bytes.Clone(r.Data)
			out = append(out, c)
			return nil
		})
		if err != nil {
			t.Fatalf("Read shard %d from %d: %v", shard, from, err)
		}
		if next == from {
			return out
		}
		from = next
	}
}

// shardForKey returns the open shard of info holding hash key k.
func shardForKey(t testing.TB, info StreamInfo, k Uint128) int {
	t.Helper()
	for _, sh := range info.Shards {
		if sh.Open() && (hashRange{sh.HashStart, sh.HashEnd}).contains(k) {
			return sh.Index
		}
	}
	t.Fatalf("no open shard holds %s", k)
	return -1
}

// TestStreamPutReadOrder checks routing (each record lands in the open
// shard whose range holds MD5(partition key)), dense per-shard sequence
// numbers in put order, and byte-identical reads.
func TestStreamPutReadOrder(t *testing.T) {
	db := openStreamDB(t, vfs.NewMem(), newStreamTestClock(), 0)
	defer db.Close()
	s := createTestStream(t, db, "orders", StreamConfig{ShardCount: 4})
	info := s.Info()
	want := map[int][]streamStored{}
	for batch := range 5 {
		recs := make([]PutRecord, 200)
		for i := range recs {
			key := fmt.Sprintf("key-%d-%d", batch, i%37)
			recs[i] = PutRecord{PartitionKey: key, Data: []byte(fmt.Sprintf("payload %d/%d", batch, i))}
		}
		res := putStreamAll(t, s, recs)
		for i, r := range res {
			if wantShard := shardForKey(t, info, HashPartitionKey(recs[i].PartitionKey)); r.Shard != wantShard {
				t.Fatalf("record %d routed to shard %d, want %d", i, r.Shard, wantShard)
			}
			if got := uint64(len(want[r.Shard]) + 1); r.Seq != got {
				t.Fatalf("record %d: seq %d, want %d (dense, in order)", i, r.Seq, got)
			}
			want[r.Shard] = append(want[r.Shard], streamStored{recs[i].PartitionKey, recs[i].Data})
		}
	}
	if len(want) != 4 {
		t.Fatalf("records landed on %d shards, want all 4", len(want))
	}
	for shard, recs := range want {
		got := readShardAll(t, s, shard)
		if len(got) != len(recs) {
			t.Fatalf("shard %d: read %d records, want %d", shard, len(got), len(recs))
		}
		for i := range got {
			if got[i].Seq != uint64(i+1) || got[i].PartitionKey != recs[i].key || !bytes.Equal(got[i].Data, recs[i].data) {
				t.Fatalf("shard %d record %d: %+v, want %+v", shard, i, got[i], recs[i])
			}
		}
	}
}

// TestStreamExplicitHashKey checks routing by ExplicitHashKey at the
// keyspace boundaries (0 and 2^128-1) and at a shard boundary, and that
// the flag is read back.
func TestStreamExplicitHashKey(t *testing.T) {
	db := openStreamDB(t, vfs.NewMem(), newStreamTestClock(), 0)
	defer db.Close()
	s := createTestStream(t, db, "explicit", StreamConfig{ShardCount: 3})
	second := evenSplitStart(1, 3)
	tests := []struct {
		key  Uint128
		want int
	}{
		{Uint128{}, 0}, {second.sub1(), 0}, {second, 1}, {MaxUint128, 2},
	}
	for _, tt := range tests {
		k := tt.key
		res := putStreamAll(t, s, []PutRecord{{PartitionKey: "same", ExplicitHashKey: &k, Data: []byte("x")}})
		if res[0].Shard != tt.want {
			t.Fatalf("hash key %s routed to shard %d, want %d", k, res[0].Shard, tt.want)
		}
	}
	for _, r := range readShardAll(t, s, 2) {
		if !r.ExplicitHashKey || r.PartitionKey != "same" {
			t.Fatalf("read %+v, want explicit hash key flag and key", r)
		}
	}
}

// TestStreamPutValidation checks the record size limit (data + partition
// key <= MaxRecordSizeKiB, adjustable), and partition key bounds.
func TestStreamPutValidation(t *testing.T) {
	db := openStreamDB(t, vfs.NewMem(), newStreamTestClock(), 0)
	defer db.Close()
	s := createTestStream(t, db, "sizes", StreamConfig{ShardCount: 1})
	ctx := context.Background()
	exact := make([]byte, 1<<20-1)
	if _, err := s.Put(ctx, []PutRecord{{PartitionKey: "k", Data: exact}}); err != nil {
		t.Fatalf("1 MiB record: %v", err)
	}
	over := make([]byte, 1<<20)
	if _, err := s.Put(ctx, []PutRecord{{PartitionKey: "k", Data: over}}); !isValidationError(err) {
		t.Fatalf("1 MiB + 1 record: %v, want ValidationError", err)
	}
	if err := s.SetMaxRecordSize(2048); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, []PutRecord{{PartitionKey: "k", Data: over}}); err != nil {
		t.Fatalf("after SetMaxRecordSize(2048): %v", err)
	}
	for _, key := range []string{"", strings.Repeat("x", 1025)} {
		if _, err := s.Put(ctx, []PutRecord{{PartitionKey: key, Data: []byte("x")}}); !isValidationError(err) {
			t.Fatalf("partition key of %d bytes: %v, want ValidationError", len(key), err)
		}
	}
	if _, err := s.Put(ctx, nil); !isValidationError(err) {
		t.Fatalf("empty Put: %v, want ValidationError", err)
	}
}

// TestStreamSeekTimestamp checks AT_TIMESTAMP positioning through the
// log's timestamp index: the first record at or after t, the end if none.
func TestStreamSeekTimestamp(t *testing.T) {
	clock := newStreamTestClock()
	db := openStreamDB(t, vfs.NewMem(), clock, 64<<10)
	defer db.Close()
	s := createTestStream(t, db, "times", StreamConfig{ShardCount: 1})
	for i := range 300 {
		putStreamAll(t, s, []PutRecord{{PartitionKey: "k", Data: bytes.Repeat([]byte{byte(i)}, 1000)}})
		clock.Advance(time.Second)
	}
	for _, tt := range []struct {
		at   time.Duration
		want uint64
	}{
		{-time.Hour, 1}, {0, 1}, {time.Millisecond, 2}, {150 * time.Second, 151}, {299 * time.Second, 300}, {time.Hour, 301},
	} {
		got, err := s.SeekTimestamp(0, streamTestEpoch.Add(tt.at))
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Fatalf("SeekTimestamp(+%v) = %d, want %d", tt.at, got, tt.want)
		}
	}
}

// TestStreamSplitMergeLineage checks that splitting closes the parent at
// its last sequence number (readable afterwards, refusing new records),
// routes new records to the children by range, wakes a waiter on the
// parent, and that merging and UpdateShardCount keep lineage.
func TestStreamSplitMergeLineage(t *testing.T) {
	db := openStreamDB(t, vfs.NewMem(), newStreamTestClock(), 0)
	defer db.Close()
	s := createTestStream(t, db, "reshard", StreamConfig{ShardCount: 1})
	for i := range 10 {
		putStreamAll(t, s, []PutRecord{{PartitionKey: fmt.Sprint(i), Data: []byte{byte(i)}}})
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- s.Wait(context.Background(), 0, 11) }()

	mid := evenSplitStart(1, 2)
	if err := s.Split(0, mid); err != nil {
		t.Fatal(err)
	}
	if err := <-waitErr; err != nil {
		t.Fatalf("Wait on a shard closed by split: %v", err)
	}
	info := s.Info()
	if len(info.Shards) != 3 || info.OpenShards != 2 {
		t.Fatalf("after split: %+v", info.Shards)
	}
	parent := info.Shards[0]
	if parent.Open() || parent.EndSeq != 11 {
		t.Fatalf("parent %+v, want closed with EndSeq 11", parent)
	}
	for _, c := range info.Shards[1:] {
		if c.Parent != 0 || c.AdjacentParent != -1 || !c.Open() {
			t.Fatalf("child %+v", c)
		}
	}
	if got := readShardAll(t, s, 0); len(got) != 10 {
		t.Fatalf("parent readable records %d, want 10", len(got))
	}
	for i := range 50 {
		k := HashPartitionKey(fmt.Sprint("after", i))
		res := putStreamAll(t, s, []PutRecord{{PartitionKey: fmt.Sprint("after", i), Data: []byte("y")}})
		if want := 1 + streamBtoi(k.Cmp(mid) >= 0); res[0].Shard != want {
			t.Fatalf("record with hash %s went to shard %d, want %d", k, res[0].Shard, want)
		}
	}
	if first, next, err := s.Bounds(0); err != nil || first != 1 || next != 11 {
		t.Fatalf("Bounds(parent) = %d, %d, %v", first, next, err)
	}
	if err := s.Split(0, mid); !isValidationError(err) {
		t.Fatalf("splitting the closed parent: %v, want ValidationError", err)
	}
	if err := s.Merge(2, 1); err != nil {
		t.Fatal(err)
	}
	info = s.Info()
	merged := info.Shards[len(info.Shards)-1]
	if merged.Index != 3 || merged.Parent != 2 || merged.AdjacentParent != 1 || !merged.HashStart.IsZero() || merged.HashEnd != MaxUint128 {
		t.Fatalf("merged shard %+v", merged)
	}
	if err := s.UpdateShardCount(2); err != nil {
		t.Fatal(err)
	}
	info = s.Info()
	if info.OpenShards != 2 {
		t.Fatalf("after UpdateShardCount(2): %d open shards", info.OpenShards)
	}
	if _, err := s.Put(context.Background(), []PutRecord{{PartitionKey: "z", Data: []byte("z")}}); err != nil {
		t.Fatal(err)
	}
	// The error names the bound and its numbers, so a caller can word it.
	err := s.UpdateShardCount(5)
	var limit *ReshardLimitError
	if !errors.Is(err, ErrLimitExceeded) || !errors.As(err, &limit) ||
		limit.Limit != ReshardOverDouble || limit.Open != 2 || limit.Target != 5 || limit.Stream != "reshard" {
		t.Fatalf("2 -> 5: %v (%+v), want ErrLimitExceeded as ReshardOverDouble 2 -> 5", err, limit)
	}
}

func streamBtoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestStreamRetention checks with a fake clock that records past retention
// are never returned (even before their segment is deleted), that the
// retention pass deletes old segments, that Bounds and TRIM_HORIZON move,
// and that closed shards whose data expired disappear.
func TestStreamRetention(t *testing.T) {
	clock := newStreamTestClock()
	db := openStreamDB(t, vfs.NewMem(), clock, 64<<10)
	defer db.Close()
	s := createTestStream(t, db, "retained", StreamConfig{ShardCount: 1})
	data := bytes.Repeat([]byte("r"), 4000)
	for range 100 { // 100 records one hour apart: ~6 segments
		putStreamAll(t, s, []PutRecord{{PartitionKey: "k", Data: data}})
		clock.Advance(time.Hour)
	}
	// Now = epoch + 100h; retention 24h keeps records put at >= epoch+76h:
	// records 77..100.
	got := readShardAll(t, s, 0)
	if len(got) != 24 || got[0].Seq != 77 {
		t.Fatalf("read %d records starting at %d, want 24 from 77", len(got), got[0].Seq)
	}
	first, next, err := s.Bounds(0)
	if err != nil || first != 77 || next != 101 {
		t.Fatalf("Bounds = %d, %d, %v; want 77, 101", first, next, err)
	}
	if err := s.applyRetention(); err != nil {
		t.Fatal(err)
	}
	log := s.shardState(0, true).log.Load()
	if log.FirstSeq() <= 1 {
		t.Fatalf("retention deleted no segment: FirstSeq %d", log.FirstSeq())
	}
	if err := s.SetRetention(48 * time.Hour); err != nil {
		t.Fatal(err)
	}

	// A split parent disappears once its data has expired.
	if err := s.Split(0, evenSplitStart(1, 2)); err != nil {
		t.Fatal(err)
	}
	clock.Advance(47 * time.Hour)
	if n := len(s.Info().Shards); n != 3 {
		t.Fatalf("%d shards 47h after split, want 3", n)
	}
	clock.Advance(time.Hour)
	if n := len(s.Info().Shards); n != 2 {
		t.Fatalf("%d shards 48h after split, want 2", n)
	}
	if _, err := s.Read(0, 0, 10, 0, func(*StreamRecord) error { return nil }); !errors.Is(err, ErrShardNotFound) {
		t.Fatalf("Read expired shard: %v, want ErrShardNotFound", err)
	}
	if err := s.applyRetention(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.opts.FS.Stat(db.partitionDir(logID{s.entityID, 0})); err == nil {
		t.Fatal("expired shard's log directory still exists")
	}
}

// TestStreamRestart checks that after Close and reopen every acknowledged
// record is readable at its sequence number, byte-identical, and the
// metadata (shards, lineage, tags, consumers, settings) is intact.
func TestStreamRestart(t *testing.T) {
	fs := vfs.NewMem()
	clock := newStreamTestClock()
	db := openStreamDB(t, fs, clock, 64<<10)
	s := createTestStream(t, db, "durable", StreamConfig{ShardCount: 2})
	written := putStreamRandom(t, s, rand.New(rand.NewSource(1)), 400)
	if err := s.Split(0, Uint128{Hi: 1 << 60}); err != nil {
		t.Fatal(err)
	}
	written = append(written, putStreamRandom(t, s, rand.New(rand.NewSource(2)), 200)...)
	if err := s.Tag(map[string]string{"a": "b"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RegisterConsumer("app"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetEncryption("KMS", "alias/k"); err != nil {
		t.Fatal(err)
	}
	before := s.Info()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openStreamDB(t, fs, clock, 64<<10)
	defer db.Close()
	s, err := db.Stream(streamTestNS, "durable")
	if err != nil {
		t.Fatal(err)
	}
	after := s.Info()
	if fmt.Sprint(before.Shards) != fmt.Sprint(after.Shards) || fmt.Sprint(before.Tags) != fmt.Sprint(after.Tags) ||
		after.KeyID != "alias/k" || len(s.Consumers()) != 1 || before.EntityID != after.EntityID {
		t.Fatalf("metadata changed across restart:\n%+v\n%+v", before, after)
	}
	checkStreamWritten(t, s, written)
}

// streamWritten is an acknowledged record and where it went.
type streamWritten struct {
	shard int
	seq   uint64
	key   string
	data  []byte
}

// putStreamRandom puts n records of random keys and sizes in batches.
func putStreamRandom(t testing.TB, s *Stream, rng *rand.Rand, n int) []streamWritten {
	var out []streamWritten
	for n > 0 {
		batch := min(n, 1+rng.Intn(50))
		n -= batch
		recs := make([]PutRecord, batch)
		for i := range recs {
			data := make([]byte, rng.Intn(3000))
			rng.Read(data)
			recs[i] = PutRecord{PartitionKey: fmt.Sprint("k", rng.Intn(1000)), Data: data}
		}
		for i, r := range putStreamAll(t, s, recs) {
			out = append(out, streamWritten{r.Shard, r.Seq, recs[i].PartitionKey, recs[i].Data})
		}
	}
	return out
}

// checkStreamWritten asserts every written record is readable at its seq.
func checkStreamWritten(t testing.TB, s *Stream, written []streamWritten) {
	t.Helper()
	byShard := map[int]map[uint64]StreamRecord{}
	for _, w := range written {
		if byShard[w.shard] == nil {
			byShard[w.shard] = map[uint64]StreamRecord{}
			for _, r := range readShardAll(t, s, w.shard) {
				byShard[w.shard][r.Seq] = r
			}
		}
		r, ok := byShard[w.shard][w.seq]
		if !ok || r.PartitionKey != w.key || !bytes.Equal(r.Data, w.data) {
			t.Fatalf("acknowledged record shard %d seq %d missing or different", w.shard, w.seq)
		}
	}
}

// TestStreamCrash checks durability across a simulated crash: with a
// crashable in-memory FS, every record acknowledged before the crash (and
// the stream metadata of acknowledged splits) survives, whatever share of
// unsynced data the crash keeps.
func TestStreamCrash(t *testing.T) {
	for _, pct := range []int{0, 50, 100} {
		t.Run(fmt.Sprint("unsynced", pct), func(t *testing.T) {
			fs := vfs.NewCrashableMem()
			clock := newStreamTestClock()
			db := openStreamDB(t, fs, clock, 64<<10)
			s := createTestStream(t, db, "crashy", StreamConfig{ShardCount: 3})
			written := putStreamRandom(t, s, rand.New(rand.NewSource(int64(pct))), 300)
			if err := s.Split(1, evenSplitStart(1, 2)); err != nil {
				t.Fatal(err)
			}
			written = append(written, putStreamRandom(t, s, rand.New(rand.NewSource(7)), 100)...)
			crashed := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: pct, RNG: randv2.New(randv2.NewPCG(uint64(pct), 1))})
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db2 := openStreamDB(t, crashed, clock, 64<<10)
			defer db2.Close()
			s2, err := db2.Stream(streamTestNS, "crashy")
			if err != nil {
				t.Fatal(err)
			}
			if n := len(s2.Info().Shards); n != 5 {
				t.Fatalf("%d shards after crash, want 5 (split was acknowledged)", n)
			}
			checkStreamWritten(t, s2, written)
		})
	}
}

// TestStreamManyShards checks that a 1,000-shard stream can be created
// and written across its shards, and that shards nobody wrote to have no
// log on disk (idle shards cost nothing).
func TestStreamManyShards(t *testing.T) {
	db := openStreamDB(t, vfs.NewMem(), newStreamTestClock(), 0)
	defer db.Close()
	s := createTestStream(t, db, "wide", StreamConfig{ShardCount: 1000})
	if n := s.Info().OpenShards; n != 1000 {
		t.Fatalf("%d open shards", n)
	}
	written := putStreamRandom(t, s, rand.New(rand.NewSource(3)), 2000)
	touched := map[int]bool{}
	for _, w := range written {
		touched[w.shard] = true
	}
	if len(touched) < 500 { // ~865 distinct keys over 1,000 shards reach ~580
		t.Fatalf("2,000 random keys reached only %d of 1,000 shards", len(touched))
	}
	dirs, err := db.opts.FS.List(db.entityLogsDir(s.entityID))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) != len(touched) {
		t.Fatalf("%d shard logs on disk, want %d (only written shards)", len(dirs), len(touched))
	}
	checkStreamWritten(t, s, written)
}

// TestStreamCatalog checks CreateStream validation and defaults (ON_DEMAND
// gets 4 shards), ErrStreamExists, ListStreams pagination, DeleteStream
// with consumers (ErrStreamHasConsumers unless enforced) and that a deleted
// stream's handle and name answer ErrStreamNotFound.
func TestStreamCatalog(t *testing.T) {
	db := openStreamDB(t, vfs.NewMem(), newStreamTestClock(), 0)
	defer db.Close()
	for _, bad := range []struct {
		name string
		cfg  StreamConfig
	}{
		{"", StreamConfig{ShardCount: 1}},
		{"bad/name", StreamConfig{ShardCount: 1}},
		{"zero", StreamConfig{}},
		{"retention", StreamConfig{ShardCount: 1, Retention: time.Hour}},
		{"mode", StreamConfig{ShardCount: 1, Mode: "FAST"}},
		{"size", StreamConfig{ShardCount: 1, MaxRecordSizeKiB: 20000}},
	} {
		if _, err := db.CreateStream(streamTestNS, bad.name, bad.cfg, nil); !isValidationError(err) {
			t.Fatalf("CreateStream(%q, %+v): %v, want ValidationError", bad.name, bad.cfg, err)
		}
	}
	info, err := db.CreateStream(streamTestNS, "od", StreamConfig{Mode: StreamModeOnDemand}, map[string]string{"t": "v"})
	if err != nil {
		t.Fatal(err)
	}
	if info.Status != StreamCreating || len(info.Shards) != 4 || info.Tags["t"] != "v" {
		t.Fatalf("ON_DEMAND create: %+v", info)
	}
	if _, err := db.CreateStream(streamTestNS, "od", StreamConfig{ShardCount: 1}, nil); !errors.Is(err, ErrStreamExists) {
		t.Fatalf("duplicate: %v", err)
	}
	for _, n := range []string{"b", "c", "a"} {
		createTestStream(t, db, n, StreamConfig{ShardCount: 1})
	}
	names, err := db.ListStreams(streamTestNS, "a", 2)
	if err != nil || fmt.Sprint(names) != "[b c]" {
		t.Fatalf("ListStreams after a: %v %v", names, err)
	}
	s, _ := db.Stream(streamTestNS, "od")
	if got := s.Info().Status; got != StreamActive {
		t.Fatalf("status %s after create, want ACTIVE", got)
	}
	if err := s.SetMode(StreamModeProvisioned); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RegisterConsumer("c1"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteStream(streamTestNS, "od", false); !errors.Is(err, ErrStreamHasConsumers) {
		t.Fatalf("delete with consumers: %v", err)
	}
	if err := db.DeleteStream(streamTestNS, "od", true); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Stream(streamTestNS, "od"); !errors.Is(err, ErrStreamNotFound) {
		t.Fatalf("Stream after delete: %v", err)
	}
	if _, err := s.Put(context.Background(), []PutRecord{{PartitionKey: "k"}}); !errors.Is(err, ErrStreamNotFound) {
		t.Fatalf("Put on deleted handle: %v", err)
	}
	if err := db.DeleteStream(streamTestNS, "od", true); !errors.Is(err, ErrStreamNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

// TestStreamConsumers checks consumer registration: CREATING in the
// result, ACTIVE afterwards, duplicates refused, at most 20, deregister.
func TestStreamConsumers(t *testing.T) {
	db := openStreamDB(t, vfs.NewMem(), newStreamTestClock(), 0)
	defer db.Close()
	s := createTestStream(t, db, "fanout", StreamConfig{ShardCount: 1})
	c, err := s.RegisterConsumer("c0")
	if err != nil || c.Status != ConsumerCreating {
		t.Fatalf("register: %+v %v", c, err)
	}
	if got, _ := s.Consumer("c0"); got.Status != ConsumerActive {
		t.Fatalf("consumer after register: %+v", got)
	}
	if _, err := s.RegisterConsumer("c0"); !errors.Is(err, ErrConsumerExists) {
		t.Fatalf("duplicate: %v", err)
	}
	for i := 1; i < 20; i++ {
		if _, err := s.RegisterConsumer(fmt.Sprint("c", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.RegisterConsumer("c20"); !errors.Is(err, ErrLimitExceeded) {
		t.Fatalf("21st consumer: %v", err)
	}
	if err := s.DeregisterConsumer("c5"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeregisterConsumer("c5"); !errors.Is(err, ErrConsumerNotFound) {
		t.Fatalf("second deregister: %v", err)
	}
	if n := len(s.Consumers()); n != 19 {
		t.Fatalf("%d consumers", n)
	}
}

// TestStreamSecretAndPolicies checks that secrets are random, stable and
// persistent, and that resource policies are stored, read and deleted.
func TestStreamSecretAndPolicies(t *testing.T) {
	fs := vfs.NewMem()
	db := openStreamDB(t, fs, newStreamTestClock(), 0)
	a, err := db.Secret("iterators")
	if err != nil || len(a) != 32 {
		t.Fatalf("Secret: %x %v", a, err)
	}
	b, _ := db.Secret("other")
	if bytes.Equal(a, b) {
		t.Fatal("two secrets are equal")
	}
	if err := db.SetResourcePolicy("arn:aws:kinesis:us-east-1:0:stream/s", `{"Version":"2012-10-17"}`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openStreamDB(t, fs, newStreamTestClock(), 0)
	defer db.Close()
	if again, _ := db.Secret("iterators"); !bytes.Equal(a, again) {
		t.Fatal("secret changed across restart")
	}
	p, ok, err := db.ResourcePolicy("arn:aws:kinesis:us-east-1:0:stream/s")
	if err != nil || !ok || p != `{"Version":"2012-10-17"}` {
		t.Fatalf("ResourcePolicy: %q %v %v", p, ok, err)
	}
	if err := db.DeleteResourcePolicy("arn:aws:kinesis:us-east-1:0:stream/s"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.ResourcePolicy("arn:aws:kinesis:us-east-1:0:stream/s"); ok {
		t.Fatal("policy still there after delete")
	}
}

// TestStreamThroughputLimits checks the optional per-shard write limit:
// past 1,000 records in one second the rest fail per record with
// ErrThroughputExceeded, and capacity returns as time passes.
func TestStreamThroughputLimits(t *testing.T) {
	clock := newStreamTestClock()
	db := openStreamDB(t, vfs.NewMem(), clock, 0)
	defer db.Close()
	db.SetStreamLimits(true)
	s := createTestStream(t, db, "limited", StreamConfig{ShardCount: 1})
	recs := make([]PutRecord, 500)
	for i := range recs {
		recs[i] = PutRecord{PartitionKey: "k", Data: []byte("d")}
	}
	failed := 0
	for range 3 {
		res, err := s.Put(context.Background(), recs)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if errors.Is(r.Err, ErrThroughputExceeded) {
				failed++
			}
		}
	}
	if failed != 500 {
		t.Fatalf("%d of 1,500 records throttled in one second, want 500", failed)
	}
	clock.Advance(time.Second)
	putStreamAll(t, s, recs)
	// Reads: five per second.
	for i := range 6 {
		_, err := s.Read(0, 0, 1, 0, func(*StreamRecord) error { return nil })
		if (i < 5) != (err == nil) {
			t.Fatalf("read %d: %v", i, err)
		}
	}
}

// TestStreamWaitCancel checks that Wait returns when the awaited record
// is appended, and ctx.Err() when the context is cancelled.
func TestStreamWaitCancel(t *testing.T) {
	db := openStreamDB(t, vfs.NewMem(), newStreamTestClock(), 0)
	defer db.Close()
	s := createTestStream(t, db, "tail", StreamConfig{ShardCount: 1})
	done := make(chan error, 1)
	go func() { done <- s.Wait(context.Background(), 0, 1) }()
	putStreamAll(t, s, []PutRecord{{PartitionKey: "k", Data: []byte("x")}})
	if err := <-done; err != nil {
		t.Fatalf("Wait for appended record: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { done <- s.Wait(ctx, 0, 2) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Wait: %v", err)
	}
}

// TestStreamReadAllocs asserts the read path costs no allocation per
// record: reading 1,000 records allocates a small constant.
func TestStreamReadAllocs(t *testing.T) {
	db := openStreamDB(t, vfs.NewMem(), newStreamTestClock(), 0)
	defer db.Close()
	s := createTestStream(t, db, "allocs", StreamConfig{ShardCount: 1})
	recs := make([]PutRecord, 500)
	for i := range recs {
		recs[i] = PutRecord{PartitionKey: "key", Data: make([]byte, 100)}
	}
	putStreamAll(t, s, recs)
	putStreamAll(t, s, recs)
	n := 0
	fn := func(r *StreamRecord) error { n += len(r.Data); return nil }
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := s.Read(0, 1, 1000, 0, fn); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 4 {
		t.Fatalf("Read of 1,000 records: %.0f allocations, want a small constant", allocs)
	}
}

// TestStreamResetAndClose checks that Reset deletes streams and kills old
// handles (ErrStreamNotFound), that the name is reusable afterwards and
// starts empty, and that Close wakes a Wait with ErrClosed.
func TestStreamResetAndClose(t *testing.T) {
	db := openStreamDB(t, vfs.NewMem(), newStreamTestClock(), 0)
	s := createTestStream(t, db, "reset", StreamConfig{ShardCount: 2})
	putStreamAll(t, s, []PutRecord{{PartitionKey: "k", Data: []byte("old")}})
	if err := db.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Stream(streamTestNS, "reset"); !errors.Is(err, ErrStreamNotFound) {
		t.Fatalf("Stream after Reset: %v", err)
	}
	if _, err := s.Put(context.Background(), []PutRecord{{PartitionKey: "k"}}); !errors.Is(err, ErrStreamNotFound) {
		t.Fatalf("Put on a handle from before Reset: %v", err)
	}
	s = createTestStream(t, db, "reset", StreamConfig{ShardCount: 1})
	if got := readShardAll(t, s, 0); len(got) != 0 {
		t.Fatalf("recreated stream holds %d old records", len(got))
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- s.Wait(context.Background(), 0, 1) }()
	// Close waits for the Wait (an operation in flight) after waking it.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-waitErr; !errors.Is(err, ErrClosed) {
		t.Fatalf("Wait across Close: %v, want ErrClosed", err)
	}
}

// TestStreamDeleteWakesWait checks that deleting a stream ends a Wait on
// one of its shards with ErrStreamNotFound.
func TestStreamDeleteWakesWait(t *testing.T) {
	db := openStreamDB(t, vfs.NewMem(), newStreamTestClock(), 0)
	defer db.Close()
	s := createTestStream(t, db, "gone", StreamConfig{ShardCount: 1})
	putStreamAll(t, s, []PutRecord{{PartitionKey: "k", Data: []byte("x")}})
	waitErr := make(chan error, 1)
	go func() { waitErr <- s.Wait(context.Background(), 0, 2) }()
	if err := db.DeleteStream(streamTestNS, "gone", false); err != nil {
		t.Fatal(err)
	}
	if err := <-waitErr; !errors.Is(err, ErrStreamNotFound) && !errors.Is(err, ErrClosed) {
		t.Fatalf("Wait across DeleteStream: %v", err)
	}
}
