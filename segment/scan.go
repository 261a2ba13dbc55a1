package segment

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/cespare/xxhash/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// scanBufBytes bounds the memory that recovery and index building use per
// segment: frames larger than this are verified with an incremental
// checksum.
const scanBufBytes = 256 << 10

// image gives bounded-memory access to the first size bytes of a segment:
// slices of a mapping, or of a buffer refilled with ReadAt.
type image struct {
	mapped []byte   // whole image (a mapping, or a test's byte slice)
	file   vfs.File // read through buf when mapped is nil
	size   int64
	buf    []byte
	bufOff int64
	bufLen int
}

// bytesImage returns an image of data.
func bytesImage(data []byte) *image {
	return &image{mapped: data, size: int64(len(data))}
}

// fileImage returns an image of the first size bytes of f.
func fileImage(f vfs.File, size int64) *image {
	return &image{file: f, size: size}
}

// at returns the bytes at [off, off+n), fewer only where the image ends
// first. n must not exceed scanBufBytes. The slice is valid until the
// next call.
func (im *image) at(off int64, n int) ([]byte, error) {
	end := min(off+int64(n), im.size)
	if off >= end {
		return nil, nil
	}
	if im.mapped != nil {
		return im.mapped[off:end], nil
	}
	if off >= im.bufOff && end <= im.bufOff+int64(im.bufLen) {
		return im.buf[off-im.bufOff : end-im.bufOff], nil
	}
	if im.buf == nil {
		im.buf = make([]byte, scanBufBytes)
	}
	want := min(int64(scanBufBytes), im.size-off)
	got, err := im.file.ReadAt(im.buf[:want], off)
	if err != nil && !(errors.Is(err, io.EOF) && int64(got) == want) {
		im.bufLen = 0
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("segment: file shorter than %d bytes: %w", im.size, io.ErrUnexpectedEOF)
		}
		return nil, fmt.Errorf("segment: reading at %d: %w", off, err)
	}
	im.bufOff, im.bufLen = off, got
	return im.buf[:end-off], nil
}

// frameAt decodes and verifies the frame at off into rec, like
// decodeFrame. For frames longer than scanBufBytes only rec's header
// fields are set (Key and Payload are nil).
func (im *image) frameAt(off int64, rec *Record) (int, frameStatus, error) {
	hdr, err := im.at(off, frameHeaderSize)
	if err != nil {
		return 0, 0, err
	}
	size := peekFrameSize(hdr)
	if size == 0 || size <= scanBufBytes {
		b, err := im.at(off, max(size, frameHeaderSize))
		if err != nil {
			return 0, 0, err
		}
		n, status := decodeFrame(b, rec)
		return n, status, nil
	}
	length := int64(binary.LittleEndian.Uint32(hdr[8:12]))
	keyLen := int64(binary.LittleEndian.Uint16(hdr[12:14]))
	if keyLen > length-frameHeaderSize {
		return 0, frameBadLength, nil
	}
	if off+int64(size) > im.size {
		return 0, frameShort, nil
	}
	var header [frameHeaderSize]byte
	copy(header[:], hdr)
	digest := xxhash.New()
	_, _ = digest.Write(header[8:]) // a Digest never fails
	for p := off + frameHeaderSize; p < off+length; {
		b, err := im.at(p, int(min(scanBufBytes, off+length-p)))
		if err != nil {
			return 0, 0, err
		}
		_, _ = digest.Write(b)
		p += int64(len(b))
	}
	if digest.Sum64() != binary.LittleEndian.Uint64(header[0:8]) {
		return 0, frameBadChecksum, nil
	}
	padding, err := im.at(off+length, size-int(length))
	if err != nil {
		return 0, 0, err
	}
	if !isZero(padding) {
		return 0, frameBadPadding, nil
	}
	*rec = Record{
		Flags:     binary.LittleEndian.Uint16(header[14:16]),
		Seq:       binary.LittleEndian.Uint64(header[16:24]),
		Timestamp: int64(binary.LittleEndian.Uint64(header[24:32])),
	}
	return size, frameOK, nil
}

// zeroFrom reports whether the image is all zero from off to its end, and
// the end of its last nonzero byte (off if none).
func (im *image) zeroFrom(off int64) (bool, int64, error) {
	lastNonZero := off
	for p := off; p < im.size; {
		b, err := im.at(p, scanBufBytes)
		if err != nil {
			return false, 0, err
		}
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] != 0 {
				lastNonZero = p + int64(i) + 1
				break
			}
		}
		p += int64(len(b))
	}
	return lastNonZero == off, lastNonZero, nil
}

// scanResult is what scanning a segment's frames found.
type scanResult struct {
	nextSeq       uint64
	lastTimestamp int64
	validEnd      int64 // end of the last good frame
	index         []indexEntry
	badStatus     frameStatus // why the frame at validEnd is bad (frameOK if none)
	badReason     string
}

// scanFrames verifies the frames of a segment image, building the sparse
// index. It stops at the first bad frame.
func scanFrames(im *image, h segmentHeader, indexIntervalBytes int64) (scanResult, error) {
	res := scanResult{nextSeq: h.firstSeq, lastTimestamp: h.baseTimestamp, validEnd: segmentHeaderSize}
	lastIndexOffset := int64(segmentHeaderSize)
	var rec Record
	for res.validEnd < im.size {
		off := res.validEnd
		n, status, err := im.frameAt(off, &rec)
		if err != nil {
			return res, err
		}
		if status != frameOK {
			res.badStatus, res.badReason = status, status.String()
			return res, nil
		}
		if rec.Seq != res.nextSeq || rec.Timestamp < res.lastTimestamp {
			res.badStatus = frameBadChecksum
			res.badReason = fmt.Sprintf("frame seq %d ts %d, want seq %d ts >= %d",
				rec.Seq, rec.Timestamp, res.nextSeq, res.lastTimestamp)
			return res, nil
		}
		if off-lastIndexOffset >= indexIntervalBytes {
			res.index = append(res.index, indexEntry{offset: uint32(off),
				seqDelta: uint32(rec.Seq - h.firstSeq), timestamp: rec.Timestamp})
			lastIndexOffset = off
		}
		res.nextSeq++
		res.lastTimestamp = rec.Timestamp
		res.validEnd = off + int64(n)
	}
	return res, nil
}

// copyRange writes the image bytes [from, to) to a new file at path and
// syncs it.
func copyRange(fs vfs.FS, path string, im *image, from, to int64) error {
	f, err := fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("segment: creating %s: %w", path, err)
	}
	for p := from; p < to && err == nil; {
		var b []byte
		if b, err = im.at(p, int(min(scanBufBytes, to-p))); err == nil {
			_, err = f.WriteAt(b, p-from)
			p += int64(len(b))
		}
	}
	if err == nil {
		err = f.Sync()
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return fmt.Errorf("segment: writing %s: %w", path, err)
	}
	return nil
}
