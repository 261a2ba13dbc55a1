package engine

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestValidateSendMessage is a table of send-time rules per queue type:
// body presence, size (body plus attributes), allowed characters, FIFO
// group/dedup requirements and per-message delay.
func TestValidateSendMessage(t *testing.T) {
	std := DefaultQueueAttributes(false)
	std.MaximumMessageSizeBytes = 1024
	fifo := DefaultQueueAttributes(true)
	fifoCBD := fifo
	fifoCBD.ContentBasedDeduplication = true
	d := func(x time.Duration) *time.Duration { return &x }
	body := []byte("hello")
	for _, tc := range []struct {
		name    string
		attrs   QueueAttributes
		msg     SendMessage
		field   string // expected ValidationError field; "" = ok
		content bool   // expect ErrInvalidMessageContents
	}{
		{"ok", std, SendMessage{Body: body}, "", false},
		{"empty body", std, SendMessage{}, "Body", false},
		{"max size", std, SendMessage{Body: make1(1024)}, "", false},
		{"too large", std, SendMessage{Body: make1(1025)}, "Body", false},
		{"attrs count toward size", std, SendMessage{Body: make1(1000), Attributes: []MessageAttribute{{Name: "n", DataType: "String", StringValue: strings.Repeat("v", 30)}}}, "Body", false},
		{"bad data type", std, SendMessage{Body: body, Attributes: []MessageAttribute{{Name: "n", DataType: "Strin", StringValue: "v"}}}, "Attributes", false},
		{"custom data type", std, SendMessage{Body: body, Attributes: []MessageAttribute{{Name: "n", DataType: "Number.float", StringValue: "1.5"}}}, "", false},
		{"control char", std, SendMessage{Body: []byte("a\x01b")}, "", true},
		{"tab newline cr ok", std, SendMessage{Body: []byte("a\tb\nc\rd")}, "", false},
		{"invalid utf8", std, SendMessage{Body: []byte{0xff}}, "", true},
		{"fffe", std, SendMessage{Body: []byte("\uFFFE")}, "", true},
		{"astral ok", std, SendMessage{Body: []byte("\U0001F600")}, "", false},
		{"delay ok", std, SendMessage{Body: body, Delay: d(15 * time.Minute)}, "", false},
		{"delay too long", std, SendMessage{Body: body, Delay: d(16 * time.Minute)}, "Delay", false},
		{"std dedup id", std, SendMessage{Body: body, DeduplicationID: "x"}, "DeduplicationID", false},
		{"std group ok", std, SendMessage{Body: body, GroupID: "g"}, "", false},
		{"fifo ok", fifo, SendMessage{Body: body, GroupID: "g", DeduplicationID: "d"}, "", false},
		{"fifo no group", fifo, SendMessage{Body: body, DeduplicationID: "d"}, "GroupID", false},
		{"fifo no dedup", fifo, SendMessage{Body: body, GroupID: "g"}, "DeduplicationID", false},
		{"fifo cbd", fifoCBD, SendMessage{Body: body, GroupID: "g"}, "", false},
		{"fifo delay", fifo, SendMessage{Body: body, GroupID: "g", DeduplicationID: "d", Delay: d(0)}, "Delay", false},
		{"fifo group charset", fifo, SendMessage{Body: body, GroupID: "a b", DeduplicationID: "d"}, "GroupID", false},
		{"fifo dedup too long", fifo, SendMessage{Body: body, GroupID: "g", DeduplicationID: strings.Repeat("x", 129)}, "DeduplicationID", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validateSendMessage(&tc.attrs, &tc.msg)
			var ve *ValidationError
			switch {
			case tc.content:
				if !errors.Is(err, ErrInvalidMessageContents) {
					t.Fatalf("err %v, want ErrInvalidMessageContents", err)
				}
			case tc.field == "":
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
			case !errors.As(err, &ve) || ve.Field != tc.field:
				t.Fatalf("err %v, want ValidationError on %s", err, tc.field)
			}
		})
	}
}

func make1(n int) []byte { return []byte(strings.Repeat("x", n)) }

// TestValidateQueueAttributes is a table of attribute ranges and FIFO-only
// and redrive rules.
func TestValidateQueueAttributes(t *testing.T) {
	mod := func(fifo bool, f func(a *QueueAttributes)) QueueAttributes {
		a := DefaultQueueAttributes(fifo)
		f(&a)
		return normalizeQueueAttributes(a)
	}
	dlq := QueueRef{Namespace: Namespace{Account: "1", Region: "r"}, Name: "dlq"}
	for _, tc := range []struct {
		name  string
		attrs QueueAttributes
		field string
	}{
		{"defaults", mod(false, func(*QueueAttributes) {}), ""},
		{"fifo defaults", mod(true, func(*QueueAttributes) {}), ""},
		{"zero struct normalizes", normalizeQueueAttributes(QueueAttributes{}), ""},
		{"visibility max", mod(false, func(a *QueueAttributes) { a.VisibilityTimeout = 12 * time.Hour }), ""},
		{"visibility over", mod(false, func(a *QueueAttributes) { a.VisibilityTimeout = 12*time.Hour + 1 }), "VisibilityTimeout"},
		{"delay over", mod(false, func(a *QueueAttributes) { a.Delay = 901 * time.Second }), "Delay"},
		{"retention under", mod(false, func(a *QueueAttributes) { a.MessageRetention = 59 * time.Second }), "MessageRetention"},
		{"retention over", mod(false, func(a *QueueAttributes) { a.MessageRetention = 15 * 24 * time.Hour }), "MessageRetention"},
		{"wait over", mod(false, func(a *QueueAttributes) { a.ReceiveWaitTime = 21 * time.Second }), "ReceiveWaitTime"},
		{"size under", mod(false, func(a *QueueAttributes) { a.MaximumMessageSizeBytes = 1023 }), "MaximumMessageSizeBytes"},
		{"cbd on standard", mod(false, func(a *QueueAttributes) { a.ContentBasedDeduplication = true }), "ContentBasedDeduplication"},
		{"scope on standard", mod(false, func(a *QueueAttributes) { a.DeduplicationScope = "queue" }), "DeduplicationScope"},
		{"bad scope", mod(true, func(a *QueueAttributes) { a.DeduplicationScope = "x" }), "DeduplicationScope"},
		{"per group needs group scope", mod(true, func(a *QueueAttributes) { a.FifoThroughputLimit = FifoThroughputPerMessageGroup }), "FifoThroughputLimit"},
		{"high throughput", mod(true, func(a *QueueAttributes) {
			a.FifoThroughputLimit = FifoThroughputPerMessageGroup
			a.DeduplicationScope = DeduplicationScopeMessageGroup
		}), ""},
		{"redrive ok", mod(false, func(a *QueueAttributes) { a.Redrive = &RedrivePolicy{DeadLetterTarget: dlq, MaxReceiveCount: 5} }), ""},
		{"redrive count", mod(false, func(a *QueueAttributes) { a.Redrive = &RedrivePolicy{DeadLetterTarget: dlq, MaxReceiveCount: 1001} }), "Redrive.MaxReceiveCount"},
		{"allow byQueue empty", mod(false, func(a *QueueAttributes) { a.RedriveAllow = &RedriveAllowPolicy{Permission: RedriveByQueue} }), "RedriveAllow.SourceQueues"},
		{"allow all with sources", mod(false, func(a *QueueAttributes) {
			a.RedriveAllow = &RedriveAllowPolicy{Permission: RedriveAllowAll, SourceQueues: []QueueRef{dlq}}
		}), "RedriveAllow.SourceQueues"},
		{"allow bad permission", mod(false, func(a *QueueAttributes) { a.RedriveAllow = &RedriveAllowPolicy{Permission: "x"} }), "RedriveAllow.Permission"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validateQueueAttributes(&tc.attrs)
			var ve *ValidationError
			if tc.field == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if !errors.As(err, &ve) || ve.Field != tc.field {
				t.Fatalf("err %v, want ValidationError on %s", err, tc.field)
			}
		})
	}
}

// TestFormatHelpers checks the UUID layout (version 4, RFC variant) and that
// FIFO sequence numbers are fixed-width decimals increasing with seq.
func TestFormatHelpers(t *testing.T) {
	id := formatUUID(newMessageID())
	if len(id) != 36 || id[14] != '4' || !strings.ContainsRune("89ab", rune(id[19])) {
		t.Fatalf("bad uuid %s", id)
	}
	prev := ""
	for _, seq := range []uint64{1, 2, 9, 10, 1 << 32, 1<<64 - 1} {
		s := fifoSequenceNumber(seq)
		if len(s) != 21 || s <= prev {
			t.Fatalf("seq %d -> %s (prev %s)", seq, s, prev)
		}
		prev = s
	}
}

// TestValidMessageCharsFastPath compares the word-at-a-time check with a
// rune-by-rune reference on inputs that put every interesting byte at
// every offset of a 17-byte body.
func TestValidMessageCharsFastPath(t *testing.T) {
	ref := func(b []byte) bool {
		if !utf8.Valid(b) {
			return false
		}
		for _, r := range string(b) {
			ok := r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || r >= 0x10000
			if !ok {
				return false
			}
		}
		return true
	}
	for _, c := range []byte{0, 1, 0x09, 0x0a, 0x0d, 0x1f, 0x20, 0x7e, 0x7f, 0x80, 0xc3, 0xff} {
		for off := 0; off < 17; off++ {
			b := []byte(strings.Repeat("a", 17))
			b[off] = c
			if got, want := validMessageChars(b), ref(b); got != want {
				t.Fatalf("byte %#x at %d: got %v want %v", c, off, got, want)
			}
		}
	}
}
