package engine

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"
)

// TestFIFOThroughputModes checks what queue_doc.go promises about
// FifoThroughputLimit and DeduplicationScope: the scope decides whether a
// deduplication id reused in another message group is a duplicate; the
// throughput limit is validated (perMessageGroupId needs messageGroup
// scope) but changes nothing else; and neither mode throttles: 1,000
// single-message sends within one instant of fake time (over three times
// AWS's normal-mode 300 TPS) all succeed. Method: a table over the valid
// combinations, in a synctest bubble so the clock does not move.
func TestFIFOThroughputModes(t *testing.T) {
	for _, tc := range []struct {
		scope, limit    string
		dupAcrossGroups bool // the same id in another group is a duplicate
	}{
		{DeduplicationScopeQueue, FifoThroughputPerQueue, true},
		{DeduplicationScopeMessageGroup, FifoThroughputPerQueue, false},
		{DeduplicationScopeMessageGroup, FifoThroughputPerMessageGroup, false},
	} {
		t.Run(tc.scope+"/"+tc.limit, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				e := newQEnv(t)
				attrs := DefaultQueueAttributes(true)
				attrs.DeduplicationScope, attrs.FifoThroughputLimit = tc.scope, tc.limit
				q := e.create("modes.fifo", attrs)
				start := time.Now()
				const burst = 1000
				for i := range burst {
					res, err := q.Send(context.Background(), []SendMessage{{
						Body: []byte("m"), GroupID: "g" + strconv.Itoa(i%7), DeduplicationID: "id-" + strconv.Itoa(i),
					}})
					if err != nil || res[0].Err != nil || res[0].Duplicate {
						t.Fatalf("send %d of a burst: %v %+v", i, err, res)
					}
				}
				if elapsed := time.Since(start); elapsed != 0 {
					t.Fatalf("fake clock moved %s during the burst", elapsed)
				}
				res, err := q.Send(context.Background(), []SendMessage{{Body: []byte("x"), GroupID: "other", DeduplicationID: "id-0"}})
				if err != nil || res[0].Err != nil {
					t.Fatalf("send: %v %+v", err, res)
				}
				if res[0].Duplicate != tc.dupAcrossGroups {
					t.Fatalf("id reused in another group: Duplicate = %v, want %v", res[0].Duplicate, tc.dupAcrossGroups)
				}
				want := int64(burst)
				if !tc.dupAcrossGroups {
					want++
				}
				if got := q.Counts().Visible; got != want {
					t.Fatalf("%d messages stored, want %d", got, want)
				}
			})
		})
	}
	// perMessageGroupId without messageGroup scope is refused, as AWS.
	e := newQEnv(t)
	attrs := DefaultQueueAttributes(true)
	attrs.FifoThroughputLimit = FifoThroughputPerMessageGroup
	var ve *ValidationError
	if _, err := e.db.CreateQueue(testNS, "bad.fifo", attrs, nil); !errors.As(err, &ve) || ve.Field != "FifoThroughputLimit" {
		t.Fatalf("perMessageGroupId with queue scope: %v, want a FifoThroughputLimit ValidationError", err)
	}
}
