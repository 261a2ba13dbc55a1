package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-dev/sluice/server/awsproto"
	"github.com/sluice-dev/sluice/server/h2c"
)

// resetter is the part of *engine.DB the server core calls directly; the
// services hold the DB themselves.
type resetter interface {
	Reset(ctx context.Context) error
}

// Server serves the registered AWS APIs, /health, /metrics and (optionally)
// /_sluice/reset on one fasthttp listener.
type Server struct {
	cfg     Config
	db      resetter
	log     *slog.Logger
	http    *fasthttp.Server
	metrics *metrics

	// baseCtx is every Request.Context; cancelled by Shutdown so long polls
	// end and the drain is quick.
	baseCtx context.Context
	cancel  context.CancelFunc

	serving atomic.Bool

	// mu guards registration. Once serving is set the tables are read-only
	// and read without the lock.
	mu       sync.Mutex
	services []*Service
	// borrowers are the services' QueryBorrow functions (see queryBorrow).
	borrowers  []func(key string) bool
	borrowFunc func(key string) bool // queryBorrow once there are borrowers, else nil
	byName     map[string]*Service
	byTarget   map[string]*Service

	http2 http2Handlers
	// h2ln is the sniffing listener Serve wraps around its listener, for
	// Shutdown to drain HTTP/2 through (nil before Serve).
	h2ln atomic.Pointer[h2c.Listener]

	exchanges sync.Pool // *exchange
	buffers   bufferPool
	strings   *stringCache
	// urlHostPrefix is "Hostname:" (bracketed for IPv6) when
	// Config.Hostname has no port, to which urlHost appends the request's;
	// "" otherwise.
	urlHostPrefix string
}

// newServer builds a Server over anything that can Reset; New wraps it for
// *engine.DB.
func newServer(db resetter, cfg Config) (*Server, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:      cfg,
		db:       db,
		log:      cfg.Logger,
		byName:   make(map[string]*Service),
		byTarget: make(map[string]*Service),
		strings:  newStringCache(),
	}
	if _, _, err := net.SplitHostPort(cfg.Hostname); cfg.Hostname != "" && err != nil {
		s.urlHostPrefix = net.JoinHostPort(cfg.Hostname, "")
	}
	s.baseCtx, s.cancel = context.WithCancel(context.Background())
	m, err := newMetrics()
	if err != nil {
		return nil, err
	}
	s.metrics = m
	s.exchanges.New = func() any { return &exchange{} }
	s.http = &fasthttp.Server{
		Handler:      s.handle,
		ErrorHandler: s.handleReadError,
		Logger:       fasthttpLogger{s.log},
		// fasthttp's 4 MiB default is below Kinesis PutRecords.
		MaxRequestBodySize: cfg.MaxRequestBodyBytes,
		Concurrency:        cfg.MaxConnections,
		ReadTimeout:        cfg.ReadTimeout,
		WriteTimeout:       cfg.WriteTimeout,
		IdleTimeout:        cfg.IdleTimeout,
		// Idle worker goroutines are reaped after this long.
		MaxIdleWorkerDuration: 10 * time.Second,
		// SigV4 headers plus a session token exceed the 4 KiB default.
		ReadBufferSize:               16 << 10,
		ReduceMemoryUsage:            false,
		DisablePreParseMultipartForm: true,
		NoDefaultServerHeader:        true,
		NoDefaultContentType:         true,
		CloseOnShutdown:              true,
		TCPKeepalive:                 true,
		StreamRequestBody:            false,
	}
	return s, nil
}

// Serve accepts connections on ln until Shutdown. It returns nil after
// Shutdown and the accept error otherwise. Call Register for every service
// before Serve.
//
// Connections that open with the HTTP/2 client preface (cleartext HTTP/2
// with prior knowledge, as the Java SDK's Netty client and the KCL use) are
// served by package h2c through the same routing; see Shutdown for how
// they end.
func (s *Server) Serve(ln net.Listener) error {
	s.serving.Store(true)
	s.log.Info("sluice: serving", "addr", ln.Addr().String(), "services", s.serviceNames())
	h2 := s.http2.counting(h2c.Handler(s.handleHTTP2, int64(s.cfg.MaxRequestBodyBytes)))
	h2ln := h2c.NewListener(ln, h2, h2c.Options{Logger: s.log})
	s.h2ln.Store(h2ln)
	if err := s.http.Serve(h2ln); err != nil {
		return fmt.Errorf("server: serve %s: %w", ln.Addr(), err)
	}
	return nil
}

// ListenAndServe listens on Config.Addr and calls Serve.
func (s *Server) ListenAndServe() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("server: listen %s: %w", s.cfg.Addr, err)
	}
	return s.Serve(ln)
}

// Shutdown stops accepting connections, cancels Request.Context (ending
// long polls and SubscribeToShard streams early, with empty results), and
// waits until every in-flight request has been answered or ctx is done;
// it returns ctx.Err() in the latter case. Idle keep-alive connections are
// closed.
//
// HTTP/2 connections are drained first (drainHTTP2): each gets a GOAWAY,
// its requests in flight are answered, then it closes; meanwhile HTTP/1.x
// keeps being served, and is drained next. If ctx ends
// first, what is left is cut off, and Shutdown still waits for HTTP/2
// handlers to return (until ctx ends), so that none runs after it.
func (s *Server) Shutdown(ctx context.Context) error {
	s.cancel()
	var drainErr error
	if ln := s.h2ln.Load(); ln != nil {
		drainErr = s.drainHTTP2(ctx, ln)
	}
	if err := s.http.ShutdownWithContext(ctx); err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	if err := s.http2.wait(ctx); err != nil {
		return fmt.Errorf("server: shutdown: waiting for HTTP/2 handlers: %w", err)
	}
	if drainErr != nil {
		return fmt.Errorf("server: shutdown: draining HTTP/2: %w", drainErr)
	}
	return nil
}

// http2FlushGrace is how long an HTTP/2 drain goes on once no HTTP/2
// handler runs: net/http writes a reply's last frames just after its
// handler returns.
const http2FlushGrace = 100 * time.Millisecond

// drainHTTP2 drains ln's HTTP/2 connections (DrainHTTP2) until every
// HTTP/2 request in flight has been answered, or ctx ends. net/http's
// graceful shutdown would also keep each connection open for a second
// after its GOAWAY, for the client to read it (so a restart with a KCL
// connected would take a second longer); instead the drain ends once no
// HTTP/2 handler has run for http2FlushGrace (a request that arrives
// meanwhile, sent before the client read the GOAWAY, restarts the wait),
// closing what is left: idle connections only by then.
func (s *Server) drainHTTP2(ctx context.Context, ln *h2c.Listener) error {
	drainCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		defer stop()
		t := time.NewTimer(http2FlushGrace)
		defer t.Stop()
		for {
			if s.http2.wait(drainCtx) != nil {
				return
			}
			_, entered := s.http2.state()
			t.Reset(http2FlushGrace)
			select {
			case <-t.C:
			case <-drainCtx.Done():
				return
			}
			if active, now := s.http2.state(); active == 0 && now == entered {
				return
			}
		}
	}()
	if err := ln.DrainHTTP2(drainCtx); err != nil && ctx.Err() != nil {
		return err // the caller's deadline, not the end of the drain
	}
	return nil
}

func (s *Server) serviceNames() []string {
	names := make([]string, len(s.services))
	for i, svc := range s.services {
		names[i] = svc.Name
	}
	return names
}

// Paths the server answers itself; everything else is AWS routing.
const (
	pathHealth  = "/health"
	pathMetrics = "/metrics"
	pathReset   = "/_sluice/reset"
)

func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	method := ctx.Method()
	switch string(ctx.Path()) {
	case pathHealth:
		if isGetOrHead(method) {
			s.serveHealth(ctx)
			return
		}
	case pathMetrics:
		if isGetOrHead(method) {
			s.metrics.serve(ctx)
			return
		}
	case pathReset:
		// Without EnableReset the path is just another AWS request, which
		// routes to an unknown-operation error, never to a reset.
		if s.cfg.EnableReset && string(method) == fasthttp.MethodPost {
			s.serveReset(ctx)
			return
		}
	}
	s.serveAWS(ctx)
}

// userValueHTTP2 marks requests that arrived over HTTP/2 through h2c: their
// RequestCtx has no real connection (ctx.Conn() must not be used).
const userValueHTTP2 = "sluice.http2"

func (s *Server) handleHTTP2(ctx *fasthttp.RequestCtx) {
	ctx.SetUserValue(userValueHTTP2, true)
	s.handle(ctx)
}

func isGetOrHead(method []byte) bool {
	return string(method) == fasthttp.MethodGet || string(method) == fasthttp.MethodHead
}

func (s *Server) serveHealth(ctx *fasthttp.RequestCtx) {
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("application/json")
	b := []byte(`{"status":"ok","services":[`)
	for i, name := range s.serviceNames() {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, name...) // validated: no characters needing escapes
		b = append(b, '"')
	}
	b = append(b, "]}"...)
	ctx.SetBody(b)
}

func (s *Server) serveReset(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("application/json")
	if err := s.db.Reset(s.baseCtx); err != nil {
		s.log.Error("sluice: reset failed", "err", err)
		ctx.SetStatusCode(fasthttp.StatusInternalServerError)
		ctx.SetBodyString(`{"status":"error","message":"reset failed; see the server log"}`)
		return
	}
	s.log.Info("sluice: reset: all resources deleted")
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetBodyString(`{"status":"ok"}`)
}

// handleReadError answers requests fasthttp could not read: bodies over
// MaxRequestBodyBytes get an AWS-shaped RequestEntityTooLarge in the
// protocol the headers announce; other read errors close the connection.
func (s *Server) handleReadError(ctx *fasthttp.RequestCtx, err error) {
	if !errors.Is(err, fasthttp.ErrBodyTooLarge) {
		s.log.Debug("sluice: bad request", "remote", ctx.RemoteAddr().String(), "err", err)
		ctx.Response.Reset()
		ctx.SetStatusCode(fasthttp.StatusBadRequest)
		ctx.SetConnectionClose()
		return
	}
	x := s.acquireExchange(ctx)
	defer s.releaseExchange(x)
	s.detectProtocol(x)
	if x.req.Protocol != awsproto.ProtocolQuery {
		prefix, _, _ := bytes.Cut(ctx.Request.Header.Peek("X-Amz-Target"), []byte("."))
		x.svc = s.byTarget[string(prefix)]
	}
	s.writeError(x, errRequestTooLarge(s.cfg.MaxRequestBodyBytes))
	s.metrics.observe(x)
}

type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Warn("fasthttp: " + fmt.Sprintf(format, args...))
}
