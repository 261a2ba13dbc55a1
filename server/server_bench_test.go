package server

import (
	"log/slog"
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
