package bench

import (
	"fmt"
	"math"
)

// formatMicros renders a latency in microseconds with a readable unit.
func formatMicros(us float64) string {
	switch {
	case us <= 0 || math.IsNaN(us):
		return "-"
	case us < 1000:
		return fmt.Sprintf("%.0fµs", us)
	case us < 10_000:
		return fmt.Sprintf("%.2fms", us/1000)
	case us < 1_000_000:
		return fmt.Sprintf("%.1fms", us/1000)
	default:
		return fmt.Sprintf("%.2fs", us/1e6)
	}
}

// formatCount renders a rate or count compactly (12.3k, 1.20M).
func formatCount(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "-"
	case v < 1000:
		return fmt.Sprintf("%.0f", v)
	case v < 100_000:
		return fmt.Sprintf("%.1fk", v/1000)
	case v < 1_000_000:
		return fmt.Sprintf("%.0fk", v/1000)
	default:
		return fmt.Sprintf("%.2fM", v/1e6)
	}
}

// formatRatio renders a/b as "1.23×", or "-" when undefined.
func formatRatio(a, b float64) string {
	if b <= 0 || a < 0 || math.IsNaN(a) || math.IsNaN(b) {
		return "-"
	}
	return fmt.Sprintf("%.2f×", a/b)
}
