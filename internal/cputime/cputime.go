// Package cputime reads this process's CPU time, for benchmarks that
// report CPU per operation beside wall time.
package cputime

import "time"

// Self returns this process's user+system CPU time so far, and false where
// the platform has no way to tell (then 0).
func Self() (time.Duration, bool) { return self() }

// Skipper is the part of testing.TB that SelfOrSkip uses.
type Skipper interface {
	Helper()
	Skip(args ...any)
}

// SelfOrSkip returns Self for a test or benchmark that reports CPU time,
// and skips it where the platform cannot tell.
func SelfOrSkip(tb Skipper) time.Duration {
	tb.Helper()
	d, ok := Self()
	if !ok {
		tb.Skip("no process CPU time on this platform")
	}
	return d
}
