package engine

// The visibility state machine: the in-memory part of a queue, pure (no I/O,
// no clock: every call takes `now` in unix nanoseconds) so it is tested
// exhaustively on its own.
//
// Sequence space of one queue log:
//
//	     floor                      cursor                   log end
//	       |  tracked (sparse)        |  not yet scanned       |
//	-------+--------------------------+------------------------+
//	 done:  deleted, expired, moved or purged
//
// Everything below floor is finished. Between floor and cursor, a message
// is either finished (absent from tracked) or tracked with a status:
//
//	visible   ready for (re)delivery: a standard queue keeps it in the ready
//	          list; a FIFO queue keeps it in its group until the group is free
//	inflight  delivered; deadline = visibility deadline
//	delayed   scanned but not due; deadline = due time
//	moving    being moved to the dead-letter queue (not deliverable)
//
// Messages at or above cursor have not been looked at since open: Receive
// scans them from the log. Every status change is O(log n) (the deadline
// heap) or O(1); nothing ever rescans all messages. tracked stays bounded:
// standard queues read new messages only when nothing is visible again, so
// inflight+visible is at most InflightMax plus one batch; delayed is capped
// by delayedMax; FIFO read-ahead is capped by fifoBufferMax.

import (
	"container/heap"
)

// Message statuses.
const (
	statusVisible uint8 = iota + 1
	statusInflight
	statusDelayed
	statusMoving
)

const (
	// delayedMax bounds the delayed messages tracked in memory; beyond it
	// the cursor stops at the next delayed message until some become due.
	delayedMax = 1 << 20
	// fifoBufferMax bounds the undelivered messages a FIFO queue holds in
	// memory ahead of delivery (messages of busy groups it had to read past
	// to reach other groups). Beyond it, receive stops scanning.
	fifoBufferMax = 20_000
)

// msgState is the in-memory state of one tracked message.
type msgState struct {
	seq             uint64
	sentAt          int64 // unix nanoseconds: retention counts from here
	deadline        int64 // inflight: visibility deadline; delayed: due time
	receivedAt      int64 // start of the current delivery (12 h limit)
	firstReceivedAt int64
	receiveCount    uint32 // deliveries so far, from receiveBase; the current receipt's generation
	status          uint8
	heapIndex       int32 // index in vstate.deadlines, -1 if absent
	// receiveBase is the receive count a dead-letter move brought in
	// (key block version 3): receiveCount starts there, and redrive of
	// this queue counts only the receives past it.
	receiveBase uint32
	group       *fifoGroup
	readyQueued bool // standard: present in vstate.ready
}

// receivesHere is how many times st was received in this queue (what its
// redrive policy counts).
func (st *msgState) receivesHere() uint32 {
	if st.receiveCount < st.receiveBase {
		return 0 // cannot happen: receiveCount starts at receiveBase
	}
	return st.receiveCount - st.receiveBase
}

// fifoGroup is one FIFO message group: its tracked messages in seq order.
// The group is available for delivery when its head (oldest message not
// yet deleted) is visible, even if later messages of it are still in
// flight: on AWS a group becomes receivable again as soon as its first
// message does (its visibility timeout ran out or was changed), while a
// later message's return does nothing until the messages before it are
// deleted or visible (LocalStack's AWS-validated tests
// test_fifo_message_group_visibility_after_terminate_visibility_timeout,
// ..._after_change_message_visibility and ..._after_partial_delete).
// Delivery takes the group's visible messages from the head and stops at
// the first that is not visible, so a message is never delivered while an
// earlier one of its group is in flight.
type fifoGroup struct {
	id string
	// msgs[head:] are the group's messages; deleting the head (the common
	// case: messages are delivered and deleted in order) is O(1).
	msgs   []*msgState
	head   int
	queued bool // present in vstate.groups heap
	// The heap key, taken from the head when the group was queued: the
	// time the head became visible, then its seq.
	queuedSince int64
	queuedAt    uint64
}

// members returns the group's messages in seq order.
func (g *fifoGroup) members() []*msgState { return g.msgs[g.head:] }

func (g *fifoGroup) empty() bool { return g.head == len(g.msgs) }

func (g *fifoGroup) available() bool {
	return !g.empty() && g.msgs[g.head].status == statusVisible
}

// removeMember drops st from the group.
func (g *fifoGroup) removeMember(st *msgState) {
	m := g.members()
	for i, x := range m {
		if x != st {
			continue
		}
		if i == 0 {
			g.msgs[g.head] = nil
			g.head++
		} else {
			copy(m[i:], m[i+1:])
			g.msgs[len(g.msgs)-1] = nil
			g.msgs = g.msgs[:len(g.msgs)-1]
		}
		break
	}
	if g.head == len(g.msgs) {
		g.msgs, g.head = g.msgs[:0], 0
	} else if g.head > 64 && g.head*2 > len(g.msgs) {
		n := copy(g.msgs, g.msgs[g.head:])
		clear(g.msgs[n:])
		g.msgs, g.head = g.msgs[:n], 0
	}
}

// vstate is the visibility state of one queue. Not safe for concurrent use:
// the owning Queue serializes access with its mutex.
type vstate struct {
	fifo    bool
	floor   uint64
	cursor  uint64
	tracked map[uint64]*msgState

	deadlines deadlineHeap

	// standard queues: visible-again messages in the order they became
	// visible. Entries whose message changed status since are skipped.
	ready     []*msgState
	readyHead int

	// FIFO queues.
	groupsByID map[string]*fifoGroup
	groups     groupHeap

	// Counters.
	nVisible  int // tracked visible
	nInflight int // inflight + moving
	nDelayed  int // tracked delayed
}

func newVState(fifo bool, start uint64) *vstate {
	v := &vstate{
		fifo:    fifo,
		floor:   start,
		cursor:  start,
		tracked: make(map[uint64]*msgState),
	}
	if fifo {
		v.groupsByID = make(map[string]*fifoGroup)
	}
	return v
}

// track registers a message just scanned at the cursor (seq must equal
// cursor) with status visible or delayed, and advances the cursor. For FIFO
// queues the message joins its group.
// groupID is borrowed (copied only when it names a new group).
func (v *vstate) track(seq uint64, sentAt, dueAt int64, groupID []byte, now int64) *msgState {
	st := &msgState{seq: seq, sentAt: sentAt, heapIndex: -1}
	v.tracked[seq] = st
	v.cursor = seq + 1
	if v.fifo {
		g := v.groupsByID[string(groupID)]
		if g == nil {
			g = &fifoGroup{id: string(groupID)}
			v.groupsByID[g.id] = g
		}
		st.group = g
		g.msgs = append(g.msgs, st)
	}
	if dueAt > now {
		st.status = statusDelayed
		st.deadline = dueAt
		v.nDelayed++
		heap.Push(&v.deadlines, st)
		return st
	}
	st.status = statusVisible
	// A visible message's deadline is when it became visible (FIFO
	// groups are served in that order, see groupHeap): never received, so
	// when it was sent or its delay ended.
	st.deadline = max(sentAt, dueAt)
	v.nVisible++
	if v.fifo {
		v.offerGroup(st.group)
	}
	return st
}

// skip records that the message at the cursor needs no tracking (deleted
// before a restart, expired, purged) and advances the cursor and floor.
func (v *vstate) skip(seq uint64) {
	v.cursor = seq + 1
	v.settleFloor()
}

// jump moves the cursor forward to seq without scanning (retention or log
// truncation made everything below seq finished).
func (v *vstate) jump(seq uint64) {
	if seq <= v.cursor {
		return
	}
	v.cursor = seq
	// Tracked messages below seq stay tracked; the floor follows them.
	v.settleFloor()
}

// settleFloor advances floor past finished messages. Each seq is passed
// once, so the cost is amortized O(1) per message.
func (v *vstate) settleFloor() {
	if len(v.tracked) == 0 {
		v.floor = v.cursor
		return
	}
	for v.floor < v.cursor && v.tracked[v.floor] == nil {
		v.floor++
	}
}

// advance applies every deadline that passed at now: in-flight messages
// become visible again, delayed messages become due. It returns how many
// messages became visible.
func (v *vstate) advance(now int64) int {
	n := 0
	for len(v.deadlines) > 0 && v.deadlines[0].deadline <= now {
		st := heap.Pop(&v.deadlines).(*msgState)
		switch st.status {
		case statusInflight:
			v.nInflight--
		case statusDelayed:
			v.nDelayed--
		default:
			continue // moving: its deadline is only a safety net below
		}
		v.makeVisible(st)
		n++
	}
	return n
}

// makeVisible sets st visible and queues it for delivery.
func (v *vstate) makeVisible(st *msgState) {
	st.status = statusVisible
	v.nVisible++
	if st.group != nil {
		v.offerGroup(st.group)
		return
	}
	if !st.readyQueued {
		st.readyQueued = true
		v.ready = append(v.ready, st)
	}
}

// queueReady puts a visible standard-queue message on the ready list.
func (v *vstate) queueReady(st *msgState) {
	if !st.readyQueued {
		st.readyQueued = true
		v.ready = append(v.ready, st)
	}
}

// nextDeadline returns the earliest pending deadline, or 0 if none.
func (v *vstate) nextDeadline() int64 {
	if len(v.deadlines) == 0 {
		return 0
	}
	return v.deadlines[0].deadline
}

// popReady returns the next visible-again message of a standard queue, or
// nil.
func (v *vstate) popReady() *msgState {
	for v.readyHead < len(v.ready) {
		st := v.ready[v.readyHead]
		v.ready[v.readyHead] = nil
		v.readyHead++
		st.readyQueued = false
		if st.status == statusVisible && v.tracked[st.seq] == st {
			v.compactReady()
			return st
		}
	}
	v.compactReady()
	return nil
}

func (v *vstate) compactReady() {
	if v.readyHead == len(v.ready) {
		v.ready = v.ready[:0]
		v.readyHead = 0
	} else if v.readyHead > 1024 && v.readyHead*2 > len(v.ready) {
		n := copy(v.ready, v.ready[v.readyHead:])
		clear(v.ready[n:])
		v.ready = v.ready[:n]
		v.readyHead = 0
	}
}

// deliver makes st (visible) in flight until now+visibility and returns the
// new receipt generation.
func (v *vstate) deliver(st *msgState, now, visibility int64) uint32 {
	if st.status != statusVisible {
		panic("BUG: engine: deliver of a message that is not visible")
	}
	v.nVisible--
	v.nInflight++
	st.status = statusInflight
	st.receiveCount++
	st.receivedAt = now
	if st.firstReceivedAt == 0 {
		st.firstReceivedAt = now
	}
	st.deadline = now + visibility
	v.setDeadline(st)
	return st.receiveCount
}

// restoreInflight puts a just-tracked visible message back in flight as it
// was before a restart (persisted receive state), without a new delivery.
func (v *vstate) restoreInflight(st *msgState, receivedAt, deadline int64) {
	v.nVisible--
	v.nInflight++
	st.status = statusInflight
	st.receivedAt = receivedAt
	st.deadline = deadline
	v.setDeadline(st)
}

// setDeadline inserts st into the deadline heap or fixes its position.
func (v *vstate) setDeadline(st *msgState) {
	if st.heapIndex >= 0 {
		heap.Fix(&v.deadlines, int(st.heapIndex))
	} else {
		heap.Push(&v.deadlines, st)
	}
}

// changeVisibility moves the deadline of an in-flight message. A deadline
// at or before now makes it visible at once.
func (v *vstate) changeVisibility(st *msgState, now, deadline int64) {
	st.deadline = deadline
	if deadline <= now {
		v.removeDeadline(st)
		v.nInflight--
		v.makeVisible(st)
		return
	}
	v.setDeadline(st)
}

func (v *vstate) removeDeadline(st *msgState) {
	if st.heapIndex >= 0 {
		heap.Remove(&v.deadlines, int(st.heapIndex))
	}
}

// startMove marks an in-flight... or visible message as being moved to the
// dead-letter queue: it is neither deliverable nor counted visible. The
// deadline is a safety net: if the move never finishes, the message becomes
// visible again at it.
func (v *vstate) startMove(st *msgState, deadline int64) {
	switch st.status {
	case statusVisible:
		v.nVisible--
		v.nInflight++
	case statusInflight:
	default:
		panic("BUG: engine: startMove of a delayed or moving message")
	}
	st.status = statusMoving
	st.deadline = deadline
	v.setDeadline(st)
}

// abortMove makes a moving message visible again (the dead-letter append
// failed).
func (v *vstate) abortMove(st *msgState) {
	if st.status != statusMoving || v.tracked[st.seq] != st {
		return
	}
	v.removeDeadline(st)
	v.nInflight--
	v.makeVisible(st)
}

// remove finishes a tracked message (deleted, expired, moved).
func (v *vstate) remove(st *msgState) {
	if v.tracked[st.seq] != st {
		return
	}
	delete(v.tracked, st.seq)
	v.removeDeadline(st)
	switch st.status {
	case statusVisible:
		v.nVisible--
	case statusInflight, statusMoving:
		v.nInflight--
	case statusDelayed:
		v.nDelayed--
	}
	st.status = 0
	if g := st.group; g != nil {
		g.removeMember(st)
		if g.empty() && !g.queued {
			delete(v.groupsByID, g.id)
		} else {
			v.offerGroup(g)
		}
	}
	if st.seq == v.floor {
		v.settleFloor()
	}
}

// reset drops every tracked message and restarts at start (purge).
func (v *vstate) reset(start uint64) {
	*v = *newVState(v.fifo, start)
}

// offerGroup queues g for delivery if it is available and not queued.
func (v *vstate) offerGroup(g *fifoGroup) {
	if g.queued || !g.available() {
		return
	}
	g.queued = true
	g.queuedAt = g.msgs[g.head].seq
	g.queuedSince = g.msgs[g.head].deadline
	heap.Push(&v.groups, g)
}

// popGroup returns the available group first in groupHeap order, or nil.
func (v *vstate) popGroup() *fifoGroup {
	for len(v.groups) > 0 {
		g := heap.Pop(&v.groups).(*fifoGroup)
		g.queued = false
		if !g.available() {
			if g.empty() {
				delete(v.groupsByID, g.id)
			}
			continue
		}
		if h := g.msgs[g.head]; h.seq != g.queuedAt || h.deadline != g.queuedSince {
			v.offerGroup(g) // head changed while queued: requeue by its new head
			continue
		}
		return g
	}
	return nil
}

// buffered reports how many tracked messages are not in flight (FIFO
// read-ahead accounting).
func (v *vstate) buffered() int { return v.nVisible + v.nDelayed }

// deadlineHeap orders messages by deadline (ties by seq).
type deadlineHeap []*msgState

func (h deadlineHeap) Len() int { return len(h) }
func (h deadlineHeap) Less(i, j int) bool {
	if h[i].deadline != h[j].deadline {
		return h[i].deadline < h[j].deadline
	}
	return h[i].seq < h[j].seq
}
func (h deadlineHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIndex = int32(i)
	h[j].heapIndex = int32(j)
}
func (h *deadlineHeap) Push(x any) {
	st := x.(*msgState)
	st.heapIndex = int32(len(*h))
	*h = append(*h, st)
}
func (h *deadlineHeap) Pop() any {
	old := *h
	st := old[len(old)-1]
	old[len(old)-1] = nil
	st.heapIndex = -1
	*h = old[:len(old)-1]
	return st
}

// groupHeap orders available FIFO groups by the time their head became
// visible, then by the head's seq: a group whose head was never received
// ranks by its send (or end of delay), one whose head came back from
// flight by when it came back (its visibility deadline, or the
// ChangeMessageVisibility that ended it). So groups that were received
// and returned queue up behind the groups that waited, as on AWS
// (LocalStack's AWS-validated
// test_fifo_receive_message_with_zero_visibility_timeout: groups 1 and 2
// received with VisibilityTimeout 0 come back after group 3, in the order
// they were received; test_fifo_receive_message_visibility_timeout_shared_in_group;
// test_fifo_message_group_visibility_after_delete: a group whose received
// messages were deleted ranks by its next, never received, message).
type groupHeap []*fifoGroup

func (h groupHeap) Len() int { return len(h) }
func (h groupHeap) Less(i, j int) bool {
	if h[i].queuedSince != h[j].queuedSince {
		return h[i].queuedSince < h[j].queuedSince
	}
	return h[i].queuedAt < h[j].queuedAt
}
func (h groupHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *groupHeap) Push(x any)   { *h = append(*h, x.(*fifoGroup)) }
func (h *groupHeap) Pop() any {
	old := *h
	g := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return g
}
