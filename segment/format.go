package segment

import (
	"encoding/binary"
	"fmt"

	"github.com/cespare/xxhash/v2"
)

// On-disk format: never change. A different layout needs a new
// formatVersion, and readers must keep decoding every older version.
// FORMAT.md documents these constants and the layouts they describe.
const (
	// segmentMagic opens every segment file.
	segmentMagic = "SLUSEG"
	// formatVersion is the byte after the magic, written in new segments.
	// Version 2 (preallocation) allows zero bytes after the last frame;
	// version 1 segments are still read (FORMAT.md, "Versioning").
	formatVersion = 2
	// minFormatVersion is the oldest version readers accept.
	minFormatVersion = 1
	// segmentHeaderSize is the fixed size of the segment header:
	// magic[6] version[1] reserved[1] firstSeq[8] baseTimestamp[8] checksum[8].
	segmentHeaderSize = 32
	// frameHeaderSize is the fixed size of a record frame header:
	// checksum[8] length[4] keyLen[2] flags[2] seq[8] timestamp[8].
	frameHeaderSize = 32
	// frameAlign is the frame alignment: every frame starts at a multiple of
	// 8 bytes, so a frame's first word (checksum) and its length word never
	// straddle a sector.
	frameAlign = 8
	// maxFrameSizeBytes bounds a frame's length field (header, key and
	// payload, without padding). The decoder rejects larger values before
	// trusting them.
	maxFrameSizeBytes = 64 << 20
	// maxKeySizeBytes bounds the key/attribute block (keyLen is 16 bits).
	maxKeySizeBytes = 1<<16 - 1
	// segmentSuffix and the 16 lowercase hex digits before it name a
	// segment by its first sequence number.
	segmentSuffix = ".seg"
	// tornBlockSize is the unit in which an interrupted write can lose data
	// (a page). It decides between a torn tail and corruption (FORMAT.md).
	tornBlockSize = 4096
	// sectorSize is the unit a device writes atomically: a sector holds
	// either its old or its new contents after a crash (FORMAT.md).
	sectorSize = 512
)

// Suffixes of helper files in a log directory.
const (
	tmpSuffix    = ".tmp"
	brokenSuffix = ".broken"
)

// segmentHeader is the decoded segment header.
type segmentHeader struct {
	version       uint8 // format version; 0 means formatVersion when encoding
	firstSeq      uint64
	baseTimestamp int64 // last timestamp of the previous segment (floor for this one)
}

// appendSegmentHeader appends the encoded header to dst.
func appendSegmentHeader(dst []byte, h segmentHeader) []byte {
	start := len(dst)
	dst = append(dst, segmentMagic...)
	version := h.version
	if version == 0 {
		version = formatVersion
	}
	dst = append(dst, version, 0)
	dst = binary.LittleEndian.AppendUint64(dst, h.firstSeq)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(h.baseTimestamp))
	sum := xxhash.Sum64(dst[start : start+24])
	return binary.LittleEndian.AppendUint64(dst, sum)
}

// parseSegmentHeader decodes and verifies a segment header.
func parseSegmentHeader(b []byte) (segmentHeader, error) {
	if len(b) < segmentHeaderSize {
		return segmentHeader{}, fmt.Errorf("short header (%d bytes)", len(b))
	}
	if string(b[0:6]) != segmentMagic {
		return segmentHeader{}, fmt.Errorf("bad magic %q", b[0:6])
	}
	if b[6] < minFormatVersion || b[6] > formatVersion {
		return segmentHeader{}, fmt.Errorf("unknown format version %d", b[6])
	}
	if b[7] != 0 {
		return segmentHeader{}, fmt.Errorf("reserved header byte is %d", b[7])
	}
	if xxhash.Sum64(b[0:24]) != binary.LittleEndian.Uint64(b[24:32]) {
		return segmentHeader{}, fmt.Errorf("header checksum mismatch")
	}
	h := segmentHeader{
		version:       b[6],
		firstSeq:      binary.LittleEndian.Uint64(b[8:16]),
		baseTimestamp: int64(binary.LittleEndian.Uint64(b[16:24])),
	}
	if h.firstSeq == 0 {
		return segmentHeader{}, fmt.Errorf("first sequence number is 0")
	}
	return h, nil
}

// alignFrame rounds n up to the frame alignment.
func alignFrame(n int) int {
	return (n + frameAlign - 1) &^ (frameAlign - 1)
}

// frameSizeBytes returns the on-disk size of an entry's frame, padding
// included.
func frameSizeBytes(keyLen, payloadLen int) int {
	return alignFrame(frameHeaderSize + keyLen + payloadLen)
}

// appendFrame appends the frame for one record to dst. The caller has
// checked the key and frame size limits.
func appendFrame(dst []byte, seq uint64, timestamp int64, e *Entry) []byte {
	start := len(dst)
	length := frameHeaderSize + len(e.Key) + len(e.Payload)
	size := alignFrame(length)
	dst = growBytes(dst, size)
	frame := dst[start : start+size]
	binary.LittleEndian.PutUint32(frame[8:12], uint32(length))
	binary.LittleEndian.PutUint16(frame[12:14], uint16(len(e.Key)))
	binary.LittleEndian.PutUint16(frame[14:16], e.Flags)
	binary.LittleEndian.PutUint64(frame[16:24], seq)
	binary.LittleEndian.PutUint64(frame[24:32], uint64(timestamp))
	copy(frame[frameHeaderSize:], e.Key)
	copy(frame[frameHeaderSize+len(e.Key):], e.Payload)
	clear(frame[length:])
	binary.LittleEndian.PutUint64(frame[0:8], xxhash.Sum64(frame[8:length]))
	return dst
}

// growBytes extends dst by n bytes (contents of the new bytes unspecified).
func growBytes(dst []byte, n int) []byte {
	if cap(dst)-len(dst) < n {
		grown := make([]byte, len(dst), 2*cap(dst)+n)
		copy(grown, dst)
		dst = grown
	}
	return dst[:len(dst)+n]
}

// frameStatus is the outcome of decoding one frame.
type frameStatus uint8

const (
	frameOK          frameStatus = iota
	frameShort                   // the buffer ends before the frame does
	frameBadLength               // length or keyLen out of bounds
	frameBadChecksum             // checksum mismatch
	frameBadPadding              // nonzero padding after the payload
)

func (s frameStatus) String() string {
	switch s {
	case frameOK:
		return "ok"
	case frameShort:
		return "short frame"
	case frameBadLength:
		return "bad frame length"
	case frameBadChecksum:
		return "checksum mismatch"
	case frameBadPadding:
		return "nonzero padding"
	}
	return fmt.Sprintf("frameStatus(%d)", uint8(s))
}

// peekFrameSize returns the padded frame size declared by the header at b,
// or 0 when b is shorter than a header or the length is out of bounds.
func peekFrameSize(b []byte) int {
	if len(b) < frameHeaderSize {
		return 0
	}
	length := binary.LittleEndian.Uint32(b[8:12])
	if length < frameHeaderSize || length > maxFrameSizeBytes {
		return 0
	}
	return alignFrame(int(length))
}

// decodeFrame decodes and verifies the frame at the start of b into rec.
// rec.Key and rec.Payload alias b. It returns the padded frame size.
func decodeFrame(b []byte, rec *Record) (int, frameStatus) {
	if len(b) < frameHeaderSize {
		return 0, frameShort
	}
	length := binary.LittleEndian.Uint32(b[8:12])
	keyLen := uint32(binary.LittleEndian.Uint16(b[12:14]))
	if length < frameHeaderSize || length > maxFrameSizeBytes || keyLen > length-frameHeaderSize {
		return 0, frameBadLength
	}
	size := alignFrame(int(length))
	if len(b) < size {
		return 0, frameShort
	}
	if xxhash.Sum64(b[8:length]) != binary.LittleEndian.Uint64(b[0:8]) {
		return 0, frameBadChecksum
	}
	for _, c := range b[length:size] {
		if c != 0 {
			return 0, frameBadPadding
		}
	}
	rec.Flags = binary.LittleEndian.Uint16(b[14:16])
	rec.Seq = binary.LittleEndian.Uint64(b[16:24])
	rec.Timestamp = int64(binary.LittleEndian.Uint64(b[24:32]))
	keyEnd := frameHeaderSize + keyLen
	rec.Key = b[frameHeaderSize:keyEnd:keyEnd]
	rec.Payload = b[keyEnd:length:length]
	return size, frameOK
}

// segmentName returns the file name of the segment starting at firstSeq.
func segmentName(firstSeq uint64) string {
	return fmt.Sprintf("%016x%s", firstSeq, segmentSuffix)
}

// parseSegmentName parses a segment file name strictly: exactly 16
// lowercase hex digits followed by ".seg", and a nonzero value.
func parseSegmentName(name string) (uint64, bool) {
	if len(name) != 16+len(segmentSuffix) || name[16:] != segmentSuffix {
		return 0, false
	}
	var v uint64
	for i := 0; i < 16; i++ {
		c := name[i]
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uint64(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | uint64(c-'a'+10)
		default:
			return 0, false
		}
	}
	return v, v != 0
}
