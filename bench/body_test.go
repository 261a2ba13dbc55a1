package bench

import (
	"testing"
	"time"
)

// TestBodyRoundTrip checks that generated bodies carry their header intact,
// have the requested size (never less than the header), and are plain ASCII.
func TestBodyRoundTrip(t *testing.T) {
	sent := time.Unix(1700000000, 123456789)
	for _, size := range []int{1, 40, 1024, 65536} {
		h := bodyHeader{RunID: "abcd1234", Sent: sent, Group: 7, Producer: 3, Seq: 42}
		body := appendBody(nil, h, size)
		if len(body) < size {
			t.Errorf("size %d: body is %d bytes", size, len(body))
		}
		if size >= 64 && len(body) != size {
			t.Errorf("size %d: body is %d bytes", size, len(body))
		}
		for _, c := range body {
			if c < 0x20 || c > 0x7e {
				t.Fatalf("non-printable byte %q", c)
			}
		}
		got, ok := parseBody(body)
		if !ok || got.RunID != h.RunID || !got.Sent.Equal(sent) || got.Group != 7 || got.Producer != 3 || got.Seq != 42 {
			t.Errorf("size %d: parsed %+v ok=%v", size, got, ok)
		}
	}
	for _, foreign := range []string{"", "hello", "sb1 ", "sb1 x 1 2 3 4", "sb1 x y 1 2 3|", "noop canned message"} {
		if _, ok := parseBody([]byte(foreign)); ok {
			t.Errorf("parsed foreign body %q", foreign)
		}
	}
}

// FuzzParseBody checks that parseBody never panics and that whatever it
// accepts re-encodes to a body that parses to the same header.
func FuzzParseBody(f *testing.F) {
	f.Add([]byte("sb1 abcd 1700000000000000000 1 2 3|xxxx"))
	f.Add([]byte("sb1 a -1 0 0 0|"))
	f.Add([]byte("sb1  1 2 3 4|"))
	f.Add([]byte("noop canned message"))
	f.Fuzz(func(t *testing.T, body []byte) {
		h, ok := parseBody(body)
		if !ok {
			return
		}
		again, ok := parseBody(appendBody(nil, h, 0))
		if !ok || again.RunID != h.RunID || !again.Sent.Equal(h.Sent) || again.Group != h.Group || again.Producer != h.Producer || again.Seq != h.Seq {
			t.Fatalf("re-encoded header %+v parsed as %+v (ok=%v)", h, again, ok)
		}
	})
}
