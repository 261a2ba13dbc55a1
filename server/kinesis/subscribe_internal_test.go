package kinesis

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/sluice-dev/sluice/engine"
)

// timedWriter records when each flushed write reached it (in the bubble's
// fake time).
type timedWriter struct {
	buf   bytes.Buffer
	times []time.Time
}

func (w *timedWriter) Write(p []byte) (int, error) {
	w.times = append(w.times, time.Now())
	return w.buf.Write(p)
}

// TestSubscriptionTiming runs one idle subscription with the AWS defaults
// (5 s heartbeat, 5 min lifetime) inside a synctest bubble, so fake time
// makes the schedule exact: it sends an event every 5 s, no more and no
// less often, pushes the write deadline forward before every event, and
// ends after exactly 5 minutes. (Prompt delivery of records is
// TestSubscribeToShardHTTP2's; no record is put here because segment pools
// its append requests' channels, and a channel made inside a bubble must
// not reach code outside it.)
func TestSubscriptionTiming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, st, ns := newInternalStream(t)
		consumer, err := st.RegisterConsumer("c")
		if err != nil {
			t.Fatal(err)
		}
		arn := consumerARN(ns.Region, ns.Account, "s", "c", consumer.Created.Unix())
		c := call{ctx: context.Background(), ns: ns,
			body: []byte(`{"ConsumerARN":"` + arn + `","ShardId":"shardId-000000000000","StartingPosition":{"Type":"LATEST"}}`)}
		if err := s.subscribeToShard(&c); err != nil {
			t.Fatal(err)
		}
		if c.stream == nil || c.contentType != eventStreamContentType {
			t.Fatalf("no stream: %+v", c)
		}

		start := time.Now()
		out := &timedWriter{}
		var extensions []time.Duration
		c.stream(bufio.NewWriter(out), func(d time.Duration) error {
			extensions = append(extensions, d)
			return nil
		})

		if got := time.Since(start); got != s.cfg.SubscriptionLifetime {
			t.Fatalf("subscription lasted %v", got)
		}
		decoder := eventstream.NewDecoder()
		r := bytes.NewReader(out.buf.Bytes())
		var events []string
		for r.Len() > 0 {
			msg, err := decoder.Decode(r, nil)
			if err != nil {
				t.Fatal(err)
			}
			events = append(events, msg.Headers.Get(":event-type").String())
		}
		// One write per event (each event is flushed on its own) and one
		// deadline extension before each. The deadline the connection
		// keeps after the stream is the server's business
		// (server TestStreamLeavesWriteDeadline).
		if len(events) != len(out.times) || len(extensions) != len(events) {
			t.Fatalf("%d events, %d writes, %d deadline extensions", len(events), len(out.times), len(extensions))
		}
		for i, d := range extensions {
			want := 3 * s.cfg.SubscriptionHeartbeat
			if d != want {
				t.Fatalf("extension %d: %v, want %v", i, d, want)
			}
		}
		// initial-response at 0 s, heartbeats every 5 s from 5 to 295 s
		// (59), nothing at 300 s when the lifetime ends.
		if events[0] != "initial-response" || len(events) != 60 {
			t.Fatalf("%d events: %v", len(events), events[:min(len(events), 5)])
		}
		prev := start
		for i, at := range out.times[1:] {
			if gap := at.Sub(prev); gap != s.cfg.SubscriptionHeartbeat {
				t.Fatalf("event %d came %v after the previous one", i+1, gap)
			}
			prev = at
		}
	})
}

// newInternalStream opens a DB in a temporary directory (closed when the
// test ends), a Service on it and a one-shard stream "s" in the default
// namespace, for tests that call the service's methods directly.
func newInternalStream(t *testing.T) (*Service, *engine.Stream, engine.Namespace) {
	t.Helper()
	db, err := engine.Open(t.TempDir(), &engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	s, err := New(db, Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ns := engine.Namespace{Account: "000000000000", Region: "us-east-1"}
	if _, err := db.CreateStream(ns, "s", engine.StreamConfig{ShardCount: 1}, nil); err != nil {
		t.Fatal(err)
	}
	st, err := db.Stream(ns, "s")
	if err != nil {
		t.Fatal(err)
	}
	return s, st, ns
}
