//go:build !race

package engine

// queueRaceEnabled: see queue_race_test.go.
const queueRaceEnabled = false
