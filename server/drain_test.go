package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

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

// TestShutdownWaitsForHTTP2Handlers checks that no HTTP/2 handler runs
// after Shutdown returns. Bug story: h2c closes HTTP/2 connections
// outright when its listener closes, and Shutdown returned at once, while
// an HTTP/2 handler was still running; cmd/sluice then closed the engine
// under it. Method: an HTTP/2 request blocks in its handler; Shutdown cuts
// the client off (h2c cannot drain) but returns only once the handler has
// (TestHTTP2ShutdownDeadline shows the wait deterministically).
// A long poll in flight over HTTP/2 ends with the cancellation as before.
func TestShutdownWaitsForHTTP2Handlers(t *testing.T) {
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
	replies := make(chan replyOrError, 2)
	for _, body := range []string{`{"slow":1}`, `{"poll":1}`} {
		go func() {
			r, err := postHTTP2(client, ts.url, "AmazonSQS.Block", body)
			replies <- replyOrError{r, err}
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
	// Both requests end for the client: the slow one cut off when the
	// connection closes, the long poll answered or cut off with it.
	cut := 0
	for range 2 {
		if r := <-replies; r.err != nil {
			cut++
		}
	}
	if cut == 0 {
		t.Fatal("the blocked HTTP/2 request was answered before its handler returned")
	}
	releaseOnce()
	if r := <-shutdown; r.err != nil || !r.handlerByThen {
		t.Fatalf("Shutdown returned %v; the HTTP/2 handler had returned by then: %v", r.err, r.handlerByThen)
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
