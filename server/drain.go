package server

import (
	"context"
	"net/http"
	"sync"
)

// HTTP/2 handlers and Shutdown.
//
// h2c serves HTTP/2 connections with its own net/http server, outside
// fasthttp. Shutdown drains them first (h2c.Listener.DrainHTTP2: a GOAWAY
// to each connection, then a wait for the requests in flight), but when
// ctx ends before that, or fasthttp closes the listener (which closes the
// remaining HTTP/2 connections outright), handlers may still be running,
// and cmd/sluice would close the engine under them. And no handler
// wrapper can tell when net/http is done with a response (it sends the
// last frames after the handler returns). So http2Handlers counts HTTP/2
// requests, from the adapter's start to its end (streamed bodies
// included), and Shutdown waits for the count to reach zero, so that no
// handler outlives Shutdown.
type http2Handlers struct {
	mu struct {
		sync.Mutex
		active  int
		entered uint64
		// idle is closed when active drops to zero; nil when nobody waits.
		idle chan struct{}
	}
}

func (h *http2Handlers) enter() {
	h.mu.Lock()
	h.mu.active++
	h.mu.entered++
	h.mu.Unlock()
}

// state returns the number of requests being handled and the number ever
// entered.
func (h *http2Handlers) state() (active int, entered uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.mu.active, h.mu.entered
}

func (h *http2Handlers) exit() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.mu.active--
	if h.mu.active == 0 && h.mu.idle != nil {
		close(h.mu.idle)
		h.mu.idle = nil
	}
}

// wait returns when no HTTP/2 request is being handled, or ctx is done.
func (h *http2Handlers) wait(ctx context.Context) error {
	h.mu.Lock()
	if h.mu.active == 0 {
		h.mu.Unlock()
		return nil
	}
	if h.mu.idle == nil {
		h.mu.idle = make(chan struct{})
	}
	idle := h.mu.idle
	h.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// counting wraps h2c's adapter with the accounting.
func (h *http2Handlers) counting(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.enter()
		defer h.exit()
		next.ServeHTTP(w, r)
	})
}
