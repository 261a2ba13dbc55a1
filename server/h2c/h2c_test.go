package h2c

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// startServer runs a fasthttp server behind the sniffing listener. Its
// handler echoes "method path body" under /echo, and under /stream writes
// one line per value received on step, flushing each, until step closes.
func startServer(t *testing.T, step <-chan string) (addr string) {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	handler := func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Path()) {
		case "/echo":
			ctx.Response.Header.Set("X-Test", "yes")
			ctx.SetContentType("text/plain")
			ctx.SetBodyString(string(ctx.Method()) + " " + string(ctx.Path()) + " " + string(ctx.PostBody()) +
				" target=" + string(ctx.Request.Header.Peek("X-Amz-Target")))
		case "/stream":
			ctx.SetContentType("application/vnd.amazon.eventstream")
			ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
				for s := range step {
					if _, err := w.WriteString(s + "\n"); err != nil {
						return
					}
					if err := w.Flush(); err != nil {
						return
					}
				}
			})
		default:
			ctx.SetStatusCode(fasthttp.StatusNotFound)
		}
	}
	ln := NewListener(inner, Handler(handler, 1<<20), Options{SniffTimeout: 5 * time.Second})
	srv := &fasthttp.Server{Handler: handler}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		if err := srv.Shutdown(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := ln.Close(); err != nil && !strings.Contains(err.Error(), "closed") {
			t.Errorf("close: %v", err)
		}
		<-done
	})
	return ln.Addr().String()
}

func h2cClient() *http.Client {
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: &protocols}}
}

// TestHTTP1AndH2COnOnePort checks that one port serves an HTTP/1.1 client
// (through fasthttp) and an h2c prior-knowledge client (through the bridge)
// with the same handler, headers, status and body.
func TestHTTP1AndH2COnOnePort(t *testing.T) {
	addr := startServer(t, nil)
	h1 := &http.Client{Transport: &http.Transport{}}
	defer h1.CloseIdleConnections()
	h2 := h2cClient()
	defer h2.CloseIdleConnections()
	for _, tc := range []struct {
		name   string
		client *http.Client
		proto  int
	}{{"http1", h1, 1}, {"h2c", h2, 2}} {
		req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/echo", strings.NewReader("hello"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Amz-Target", "Kinesis_20131202.ListStreams")
		resp, err := tc.client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if resp.ProtoMajor != tc.proto || resp.StatusCode != 200 || resp.Header.Get("X-Test") != "yes" ||
			resp.Header.Get("Content-Type") != "text/plain" {
			t.Fatalf("%s: proto %d status %d headers %v", tc.name, resp.ProtoMajor, resp.StatusCode, resp.Header)
		}
		if want := "POST /echo hello target=Kinesis_20131202.ListStreams"; string(body) != want {
			t.Fatalf("%s: body %q, want %q", tc.name, body, want)
		}
	}
}

// TestH2CStreamsIncrementally checks that a fasthttp body stream reaches an
// HTTP/2 client piece by piece: the client reads each line before the
// handler is allowed to write the next one.
func TestH2CStreamsIncrementally(t *testing.T) {
	step := make(chan string)
	addr := startServer(t, step)
	client := h2cClient()
	defer client.CloseIdleConnections()
	resp, err := client.Post("http://"+addr+"/stream", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("proto %d", resp.ProtoMajor)
	}
	r := bufio.NewReader(resp.Body)
	for _, s := range []string{"one", "two", "three"} {
		step <- s
		line, err := r.ReadString('\n')
		if err != nil || line != s+"\n" {
			t.Fatalf("read %q, %v; want %q", line, err, s)
		}
	}
	close(step)
	if rest, err := io.ReadAll(r); err != nil || len(rest) != 0 {
		t.Fatalf("after close: %q, %v", rest, err)
	}
}

// TestReadPrefix checks the sniffing decision on full, partial and
// diverging prefaces.
func TestReadPrefix(t *testing.T) {
	cases := []struct {
		send   string
		isH2   bool
		prefix string
	}{
		{clientPreface + "rest", true, clientPreface},
		{"POST / HTTP/1.1\r\n", false, "PO"},
		{"GET / HTTP/1.1\r\n", false, "G"},
		{"PRI * HTTP/1.1\r\n", false, "PRI * HTTP/1"},
	}
	for _, tc := range cases {
		client, srv := net.Pipe()
		go func() {
			// One byte at a time, to exercise partial reads.
			for i := 0; i < len(tc.send); i++ {
				if _, err := client.Write([]byte{tc.send[i]}); err != nil {
					return
				}
			}
		}()
		prefix, isH2 := readPrefix(srv, 5*time.Second)
		if isH2 != tc.isH2 || string(prefix) != tc.prefix {
			t.Errorf("%q: got %q, %v", tc.send, prefix, isH2)
		}
		client.Close()
		srv.Close()
	}
}
