package peers

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestPeersTable checks lookup, the service/protocol table the matrix relies
// on (goaws is SQS query only, kinesalite Kinesis only) and unknown names.
func TestPeersTable(t *testing.T) {
	tests := []struct {
		peer, service, protocol string
		want                    bool
	}{
		{"noop", "sqs", "json", true},
		{"noop", "kinesis", "", true},
		{"moto", "sqs", "query", true},
		{"goaws", "sqs", "query", true},
		{"goaws", "sqs", "json", false},
		{"goaws", "kinesis", "", false},
		{"kinesalite", "kinesis", "", true},
		{"kinesalite", "sqs", "json", false},
	}
	for _, tt := range tests {
		p, ok := Lookup(tt.peer)
		if !ok {
			t.Fatalf("Lookup(%q) failed", tt.peer)
		}
		if got := p.Serves(tt.service, tt.protocol); got != tt.want {
			t.Errorf("%s.Serves(%s, %s) = %v", tt.peer, tt.service, tt.protocol, got)
		}
	}
	m := &Manager{Dir: t.TempDir()}
	if _, err := m.Statuses([]string{"localstack"}); !errors.Is(err, ErrUnknownPeer) {
		t.Errorf("unknown peer: %v", err)
	}
}

// TestStatusStalePIDFile checks that a PID file naming a process that no
// longer exists reads as stopped, and that Stop cleans it up without
// signalling anything.
func TestStatusStalePIDFile(t *testing.T) {
	m := &Manager{Dir: t.TempDir()}
	m.defaults()
	if err := os.MkdirAll(m.stateDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	// PIDs above the kernel's pid_max cannot exist.
	stale := filepath.Join(m.stateDir(), "moto.pid")
	if err := os.WriteFile(stale, []byte(strconv.Itoa(1<<30)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	statuses, err := m.Statuses([]string{"moto"})
	if err != nil {
		t.Fatal(err)
	}
	if s := statuses[0]; s.Running || s.PID != 1<<30 || s.Endpoint != "http://127.0.0.1:4602" {
		t.Errorf("status %+v", s)
	}
	if err := m.Stop([]string{"moto"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale PID file not removed: %v", err)
	}
}
