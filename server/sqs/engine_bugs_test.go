package sqs

import (
	"testing"
)

// Regression tests for engine bugs found over the wire (see NOTES.md
// "Engine bugs").

// TestCountsAfterRestart checks that the approximate counts are right after
// a restart before any receive: one visible, one in flight, one delayed.
// Bug story: the engine reported every message it had not re-scanned as
// visible ([3 0 0]) until a receive walked the log, so
// ApproximateNumberOfMessagesNotVisible/Delayed read 0 after every restart.
// Fixed by scanning the queue log at open (engine b65af62).
func TestCountsAfterRestart(t *testing.T) {
	e := newRealEnv(t)
	url := e.createQueue("counts", map[string]string{"VisibilityTimeout": "100"})
	e.send(url, "inflight")
	if got := e.receive(url, 1, 0); len(got) != 1 {
		t.Fatalf("receive: %d", len(got))
	}
	e.send(url, "visible")
	if _, err := e.client.SendMessage(t.Context(), sendDelayed(url, "delayed", 300)); err != nil {
		t.Fatal(err)
	}
	if c := e.counts(url); c != [3]int{1, 1, 1} {
		t.Fatalf("counts before restart %v, want [1 1 1]", c)
	}
	e.restart()
	if c := e.counts(url); c != [3]int{1, 1, 1} {
		t.Errorf("counts after restart %v, want [1 1 1]", c)
	}
}
