package server

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/sluice-dev/sluice/server/awsproto"
)

// benchServer returns a Server with fakeSQS registered, for driving its
// handler directly (no sockets): the cost measured is routing, the handler
// call and rendering.
func benchServer(b *testing.B) *Server {
	srv, err := newServer(&fakeDB{}, Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Register(fakeSQS(nil)); err != nil {
		b.Fatal(err)
	}
	return srv
}

// BenchmarkDispatch measures one request through the router for each
// protocol, with allocations.
func BenchmarkDispatch(b *testing.B) {
	cases := []struct {
		name   string
		header map[string]string
		body   string
	}{
		{"json-no-output", map[string]string{"X-Amz-Target": "AmazonSQS.NoOutput", "Content-Type": awsproto.ContentTypeJSON10, "Authorization": sigSQS}, `{"QueueUrl":"http://localhost:4566/000000000000/q"}`},
		{"json-modeled-error", map[string]string{"X-Amz-Target": "AmazonSQS.Missing", "Content-Type": awsproto.ContentTypeJSON10, "Authorization": sigSQS}, `{}`},
		{"query-echo", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Authorization": sigSQS}, "Action=Echo&Version=2012-11-05&Name=q"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			srv := benchServer(b)
			var ctx fasthttp.RequestCtx
			b.ReportAllocs()
			b.SetBytes(int64(len(c.body)))
			for b.Loop() {
				ctx.Request.Reset()
				ctx.Response.Reset()
				ctx.Request.Header.SetMethod("POST")
				ctx.Request.SetRequestURI("/")
				ctx.Request.Header.SetHost("localhost:4566")
				for k, v := range c.header {
					ctx.Request.Header.Set(k, v)
				}
				ctx.Request.SetBodyString(c.body)
				srv.handle(&ctx)
				if ctx.Response.StatusCode() >= 500 {
					b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
				}
			}
		})
	}
}

// BenchmarkLargeResponse measures a 10 MiB JSON answer (a GetRecords of
// ~7,500 one-KiB records is that big) from the handler to bytes written on
// the connection: the handler sizes its buffer up front and fills it, the
// server hands it to fasthttp, and the response is written to io.Discard.
// "slices.Grow" sizes the buffer as server/kinesis does today,
// "Response.Grow" takes it from the server's pool.
func BenchmarkLargeResponse(b *testing.B) {
	const bodyBytes = 10 << 20
	payload := bytes.Repeat([]byte("a"), bodyBytes-len(`{"Data":""}`))
	fill := func(resp *Response) {
		resp.B = append(resp.B, `{"Data":"`...)
		resp.B = append(resp.B, payload...)
		resp.B = append(resp.B, `"}`...)
	}
	svc := &Service{
		Name: "kinesis", TargetPrefix: "Kinesis_20131202", JSONVersion: "1.1",
		JSON: map[string]HandlerFunc{
			"slices.Grow": func(req *Request, resp *Response) error {
				resp.B = slices.Grow(resp.B[:0], bodyBytes)
				fill(resp)
				return nil
			},
			"Response.Grow": func(req *Request, resp *Response) error {
				resp.Grow(bodyBytes)
				fill(resp)
				return nil
			},
		},
	}
	for _, op := range []string{"slices.Grow", "Response.Grow"} {
		b.Run(op, func(b *testing.B) {
			srv, err := newServer(&fakeDB{}, Config{Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			if err := srv.Register(svc); err != nil {
				b.Fatal(err)
			}
			var ctx fasthttp.RequestCtx
			w := bufio.NewWriter(io.Discard)
			b.ReportAllocs()
			b.SetBytes(bodyBytes)
			for b.Loop() {
				ctx.Request.Reset()
				ctx.Response.Reset()
				ctx.Request.Header.SetMethod("POST")
				ctx.Request.SetRequestURI("/")
				ctx.Request.Header.SetHost("localhost:4566")
				ctx.Request.Header.Set("X-Amz-Target", "Kinesis_20131202."+op)
				ctx.Request.Header.Set("Content-Type", awsproto.ContentTypeJSON11)
				ctx.Request.SetBodyString("{}")
				srv.handle(&ctx)
				if ctx.Response.StatusCode() != 200 {
					b.Fatalf("status %d", ctx.Response.StatusCode())
				}
				if err := ctx.Response.Write(w); err != nil {
					b.Fatal(err)
				}
				if err := w.Flush(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
