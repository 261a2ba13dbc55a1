package kinesis_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"testing"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/segment"
)

// backlogEnv is the environment variable that sets the backlog
// TestBacklogReadMemory writes, in MiB. Default: 96 (a few seconds). The
// large run the design asks for:
//
//	SLUICE_KINESIS_BACKLOG_MIB=1536 go test -run TestBacklogReadMemory -v ./server/kinesis
const backlogEnv = "SLUICE_KINESIS_BACKLOG_MIB"

const (
	backlogDefaultMiB   = 96
	backlogRecordBytes  = 4 << 10
	backlogBatchRecords = 500
	// backlogHeapMaxBytes bounds HeapInuse while the backlog is read:
	// a GetRecords answer is at most ~14 MB (10 MiB in base64), and the
	// server's output buffer, fasthttp's response body and the client's
	// buffer each hold one, plus garbage awaiting collection.
	backlogHeapMaxBytes = 192 << 20
	// backlogRetainedMaxBytes bounds the heap still live after the read
	// (after a GC) above what it was before: nothing may accumulate per
	// record or per segment read.
	backlogRetainedMaxBytes = 32 << 20
)

// TestBacklogReadMemory writes a large backlog to one shard (through the
// engine, fsync never, incompressible 4 KiB records) and reads all of it
// from TRIM_HORIZON through the HTTP stack with GetRecords (10,000
// records or 10 MiB per call), sampling runtime.MemStats after every call.
// Goal: memory stays bounded by a few GetRecords answers, independent of
// the data size, because stream data lives on disk and reads borrow it.
// It asserts that HeapInuse never exceeds backlogHeapMaxBytes, that the
// live heap after the read is within backlogRetainedMaxBytes of the live
// heap before it, and (for backlogs over 1 GiB) that the peak is under a
// sixth of the data. The backlog size comes from SLUICE_KINESIS_BACKLOG_MIB.
func TestBacklogReadMemory(t *testing.T) {
	backlogMiB := backlogDefaultMiB
	if v := os.Getenv(backlogEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive number of MiB", backlogEnv, v)
		}
		backlogMiB = n
	}
	e := newEnv(t, envOptions{engine: engine.Options{Sync: segment.SyncPolicy{Mode: segment.SyncNever}}})
	ns := engine.Namespace{Account: "000000000000", Region: "us-east-1"}
	if _, err := e.db.CreateStream(ns, "backlog", engine.StreamConfig{ShardCount: 1}, nil); err != nil {
		t.Fatal(err)
	}
	st, err := e.db.Stream(ns, "backlog")
	if err != nil {
		t.Fatal(err)
	}
	total := backlogMiB << 20 / backlogRecordBytes
	written := writeBacklog(t, st, total)

	client := dialRaw(t, e.addr)
	var body bytes.Buffer
	client.do(t, kinesisRequest("GetShardIterator", []byte(`{"StreamName":"backlog","ShardId":"shardId-000000000000","ShardIteratorType":"TRIM_HORIZON"}`)), &body)
	var it struct{ ShardIterator string }
	if err := json.Unmarshal(body.Bytes(), &it); err != nil {
		t.Fatal(err)
	}
	iterator := it.ShardIterator

	before := liveHeap()
	var stats runtime.MemStats
	peak, read, calls := uint64(0), 0, 0
	for read < written {
		client.do(t, kinesisRequest("GetRecords", []byte(`{"ShardIterator":"`+iterator+`"}`)), &body)
		n := bytes.Count(body.Bytes(), []byte(`"SequenceNumber"`))
		if n == 0 {
			t.Fatalf("GetRecords returned nothing after %d of %d records", read, written)
		}
		read += n
		calls++
		iterator = jsonStringMember(t, body.Bytes(), "NextShardIterator")
		runtime.ReadMemStats(&stats)
		peak = max(peak, stats.HeapInuse)
	}
	body = bytes.Buffer{} // the client's buffer is not the server's retention
	after := liveHeap()
	dataBytes := uint64(written) * backlogRecordBytes
	t.Logf("backlog %d MiB (%d records) read in %d GetRecords; HeapInuse peak %d MiB; live heap %d MiB before, %d MiB after",
		dataBytes>>20, written, calls, peak>>20, before>>20, after>>20)
	if read != written {
		t.Fatalf("read %d records, wrote %d", read, written)
	}
	if peak > backlogHeapMaxBytes {
		t.Fatalf("HeapInuse peaked at %d MiB reading a %d MiB backlog (bound %d MiB)", peak>>20, dataBytes>>20, backlogHeapMaxBytes>>20)
	}
	if after > before+backlogRetainedMaxBytes {
		t.Fatalf("live heap grew from %d to %d MiB over the read", before>>20, after>>20)
	}
	if dataBytes > 1<<30 && peak > dataBytes/6 {
		t.Fatalf("HeapInuse peak %d MiB is not far below the %d MiB backlog", peak>>20, dataBytes>>20)
	}
}

// writeBacklog puts n incompressible records of backlogRecordBytes and
// returns how many it wrote.
func writeBacklog(t *testing.T, st *engine.Stream, n int) int {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 11))
	pool := make([]byte, backlogBatchRecords*backlogRecordBytes)
	for i := 0; i+8 <= len(pool); i += 8 {
		binary.LittleEndian.PutUint64(pool[i:], rng.Uint64())
	}
	batch := make([]engine.PutRecord, backlogBatchRecords)
	written := 0
	for written < n {
		k := min(backlogBatchRecords, n-written)
		for i := range k {
			data := pool[i*backlogRecordBytes : (i+1)*backlogRecordBytes]
			binary.LittleEndian.PutUint64(data, uint64(written+i)) // distinct records
			batch[i] = engine.PutRecord{PartitionKey: "k", Data: data}
		}
		if _, err := st.Put(context.Background(), batch[:k]); err != nil {
			t.Fatalf("put after %d records: %v", written, err)
		}
		written += k
	}
	return written
}

// liveHeap is HeapInuse right after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var stats runtime.MemStats
	runtime.ReadMemStats(&stats)
	return stats.HeapInuse
}

// jsonStringMember finds "name":"value" in a JSON document and returns
// value (which must need no unescaping: iterators are base64).
func jsonStringMember(t *testing.T, doc []byte, name string) string {
	t.Helper()
	key := []byte(`"` + name + `":"`)
	i := bytes.LastIndex(doc, key)
	if i < 0 {
		t.Fatalf("no %s in the answer (%.200s…)", name, doc)
	}
	rest := doc[i+len(key):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		t.Fatalf("unterminated %s", name)
	}
	return string(rest[:end])
}
