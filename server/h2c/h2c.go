// Package h2c lets the fasthttp server, which speaks only HTTP/1.x, also
// serve cleartext HTTP/2 with prior knowledge ("h2c") on the same port.
//
// Some clients insist on HTTP/2: the Java SDK's Netty client and so the KCL
// 2.x send every Kinesis call, SubscribeToShard included, over HTTP/2, and
// against an http:// endpoint they open the connection with the HTTP/2
// client preface directly (no Upgrade dance). Listener sniffs the first
// bytes of each accepted connection: connections that start with the
// preface are served by golang.org/x/net/http2's server, everything else is
// handed to the wrapped server through Accept, bytes intact. HTTP/2 is
// served by net/http's own server with unencrypted HTTP/2 enabled
// (http.Protocols.SetUnencryptedHTTP2), which is what x/net/http2 became.
//
// Handler adapts the server's fasthttp.RequestHandler to net/http, so HTTP/2
// requests go through exactly the same routing and handlers; streamed
// responses (fasthttp body streams, as SubscribeToShard uses) are flushed
// to the HTTP/2 stream as they are produced.
//
// Wiring, in server.Serve:
//
//	ln = h2c.NewListener(ln, h2c.Handler(srv.Handler, cfg.MaxRequestBodySize), h2c.Options{Logger: logger})
//	err := srv.Serve(ln) // fasthttp sees only HTTP/1.x connections
package h2c

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// clientPreface is the HTTP/2 connection preface (RFC 9113 §3.4).
const clientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// Options configures a Listener. The zero value is usable.
type Options struct {
	// SniffTimeout bounds how long a new connection may take to send the
	// bytes that decide its protocol. A connection that stays silent that
	// long is handed to the HTTP/1 server, whose own timeouts then apply.
	// Default: 10 s.
	SniffTimeout time.Duration
	// MaxConcurrentStreams is the HTTP/2 per-connection stream limit.
	// Default: 250.
	MaxConcurrentStreams int
	// IdleTimeout closes HTTP/2 connections without open streams after
	// this long. Default: 5 min.
	IdleTimeout time.Duration
	// Logger receives connection-level HTTP/2 errors. Default: slog.Default().
	Logger *slog.Logger
}

func (o *Options) ensureDefaults() {
	if o.SniffTimeout <= 0 {
		o.SniffTimeout = 10 * time.Second
	}
	if o.MaxConcurrentStreams == 0 {
		o.MaxConcurrentStreams = 250
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 5 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// ErrClosed is returned by Accept after Close. It wraps net.ErrClosed, so
// servers treat it as a normal shutdown.
var ErrClosed = fmt.Errorf("h2c: listener closed: %w", net.ErrClosed)

type acceptResult struct {
	conn net.Conn
	err  error
}

// Listener is a net.Listener whose Accept returns only HTTP/1.x
// connections; HTTP/2 prior-knowledge connections are served in the
// background with the handler given to NewListener.
type Listener struct {
	inner net.Listener
	opts  Options
	// h2 serves the HTTP/2 connections handed to it through h2Conns.
	h2      *http.Server
	h2Conns *chanListener
	h2Done  chan struct{}

	accepted chan acceptResult
	closed   chan struct{}
	wg       sync.WaitGroup

	mu struct {
		sync.Mutex
		conns map[net.Conn]struct{} // being sniffed
		done  bool
	}
	closeOnce sync.Once
	closeErr  error
}

// NewListener wraps inner and starts accepting from it.
func NewListener(inner net.Listener, handler http.Handler, opts Options) *Listener {
	opts.ensureDefaults()
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	l := &Listener{
		inner: inner,
		opts:  opts,
		h2: &http.Server{
			Handler:     handler,
			Protocols:   &protocols,
			HTTP2:       &http.HTTP2Config{MaxConcurrentStreams: opts.MaxConcurrentStreams},
			IdleTimeout: opts.IdleTimeout,
			ErrorLog:    slog.NewLogLogger(opts.Logger.Handler(), slog.LevelDebug),
		},
		h2Conns:  newChanListener(inner.Addr()),
		h2Done:   make(chan struct{}),
		accepted: make(chan acceptResult),
		closed:   make(chan struct{}),
	}
	l.mu.conns = make(map[net.Conn]struct{})
	go func() {
		defer close(l.h2Done)
		_ = l.h2.Serve(l.h2Conns) // returns http.ErrServerClosed after Close
	}()
	l.wg.Add(1)
	go l.acceptLoop()
	return l
}

// Addr returns the inner listener's address.
func (l *Listener) Addr() net.Addr { return l.inner.Addr() }

// Accept returns the next HTTP/1.x connection.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case r := <-l.accepted:
		return r.conn, r.err
	case <-l.closed:
		return nil, ErrClosed
	}
}

// DrainHTTP2 shuts the HTTP/2 side down gracefully: every HTTP/2
// connection gets a GOAWAY (clients open no new streams on it), a new
// HTTP/2 connection is closed once sniffed, and DrainHTTP2 waits until
// every HTTP/2 request in flight has been answered and its connection
// closed, or until ctx ends, when it closes the rest outright and returns
// ctx's error. HTTP/1.x connections are not affected: Accept goes on
// returning them until Close. Call it before Close to drain HTTP/2;
// Close alone cuts HTTP/2 connections off.
func (l *Listener) DrainHTTP2(ctx context.Context) error {
	err := l.h2.Shutdown(ctx)
	if err != nil {
		_ = l.h2.Close() // the deadline passed: cut the rest off
	}
	return err
}

// Close stops accepting, closes every HTTP/2 connection (and every
// connection still being sniffed) and waits for their goroutines.
// Connections already returned by Accept belong to the caller.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() {
		close(l.closed)
		l.closeErr = l.inner.Close()
		l.mu.Lock()
		l.mu.done = true
		for c := range l.mu.conns {
			_ = c.Close() // best effort: the connection is being torn down
		}
		l.mu.Unlock()
		l.wg.Wait()
		// Close (not Shutdown): HTTP/2 streams such as SubscribeToShard
		// last minutes; their handlers see failed writes and end.
		if err := l.h2.Close(); err != nil && l.closeErr == nil {
			l.closeErr = err
		}
		<-l.h2Done
	})
	return l.closeErr
}

func (l *Listener) acceptLoop() {
	defer l.wg.Done()
	for {
		c, err := l.inner.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			select {
			case l.accepted <- acceptResult{err: err}:
			case <-l.closed:
			}
			return
		}
		if !l.track(c) {
			_ = c.Close() // listener closed meanwhile
			return
		}
		l.wg.Add(1)
		go l.sniff(c)
	}
}

// track registers c for Close; false if the listener is closing.
func (l *Listener) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mu.done {
		return false
	}
	l.mu.conns[c] = struct{}{}
	return true
}

func (l *Listener) untrack(c net.Conn) {
	l.mu.Lock()
	delete(l.mu.conns, c)
	l.mu.Unlock()
}

// sniff reads until the bytes either diverge from the HTTP/2 preface or
// complete it, then routes the connection.
func (l *Listener) sniff(c net.Conn) {
	defer l.wg.Done()
	prefix, isH2 := readPrefix(c, l.opts.SniffTimeout)
	pc := &prefixConn{Conn: c, prefix: prefix}
	l.untrack(c)
	target := l.accepted
	var h2Closed <-chan struct{}
	if isH2 {
		target, h2Closed = l.h2Conns.conns, l.h2Conns.closed
	}
	select {
	case target <- acceptResult{conn: pc}:
	case <-l.closed:
		_ = c.Close() // nobody will serve it
	case <-h2Closed:
		_ = c.Close() // HTTP/2 is draining (DrainHTTP2)
	}
}

// chanListener is the net.Listener the HTTP/2 server accepts from.
type chanListener struct {
	addr      net.Addr
	conns     chan acceptResult
	closed    chan struct{}
	closeOnce sync.Once
}

func newChanListener(addr net.Addr) *chanListener {
	return &chanListener{addr: addr, conns: make(chan acceptResult), closed: make(chan struct{})}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case r := <-l.conns:
		return r.conn, nil
	case <-l.closed:
		return nil, ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.addr }

// readPrefix reads from c until the data is known not to be the HTTP/2
// preface, or is the complete preface, or reading fails or times out.
func readPrefix(c net.Conn, timeout time.Duration) (prefix []byte, isH2 bool) {
	if err := c.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return nil, false
	}
	defer func() {
		_ = c.SetReadDeadline(time.Time{}) // the next owner sets its own
	}()
	buf := make([]byte, len(clientPreface))
	n := 0
	for n < len(buf) {
		m, err := c.Read(buf[n:])
		n += m
		if !bytes.HasPrefix([]byte(clientPreface), buf[:n]) {
			return buf[:n], false
		}
		if err != nil {
			return buf[:n], false
		}
	}
	return buf, true
}

// prefixConn replays bytes already read from the connection.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// String names the connection in logs.
func (c *prefixConn) String() string {
	return fmt.Sprintf("h2c.conn(%s)", c.RemoteAddr())
}

var _ io.Reader = (*prefixConn)(nil)
