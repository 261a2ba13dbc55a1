package kinesis

import (
	"bufio"
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/server/awsproto"
)

// TestSubscriptionSlots drives the admission table directly: each step
// advances a clock, then admits (and on success starts) a call for a key,
// or deregisters a consumer, and checks the error code and which earlier
// subscription was ended. It covers the windows' exact edges, keys that
// differ only by shard or consumer registration, and that deregistering
// forgets the consumer's slots (no window left behind).
func TestSubscriptionSlots(t *testing.T) {
	var table subscriptions
	now := time.Unix(1_700_000_000, 0)
	a0 := subscriptionKey{stream: 1, consumer: "a", createdUnixNano: 10, shard: 0}
	a1 := a0
	a1.shard = 1
	aNew := a0 // "a" registered again
	aNew.createdUnixNano = 20
	gone := errResourceNotFound.WithMessage("gone")
	var subs []*subscription
	steps := []struct {
		advance    time.Duration
		key        subscriptionKey
		fail       bool // the admitted call fails afterwards (bad position)
		deregister bool // end key's consumer instead of calling
		want       string
		wantEnded  []int // subs ended by this step, by index
	}{
		{key: a0},
		{key: a0, want: "ResourceInUseException"},
		{key: a1},
		{advance: subscribeReuseWindow - 1, key: a0, want: "ResourceInUseException"},
		{advance: 1, key: a0, wantEnded: []int{0}},
		{advance: subscribeReuseWindow, key: a0, fail: true},
		{advance: subscribeCallInterval - 1, key: a0, want: "LimitExceededException"},
		{advance: 1, key: a0, wantEnded: []int{2}},
		{key: aNew}, // another registration: its own slot
		{key: a0, deregister: true, wantEnded: []int{1, 3}},
		{key: a0}, // no slot left: admitted at once
	}
	for i, step := range steps {
		now = now.Add(step.advance)
		before := make([]error, len(subs))
		for j, sub := range subs {
			before[j] = sub.endedBy()
		}
		switch {
		case step.deregister:
			table.endConsumer(step.key.stream, step.key.consumer, step.key.createdUnixNano, gone)
		default:
			err := table.admit(step.key, now, "arn", "shard")
			code := ""
			if ae, ok := awsproto.AsError(err); ok {
				code = ae.Code
			} else if err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			if code != step.want {
				t.Fatalf("step %d: got %q, want %q", i, code, step.want)
			}
			if err == nil && !step.fail {
				sub := &subscription{}
				subs = append(subs, sub)
				table.start(step.key, now, sub)
			}
		}
		var ended []int
		for j, sub := range subs[:len(before)] {
			if before[j] == nil && sub.endedBy() != nil {
				ended = append(ended, j)
			}
		}
		if len(ended) != len(step.wantEnded) || (len(ended) > 0 && !equalInts(ended, step.wantEnded)) {
			t.Fatalf("step %d ended %v, want %v", i, ended, step.wantEnded)
		}
	}
	if ae, ok := awsproto.AsError(subs[0].endedBy()); !ok || ae.Code != errResourceInUse.Code {
		t.Fatalf("taken over with %v", subs[0].endedBy())
	}
	if cause := subs[1].endedBy(); cause != gone {
		t.Fatalf("deregistered with %v", cause)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestSubscriptionSlotsSweep checks that the table does not keep a slot
// for every consumer and shard ever subscribed: after thousands of calls
// on distinct keys and both windows passing, admitting one more call
// sweeps the idle slots, while a slot with a running subscription stays.
func TestSubscriptionSlotsSweep(t *testing.T) {
	var table subscriptions
	now := time.Unix(1_700_000_000, 0)
	running := subscriptionKey{stream: 2, consumer: "running"}
	if err := table.admit(running, now, "arn", "shard"); err != nil {
		t.Fatal(err)
	}
	table.start(running, now, &subscription{})
	for i := range 5000 {
		k := subscriptionKey{stream: 1, consumer: "c", shard: i}
		if err := table.admit(k, now, "arn", "shard"); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 { // a subscription that ran and ended
			sub := &subscription{}
			table.start(k, now, sub)
			table.finish(k, sub)
		}
	}
	if n := table.len(); n != 5001 {
		t.Fatalf("%d slots for 5001 keys within their windows", n)
	}
	// The next sweep happens once the table has doubled since the last
	// one; keep admitting new keys until it has.
	for i := 0; table.len() > 64; i++ {
		if i > 20_000 {
			t.Fatalf("table still holds %d slots", table.len())
		}
		now = now.Add(subscribeReuseWindow)
		k := subscriptionKey{stream: 3, consumer: "late", shard: i}
		if err := table.admit(k, now, "arn", "shard"); err != nil {
			t.Fatal(err)
		}
	}
	if err := table.admit(running, now, "arn", "shard"); err != nil {
		t.Fatalf("running key after sweep: %v", err)
	}
	table.mu.Lock()
	slot := table.mu.slots[running]
	table.mu.Unlock()
	if slot == nil || slot.active == nil {
		t.Fatal("sweep dropped the running subscription's slot")
	}
}

// TestSubscriptionEndedBeforeRun checks that a subscription ended from
// outside stops even when records keep it from ever waiting: ended before
// its stream function runs, with 25,000 records to read (three full
// events), it sends the initial response and then only the exception.
func TestSubscriptionEndedBeforeRun(t *testing.T) {
	s, st, ns := newInternalStream(t)
	recs := make([]engine.PutRecord, 500)
	for i := range recs {
		recs[i] = engine.PutRecord{PartitionKey: "k", Data: []byte("d")}
	}
	for range 50 {
		if _, err := st.Put(context.Background(), recs); err != nil {
			t.Fatal(err)
		}
	}
	consumer, err := st.RegisterConsumer("c")
	if err != nil {
		t.Fatal(err)
	}
	arn := consumerARN(ns.Region, ns.Account, "s", "c", consumer.Created.Unix())
	c := call{ctx: context.Background(), ns: ns,
		body: []byte(`{"ConsumerARN":"` + arn + `","ShardId":"shardId-000000000000","StartingPosition":{"Type":"TRIM_HORIZON"}}`)}
	if err := s.subscribeToShard(&c); err != nil {
		t.Fatal(err)
	}
	s.subs.endConsumer(st.EntityID(), "c", consumer.Created.UnixNano(), errResourceInUse.WithMessage("taken over"))
	var out bytes.Buffer
	c.stream(bufio.NewWriter(&out), func(time.Duration) error { return nil })

	decoder := eventstream.NewDecoder()
	r := bytes.NewReader(out.Bytes())
	var kinds []string
	for r.Len() > 0 {
		msg, err := decoder.Decode(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		if h := msg.Headers.Get(":event-type"); h != nil {
			kinds = append(kinds, h.String())
		} else {
			kinds = append(kinds, "exception:"+msg.Headers.Get(":exception-type").String())
		}
	}
	if len(kinds) != 2 || kinds[0] != "initial-response" || kinds[1] != "exception:ResourceInUseException" {
		t.Fatalf("events %v", kinds)
	}
	if n := s.subs.len(); n != 0 {
		t.Fatalf("%d slots left after the consumer's subscriptions ended", n)
	}
}
