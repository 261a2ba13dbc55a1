package kinesis

import (
	"sync"
	"time"

	"github.com/sluice-dev/sluice/server/awsproto"
)

// SubscribeToShard admission rules, per consumer and shard, as the API
// reference states them (botocore model, SubscribeToShard):
//
//   - "If you call SubscribeToShard again with the same ConsumerARN and
//     ShardId within 5 seconds of a successful call, you'll get a
//     ResourceInUseException." The rule is about time since the last
//     successful call, not about whether that subscription is still
//     streaming, so a client that drops a subscription and resubscribes at
//     once is refused too, as on AWS.
//   - "If you call SubscribeToShard 5 seconds or more after a successful
//     call, the second call takes over the subscription and the previous
//     connection expires or fails with a ResourceInUseException." The
//     previous subscription, if still streaming, ends with a
//     ResourceInUseException event.
//   - "You can make one call to SubscribeToShard per second per registered
//     consumer per shard": a call within one second of the last admitted
//     one gets LimitExceededException. Because of the 5 s rule this is only
//     reachable after an admitted call that failed (a bad starting
//     position, say); calls refused by either rule do not count.
//
// DeregisterStreamConsumer ends the consumer's subscriptions at once with a
// ResourceNotFoundException event; DeleteStream ends them through the
// engine (Stream.Wait and Read fail with ErrStreamNotFound).
//
// Time is the engine clock's (Service.now), so tests move it by hand.

const (
	// subscribeReuseWindow is how long after a successful SubscribeToShard
	// the same consumer and shard answer ResourceInUseException.
	subscribeReuseWindow = 5 * time.Second
	// subscribeCallInterval is the per consumer, per shard call rate: one
	// per second.
	subscribeCallInterval = time.Second
	// subscriptionSlotsSweepMin is the table size below which idle slots
	// are not swept.
	subscriptionSlotsSweepMin = 64
)

// subscriptionKey names one consumer's view of one shard. The stream's
// entity id and the consumer's creation time tell a re-created stream or
// consumer of the same name apart.
type subscriptionKey struct {
	stream          uint64
	consumer        string
	createdUnixNano int64
	shard           int
}

// subscriptionSlot is the admission state of one key.
type subscriptionSlot struct {
	// lastSuccess is when the last successful call was admitted; zero if
	// none.
	lastSuccess time.Time
	// lastAdmitted is when the last call passed both rules; zero if none.
	lastAdmitted time.Time
	// active is the subscription started by the last successful call
	// until it ends; nil then.
	active *subscription
}

// subscriptions is the service's table of subscription slots. Idle slots
// (nothing active, both windows passed) are swept when the table has
// doubled since the last sweep, so the cost is amortized O(1) per call and
// the table stays proportional to recent use.
type subscriptions struct {
	mu struct {
		sync.Mutex
		slots   map[subscriptionKey]*subscriptionSlot
		sweepAt int
	}
}

// admit applies the two admission rules for a call at now. On success the
// call counts against the rate; the caller then either fails (the slot
// keeps only the rate charge) or calls start.
func (r *subscriptions) admit(k subscriptionKey, now time.Time, consumerARN, shardID string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mu.slots == nil {
		r.mu.slots = make(map[subscriptionKey]*subscriptionSlot)
	}
	slot := r.mu.slots[k]
	if slot == nil {
		r.sweepLocked(now)
		slot = &subscriptionSlot{}
		r.mu.slots[k] = slot
	}
	if within(slot.lastSuccess, now, subscribeReuseWindow) {
		return errResourceInUse.WithMessage("Another active subscription exists for this consumer: " + consumerARN)
	}
	if within(slot.lastAdmitted, now, subscribeCallInterval) {
		return errLimitExceeded.WithMessage("Rate exceeded for consumer " + consumerARN + " and shard " + shardID + ".")
	}
	slot.lastAdmitted = now
	return nil
}

// within reports whether last is set and now is less than window after it
// (a clock that stepped back counts as within).
func within(last, now time.Time, window time.Duration) bool {
	return !last.IsZero() && now.Sub(last) < window
}

// start records sub as the slot's successful call at now and ends the
// subscription it takes over, if any, with a ResourceInUseException.
func (r *subscriptions) start(k subscriptionKey, now time.Time, sub *subscription) {
	r.mu.Lock()
	slot := r.mu.slots[k]
	if slot == nil { // swept between admit and start: cannot happen within the windows, but stay safe
		slot = &subscriptionSlot{lastAdmitted: now}
		r.mu.slots[k] = slot
	}
	previous := slot.active
	slot.lastSuccess, slot.active = now, sub
	r.mu.Unlock()
	if previous != nil {
		previous.end(errResourceInUse.WithMessage("The subscription was taken over by a newer SubscribeToShard call for this consumer and shard."))
	}
}

// finish forgets sub as its slot's active subscription (it has ended).
func (r *subscriptions) finish(k subscriptionKey, sub *subscription) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if slot := r.mu.slots[k]; slot != nil && slot.active == sub {
		slot.active = nil
	}
}

// endConsumer ends every subscription of the consumer (stream entity id,
// name, creation time) with cause and forgets its slots: a consumer
// registered again under the name is a new consumer.
func (r *subscriptions) endConsumer(stream uint64, consumer string, createdUnixNano int64, cause *awsproto.Error) {
	var ended []*subscription
	r.mu.Lock()
	for k, slot := range r.mu.slots {
		if k.stream != stream || k.consumer != consumer || k.createdUnixNano != createdUnixNano {
			continue
		}
		if slot.active != nil {
			ended = append(ended, slot.active)
		}
		delete(r.mu.slots, k)
	}
	r.mu.Unlock()
	for _, sub := range ended {
		sub.end(cause)
	}
}

// sweepLocked drops idle slots once the table has grown to sweepAt.
func (r *subscriptions) sweepLocked(now time.Time) {
	if len(r.mu.slots) < max(r.mu.sweepAt, subscriptionSlotsSweepMin) {
		return
	}
	for k, slot := range r.mu.slots {
		if slot.active == nil && !within(slot.lastSuccess, now, subscribeReuseWindow) &&
			!within(slot.lastAdmitted, now, subscribeCallInterval) {
			delete(r.mu.slots, k)
		}
	}
	r.mu.sweepAt = 2 * len(r.mu.slots)
}

// len returns the number of slots (tests).
func (r *subscriptions) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.mu.slots)
}
