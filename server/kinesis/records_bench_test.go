package kinesis_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/internal/cputime"
	"github.com/sluice-dev/sluice/segment"
)

// Back of the envelope for the data plane, per 1 KiB record: base64 of
// 1 KiB is ~1 µs at Go's ~1 GB/s, decoding it back about the same; the
// engine's append is a memcpy plus framing, its read ~0.4 µs
// (engine/NOTES-stream.md); MD5 of a short partition key ~0.2 µs. The
// budgets (server CPU per record: PutRecords ≤ 5 µs, GetRecords ≤ 3 µs)
// leave room for HTTP and JSON only if nothing else walks the bytes.
//
// The benchmarks run the real stack: server.New with the Kinesis service
// on a real engine (fsync always) on 127.0.0.1, and a minimal client on a
// raw keep-alive connection that sends pre-encoded requests and reads the
// response with net/http's parser. cpu-µs/record is the process's user +
// system CPU (getrusage) over the records moved: it includes the engine's
// writer goroutines, the GC and the thin client, so it bounds the server's
// CPU from above. allocs/op and B/op are the whole process's.

// rawClient is one keep-alive HTTP/1.1 connection.
type rawClient struct {
	conn net.Conn
	r    *bufio.Reader
}

func dialRaw(tb testing.TB, addr string) *rawClient {
	tb.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	return &rawClient{conn: conn, r: bufio.NewReaderSize(conn, 256<<10)}
}

// kinesisRequest renders a complete HTTP/1.1 request for operation op.
func kinesisRequest(op string, body []byte) []byte {
	return kinesisRequestAs(op, "application/x-amz-json-1.1", body)
}

// kinesisRequestAs renders a complete HTTP/1.1 request for operation op
// with a body of the given content type (JSON or CBOR).
func kinesisRequestAs(op, contentType string, body []byte) []byte {
	head := "POST / HTTP/1.1\r\nHost: bench\r\nX-Amz-Target: Kinesis_20131202." + op +
		"\r\nContent-Type: " + contentType + "\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n"
	return append([]byte(head), body...)
}

// do sends one pre-encoded request, reads the response and returns the
// size of its body; body, if not nil, receives the response body.
func (c *rawClient) do(tb testing.TB, request []byte, body *bytes.Buffer) int64 {
	if _, err := c.conn.Write(request); err != nil {
		tb.Fatal(err)
	}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		tb.Fatal(err)
	}
	var sink io.Writer = io.Discard
	if body != nil {
		body.Reset()
		sink = body
	}
	n, err := io.Copy(sink, resp.Body)
	if err == nil {
		err = resp.Body.Close()
	}
	if err != nil || resp.StatusCode != 200 {
		tb.Fatalf("status %d: %v", resp.StatusCode, err)
	}
	return n
}

// measure runs fn b.N times and reports CPU and allocations per record.
func measure(b *testing.B, recordsPerOp int, fn func()) {
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	cpuBefore := cputime.SelfOrSkip(b)
	b.ResetTimer()
	for b.Loop() {
		fn()
	}
	b.StopTimer()
	cpu := cputime.SelfOrSkip(b) - cpuBefore
	runtime.ReadMemStats(&after)
	records := float64(b.N * recordsPerOp)
	b.ReportMetric(float64(cpu.Microseconds())/records, "cpu-µs/record")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/records, "allocs/record")
	b.ReportMetric(records/b.Elapsed().Seconds(), "records/s")
}

// putRecordsBody renders a PutRecords request of n records of size bytes
// with distinct partition keys.
func putRecordsBody(stream string, n, size int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	b.WriteString(`{"StreamName":"` + stream + `","Records":[`)
	data := make([]byte, size)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		fmt.Fprintf(&b, `{"Data":"%s","PartitionKey":"partition-key-%d"}`, base64.StdEncoding.EncodeToString(data), i)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// BenchmarkPutRecords sends PutRecords of 500 × 1 KiB records (distinct
// partition keys over 4 shards) through the HTTP stack, with the engine
// acknowledging after fdatasync (the default) and after write(2).
func BenchmarkPutRecords(b *testing.B) {
	for _, fsync := range []string{"always", "never"} {
		b.Run("fsync="+fsync, func(b *testing.B) {
			sync, err := segment.ParseSyncPolicy(fsync)
			if err != nil {
				b.Fatal(err)
			}
			benchmarkPutRecords(b, engine.Options{Sync: sync})
		})
	}
}

func benchmarkPutRecords(b *testing.B, opts engine.Options) {
	e := newEnv(b, envOptions{engine: opts})
	if _, err := e.db.CreateStream(engine.Namespace{Account: "000000000000", Region: "us-east-1"}, "bench",
		engine.StreamConfig{ShardCount: 4}, nil); err != nil {
		b.Fatal(err)
	}
	const records, size = 500, 1024
	body := putRecordsBody("bench", records, size)
	request := kinesisRequest("PutRecords", body)
	client := dialRaw(b, e.addr)
	var out bytes.Buffer
	client.do(b, request, &out) // warm up, and check the answer once
	var res struct{ FailedRecordCount int }
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || res.FailedRecordCount != 0 {
		b.Fatalf("PutRecords answer %.200s: %v", out.Bytes(), err)
	}
	b.SetBytes(int64(records * size))
	measure(b, records, func() { client.do(b, request, nil) })
}

// BenchmarkGetRecords reads 10,000 × 1 KiB records with one GetRecords
// (the same TRIM_HORIZON iterator each time) through the HTTP stack, in
// JSON (base64 data, ~15 MB answers) and CBOR (byte strings, ~11 MB).
func BenchmarkGetRecords(b *testing.B) {
	e := newEnv(b, envOptions{})
	ns := engine.Namespace{Account: "000000000000", Region: "us-east-1"}
	if _, err := e.db.CreateStream(ns, "bench", engine.StreamConfig{ShardCount: 1}, nil); err != nil {
		b.Fatal(err)
	}
	st, err := e.db.Stream(ns, "bench")
	if err != nil {
		b.Fatal(err)
	}
	const records, size = 10_000, 1024
	data := bytes.Repeat([]byte{0xa5}, size)
	batch := make([]engine.PutRecord, 500)
	for i := range batch {
		batch[i] = engine.PutRecord{PartitionKey: "pk-" + strconv.Itoa(i), Data: data}
	}
	for range records / len(batch) {
		if _, err := st.Put(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	client := dialRaw(b, e.addr)
	var out bytes.Buffer
	client.do(b, kinesisRequest("GetShardIterator", []byte(`{"StreamName":"bench","ShardId":"shardId-000000000000","ShardIteratorType":"TRIM_HORIZON"}`)), &out)
	var it struct{ ShardIterator string }
	if err := json.Unmarshal(out.Bytes(), &it); err != nil {
		b.Fatal(err)
	}
	cborBody, err := cbor.Marshal(map[string]any{"ShardIterator": it.ShardIterator, "Limit": records})
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		protocol  string
		request   []byte
		unmarshal func([]byte, any) error
	}{
		{"json", kinesisRequest("GetRecords", []byte(`{"ShardIterator":"`+it.ShardIterator+`","Limit":10000}`)), json.Unmarshal},
		{"cbor", kinesisRequestAs("GetRecords", "application/x-amz-cbor-1.1", cborBody), unmarshalCBOR},
	} {
		b.Run("protocol="+tc.protocol, func(b *testing.B) {
			client.do(b, tc.request, &out) // warm up, and check the answer once
			var res struct{ Records []struct{ Data []byte } }
			if err := tc.unmarshal(out.Bytes(), &res); err != nil || len(res.Records) != records || !bytes.Equal(res.Records[records-1].Data, data) {
				b.Fatalf("GetRecords: %d records, %v", len(res.Records), err)
			}
			b.SetBytes(int64(records * size))
			measure(b, records, func() { client.do(b, tc.request, nil) })
		})
	}
}
