package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Workload is what a Scenario prepared: the operation to drive, optional
// consumers beside it, and how to tell when it has run out of work.
type Workload struct {
	// Series names the latency histograms; Series[0] is the run's primary
	// latency. Default: {"op"}.
	Series []string
	// OpSeries is the series the operation's latency goes into (from its
	// intended start). Default: 0.
	OpSeries int
	// Op performs one operation (one request, or a request pair such as
	// receive+delete). Workers call it repeatedly.
	Op func(ctx context.Context, op *OpContext) (Done, error)
	// Consumers is the number of goroutines running Consume. Default: 0.
	Consumers int
	// Consume runs until ctx is cancelled (e2e consumers). It records its
	// own latencies and deliveries into rec.
	Consume func(ctx context.Context, id int, rec *WorkerRecorder) error
	// Finished, when non-nil, is closed when the workload has nothing more
	// to do (a prefilled queue is drained); the run then ends early.
	Finished <-chan struct{}
	// WaitDrained, when non-nil, is called after the producers stop and
	// returns once consumers have caught up with everything sent, or when
	// ctx expires.
	WaitDrained func(ctx context.Context) error
	// Totals reports whole-run totals (warmup included) for plausibility
	// checks against what the server holds. Optional.
	Totals func() Totals
	// Notes are extra lines for the report (resources, prefill size).
	Notes []string
}

// Totals counts everything a workload did, measured or not.
type Totals struct {
	Sent     int64 `json:"sent"`
	Received int64 `json:"received"`
	Deleted  int64 `json:"deleted"`
}

// Done is what one operation moved.
type Done struct {
	Messages int // messages or records moved
	Bytes    int // payload bytes moved
}

// OpContext is handed to each call of Workload.Op.
type OpContext struct {
	Worker   int       // worker index, 0..Concurrency-1
	Intended time.Time // when the operation was meant to start
	Rand     *rand.Rand
	Rec      *WorkerRecorder // for sub-step latencies and failed batch entries
}

// RunOptions controls how a workload is driven.
type RunOptions struct {
	Concurrency int           // workers (closed loop) or the bound on outstanding operations (open loop)
	Duration    time.Duration // measured interval, when Count is 0
	Count       int64         // measured operations; overrides Duration
	Warmup      time.Duration // unmeasured lead-in
	Rate        float64       // operations per second; 0 = closed loop
	// Grace bounds how long in-flight operations may run past the end.
	// Default: 10s.
	Grace time.Duration
	// DrainTimeout bounds WaitDrained. Default: 10s.
	DrainTimeout time.Duration
	// Progress, when non-nil, receives a live status line once a second.
	Progress io.Writer
	// Label prefixes the progress line.
	Label string
	// OnMeasure, when non-nil, is called at the start and end of the
	// measured interval (server CPU sampling).
	OnMeasure func(start bool)
	// Seed makes the per-worker random sources deterministic. Default: time-based.
	Seed uint64
}

// RunStats is what Run measured.
type RunStats struct {
	Summary  Summary
	Measured time.Duration // from the start of measurement to the last completion
	Drained  bool          // the workload finished before its duration
}

// ErrNoOp reports a workload without an operation.
var ErrNoOp = errors.New("bench: workload has no operation")

// Run drives w: warmup, then the measured interval, then waits for in-flight
// operations and (for e2e workloads) for consumers to catch up.
func Run(ctx context.Context, w *Workload, opts RunOptions) (RunStats, error) {
	if w.Op == nil {
		return RunStats{}, ErrNoOp
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 1
	}
	if opts.Grace <= 0 {
		opts.Grace = 10 * time.Second
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = 10 * time.Second
	}
	if opts.Seed == 0 {
		opts.Seed = uint64(time.Now().UnixNano())
	}
	if opts.Count <= 0 && opts.Duration <= 0 {
		return RunStats{}, fmt.Errorf("bench: need a duration or a count")
	}
	rec := NewRecorder(w.Series)
	r := &run{w: w, opts: opts, rec: rec}
	return r.run(ctx)
}

type run struct {
	w    *Workload
	opts RunOptions
	rec  *Recorder

	tickets atomic.Int64 // count mode: measured operations claimed
	next    atomic.Int64 // open loop: next schedule slot
	start   time.Time    // open loop: schedule origin
}

func (r *run) run(ctx context.Context) (RunStats, error) {
	// stopCtx ends the producers' loop; opCtx aborts in-flight requests
	// only after the grace period.
	stopCtx, stop := context.WithCancel(ctx)
	defer stop()
	opCtx, cancelOps := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelOps()
	consumerCtx, stopConsumers := context.WithCancel(ctx)
	defer stopConsumers()

	var consumers sync.WaitGroup
	consumerErrs := make(chan error, max(r.w.Consumers, 1))
	for i := range r.w.Consumers {
		consumers.Add(1)
		wr := r.rec.Worker()
		go func() {
			defer consumers.Done()
			if err := r.w.Consume(consumerCtx, i, wr); err != nil && !errors.Is(err, context.Canceled) {
				consumerErrs <- err
			}
		}()
	}

	r.start = time.Now()
	measureAt := r.start.Add(r.opts.Warmup)
	var producers sync.WaitGroup
	for i := range r.opts.Concurrency {
		producers.Add(1)
		wr := r.rec.Worker()
		rng := rand.New(rand.NewPCG(r.opts.Seed, uint64(i)))
		go func() {
			defer producers.Done()
			r.worker(stopCtx, opCtx, i, wr, rng)
		}()
	}
	producersDone := make(chan struct{})
	go func() {
		producers.Wait()
		close(producersDone)
	}()

	drained, err := r.supervise(ctx, stop, measureAt, producersDone)
	// Producers are stopping: let in-flight operations finish, within grace.
	graceTimer := time.NewTimer(r.opts.Grace)
	select {
	case <-producersDone:
	case <-graceTimer.C:
		cancelOps()
		<-producersDone
	}
	graceTimer.Stop()
	if r.w.WaitDrained != nil && err == nil {
		drainCtx, cancel := context.WithTimeout(ctx, r.opts.DrainTimeout)
		if drainErr := r.w.WaitDrained(drainCtx); drainErr != nil && ctx.Err() == nil {
			r.rec.Worker().ErrorCode("DrainTimeout", drainErr.Error())
		}
		cancel()
	}
	end := time.Now()
	measuring := r.rec.Measuring()
	if measuring {
		r.rec.StopMeasuring(end)
		if r.opts.OnMeasure != nil {
			r.opts.OnMeasure(false)
		}
	}
	// Let consumers finish their current poll (a long poll takes up to its
	// wait), then cut off whatever is left.
	r.rec.stopped.Store(true)
	consumersDone := make(chan struct{})
	go func() {
		consumers.Wait()
		close(consumersDone)
	}()
	consumerGrace := time.NewTimer(r.opts.Grace)
	select {
	case <-consumersDone:
	case <-consumerGrace.C:
		stopConsumers()
		<-consumersDone
	}
	consumerGrace.Stop()
	stopConsumers()
	close(consumerErrs)
	if err == nil {
		err = <-consumerErrs
	}
	if r.opts.Progress != nil {
		fmt.Fprint(r.opts.Progress, "\r\033[K")
	}
	stats := RunStats{Summary: r.rec.Summarize(), Drained: drained}
	if measuring {
		stats.Measured = end.Sub(measureAt)
	}
	return stats, err
}

// supervise runs the clock: warmup, the measured interval, the per-second
// ticks and the progress line. It returns when the run should stop.
func (r *run) supervise(ctx context.Context, stop context.CancelFunc, measureAt time.Time, producersDone <-chan struct{}) (drained bool, err error) {
	defer stop()
	if r.opts.Warmup > 0 {
		warm := time.NewTimer(r.opts.Warmup)
		select {
		case <-warm.C:
		case <-ctx.Done():
			warm.Stop()
			return false, ctx.Err()
		case <-r.w.Finished:
			warm.Stop()
			return true, nil
		case <-producersDone:
			warm.Stop()
			return false, nil
		}
	}
	if r.opts.OnMeasure != nil {
		r.opts.OnMeasure(true)
	}
	r.rec.StartMeasuring(measureAt)
	var deadline <-chan time.Time
	if r.opts.Count <= 0 {
		t := time.NewTimer(r.opts.Duration)
		defer t.Stop()
		deadline = t.C
	}
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	for {
		select {
		case now := <-ticker.C:
			sample := r.rec.Tick(now)
			r.progress(now.Sub(measureAt), sample)
		case <-deadline:
			return false, nil
		case <-producersDone: // count reached
			return false, nil
		case <-r.w.Finished:
			return true, nil
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
}

func (r *run) progress(elapsed time.Duration, s Sample) {
	if r.opts.Progress == nil {
		return
	}
	total := "∞"
	if r.opts.Count > 0 {
		total = fmt.Sprintf("%d/%d ops", r.tickets.Load(), r.opts.Count)
	} else {
		total = r.opts.Duration.Round(time.Second).String()
	}
	rate := 0.0
	if s.IntervalSec > 0 {
		rate = float64(s.Messages+s.Received) / s.IntervalSec
	}
	fmt.Fprintf(r.opts.Progress, "\r\033[K%s %s/%s  %s msg/s  p99 %s  errors %d",
		r.opts.Label, elapsed.Round(time.Second), total, formatCount(rate),
		formatMicros(float64(s.P99Us)), s.Errors)
}

// worker issues operations until stopCtx is done or the count is reached.
func (r *run) worker(stopCtx, opCtx context.Context, id int, wr *WorkerRecorder, rng *rand.Rand) {
	oc := &OpContext{Worker: id, Rand: rng, Rec: wr}
	var interval time.Duration
	if r.opts.Rate > 0 {
		interval = time.Duration(float64(time.Second) / r.opts.Rate)
	}
	var timer *time.Timer
	for stopCtx.Err() == nil {
		now := time.Now()
		intended := now
		if interval > 0 {
			// Open loop: claim the next slot of the fixed schedule and wait
			// for it. A slow server makes workers late, and the lateness is
			// part of the latency.
			slot := r.next.Add(1) - 1
			intended = r.start.Add(time.Duration(slot) * interval)
			if wait := intended.Sub(now); wait > 0 {
				if timer == nil {
					timer = time.NewTimer(wait)
				} else {
					timer.Reset(wait)
				}
				select {
				case <-timer.C:
				case <-stopCtx.Done():
					timer.Stop()
					return
				}
			}
		}
		measured := false
		if r.opts.Count > 0 && r.rec.Measuring() {
			if r.tickets.Add(1) > r.opts.Count {
				return
			}
			measured = true
		}
		oc.Intended = intended
		done, err := r.w.Op(opCtx, oc)
		latency := time.Since(intended)
		if r.opts.Count <= 0 {
			measured = r.rec.Measuring()
		}
		if !measured {
			continue
		}
		if err != nil {
			if opCtx.Err() != nil {
				// Still in flight when the grace period ran out: a
				// request the server never answered in time.
				wr.ErrorCode("Abandoned", "bench: request still in flight after the grace period")
				continue
			}
			wr.Error(err)
			continue
		}
		wr.Op(r.w.OpSeries, latency, done.Messages, done.Bytes)
	}
}
