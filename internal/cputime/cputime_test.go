package cputime

import (
	"runtime"
	"testing"
	"time"
)

// TestSelfAdvances burns CPU and checks that Self sees it.
func TestSelfAdvances(t *testing.T) {
	before, ok := Self()
	if !ok {
		if runtime.GOOS == "linux" {
			t.Fatal("Self reports no CPU time on Linux")
		}
		t.Skip("no process CPU time on " + runtime.GOOS)
	}
	x := 0
	for start := time.Now(); time.Since(start) < 50*time.Millisecond; {
		x++
	}
	after, _ := Self()
	if after-before < 10*time.Millisecond {
		t.Errorf("50 ms of busy loop (%d iterations) advanced CPU time by %v", x, after-before)
	}
}

// skipRecorder records a Skip instead of stopping a goroutine.
type skipRecorder struct{ skipped bool }

func (s *skipRecorder) Helper()     {}
func (s *skipRecorder) Skip(...any) { s.skipped = true }

// TestSelfOrSkip checks SelfOrSkip returns Self where it is known (Linux
// here) and skips only where it is not.
func TestSelfOrSkip(t *testing.T) {
	var s skipRecorder
	d := SelfOrSkip(&s)
	_, ok := Self()
	if s.skipped == ok || (ok && d <= 0) {
		t.Errorf("SelfOrSkip = %v, skipped %v; Self known: %v", d, s.skipped, ok)
	}
}
