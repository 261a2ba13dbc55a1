package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"sync/atomic"
	"time"
)

// Scenario is one named benchmark. Prepare creates (or looks up) the
// resources, runs any prefill step, and returns the workload plus a cleanup
// function (which may be nil).
type Scenario struct {
	Name    string
	Service string // "sqs", "kinesis", …
	Summary string
	// EndToEnd marks scenarios whose latency is delivery (producers and
	// consumers together); the no-op server has none to offer.
	EndToEnd bool
	// Needs lists the operations the scenario uses that not every server
	// implements (enhanced fan-out); the matrix does not run it on a peer
	// that lacks one of them (peers.Peer.Lacks).
	Needs   []string
	Prepare func(ctx context.Context, env *Env) (*Workload, func(context.Context) error, error)
}

// scenarioSets lists the scenario files. A new service adds one file with a
// function returning its scenarios, and one line here.
var scenarioSets = []func() []*Scenario{
	sqsScenarios,
	kinesisScenarios,
}

// Scenarios returns every scenario, sorted by name.
func Scenarios() []*Scenario {
	var all []*Scenario
	for _, set := range scenarioSets {
		all = append(all, set()...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	return all
}

// LookupScenario finds a scenario by name.
func LookupScenario(name string) (*Scenario, bool) {
	for _, s := range Scenarios() {
		if s.Name == name {
			return s, true
		}
	}
	return nil, false
}

// ErrUnknownScenario reports a scenario name that is not registered.
var ErrUnknownScenario = fmt.Errorf("bench: unknown scenario")

// newRunID returns a short random identifier that tags resource names and
// message bodies of one run.
func newRunID() string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux.
	return hex.EncodeToString(b[:])
}

// Message bodies carry a header so consumers can measure end-to-end latency
// and check ordering:
//
//	sb1 <run id> <send time, unix ns> <group> <producer> <seq>|<filler>
//
// The header is ASCII, so the body is valid SQS text; filler pads the body to
// the requested size (a body is never shorter than its header).
const bodyMagic = "sb1 "

// fillerText is the padding source: printable, incompressible-ish letters.
var fillerText = func() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, sizeMaxBytes)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = alphabet[x%uint32(len(alphabet))]
	}
	return string(b)
}()

// bodyHeader describes one generated message.
type bodyHeader struct {
	RunID    string
	Sent     time.Time
	Group    int
	Producer int
	Seq      int64
}

// appendBody appends a header and filler up to size bytes.
func appendBody(dst []byte, h bodyHeader, size int) []byte {
	start := len(dst)
	dst = append(dst, bodyMagic...)
	dst = append(dst, h.RunID...)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, h.Sent.UnixNano(), 10)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, int64(h.Group), 10)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, int64(h.Producer), 10)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, h.Seq, 10)
	dst = append(dst, '|')
	if pad := size - (len(dst) - start); pad > 0 {
		dst = append(dst, fillerText[:pad]...)
	}
	return dst
}

// parseBody reads the header of a generated body. ok is false for any
// other body.
func parseBody(body []byte) (h bodyHeader, ok bool) {
	if len(body) < len(bodyMagic) || string(body[:len(bodyMagic)]) != bodyMagic {
		return bodyHeader{}, false
	}
	rest := body[len(bodyMagic):]
	var fields [5][]byte
	for i := range fields {
		sep := byte(' ')
		if i == len(fields)-1 {
			sep = '|'
		}
		j := indexByte(rest, sep)
		if j <= 0 || j > 32 {
			return bodyHeader{}, false
		}
		fields[i], rest = rest[:j], rest[j+1:]
	}
	var nums [4]int64
	for i := range nums {
		n, err := strconv.ParseInt(string(fields[i+1]), 10, 64)
		if err != nil {
			return bodyHeader{}, false
		}
		nums[i] = n
	}
	if nums[1] < 0 || nums[1] > 1<<31 || nums[2] < 0 || nums[2] > 1<<31 {
		return bodyHeader{}, false
	}
	return bodyHeader{
		RunID:    string(fields[0]),
		Sent:     time.Unix(0, nums[0]),
		Group:    int(nums[1]),
		Producer: int(nums[2]),
		Seq:      nums[3],
	}, true
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// deliveryTracker counts what producers sent and consumers took delivery of
// (this run's messages only), for drain waiting and plausibility checks.
type deliveryTracker struct {
	sent, received, deleted, foreign atomic.Int64
	lastDelivery                     atomic.Int64 // unix ns of the last own-run delivery
}

func (t *deliveryTracker) totals() Totals {
	return Totals{Sent: t.sent.Load(), Received: t.received.Load(), Deleted: t.deleted.Load()}
}

// waitDrained returns once everything sent has been received, or when no
// delivery has arrived for quiet (a lossy or canned-reply server), or when
// ctx expires.
func (t *deliveryTracker) waitDrained(ctx context.Context, quiet time.Duration) error {
	t.lastDelivery.Store(time.Now().UnixNano())
	ticker := time.NewTicker(5 * time.Millisecond)
	defer ticker.Stop()
	for t.received.Load() < t.sent.Load() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("bench: %d of %d messages undelivered: %w", t.sent.Load()-t.received.Load(), t.sent.Load(), ctx.Err())
		case now := <-ticker.C:
			if now.Sub(time.Unix(0, t.lastDelivery.Load())) > quiet {
				return nil
			}
		}
	}
	return nil
}
