package server

import (
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestURLHost checks the host[:port] put in URLs handed to clients (SQS
// queue URLs) for each way Config.Hostname and the Host header combine.
func TestURLHost(t *testing.T) {
	tests := []struct {
		hostname, host, want string
	}{
		{"", "localhost:4566", "localhost:4566"},
		{"", "sqs.example", "sqs.example"},
		{"", "", "0.0.0.0:0"}, // no Host header: the local address
		{"sluice.local:9000", "localhost:4566", "sluice.local:9000"},
		{"sluice.local", "localhost:4566", "sluice.local:4566"},
		{"sluice.local", "[::1]:4566", "sluice.local:4566"},
		{"::1", "localhost:4566", "[::1]:4566"},
		{"sluice.local", "localhost", "sluice.local:0"}, // no port in Host: the local port
	}
	for _, tt := range tests {
		srv, err := newServer(&fakeDB{}, Config{Hostname: tt.hostname, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetHost(tt.host)
		for range 2 { // the second answer may come from the string cache
			if got := srv.urlHost(&ctx); got != tt.want {
				t.Errorf("Hostname %q, Host %q: got %q, want %q", tt.hostname, tt.host, got, tt.want)
			}
		}
	}
}

// TestStringCache checks that the cache returns the bytes' value whatever
// it holds (hits, slot collisions, overlong and empty values), that a hit
// allocates nothing, and that concurrent use is safe (run with -race).
func TestStringCache(t *testing.T) {
	c := newStringCache()
	values := []string{"", "/", "localhost:4566", "/000000000000/queue-1", strings.Repeat("p", stringCacheBytesMax), strings.Repeat("q", stringCacheBytesMax+1)}
	for i := range 2 * stringCacheSlots { // more values than slots: collisions evict
		values = append(values, "/000000000000/q"+strconv.Itoa(i))
	}
	for round := range 2 {
		for _, v := range values {
			if got := c.get([]byte(v)); got != v {
				t.Fatalf("round %d: get(%q) = %q", round, v, got)
			}
		}
	}
	if !raceEnabled {
		b := []byte("localhost:4566")
		c.get(b)
		if n := testing.AllocsPerRun(100, func() { c.get(b) }); n != 0 {
			t.Fatalf("a cache hit allocated %v times", n)
		}
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				v := "/q" + strconv.Itoa((i*7+g)%600)
				if got := c.get([]byte(v)); got != v {
					t.Errorf("concurrent get(%q) = %q", v, got)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestRequestStringsOutliveRequest checks that Host, Path and Operation
// may be kept after the handler returns (server/sqs passes a substring of
// Path to the engine, which keeps it as a map key): later requests with
// other values, reusing fasthttp's buffers, must not change them.
func TestRequestStringsOutliveRequest(t *testing.T) {
	var kept []string
	svc := fakeSQS(nil)
	svc.Query["Keep"] = func(req *Request, resp *Response) error {
		kept = append(kept, req.Host, req.Path, req.Operation)
		return nil
	}
	srv, err := newServer(&fakeDB{}, Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Register(svc); err != nil {
		t.Fatal(err)
	}
	var ctx fasthttp.RequestCtx
	var want []string
	for i := range 5 {
		host, path := "host-"+strconv.Itoa(i)+":4566", "/000000000000/queue-"+strconv.Itoa(i)
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.Header.SetMethod("POST")
		ctx.Request.SetRequestURI(path)
		ctx.Request.Header.SetHost(host)
		ctx.Request.Header.SetContentType("application/x-www-form-urlencoded")
		ctx.Request.SetBodyString("Action=Keep")
		srv.handle(&ctx)
		if ctx.Response.StatusCode() != 200 {
			t.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
		want = append(want, host, path, "Keep")
	}
	if strings.Join(kept, " ") != strings.Join(want, " ") {
		t.Fatalf("kept strings changed:\ngot  %q\nwant %q", kept, want)
	}
}

// TestDispatchAllocations asserts the per-request allocations of a signed
// JSON request whose handler writes nothing: the request id string, the
// Authorization header string (the credential scope's region and key are
// substrings of it and may be kept) and its SignedHeaders slice. Host,
// Path and Operation come from the string cache.
func TestDispatchAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts (sync.Pool drops items at random)")
	}
	srv, err := newServer(&fakeDB{}, Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Register(fakeSQS(nil)); err != nil {
		t.Fatal(err)
	}
	var ctx fasthttp.RequestCtx
	do := func() {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.Header.SetMethod("POST")
		ctx.Request.SetRequestURI("/")
		ctx.Request.Header.SetHost("localhost:4566")
		ctx.Request.Header.Set("X-Amz-Target", "AmazonSQS.NoOutput")
		ctx.Request.Header.Set("Content-Type", "application/x-amz-json-1.0")
		ctx.Request.Header.Set("Authorization", sigSQS)
		ctx.Request.SetBodyString(`{}`)
		srv.handle(&ctx)
	}
	do()
	if ctx.Response.StatusCode() != 200 {
		t.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	if n := testing.AllocsPerRun(200, do); n > 3 {
		t.Fatalf("a request allocated %v times, want at most 3", n)
	}
}
