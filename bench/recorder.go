package bench

import (
	"context"
	"errors"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/smithy-go"
)

// Recorder collects what the workers of one run observe. Each worker owns a
// WorkerRecorder with its own lock, so recording never contends across
// workers; the once-a-second tick and the final merge take each lock briefly.
//
// Values are recorded only while the recorder is measuring (after warmup,
// before the end), decided by completion time.
type Recorder struct {
	series    []string
	measuring atomic.Bool
	stopped   atomic.Bool // consumers should finish their current poll and return

	mu struct {
		sync.Mutex
		workers  []*WorkerRecorder
		timeline []Sample
		start    time.Time // measurement start, for timeline offsets
		last     time.Time // previous tick
	}
}

// NewRecorder returns a recorder for the named latency series. Series 0 is
// the run's primary latency.
func NewRecorder(series []string) *Recorder {
	if len(series) == 0 {
		series = []string{"op"}
	}
	return &Recorder{series: series}
}

// Worker returns a new per-goroutine recorder.
func (r *Recorder) Worker() *WorkerRecorder {
	w := &WorkerRecorder{recorder: r}
	w.mu.series = make([]*Histogram, len(r.series))
	for i := range w.mu.series {
		w.mu.series[i] = NewHistogram()
	}
	w.mu.interval = NewHistogram()
	w.mu.errors = map[string]*errorCount{}
	r.mu.Lock()
	r.mu.workers = append(r.mu.workers, w)
	r.mu.Unlock()
	return w
}

// StartMeasuring begins the measured interval at now.
func (r *Recorder) StartMeasuring(now time.Time) {
	r.mu.Lock()
	r.mu.start, r.mu.last = now, now
	r.mu.Unlock()
	r.measuring.Store(true)
}

// StopMeasuring ends the measured interval; the last partial second becomes
// a final timeline sample.
func (r *Recorder) StopMeasuring(now time.Time) {
	r.measuring.Store(false)
	r.Tick(now)
}

// Measuring reports whether values are being recorded.
func (r *Recorder) Measuring() bool { return r.measuring.Load() }

// Tick closes the current timeline interval and returns its sample.
func (r *Recorder) Tick(now time.Time) Sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	interval := NewHistogram()
	var s Sample
	for _, w := range r.mu.workers {
		w.mu.Lock()
		s.Ops += w.mu.intervalCounts.ops
		s.Messages += w.mu.intervalCounts.messages
		s.Bytes += w.mu.intervalCounts.bytes
		s.Received += w.mu.intervalCounts.received
		s.Errors += w.mu.intervalCounts.errors
		w.mu.intervalCounts = counts{}
		interval.Merge(w.mu.interval)
		w.mu.interval.Reset()
		w.mu.Unlock()
	}
	s.ElapsedSec = now.Sub(r.mu.start).Seconds()
	s.IntervalSec = now.Sub(r.mu.last).Seconds()
	r.mu.last = now
	if interval.Count() > 0 {
		s.P50Us = interval.Quantile(50).Microseconds()
		s.P99Us = interval.Quantile(99).Microseconds()
	}
	if s.IntervalSec > 0 {
		r.mu.timeline = append(r.mu.timeline, s)
	}
	return s
}

// Summary is everything recorded, merged across workers.
type Summary struct {
	Series   []string
	Latency  []*Histogram // one per series
	Counts   Counts
	Errors   []ErrorCount // by count, descending
	Timeline []Sample
}

// Counts are the totals of a run.
type Counts struct {
	Ops      int64
	Messages int64
	Bytes    int64
	Received int64
	Errors   int64
}

// Summarize merges every worker's values.
func (r *Recorder) Summarize() Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Summary{Series: r.series, Latency: make([]*Histogram, len(r.series))}
	for i := range s.Latency {
		s.Latency[i] = NewHistogram()
	}
	errs := map[string]*errorCount{}
	for _, w := range r.mu.workers {
		w.mu.Lock()
		for i, h := range w.mu.series {
			s.Latency[i].Merge(h)
		}
		s.Counts.Ops += w.mu.counts.ops
		s.Counts.Messages += w.mu.counts.messages
		s.Counts.Bytes += w.mu.counts.bytes
		s.Counts.Received += w.mu.counts.received
		s.Counts.Errors += w.mu.counts.errors
		for code, e := range w.mu.errors {
			total, ok := errs[code]
			if !ok {
				total = &errorCount{example: e.example}
				errs[code] = total
			}
			total.count += e.count
		}
		w.mu.Unlock()
	}
	for code, e := range errs {
		s.Errors = append(s.Errors, ErrorCount{Code: code, Count: e.count, Example: e.example})
	}
	sort.Slice(s.Errors, func(i, j int) bool {
		if s.Errors[i].Count != s.Errors[j].Count {
			return s.Errors[i].Count > s.Errors[j].Count
		}
		return s.Errors[i].Code < s.Errors[j].Code
	})
	s.Timeline = append([]Sample(nil), r.mu.timeline...)
	return s
}

// Sample is one interval (normally one second) of a run.
type Sample struct {
	ElapsedSec  float64 `json:"elapsed_sec"`
	IntervalSec float64 `json:"interval_sec"`
	Ops         int64   `json:"ops"`
	Messages    int64   `json:"messages"`
	Bytes       int64   `json:"bytes"`
	Received    int64   `json:"received"`
	Errors      int64   `json:"errors"`
	P50Us       int64   `json:"p50_us"`
	P99Us       int64   `json:"p99_us"`
}

// ErrorCount is how often one error code occurred.
type ErrorCount struct {
	Code    string `json:"code"`
	Count   int64  `json:"count"`
	Example string `json:"example"`
}

type counts struct {
	ops, messages, bytes, received, errors int64
}

type errorCount struct {
	count   int64
	example string
}

// WorkerRecorder records one goroutine's observations.
type WorkerRecorder struct {
	recorder *Recorder
	mu       struct {
		sync.Mutex
		series         []*Histogram
		interval       *Histogram // series 0, current timeline interval
		counts         counts
		intervalCounts counts
		errors         map[string]*errorCount
	}
}

// Stopped reports that the run is over: a consumer should return after its
// current poll instead of being cut off mid-request (some servers crash on
// aborted requests).
func (w *WorkerRecorder) Stopped() bool { return w.recorder.stopped.Load() }

// Op records one completed operation of the workload: its latency in the
// given series (measured by the caller from the intended start), and the
// messages and payload bytes it moved.
func (w *WorkerRecorder) Op(series int, latency time.Duration, messages, bytes int) {
	if !w.recorder.Measuring() {
		return
	}
	w.mu.Lock()
	w.mu.series[series].Record(latency)
	if series == 0 {
		w.mu.interval.Record(latency)
	}
	w.mu.counts.ops++
	w.mu.counts.messages += int64(messages)
	w.mu.counts.bytes += int64(bytes)
	w.mu.intervalCounts.ops++
	w.mu.intervalCounts.messages += int64(messages)
	w.mu.intervalCounts.bytes += int64(bytes)
	w.mu.Unlock()
}

// Latency records a latency in a series without counting an operation
// (consumer-side latencies such as end-to-end delivery, or sub-steps).
func (w *WorkerRecorder) Latency(series int, latency time.Duration) {
	if !w.recorder.Measuring() {
		return
	}
	w.mu.Lock()
	w.mu.series[series].Record(latency)
	if series == 0 {
		w.mu.interval.Record(latency)
	}
	w.mu.Unlock()
}

// Received counts messages a consumer took delivery of.
func (w *WorkerRecorder) Received(messages int) {
	if !w.recorder.Measuring() {
		return
	}
	w.mu.Lock()
	w.mu.counts.received += int64(messages)
	w.mu.intervalCounts.received += int64(messages)
	w.mu.Unlock()
}

// Error counts a failed request (or a failed entry of a batch) by its AWS
// error code. Cancellation at the end of a run is not an error.
func (w *WorkerRecorder) Error(err error) {
	if err == nil || errors.Is(err, context.Canceled) {
		return
	}
	w.ErrorCode(ErrorCodeOf(err), err.Error())
}

// ErrorCode counts a failure reported by code (a failed batch entry).
func (w *WorkerRecorder) ErrorCode(code, message string) {
	if !w.recorder.Measuring() {
		return
	}
	w.mu.Lock()
	e, ok := w.mu.errors[code]
	if !ok {
		e = &errorCount{example: truncate(message, 200)}
		w.mu.errors[code] = e
	}
	e.count++
	w.mu.counts.errors++
	w.mu.intervalCounts.errors++
	w.mu.Unlock()
}

// ErrorCodeOf classifies an error: the AWS error code when the server sent
// one, otherwise a transport class.
func ErrorCodeOf(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() != "" {
		return apiErr.ErrorCode()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "Timeout"
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return "Timeout"
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return "ConnectionError"
	}
	var checksum *checksumError
	if errors.As(err, &checksum) {
		return "ChecksumMismatch"
	}
	return "ClientError"
}

// checksumError is a response whose MD5 digest does not match its body.
type checksumError struct{ what string }

func (e *checksumError) Error() string { return "bench: MD5 mismatch in " + e.what }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
