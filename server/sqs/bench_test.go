package sqs

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/internal/cputime"
	"github.com/sluice-dev/sluice/segment"
	"github.com/sluice-dev/sluice/server"
	"github.com/sluice-dev/sluice/server/awsproto"
)

// Benchmarks of the message hot path through the whole stack: a fasthttp
// client with pre-encoded AWS JSON 1.0 requests (so client cost stays
// small) → server.Server over TCP on 127.0.0.1 → sqs handlers → engine in a
// temp dir, with fsync always (the default) and never (to see the CPU of
// the request path without the cost of fdatasync). 1 KiB bodies. Each reports µs/msg of wall time
// and cpu-µs/msg, the process's user+system CPU per message (server and
// the light client together), plus allocs/op per request.
//
//	go test -run '^$' -bench . -benchmem ./server/sqs
//	go test -run '^$' -bench SendMessageBatch -cpuprofile cpu.out ./server/sqs

const benchBodyBytes = 1024

// benchSig is a well-formed SigV4 Authorization header: the server parses
// the scope (region) but does not verify signatures.
const benchSig = "AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/sqs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0000000000000000000000000000000000000000000000000000000000000000"

type benchEnv struct {
	db     *engine.DB
	srv    *server.Server
	served chan error
	client *fasthttp.HostClient
	addr   string
	url    string
}

func newBenchEnv(b *testing.B, sync segment.SyncPolicy) *benchEnv {
	b.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := engine.Open(b.TempDir(), &engine.Options{Logger: logger, Sync: sync})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := server.New(db, server.Config{Logger: logger})
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Register(New(db, Options{Logger: logger})); err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	e := &benchEnv{db: db, srv: srv, served: make(chan error, 1), addr: ln.Addr().String()}
	go func() { e.served <- srv.Serve(ln) }()
	e.client = &fasthttp.HostClient{Addr: e.addr, MaxConns: 64, ReadTimeout: 30 * time.Second}
	b.Cleanup(func() {
		e.client.CloseIdleConnections()
		if err := srv.Shutdown(context.Background()); err != nil {
			b.Errorf("Shutdown: %v", err)
		}
		if err := <-e.served; err != nil {
			b.Errorf("Serve: %v", err)
		}
		if err := db.Close(); err != nil {
			b.Errorf("Close: %v", err)
		}
	})
	resp := e.call(b, "CreateQueue", []byte(`{"QueueName":"bench"}`), nil)
	e.url = "http://" + e.addr + "/000000000000/bench"
	if !bytes.Contains(resp, []byte(e.url)) {
		b.Fatalf("CreateQueue: %s", resp)
	}
	return e
}

// call sends one JSON request and returns the response body (appended to
// dst). Non-200 answers fail the benchmark.
func (e *benchEnv) call(b *testing.B, op string, body, dst []byte) []byte {
	return e.post(b, awsproto.ContentTypeJSON10, "AmazonSQS."+op, body, dst)
}

// callQuery posts a query-protocol form request (Action in the body).
func (e *benchEnv) callQuery(b *testing.B, form, dst []byte) []byte {
	return e.post(b, "application/x-www-form-urlencoded", "", form, dst)
}

// post sends one signed POST (with X-Amz-Target unless target is empty)
// and appends the 200 response's body to dst.
func (e *benchEnv) post(b *testing.B, contentType, target string, body, dst []byte) []byte {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI("http://" + e.addr + "/")
	req.Header.SetContentType(contentType)
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	req.Header.Set("X-Amz-Date", "20260101T000000Z")
	req.Header.Set("Authorization", benchSig)
	req.SetBodyRaw(body)
	if err := e.client.Do(req, resp); err != nil {
		b.Fatalf("%s: %v", target, err)
	}
	if resp.StatusCode() != fasthttp.StatusOK {
		b.Fatalf("%s: status %d: %s", target, resp.StatusCode(), resp.Body())
	}
	return append(dst, resp.Body()...)
}

// forSyncPolicies runs bench once per fsync policy.
func forSyncPolicies(b *testing.B, bench func(*testing.B, segment.SyncPolicy)) {
	for _, p := range []struct {
		name string
		sync segment.SyncPolicy
	}{{"fsync=always", segment.SyncPolicy{Mode: segment.SyncAlways}}, {"fsync=never", segment.SyncPolicy{Mode: segment.SyncNever}}} {
		b.Run(p.name, func(b *testing.B) { bench(b, p.sync) })
	}
}

// benchMessageBody is a 1 KiB body of printable characters.
func benchMessageBody() string {
	return strings.Repeat("0123456789abcdef", benchBodyBytes/16)
}

func sendBody(url string) []byte {
	return []byte(`{"QueueUrl":"` + url + `","MessageBody":"` + benchMessageBody() + `"}`)
}

func sendBatchBody(url string, n int) []byte {
	var sb strings.Builder
	sb.WriteString(`{"QueueUrl":"` + url + `","Entries":[`)
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`{"Id":"m` + strconv.Itoa(i) + `","MessageBody":"` + benchMessageBody() + `"}`)
	}
	sb.WriteString(`]}`)
	return []byte(sb.String())
}

// report adds µs/msg and cpu-µs/msg for msgs messages handled since start.
func report(b *testing.B, msgs int, start time.Time, cpuStart time.Duration) {
	if msgs == 0 {
		return
	}
	wall := time.Since(start)
	cpu := cputime.SelfOrSkip(b) - cpuStart
	b.ReportMetric(float64(wall.Microseconds())/float64(msgs), "µs/msg")
	b.ReportMetric(float64(cpu.Microseconds())/float64(msgs), "cpu-µs/msg")
}

// BenchmarkSendMessage: one 1 KiB message per request.
func BenchmarkSendMessage(b *testing.B) { forSyncPolicies(b, benchSendMessage) }

func benchSendMessage(b *testing.B, sync segment.SyncPolicy) {
	e := newBenchEnv(b, sync)
	body := sendBody(e.url)
	var out []byte
	b.ReportAllocs()
	b.SetBytes(benchBodyBytes)
	start, cpu := time.Now(), cputime.SelfOrSkip(b)
	n := 0
	for b.Loop() {
		out = e.call(b, "SendMessage", body, out[:0])
		n++
	}
	report(b, n, start, cpu)
}

// BenchmarkSendMessageBatch10: ten 1 KiB messages per request.
func BenchmarkSendMessageBatch10(b *testing.B) { forSyncPolicies(b, benchSendMessageBatch10) }

func benchSendMessageBatch10(b *testing.B, sync segment.SyncPolicy) {
	e := newBenchEnv(b, sync)
	body := sendBatchBody(e.url, 10)
	runBatchSends(b, func(dst []byte) []byte { return e.call(b, "SendMessageBatch", body, dst) },
		func(out []byte) bool { return !bytes.Contains(out, []byte(`"Failed":[{`)) })
}

// BenchmarkSendMessageBatch10Query: the same over the query protocol (form
// in, XML out), as goaws's users and older SDKs send it.
func BenchmarkSendMessageBatch10Query(b *testing.B) {
	forSyncPolicies(b, benchSendMessageBatch10Query)
}

func benchSendMessageBatch10Query(b *testing.B, sync segment.SyncPolicy) {
	e := newBenchEnv(b, sync)
	form := url.Values{"Action": {"SendMessageBatch"}, "Version": {"2012-11-05"}, "QueueUrl": {e.url}}
	for i := range 10 {
		p := "SendMessageBatchRequestEntry." + strconv.Itoa(i+1) + "."
		form.Set(p+"Id", "m"+strconv.Itoa(i))
		form.Set(p+"MessageBody", benchMessageBody())
	}
	body := []byte(form.Encode())
	runBatchSends(b, func(dst []byte) []byte { return e.callQuery(b, body, dst) }, func(out []byte) bool {
		return bytes.Contains(out, []byte("<SendMessageBatchResultEntry>")) && !bytes.Contains(out, []byte("<BatchResultErrorEntry>"))
	})
}

// runBatchSends times send (one batch of ten 1 KiB messages) until the
// benchmark ends, checking each response with ok.
func runBatchSends(b *testing.B, send func(dst []byte) []byte, ok func(out []byte) bool) {
	var out []byte
	b.ReportAllocs()
	b.SetBytes(10 * benchBodyBytes)
	start, cpu := time.Now(), cputime.SelfOrSkip(b)
	n := 0
	for b.Loop() {
		if out = send(out[:0]); !ok(out) {
			b.Fatalf("batch entries failed: %s", out)
		}
		n += 10
	}
	report(b, n, start, cpu)
}

// receiptHandles appends the ReceiptHandle values of a ReceiveMessage JSON
// response (base64url: no escapes to undo).
func receiptHandles(dst [][]byte, resp []byte) [][]byte {
	const key = `"ReceiptHandle":"`
	for {
		i := bytes.Index(resp, []byte(key))
		if i < 0 {
			return dst
		}
		resp = resp[i+len(key):]
		j := bytes.IndexByte(resp, '"')
		if j < 0 {
			return dst
		}
		dst = append(dst, resp[:j])
		resp = resp[j:]
	}
}

// BenchmarkReceiveDeleteBatch10: ReceiveMessage(10) then
// DeleteMessageBatch of the ten receipts, on a queue filled beforehand.
// One op is one receive+delete pair (ten messages).
func BenchmarkReceiveDeleteBatch10(b *testing.B) { forSyncPolicies(b, benchReceiveDeleteBatch10) }

func benchReceiveDeleteBatch10(b *testing.B, sync segment.SyncPolicy) {
	e := newBenchEnv(b, sync)
	fill := sendBatchBody(e.url, 10)
	recvBody := []byte(`{"QueueUrl":"` + e.url + `","MaxNumberOfMessages":10,"MessageSystemAttributeNames":["ApproximateReceiveCount"]}`)
	var out, del []byte
	var handles [][]byte
	b.ReportAllocs()
	b.SetBytes(10 * benchBodyBytes)
	var wall, cpu time.Duration
	n := 0
	for b.Loop() {
		// Refill outside the measurement whenever the queue may run dry.
		if n%1000 == 0 {
			b.StopTimer()
			for range 100 {
				out = e.call(b, "SendMessageBatch", fill, out[:0])
			}
			b.StartTimer()
		}
		start, cpuStart := time.Now(), cputime.SelfOrSkip(b)
		out = e.call(b, "ReceiveMessage", recvBody, out[:0])
		handles = receiptHandles(handles[:0], out)
		if len(handles) != 10 {
			b.Fatalf("received %d messages, want 10: %.200s", len(handles), out)
		}
		del = append(del[:0], `{"QueueUrl":"`+e.url+`","Entries":[`...)
		for i, h := range handles {
			if i > 0 {
				del = append(del, ',')
			}
			del = append(del, `{"Id":"d`...)
			del = strconv.AppendInt(del, int64(i), 10)
			del = append(del, `","ReceiptHandle":"`...)
			del = append(del, h...)
			del = append(del, `"}`...)
		}
		del = append(del, `]}`...)
		out = e.call(b, "DeleteMessageBatch", del, out[:0])
		if bytes.Contains(out, []byte(`"Failed":[{`)) {
			b.Fatalf("deletes failed: %s", out)
		}
		wall += time.Since(start)
		cpu += cputime.SelfOrSkip(b) - cpuStart
		n += 10
	}
	if n > 0 {
		b.ReportMetric(float64(wall.Microseconds())/float64(n), "µs/msg")
		b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/msg")
	}
}
