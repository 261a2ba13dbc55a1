package engine

import (
	"fmt"
	"slices"
	"testing"

	"github.com/sluice-dev/sluice/index"
)

// TestDeadLetterSourceIndex checks the reverse index behind
// DeadLetterSourceQueues: after each catalog change (create with a
// redrive, retarget, drop the redrive, delete a source) both the answer
// and the index keys themselves are exactly the expected sources, so the
// answer does not rely on filtering a stale superset (keys are checked
// before the read, which would drop stale ones). It also checks that
// a stale key (a source that does not exist) is ignored and dropped, that
// a lost index is rebuilt from the catalog on first use after open, and
// paging with after/limit. Method: a table of steps over two DLQs and
// sources in two namespaces.
func TestDeadLetterSourceIndex(t *testing.T) {
	e := newQEnv(t)
	other := Namespace{Account: "111111111111", Region: "eu-west-1"}
	dlq1 := QueueRef{Namespace: testNS, Name: "dlq1"}
	dlq2 := QueueRef{Namespace: testNS, Name: "dlq2"}
	e.create("dlq1", DefaultQueueAttributes(false))
	e.create("dlq2", DefaultQueueAttributes(false))
	withTarget := func(target *QueueRef) QueueAttributes {
		a := DefaultQueueAttributes(false)
		if target != nil {
			a.Redrive = &RedrivePolicy{DeadLetterTarget: *target, MaxReceiveCount: 3}
		}
		return a
	}
	names := func(refs []QueueRef) []string {
		out := []string{}
		for _, r := range refs {
			out = append(out, r.String())
		}
		return out
	}
	indexKeys := func(dlq QueueRef) []string {
		prefix := dlqSourcesPrefix(dlq)
		var out []QueueRef
		if err := e.db.index.ScanPrefix(prefix, func(k, _ []byte) error {
			r := index.NewKeyReader(k[len(prefix):])
			out = append(out, readQueueRef(&r))
			return r.Done()
		}); err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(out, func(a, b QueueRef) int { return compareRefs(a, b) })
		return names(out)
	}
	a := QueueRef{Namespace: testNS, Name: "a"}
	b := QueueRef{Namespace: other, Name: "b"}
	c := QueueRef{Namespace: testNS, Name: "c"}
	steps := []struct {
		name       string
		do         func() error
		dlq1, dlq2 []QueueRef
	}{
		{"create sources", func() error {
			for _, s := range []struct {
				ref    QueueRef
				target *QueueRef
			}{{a, &dlq1}, {b, &dlq1}, {c, &dlq2}} {
				if _, err := e.db.CreateQueue(s.ref.Namespace, s.ref.Name, withTarget(s.target), nil); err != nil {
					return err
				}
			}
			return nil
		}, []QueueRef{a, b}, []QueueRef{c}},
		{"retarget a", func() error { return e.queue("a").SetAttributes(withTarget(&dlq2)) }, []QueueRef{b}, []QueueRef{a, c}},
		{"drop b's redrive", func() error {
			q, err := e.db.Queue(other, "b")
			if err != nil {
				return err
			}
			return q.SetAttributes(withTarget(nil))
		}, nil, []QueueRef{a, c}},
		{"delete c", func() error { return e.db.DeleteQueue(testNS, "c") }, nil, []QueueRef{a}},
		{"stale key", func() error {
			return e.db.index.Set(dlqSourceKey(dlq2, QueueRef{Namespace: testNS, Name: "ghost"}), nil, false)
		}, nil, []QueueRef{a}},
		{"index lost", func() error {
			b := e.db.index.NewBatch()
			defer b.Close()
			b.DeletePrefix(index.EntitySpacePrefix(nil, queueGlobalEntity, spaceQueueDLQSources))
			b.Delete(index.EntityMetaKey(nil, queueGlobalEntity, queueMetaDLQIndexBuilt))
			if err := b.Commit(true); err != nil {
				return err
			}
			e.reopen()
			return nil
		}, nil, []QueueRef{a}},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		for _, check := range []struct {
			dlq  QueueRef
			want []QueueRef
		}{{dlq1, st.dlq1}, {dlq2, st.dlq2}} {
			want := names(check.want)
			// Maintained by the change itself, not by the reader's
			// cleanup (except the planted stale key).
			if keys := indexKeys(check.dlq); st.name != "stale key" && st.name != "index lost" && fmt.Sprint(keys) != fmt.Sprint(want) {
				t.Fatalf("%s: index keys of %s before reading = %v, want %v", st.name, check.dlq, keys, want)
			}
			got, err := e.db.DeadLetterSourceQueues(check.dlq, "", 0)
			if err != nil {
				t.Fatalf("%s: DeadLetterSourceQueues(%s): %v", st.name, check.dlq, err)
			}
			if fmt.Sprint(names(got)) != fmt.Sprint(want) {
				t.Fatalf("%s: sources of %s = %v, want %v", st.name, check.dlq, names(got), want)
			}
			// Read after the answer: stale keys are dropped by it.
			if keys := indexKeys(check.dlq); fmt.Sprint(keys) != fmt.Sprint(want) {
				t.Fatalf("%s: index keys of %s = %v, want %v", st.name, check.dlq, keys, want)
			}
		}
	}
	// Paging: after is compared with String(), results sorted by it.
	if _, err := e.db.CreateQueue(testNS, "b2", withTarget(&dlq2), nil); err != nil {
		t.Fatal(err)
	}
	page, err := e.db.DeadLetterSourceQueues(dlq2, a.String(), 1)
	if err != nil || len(page) != 1 || page[0].Name != "b2" {
		t.Fatalf("page after %s: %v %v, want [b2]", a, names(page), err)
	}
}

// compareRefs orders refs by their String (the order of the API).
func compareRefs(a, b QueueRef) int {
	switch sa, sb := a.String(), b.String(); {
	case sa < sb:
		return -1
	case sa > sb:
		return 1
	}
	return 0
}
