package bench

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// stallingServer is a fake operation that takes serviceTime, except that
// nothing completes between stallFrom and stallUntil (a 1-second server
// stall): requests in flight then finish at stallUntil.
type stallingServer struct {
	serviceTime           time.Duration
	stallFrom, stallUntil time.Time
}

func (s *stallingServer) op(ctx context.Context, _ *OpContext) (Done, error) {
	now := time.Now()
	finish := now.Add(s.serviceTime)
	if finish.After(s.stallFrom) && now.Before(s.stallUntil) {
		finish = s.stallUntil
	}
	timer := time.NewTimer(finish.Sub(now))
	defer timer.Stop()
	select {
	case <-timer.C:
		return Done{Messages: 1, Bytes: 100}, nil
	case <-ctx.Done():
		return Done{}, ctx.Err()
	}
}

// runStalled drives a stalling fake server for 3 s with one worker, either
// closed-loop or open-loop at 1000 ops/s, inside a synctest bubble (fake
// time, no real sleeping).
func runStalled(t *testing.T, rate float64) RunStats {
	t.Helper()
	var stats RunStats
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		server := &stallingServer{serviceTime: 100 * time.Microsecond, stallFrom: start.Add(time.Second), stallUntil: start.Add(2 * time.Second)}
		var err error
		stats, err = Run(context.Background(), &Workload{Op: server.op}, RunOptions{Concurrency: 1, Duration: 3 * time.Second, Rate: rate, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
	})
	return stats
}

// TestOpenLoopShowsStall checks the open-loop scheduler against coordinated
// omission: during a 1 s stall a closed-loop client simply stops sending and
// records a single slow request (its p99 stays at the service time), while
// the open-loop client keeps the 1000/s schedule and measures every request
// from its intended start, so about a third of its samples carry the stall.
func TestOpenLoopShowsStall(t *testing.T) {
	closed := runStalled(t, 0).Summary.Latency[0].Percentiles()
	open := runStalled(t, 1000)
	openP := open.Summary.Latency[0].Percentiles()

	if closed.P99Us > 1000 {
		t.Errorf("closed loop p99 = %dµs; expected the stall to hide below p99 (coordinated omission)", closed.P99Us)
	}
	if closed.MaxUs < 900_000 {
		t.Errorf("closed loop max = %dµs, want the ~1s stall", closed.MaxUs)
	}
	if openP.P90Us < 300_000 || openP.P99Us < 900_000 {
		t.Errorf("open loop p90 %dµs p99 %dµs: the stall is hidden", openP.P90Us, openP.P99Us)
	}
	// The schedule is kept: 3 s at 1000/s is 3000 operations, whatever
	// the stall did.
	if n := open.Summary.Counts.Ops; n < 2950 || n > 3050 {
		t.Errorf("open loop ran %d ops, want ~3000", n)
	}
	if open.Measured < 3*time.Second || open.Measured > 3*time.Second+100*time.Millisecond {
		t.Errorf("measured %v, want ~3s", open.Measured)
	}
	if got := len(open.Summary.Timeline); got < 3 || got > 4 {
		t.Errorf("timeline has %d samples, want 3 (+ a final partial one)", got)
	}
}

// TestRunCountAndWarmup checks count mode: exactly Count operations are
// measured, operations during the warmup are not, and an operation error is
// counted by code instead of as an operation.
func TestRunCountAndWarmup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls int
		w := &Workload{Op: func(ctx context.Context, oc *OpContext) (Done, error) {
			calls++
			timer := time.NewTimer(time.Millisecond)
			<-timer.C
			return Done{Messages: 2, Bytes: 10}, nil
		}}
		stats, err := Run(context.Background(), w, RunOptions{Concurrency: 1, Count: 500, Warmup: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		c := stats.Summary.Counts
		if c.Ops != 500 || c.Messages != 1000 || c.Bytes != 5000 {
			t.Errorf("counts %+v, want 500 ops, 1000 messages, 5000 bytes", c)
		}
		if calls < 590 || calls > 602 {
			t.Errorf("%d calls, want ~100 warmup + 500 measured", calls)
		}
		if stats.Measured < 500*time.Millisecond || stats.Measured > 510*time.Millisecond {
			t.Errorf("measured %v, want ~500ms", stats.Measured)
		}
	})
}

// TestRunCountsErrorsByCode checks that a failing operation is counted under
// its code and not as a successful operation.
func TestRunCountsErrorsByCode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := 0
		w := &Workload{Op: func(ctx context.Context, oc *OpContext) (Done, error) {
			n++
			timer := time.NewTimer(time.Millisecond)
			<-timer.C
			if n%4 == 0 {
				return Done{}, &checksumError{what: "test"}
			}
			oc.Rec.ErrorCode("PartialFailure", "one batch entry failed")
			return Done{Messages: 1}, nil
		}}
		stats, err := Run(context.Background(), w, RunOptions{Concurrency: 1, Count: 100})
		if err != nil {
			t.Fatal(err)
		}
		s := stats.Summary
		if s.Counts.Ops != 75 || s.Counts.Errors != 100 {
			t.Errorf("ops %d errors %d, want 75 and 100", s.Counts.Ops, s.Counts.Errors)
		}
		want := map[string]int64{"PartialFailure": 75, "ChecksumMismatch": 25}
		for _, e := range s.Errors {
			if want[e.Code] != e.Count {
				t.Errorf("error %s ×%d, want ×%d", e.Code, e.Count, want[e.Code])
			}
			delete(want, e.Code)
		}
		if len(want) != 0 {
			t.Errorf("missing error codes %v", want)
		}
	})
}
