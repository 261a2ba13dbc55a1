package engine

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

const transitionTestDelay = 10 * time.Second

// openTransitionDB opens a MemFS DB with a settable clock and a transition
// delay of transitionTestDelay.
func openTransitionDB(t *testing.T) (*DB, *streamTestClock, vfs.FS) {
	t.Helper()
	fs := vfs.NewMem()
	clock := newStreamTestClock()
	db := openStreamDB(t, fs, clock, 0)
	db.SetStreamTransitionDelay(transitionTestDelay)
	t.Cleanup(func() { _ = db.Close() })
	return db, clock, fs
}

func putOne(s *Stream) error {
	_, err := s.Put(context.Background(), []PutRecord{{PartitionKey: "k", Data: []byte("v")}})
	return err
}

// wantState checks that err is a *StreamStateError for status that matches
// ErrStreamNotFound (data plane) or ErrResourceInUse (control plane).
func wantState(t *testing.T, what string, err error, status StreamStatus, dataPlane bool) {
	t.Helper()
	var se *StreamStateError
	if !errors.As(err, &se) || se.Status != status || !errors.Is(err, ErrStreamNotActive) {
		t.Fatalf("%s: got %v, want a StreamStateError for %s", what, err, status)
	}
	if dataPlane != errors.Is(err, ErrStreamNotFound) || dataPlane == errors.Is(err, ErrResourceInUse) {
		t.Fatalf("%s: %v: data plane %v but matches NotFound=%v InUse=%v", what, err, dataPlane,
			errors.Is(err, ErrStreamNotFound), errors.Is(err, ErrResourceInUse))
	}
}

// TestStreamCreatingTransition checks the CREATING window: Info reports
// CREATING, every data-plane call fails as "not found", every
// control-plane change as "in use", until the delay has passed on the DB
// clock; then the stream is ACTIVE and all of them work.
func TestStreamCreatingTransition(t *testing.T) {
	db, clock, _ := openTransitionDB(t)
	info, err := db.CreateStream(streamTestNS, "s", StreamConfig{ShardCount: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if info.Status != StreamCreating {
		t.Fatalf("CreateStream status %s", info.Status)
	}
	s, err := db.Stream(streamTestNS, "s")
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(transitionTestDelay - time.Nanosecond)
	if got := s.Info().Status; got != StreamCreating {
		t.Fatalf("status before the delay: %s", got)
	}
	wantState(t, "Put", putOne(s), StreamCreating, true)
	_, _, err = s.Bounds(0)
	wantState(t, "Bounds", err, StreamCreating, true)
	_, err = s.Read(0, 1, 10, 0, func(*StreamRecord) error { return nil })
	wantState(t, "Read", err, StreamCreating, true)
	_, err = s.SeekTimestamp(0, clock.Now())
	wantState(t, "SeekTimestamp", err, StreamCreating, true)
	wantState(t, "Wait", s.Wait(context.Background(), 0, 1), StreamCreating, true)
	for name, change := range map[string]func() error{
		"Split":            func() error { return s.Split(0, Uint128{Hi: 1 << 60}) },
		"UpdateShardCount": func() error { return s.UpdateShardCount(4) },
		"SetMode":          func() error { return s.SetMode(StreamModeOnDemand) },
		"SetEncryption":    func() error { return s.SetEncryption("KMS", "k") },
		"SetRetention":     func() error { return s.SetRetention(48 * time.Hour) },
		"Tag":              func() error { return s.Tag(map[string]string{"a": "b"}) },
		"RegisterConsumer": func() error { _, err := s.RegisterConsumer("c"); return err },
		"DeleteStream":     func() error { return db.DeleteStream(streamTestNS, "s", false) },
	} {
		wantState(t, name, change(), StreamCreating, false)
	}
	clock.Advance(time.Nanosecond)
	if got := s.Info().Status; got != StreamActive {
		t.Fatalf("status after the delay: %s", got)
	}
	if err := putOne(s); err != nil {
		t.Fatalf("Put once ACTIVE: %v", err)
	}
	if err := s.Tag(map[string]string{"a": "b"}); err != nil {
		t.Fatalf("Tag once ACTIVE: %v", err)
	}
}

// TestStreamUpdatingTransition checks that each UPDATING change (reshard,
// mode, encryption) leaves the stream UPDATING for the delay with data
// flowing, refuses a second change meanwhile, and that settings changes
// (retention, tags) do not start a transition themselves.
func TestStreamUpdatingTransition(t *testing.T) {
	changes := []struct {
		name   string
		change func(s *Stream) error
	}{
		{"UpdateShardCount", func(s *Stream) error { return s.UpdateShardCount(4) }},
		{"Split", func(s *Stream) error { return s.Split(0, Uint128{Hi: 1 << 60}) }},
		{"Merge", func(s *Stream) error { return s.Merge(0, 1) }},
		{"SetMode", func(s *Stream) error { return s.SetMode(StreamModeOnDemand) }},
		{"SetEncryption", func(s *Stream) error { return s.SetEncryption("KMS", "alias/k") }},
	}
	for _, tc := range changes {
		t.Run(tc.name, func(t *testing.T) {
			db, clock, _ := openTransitionDB(t)
			s := createTestStream(t, db, "s", StreamConfig{ShardCount: 2})
			clock.Advance(transitionTestDelay)
			if err := s.SetRetention(48 * time.Hour); err != nil {
				t.Fatal(err)
			}
			if got := s.Info().Status; got != StreamActive {
				t.Fatalf("after SetRetention: %s, want ACTIVE (no transition)", got)
			}
			if err := tc.change(s); err != nil {
				t.Fatal(err)
			}
			if got := s.Info().Status; got != StreamUpdating {
				t.Fatalf("after %s: %s", tc.name, got)
			}
			if err := putOne(s); err != nil {
				t.Fatalf("Put while UPDATING: %v", err)
			}
			if _, _, err := s.Bounds(s.Info().Shards[0].Index); err != nil {
				t.Fatalf("Bounds while UPDATING: %v", err)
			}
			wantState(t, "second change", s.UpdateShardCount(3), StreamUpdating, false)
			wantState(t, "Tag", s.Tag(map[string]string{"a": "b"}), StreamUpdating, false)
			if _, err := s.RegisterConsumer("c"); err != nil {
				t.Fatalf("RegisterConsumer while UPDATING: %v", err)
			}
			clock.Advance(transitionTestDelay)
			if got := s.Info().Status; got != StreamActive {
				t.Fatalf("after the delay: %s", got)
			}
			if err := s.Tag(map[string]string{"a": "b"}); err != nil {
				t.Fatalf("Tag once ACTIVE: %v", err)
			}
		})
	}
}

// TestStreamDeletingTransition checks the DELETING window: the stream is
// listed and DELETING, data still flows, changes and a second delete are
// refused, the name cannot be reused; once the delay passes it is gone
// from lookups and listings, its handle is dead and the name is free.
func TestStreamDeletingTransition(t *testing.T) {
	db, clock, _ := openTransitionDB(t)
	s := createTestStream(t, db, "s", StreamConfig{ShardCount: 1})
	createTestStream(t, db, "t", StreamConfig{ShardCount: 1})
	clock.Advance(transitionTestDelay)
	if _, err := s.RegisterConsumer("c"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteStream(streamTestNS, "s", false); !errors.Is(err, ErrStreamHasConsumers) {
		t.Fatalf("delete with consumers: %v", err)
	}
	if err := db.DeleteStream(streamTestNS, "s", true); err != nil {
		t.Fatal(err)
	}
	if got := s.Info().Status; got != StreamDeleting {
		t.Fatalf("after DeleteStream: %s", got)
	}
	if names, err := db.ListStreams(streamTestNS, "", 0); err != nil || !slices.Equal(names, []string{"s", "t"}) {
		t.Fatalf("ListStreams while DELETING: %v, %v", names, err)
	}
	if err := putOne(s); err != nil {
		t.Fatalf("Put while DELETING: %v", err)
	}
	wantState(t, "SetMode", s.SetMode(StreamModeOnDemand), StreamDeleting, false)
	wantState(t, "DeleteStream again", db.DeleteStream(streamTestNS, "s", false), StreamDeleting, false)
	if _, err := db.CreateStream(streamTestNS, "s", StreamConfig{ShardCount: 1}, nil); !errors.Is(err, ErrStreamExists) {
		t.Fatalf("CreateStream while DELETING: %v", err)
	}
	clock.Advance(transitionTestDelay)
	if err := putOne(s); !errors.Is(err, ErrStreamNotFound) {
		t.Fatalf("Put after deletion: %v", err)
	}
	if names, err := db.ListStreams(streamTestNS, "", 1); err != nil || !slices.Equal(names, []string{"t"}) {
		t.Fatalf("ListStreams after deletion: %v, %v", names, err)
	}
	if _, err := db.Stream(streamTestNS, "s"); !errors.Is(err, ErrStreamNotFound) {
		t.Fatalf("Stream after deletion: %v", err)
	}
	info, err := db.CreateStream(streamTestNS, "s", StreamConfig{ShardCount: 3}, nil)
	if err != nil {
		t.Fatalf("CreateStream after deletion: %v", err)
	}
	if info.EntityID == s.EntityID() || info.OpenShards != 3 {
		t.Fatalf("recreated stream %+v reuses the old one", info)
	}
}

// TestStreamDeletedNameReusedWithoutLookup checks that CreateStream itself
// clears a stream whose delayed deletion is due, when nothing looked the
// old stream up after the delay.
func TestStreamDeletedNameReusedWithoutLookup(t *testing.T) {
	db, clock, _ := openTransitionDB(t)
	createTestStream(t, db, "s", StreamConfig{ShardCount: 1})
	clock.Advance(transitionTestDelay)
	if err := db.DeleteStream(streamTestNS, "s", false); err != nil {
		t.Fatal(err)
	}
	clock.Advance(transitionTestDelay)
	if _, err := db.CreateStream(streamTestNS, "s", StreamConfig{ShardCount: 1}, nil); err != nil {
		t.Fatalf("CreateStream after deletion: %v", err)
	}
}

// TestStreamTransitionSurvivesRestart checks that pending transitions are
// persisted: after a reopen a CREATING stream is still CREATING until its
// end time, and a DELETING stream is still DELETING, then gone.
func TestStreamTransitionSurvivesRestart(t *testing.T) {
	fs := vfs.NewMem()
	clock := newStreamTestClock()
	db := openStreamDB(t, fs, clock, 0)
	db.SetStreamTransitionDelay(transitionTestDelay)
	createTestStream(t, db, "old", StreamConfig{ShardCount: 1})
	clock.Advance(transitionTestDelay)
	if err := db.DeleteStream(streamTestNS, "old", false); err != nil {
		t.Fatal(err)
	}
	createTestStream(t, db, "new", StreamConfig{ShardCount: 1})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	clock.Advance(transitionTestDelay / 2)
	db = openStreamDB(t, fs, clock, 0) // no delay set: the persisted end times still rule
	defer func() { _ = db.Close() }()
	status := func(name string) StreamStatus {
		s, err := db.Stream(streamTestNS, name)
		if err != nil {
			t.Fatalf("Stream %s: %v", name, err)
		}
		return s.Info().Status
	}
	if got := status("new"); got != StreamCreating {
		t.Fatalf("new after restart: %s", got)
	}
	if got := status("old"); got != StreamDeleting {
		t.Fatalf("old after restart: %s", got)
	}
	clock.Advance(transitionTestDelay / 2)
	if got := status("new"); got != StreamActive {
		t.Fatalf("new after its delay: %s", got)
	}
	if names, err := db.ListStreams(streamTestNS, "", 0); err != nil || !slices.Equal(names, []string{"new"}) {
		t.Fatalf("ListStreams: %v, %v", names, err)
	}
}

// TestStreamNoDelayKeepsV1 checks the default (no delay): nothing is ever
// CREATING, UPDATING or DELETING after the call, the metadata stays in the
// version 1 format, and DeleteStream removes at once.
func TestStreamNoDelayKeepsV1(t *testing.T) {
	db := openStreamDB(t, vfs.NewMem(), newStreamTestClock(), 0)
	defer func() { _ = db.Close() }()
	s := createTestStream(t, db, "s", StreamConfig{ShardCount: 2})
	if err := s.UpdateShardCount(4); err != nil {
		t.Fatal(err)
	}
	if got := s.Info().Status; got != StreamActive {
		t.Fatalf("status %s", got)
	}
	if v := encodeStreamMeta(nil, s.snap.Load().meta)[1]; v != streamMetaVersion {
		t.Fatalf("metadata version %d", v)
	}
	if err := db.DeleteStream(streamTestNS, "s", false); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Stream(streamTestNS, "s"); !errors.Is(err, ErrStreamNotFound) {
		t.Fatalf("Stream after delete: %v", err)
	}
}

// TestStreamMetaStatusRoundTrip checks the version 2 encoding: status and
// end time survive encode/decode, peekStreamStatus reads them, and
// settle drops an ended transition back to version 1.
func TestStreamMetaStatusRoundTrip(t *testing.T) {
	for _, status := range []StreamStatus{StreamCreating, StreamUpdating, StreamDeleting} {
		m := fullTestMeta(t)
		m.Status, m.StatusUntil = status, streamTestEpoch.Add(time.Minute)
		enc := encodeStreamMeta(nil, m)
		got, err := decodeStreamMeta(enc)
		if err != nil {
			t.Fatalf("%s: %v", status, err)
		}
		if got.Status != status || !got.StatusUntil.Equal(m.StatusUntil) || !metaEqual(m, got) {
			t.Fatalf("%s: round trip gave %s until %v", status, got.Status, got.StatusUntil)
		}
		if st, until, ok := peekStreamStatus(enc); !ok || st != status || !until.Equal(m.StatusUntil) {
			t.Fatalf("%s: peek gave %s %v %v", status, st, until, ok)
		}
		for n := range len(enc) {
			if _, err := decodeStreamMeta(enc[:n]); !errors.Is(err, errStreamMetaCorrupt) {
				t.Fatalf("%s truncated to %d bytes: %v", status, n, err)
			}
		}
		m.settle(m.StatusUntil)
		wantVersion := byte(streamMetaVersion)
		if status == StreamDeleting {
			wantVersion = streamMetaVersionV2 // a deletion never settles back
		}
		if v := encodeStreamMeta(nil, m)[1]; v != wantVersion {
			t.Fatalf("%s settled: version %d", status, v)
		}
	}
	bad := fullTestMeta(t)
	bad.Status, bad.StatusUntil = "BOGUS", streamTestEpoch
	if _, err := decodeStreamMeta(encodeStreamMeta(nil, bad)); !errors.Is(err, errStreamMetaCorrupt) {
		t.Fatalf("bogus status accepted: %v", err)
	}
	v1 := encodeStreamMeta(nil, newTestMeta(1))
	if st, _, ok := peekStreamStatus(v1); !ok || st != "" {
		t.Fatalf("peek of version 1: %q %v", st, ok)
	}
	if _, _, ok := peekStreamStatus(bytes.Clone(v1[:1])); ok {
		t.Fatal("peek of a truncated header succeeded")
	}
}

// TestStreamDeletionCompletesAfterRestart checks that delayed deletions
// finish after a restart without any call naming the stream: one whose
// deletion came due while the DB was closed is gone (catalog entry and
// log files) as soon as Open returns; one still DELETING at Open is
// removed by the retention pass once its time comes.
func TestStreamDeletionCompletesAfterRestart(t *testing.T) {
	fs := vfs.NewMem()
	clock := newStreamTestClock()
	db := openStreamDB(t, fs, clock, 0)
	db.SetStreamTransitionDelay(transitionTestDelay)
	ids := map[string]uint64{}
	for _, name := range []string{"due", "later"} {
		s := createTestStream(t, db, name, StreamConfig{ShardCount: 1})
		ids[name] = s.EntityID()
		clock.Advance(transitionTestDelay)
		if _, err := s.Put(context.Background(), []PutRecord{{PartitionKey: "k", Data: []byte("data")}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.DeleteStream(streamTestNS, "due", false); err != nil {
		t.Fatal(err)
	}
	clock.Advance(transitionTestDelay / 2)
	if err := db.DeleteStream(streamTestNS, "later", false); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	clock.Advance(transitionTestDelay / 2) // "due" is due, "later" is not

	db = openStreamDB(t, fs, clock, 0)
	defer func() { _ = db.Close() }()
	present := func(name string) (catalog, files bool) {
		t.Helper()
		if err := db.catalogScan(kindStream, func(r catalogRecord) error {
			catalog = catalog || r.Name == name
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		_, err := fs.Stat(db.entityLogsDir(ids[name]))
		return catalog, err == nil
	}
	if c, f := present("due"); c || f {
		t.Fatalf("stream due for deletion at Open: catalog entry %v, log files %v; want both gone", c, f)
	}
	if c, f := present("later"); !c || !f {
		t.Fatalf("stream still DELETING at Open: catalog entry %v, log files %v; want both kept", c, f)
	}
	clock.Advance(transitionTestDelay / 2)
	db.streamRegistry().retentionTick()
	if c, f := present("later"); c || f {
		t.Fatalf("after its delay and a retention pass: catalog entry %v, log files %v; want both gone", c, f)
	}
}
