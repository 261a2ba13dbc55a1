package sqs

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sluice-dev/sluice/server/awsproto"
)

func codeOf(e *awsproto.Error) string {
	if e == nil {
		return ""
	}
	return e.Code
}

// TestValidateQueueName checks queue names for both queue types against the
// AWS rules: 1–80 of [A-Za-z0-9_-], FIFO names end in .fifo (counted).
func TestValidateQueueName(t *testing.T) {
	tests := []struct {
		name string
		fifo bool
		ok   bool
	}{
		{"q", false, true},
		{"Q-1_x", false, true},
		{strings.Repeat("a", 80), false, true},
		{strings.Repeat("a", 81), false, false},
		{"", false, false},
		{"a.b", false, false},
		{"a b", false, false},
		{"q.fifo", false, false},
		{"q.fifo", true, true},
		{"q", true, false},
		{".fifo", true, false},
		{strings.Repeat("a", 75) + ".fifo", true, true},
		{strings.Repeat("a", 76) + ".fifo", true, false},
	}
	for _, tt := range tests {
		err := validateQueueName(tt.name, tt.fifo)
		if (err == nil) != tt.ok {
			t.Errorf("validateQueueName(%q, %v) = %v, want ok=%v", tt.name, tt.fifo, err, tt.ok)
		}
		if err != nil && err.Code != "InvalidParameterValue" {
			t.Errorf("validateQueueName(%q) code %q", tt.name, err.Code)
		}
	}
}

// TestValidateBatchShape checks batch entry counts and ids produce SQS's
// codes in SQS's order.
func TestValidateBatchShape(t *testing.T) {
	eleven := make([]string, 11)
	for i := range eleven {
		eleven[i] = string(rune('a' + i))
	}
	tests := []struct {
		name string
		ids  []string
		code string
	}{
		{"ok", []string{"a", "b-1", "C_2"}, ""},
		{"empty", nil, "AWS.SimpleQueueService.EmptyBatchRequest"},
		{"too many", eleven, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"},
		{"bad id", []string{"a", "b.c"}, "AWS.SimpleQueueService.InvalidBatchEntryId"},
		{"empty id", []string{""}, "AWS.SimpleQueueService.InvalidBatchEntryId"},
		{"long id", []string{strings.Repeat("x", 81)}, "AWS.SimpleQueueService.InvalidBatchEntryId"},
		{"80 id", []string{strings.Repeat("x", 80)}, ""},
		{"dup", []string{"a", "b", "a"}, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"},
	}
	for _, tt := range tests {
		if got := codeOf(validateBatchShape(tt.ids, "SendMessageBatchRequestEntry")); got != tt.code {
			t.Errorf("%s: code %q, want %q", tt.name, got, tt.code)
		}
	}
	if msg := validateBatchShape(nil, "DeleteMessageBatchRequestEntry").Message; msg != "There should be at least one DeleteMessageBatchRequestEntry in the request." {
		t.Errorf("empty batch message %q", msg)
	}
}

// TestValidateBody checks the XML character set rule and its error text.
func TestValidateBody(t *testing.T) {
	tests := []struct {
		body string
		code string
	}{
		{"hello", ""},
		{"tab\tnl\ncr\r", ""},
		{"ünïcödé 😀 \uE000 \uFFFD", ""},
		{"", "InvalidParameterValue"},
		{"a\x00b", "InvalidMessageContents"},
		{"a\x1fb", "InvalidMessageContents"},
		{"a\uFFFEb", "InvalidMessageContents"},
		{"a\uFFFFb", "InvalidMessageContents"},
		{"a\xffb", "InvalidMessageContents"},
		{"a\xed\xa0\x80b", "InvalidMessageContents"}, // encoded surrogate
	}
	for _, tt := range tests {
		if got := codeOf(validateBody(tt.body)); got != tt.code {
			t.Errorf("validateBody(%q) = %q, want %q", tt.body, got, tt.code)
		}
	}
	if msg := validateBody("x\x01").Message; !strings.HasPrefix(msg, "Invalid binary character '#x1' was found in the message body") {
		t.Errorf("message %q", msg)
	}
}

// TestValidateMessageAttributes checks names, types, values and counts.
func TestValidateMessageAttributes(t *testing.T) {
	str := func(name, typ, v string) messageAttr {
		return messageAttr{Name: name, DataType: typ, StringValue: v, hasString: true}
	}
	tests := []struct {
		name  string
		attrs []messageAttr
		ok    bool
		size  int
	}{
		{"string", []messageAttr{str("a", "String", "v")}, true, 8},
		{"custom", []messageAttr{str("a.b-c_d", "String.json", "{}")}, true, 20},
		{"number", []messageAttr{str("n", "Number", "-1.5e10")}, true, 14},
		{"binary", []messageAttr{{Name: "b", DataType: "Binary", BinaryValue: []byte{0}, hasBinary: true}}, true, 8},
		{"bad number", []messageAttr{str("n", "Number", "1x")}, false, 0},
		{"empty value", []messageAttr{str("a", "String", "")}, false, 0},
		{"empty binary", []messageAttr{{Name: "b", DataType: "Binary", hasBinary: true}}, false, 0},
		{"no type", []messageAttr{str("a", "", "v")}, false, 0},
		{"bad type", []messageAttr{str("a", "Strin", "v")}, false, 0},
		{"reserved", []messageAttr{str("AWS.x", "String", "v")}, false, 0},
		{"reserved amazon", []messageAttr{str("amazon.x", "String", "v")}, false, 0},
		{"dot start", []messageAttr{str(".a", "String", "v")}, false, 0},
		{"dot end", []messageAttr{str("a.", "String", "v")}, false, 0},
		{"double dot", []messageAttr{str("a..b", "String", "v")}, false, 0},
		{"space", []messageAttr{str("a b", "String", "v")}, false, 0},
		{"long name", []messageAttr{str(strings.Repeat("a", 257), "String", "v")}, false, 0},
		{"too many", func() []messageAttr {
			var a []messageAttr
			for i := 0; i < 11; i++ {
				a = append(a, str(string(rune('a'+i)), "String", "v"))
			}
			return a
		}(), false, 0},
	}
	for _, tt := range tests {
		size, err := validateMessageAttributes(tt.attrs)
		if (err == nil) != tt.ok || size != tt.size {
			t.Errorf("%s: size %d err %v, want size %d ok %v", tt.name, size, err, tt.size, tt.ok)
		}
		if err != nil && err.Code != "InvalidParameterValue" {
			t.Errorf("%s: code %q", tt.name, err.Code)
		}
	}
}

// TestIsSQSNumber checks the Number attribute grammar and range.
func TestIsSQSNumber(t *testing.T) {
	for _, s := range []string{"0", "-1", "+2", "1.5", ".5", "5.", "1e10", "1E-10", "-0.000", strings.Repeat("9", 38), "1e127"} {
		if !isSQSNumber(s) {
			t.Errorf("isSQSNumber(%q) = false", s)
		}
	}
	for _, s := range []string{"", "-", ".", "1x", "1e", "1e+", "e5", "1.2.3", strings.Repeat("9", 39), "1e128", "0x10", " 1"} {
		if isSQSNumber(s) {
			t.Errorf("isSQSNumber(%q) = true", s)
		}
	}
}

// TestValidateFIFOID checks MessageGroupId/MessageDeduplicationId syntax.
func TestValidateFIFOID(t *testing.T) {
	for _, s := range []string{"g", "a!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~z", strings.Repeat("x", 128)} {
		if err := validateFIFOID("MessageGroupId", s); err != nil {
			t.Errorf("validateFIFOID(%q) = %v", s, err)
		}
	}
	for _, s := range []string{"", "a b", "ü", strings.Repeat("x", 129), "a\tb"} {
		if err := validateFIFOID("MessageGroupId", s); err == nil {
			t.Errorf("validateFIFOID(%q) accepted", s)
		}
	}
}

// invalidXMLCharReference is invalidXMLChar without the eight-byte fast
// path, the definition the fast path must agree with.
func invalidXMLCharReference(s string) (rune, bool) {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return rune(s[i]), false
			}
		}
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r > 0xD7FF && r < 0xE000 || r == 0xFFFE || r == 0xFFFF {
			return r, false
		}
	}
	return 0, true
}

// FuzzInvalidXMLChar checks the word-at-a-time body validation against
// the rune-by-rune definition, on bodies with a bad character anywhere.
func FuzzInvalidXMLChar(f *testing.F) {
	f.Add("plain ascii text that is long enough", 3, byte(0x01))
	f.Add("tabs\tand\nnewlines\r\n are fine here", 17, byte('\t'))
	f.Add("é unicode ✓ and more text", 9, byte(0xff))
	f.Add("0123456789abcdef0123456789abcdef", 31, byte(0x7f))
	f.Fuzz(func(t *testing.T, s string, at int, b byte) {
		if len(s) > 0 {
			at = (at%len(s) + len(s)) % len(s)
			s = s[:at] + string([]byte{b}) + s[at+1:]
		}
		gotR, gotOK := invalidXMLChar(s)
		wantR, wantOK := invalidXMLCharReference(s)
		if gotR != wantR || gotOK != wantOK {
			t.Fatalf("invalidXMLChar(%q) = %U, %v; reference %U, %v", s, gotR, gotOK, wantR, wantOK)
		}
	})
}

// TestInvalidXMLCharPositions puts one byte at every position of ASCII
// text (past the eight-byte fast path and its tail), and checks invalidXMLChar
// against the rune-by-rune definition.
func TestInvalidXMLCharPositions(t *testing.T) {
	for _, b := range []byte{0x01, 0x1f, '\t', 0x7f, 0x80, 0xc3, 0xff} {
		for size := 1; size <= 100; size++ {
			for at := 0; at < size; at++ {
				s := []byte(strings.Repeat("a", size))
				s[at] = b
				gotR, gotOK := invalidXMLChar(string(s))
				wantR, wantOK := invalidXMLCharReference(string(s))
				if gotR != wantR || gotOK != wantOK {
					t.Fatalf("%#x at %d of %d: %U, %v; reference %U, %v", b, at, size, gotR, gotOK, wantR, wantOK)
				}
			}
		}
	}
}

// BenchmarkInvalidXMLChar checks 1 KiB of ASCII and of mostly non-ASCII
// text (the query protocol's body check).
func BenchmarkInvalidXMLChar(b *testing.B) {
	for _, body := range []struct{ name, s string }{
		{"ascii", strings.Repeat("abcdefghij", 103)},
		{"cjk", strings.Repeat("消息队列", 86)},
	} {
		b.Run(body.name, func(b *testing.B) {
			b.SetBytes(int64(len(body.s)))
			for b.Loop() {
				if _, ok := invalidXMLChar(body.s); !ok {
					b.Fatal("refused")
				}
			}
		})
	}
}
