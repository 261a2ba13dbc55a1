package h2c

import (
	"io"
	"net"
	"net/http"

	"github.com/valyala/fasthttp"
)

// Handler adapts a fasthttp handler to net/http for the HTTP/2 path.
// Request bodies above maxBodyBytes get 413 without reaching h. Responses
// with a body stream (fasthttp's SetBodyStream/SetBodyStreamWriter) are
// copied to the client with a flush after every write, so event streams
// reach the client as they are produced.
func Handler(h fasthttp.RequestHandler, maxBodyBytes int64) http.Handler {
	return &adapter{handler: h, maxBodyBytes: maxBodyBytes}
}

type adapter struct {
	handler      fasthttp.RequestHandler
	maxBodyBytes int64
}

// hopHeaders are HTTP/1 connection-level headers that HTTP/2 forbids.
var hopHeaders = map[string]bool{
	"Connection":        true,
	"Keep-Alive":        true,
	"Transfer-Encoding": true,
	"Upgrade":           true,
	"Proxy-Connection":  true,
	"Content-Length":    true, // net/http sets it from the body it is given
}

func (a *adapter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, a.maxBodyBytes+1))
	if err != nil {
		http.Error(w, "h2c: reading request body failed", http.StatusBadRequest)
		return
	}
	if int64(len(body)) > a.maxBodyBytes {
		http.Error(w, "h2c: request body too large", http.StatusRequestEntityTooLarge)
		return
	}

	var req fasthttp.Request
	req.Header.SetMethod(r.Method)
	req.SetRequestURI(r.URL.RequestURI())
	req.Header.SetHost(r.Host)
	for name, values := range r.Header {
		for _, v := range values {
			req.Header.Add(name, v)
		}
	}
	req.SetBody(body)

	var remote net.Addr
	if addr, err := net.ResolveTCPAddr("tcp", r.RemoteAddr); err == nil {
		remote = addr
	}
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, remote, nil)
	a.handler(&ctx)

	resp := &ctx.Response
	header := w.Header()
	for k, v := range resp.Header.All() {
		name := http.CanonicalHeaderKey(string(k))
		if hopHeaders[name] {
			continue
		}
		header.Add(name, string(v))
	}
	w.WriteHeader(resp.StatusCode())
	if !resp.IsBodyStream() {
		_, _ = w.Write(resp.Body()) // a failed write means the client went away
		return
	}
	fw := &flushWriter{w: w, rc: http.NewResponseController(w)}
	// Send the headers now: clients wait for them before reading events.
	if err := fw.rc.Flush(); err != nil {
		_ = resp.CloseBodyStream() // the client is gone; stop the producer
		return
	}
	// BodyWriteTo closes the stream either way; an error only means the
	// client went away, which the stream's writer sees as a failed write.
	_ = resp.BodyWriteTo(fw)
}

// flushWriter flushes after every write.
type flushWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (f *flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err != nil {
		return n, err
	}
	return n, f.rc.Flush()
}
