// Package md5x8 computes the MD5 digests of several messages at once: one
// message per 32-bit lane of the AVX2 registers, eight lanes per
// instruction.
//
// SQS answers every SendMessageBatch entry with the MD5 of its body, and
// MD5 is serial within a message: crypto/md5 spends about 1.6 µs on a
// 1 KiB body here, the largest single item in a batched send's CPU
// profile. Across the independent messages of one batch the work
// vectorises: the eight-lane block function does eight blocks in little
// more than the time of one. (github.com/minio/md5-simd has such kernels,
// but only behind a server goroutine that each hash hands its blocks to;
// for 1 KiB messages that hand-off costs more than the hashing saves.)
//
// Without AVX2, or on other architectures, Sums hashes each message with
// crypto/md5.
package md5x8

import (
	"crypto/md5"
	"encoding/binary"
	"unsafe"
)

// Size is the size of an MD5 digest in bytes.
const Size = md5.Size

const blockSize = 64

// minLanes is the fewest messages worth a vector pass: one eight-lane
// block costs about what two scalar blocks do.
const minLanes = 3

// Sums sets out[i] to the MD5 digest of msgs[i]. out must be at least as
// long as msgs.
func Sums(out [][Size]byte, msgs []string) {
	_ = out[:len(msgs)]
	if !useAVX2 || len(msgs) < minLanes {
		for i, m := range msgs {
			out[i] = md5.Sum(unsafe.Slice(unsafe.StringData(m), len(m)))
		}
		return
	}
	sums8(out, msgs)
}

// lane is one message's progress through the eight-lane loop: its whole
// blocks are read in place, then one or two padded tail blocks from tail.
type lane struct {
	msg    int // index into msgs; -1 when the lane is idle
	data   unsafe.Pointer
	whole  int // whole blocks in data
	blocks int // whole + tail blocks
	next   int // next block to hash
	tail   [2 * blockSize]byte
}

var idleBlock [blockSize]byte

// MD5 initial state words (RFC 1321, section 3.3).
const (
	init0 = 0x67452301
	init1 = 0xefcdab89
	init2 = 0x98badcfe
	init3 = 0x10325476
)

func sums8(out [][Size]byte, msgs []string) {
	var (
		dig   [4][8]uint32
		ptrs  [8]*byte
		lanes [8]lane
	)
	for l := range lanes {
		lanes[l].msg = -1
	}
	next := 0
	for {
		active := 0
		for l := range lanes {
			ln := &lanes[l]
			if ln.msg < 0 && next < len(msgs) {
				ln.start(next, msgs[next])
				next++
				dig[0][l], dig[1][l], dig[2][l], dig[3][l] = init0, init1, init2, init3
			}
			switch {
			case ln.msg < 0:
				ptrs[l] = &idleBlock[0]
			case ln.next < ln.whole:
				ptrs[l] = (*byte)(unsafe.Add(ln.data, ln.next*blockSize))
				active++
			default:
				ptrs[l] = &ln.tail[(ln.next-ln.whole)*blockSize]
				active++
			}
		}
		if active == 0 {
			return
		}
		block8(&dig, &ptrs)
		for l := range lanes {
			ln := &lanes[l]
			if ln.msg < 0 {
				continue
			}
			if ln.next++; ln.next == ln.blocks {
				o := &out[ln.msg]
				for w := range 4 {
					binary.LittleEndian.PutUint32(o[4*w:], dig[w][l])
				}
				ln.msg = -1
			}
		}
	}
}

// start sets the lane to hash m, message i: its whole blocks in place and
// the rest, with MD5's padding and bit length, in the lane's tail.
func (ln *lane) start(i int, m string) {
	ln.msg = i
	ln.data = unsafe.Pointer(unsafe.StringData(m))
	ln.whole = len(m) / blockSize
	ln.next = 0
	rest := m[ln.whole*blockSize:]
	n := copy(ln.tail[:], rest)
	ln.tail[n] = 0x80
	tailBlocks := 1
	if n+1+8 > blockSize {
		tailBlocks = 2
	}
	end := tailBlocks * blockSize
	clear(ln.tail[n+1 : end-8])
	binary.LittleEndian.PutUint64(ln.tail[end-8:], uint64(len(m))<<3)
	ln.blocks = ln.whole + tailBlocks
}
