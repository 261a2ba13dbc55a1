package engine

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/sluice-dev/sluice/index"
)

var (
	nsUS = Namespace{Account: "000000000000", Region: "us-east-1"}
	nsEU = Namespace{Account: "000000000000", Region: "eu-west-1"}
)

func mustCreate(t *testing.T, db *DB, kind resourceKind, ns Namespace, name, value string) catalogRecord {
	t.Helper()
	rec, err := db.catalogCreate(kind, ns, name, []byte(value), nil)
	if err != nil {
		t.Fatalf("catalogCreate(%s %s %q): %v", kind, ns, name, err)
	}
	return rec
}

func recordNames(recs []catalogRecord) []string {
	names := make([]string, len(recs))
	for i, r := range recs {
		names[i] = r.Name
	}
	return names
}

// TestCatalogCRUD checks create/get/update/delete of catalog records:
// create refuses an existing name (returning the existing record), update
// requires the current entity id, delete removes the record, and the same
// name in two regions (or two kinds) are independent records.
func TestCatalogCRUD(t *testing.T) {
	db := openMem(t, vfs.NewMem())
	defer db.Close()

	us := mustCreate(t, db, kindQueue, nsUS, "orders", "us-v1")
	eu := mustCreate(t, db, kindQueue, nsEU, "orders", "eu-v1")
	st := mustCreate(t, db, kindStream, nsUS, "orders", "stream")
	if us.EntityID == eu.EntityID || us.EntityID == st.EntityID || eu.EntityID == st.EntityID {
		t.Fatalf("entity ids not distinct: %d %d %d", us.EntityID, eu.EntityID, st.EntityID)
	}

	existing, err := db.catalogCreate(kindQueue, nsUS, "orders", []byte("other"), nil)
	if !errors.Is(err, errCatalogExists) || string(existing.Value) != "us-v1" || existing.EntityID != us.EntityID {
		t.Fatalf("duplicate create: rec=%+v err=%v", existing, err)
	}

	if err := db.catalogUpdate(kindQueue, nsUS, "orders", us.EntityID, []byte("us-v2")); err != nil {
		t.Fatalf("update: %v", err)
	}
	if err := db.catalogUpdate(kindQueue, nsUS, "orders", eu.EntityID, []byte("wrong")); !errors.Is(err, errCatalogNotFound) {
		t.Fatalf("update with another entity id: %v", err)
	}
	for _, tc := range []struct {
		kind resourceKind
		ns   Namespace
		want string
	}{{kindQueue, nsUS, "us-v2"}, {kindQueue, nsEU, "eu-v1"}, {kindStream, nsUS, "stream"}} {
		rec, ok, err := db.catalogGet(tc.kind, tc.ns, "orders")
		if err != nil || !ok || string(rec.Value) != tc.want {
			t.Errorf("get %s %s: %+v %v %v, want value %q", tc.kind, tc.ns, rec, ok, err, tc.want)
		}
	}

	deleted, err := db.catalogDelete(kindQueue, nsUS, "orders", nil)
	if err != nil || deleted.EntityID != us.EntityID {
		t.Fatalf("delete: %+v %v", deleted, err)
	}
	if _, ok, _ := db.catalogGet(kindQueue, nsUS, "orders"); ok {
		t.Fatalf("record still there after delete")
	}
	if _, err := db.catalogDelete(kindQueue, nsUS, "orders", nil); !errors.Is(err, errCatalogNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if _, ok, _ := db.catalogGet(kindQueue, nsEU, "orders"); !ok {
		t.Fatalf("deleting us-east-1 removed eu-west-1's record")
	}
	again := mustCreate(t, db, kindQueue, nsUS, "orders", "us-v3")
	if again.EntityID <= st.EntityID {
		t.Fatalf("recreated record reuses an old entity id: %d", again.EntityID)
	}
}

// TestCatalogListPagination checks catalogList against a sorted model over
// random names: every (prefix, after, limit) page matches, and walking pages
// with after = last name returned visits every name exactly once.
func TestCatalogListPagination(t *testing.T) {
	db := openMem(t, vfs.NewMem())
	defer db.Close()
	rng := rand.New(rand.NewPCG(1, 1))
	var names []string
	for i := range 60 {
		name := fmt.Sprintf("%c-%d", 'a'+rng.IntN(3), i)
		names = append(names, name)
		mustCreate(t, db, kindQueue, nsUS, name, name)
		mustCreate(t, db, kindQueue, nsEU, "eu-"+name, name)
	}
	slices.Sort(names)

	for _, prefix := range []string{"", "a", "b-1", "zz"} {
		var model []string
		for _, n := range names {
			if len(n) >= len(prefix) && n[:len(prefix)] == prefix {
				model = append(model, n)
			}
		}
		for _, limit := range []int{1, 7, 100} {
			var got []string
			after := ""
			for {
				page, err := db.catalogList(kindQueue, nsUS, prefix, after, limit)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > limit {
					t.Fatalf("page of %d > limit %d", len(page), limit)
				}
				got = append(got, recordNames(page)...)
				if len(page) < limit {
					break
				}
				after = page[len(page)-1].Name
			}
			if !slices.Equal(got, model) {
				t.Fatalf("prefix %q limit %d: got %q, want %q", prefix, limit, got, model)
			}
		}
	}

	var scanned int
	if err := db.catalogScan(kindQueue, func(rec catalogRecord) error {
		if rec.NS != nsUS && rec.NS != nsEU {
			return fmt.Errorf("unexpected namespace %v", rec.NS)
		}
		scanned++
		return nil
	}); err != nil || scanned != 120 {
		t.Fatalf("catalogScan: %d records, err %v", scanned, err)
	}
}

// TestCatalogDeleteRemovesEntityData checks that deleting a record removes
// every index key under its entity and its logs, and leaves other entities'
// data alone; extra writes join the delete atomically.
func TestCatalogDeleteRemovesEntityData(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs)
	defer db.Close()
	a := mustCreate(t, db, kindQueue, nsUS, "a", "")
	b, err := db.catalogCreate(kindQueue, nsUS, "b", nil, func(batch *index.Batch, id uint64) {
		batch.Set(index.SeqKey(nil, id, index.SpaceUserMin, 1), []byte("initial"))
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range []catalogRecord{a, b} {
		if err := db.index.Set(index.CursorKey(nil, rec.EntityID, "c"), []byte("x"), true); err != nil {
			t.Fatal(err)
		}
		l, err := db.openLog(rec.EntityID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if l2, err := db.openLog(rec.EntityID, 0); err != nil || l2 != l {
			t.Fatalf("openLog twice returned another log (%v)", err)
		}
	}
	if _, ok, _ := db.index.Get(index.SeqKey(nil, b.EntityID, index.SpaceUserMin, 1)); !ok {
		t.Fatalf("extra write of catalogCreate missing")
	}

	if _, err := db.catalogDelete(kindQueue, nsUS, "a", func(batch *index.Batch) {
		batch.Set(index.MetaKey(nil, "tombstone-a"), nil)
	}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.index.Get(index.MetaKey(nil, "tombstone-a")); !ok {
		t.Fatalf("extra write of catalogDelete missing")
	}
	if _, ok, _ := db.index.Get(index.CursorKey(nil, a.EntityID, "c")); ok {
		t.Fatalf("deleted entity's index key survived")
	}
	if _, ok, _ := db.index.Get(index.CursorKey(nil, b.EntityID, "c")); !ok {
		t.Fatalf("other entity's index key removed")
	}
	if _, err := fs.Stat(db.entityLogsDir(a.EntityID)); err == nil {
		t.Fatalf("deleted entity's logs still on disk")
	}
	if _, err := fs.Stat(db.entityLogsDir(b.EntityID)); err != nil {
		t.Fatalf("other entity's logs gone: %v", err)
	}
}

// TestCatalogSurvivesReopenAndIDsNotReused checks that the catalog survives
// Close/Open and that entity ids keep increasing across restarts, deletes
// and Reset (a recreated name never shares an id with old data).
func TestCatalogSurvivesReopenAndIDsNotReused(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs)
	first := mustCreate(t, db, kindQueue, nsUS, "q", "v")
	if _, err := db.catalogDelete(kindQueue, nsUS, "q", nil); err != nil {
		t.Fatal(err)
	}
	kept := mustCreate(t, db, kindQueue, nsUS, "kept", "v")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openMem(t, fs)
	rec, ok, err := db.catalogGet(kindQueue, nsUS, "kept")
	if err != nil || !ok || rec.EntityID != kept.EntityID || string(rec.Value) != "v" {
		t.Fatalf("after reopen: %+v %v %v", rec, ok, err)
	}
	second := mustCreate(t, db, kindQueue, nsUS, "q", "v")
	if second.EntityID <= kept.EntityID || second.EntityID == first.EntityID {
		t.Fatalf("entity id %d reused or not increasing (first %d, kept %d)", second.EntityID, first.EntityID, kept.EntityID)
	}
	if err := db.Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openMem(t, fs)
	defer db.Close()
	third := mustCreate(t, db, kindQueue, nsUS, "q", "v")
	if third.EntityID <= second.EntityID {
		t.Fatalf("entity id %d after Reset and reopen not above %d", third.EntityID, second.EntityID)
	}
}

// TestCatalogCrashDurability checks that catalog writes, which are synced,
// survive a crash that drops every unsynced byte (CrashClone with 0%
// unsynced data), and that partially kept unsynced data (50%, 100%) never
// yields a broken catalog or reused entity ids.
func TestCatalogCrashDurability(t *testing.T) {
	for _, pct := range []int{0, 50, 100} {
		t.Run(fmt.Sprintf("unsynced=%d%%", pct), func(t *testing.T) {
			fs := vfs.NewCrashableMem()
			db := openMem(t, fs)
			var created []catalogRecord
			for i := range 20 {
				created = append(created, mustCreate(t, db, kindQueue, nsUS, fmt.Sprintf("q%02d", i), "v"))
			}
			if _, err := db.catalogDelete(kindQueue, nsUS, "q03", nil); err != nil {
				t.Fatal(err)
			}
			if err := db.catalogUpdate(kindQueue, nsUS, "q04", created[4].EntityID, []byte("v2")); err != nil {
				t.Fatal(err)
			}
			crashed := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: pct, RNG: rand.New(rand.NewPCG(uint64(pct), 0))})
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}

			db = openMem(t, crashed)
			defer db.Close()
			recs, err := db.catalogList(kindQueue, nsUS, "", "", 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 19 {
				t.Fatalf("after crash: %d records, want 19: %q", len(recs), recordNames(recs))
			}
			for _, r := range recs {
				if r.Name == "q03" {
					t.Fatalf("deleted record came back")
				}
				if r.Name == "q04" && string(r.Value) != "v2" {
					t.Fatalf("synced update lost: %q", r.Value)
				}
			}
			next := mustCreate(t, db, kindQueue, nsUS, "new", "v")
			if next.EntityID <= created[len(created)-1].EntityID {
				t.Fatalf("entity id %d reused after crash", next.EntityID)
			}
		})
	}
}
