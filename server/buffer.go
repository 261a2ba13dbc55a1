package server

import (
	"io"
	"math/bits"
	"slices"
	"sync"
)

// Response buffers.
//
// A handler appends its output to Response.B. Small outputs (up to
// smallBufferKeepMax) are copied into fasthttp's response, and the buffer
// stays with the pooled exchange for the next request. Large outputs are
// not copied: the buffer itself becomes fasthttp's body. Over HTTP/1 that
// is a responseBody read as a body stream; fasthttp closes it after
// writing the response, which returns the buffer to bufferPool.
//
// Only buffers the pool lent (through Response.Grow) go back to it, and
// only when B still is that buffer: a large buffer the handler grew by
// itself, or one that might alias a buffer still in use, is left to the
// garbage collector. So the pool never holds more buffers than were lent at
// once, and a handler that ignores Grow costs an allocation but never
// fills the pool with buffers nobody asks for.
//
// Numbers: a Kinesis GetRecords answer is up to 10 MiB of data, base64
// encoded in JSON (~14 MB). Copying it costs ~1.5 ms of memmove at ~10
// GB/s, allocating it fresh costs as much again in page faults and zeroing,
// and growing it by appending from small would copy ~5x its size.
const (
	// smallBufferKeepMax is the largest buffer an exchange keeps for its
	// next request, and the size up to which a body is copied into
	// fasthttp's response rather than handed over.
	smallBufferKeepMax = 64 << 10
	// bufferClassMin and bufferClassMax bound the size classes of
	// bufferPool, as powers of two: class k holds buffers whose capacity
	// is in [2^k, 2^(k+1)). Class 24 (16 MiB) holds a 14 MB GetRecords
	// answer; buffers of 32 MiB or more are left to the garbage collector.
	bufferClassMin = 16
	bufferClassMax = 24
)

// bufferPool is a size-classed pool of large byte buffers. Each class is a
// sync.Pool, so what it holds is bounded by the peak number of buffers in
// use at once, and buffers unused for two GC cycles are freed
// [vm lib/leveledbytebufferpool].
type bufferPool struct {
	classes [bufferClassMax - bufferClassMin + 1]sync.Pool // *pooledBuffer with b set
	// holders recycles the *pooledBuffer boxes, so get and put allocate
	// nothing in steady state.
	holders sync.Pool // *pooledBuffer with b nil
	bodies  sync.Pool // *responseBody
}

type pooledBuffer struct{ b []byte }

// get returns an empty buffer with capacity at least n.
func (p *bufferPool) get(n int) []byte {
	n = max(n, 1)
	class := max(bufferClassMin, bits.Len(uint(n-1))) // ceil(log2(n))
	if class > bufferClassMax {
		return make([]byte, 0, n)
	}
	if v := p.classes[class-bufferClassMin].Get(); v != nil {
		holder := v.(*pooledBuffer)
		b := holder.b
		holder.b = nil
		p.holders.Put(holder)
		return b[:0]
	}
	return make([]byte, 0, 1<<class)
}

// put hands b to the pool; the caller must not use it afterwards. Buffers
// below the smallest class or above the largest are dropped.
func (p *bufferPool) put(b []byte) {
	class := bits.Len(uint(cap(b))) - 1 // floor(log2(cap))
	if class < bufferClassMin || class > bufferClassMax {
		return
	}
	holder, _ := p.holders.Get().(*pooledBuffer)
	if holder == nil {
		holder = &pooledBuffer{}
	}
	holder.b = b[:0]
	p.classes[class-bufferClassMin].Put(holder)
}

// body wraps b, framed by head and tail (the XML envelope; both copied),
// as a body stream. When it is closed, loan (nil, or the pooled buffer
// b lies in) goes back to the pool.
func (p *bufferPool) body(head, b, tail, loan []byte) *responseBody {
	r, _ := p.bodies.Get().(*responseBody)
	if r == nil {
		r = &responseBody{pool: p}
	}
	r.envelope = append(append(r.envelope[:0], head...), tail...)
	r.parts = [3][]byte{r.envelope[:len(head)], b, r.envelope[len(head):]}
	r.loan = loan
	r.size = len(head) + len(b) + len(tail)
	return r
}

// responseBody is a large response on its way to the client. fasthttp owns
// it from SetBodyStream on: it reads it (WriteTo) and closes it after the
// response has been written or abandoned, and Close returns the buffer to
// the pool. A responseBody that is never closed (its RequestCtx dropped)
// is simply garbage collected.
type responseBody struct {
	pool     *bufferPool
	loan     []byte    // the pooled buffer under parts[1], returned by Close; or nil
	parts    [3][]byte // head, body, tail; consumed from the front
	envelope []byte    // storage for head and tail, kept across uses
	size     int       // total bytes, for Content-Length
}

// Read implements io.Reader for consumers that do not use WriteTo.
func (r *responseBody) Read(p []byte) (int, error) {
	for i := range r.parts {
		if len(r.parts[i]) > 0 {
			n := copy(p, r.parts[i])
			r.parts[i] = r.parts[i][n:]
			return n, nil
		}
	}
	return 0, io.EOF
}

// WriteTo writes what is left of the body to w without copying it first.
func (r *responseBody) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for i := range r.parts {
		for len(r.parts[i]) > 0 {
			n, err := w.Write(r.parts[i])
			total += int64(n)
			r.parts[i] = r.parts[i][n:]
			if err != nil {
				return total, err
			}
		}
	}
	return total, nil
}

// SupportsBodyWriteTo tells fasthttp that WriteTo may replace Read.
func (r *responseBody) SupportsBodyWriteTo() bool { return true }

// Close returns the buffer to the pool if it came from there. fasthttp
// calls it once, after the last read.
func (r *responseBody) Close() error {
	loan := r.loan
	r.loan = nil
	r.parts = [3][]byte{}
	r.size = 0
	if loan != nil {
		r.pool.put(loan)
	}
	r.pool.bodies.Put(r)
	return nil
}

// Grow makes room for at least n more bytes in B, like slices.Grow. When
// B would exceed 64 KiB, the new buffer comes from the server's
// size-classed pool and goes back to it once the response is written; the
// old B is recycled, so no slice of it may be used after Grow returns. A
// handler that knows its output is large (GetRecords) calls it before
// appending, so the answer costs neither an allocation nor repeated
// growth. Appending beyond the room made is allowed; the outgrown pooled
// buffer is then left to the garbage collector.
func (r *Response) Grow(n int) {
	if n <= cap(r.B)-len(r.B) {
		return
	}
	need := len(r.B) + n
	if need <= smallBufferKeepMax || r.buffers == nil {
		r.B = slices.Grow(r.B, n)
		return
	}
	b := append(r.buffers.get(need), r.B...)
	r.recycle()
	r.B = b
	r.loan = b[:cap(b)]
}

// isLoan reports whether b lies in the buffer the pool lent: whether it
// ends where the loan ends (two arrays never share their last element).
// A slice of the loan with its capacity cut short is not recognised, and
// so never handed back while in use.
func (r *Response) isLoan(b []byte) bool {
	return cap(b) > 0 && len(r.loan) > 0 && &b[:cap(b)][cap(b)-1] == &r.loan[len(r.loan)-1]
}

// recycle takes back B and the loan once neither is used any more: the
// loan goes back to the pool if B is (in) it, a small B becomes the
// exchange's buffer, and anything else is left to the garbage collector.
func (r *Response) recycle() {
	switch {
	case r.isLoan(r.B):
		r.buffers.put(r.loan)
	case r.B != nil && cap(r.B) <= smallBufferKeepMax:
		r.small = r.B[:0]
	}
	r.B, r.loan = nil, nil
}
