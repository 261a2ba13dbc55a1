package server

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/server/awsproto"
)

// streamService is a kinesis-like service whose Stream operation streams
// its body with fn and whose Plain operation answers an empty result.
func streamService(fn StreamFunc) *Service {
	return &Service{
		Name: "kinesis", TargetPrefix: "Kinesis_20131202", JSONVersion: "1.1",
		JSON: map[string]HandlerFunc{
			"Stream": func(req *Request, resp *Response) error {
				resp.StreamBody("application/vnd.amazon.eventstream", fn)
				return nil
			},
			"Plain": func(req *Request, resp *Response) error { return nil },
		},
	}
}

// streamingService answers Stream with a body streamed in three flushed
// chunks, extending the write deadline before each, like SubscribeToShard,
// and Plain with the request's X-Test-Proto header.
func streamingService(extendErrs chan<- error) *Service {
	svc := streamService(func(w *bufio.Writer, extend func(time.Duration) error) {
		for i := range 3 {
			extendErrs <- extend(time.Minute)
			fmt.Fprintf(w, "event-%d;", i)
			if err := w.Flush(); err != nil {
				return
			}
		}
	})
	svc.JSON["Plain"] = func(req *Request, resp *Response) error {
		return resp.Encode(map[string]string{"Proto": req.Header("X-Test-Proto")})
	}
	return svc
}

// TestStreamBody checks that a handler can stream its response body: the
// client gets a 200 with the stream's content type, the request id header
// and every chunk, and extending the write deadline works.
func TestStreamBody(t *testing.T) {
	extendErrs := make(chan error, 3)
	ts := startServer(t, Config{}, streamingService(extendErrs))
	r := ts.do(t, "POST", "/", map[string]string{"X-Amz-Target": "Kinesis_20131202.Stream", "Content-Type": awsproto.ContentTypeJSON11}, "{}")
	if r.status != 200 || r.body != "event-0;event-1;event-2;" || r.header.Get("Content-Type") != "application/vnd.amazon.eventstream" {
		t.Fatalf("got %d %q %q", r.status, r.header.Get("Content-Type"), r.body)
	}
	requestID(t, r)
	for range 3 {
		if err := <-extendErrs; err != nil {
			t.Fatalf("extending the write deadline: %v", err)
		}
	}
}

// TestHTTP2PriorKnowledge checks that a cleartext HTTP/2 client (prior
// knowledge, as the Java SDK's Netty client) reaches the same routing,
// error shapes and streamed bodies as HTTP/1.1 on the same port.
func TestHTTP2PriorKnowledge(t *testing.T) {
	extendErrs := make(chan error, 3)
	ts := startServer(t, Config{}, streamingService(extendErrs))
	transport := &http.Transport{Protocols: new(http.Protocols)}
	transport.Protocols.SetUnencryptedHTTP2(true)
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	post := func(target string) (*http.Response, string) {
		req, err := http.NewRequest("POST", ts.url+"/", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Amz-Target", target)
		req.Header.Set("Content-Type", awsproto.ContentTypeJSON11)
		req.Header.Set("X-Test-Proto", "h2")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.ProtoMajor != 2 {
			t.Fatalf("served over %s, want HTTP/2", resp.Proto)
		}
		return resp, string(body)
	}
	if resp, body := post("Kinesis_20131202.Plain"); resp.StatusCode != 200 || body != `{"Proto":"h2"}` {
		t.Fatalf("plain: %d %s", resp.StatusCode, body)
	}
	if resp, body := post("Kinesis_20131202.Nope"); resp.StatusCode != 400 || !strings.Contains(body, "UnknownOperationException") {
		t.Fatalf("unknown: %d %s", resp.StatusCode, body)
	}
	if resp, body := post("Kinesis_20131202.Stream"); resp.StatusCode != 200 || body != "event-0;event-1;event-2;" {
		t.Fatalf("stream: %d %s", resp.StatusCode, body)
	}
}

// TestHTTP2SignedAuthority is a regression test. Bug story: the AWS SDK for
// JavaScript v3 sends every Kinesis call over HTTP/2 (NodeHttp2Handler) and
// there replaces host with the :authority pseudo-header, which it signs:
// SignedHeaders=:authority;... . The SigV4 parser took ':' for a malformed
// header name, so every JS SDK Kinesis call, SubscribeToShard included, got
// 400 IncompleteSignatureException. Method: that exact Authorization header
// over h2c must reach the handler.
func TestHTTP2SignedAuthority(t *testing.T) {
	ts := startServer(t, Config{}, streamingService(make(chan error, 3)))
	transport := &http.Transport{Protocols: new(http.Protocols)}
	transport.Protocols.SetUnencryptedHTTP2(true)
	defer transport.CloseIdleConnections()
	req, err := http.NewRequest("POST", ts.url+"/", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "Kinesis_20131202.Plain")
	req.Header.Set("Content-Type", awsproto.ContentTypeJSON11)
	req.Header.Set("X-Test-Proto", "h2")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20261128/us-east-1/kinesis/aws4_request, "+
		"SignedHeaders=:authority;amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;x-amz-content-sha256;x-amz-date;x-amz-target;x-amz-user-agent, "+
		"Signature="+strings.Repeat("ab", 32))
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 || string(body) != `{"Proto":"h2"}` {
		t.Fatalf("got %s %d %s", resp.Proto, resp.StatusCode, body)
	}
}

// TestStreamLeavesWriteDeadline is a regression test. Bug story: a Kinesis
// subscription extends the connection's write deadline by a few heartbeats
// before each event. When a short subscription ended, that per-event
// deadline stayed on the connection: the end of the chunked body (and the
// bytes the stream had not flushed yet) were written after it had passed,
// so the client saw "unexpected EOF" and the keep-alive connection died.
// Method: a stream whose last act is to leave a deadline that has already
// passed, then a second request on the same connection; both must succeed.
func TestStreamLeavesWriteDeadline(t *testing.T) {
	ts := startServer(t, Config{}, streamService(func(w *bufio.Writer, extend func(time.Duration) error) {
		if err := extend(time.Nanosecond); err != nil {
			t.Errorf("extend: %v", err)
		}
		fmt.Fprint(w, "unflushed-event;")
	}))
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	reader := bufio.NewReader(conn)
	for _, op := range []string{"Stream", "Plain", "Stream", "Plain"} {
		fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: Kinesis_20131202.%s\r\nContent-Type: %s\r\nContent-Length: 2\r\n\r\n{}",
			op, awsproto.ContentTypeJSON11)
		resp, err := http.ReadResponse(reader, nil)
		if err != nil {
			t.Fatalf("%s: reading the response: %v", op, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s: reading the body: %v", op, err)
		}
		want := "{}"
		if op == "Stream" {
			want = "unflushed-event;"
		}
		if resp.StatusCode != 200 || string(body) != want {
			t.Fatalf("%s: %d %q, want 200 %q", op, resp.StatusCode, body, want)
		}
	}
}

// TestStreamRunsOnConnection checks that an HTTP/1 stream runs on the
// connection's own goroutine (directStream), not on a goroutine of its
// own feeding the connection through a pipe, which costs a hand-off and two
// copies per event.
func TestStreamRunsOnConnection(t *testing.T) {
	stacks := make(chan string, 1)
	ts := startServer(t, Config{}, streamService(func(w *bufio.Writer, extend func(time.Duration) error) {
		buf := make([]byte, 64<<10)
		stacks <- string(buf[:runtime.Stack(buf, false)])
		fmt.Fprint(w, "event;")
	}))
	r := ts.do(t, "POST", "/", map[string]string{"X-Amz-Target": "Kinesis_20131202.Stream", "Content-Type": awsproto.ContentTypeJSON11}, "{}")
	if r.status != 200 || r.body != "event;" {
		t.Fatalf("got %d %q", r.status, r.body)
	}
	if stack := <-stacks; !strings.Contains(stack, "fasthttp.(*Server).serveConn") {
		t.Fatalf("the stream ran off the connection's goroutine:\n%s", stack)
	}
}

// TestDirectStreamRead checks directStream's fallback for a reader that
// does not use WriteTo: the same bytes come through the pipe.
func TestDirectStreamRead(t *testing.T) {
	d := &directStream{fn: func(w *bufio.Writer) {
		fmt.Fprint(w, "one;")
		w.Flush()
		fmt.Fprint(w, "two;") // unflushed: still part of the body
	}}
	got, err := io.ReadAll(d)
	if err != nil || string(got) != "one;two;" {
		t.Fatalf("got %q, %v", got, err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if d.SupportsBodyWriteTo() {
		t.Fatal("WriteTo offered after Read started the pipe")
	}
}

// TestDirectStreamDropped checks that a streamed body fasthttp drops
// without writing still runs its stream function, which sees a failed
// flush and returns (a subscription must free its slot).
func TestDirectStreamDropped(t *testing.T) {
	var flushErr error
	ran := false
	d := &directStream{fn: func(w *bufio.Writer) {
		ran = true
		fmt.Fprint(w, "initial-response event, longer than the writer's buffer")
		flushErr = w.Flush()
	}}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if !ran || flushErr == nil {
		t.Fatalf("stream ran %v, flush error %v: want a run whose flush fails", ran, flushErr)
	}
	ran = false
	if err := d.Close(); err != nil || ran {
		t.Fatalf("second Close: ran %v, %v", ran, err)
	}
}

// TestStreamDroppedBodyRuns is a regression test: over HTTP/1 a streamed
// body that fasthttp drops (a HEAD request gets the headers only) must
// still run its stream function, which then sees a failed flush and
// returns. Bug story: with the body written by the connection's goroutine
// (directStream), a dropped body's stream never ran, so a Kinesis
// subscription behind it never ended and kept its shard slot.
func TestStreamDroppedBodyRuns(t *testing.T) {
	flushed := make(chan error, 1)
	ts := startServer(t, Config{}, streamService(func(w *bufio.Writer, extend func(time.Duration) error) {
		fmt.Fprint(w, strings.Repeat("event;", 1000))
		flushed <- w.Flush()
	}))
	r := ts.do(t, "HEAD", "/", map[string]string{"X-Amz-Target": "Kinesis_20131202.Stream", "Content-Type": awsproto.ContentTypeJSON11}, "{}")
	if r.status != 200 || r.body != "" {
		t.Fatalf("HEAD: got %d %q", r.status, r.body)
	}
	select {
	case err := <-flushed:
		if err == nil {
			t.Fatal("the dropped stream's flush succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the dropped stream never ran")
	}
}
