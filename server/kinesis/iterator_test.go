package kinesis

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

// TestIteratorRoundTrip checks that an encoded iterator decodes to the same
// position, fits the 512-character limit, expires after five minutes, and
// that a different key or any flipped bit is rejected.
func TestIteratorRoundTrip(t *testing.T) {
	c := &iteratorCodec{key: []byte("0123456789abcdef0123456789abcdef")}
	issued := time.UnixMilli(1_700_000_000_123)
	it := shardIterator{account: "000000000000", region: "us-east-1", stream: "my-stream", entityID: 7, shard: 3, seq: 99, issued: issued}
	tok := c.encode(it)
	if long := c.encode(shardIterator{account: strings.Repeat("a", 64), region: strings.Repeat("r", 64), stream: strings.Repeat("s", 128)}); len(long) > 512 {
		t.Fatalf("longest token length %d", len(long))
	}
	if len(tok) > 512 {
		t.Fatalf("token length %d", len(tok))
	}
	got, err := c.decode(tok)
	if err != nil || got != it || got.entityID != 7 || got.shard != 3 || got.seq != 99 || false {
		t.Fatalf("decode = %+v, %v", got, err)
	}
	if got.expired(issued.Add(shardIteratorLifetime)) {
		t.Fatal("expired at exactly the lifetime")
	}
	if !got.expired(issued.Add(shardIteratorLifetime + time.Millisecond)) {
		t.Fatal("not expired after the lifetime")
	}
	other := &iteratorCodec{key: []byte("another key")}
	if _, err := other.decode(tok); err == nil {
		t.Fatal("accepted under another key")
	}
	raw, err := base64.StdEncoding.DecodeString(tok)
	if err != nil {
		t.Fatal(err)
	}
	for i := range raw {
		for bit := 0; bit < 8; bit++ {
			raw[i] ^= 1 << bit
			if _, err := c.decode(base64.StdEncoding.EncodeToString(raw)); err == nil {
				t.Fatalf("byte %d bit %d flip accepted", i, bit)
			}
			raw[i] ^= 1 << bit
		}
	}
	// encoding/base64 would skip the newlines: a token has one spelling.
	for _, bad := range []string{"", "AAAA", tok[:len(tok)-4], tok + "AAAA", "!!!!" + tok[4:], tok[:2] + "\n" + tok[2:], tok + "\r\n"} {
		if _, err := c.decode(bad); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
}

// TestIteratorSerial checks that issue never repeats a token for the same
// position and time (AWS's NextShardIterator always differs from the
// iterator passed), and that a version 1 token (no serial, issued before
// the serial existed) still decodes and re-encodes to itself.
func TestIteratorSerial(t *testing.T) {
	c := &iteratorCodec{key: []byte("0123456789abcdef0123456789abcdef")}
	it := shardIterator{account: "000000000000", region: "us-east-1", stream: "s", entityID: 1, shard: 2, seq: 3, issued: time.UnixMilli(1_700_000_000_123)}
	a, b := c.issue(it), c.issue(it)
	if a == b {
		t.Fatalf("issue repeated %q", a)
	}
	da, errA := c.decode(a)
	db, errB := c.decode(b)
	if errA != nil || errB != nil || da.serial == db.serial || da.seq != 3 || db.seq != 3 || da.v1 || db.v1 {
		t.Fatalf("decoded %+v %v, %+v %v", da, errA, db, errB)
	}
	old := it
	old.v1 = true
	tok := c.encode(old)
	raw, err := base64.StdEncoding.DecodeString(tok)
	if err != nil || raw[0] != 1 || len(raw) != iteratorFixedBytesV1+3+len("000000000000us-east-1s")+iteratorMACBytes {
		t.Fatalf("version 1 token %x, %v", raw, err)
	}
	got, err := c.decode(tok)
	if err != nil || got != old {
		t.Fatalf("version 1 decode = %+v, %v", got, err)
	}
	if back := c.encode(got); back != tok {
		t.Fatalf("version 1 re-encodes %q, was %q", back, tok)
	}
}

// FuzzIteratorDecode checks that the decoder never panics, and that any
// token it accepts re-encodes to itself (so acceptance implies a valid MAC
// over exactly these bytes).
func FuzzIteratorDecode(f *testing.F) {
	c := &iteratorCodec{key: []byte("fuzz key")}
	f.Add(c.encode(shardIterator{account: "000000000000", region: "us-east-1", stream: "s", entityID: 1, shard: 0, seq: 1, issued: time.UnixMilli(1)}))
	f.Add(c.encode(shardIterator{account: "000000000000", region: "us-east-1", stream: "s", entityID: 1, shard: 0, seq: 1, issued: time.UnixMilli(1), v1: true}))
	f.Add("")
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, tok string) {
		it, err := c.decode(tok)
		if err != nil {
			return
		}
		if back := c.encode(it); back != tok {
			t.Fatalf("%q decoded to %+v re-encodes %q", tok, it, back)
		}
	})
}
