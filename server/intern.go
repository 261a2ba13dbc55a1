package server

import (
	"hash/maphash"
	"sync/atomic"
)

// Per-request strings.
//
// A request's Host header, URL path and operation name are the same few
// values request after request ("localhost:4566", "/" or an SQS queue
// path, "SendMessage"), yet each string(b) conversion allocated. They are
// not converted with an unsafe view of fasthttp's buffers either: handlers
// keep such strings past the request without knowing it (server/sqs names
// the queue by a substring of Request.Path, and engine.DB.Queue keeps that
// name as a map key), so a view would change under them when fasthttp
// reuses the buffer. Instead stringCache hands out ordinary heap strings,
// allocated once per distinct value.
const (
	// stringCacheSlots is the number of cached strings; a value whose
	// slot holds another is allocated again and replaces it.
	stringCacheSlots = 512
	// stringCacheBytesMax bounds a cached string, so the cache holds at
	// most 512 × 256 bytes = 128 KiB of strings. Longer values are
	// allocated every time.
	stringCacheBytesMax = 256
)

// stringCache is a fixed-size, lock-free, direct-mapped cache of strings
// keyed by their bytes. A client sending a new value on every request
// (random paths) only costs the hash and the allocation it cost before.
type stringCache struct {
	seed  maphash.Seed
	slots [stringCacheSlots]atomic.Pointer[string]
}

func newStringCache() *stringCache {
	return &stringCache{seed: maphash.MakeSeed()}
}

// get returns string(b), from the cache when it holds that value.
func (c *stringCache) get(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > stringCacheBytesMax {
		return string(b)
	}
	slot := &c.slots[maphash.Bytes(c.seed, b)%stringCacheSlots]
	if p := slot.Load(); p != nil && *p == string(b) { // the comparison does not allocate
		return *p
	}
	s := string(b)
	slot.Store(&s)
	return s
}
