package awsproto

import (
	"encoding/xml"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestAppendXMLText checks the escaping table: markup characters become
// entities, CR becomes &#xD; (a literal CR would be normalised away by
// parsers), and characters XML 1.0 cannot carry become U+FFFD.
func TestAppendXMLText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{`a&b<c>d"e'f`, "a&amp;b&lt;c&gt;d&quot;e&apos;f"},
		{"line\r\nnext\ttab", "line&#xD;\nnext\ttab"},
		{"nul\x00bell\x07", "nul\uFFFDbell\uFFFD"},
		{"snow ☃ and 😀", "snow ☃ and 😀"},
		{"bad \xff utf8", "bad \uFFFD utf8"},
		{"nonchar \uFFFE\uFFFF", "nonchar \uFFFD\uFFFD"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := string(AppendXMLText(nil, tt.in)); got != tt.want {
			t.Errorf("AppendXMLText(%q) = %q, want %q", tt.in, got, tt.want)
		}
		var w XMLWriter
		w.ElemBytes("B", []byte(tt.in))
		if got, want := string(w.B), "<B>"+tt.want+"</B>"; got != want {
			t.Errorf("ElemBytes(%q) = %q, want %q", tt.in, got, want)
		}
	}
}

// FuzzAppendXMLText checks that any input escapes to text an XML parser
// accepts, and that text XML can carry comes back unchanged.
func FuzzAppendXMLText(f *testing.F) {
	for _, s := range []string{"a&b", "x\r\ny", "\x00", "\xff", "\uFFFE", "<![CDATA[", "]]>",
		"0123456789abcdef&0123456789", "01234567\x7f89abcdef<", "abcdefgh'ijklmnop\"", "abcdefg\xe2\x98\x83hij\tklmnopq\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		escaped := string(AppendXMLText(nil, s))
		if want := referenceXMLText(s); escaped != want {
			t.Fatalf("AppendXMLText(%q) = %q, reference %q", s, escaped, want)
		}
		doc := "<a>" + escaped + "</a>"
		var out struct {
			Text string `xml:",chardata"`
		}
		if err := xml.Unmarshal([]byte(doc), &out); err != nil {
			t.Fatalf("escaped %q does not parse: %v (%q)", s, err, doc)
		}
		if xmlCarries(s) && out.Text != s {
			t.Fatalf("round trip %q -> %q", s, out.Text)
		}
	})
}

// referenceXMLText is AppendXMLText's rules written one rune at a time,
// with no fast paths, for the fuzz test to compare against.
func referenceXMLText(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"':
			b.WriteString("&quot;")
		case r == '\'':
			b.WriteString("&apos;")
		case r == '\r':
			b.WriteString("&#xD;")
		case r == '\t' || r == '\n':
			b.WriteRune(r)
		case r < 0x20, r == utf8.RuneError && size == 1, r == 0xFFFE, r == 0xFFFF:
			b.WriteRune(0xFFFD)
		default:
			b.WriteString(s[:size])
		}
		s = s[size:]
	}
	return b.String()
}

// xmlCarries reports whether every character of s is legal XML 1.0 text.
func xmlCarries(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0xFFFE || r == 0xFFFF {
			return false
		}
	}
	return true
}

// TestXMLEnvelopes checks the success envelope and the query error shape
// byte for byte.
func TestXMLEnvelopes(t *testing.T) {
	const ns = "http://queue.amazonaws.com/doc/2012-11-05/"
	w := XMLWriter{B: AppendXMLResponseStart(nil, "GetQueueUrl", ns, true)}
	w.Open("GetQueueUrlResult")
	w.Elem("QueueUrl", "http://h:1/000000000000/q&")
	w.ElemInt("N", -7)
	w.ElemBool("B", true)
	w.Empty("E")
	w.Close("GetQueueUrlResult")
	w.B = AppendXMLResponseEnd(w.B, "GetQueueUrl", "rid")
	want := `<?xml version="1.0"?><GetQueueUrlResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/">` +
		`<GetQueueUrlResult><QueueUrl>http://h:1/000000000000/q&amp;</QueueUrl><N>-7</N><B>true</B><E/></GetQueueUrlResult>` +
		`<ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></GetQueueUrlResponse>`
	if string(w.B) != want {
		t.Fatalf("envelope:\n got %s\nwant %s", w.B, want)
	}

	e := &Error{Code: "AWS.SimpleQueueService.NonExistentQueue", Message: "The specified queue does not exist <x>.", Sender: true}
	got := string(AppendXMLError(nil, e, ns, "rid", true))
	want = `<?xml version="1.0"?><ErrorResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><Error><Type>Sender</Type>` +
		`<Code>AWS.SimpleQueueService.NonExistentQueue</Code><Message>The specified queue does not exist &lt;x&gt;.</Message>` +
		`<Detail/></Error><RequestId>rid</RequestId></ErrorResponse>`
	if got != want {
		t.Fatalf("error:\n got %s\nwant %s", got, want)
	}
	got = string(AppendXMLError(nil, ErrInternalFailure, "", "r", false))
	if !strings.HasPrefix(got, "<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code>") {
		t.Fatalf("receiver error without xmlns: %s", got)
	}
}

// TestXMLWriterAllocs asserts that writing into a buffer with capacity
// allocates nothing.
func TestXMLWriterAllocs(t *testing.T) {
	w := XMLWriter{B: make([]byte, 0, 4096)}
	allocs := testing.AllocsPerRun(100, func() {
		w.B = w.B[:0]
		w.Open("R")
		w.Elem("Body", "a <b> & \"c\"\r\n ☃")
		w.ElemBytes("Raw", []byte("x&y"))
		w.ElemInt("N", 12345)
		w.Close("R")
	})
	if allocs != 0 {
		t.Fatalf("XMLWriter allocates %v times", allocs)
	}
}

// BenchmarkAppendXMLText escapes a 1 KiB ASCII message body and a short
// id, the common cases of query-protocol responses.
func BenchmarkAppendXMLText(b *testing.B) {
	body := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 23)[:1024]
	id := "2f0b1a4e-6c1d-4c39-9a0e-5d1f3c2b7a60"
	buf := make([]byte, 0, 4096)
	b.SetBytes(int64(len(body) + len(id)))
	for b.Loop() {
		buf = AppendXMLText(buf[:0], body)
		buf = AppendXMLText(buf, id)
	}
}
