package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// sqsBatchMax is the SQS batch limit (SendMessageBatch, ReceiveMessage,
// DeleteMessageBatch).
const sqsBatchMax = 10

// sqsVisibility is the visibility timeout of bench receives: long enough
// that a message is deleted before it reappears.
const sqsVisibility = 60 * time.Second

func sqsScenarios() []*Scenario {
	return []*Scenario{
		{Name: "sqs-send", Service: "sqs", Summary: "SendMessage, one message per request", Prepare: prepareSQSSend(false)},
		{Name: "sqs-send-batch", Service: "sqs", Summary: "SendMessageBatch, --batch messages per request (default 10)", Prepare: prepareSQSSend(true)},
		{Name: "sqs-recv-delete", Service: "sqs", Summary: "prefill --prefill messages, then ReceiveMessage + DeleteMessageBatch until drained", Prepare: prepareSQSRecvDelete},
		{Name: "sqs-e2e", Service: "sqs", Summary: "producers send while consumers receive+delete; latency from the send time in the body", EndToEnd: true, Prepare: prepareSQSE2E(false)},
		{Name: "sqs-fifo", Service: "sqs", Summary: "sqs-e2e on a FIFO queue over --groups message groups, checking per-group order", EndToEnd: true, Prepare: prepareSQSE2E(true)},
	}
}

// sqsQueue creates a temporary queue (deleted by the returned cleanup) or
// looks up --queue.
func sqsQueue(ctx context.Context, env *Env, runID string, fifo bool) (string, func(context.Context) error, error) {
	if env.Config.Queue != "" {
		url, err := env.SQS.GetQueueURL(ctx, env.Config.Queue)
		return url, nil, err
	}
	name := "sluice-bench-" + runID
	if fifo {
		name += ".fifo"
	}
	url, err := env.SQS.CreateQueue(ctx, name, fifo)
	if err != nil {
		return "", nil, err
	}
	return url, func(ctx context.Context) error { return env.SQS.DeleteQueue(ctx, url) }, nil
}

func batchSize(cfg Config, fallback, limit int) int {
	if cfg.Batch <= 0 {
		return fallback
	}
	return min(cfg.Batch, limit)
}

// newBodies returns a body builder for one run.
func newBodies(runID string) func(dst []byte, sent time.Time, group, producer int, seq int64, size int) []byte {
	return func(dst []byte, sent time.Time, group, producer int, seq int64, size int) []byte {
		return appendBody(dst, bodyHeader{RunID: runID, Sent: sent, Group: group, Producer: producer, Seq: seq}, size)
	}
}

func prepareSQSSend(batched bool) func(context.Context, *Env) (*Workload, func(context.Context) error, error) {
	return func(ctx context.Context, env *Env) (*Workload, func(context.Context) error, error) {
		cfg := env.Config
		runID := newRunID()
		queueURL, cleanup, err := sqsQueue(ctx, env, runID, false)
		if err != nil {
			return nil, nil, err
		}
		batch := 1
		if batched {
			batch = batchSize(cfg, sqsBatchMax, sqsBatchMax)
		}
		bodies := newBodies(runID)
		var sent atomic.Int64
		seqs := make([]int64, cfg.Concurrency)
		w := &Workload{
			Series: []string{"send"},
			Notes:  []string{"queue " + queueURL, fmt.Sprintf("batch %d", batch)},
			Totals: func() Totals { return Totals{Sent: sent.Load()} },
		}
		w.Op = func(ctx context.Context, oc *OpContext) (Done, error) {
			msgs := make([]sqsMessage, batch)
			bytes := 0
			for i := range msgs {
				seqs[oc.Worker]++
				body := string(bodies(nil, oc.Intended, 0, oc.Worker, seqs[oc.Worker], cfg.Size.Sample(oc.Rand)))
				msgs[i] = sqsMessage{Body: body}
				bytes += len(body)
			}
			if !batched {
				if err := env.SQS.SendMessage(ctx, queueURL, msgs[0]); err != nil {
					return Done{}, err
				}
				sent.Add(1)
				return Done{Messages: 1, Bytes: bytes}, nil
			}
			failures, err := env.SQS.SendMessageBatch(ctx, queueURL, msgs)
			if err != nil {
				return Done{}, err
			}
			for _, f := range failures {
				oc.Rec.ErrorCode(f.Code, f.Message)
			}
			ok := len(msgs) - len(failures)
			sent.Add(int64(ok))
			return Done{Messages: ok, Bytes: bytes * ok / len(msgs)}, nil
		}
		return w, cleanup, nil
	}
}

// prefillSQS sends n messages with SendMessageBatch from workers goroutines,
// stopping early at timeout. It returns how many were accepted.
func prefillSQS(ctx context.Context, env *Env, queueURL string, n int, bodies func([]byte, time.Time, int, int, int64, int) []byte) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, env.Config.PrefillTimeout)
	defer cancel()
	var next, accepted atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	workers := min(max(env.Config.Concurrency, 4), 64)
	for worker := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				start := next.Add(sqsBatchMax) - sqsBatchMax
				if start >= int64(n) {
					return
				}
				count := min(int64(sqsBatchMax), int64(n)-start)
				msgs := make([]sqsMessage, count)
				for i := range msgs {
					msgs[i] = sqsMessage{Body: string(bodies(nil, time.Now(), 0, worker, start+int64(i), env.Config.Size.Max()))}
				}
				failures, err := env.SQS.SendMessageBatch(ctx, queueURL, msgs)
				if err != nil {
					if ctx.Err() == nil {
						errOnce.Do(func() { firstErr = fmt.Errorf("bench: prefill: %w", err) })
						cancel()
					}
					return
				}
				accepted.Add(count - int64(len(failures)))
			}
		}()
	}
	wg.Wait()
	return accepted.Load(), firstErr
}

func prepareSQSRecvDelete(ctx context.Context, env *Env) (*Workload, func(context.Context) error, error) {
	cfg := env.Config
	runID := newRunID()
	queueURL, cleanup, err := sqsQueue(ctx, env, runID, false)
	if err != nil {
		return nil, nil, err
	}
	prefilled, err := prefillSQS(ctx, env, queueURL, cfg.Prefill, newBodies(runID))
	if err != nil {
		return nil, cleanup, err
	}
	batch := batchSize(cfg, sqsBatchMax, sqsBatchMax)
	finished := make(chan struct{})
	var finishOnce sync.Once
	finish := func() { finishOnce.Do(func() { close(finished) }) }
	var tracker deliveryTracker
	tracker.sent.Store(prefilled)
	w := &Workload{
		Series:   []string{"receive_delete", "receive", "delete"},
		Notes:    []string{"queue " + queueURL, fmt.Sprintf("prefilled %d messages", prefilled)},
		Finished: finished,
		Totals:   tracker.totals,
	}
	// On its own prefilled queue the scenario knows when it is done, so it
	// short-polls: a long poll at the drained tail would only measure the
	// wait. On an existing queue an empty long poll is the end signal.
	wait := time.Duration(0)
	if cfg.Queue != "" {
		wait = cfg.Wait
	}
	w.Op = func(ctx context.Context, oc *OpContext) (Done, error) {
		start := time.Now()
		msgs, err := env.SQS.ReceiveMessage(ctx, queueURL, receiveRequest{Max: batch, Wait: wait, Visibility: sqsVisibility})
		if err != nil {
			return Done{}, err
		}
		oc.Rec.Latency(1, time.Since(start))
		if len(msgs) == 0 {
			if cfg.Queue != "" || tracker.deleted.Load() >= prefilled {
				finish()
			}
			return Done{}, nil
		}
		tracker.received.Add(int64(len(msgs)))
		handles := make([]string, len(msgs))
		bytes := 0
		for i, m := range msgs {
			handles[i] = m.ReceiptHandle
			bytes += len(m.Body)
		}
		deleteStart := time.Now()
		failures, err := env.SQS.DeleteMessageBatch(ctx, queueURL, handles)
		if err != nil {
			return Done{}, err
		}
		oc.Rec.Latency(2, time.Since(deleteStart))
		for _, f := range failures {
			oc.Rec.ErrorCode(f.Code, f.Message)
		}
		if tracker.deleted.Add(int64(len(msgs)-len(failures))) >= prefilled && cfg.Queue == "" {
			finish()
		}
		return Done{Messages: len(msgs), Bytes: bytes}, nil
	}
	return w, cleanup, nil
}

// fifoOrder checks that, within each (group, producer), sequence numbers
// arrive strictly increasing.
type fifoOrder struct {
	mu   sync.Mutex
	last map[[2]int]int64
}

func (f *fifoOrder) check(h bodyHeader) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := [2]int{h.Group, h.Producer}
	if last, ok := f.last[key]; ok && h.Seq <= last {
		return false
	}
	f.last[key] = h.Seq
	return true
}

func prepareSQSE2E(fifo bool) func(context.Context, *Env) (*Workload, func(context.Context) error, error) {
	return func(ctx context.Context, env *Env) (*Workload, func(context.Context) error, error) {
		cfg := env.Config
		runID := newRunID()
		queueURL, cleanup, err := sqsQueue(ctx, env, runID, fifo)
		if err != nil {
			return nil, nil, err
		}
		batch := batchSize(cfg, 1, sqsBatchMax)
		groups := max(cfg.Groups, 1)
		bodies := newBodies(runID)
		var tracker deliveryTracker
		order := &fifoOrder{last: map[[2]int]int64{}}
		seqs := make([]int64, cfg.Concurrency)
		consumers := cfg.Consumers
		if consumers == 0 {
			consumers = cfg.Concurrency
		}
		w := &Workload{
			Series:    []string{"e2e", "send", "receive"},
			OpSeries:  1,
			Consumers: consumers,
			Notes:     []string{"queue " + queueURL, fmt.Sprintf("batch %d, %d consumers", batch, consumers)},
			Totals:    tracker.totals,
			WaitDrained: func(ctx context.Context) error {
				return tracker.waitDrained(ctx, 2*cfg.Wait+time.Second)
			},
		}
		if fifo {
			w.Notes = append(w.Notes, fmt.Sprintf("%d message groups", groups))
		}
		w.Op = func(ctx context.Context, oc *OpContext) (Done, error) {
			msgs := make([]sqsMessage, batch)
			bytes := 0
			for i := range msgs {
				seqs[oc.Worker]++
				seq := seqs[oc.Worker]
				group := int(seq % int64(groups))
				body := string(bodies(nil, oc.Intended, group, oc.Worker, seq, cfg.Size.Sample(oc.Rand)))
				msgs[i] = sqsMessage{Body: body}
				if fifo {
					msgs[i].GroupID = fmt.Sprintf("g%d", group)
					msgs[i].DeduplicationID = fmt.Sprintf("%s-%d-%d", runID, oc.Worker, seq)
				}
				bytes += len(body)
			}
			if batch == 1 {
				if err := env.SQS.SendMessage(ctx, queueURL, msgs[0]); err != nil {
					return Done{}, err
				}
				tracker.sent.Add(1)
				return Done{Messages: 1, Bytes: bytes}, nil
			}
			failures, err := env.SQS.SendMessageBatch(ctx, queueURL, msgs)
			if err != nil {
				return Done{}, err
			}
			for _, f := range failures {
				oc.Rec.ErrorCode(f.Code, f.Message)
			}
			ok := len(msgs) - len(failures)
			tracker.sent.Add(int64(ok))
			return Done{Messages: ok, Bytes: bytes * ok / len(msgs)}, nil
		}
		w.Consume = func(ctx context.Context, id int, rec *WorkerRecorder) error {
			for ctx.Err() == nil && !rec.Stopped() {
				start := time.Now()
				msgs, err := env.SQS.ReceiveMessage(ctx, queueURL, receiveRequest{Max: sqsBatchMax, Wait: cfg.Wait, Visibility: sqsVisibility})
				if err != nil {
					if ctx.Err() != nil {
						return nil // the run is over; the aborted poll is not an error
					}
					rec.Error(err)
					continue
				}
				now := time.Now()
				rec.Latency(2, now.Sub(start))
				if len(msgs) == 0 {
					continue
				}
				own := 0
				handles := make([]string, len(msgs))
				for i, m := range msgs {
					handles[i] = m.ReceiptHandle
					h, ok := parseBody([]byte(m.Body))
					if !ok || h.RunID != runID {
						tracker.foreign.Add(1)
						continue
					}
					own++
					rec.Latency(0, now.Sub(h.Sent))
					if fifo && !order.check(h) {
						rec.ErrorCode("FifoOrderViolation", fmt.Sprintf("group %d producer %d seq %d arrived after a later one", h.Group, h.Producer, h.Seq))
					}
				}
				if own > 0 {
					rec.Received(own)
					tracker.received.Add(int64(own))
					tracker.lastDelivery.Store(now.UnixNano())
				}
				failures, err := env.SQS.DeleteMessageBatch(ctx, queueURL, handles)
				if err != nil {
					rec.Error(err)
					continue
				}
				for _, f := range failures {
					rec.ErrorCode(f.Code, f.Message)
				}
				tracker.deleted.Add(int64(len(handles) - len(failures)))
			}
			return nil
		}
		return w, cleanup, nil
	}
}
