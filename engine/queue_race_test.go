//go:build race

package engine

// queueRaceEnabled: the race detector changes allocation counts (sync.Pool
// drops items at random), so allocation assertions are skipped under it.
const queueRaceEnabled = true
