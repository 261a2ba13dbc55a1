package sqs

import (
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluice-dev/sluice/engine"
)

// fakeBackend is a small in-memory stand-in for the engine's queue API, used
// to test wire shapes and handler logic independently of the storage
// engine: no persistence, no timers, no FIFO group locking, no dedup window.
// Integration tests of queue semantics run against the real engine.
type fakeBackend struct {
	mu     sync.Mutex
	clock  engine.Clock
	queues map[engine.QueueRef]*fakeQueue
	nextID int
}

type fakeMessage struct {
	id       string
	seq      uint64
	send     engine.SendMessage
	sent     time.Time
	visible  time.Time
	first    time.Time
	received int
	deleted  bool
}

type fakeQueue struct {
	b        *fakeBackend
	info     engine.QueueInfo
	messages []*fakeMessage
	seq      uint64
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

func newFakeBackend() *fakeBackend {
	return &fakeBackend{
		clock:  fixedClock{time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		queues: make(map[engine.QueueRef]*fakeQueue),
	}
}

func (b *fakeBackend) Clock() engine.Clock { return b.clock }

func (b *fakeBackend) CreateQueue(ns engine.Namespace, name string, attrs engine.QueueAttributes, tags map[string]string) (*engine.QueueInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ref := engine.QueueRef{Namespace: ns, Name: name}
	if q, ok := b.queues[ref]; ok {
		if fmt.Sprint(q.info.Attributes) != fmt.Sprint(attrs) {
			return nil, engine.ErrQueueExists
		}
		info := q.info
		return &info, nil
	}
	if r := attrs.Redrive; r != nil {
		if _, ok := b.queues[r.DeadLetterTarget]; !ok {
			return nil, &engine.ValidationError{Field: "Redrive.DeadLetterTarget", Reason: "does not exist"}
		}
	}
	now := b.clock.Now()
	q := &fakeQueue{b: b, info: engine.QueueInfo{Ref: ref, Attributes: attrs, Tags: maps.Clone(tags), Created: now, LastModified: now}}
	b.queues[ref] = q
	info := q.info
	return &info, nil
}

func (b *fakeBackend) Queue(ns engine.Namespace, name string) (queueHandle, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	q, ok := b.queues[engine.QueueRef{Namespace: ns, Name: name}]
	if !ok {
		return nil, fmt.Errorf("fake: %s: %w", name, engine.ErrQueueNotFound)
	}
	return q, nil
}

func (b *fakeBackend) DeleteQueue(ns engine.Namespace, name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	ref := engine.QueueRef{Namespace: ns, Name: name}
	if _, ok := b.queues[ref]; !ok {
		return engine.ErrQueueNotFound
	}
	delete(b.queues, ref)
	return nil
}

func (b *fakeBackend) ListQueues(ns engine.Namespace, prefix, after string, limit int) ([]string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var names []string
	for ref := range b.queues {
		if ref.Namespace == ns && strings.HasPrefix(ref.Name, prefix) && ref.Name > after {
			names = append(names, ref.Name)
		}
	}
	slices.Sort(names)
	if len(names) > limit {
		names = names[:limit]
	}
	return names, nil
}

func (b *fakeBackend) DeadLetterSourceQueues(dlq engine.QueueRef, after string, limit int) ([]engine.QueueRef, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var refs []engine.QueueRef
	for ref, q := range b.queues {
		if r := q.info.Attributes.Redrive; r != nil && r.DeadLetterTarget == dlq && (after == "" || ref.String() > after) {
			refs = append(refs, ref)
		}
	}
	slices.SortFunc(refs, func(a, b engine.QueueRef) int { return strings.Compare(a.String(), b.String()) })
	if len(refs) > limit {
		refs = refs[:limit]
	}
	return refs, nil
}

func (b *fakeBackend) StartMoveTask(src engine.QueueRef, dst *engine.QueueRef, maxPerSecond int) (string, error) {
	return "", engine.ErrMoveTaskNotFound
}

func (b *fakeBackend) CancelMoveTask(handle string) (int64, error) {
	return 0, engine.ErrMoveTaskNotFound
}

func (b *fakeBackend) ListMoveTasks(src engine.QueueRef, max int) ([]engine.MoveTask, error) {
	return nil, nil
}

func (q *fakeQueue) Info() engine.QueueInfo {
	q.b.mu.Lock()
	defer q.b.mu.Unlock()
	info := q.info
	info.Tags = maps.Clone(info.Tags)
	return info
}

func (q *fakeQueue) Counts() engine.QueueCounts {
	q.b.mu.Lock()
	defer q.b.mu.Unlock()
	var c engine.QueueCounts
	now := q.b.clock.Now()
	for _, m := range q.messages {
		switch {
		case m.deleted:
		case m.received > 0 && m.visible.After(now):
			c.InFlight++
		case m.visible.After(now):
			c.Delayed++
		default:
			c.Visible++
		}
	}
	return c
}

func (q *fakeQueue) SetAttributes(attrs engine.QueueAttributes) error {
	q.b.mu.Lock()
	defer q.b.mu.Unlock()
	q.info.Attributes = attrs
	q.info.LastModified = q.b.clock.Now()
	return nil
}

func (q *fakeQueue) Tag(tags map[string]string) error {
	q.b.mu.Lock()
	defer q.b.mu.Unlock()
	if q.info.Tags == nil {
		q.info.Tags = map[string]string{}
	}
	maps.Copy(q.info.Tags, tags)
	return nil
}

func (q *fakeQueue) Untag(keys []string) error {
	q.b.mu.Lock()
	defer q.b.mu.Unlock()
	for _, k := range keys {
		delete(q.info.Tags, k)
	}
	return nil
}

func (q *fakeQueue) Purge() error {
	q.b.mu.Lock()
	defer q.b.mu.Unlock()
	q.messages = nil
	return nil
}

func (q *fakeQueue) Send(ctx context.Context, msgs []engine.SendMessage) ([]engine.SendResult, error) {
	q.b.mu.Lock()
	defer q.b.mu.Unlock()
	results := make([]engine.SendResult, len(msgs))
	now := q.b.clock.Now()
	for i, m := range msgs {
		a := &q.info.Attributes
		if a.FIFO && m.GroupID == "" {
			results[i].Err = &engine.ValidationError{Field: "GroupID", Reason: "required on FIFO queues"}
			continue
		}
		if a.FIFO && m.Delay != nil {
			results[i].Err = &engine.ValidationError{Field: "Delay", Reason: "per-message delay is not valid on FIFO queues"}
			continue
		}
		q.seq++
		q.b.nextID++
		m.Body = slices.Clone(m.Body)
		delay := a.Delay
		if m.Delay != nil {
			delay = *m.Delay
		}
		fm := &fakeMessage{id: fmt.Sprintf("00000000-0000-4000-8000-%012d", q.b.nextID), seq: q.seq, send: m, sent: now, visible: now.Add(delay)}
		q.messages = append(q.messages, fm)
		results[i].MessageID = fm.id
		if a.FIFO {
			results[i].SequenceNumber = strconv.FormatUint(100000000000000000+q.seq, 10)
		}
	}
	return results, nil
}

func (q *fakeQueue) Receive(ctx context.Context, opts engine.ReceiveOptions) ([]engine.ReceivedMessage, error) {
	q.b.mu.Lock()
	defer q.b.mu.Unlock()
	now := q.b.clock.Now()
	vis := q.info.Attributes.VisibilityTimeout
	if opts.Visibility != nil {
		vis = *opts.Visibility
	}
	var out []engine.ReceivedMessage
	for _, m := range q.messages {
		if len(out) == opts.Max {
			break
		}
		if m.deleted || m.visible.After(now) {
			continue
		}
		m.received++
		if m.received == 1 {
			m.first = now
		}
		m.visible = now.Add(vis)
		out = append(out, engine.ReceivedMessage{
			MessageID: m.id, Receipt: fakeReceipt(m.seq, m.received), Body: slices.Clone(m.send.Body),
			Attributes: m.send.Attributes, SystemAttributes: m.send.SystemAttributes,
			SentTimestamp: m.sent, FirstReceiveTimestamp: m.first, ReceiveCount: m.received,
			SenderID: m.send.SenderID, GroupID: m.send.GroupID, DeduplicationID: m.send.DeduplicationID,
		})
		if q.info.Attributes.FIFO {
			out[len(out)-1].SequenceNumber = strconv.FormatUint(100000000000000000+m.seq, 10)
		}
	}
	return out, nil
}

func fakeReceipt(seq uint64, generation int) []byte {
	b := binary.BigEndian.AppendUint64(nil, seq)
	return binary.BigEndian.AppendUint32(b, uint32(generation))
}

// findLocked resolves a receipt to its message.
func (q *fakeQueue) findLocked(receipt []byte) (*fakeMessage, error) {
	if len(receipt) != 12 {
		return nil, engine.ErrReceiptInvalid
	}
	seq, gen := binary.BigEndian.Uint64(receipt), int(binary.BigEndian.Uint32(receipt[8:]))
	for _, m := range q.messages {
		if m.seq == seq {
			if m.deleted || m.received != gen {
				return nil, engine.ErrReceiptStale
			}
			return m, nil
		}
	}
	return nil, engine.ErrReceiptStale
}

func (q *fakeQueue) Delete(receipts [][]byte) []error {
	q.b.mu.Lock()
	defer q.b.mu.Unlock()
	errs := make([]error, len(receipts))
	for i, r := range receipts {
		m, err := q.findLocked(r)
		if err != nil {
			errs[i] = err
			continue
		}
		m.deleted = true
	}
	return errs
}

func (q *fakeQueue) ChangeVisibility(receipt []byte, timeout time.Duration) error {
	return q.ChangeVisibilityBatch([][]byte{receipt}, []time.Duration{timeout})[0]
}

func (q *fakeQueue) ChangeVisibilityBatch(receipts [][]byte, timeouts []time.Duration) []error {
	q.b.mu.Lock()
	defer q.b.mu.Unlock()
	errs := make([]error, len(receipts))
	now := q.b.clock.Now()
	for i, r := range receipts {
		m, err := q.findLocked(r)
		if err != nil {
			errs[i] = err
			continue
		}
		if !m.visible.After(now) {
			errs[i] = engine.ErrMessageNotInflight
			continue
		}
		m.visible = now.Add(timeouts[i])
	}
	return errs
}
