package engine

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// vsDump renders the state machine compactly for the table tests:
// "floor=F cursor=C vis=V inf=I del=D [seq:status/rc ...]".
func vsDump(v *vstate) string {
	seqs := make([]uint64, 0, len(v.tracked))
	for s := range v.tracked {
		seqs = append(seqs, s)
	}
	slices.Sort(seqs)
	var b strings.Builder
	fmt.Fprintf(&b, "floor=%d cursor=%d vis=%d inf=%d del=%d [", v.floor, v.cursor, v.nVisible, v.nInflight, v.nDelayed)
	for i, s := range seqs {
		st := v.tracked[s]
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%d:%s/%d", s, []string{"?", "vis", "inf", "del", "mov"}[st.status], st.receiveCount)
	}
	b.WriteByte(']')
	return b.String()
}

// TestVStateStandard drives the standard-queue state machine through a
// script of scans, deliveries, expiries, visibility changes and deletes and
// checks the full state after each step. Goal: floor/cursor bookkeeping,
// counters and the ready order are right in every transition.
func TestVStateStandard(t *testing.T) {
	v := newVState(false, 1)
	const vis = 10
	deliverNew := func(seq uint64, now int64) *msgState {
		st := v.track(seq, 0, 0, nil, now)
		v.deliver(st, now, vis)
		return st
	}
	steps := []struct {
		do   func()
		want string
	}{
		{func() { deliverNew(1, 0); deliverNew(2, 0) }, "floor=1 cursor=3 vis=0 inf=2 del=0 [1:inf/1 2:inf/1]"},
		{func() { v.track(3, 0, 50, nil, 0) }, "floor=1 cursor=4 vis=0 inf=2 del=1 [1:inf/1 2:inf/1 3:del/0]"},
		{func() { v.skip(4) }, "floor=1 cursor=5 vis=0 inf=2 del=1 [1:inf/1 2:inf/1 3:del/0]"},
		{func() { v.remove(v.tracked[1]) }, "floor=2 cursor=5 vis=0 inf=1 del=1 [2:inf/1 3:del/0]"},
		{func() {
			if n := v.advance(9); n != 0 {
				t.Fatalf("advance(9) = %d", n)
			}
		}, "floor=2 cursor=5 vis=0 inf=1 del=1 [2:inf/1 3:del/0]"},
		{func() {
			if n := v.advance(10); n != 1 {
				t.Fatalf("advance(10) = %d", n)
			}
		}, "floor=2 cursor=5 vis=1 inf=0 del=1 [2:vis/1 3:del/0]"},
		{func() {
			st := v.popReady()
			if st == nil || st.seq != 2 {
				t.Fatalf("popReady = %+v", st)
			}
			if g := v.deliver(st, 11, vis); g != 2 {
				t.Fatalf("generation %d, want 2", g)
			}
		}, "floor=2 cursor=5 vis=0 inf=1 del=1 [2:inf/2 3:del/0]"},
		{func() { v.changeVisibility(v.tracked[2], 12, 100) }, "floor=2 cursor=5 vis=0 inf=1 del=1 [2:inf/2 3:del/0]"},
		{func() {
			if n := v.advance(60); n != 1 { // 3 becomes due; 2 is extended to 100
				t.Fatalf("advance(60) = %d", n)
			}
		}, "floor=2 cursor=5 vis=1 inf=1 del=0 [2:inf/2 3:vis/0]"},
		{func() { v.changeVisibility(v.tracked[2], 61, 61) }, "floor=2 cursor=5 vis=2 inf=0 del=0 [2:vis/2 3:vis/0]"},
		{func() {
			// Ready order: 3 became visible before 2.
			a, b := v.popReady(), v.popReady()
			if a.seq != 3 || b.seq != 2 || v.popReady() != nil {
				t.Fatalf("ready order %d %d", a.seq, b.seq)
			}
			v.deliver(a, 62, vis)
			v.deliver(b, 62, vis)
		}, "floor=2 cursor=5 vis=0 inf=2 del=0 [2:inf/3 3:inf/1]"},
		{func() { v.remove(v.tracked[3]) }, "floor=2 cursor=5 vis=0 inf=1 del=0 [2:inf/3]"},
		{func() { v.remove(v.tracked[2]) }, "floor=5 cursor=5 vis=0 inf=0 del=0 []"},
		{func() { v.jump(9) }, "floor=9 cursor=9 vis=0 inf=0 del=0 []"},
		{func() { deliverNew(9, 100); v.reset(20) }, "floor=20 cursor=20 vis=0 inf=0 del=0 []"},
	}
	for i, s := range steps {
		s.do()
		if got := vsDump(v); got != s.want {
			t.Fatalf("step %d:\n got %s\nwant %s", i, got, s.want)
		}
	}
}

// TestVStateFIFOGroups checks FIFO group locking: a group whose head is in
// flight offers nothing, one whose head is visible again offers it even
// while later messages are in flight (AWS); groups are offered in the
// order their heads became visible; an expired in-flight message returns
// to the head of its group; deleting unlocks.
func TestVStateFIFOGroups(t *testing.T) {
	v := newVState(true, 1)
	v.track(1, 0, 0, []byte("a"), 0)
	v.track(2, 0, 0, []byte("b"), 0)
	v.track(3, 0, 0, []byte("a"), 0)
	v.track(4, 0, 0, []byte("c"), 0)

	g := v.popGroup()
	if g == nil || g.id != "a" {
		t.Fatalf("first group %+v, want a", g)
	}
	m := g.members()
	v.deliver(m[0], 0, 10)
	v.deliver(m[1], 0, 10)
	if g := v.popGroup(); g == nil || g.id != "b" {
		t.Fatalf("second group %+v, want b", g)
	}
	v.deliver(v.tracked[2], 0, 10)
	// a and b are busy; c is the only available group. Requeue-on-free:
	if g := v.popGroup(); g == nil || g.id != "c" {
		t.Fatalf("third group %+v, want c", g)
	}
	v.offerGroup(v.groupsByID["c"]) // put c back undelivered
	// Message 1's visibility ends at 5 while 3 is still in flight: a is
	// available again (its head is visible, as on AWS) and offers 1 but
	// not 3, behind c, which has waited since its send at 0 (AWS serves
	// groups in the order they became visible).
	v.changeVisibility(v.tracked[1], 5, 5)
	if g := v.popGroup(); g == nil || g.id != "c" {
		t.Fatalf("with a back at 5 got %+v, want c (visible since 0) first", g)
	}
	if g := v.popGroup(); g == nil || g.id != "a" || g.members()[0].seq != 1 || g.members()[1].status != statusInflight {
		t.Fatalf("with a's head visible and 3 in flight got %+v, want a headed by 1", g)
	}
	v.offerGroup(v.groupsByID["c"])
	v.deliver(v.tracked[1], 5, 5) // in flight until 10, as 3
	// 3 in flight after a visible head that is itself in flight again: a
	// is locked; only c is available.
	if g := v.popGroup(); g == nil || g.id != "c" {
		t.Fatalf("with a in flight got %+v, want c", g)
	}
	v.offerGroup(v.groupsByID["c"])
	// Both expire at 10: a is free again, behind c (visible since 0).
	v.advance(10)
	if g := v.popGroup(); g == nil || g.id != "c" {
		t.Fatalf("after expiry got %+v, want c first", g)
	}
	if g := v.popGroup(); g == nil || g.id != "a" || g.members()[0].seq != 1 {
		t.Fatalf("after expiry got %+v, want a headed by 1", g)
	}
	v.offerGroup(v.groupsByID["c"])
	// Deliver a again and delete both: group a disappears.
	for _, st := range v.groupsByID["a"].members() {
		v.deliver(st, 11, 10)
	}
	v.remove(v.tracked[1])
	v.remove(v.tracked[3])
	if _, ok := v.groupsByID["a"]; ok {
		t.Fatalf("empty group a still registered")
	}
	if got, want := vsDump(v), "floor=2 cursor=5 vis=2 inf=0 del=0 [2:vis/1 4:vis/0]"; got != want {
		t.Fatalf("\n got %s\nwant %s", got, want)
	}
	// A delayed head blocks its group until due.
	v.track(5, 0, 100, []byte("d"), 50)
	v.track(6, 0, 0, []byte("d"), 50)
	if g := v.popGroup(); g == nil || g.id != "c" {
		t.Fatalf("got %+v, want c (visible since 0)", g)
	}
	if g := v.popGroup(); g == nil || g.id != "b" {
		t.Fatalf("got %+v, want b (message 2 came back at 10; d's head is delayed)", g)
	}
	if g := v.popGroup(); g != nil {
		t.Fatalf("got %q, want nothing", g.id)
	}
	v.advance(100)
	if g := v.popGroup(); g == nil || g.id != "d" {
		t.Fatalf("got %+v, want d after its head became due", g)
	}
}

// TestVStateFIFOLaterMessageBack checks that a later message of a group
// becoming visible while the group's head is in flight does not unlock the
// group (AWS: test_fifo_message_group_visibility_after_partial_delete keeps
// a group locked by its in-flight head); the head's return offers both.
func TestVStateFIFOLaterMessageBack(t *testing.T) {
	v := newVState(true, 1)
	v.track(1, 0, 0, []byte("a"), 0)
	v.track(2, 0, 0, []byte("a"), 0)
	g := v.popGroup()
	if g == nil || g.id != "a" {
		t.Fatalf("first group %+v, want a", g)
	}
	v.deliver(v.tracked[1], 0, 10)
	v.deliver(v.tracked[2], 0, 10)
	v.changeVisibility(v.tracked[2], 1, 1)
	if g := v.popGroup(); g != nil {
		t.Fatalf("with the head in flight got group %q, want none", g.id)
	}
	v.changeVisibility(v.tracked[1], 2, 2)
	g = v.popGroup()
	if g == nil || g.id != "a" || len(g.members()) != 2 || g.members()[0].status != statusVisible || g.members()[1].status != statusVisible {
		t.Fatalf("after the head's return got %+v, want a with 1 and 2 visible", g)
	}
}

// TestVStateMove checks the dead-letter move states: a moving message is
// not deliverable and counts as in flight; abort makes it visible again;
// completing removes it.
func TestVStateMove(t *testing.T) {
	v := newVState(false, 1)
	st := v.track(1, 0, 0, nil, 0)
	v.startMove(st, 1000)
	if v.nInflight != 1 || v.nVisible != 0 || v.popReady() != nil {
		t.Fatalf("moving: %s", vsDump(v))
	}
	v.abortMove(st)
	if got := v.popReady(); got != st {
		t.Fatalf("abort did not make the message ready")
	}
	v.startMove(st, 1000)
	v.remove(st)
	if got, want := vsDump(v), "floor=2 cursor=2 vis=0 inf=0 del=0 []"; got != want {
		t.Fatalf("\n got %s\nwant %s", got, want)
	}
}
