//go:build race

package server

// raceEnabled: under the race detector sync.Pool drops items at random, so
// tests that assert buffer reuse or allocation counts skip.
const raceEnabled = true
