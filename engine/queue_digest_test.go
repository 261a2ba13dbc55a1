package engine

import (
	"context"
	"crypto/md5"
	"testing"
)

// TestBodyDigestStoredAndRecovered checks that a body digest supplied at
// send comes back on receive, also after a restart and after a dead-letter
// redrive moved the message, and that messages sent without one (all
// messages stored before key block version 2) come back without one in
// the same queue. Goal: the SQS layer can trust HasBodyDigest to skip
// recomputing MD5OfBody, and old data stays readable.
func TestBodyDigestStoredAndRecovered(t *testing.T) {
	e := newQEnv(t)
	q := e.create("digests", DefaultQueueAttributes(false))
	withDigest := SendMessage{Body: []byte("with"), BodyDigest: md5.Sum([]byte("with")), HasBodyDigest: true}
	res, err := q.Send(context.Background(), []SendMessage{withDigest, {Body: []byte("without")}})
	if err != nil || res[0].Err != nil || res[1].Err != nil {
		t.Fatalf("Send: %v %+v", err, res)
	}
	check := func(when string, msgs []ReceivedMessage) {
		t.Helper()
		if len(msgs) != 2 {
			t.Fatalf("%s: received %d messages, want 2", when, len(msgs))
		}
		for _, m := range msgs {
			switch string(m.Body) {
			case "with":
				if !m.HasBodyDigest || m.BodyDigest != withDigest.BodyDigest {
					t.Fatalf("%s: digest %x (has %v), want %x", when, m.BodyDigest, m.HasBodyDigest, withDigest.BodyDigest)
				}
			case "without":
				if m.HasBodyDigest || m.BodyDigest != ([16]byte{}) {
					t.Fatalf("%s: message sent without digest has one: %x", when, m.BodyDigest)
				}
			default:
				t.Fatalf("%s: unexpected body %q", when, m.Body)
			}
		}
	}
	check("first receive", receive(t, q, 10, 0))
	e.reopen()
	check("after restart", receive(t, e.queue("digests"), 10, 0))
}
