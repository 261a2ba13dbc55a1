package sqs

import (
	"os"
	"testing"
)

// Engine bugs found over the wire (see NOTES.md "Engine bugs"). Each test
// fails on the engine as it is; they are skipped unless SLUICE_ENGINE_BUGS
// is set so the package stays green for everyone else. Run them with:
//
//	SLUICE_ENGINE_BUGS=1 go test -run TestEngineBug ./server/sqs
func skipKnownEngineBug(t *testing.T, note string) {
	t.Helper()
	if os.Getenv("SLUICE_ENGINE_BUGS") == "" {
		t.Skip("known engine bug (" + note + "); set SLUICE_ENGINE_BUGS=1 to run")
	}
}

// TestEngineBugCountsAfterRestart checks that the approximate counts are
// right after a restart before any receive: one visible, one in flight,
// one delayed. The engine reports every message it has not re-scanned as
// visible ([3 0 0]) until a receive walks the log, so
// ApproximateNumberOfMessagesNotVisible/Delayed read 0 after every restart.
func TestEngineBugCountsAfterRestart(t *testing.T) {
	skipKnownEngineBug(t, "NOTES.md Engine bugs #1")
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
