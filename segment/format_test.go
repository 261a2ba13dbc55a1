package segment

import (
	"encoding/binary"
	"encoding/hex"
	"testing"

	"github.com/cespare/xxhash/v2"
)

// TestFrameEncoding pins the frame layout byte for byte (the format must
// never change silently) and checks the decoder's verdict on damaged
// variants of each frame.
func TestFrameEncoding(t *testing.T) {
	tests := []struct {
		name    string
		seq     uint64
		entry   Entry
		wantHex string // everything after the checksum word
	}{
		{"empty", 1, Entry{}, "20000000" + "0000" + "0000" + "0100000000000000" + "0000000000000000"},
		{"key and payload padded", 0x0102, Entry{Timestamp: 5, Flags: 0xabcd, Key: []byte("k"), Payload: []byte("hi")},
			"23000000" + "0100" + "cdab" + "0201000000000000" + "0500000000000000" + "6b6869" + "0000000000"},
		{"negative timestamp", 9, Entry{Timestamp: -1, Payload: []byte("12345678")},
			"28000000" + "0000" + "0000" + "0900000000000000" + "ffffffffffffffff" + "3132333435363738"},
	}
	for _, tc := range tests {
		frame := appendFrame(nil, tc.seq, tc.entry.Timestamp, &tc.entry)
		if got := hex.EncodeToString(frame[8:]); got != tc.wantHex {
			t.Errorf("%s: encoded\n%s, want\n%s", tc.name, got, tc.wantHex)
		}
		if len(frame)%frameAlign != 0 || len(frame) != frameSizeBytes(len(tc.entry.Key), len(tc.entry.Payload)) {
			t.Errorf("%s: frame size %d not aligned or mispredicted", tc.name, len(frame))
		}
		var rec Record
		if n, status := decodeFrame(frame, &rec); status != frameOK || n != len(frame) || rec.Seq != tc.seq ||
			rec.Flags != tc.entry.Flags || string(rec.Key) != string(tc.entry.Key) || string(rec.Payload) != string(tc.entry.Payload) {
			t.Errorf("%s: decode %v %d %+v", tc.name, status, n, rec)
		}
		damage := []struct {
			what   string
			mutate func([]byte) []byte
			want   frameStatus
		}{
			{"short", func(b []byte) []byte { return b[:len(b)-1] }, frameShort},
			{"header only", func(b []byte) []byte { return b[:frameHeaderSize-1] }, frameShort},
			{"checksum", func(b []byte) []byte { b[0] ^= 1; return b }, frameBadChecksum},
			{"seq", func(b []byte) []byte { b[16] ^= 1; return b }, frameBadChecksum},
			{"length zero", func(b []byte) []byte { clear(b[8:12]); return b }, frameBadLength},
			{"length huge", func(b []byte) []byte { b[11] = 0x7f; return b }, frameBadLength},
			{"keyLen past length", func(b []byte) []byte { b[12], b[13] = 0xff, 0xff; return b }, frameBadLength},
		}
		for _, d := range damage {
			b := d.mutate(append([]byte(nil), frame...))
			if _, status := decodeFrame(b, &rec); status != d.want {
				t.Errorf("%s/%s: status %v, want %v", tc.name, d.what, status, d.want)
			}
		}
		if len(frame) > frameHeaderSize+len(tc.entry.Key)+len(tc.entry.Payload) {
			b := append([]byte(nil), frame...)
			b[len(b)-1] = 1
			if _, status := decodeFrame(b, &rec); status != frameBadPadding {
				t.Errorf("%s: nonzero padding gives %v", tc.name, status)
			}
		}
	}
}

// TestSegmentHeaderAndName pins the segment header layout and the strict
// file name parser.
func TestSegmentHeaderAndName(t *testing.T) {
	h := appendSegmentHeader(nil, segmentHeader{firstSeq: 0x10, baseTimestamp: 7})
	if got := hex.EncodeToString(h[:24]); got != "534c55534547"+"02"+"00"+"1000000000000000"+"0700000000000000" {
		t.Errorf("header %s", got)
	}
	if got, err := parseSegmentHeader(h); err != nil || got.version != 2 || got.firstSeq != 0x10 || got.baseTimestamp != 7 {
		t.Errorf("parse: %+v %v", got, err)
	}
	// Version 1 headers (written before preallocation) still parse.
	v1 := appendSegmentHeader(nil, segmentHeader{version: 1, firstSeq: 0x10, baseTimestamp: 7})
	if got, err := parseSegmentHeader(v1); err != nil || got.version != 1 || got.firstSeq != 0x10 {
		t.Errorf("parse v1: %+v %v", got, err)
	}
	for _, bad := range []byte{0, 3} {
		b := appendSegmentHeader(nil, segmentHeader{version: bad, firstSeq: 1})
		if bad == 0 {
			b[6] = 0
			binary.LittleEndian.PutUint64(b[24:], xxhash.Sum64(b[:24]))
		}
		if _, err := parseSegmentHeader(b); err == nil {
			t.Errorf("version %d accepted", bad)
		}
	}
	for i := 0; i < segmentHeaderSize; i++ {
		b := append([]byte(nil), h...)
		b[i] ^= 0x40
		if _, err := parseSegmentHeader(b); err == nil {
			t.Errorf("flip at %d accepted", i)
		}
	}
	names := []struct {
		name string
		seq  uint64
		ok   bool
	}{
		{"0000000000000001.seg", 1, true},
		{"00000000000000ff.seg", 255, true},
		{"ffffffffffffffff.seg", 1<<64 - 1, true},
		{"0000000000000000.seg", 0, false},
		{"00000000000000FF.seg", 0, false},
		{"000000000000001.seg", 0, false},
		{"00000000000000001.seg", 0, false},
		{"0000000000000001.seg.tmp", 0, false},
		{"000000000000000g.seg", 0, false},
		{"+000000000000001.seg", 0, false},
		{"0000000000000001.sex", 0, false},
	}
	for _, tc := range names {
		seq, ok := parseSegmentName(tc.name)
		if seq != tc.seq && tc.ok || ok != tc.ok {
			t.Errorf("parseSegmentName(%q) = %d, %v", tc.name, seq, ok)
		}
		if tc.ok && segmentName(seq) != tc.name {
			t.Errorf("segmentName(%d) = %q", seq, segmentName(seq))
		}
	}
}

// TestDecideTail drives the recovery decision with constructed segment
// images: zeros to the end of the file end the data; torn writes (short
// writes, lost pages of an interrupted write) are truncated; damage
// followed by valid frames is corruption.
func TestDecideTail(t *testing.T) {
	// image has a header and frames of 1000-byte payloads (1032 bytes each),
	// so frames cross 4 KiB page boundaries.
	image := func(frames int) []byte {
		b := appendSegmentHeader(nil, segmentHeader{firstSeq: 1})
		for i := 0; i < frames; i++ {
			e := Entry{Payload: make([]byte, 1000)}
			for j := range e.Payload {
				e.Payload[j] = byte(i + j | 1)
			}
			b = appendFrame(b, uint64(i+1), 0, &e)
		}
		return b
	}
	frameOffset := func(i int) int { return segmentHeaderSize + i*1032 }
	tests := []struct {
		name      string
		data      []byte
		wantValid int // frames kept
		want      tailDecision
	}{
		{"clean", image(6), 6, tailEnd},
		{"zeros after", append(image(6), make([]byte, 5000)...), 6, tailEnd},
		{"zeroed last frames", zero(image(6), frameOffset(4), frameOffset(6)), 4, tailEnd},
		{"garbage after zeros", flip(append(image(6), make([]byte, 5000)...), frameOffset(6)+3000), 6, tailTorn},
		{"short write", image(6)[:frameOffset(5)+100], 5, tailTorn},
		{"flip in last frame", flip(image(6), frameOffset(5)+500), 5, tailCorrupt},
		{"flip in last frame, zero fill after", flip(append(image(6), make([]byte, 3000)...), frameOffset(5)+500), 5, tailCorrupt},
		{"flip in last frame's header, zero fill after", flip(append(image(6), make([]byte, 3000)...), frameOffset(5)+17), 5, tailCorrupt},
		{"flip in last frame, garbage after", append(flip(image(6), frameOffset(5)+500), 1, 2, 3), 5, tailTorn},
		{"last frame with a lost sector", zero(image(6), 6144, 6144+512), 5, tailTorn},
		{"last frame grown by a length flip", flip(append(image(6), make([]byte, 3000)...), frameOffset(5)+9), 5, tailTorn},
		{"flip in middle frame", flip(image(6), frameOffset(2)+500), 2, tailCorrupt},
		{"flip in middle header", flip(image(6), frameOffset(2)+9), 2, tailCorrupt},
		{"zeroed middle header word", zero(image(6), frameOffset(2), frameOffset(2)+8), 2, tailCorrupt},
		{"lost page then valid frames", zero(image(12), 4096, 8192), 3, tailTorn},
		{"lost page remainder then valid frames", zero(image(12), frameOffset(7), 8192), 7, tailTorn},
		{"lost first page of data", zero(image(12), segmentHeaderSize, 4096), 0, tailTorn},
	}
	for _, tc := range tests {
		res := scanBytes(tc.data, segmentHeader{firstSeq: 1}, 4096)
		if got := int(res.nextSeq - 1); got != tc.wantValid {
			t.Errorf("%s: %d valid frames, want %d", tc.name, got, tc.wantValid)
			continue
		}
		got := tailEnd
		if res.badStatus != frameOK {
			var err error
			if got, _, err = decideTail(bytesImage(tc.data), res.validEnd, res.nextSeq); err != nil {
				t.Fatal(err)
			}
		}
		if got != tc.want {
			t.Errorf("%s: decision %v, want %v", tc.name, got, tc.want)
		}
	}
}

func flip(b []byte, off int) []byte { b[off] ^= 0x08; return b }

func zero(b []byte, from, to int) []byte { clear(b[from:to]); return b }
