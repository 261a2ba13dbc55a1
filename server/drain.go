package server

import (
	"context"
	"net/http"
	"sync"
)

// HTTP/2 handlers and Shutdown.
//
// h2c serves HTTP/2 connections with its own net/http server, outside
// fasthttp, and when its listener is closed (fasthttp does that first thing
// in ShutdownWithContext) it closes them outright: requests in flight are
// cut off, and their handlers run on after Shutdown has returned, when
// cmd/sluice is closing the engine under them. h2c exposes no graceful
// shutdown, and one cannot be built from out here: net/http sends a
// response's last frames after the handler has returned, so no handler
// wrapper can tell when it is safe to close. So the server does the part
// it can: http2Handlers counts HTTP/2 requests, from the adapter's start to
// its end (streamed bodies included), and Shutdown waits for the count to
// reach zero after closing the listener, so no handler outlives Shutdown.
type http2Handlers struct {
	mu struct {
		sync.Mutex
		active int
		// idle is closed when active drops to zero; nil when nobody waits.
		idle chan struct{}
	}
}

func (h *http2Handlers) enter() {
	h.mu.Lock()
	h.mu.active++
	h.mu.Unlock()
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
