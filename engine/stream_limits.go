package engine

import (
	"sync"
	"time"
)

// Per-shard throughput limits (AWS's provisioned shard capacity), enforced
// only when SetStreamLimits(true). Each limit is a token bucket refilled
// continuously at its rate and holding at most one second's worth.
const (
	shardWriteBytesPerSecond   = 1 << 20
	shardWriteRecordsPerSecond = 1000
	shardReadBytesPerSecond    = 2 << 20
	shardReadCallsPerSecond    = 5
)

// tokenBucket is a token bucket over the DB clock (unix nanoseconds).
type tokenBucket struct {
	tokens   float64
	lastNano int64
	started  bool
}

// refill adds tokens for the time since the last refill, up to burst.
func (b *tokenBucket) refill(now int64, rate, burst float64) {
	if !b.started {
		b.tokens, b.lastNano, b.started = burst, now, true
		return
	}
	if now > b.lastNano {
		b.tokens = min(burst, b.tokens+rate*float64(now-b.lastNano)/float64(time.Second))
		b.lastNano = now
	}
}

// shardLimiter holds one shard's buckets.
type shardLimiter struct {
	mu                       sync.Mutex
	writeBytes, writeRecords tokenBucket
	readBytes, readCalls     tokenBucket
}

// allowWrite takes one record of size bytes from the write buckets, or
// takes nothing and reports false.
func (l *shardLimiter) allowWrite(now time.Time, size int) bool {
	ns := now.UnixNano()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writeBytes.refill(ns, shardWriteBytesPerSecond, shardWriteBytesPerSecond)
	l.writeRecords.refill(ns, shardWriteRecordsPerSecond, shardWriteRecordsPerSecond)
	if l.writeRecords.tokens < 1 || l.writeBytes.tokens < float64(size) {
		return false
	}
	l.writeRecords.tokens--
	l.writeBytes.tokens -= float64(size)
	return true
}

// allowRead takes one read call; it also fails while the byte bucket is
// in debt from earlier large reads (AWS: a 10 MiB read blocks the next
// five seconds).
func (l *shardLimiter) allowRead(now time.Time) bool {
	ns := now.UnixNano()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.readCalls.refill(ns, shardReadCallsPerSecond, shardReadCallsPerSecond)
	l.readBytes.refill(ns, shardReadBytesPerSecond, shardReadBytesPerSecond)
	if l.readCalls.tokens < 1 || l.readBytes.tokens <= 0 {
		return false
	}
	l.readCalls.tokens--
	return true
}

// chargeRead takes the bytes a read returned (possibly into debt).
func (l *shardLimiter) chargeRead(now time.Time, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.readBytes.refill(now.UnixNano(), shardReadBytesPerSecond, shardReadBytesPerSecond)
	l.readBytes.tokens -= float64(n)
}
