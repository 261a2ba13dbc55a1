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
	f.Add([]byte{1, 0xff})
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
