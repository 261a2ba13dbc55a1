package server

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/sluice-dev/sluice/server/awsproto"
)

// TestBufferPoolClasses checks the size classes: get returns an empty
// buffer with at least the requested capacity, in the class that covers
// it; put files a buffer by its capacity and drops those outside the
// classes.
func TestBufferPoolClasses(t *testing.T) {
	tests := []struct {
		n       int
		wantCap int
	}{
		{0, 1 << bufferClassMin},
		{1, 1 << bufferClassMin},
		{smallBufferKeepMax + 1, 1 << 17},
		{1 << 20, 1 << 20},
		{1<<20 + 1, 2 << 20},
		{14_000_000, 16 << 20},
		{16 << 20, 16 << 20},
		{16<<20 + 1, 16<<20 + 1}, // above the largest class: exact, unpooled
	}
	var p bufferPool
	for _, tt := range tests {
		b := p.get(tt.n)
		if len(b) != 0 || cap(b) != tt.wantCap {
			t.Errorf("get(%d): len %d cap %d, want 0 and %d", tt.n, len(b), cap(b), tt.wantCap)
		}
	}
	if raceEnabled {
		t.Skip("reuse is not deterministic under the race detector: sync.Pool drops items at random")
	}
	// One goroutine, no GC in between: sync.Pool hands back what was put.
	runtime.GC()
	kept := make([]byte, 0, 3<<20) // class 21 (2 MiB)
	p.put(kept)
	if b := p.get(2 << 20); cap(b) != cap(kept) || &b[:1][0] != &kept[:1][0] {
		t.Fatalf("get(2 MiB) after put(3 MiB buffer) returned a different buffer (cap %d)", cap(b))
	}
	p.put(make([]byte, 0, 32<<20)) // too large: dropped
	if b := p.get(20 << 20); cap(b) != 20<<20 {
		t.Fatalf("a 32 MiB buffer was pooled: get(20 MiB) has cap %d", cap(b))
	}
}

// largeService answers Fill with a body of n copies of one byte, the
// byte and n taken from the request, in JSON or (query) XML, sized with
// Response.Grow, like GetRecords.
func largeService() *Service {
	fill := func(req *Request, resp *Response) (byte, int, error) {
		var in struct {
			Byte  string
			Count int
		}
		if req.Protocol == awsproto.ProtocolQuery {
			in.Byte = req.Form.Value("Byte")
			n, err := strconv.Atoi(req.Form.Value("Count"))
			if err != nil {
				return 0, 0, err
			}
			in.Count = n
		} else if err := req.Decode(&in); err != nil {
			return 0, 0, err
		}
		resp.Grow(in.Count + 32)
		return in.Byte[0], in.Count, nil
	}
	handler := func(req *Request, resp *Response) error {
		c, n, err := fill(req, resp)
		if err != nil {
			return err
		}
		if req.Protocol == awsproto.ProtocolQuery {
			resp.B = append(resp.B, "<FillResult>"...)
		} else {
			resp.B = append(resp.B, `{"Data":"`...)
		}
		start := len(resp.B)
		resp.B = resp.B[:start+n] // Grow made room
		if n > 0 {
			resp.B[start] = c
			for filled := 1; filled < n; filled *= 2 {
				copy(resp.B[start+filled:], resp.B[start:start+filled])
			}
		}
		if req.Protocol == awsproto.ProtocolQuery {
			resp.B = append(resp.B, "</FillResult>"...)
		} else {
			resp.B = append(resp.B, `"}`...)
		}
		return nil
	}
	return &Service{
		Name: "kinesis", TargetPrefix: "Kinesis_20131202", JSONVersion: "1.1",
		JSON:         map[string]HandlerFunc{"Fill": handler},
		XMLNamespace: "urn:test", Query: map[string]HandlerFunc{"Fill": handler},
	}
}

func wantFill(query bool, c byte, n int, requestID string) string {
	data := strings.Repeat(string(c), n)
	if query {
		return `<FillResponse xmlns="urn:test"><FillResult>` + data + `</FillResult><ResponseMetadata><RequestId>` +
			requestID + `</RequestId></ResponseMetadata></FillResponse>`
	}
	return `{"Data":"` + data + `"}`
}

// TestLargeResponses checks responses below, at and above the size where
// the server stops copying bodies and hands its buffer to fasthttp: bodies
// are exact (XML envelope included), over HTTP/1 (with Content-Length) and
// HTTP/2 (h2c lets net/http frame bodies, which omits Content-Length for
// any but the smallest). Concurrent clients on keep-alive connections, each with its own
// fill byte, catch a buffer reused while fasthttp still writes it (a body
// would contain another request's bytes); run under -race it also catches
// the unsynchronized reuse itself.
func TestLargeResponses(t *testing.T) {
	ts := startServer(t, Config{}, largeService())
	h2Transport := &http.Transport{Protocols: new(http.Protocols)}
	h2Transport.Protocols.SetUnencryptedHTTP2(true)
	defer h2Transport.CloseIdleConnections()
	clients := map[string]*http.Client{"http1": {Transport: &http.Transport{}}, "http2": {Transport: h2Transport}}
	sizes := []int{10, smallBufferKeepMax - 100, smallBufferKeepMax + 1, 3 << 20}
	for name, client := range clients {
		t.Run(name, func(t *testing.T) {
			var wg sync.WaitGroup
			errs := make(chan error, 4)
			for worker := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := byte('a' + worker)
					for i := range 2 * len(sizes) {
						if err := fillRequest(client, ts.url, i%2 == 1, c, sizes[i/2], name == "http1"); err != nil {
							errs <- fmt.Errorf("worker %c: %w", c, err)
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

func fillRequest(client *http.Client, url string, query bool, c byte, n int, wantLength bool) error {
	var req *http.Request
	var err error
	if query {
		req, err = http.NewRequest("POST", url+"/", strings.NewReader(fmt.Sprintf("Action=Fill&Byte=%c&Count=%d", c, n)))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		req, err = http.NewRequest("POST", url+"/", strings.NewReader(fmt.Sprintf(`{"Byte":"%c","Count":%d}`, c, n)))
		if err == nil {
			req.Header.Set("X-Amz-Target", "Kinesis_20131202.Fill")
			req.Header.Set("Content-Type", awsproto.ContentTypeJSON11)
		}
	}
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("query=%v n=%d: %w", query, n, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("query=%v n=%d: reading the body: %w", query, n, err)
	}
	want := wantFill(query, c, n, resp.Header.Get("x-amzn-RequestId"))
	if resp.StatusCode != 200 || string(body) != want {
		return fmt.Errorf("query=%v n=%d: status %d, body of %d bytes differs from the %d expected", query, n, resp.StatusCode, len(body), len(want))
	}
	if wantLength && resp.ContentLength != int64(len(want)) {
		return fmt.Errorf("query=%v n=%d: Content-Length %d, want %d", query, n, resp.ContentLength, len(want))
	}
	return nil
}

// TestLargeResponseCost asserts what a large answer costs the server: with
// Response.Grow, a 4 MiB response is neither allocated nor copied per
// request once the pool is warm, bar the odd pool miss (before, each cost a fresh buffer plus a
// copy into fasthttp's: ~8 MiB allocated per request). Method: drive the
// handler directly, write each response to io.Discard, and measure bytes
// allocated per request with runtime.MemStats.
func TestLargeResponseCost(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector, so buffer reuse is not measurable")
	}
	const n = 4 << 20
	srv, err := newServer(&fakeDB{}, Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Register(largeService()); err != nil {
		t.Fatal(err)
	}
	var ctx fasthttp.RequestCtx
	body := fmt.Sprintf(`{"Byte":"x","Count":%d}`, n)
	do := func() {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.Header.SetMethod("POST")
		ctx.Request.SetRequestURI("/")
		ctx.Request.Header.Set("X-Amz-Target", "Kinesis_20131202.Fill")
		ctx.Request.Header.Set("Content-Type", awsproto.ContentTypeJSON11)
		ctx.Request.SetBodyString(body)
		srv.handle(&ctx)
		if err := ctx.Response.BodyWriteTo(io.Discard); err != nil {
			t.Fatal(err)
		}
		if ctx.Response.StatusCode() != 200 || ctx.Response.Header.ContentLength() != n+len(`{"Data":""}`) {
			t.Fatalf("status %d, Content-Length %d", ctx.Response.StatusCode(), ctx.Response.Header.ContentLength())
		}
	}
	do() // warm the pool
	const rounds = 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range rounds {
		do()
	}
	runtime.ReadMemStats(&after)
	// A sync.Pool Get on another P than the Put can miss (the goroutine
	// may migrate), costing one 8 MiB buffer now and then: allow two misses
	// in the rounds. Without the pool this is ~8 MiB per request.
	perRequest := (after.TotalAlloc - before.TotalAlloc) / rounds
	if perRequest > 1<<20 {
		t.Fatalf("a %d-byte response allocated %d bytes per request; want it served from the pool without a copy", n, perRequest)
	}
}

// TestIsLoan checks how a response recognises the pooled buffer it lent:
// any slice that ends where the loan ends is it; a slice with its capacity
// cut short, or another array, is not, so it is never handed back to the
// pool while it may still be in use.
func TestIsLoan(t *testing.T) {
	loan := make([]byte, 0, 1<<17)
	other := make([]byte, 10, 1<<17)
	r := Response{loan: loan[:cap(loan)]}
	tests := []struct {
		name string
		b    []byte
		want bool
	}{
		{"the loan", loan, true},
		{"a prefix", loan[:100], true},
		{"from an offset", loan[5:7], true},
		{"capacity cut short", loan[0:10:10], false},
		{"another array", other, false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		if got := r.isLoan(tt.b); got != tt.want {
			t.Errorf("%s: isLoan = %v, want %v", tt.name, got, tt.want)
		}
	}
	if (&Response{}).isLoan(loan) {
		t.Error("a response without a loan recognised one")
	}
}

// TestPoolHoldsOnlyLoans checks that the pool only ever takes back buffers
// it lent: a handler that grows a large answer by itself (slices.Grow, as
// server/kinesis does) has it sent without a copy but then garbage
// collected, so the pool does not fill with buffers nobody asks for (a
// Kinesis backlog-read test saw the live heap grow by 40 MiB when it
// did). Method: serve such requests, then find every size class empty.
func TestPoolHoldsOnlyLoans(t *testing.T) {
	const n = 2 << 20
	svc := &Service{
		Name: "kinesis", TargetPrefix: "Kinesis_20131202", JSONVersion: "1.1",
		JSON: map[string]HandlerFunc{"Own": func(req *Request, resp *Response) error {
			resp.B = append(slices.Grow(resp.B[:0], n), `"`...)
			resp.B = resp.B[:n-1]
			resp.B = append(resp.B, `"`...)
			return nil
		}},
	}
	srv, err := newServer(&fakeDB{}, Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Register(svc); err != nil {
		t.Fatal(err)
	}
	var ctx fasthttp.RequestCtx
	for range 5 {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.Header.SetMethod("POST")
		ctx.Request.SetRequestURI("/")
		ctx.Request.Header.Set("X-Amz-Target", "Kinesis_20131202.Own")
		ctx.Request.Header.Set("Content-Type", awsproto.ContentTypeJSON11)
		srv.handle(&ctx)
		if err := ctx.Response.BodyWriteTo(io.Discard); err != nil {
			t.Fatal(err)
		}
		if ctx.Response.StatusCode() != 200 || ctx.Response.Header.ContentLength() != n {
			t.Fatalf("status %d, Content-Length %d", ctx.Response.StatusCode(), ctx.Response.Header.ContentLength())
		}
	}
	for i := range srv.buffers.classes {
		if v := srv.buffers.classes[i].Get(); v != nil {
			t.Fatalf("class %d holds a buffer of cap %d that the pool never lent", i+bufferClassMin, cap(v.(*pooledBuffer).b))
		}
	}
}
