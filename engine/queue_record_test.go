package engine

import (
	"errors"
	"reflect"
	"testing"
)

// TestMessageRecordRoundTrip encodes key blocks with every optional field
// combination that matters and checks that decoding gives them back and
// that peekRecordSchedule and the string decoder of the receive path
// agree with the full decoder.
func TestMessageRecordRoundTrip(t *testing.T) {
	full := messageRecord{
		id:         newMessageID(),
		delayUntil: 1_700_000_000_000_000_000,
		sentAt:     1_600_000_000_000_000_000,
		groupID:    "group-1",
		dedupID:    "dedup\x00id",
		senderID:   "123456789012",
		attributes: []MessageAttribute{
			{Name: "s", DataType: "String", StringValue: "v"},
			{Name: "n", DataType: "Number.int", StringValue: "12"},
			{Name: "b", DataType: "Binary", BinaryValue: []byte{0, 1, 2}},
			{Name: "e", DataType: "Binary.x", BinaryValue: []byte{}},
		},
		systemAttributes: []MessageAttribute{{Name: "AWSTraceHeader", DataType: "String", StringValue: "Root=1"}},
		deadLetterSource: &QueueRef{Namespace: Namespace{Account: "a", Region: "r"}, Name: "src"},
	}
	for _, tc := range []struct {
		name string
		rec  messageRecord
	}{
		{"minimal", messageRecord{id: [16]byte{1}}},
		{"sender only", messageRecord{id: [16]byte{2}, senderID: "s"}},
		{"fifo", messageRecord{id: [16]byte{3}, groupID: "g", dedupID: "d"}},
		{"delayed", messageRecord{id: [16]byte{4}, delayUntil: 5}},
		{"full", full},
		{"digest", messageRecord{id: [16]byte{5}, digest: [16]byte{0xd4, 0x1d, 15: 0x7e}, hasDigest: true}},
		{"full with digest", func() messageRecord { r := full; r.digest, r.hasDigest = [16]byte{9, 8, 7}, true; return r }()},
		{"moved", messageRecord{id: [16]byte{6}, receiveCount: 1, firstReceivedAt: 1}},
		{"moved with digest", messageRecord{id: [16]byte{7}, digest: [16]byte{1, 15: 2}, hasDigest: true,
			receiveCount: 1<<32 - 1, firstReceivedAt: 1<<63 - 1}},
		{"full moved", func() messageRecord {
			r := full
			r.digest, r.hasDigest, r.receiveCount, r.firstReceivedAt = [16]byte{3}, true, 1000, 1_650_000_000_000_000_000
			return r
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := appendMessageRecord(nil, &tc.rec)
			var got messageRecord
			if err := decodeMessageRecord(key, &got); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(got, tc.rec) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, tc.rec)
			}
			sched, err := peekRecordSchedule(key)
			if err != nil || sched.delayUntil != tc.rec.delayUntil || sched.sentAt != tc.rec.sentAt ||
				string(sched.groupID) != tc.rec.groupID || sched.receiveCount != tc.rec.receiveCount ||
				sched.firstReceivedAt != tc.rec.firstReceivedAt {
				t.Fatalf("peek = %+v, %v", sched, err)
			}
			// The receive path decodes from a string into an arena: same
			// record.
			var fromText messageRecord
			if err := decodeRecord(string(key), &fromText, &decodeArena{expect: 3}); err != nil || !reflect.DeepEqual(fromText, tc.rec) {
				t.Fatalf("decode from text:\n got %+v (%v)\nwant %+v", fromText, err, tc.rec)
			}
			// Every strict prefix is malformed.
			for n := 0; n < len(key); n++ {
				if err := decodeMessageRecord(key[:n], &got); !errors.Is(err, errRecordMalformed) {
					t.Fatalf("prefix %d: err %v", n, err)
				}
			}
			if err := decodeMessageRecord(append(key, 0), &got); !errors.Is(err, errRecordMalformed) {
				t.Fatalf("trailing byte: err %v", err)
			}
		})
	}
}

// FuzzDecodeMessageRecord checks that the key-block decoder never panics,
// fails only with errRecordMalformed, agrees with its string (receive
// path) instantiation, and that whatever it accepts
// re-encodes to the same bytes (one canonical encoding per record).
func FuzzDecodeMessageRecord(f *testing.F) {
	f.Add(appendMessageRecord(nil, &messageRecord{id: [16]byte{1}}))
	f.Add(appendMessageRecord(nil, &messageRecord{id: [16]byte{2}, groupID: "g", dedupID: "d", delayUntil: 9,
		attributes: []MessageAttribute{{Name: "a", DataType: "Binary", BinaryValue: []byte("x")}}}))
	f.Add(appendMessageRecord(nil, &messageRecord{id: [16]byte{3}, digest: [16]byte{4}, hasDigest: true, senderID: "s"}))
	f.Add(appendMessageRecord(nil, &messageRecord{id: [16]byte{4}, receiveCount: 3, firstReceivedAt: 5, sentAt: 2,
		deadLetterSource: &QueueRef{Name: "src"}}))
	f.Add(appendMessageRecord(nil, &messageRecord{id: [16]byte{5}, digest: [16]byte{6}, hasDigest: true, receiveCount: 1,
		firstReceivedAt: 1, groupID: "g"}))
	f.Add([]byte{1, 0xff})
	f.Add([]byte{2, 0})
	f.Add([]byte{3, 0, 15: 0, 17: 0, 18: 2, 19: 1, 20: 1})
	f.Fuzz(func(t *testing.T, key []byte) {
		var m, fromText messageRecord
		err := decodeMessageRecord(key, &m)
		sched, perr := peekRecordSchedule(key)
		terr := decodeRecord(string(key), &fromText, &decodeArena{})
		if (err == nil) != (terr == nil) || (err == nil && !reflect.DeepEqual(m, fromText)) {
			t.Fatalf("string decoder disagrees: %v / %v\n%+v\n%+v", err, terr, m, fromText)
		}
		if err != nil {
			if !errors.Is(err, errRecordMalformed) {
				t.Fatalf("error %v does not wrap errRecordMalformed", err)
			}
			return
		}
		if perr != nil {
			t.Fatalf("full decode accepted what peek rejected: %v", perr)
		}
		if sched.delayUntil != m.delayUntil || sched.sentAt != m.sentAt || string(sched.groupID) != m.groupID ||
			sched.receiveCount != m.receiveCount || sched.firstReceivedAt != m.firstReceivedAt ||
			sched.deadLetterMoved != (m.deadLetterSource != nil) {
			t.Fatalf("peek %+v disagrees with the full decode %+v", sched, m)
		}
		again := appendMessageRecord(nil, &m)
		if string(again) != string(key) {
			t.Fatalf("non-canonical key block accepted: %x re-encodes to %x", key, again)
		}
	})
}

// TestMessageRecordVersion1Golden pins the version 1 key block layout:
// records written before version 2 existed (no body digest) must decode
// unchanged forever, and a record without a digest is still written as
// version 1, byte for byte.
func TestMessageRecordVersion1Golden(t *testing.T) {
	// version 1, flags recGroup|recSender, id 0x01..0x10, "g", "s".
	golden := []byte{1, recGroup | recSender,
		1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
		1, 'g', 1, 's'}
	want := messageRecord{id: [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, groupID: "g", senderID: "s"}
	var got messageRecord
	if err := decodeMessageRecord(golden, &got); err != nil {
		t.Fatalf("decode v1: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("v1 decode:\n got %+v\nwant %+v", got, want)
	}
	if again := appendMessageRecord(nil, &want); string(again) != string(golden) {
		t.Fatalf("a record without digest encodes as %x, want the v1 bytes %x", again, golden)
	}
	// The same record with a digest: version 2, digest after the id.
	want.digest, want.hasDigest = [16]byte{0xaa, 15: 0xbb}, true
	v2 := appendMessageRecord(nil, &want)
	if v2[0] != recordVersion2 || string(v2[18:34]) != string(want.digest[:]) || string(v2[34:]) != string(golden[18:]) {
		t.Fatalf("v2 layout: %x", v2)
	}
	if id := recordMessageID(v2); string(id) != string(want.id[:]) {
		t.Fatalf("recordMessageID of a v2 block = %x", id)
	}
}

// TestMessageRecordVersion3Golden pins the version 3 key block layout
// (written only by dead-letter redrive): version 3, the flags byte, the id,
// the version 3 flags byte (bit 0: a digest follows), the optional digest,
// the receive count and the first receive time, then the optional fields
// as in versions 1 and 2. It also checks that version 3 is strict: a zero
// count or time, an unknown version 3 flag and a missing digest are
// malformed, and version 4 is unknown.
func TestMessageRecordVersion3Golden(t *testing.T) {
	id := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	// version 3, flags recSender, id, no digest, count 5, first 300, "s".
	golden := append(append([]byte{3, recSender}, id[:]...), 0, 5, 0xac, 0x02, 1, 's')
	want := messageRecord{id: id, senderID: "s", receiveCount: 5, firstReceivedAt: 300}
	var got messageRecord
	if err := decodeMessageRecord(golden, &got); err != nil {
		t.Fatalf("decode v3: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("v3 decode:\n got %+v\nwant %+v", got, want)
	}
	if again := appendMessageRecord(nil, &want); string(again) != string(golden) {
		t.Fatalf("v3 encodes as %x, want %x", again, golden)
	}
	if id := recordMessageID(golden); string(id) != string(want.id[:]) {
		t.Fatalf("recordMessageID of a v3 block = %x", id)
	}
	// With a digest: version 3 flags bit 0, the digest before the count.
	want.digest, want.hasDigest = [16]byte{0xaa, 15: 0xbb}, true
	withDigest := appendMessageRecord(nil, &want)
	if withDigest[0] != recordVersion3 || withDigest[18] != rec3Digest || string(withDigest[19:35]) != string(want.digest[:]) ||
		string(withDigest[35:]) != string(golden[19:]) {
		t.Fatalf("v3 layout with digest: %x", withDigest)
	}

	bad := map[string][]byte{
		"zero count":          append(append([]byte{3, 0}, id[:]...), 0, 0, 1),
		"zero first receive":  append(append([]byte{3, 0}, id[:]...), 0, 1, 0),
		"unknown v3 flag":     append(append([]byte{3, 0}, id[:]...), 2, 1, 1),
		"missing digest":      append(append([]byte{3, 0}, id[:]...), rec3Digest, 1, 1),
		"count over 32 bits":  append(append([]byte{3, 0}, id[:]...), 0, 0x80, 0x80, 0x80, 0x80, 0x10, 1),
		"no receive state":    append(append([]byte{3, 0}, id[:]...), 0),
		"version 4":           append(append([]byte{4, 0}, id[:]...), 0, 1, 1),
		"v3 flags byte short": append([]byte{3, 0}, id[:]...),
	}
	for name, key := range bad {
		if err := decodeMessageRecord(key, &got); !errors.Is(err, errRecordMalformed) {
			t.Errorf("%s: decode err %v, want errRecordMalformed", name, err)
		}
		if _, err := peekRecordSchedule(key); !errors.Is(err, errRecordMalformed) {
			t.Errorf("%s: peek err %v, want errRecordMalformed", name, err)
		}
	}
}
