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
