package kinesis

import (
	"bufio"
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/server/awsproto"
)

// SubscribeToShard pushes records over an AWS event stream
// (application/vnd.amazon.eventstream) for up to five minutes: first an
// "initial-response" event, then SubscribeToShardEvent events with
// Records, ContinuationSequenceNumber and MillisBehindLatest whenever
// records arrive, and at least every five seconds without them. When the
// shard is closed and read to its end, the last event carries ChildShards
// and no ContinuationSequenceNumber, and the stream ends. Event payloads
// use the request's encoding (JSON or CBOR).
//
// Waiting uses the engine's Stream.Wait, so an idle subscription costs a
// parked goroutine and one heartbeat every five seconds, no polling.
//
// A call is admitted per consumer and shard by the rules in
// subscribe_rules.go (ResourceInUseException within 5 s of a successful
// call, takeover after that, LimitExceededException past one call per
// second). A subscription ends early, with an exception event, when a newer
// call takes it over (ResourceInUseException), its consumer is deregistered
// or its stream deleted (ResourceNotFoundException).

// eventStreamContentType is the response content type of SubscribeToShard.
const eventStreamContentType = "application/vnd.amazon.eventstream"

func (s *Service) subscribeToShard(c *call) error {
	var in subscribeToShardInput
	if err := c.decode(&in); err != nil {
		return err
	}
	var v validator
	v.required("consumerARN", in.ConsumerARN != "")
	v.required("shardId", in.ShardID != "")
	v.name("shardId", in.ShardID, 128)
	v.required("startingPosition", in.StartingPosition != nil)
	if in.StartingPosition != nil {
		v.required("startingPosition.type", in.StartingPosition.Type != "")
		v.enum("startingPosition.type", in.StartingPosition.Type, iteratorTypes...)
		v.sequenceNumber("startingPosition.sequenceNumber", in.StartingPosition.SequenceNumber)
	}
	if err := v.err(); err != nil {
		return err
	}
	st, t, sc, err := s.consumerRef(&consumerInput{ConsumerARN: in.ConsumerARN})
	if err != nil {
		return err
	}
	arn := t.consumerARN(sc)
	if sc.Status != engine.ConsumerActive {
		return errResourceInUse.WithMessage("Consumer " + sc.Name + " with creation timestamp " + strconv.FormatInt(sc.Created.Unix(), 10) +
			" under stream: " + t.name + " , account " + t.ns.Account + " is not in ACTIVE status.")
	}
	info := st.Info()
	sh, err := findShard(&info, t, in.ShardID)
	if err != nil {
		return err
	}
	key := subscriptionKey{stream: st.EntityID(), consumer: sc.Name, createdUnixNano: sc.Created.UnixNano(), shard: sh.Index}
	now := s.now()
	if err := s.subs.admit(key, now, arn, in.ShardID); err != nil {
		return err
	}
	pos := in.StartingPosition
	seq, err := startPosition(st, &info, sh, pos.Type, pos.SequenceNumber, pos.Timestamp, "StartingSequenceNumber")
	if err != nil {
		return streamError(err, t.ns, t.name)
	}
	sub := &subscription{
		s: s, st: st, t: t, key: key, shard: sh.Index, next: seq, cbor: c.cbor, ctx: c.ctx,
		payloadType: awsproto.ContentTypeJSON11,
	}
	if c.cbor {
		sub.payloadType = awsproto.ContentTypeCBOR11
	}
	s.subs.start(key, now, sub)
	// DeregisterStreamConsumer removes the consumer, then ends the
	// subscriptions it finds in s.subs; checking again after start means
	// one of the two sees the other.
	if cur, err := st.Consumer(sc.Name); err != nil || !cur.Created.Equal(sc.Created) {
		s.subs.finish(key, sub)
		return consumerNotFound(t, sc.Name)
	}
	c.contentType = eventStreamContentType
	c.stream = sub.run
	return nil
}

// subscription is one running SubscribeToShard.
type subscription struct {
	s           *Service
	st          *engine.Stream
	t           target
	key         subscriptionKey
	shard       int
	next        uint64
	cbor        bool
	ctx         context.Context
	payloadType string
	// extendDeadline pushes the connection's write deadline forward before
	// each event: the server-wide WriteTimeout is shorter than a
	// subscription (a no-op over HTTP/2).
	extendDeadline func(time.Duration) error

	enc encoder // event payload
	msg []byte  // framed message
	// lastCount is the number of records the last read returned.
	lastCount int

	mu struct {
		sync.Mutex
		// cause is why the subscription was ended from outside (end);
		// nil while it may run.
		cause error
		// cancel cancels run's context; nil until run starts.
		cancel context.CancelCauseFunc
	}
}

// end stops the subscription from outside (takeover, deregistration): run
// sends cause as an exception event and returns. Only the first cause
// counts. It may be called before run starts, or after it ended.
func (sub *subscription) end(cause error) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.mu.cause != nil {
		return
	}
	sub.mu.cause = cause
	if sub.mu.cancel != nil {
		sub.mu.cancel(cause)
	}
}

// arm gives end the means to wake run, honouring an end that came first.
func (sub *subscription) arm(cancel context.CancelCauseFunc) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	sub.mu.cancel = cancel
	if sub.mu.cause != nil {
		cancel(sub.mu.cause)
	}
}

// endedBy returns the cause end gave, or nil.
func (sub *subscription) endedBy() error {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return sub.mu.cause
}

// run streams events to w until the lifetime ends, the shard ends, the
// client goes away (a failed flush) or the server shuts down. It is a
// server.StreamFunc.
//
// Scheduling: after each event the subscription reads again at once if the
// event carried records (more may be waiting); otherwise it parks in
// Stream.Wait until a record arrives or one heartbeat has passed since the
// last event, and an empty read at that point is sent as the heartbeat.
// Heartbeats are timed with the monotonic clock, like the waits.
func (sub *subscription) run(w *bufio.Writer, extendDeadline func(time.Duration) error) {
	defer sub.s.subs.finish(sub.key, sub)
	sub.extendDeadline = extendDeadline
	lifetime, heartbeat := sub.s.cfg.SubscriptionLifetime, sub.s.cfg.SubscriptionHeartbeat
	deadline := time.Now().Add(lifetime)
	endCtx, stop := context.WithCancelCause(sub.ctx)
	defer stop(nil)
	sub.arm(stop)
	ctx, cancel := context.WithDeadline(endCtx, deadline)
	defer cancel()
	if !sub.send(w, sub.initialResponse(), heartbeat) {
		return
	}
	lastSent := time.Now()
	for {
		if endCtx.Err() != nil {
			// Ended from outside (checked here too: a busy shard may never
			// let the loop reach Wait) or the server is shutting down.
			if cause := sub.endedBy(); cause != nil {
				sub.sendException(w, cause, heartbeat)
			}
			return
		}
		payload, ended, err := sub.readEvent(time.Since(lastSent) >= heartbeat)
		if err != nil {
			sub.sendException(w, err, heartbeat)
			return
		}
		if payload != nil {
			if !sub.send(w, payload, heartbeat) || ended {
				return
			}
			lastSent = time.Now()
			if sub.lastCount > 0 {
				continue // more may be waiting; read again before sleeping
			}
		}
		waitCtx, waitCancel := context.WithDeadline(ctx, lastSent.Add(heartbeat))
		err = sub.st.Wait(waitCtx, sub.shard, sub.next)
		waitCancel()
		if endCtx.Err() != nil {
			continue // reported at the top of the loop
		}
		if ctx.Err() != nil || !time.Now().Before(deadline) {
			return // lifetime over or server shutting down
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			sub.sendException(w, err, heartbeat)
			return
		}
	}
}

// initialResponse frames the initial-response event.
func (sub *subscription) initialResponse() []byte {
	body := []byte("{}")
	if sub.cbor {
		body = []byte{0xa0} // empty map
	}
	return appendEventMessage(sub.msg[:0], body,
		eventHeader{":event-type", "initial-response"},
		eventHeader{":message-type", "event"},
		eventHeader{":content-type", sub.payloadType})
}

// readEvent reads what is available and frames one SubscribeToShardEvent.
// It returns a nil payload when nothing was read, the shard has not ended
// and no heartbeat is due.
func (sub *subscription) readEvent(heartbeatDue bool) (msg []byte, ended bool, err error) {
	info := sub.st.Info()
	shard := shardByIndex(&info, sub.shard)
	if shard == nil {
		return nil, false, engine.ErrShardNotFound
	}
	kms := info.EncryptionType == "KMS"
	e := &sub.enc
	e.reset(sub.cbor)
	e.objStart()
	e.key("Records")
	e.arrStart()
	var lastArrival time.Time
	count := 0
	var seqBuf [64]byte
	next, err := sub.st.Read(sub.shard, sub.next, subscriptionEventRecordsMax, subscriptionEventBytesMax, func(r *engine.StreamRecord) error {
		e.elem()
		writeRecord(e, &info, sub.shard, r, kms, &seqBuf)
		lastArrival = r.Arrival
		count++
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	e.arrEnd()
	sub.lastCount = count
	sub.next = next
	ended = !shard.Open() && next >= shard.EndSeq
	if ended {
		writeChildShards(e, &info, sub.shard)
	} else {
		e.key("ContinuationSequenceNumber")
		e.strBytes(appendSequenceNumber(seqBuf[:0], streamSeq(&info, sub.shard, next-1)))
	}
	behind := int64(0)
	if _, tip, err := sub.st.Bounds(sub.shard); err == nil && next < tip && !lastArrival.IsZero() {
		behind = max(sub.s.now().Sub(lastArrival).Milliseconds(), 0)
	}
	e.kint("MillisBehindLatest", behind)
	e.objEnd()
	if count == 0 && !ended && !heartbeatDue {
		return nil, false, nil
	}
	sub.msg = appendEventMessage(sub.msg[:0], e.b,
		eventHeader{":event-type", "SubscribeToShardEvent"},
		eventHeader{":message-type", "event"},
		eventHeader{":content-type", sub.payloadType})
	return sub.msg, ended, nil
}

// send writes and flushes one framed message; false if the client is gone.
func (sub *subscription) send(w *bufio.Writer, msg []byte, heartbeat time.Duration) bool {
	// A slow reader gets three heartbeats to take each event; a failed
	// extension (connection already gone) shows up in the flush below.
	_ = sub.extendDeadline(3 * heartbeat)
	if _, err := w.Write(msg); err != nil {
		return false
	}
	return w.Flush() == nil
}

// sendException ends the stream with an exception event.
func (sub *subscription) sendException(w *bufio.Writer, err error, heartbeat time.Duration) {
	ae, ok := awsproto.AsError(streamError(err, sub.t.ns, sub.t.name))
	if !ok {
		sub.s.log.Error("kinesis: subscription failed", "stream", sub.t.name, "shard", sub.shard, "err", err)
		ae = errInternalFailure
	}
	e := &sub.enc
	e.reset(sub.cbor)
	e.objStart()
	e.kstr("message", ae.Message)
	e.objEnd()
	code := ae.Code
	if code == awsproto.ErrServiceUnavailable.Code || code == awsproto.ErrInternalFailure.Code {
		code = errInternalFailure.Code
	}
	sub.msg = appendEventMessage(sub.msg[:0], e.b,
		eventHeader{":exception-type", code},
		eventHeader{":message-type", "exception"},
		eventHeader{":content-type", sub.payloadType})
	sub.send(w, sub.msg, heartbeat)
}

// writeRecord writes one Record structure (GetRecords and events).
func writeRecord(e *encoder, info *engine.StreamInfo, shard int, r *engine.StreamRecord, kms bool, seqBuf *[64]byte) {
	e.objStart()
	e.key("SequenceNumber")
	e.strBytes(appendSequenceNumber(seqBuf[:0], streamSeq(info, shard, r.Seq)))
	e.ktime("ApproximateArrivalTimestamp", r.Arrival)
	e.key("Data")
	e.blob(r.Data)
	e.kstr("PartitionKey", r.PartitionKey)
	if kms {
		e.kstr("EncryptionType", "KMS")
	}
	e.objEnd()
}
