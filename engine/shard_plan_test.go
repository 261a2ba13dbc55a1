package engine

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

var streamTestEpoch = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// newTestMeta returns valid metadata for a PROVISIONED stream of n shards.
func newTestMeta(n int) *streamMeta {
	m := &streamMeta{
		Name: "s", Namespace: Namespace{Account: "000000000000", Region: "us-east-1"},
		Created: streamTestEpoch, Mode: StreamModeProvisioned, Retention: streamRetentionDefault,
		MaxRecordSizeKiB: streamRecordKiBDefault, EncryptionType: "NONE",
	}
	m.initialShards(n, streamTestEpoch)
	return m
}

// applyPlan applies plan with every closed shard ending at sequence 7.
func applyPlan(m *streamMeta, plan reshardPlan, now time.Time) {
	m.apply(plan, func(int) uint64 { return 7 }, now)
}

// checkLineage asserts the lineage invariants AWS clients (KCL) rely on: the
// metadata validates, every shard closed by the plan is covered by
// its children, every merge child is tiled exactly by its parents, and no
// shard has more than two parents.
func checkLineage(t *testing.T, m *streamMeta, plan reshardPlan) {
	t.Helper()
	if err := m.validate(); err != nil {
		t.Fatalf("metadata invalid after plan: %v", err)
	}
	children := map[int][]ShardInfo{}
	for _, s := range m.Shards {
		for _, p := range []int{s.Parent, s.AdjacentParent} {
			if p >= 0 {
				children[p] = append(children[p], s)
			}
		}
	}
	// covered reports whether parts, in any order, are contiguous and
	// cover want: exactly if exact, else possibly extending past it (a
	// merge child extends past each parent).
	covered := func(want hashRange, parts []ShardInfo, exact bool) bool {
		parts = slices.Clone(parts)
		slices.SortFunc(parts, func(a, b ShardInfo) int { return a.HashStart.Cmp(b.HashStart) })
		if len(parts) == 0 {
			return false
		}
		first, last := parts[0].HashStart, parts[len(parts)-1].HashEnd
		if exact && (first != want.Start || last != want.End) {
			return false
		}
		if first.Cmp(want.Start) > 0 || last.Cmp(want.End) < 0 {
			return false
		}
		for i := 1; i < len(parts); i++ {
			if parts[i-1].HashEnd.add1() != parts[i].HashStart {
				return false
			}
		}
		return true
	}
	for _, idx := range plan.close {
		s := m.shard(idx)
		if s.Open() {
			t.Fatalf("shard %d still open after plan closed it", idx)
		}
		if !covered(hashRange{s.HashStart, s.HashEnd}, children[idx], false) {
			t.Fatalf("children %v do not tile closed shard %d", children[idx], idx)
		}
	}
	for _, s := range plan.create {
		var parents []ShardInfo
		for _, p := range []int{s.Parent, s.AdjacentParent} {
			if p >= 0 {
				parents = append(parents, *m.shard(p))
			}
		}
		if len(parents) == 0 {
			t.Fatalf("new shard %d has no parent", s.Index)
		}
		if len(parents) == 1 {
			p := parents[0]
			if s.HashStart.Cmp(p.HashStart) < 0 || s.HashEnd.Cmp(p.HashEnd) > 0 {
				t.Fatalf("split child %d not inside parent %d", s.Index, p.Index)
			}
		} else if !covered(hashRange{s.HashStart, s.HashEnd}, parents, true) {
			t.Fatalf("merge child %d not tiled by parents %v", s.Index, parents)
		}
	}
}

// TestPlanSplit checks SplitShard validation (AWS: the new starting key must
// be > start+1 and < end; the shard must exist and be open) and the two
// children's ranges and lineage.
func TestPlanSplit(t *testing.T) {
	mid := evenSplitStart(1, 2)
	tests := []struct {
		name    string
		shard   int
		key     Uint128
		wantErr error // nil, ErrShardNotFound, or errAnyValidation
	}{
		{"middle", 0, mid, nil},
		{"start+2", 0, Uint128{Lo: 2}, nil},
		{"end", 0, MaxUint128, errAnyValidation},
		{"end-1", 0, MaxUint128.sub1(), nil},
		{"start+1", 0, Uint128{Lo: 1}, errAnyValidation},
		{"start", 0, Uint128{}, errAnyValidation},
		{"missing shard", 3, mid, ErrShardNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestMeta(1)
			plan, err := m.planSplit(tt.shard, tt.key, streamTestEpoch)
			checkStreamErr(t, err, tt.wantErr)
			if err != nil {
				return
			}
			applyPlan(m, plan, streamTestEpoch)
			checkLineage(t, m, plan)
			a, b := m.shard(1), m.shard(2)
			if a.HashEnd != tt.key.sub1() || b.HashStart != tt.key || a.Parent != 0 || b.Parent != 0 {
				t.Fatalf("children %+v %+v", a, b)
			}
			if _, err := m.planSplit(0, tt.key, streamTestEpoch); !isValidationError(err) {
				t.Fatalf("splitting a closed shard: %v, want ValidationError", err)
			}
		})
	}
}

// TestPlanMerge checks MergeShards: adjacency in either order, rejection of
// non-adjacent, identical, closed or missing shards, and the child's range
// and lineage (Parent = ShardToMerge, AdjacentParent = the other).
func TestPlanMerge(t *testing.T) {
	tests := []struct {
		name          string
		shard, adjace int
		wantErr       error
	}{
		{"ascending", 1, 2, nil},
		{"descending", 2, 1, nil},
		{"not adjacent", 0, 2, errAnyValidation},
		{"same shard", 1, 1, errAnyValidation},
		{"missing", 1, 9, ErrShardNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestMeta(3)
			plan, err := m.planMerge(tt.shard, tt.adjace, streamTestEpoch)
			checkStreamErr(t, err, tt.wantErr)
			if err != nil {
				return
			}
			applyPlan(m, plan, streamTestEpoch)
			checkLineage(t, m, plan)
			c := m.shard(3)
			if c.Parent != tt.shard || c.AdjacentParent != tt.adjace {
				t.Fatalf("child lineage %d/%d", c.Parent, c.AdjacentParent)
			}
			if c.HashStart != m.shard(1).HashStart || c.HashEnd != m.shard(2).HashEnd {
				t.Fatalf("child range %v..%v", c.HashStart, c.HashEnd)
			}
			if _, err := m.planMerge(3, 0, streamTestEpoch); err != nil {
				t.Fatalf("merging the child with its neighbour: %v", err)
			}
			if _, err := m.planMerge(1, 0, streamTestEpoch); !isValidationError(err) {
				t.Fatalf("merging a closed shard: %v, want ValidationError", err)
			}
		})
	}
}

// TestPlanUniform checks UpdateShardCount UNIFORM_SCALING from even and
// uneven layouts to many targets: the open shards afterwards are exactly
// the even ranges of the target, lineage is sound (at most two parents,
// children tile parents), and doubling/halving need no intermediates.
func TestPlanUniform(t *testing.T) {
	layouts := map[string]func() *streamMeta{
		"even1":  func() *streamMeta { return newTestMeta(1) },
		"even3":  func() *streamMeta { return newTestMeta(3) },
		"even4":  func() *streamMeta { return newTestMeta(4) },
		"even7":  func() *streamMeta { return newTestMeta(7) },
		"even10": func() *streamMeta { return newTestMeta(10) },
		"uneven": func() *streamMeta {
			m := newTestMeta(2)
			plan, err := m.planSplit(0, Uint128{Hi: 12345}, streamTestEpoch)
			if err != nil {
				panic(err)
			}
			applyPlan(m, plan, streamTestEpoch)
			return m
		},
	}
	for name, mk := range layouts {
		open := len(mk().openShards())
		for target := (open + 1) / 2; target <= 2*open; target++ {
			t.Run(fmt.Sprintf("%s-to-%d", name, target), func(t *testing.T) {
				m := mk()
				plan, err := m.planUniform(target, streamTestEpoch)
				if err != nil {
					t.Fatal(err)
				}
				applyPlan(m, plan, streamTestEpoch)
				checkLineage(t, m, plan)
				got := m.openShards()
				want := evenRanges(target)
				if len(got) != len(want) {
					t.Fatalf("%d open shards, want %d", len(got), target)
				}
				for i := range got {
					if got[i].HashStart != want[i].Start || got[i].HashEnd != want[i].End {
						t.Fatalf("open shard %d range %v..%v, want %v", i, got[i].HashStart, got[i].HashEnd, want[i])
					}
				}
			})
		}
	}
	t.Run("double and halve need no intermediates", func(t *testing.T) {
		m := newTestMeta(4)
		plan, _ := m.planUniform(8, streamTestEpoch)
		if len(plan.close) != 4 || len(plan.create) != 8 {
			t.Fatalf("4->8: close %d create %d", len(plan.close), len(plan.create))
		}
		applyPlan(m, plan, streamTestEpoch)
		plan, _ = m.planUniform(4, streamTestEpoch)
		if len(plan.close) != 8 || len(plan.create) != 4 {
			t.Fatalf("8->4: close %d create %d", len(plan.close), len(plan.create))
		}
		for _, s := range plan.create {
			if !s.Open() || s.AdjacentParent < 0 {
				t.Fatalf("8->4 created %+v, want open merge children", s)
			}
		}
	})
	t.Run("same count is a no-op", func(t *testing.T) {
		m := newTestMeta(5)
		plan, _ := m.planUniform(5, streamTestEpoch)
		if len(plan.close) != 0 || len(plan.create) != 0 {
			t.Fatalf("5->5 plan %+v", plan)
		}
	})
}

// TestPlanUniformLimits checks AWS's UpdateShardCount limits: at most
// double, at least half, at most ten calls per rolling 24 hours; and that
// ON_DEMAND streams cannot be resharded.
func TestPlanUniformLimits(t *testing.T) {
	m := newTestMeta(4)
	for _, target := range []int{9, 1, 0, -1} {
		if _, err := m.planUniform(target, streamTestEpoch); err == nil {
			t.Fatalf("4 -> %d accepted", target)
		}
	}
	if _, err := m.planUniform(9, streamTestEpoch); !errors.Is(err, ErrLimitExceeded) {
		t.Fatalf("4 -> 9: %v, want ErrLimitExceeded", err)
	}
	m3 := newTestMeta(3)
	if _, err := m3.planUniform(1, streamTestEpoch); !errors.Is(err, ErrLimitExceeded) {
		t.Fatalf("3 -> 1: %v, want ErrLimitExceeded (below half)", err)
	}
	if _, err := m3.planUniform(2, streamTestEpoch); err != nil {
		t.Fatalf("3 -> 2: %v", err)
	}

	now := streamTestEpoch
	for i := range shardCountUpdatesMax {
		if _, err := m.planUniform(4, now); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
		m.recordShardCountUpdate(now)
		now = now.Add(time.Hour)
	}
	if _, err := m.planUniform(4, now); !errors.Is(err, ErrLimitExceeded) {
		t.Fatalf("11th call within 24h: %v, want ErrLimitExceeded", err)
	}
	// The first call leaves the window 24 h after it was made.
	if _, err := m.planUniform(4, streamTestEpoch.Add(shardCountUpdateWindow)); err != nil {
		t.Fatalf("after the window: %v", err)
	}

	m.Mode = StreamModeOnDemand
	if _, err := m.planUniform(4, now.Add(48*time.Hour)); !isValidationError(err) {
		t.Fatalf("ON_DEMAND UpdateShardCount: %v, want ValidationError", err)
	}
	if _, err := m.planSplit(0, Uint128{Hi: 5}, now); !isValidationError(err) {
		t.Fatalf("ON_DEMAND split: %v, want ValidationError", err)
	}
}

// errAnyValidation stands for "any *ValidationError" in table tests.
var errAnyValidation = errors.New("validation error")

func isValidationError(err error) bool {
	var v *ValidationError
	return errors.As(err, &v)
}

func checkStreamErr(t *testing.T, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want == errAnyValidation && !isValidationError(err):
		t.Fatalf("error %v, want ValidationError", err)
	case want != nil && want != errAnyValidation && !errors.Is(err, want):
		t.Fatalf("error %v, want %v", err, want)
	}
}
