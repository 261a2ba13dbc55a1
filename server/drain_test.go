package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/server/awsproto"
)

// http2Client returns a cleartext HTTP/2 (prior knowledge) client.
func http2Client(t *testing.T) *http.Client {
	transport := &http.Transport{Protocols: new(http.Protocols)}
	transport.Protocols.SetUnencryptedHTTP2(true)
	t.Cleanup(transport.CloseIdleConnections)
	return &http.Client{Transport: transport}
}

// postHTTP2 sends a JSON request over HTTP/2 and returns the reply, or the
// transport error.
func postHTTP2(client *http.Client, url, target, body string) (reply, error) {
	req, err := http.NewRequest("POST", url+"/", strings.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	req.Header.Set("X-Amz-Target", target)
	req.Header.Set("Content-Type", awsproto.ContentTypeJSON10)
	resp, err := client.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	if resp.ProtoMajor != 2 {
		return reply{}, errors.New("served over " + resp.Proto)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b)}, nil
}

type replyOrError struct {
	reply
	err error
}

// TestShutdownDrainsHTTP2 checks that Shutdown drains HTTP/2 as it does
// HTTP/1: a request in flight over HTTP/2 is answered, not cut off, and no
// HTTP/2 handler runs after Shutdown returns. Bug story: h2c closed HTTP/2
// connections outright when its listener closed, cutting such requests
// off (a KCL's PutRecords in flight at a restart got a reset stream, not
// its reply), and before that Shutdown even returned while an HTTP/2
// handler still ran, and cmd/sluice closed the engine under it. Method:
// an HTTP/2 request blocks in its handler and a long poll waits on
// another stream of the same connection; Shutdown starts; the long poll
// ends with the cancellation; the blocked handler is released only after
// Shutdown has had time to cut it off, and its reply must arrive intact
// before Shutdown returns.
func TestShutdownDrainsHTTP2(t *testing.T) {
	entered := make(chan struct{}, 2)
	release := make(chan struct{})
	handlerDone := make(chan struct{})
	block := func(req *Request) {
		entered <- struct{}{}
		if strings.Contains(string(req.Body), "poll") {
			<-req.Context.Done() // a long poll ends when the server stops
			return
		}
		<-release
		close(handlerDone)
	}
	ts := startServer(t, Config{}, fakeSQS(block))
	releaseOnce := sync.OnceFunc(func() { close(release) })
	t.Cleanup(releaseOnce) // before the server's cleanup, should the test fail early
	client := http2Client(t)
	slow := make(chan replyOrError, 1)
	poll := make(chan replyOrError, 1)
	for _, c := range []struct {
		body string
		out  chan replyOrError
	}{{`{"slow":1}`, slow}, {`{"poll":1}`, poll}} {
		go func() {
			r, err := postHTTP2(client, ts.url, "AmazonSQS.Block", c.body)
			c.out <- replyOrError{r, err}
		}()
		<-entered
	}
	type shutdownResult struct {
		err           error
		handlerByThen bool // whether the slow handler had returned
	}
	shutdown := make(chan shutdownResult, 1)
	go func() {
		err := ts.srv.Shutdown(context.Background())
		select {
		case <-handlerDone:
			shutdown <- shutdownResult{err, true}
		default:
			shutdown <- shutdownResult{err, false}
		}
	}()
	<-poll // answered or reset: it ends with the server's context
	select {
	case r := <-slow:
		t.Fatalf("the blocked HTTP/2 request ended before its handler returned: %+v, %v", r.reply, r.err)
	case r := <-shutdown:
		t.Fatalf("Shutdown returned (%v) while an HTTP/2 handler was blocked", r.err)
	case <-time.After(200 * time.Millisecond):
	}
	releaseOnce()
	if r := <-slow; r.err != nil || r.status != http.StatusOK {
		t.Fatalf("the HTTP/2 request in flight at Shutdown: status %d, err %v; want its reply", r.status, r.err)
	}
	if r := <-shutdown; r.err != nil || !r.handlerByThen {
		t.Fatalf("Shutdown returned %v; the HTTP/2 handler had returned by then: %v", r.err, r.handlerByThen)
	}
	if _, err := postHTTP2(http2Client(t), ts.url, "AmazonSQS.Block", `{"poll":1}`); err == nil {
		t.Fatal("a new HTTP/2 connection was served after Shutdown")
	}
}

// TestHTTP2HandlersWait checks the accounting Shutdown relies on: wait
// returns only with no request active, or with ctx's error.
func TestHTTP2HandlersWait(t *testing.T) {
	var h http2Handlers
	if err := h.wait(context.Background()); err != nil {
		t.Fatalf("wait with nothing active: %v", err)
	}
	h.enter()
	h.enter()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := h.wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("wait with two active and an ended context: %v", err)
	}
	waited := make(chan error, 1)
	go func() { waited <- h.wait(context.Background()) }()
	h.exit()
	h.exit()
	if err := <-waited; err != nil {
		t.Fatalf("wait after both exited: %v", err)
	}
}

// TestHTTP2ShutdownDeadline checks that Shutdown stops waiting for HTTP/2
// handlers when ctx ends: it still closes the listener and reports the
// context's error.
func TestHTTP2ShutdownDeadline(t *testing.T) {
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	ts := startServer(t, Config{}, fakeSQS(func(*Request) { entered <- struct{}{}; <-release }))
	releaseOnce := sync.OnceFunc(func() { close(release) })
	t.Cleanup(releaseOnce)
	client := http2Client(t)
	replies := make(chan replyOrError, 1)
	go func() {
		r, err := postHTTP2(client, ts.url, "AmazonSQS.Block", "{}")
		replies <- replyOrError{r, err}
	}()
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := ts.srv.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown with an ended context: %v", err)
	}
	if r := <-replies; r.err == nil {
		t.Fatalf("the cut-off request was answered: %+v", r.reply)
	}
	if _, err := http.Get(ts.url + "/health"); err == nil {
		t.Fatal("server still accepts connections after Shutdown")
	}
}
