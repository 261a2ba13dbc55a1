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
				string(sched.groupID) != tc.rec.groupID {
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
	f.Add([]byte{1, 0xff})
	f.Add([]byte{2, 0})
	f.Fuzz(func(t *testing.T, key []byte) {
		var m, fromText messageRecord
		err := decodeMessageRecord(key, &m)
		_, perr := peekRecordSchedule(key)
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
