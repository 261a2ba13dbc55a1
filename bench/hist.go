package bench

import (
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram bounds: latencies are recorded in microseconds from 1 µs to 10
// minutes with 3 significant digits (0.1% resolution), about 200 KiB each.
// Longer values are clamped to the maximum rather than dropped, so a stall
// longer than the range still shows as the worst case.
const (
	histogramLowestMicros  = 1
	histogramHighestMicros = int64(10 * time.Minute / time.Microsecond)
	histogramSigFigs       = 3
)

// Histogram records latencies. It is not safe for concurrent use; the
// Recorder gives each worker its own and merges them.
type Histogram struct {
	h *hdrhistogram.Histogram
}

// NewHistogram returns an empty latency histogram.
func NewHistogram() *Histogram {
	return &Histogram{h: hdrhistogram.New(histogramLowestMicros, histogramHighestMicros, histogramSigFigs)}
}

// Record adds one latency. Values below 1 µs count as 1 µs; values above the
// range count as the range maximum.
func (h *Histogram) Record(d time.Duration) {
	micros := d.Microseconds()
	micros = min(max(micros, histogramLowestMicros), histogramHighestMicros)
	// RecordValue fails only for values outside the range, which the clamp
	// above rules out.
	_ = h.h.RecordValue(micros)
}

// Merge adds every value of other into h.
func (h *Histogram) Merge(other *Histogram) {
	h.h.Merge(other.h)
}

// Reset empties the histogram.
func (h *Histogram) Reset() { h.h.Reset() }

// Count returns the number of recorded values.
func (h *Histogram) Count() int64 { return h.h.TotalCount() }

// Quantile returns the latency at percentile p (0..100).
func (h *Histogram) Quantile(p float64) time.Duration {
	return time.Duration(h.h.ValueAtPercentile(p)) * time.Microsecond
}

// Percentiles summarises the histogram.
func (h *Histogram) Percentiles() Percentiles {
	if h.h.TotalCount() == 0 {
		return Percentiles{}
	}
	return Percentiles{
		Count:   h.h.TotalCount(),
		MinUs:   h.h.Min(),
		MeanUs:  h.h.Mean(),
		P50Us:   h.h.ValueAtPercentile(50),
		P90Us:   h.h.ValueAtPercentile(90),
		P99Us:   h.h.ValueAtPercentile(99),
		P999Us:  h.h.ValueAtPercentile(99.9),
		MaxUs:   h.h.Max(),
		Buckets: h.distribution(),
	}
}

// distributionPercentiles are the points of the percentile-distribution
// chart: denser towards the tail, where the interesting behaviour is.
var distributionPercentiles = []float64{
	0, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 92.5, 95, 96.25, 97.5,
	98.125, 98.75, 99, 99.375, 99.5, 99.6875, 99.75, 99.8438, 99.9, 99.9219,
	99.95, 99.9609, 99.975, 99.99, 99.999, 100,
}

func (h *Histogram) distribution() []PercentilePoint {
	points := make([]PercentilePoint, 0, len(distributionPercentiles))
	for _, p := range distributionPercentiles {
		points = append(points, PercentilePoint{Percentile: p, ValueUs: h.h.ValueAtPercentile(p)})
	}
	return points
}

// Percentiles is a latency summary in microseconds.
type Percentiles struct {
	Count  int64   `json:"count"`
	MinUs  int64   `json:"min_us"`
	MeanUs float64 `json:"mean_us"`
	P50Us  int64   `json:"p50_us"`
	P90Us  int64   `json:"p90_us"`
	P99Us  int64   `json:"p99_us"`
	P999Us int64   `json:"p999_us"`
	MaxUs  int64   `json:"max_us"`
	// Buckets is the percentile distribution (for charts).
	Buckets []PercentilePoint `json:"distribution,omitempty"`
}

// PercentilePoint is one point of a percentile distribution.
type PercentilePoint struct {
	Percentile float64 `json:"percentile"`
	ValueUs    int64   `json:"value_us"`
}
