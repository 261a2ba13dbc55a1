package bench

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// TestParseSizeDist covers the accepted syntax and the rejections, and that
// String round-trips through the parser.
func TestParseSizeDist(t *testing.T) {
	tests := []struct {
		in    string
		sizes []int
		mean  float64
		err   bool
	}{
		{in: "1024", sizes: []int{1024}, mean: 1024},
		{in: " 1KiB ", sizes: []int{1024}, mean: 1024},
		{in: "4k", sizes: []int{4096}, mean: 4096},
		{in: "1MB", sizes: []int{1 << 20}, mean: 1 << 20},
		{in: "100B", sizes: []int{100}, mean: 100},
		{in: "512:0.5,4096:0.5", sizes: []int{512, 4096}, mean: 2304},
		{in: "100:1,200:3", sizes: []int{100, 200}, mean: 175},
		{in: "", err: true},
		{in: "0", err: true},
		{in: "-5", err: true},
		{in: "2MiB", err: true},
		{in: "1048577", err: true},
		{in: "abc", err: true},
		{in: "512,4096", err: true},
		{in: "512:0", err: true},
		{in: "512:-1", err: true},
		{in: "512:NaN", err: true},
		{in: "512:x", err: true},
		{in: "512:0.5,", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d, err := ParseSizeDist(tt.in)
			if tt.err {
				if !errors.Is(err, ErrBadSizeDist) {
					t.Fatalf("ParseSizeDist(%q) error = %v, want ErrBadSizeDist", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(d.sizes) != len(tt.sizes) {
				t.Fatalf("sizes %v, want %v", d.sizes, tt.sizes)
			}
			for i := range d.sizes {
				if d.sizes[i] != tt.sizes[i] {
					t.Errorf("sizes %v, want %v", d.sizes, tt.sizes)
				}
			}
			if math.Abs(d.Mean()-tt.mean) > 1e-6 {
				t.Errorf("mean %v, want %v", d.Mean(), tt.mean)
			}
			again, err := ParseSizeDist(d.String())
			if err != nil || math.Abs(again.Mean()-d.Mean()) > 0.01*d.Mean() {
				t.Errorf("String %q does not round-trip: %v", d.String(), err)
			}
		})
	}
}

// TestSizeDistSample checks that sampling follows the weights.
func TestSizeDistSample(t *testing.T) {
	d, err := ParseSizeDist("100:0.25,200:0.75")
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	counts := map[int]int{}
	const n = 20000
	for range n {
		counts[d.Sample(r)]++
	}
	if len(counts) != 2 {
		t.Fatalf("sampled sizes %v", counts)
	}
	if frac := float64(counts[100]) / n; frac < 0.23 || frac > 0.27 {
		t.Errorf("100 drawn %.3f of the time, want 0.25", frac)
	}
	if d.Max() != 200 {
		t.Errorf("Max %d", d.Max())
	}
}

// FuzzParseSizeDist checks that the parser never panics, and that anything
// it accepts yields sizes in range, a valid cumulative distribution, and
// samples within the set.
func FuzzParseSizeDist(f *testing.F) {
	for _, seed := range []string{"1024", "1KiB", "512:0.5,4096:0.5", "1:1e-9,1048576:1e9", "4k:1,8k:2,16k:3", ":", ",,", "1:0.5:0.5"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		d, err := ParseSizeDist(in)
		if err != nil {
			return
		}
		r := rand.New(rand.NewPCG(1, 1))
		for i, s := range d.sizes {
			if s < 1 || s > sizeMaxBytes {
				t.Fatalf("size %d out of range", s)
			}
			if d.cumProb[i] < 0 || d.cumProb[i] > 1 || math.IsNaN(d.cumProb[i]) || (i > 0 && d.cumProb[i] < d.cumProb[i-1]) {
				t.Fatalf("bad cumulative probabilities %v", d.cumProb)
			}
		}
		for range 10 {
			if s := d.Sample(r); s < 1 || s > d.Max() {
				t.Fatalf("sample %d outside 1..%d", s, d.Max())
			}
		}
	})
}
