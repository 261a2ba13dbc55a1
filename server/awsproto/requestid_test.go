package awsproto

import (
	"regexp"
	"testing"
)

// TestRequestID checks that request ids are canonical version-4 UUIDs, do
// not repeat over many draws, and cost no allocation when appended.
func TestRequestID(t *testing.T) {
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := make(map[string]bool)
	for range 10000 {
		id := NewRequestID()
		if !uuid.MatchString(id) {
			t.Fatalf("%q is not a v4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
	}
	var buf [RequestIDLen]byte
	if allocs := testing.AllocsPerRun(100, func() { AppendRequestID(buf[:0]) }); allocs != 0 {
		t.Fatalf("AppendRequestID allocates %v times", allocs)
	}
}
