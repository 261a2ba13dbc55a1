package bench

import (
	"testing"
	"time"
)

// TestHistogramPercentiles records known latency sets and checks the
// summary against exact values, within HDR's 3-significant-digit error.
func TestHistogramPercentiles(t *testing.T) {
	tests := []struct {
		name    string
		values  []time.Duration
		p50     time.Duration
		p99     time.Duration
		max     time.Duration
		count   int64
		minimum time.Duration
	}{
		{name: "single", values: []time.Duration{250 * time.Microsecond}, p50: 250 * time.Microsecond, p99: 250 * time.Microsecond, max: 250 * time.Microsecond, count: 1, minimum: 250 * time.Microsecond},
		{name: "1..1000ms", values: rangeMillis(1, 1000), p50: 500 * time.Millisecond, p99: 990 * time.Millisecond, max: 1000 * time.Millisecond, count: 1000, minimum: time.Millisecond},
		{name: "sub-microsecond clamps to 1µs", values: []time.Duration{10 * time.Nanosecond}, p50: time.Microsecond, p99: time.Microsecond, max: time.Microsecond, count: 1, minimum: time.Microsecond},
		{name: "beyond range clamps to max", values: []time.Duration{time.Hour}, p50: 10 * time.Minute, p99: 10 * time.Minute, max: 10 * time.Minute, count: 1, minimum: 10 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHistogram()
			for _, v := range tt.values {
				h.Record(v)
			}
			p := h.Percentiles()
			if p.Count != tt.count {
				t.Errorf("count %d, want %d", p.Count, tt.count)
			}
			checkClose(t, "p50", p.P50Us, tt.p50)
			checkClose(t, "p99", p.P99Us, tt.p99)
			checkClose(t, "max", p.MaxUs, tt.max)
			checkClose(t, "min", p.MinUs, tt.minimum)
			if !(p.MinUs <= p.P50Us && p.P50Us <= p.P90Us && p.P90Us <= p.P99Us && p.P99Us <= p.P999Us && p.P999Us <= p.MaxUs) {
				t.Errorf("percentiles not monotonic: %+v", p)
			}
			if len(p.Buckets) != len(distributionPercentiles) {
				t.Errorf("%d distribution points, want %d", len(p.Buckets), len(distributionPercentiles))
			}
		})
	}
}

// TestHistogramMergeReset checks that merging two halves equals recording
// everything in one, and that Reset empties a histogram.
func TestHistogramMergeReset(t *testing.T) {
	whole, a, b := NewHistogram(), NewHistogram(), NewHistogram()
	for i, v := range rangeMillis(1, 200) {
		whole.Record(v)
		if i%2 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
	}
	a.Merge(b)
	if got, want := a.Percentiles(), whole.Percentiles(); got.P50Us != want.P50Us || got.P99Us != want.P99Us || got.Count != want.Count {
		t.Errorf("merged %+v, want %+v", got, want)
	}
	a.Reset()
	if a.Count() != 0 || a.Percentiles().Count != 0 || a.Percentiles().P99Us != 0 {
		t.Errorf("after Reset: %+v", a.Percentiles())
	}
}

func rangeMillis(from, to int) []time.Duration {
	var out []time.Duration
	for i := from; i <= to; i++ {
		out = append(out, time.Duration(i)*time.Millisecond)
	}
	return out
}

// checkClose allows HDR's relative error of 0.1% (3 significant digits).
func checkClose(t *testing.T, name string, gotMicros int64, want time.Duration) {
	t.Helper()
	w := float64(want.Microseconds())
	if diff := float64(gotMicros) - w; diff > w*0.001+1 || diff < -w*0.001-1 {
		t.Errorf("%s = %dµs, want %v (±0.1%%)", name, gotMicros, want)
	}
}
