package segment

import (
	"bytes"
	"testing"
)

// fuzzSeedFrames returns valid frames plus damaged variants as seeds.
func fuzzSeedFrames() [][]byte {
	var seeds [][]byte
	for i, e := range []Entry{{}, {Key: []byte("k"), Payload: []byte("hello")}, testEntry(7),
		{Flags: 0xffff, Timestamp: -1, Payload: make([]byte, 100)}} {
		frame := appendFrame(nil, uint64(i+1), e.Timestamp, &e)
		seeds = append(seeds, frame, frame[:len(frame)-1], frame[:frameHeaderSize-1])
		flipped := bytes.Clone(frame)
		flipped[len(flipped)/2] ^= 0x10
		seeds = append(seeds, flipped)
	}
	return append(seeds, make([]byte, 64))
}

// FuzzDecodeFrame feeds arbitrary bytes to the frame decoder. It must not
// panic, must bound what it reads, and whatever it accepts must re-encode
// to exactly the same bytes (so nothing unchecksummed is accepted).
func FuzzDecodeFrame(f *testing.F) {
	for _, s := range fuzzSeedFrames() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var rec Record
		n, status := decodeFrame(data, &rec)
		if status != frameOK {
			return
		}
		if n > len(data) || n%frameAlign != 0 {
			t.Fatalf("decoded size %d of %d bytes", n, len(data))
		}
		e := Entry{Timestamp: rec.Timestamp, Flags: rec.Flags, Key: rec.Key, Payload: rec.Payload}
		if again := appendFrame(nil, rec.Seq, rec.Timestamp, &e); !bytes.Equal(again, data[:n]) {
			t.Fatalf("accepted frame does not re-encode identically")
		}
	})
}

// FuzzParseSegmentHeader feeds arbitrary bytes to the segment header
// parser: no panics, and an accepted header re-encodes identically.
func FuzzParseSegmentHeader(f *testing.F) {
	valid := appendSegmentHeader(nil, segmentHeader{firstSeq: 1})
	f.Add(valid)
	f.Add(appendSegmentHeader(nil, segmentHeader{firstSeq: 1 << 40, baseTimestamp: -5}))
	f.Add(valid[:10])
	f.Add(make([]byte, segmentHeaderSize))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := parseSegmentHeader(data)
		if err != nil {
			return
		}
		if again := appendSegmentHeader(nil, h); !bytes.Equal(again, data[:segmentHeaderSize]) {
			t.Fatalf("accepted header does not re-encode identically")
		}
	})
}

// FuzzRecoverTail scans an arbitrary segment body after a valid header,
// as recovery does: scanning and the torn/corrupt decision must not panic,
// and the valid prefix must lie within the data.
func FuzzRecoverTail(f *testing.F) {
	for _, s := range fuzzSeedFrames() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		data := append(appendSegmentHeader(nil, segmentHeader{firstSeq: 1}), body...)
		res := scanBytes(data, segmentHeader{firstSeq: 1}, 64)
		if res.validEnd > int64(len(data)) || res.validEnd < segmentHeaderSize {
			t.Fatalf("valid end %d outside [%d, %d]", res.validEnd, segmentHeaderSize, len(data))
		}
		if res.badStatus != frameOK {
			if _, brokenEnd, err := decideTail(bytesImage(data), res.validEnd, res.nextSeq); err != nil ||
				brokenEnd < res.validEnd || brokenEnd > int64(len(data)) {
				t.Fatalf("decideTail: broken end %d outside [%d, %d], %v", brokenEnd, res.validEnd, len(data), err)
			}
		}
	})
}
