// Package cputime reads this process's CPU time, for benchmarks that
// report CPU per operation beside wall time.
package cputime

import "time"

// Self returns this process's user+system CPU time so far, and false where
// the platform has no way to tell (then 0).
func Self() (time.Duration, bool) { return self() }
