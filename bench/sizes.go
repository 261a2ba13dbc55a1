package bench

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
)

// ErrBadSizeDist reports a --size value that does not parse.
var ErrBadSizeDist = errors.New("bench: bad size distribution")

// sizeMaxBytes bounds a single message or record payload. It is the largest
// SQS message (1 MiB) and the default Kinesis record limit.
const sizeMaxBytes = 1 << 20

// sizeDistEntriesMax bounds the number of weighted sizes in a distribution.
const sizeDistEntriesMax = 64

// SizeDist is a discrete distribution of payload sizes in bytes: either one
// fixed size ("1024", "1KiB") or weighted sizes ("512:0.5,4096:0.5").
// The zero value is not valid; use ParseSizeDist.
type SizeDist struct {
	sizes   []int     // bytes, ascending by weight order of the input
	cumProb []float64 // cumulative probability, last entry is 1
}

// ParseSizeDist parses a size or a comma-separated list of size:weight
// pairs. Sizes accept a B, K/KB/KiB or M/MB/MiB suffix (all binary: 1K =
// 1024). Weights are positive numbers and are normalised to sum to 1. Every
// size must be in [1, 1 MiB].
func ParseSizeDist(s string) (SizeDist, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return SizeDist{}, fmt.Errorf("%w: empty", ErrBadSizeDist)
	}
	parts := strings.Split(s, ",")
	if len(parts) > sizeDistEntriesMax {
		return SizeDist{}, fmt.Errorf("%w: more than %d entries", ErrBadSizeDist, sizeDistEntriesMax)
	}
	var d SizeDist
	var weights []float64
	total := 0.0
	for _, part := range parts {
		sizeText, weightText, hasWeight := strings.Cut(strings.TrimSpace(part), ":")
		if len(parts) > 1 && !hasWeight {
			return SizeDist{}, fmt.Errorf("%w: %q needs a :weight in a list", ErrBadSizeDist, part)
		}
		size, err := parseSize(sizeText)
		if err != nil {
			return SizeDist{}, err
		}
		weight := 1.0
		if hasWeight {
			weight, err = strconv.ParseFloat(strings.TrimSpace(weightText), 64)
			if err != nil || !(weight > 0) || weight > 1e9 {
				return SizeDist{}, fmt.Errorf("%w: weight %q must be a positive number", ErrBadSizeDist, weightText)
			}
		}
		d.sizes = append(d.sizes, size)
		weights = append(weights, weight)
		total += weight
	}
	cum := 0.0
	for _, w := range weights {
		cum += w / total
		d.cumProb = append(d.cumProb, cum)
	}
	d.cumProb[len(d.cumProb)-1] = 1
	return d, nil
}

// parseSize parses "1024", "1K", "4KiB", "1MB" into bytes.
func parseSize(text string) (int, error) {
	text = strings.TrimSpace(text)
	upper := strings.ToUpper(text)
	multiplier := 1
	for _, suffix := range []struct {
		text       string
		multiplier int
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"K", 1 << 10}, {"M", 1 << 20}, {"B", 1}} {
		if strings.HasSuffix(upper, suffix.text) {
			upper = strings.TrimSuffix(upper, suffix.text)
			multiplier = suffix.multiplier
			break
		}
	}
	n, err := strconv.Atoi(strings.TrimSpace(upper))
	if err != nil || n <= 0 || n > sizeMaxBytes/multiplier {
		return 0, fmt.Errorf("%w: size %q must be 1..%d bytes", ErrBadSizeDist, text, sizeMaxBytes)
	}
	return n * multiplier, nil
}

// Sample draws one size.
func (d SizeDist) Sample(r *rand.Rand) int {
	if len(d.sizes) == 1 {
		return d.sizes[0]
	}
	u := r.Float64()
	i := sort.SearchFloat64s(d.cumProb, u)
	if i >= len(d.sizes) {
		i = len(d.sizes) - 1
	}
	return d.sizes[i]
}

// Max returns the largest size the distribution can produce.
func (d SizeDist) Max() int {
	largest := 0
	for _, s := range d.sizes {
		largest = max(largest, s)
	}
	return largest
}

// Mean returns the expected size in bytes.
func (d SizeDist) Mean() float64 {
	mean, previous := 0.0, 0.0
	for i, s := range d.sizes {
		mean += float64(s) * (d.cumProb[i] - previous)
		previous = d.cumProb[i]
	}
	return mean
}

// String renders the distribution in the syntax ParseSizeDist accepts.
func (d SizeDist) String() string {
	if len(d.sizes) == 1 {
		return strconv.Itoa(d.sizes[0])
	}
	var b strings.Builder
	previous := 0.0
	for i, s := range d.sizes {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%d:%s", s, strconv.FormatFloat(d.cumProb[i]-previous, 'g', 4, 64))
		previous = d.cumProb[i]
	}
	return b.String()
}

// Set implements flag.Value.
func (d *SizeDist) Set(s string) error {
	parsed, err := ParseSizeDist(s)
	if err != nil {
		return err
	}
	*d = parsed
	return nil
}
