package index

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

func openTestDB(t *testing.T, fs vfs.FS) *DB {
	t.Helper()
	db, err := Open("idx", &Options{FS: fs})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return db
}

func closeTestDB(t *testing.T, db *DB) {
	t.Helper()
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func scanKeys(t *testing.T, db *DB, lower, upper []byte) [][]byte {
	t.Helper()
	var keys [][]byte
	if err := db.Scan(lower, upper, func(k, _ []byte) error {
		keys = append(keys, slices.Clone(k))
		return nil
	}); err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return keys
}

// TestGetSetBatchScan checks the basic operations: Get returns a copy (and
// ok=false when absent), a batch applies atomically, DeleteRange/
// DeletePrefix remove exactly their range, and Scan visits keys in order and
// stops on ErrStop.
func TestGetSetBatchScan(t *testing.T) {
	db := openTestDB(t, vfs.NewMem())
	defer closeTestDB(t, db)

	if _, ok, err := db.Get([]byte("missing")); err != nil || ok {
		t.Fatalf("Get missing: ok=%v err=%v", ok, err)
	}
	b := db.NewBatch()
	for i := range 10 {
		b.Set(SeqKey(nil, 1, SpaceUserMin, uint64(i)), []byte{byte(i)})
		b.Set(SeqKey(nil, 2, SpaceUserMin, uint64(i)), []byte{byte(i)})
	}
	if b.Len() != 20 {
		t.Fatalf("batch Len = %d, want 20", b.Len())
	}
	if err := b.Commit(true); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	b.Close()

	v, ok, err := db.Get(SeqKey(nil, 1, SpaceUserMin, 3))
	if err != nil || !ok || !bytes.Equal(v, []byte{3}) {
		t.Fatalf("Get: %x %v %v", v, ok, err)
	}
	v[0] = 99 // must not affect the store
	if v2, _, _ := db.Get(SeqKey(nil, 1, SpaceUserMin, 3)); v2[0] != 3 {
		t.Fatalf("Get returned a borrowed slice")
	}

	keys := scanKeys(t, db, EntityPrefix(nil, 1), PrefixEnd(EntityPrefix(nil, 1)))
	if len(keys) != 10 {
		t.Fatalf("scan entity 1: %d keys, want 10", len(keys))
	}
	for i, k := range keys {
		ek, err := DecodeSeqKey(k)
		if err != nil || ek.Entity != 1 || ek.Seq != uint64(i) || ek.Space != SpaceUserMin {
			t.Fatalf("key %d decodes to %+v, %v", i, ek, err)
		}
	}

	n := 0
	if err := db.ScanPrefix(EntityPrefix(nil, 2), func(_, _ []byte) error {
		n++
		if n == 4 {
			return ErrStop
		}
		return nil
	}); err != nil || n != 4 {
		t.Fatalf("ErrStop: n=%d err=%v", n, err)
	}
	boom := errors.New("boom")
	if err := db.ScanPrefix(EntityPrefix(nil, 2), func(_, _ []byte) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("callback error: got %v", err)
	}

	b = db.NewBatch()
	b.DeleteRange(SeqKey(nil, 2, SpaceUserMin, 0), SeqKey(nil, 2, SpaceUserMin, 5))
	if err := b.Commit(false); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	b.Close()
	if got := len(scanKeys(t, db, EntityPrefix(nil, 2), PrefixEnd(EntityPrefix(nil, 2)))); got != 5 {
		t.Fatalf("after DeleteRange: %d keys, want 5", got)
	}
	if err := db.DeletePrefix(EntityPrefix(nil, 1), true); err != nil {
		t.Fatalf("DeletePrefix: %v", err)
	}
	if got := len(scanKeys(t, db, EntityKeyspace(), PrefixEnd(EntityKeyspace()))); got != 5 {
		t.Fatalf("after DeletePrefix: %d keys, want 5 (entity 2 untouched)", got)
	}
}

// TestIterReuse checks that one Iter can be re-bounded and walked several
// times, seeing the snapshot taken at creation.
func TestIterReuse(t *testing.T) {
	db := openTestDB(t, vfs.NewMem())
	defer closeTestDB(t, db)
	for e := uint64(1); e <= 3; e++ {
		for s := uint64(0); s < 3; s++ {
			if err := db.Set(SeqKey(nil, e, SpaceUserMin, s), nil, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	it, err := db.NewIter(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Set(SeqKey(nil, 2, SpaceUserMin, 9), nil, false); err != nil {
		t.Fatal(err)
	}
	for e := uint64(1); e <= 3; e++ {
		p := EntityPrefix(nil, e)
		it.SetBounds(p, PrefixEnd(p))
		n := 0
		for ok := it.First(); ok; ok = it.Next() {
			n++
		}
		if n != 3 {
			t.Errorf("entity %d: %d keys, want 3 (snapshot)", e, n)
		}
	}
	if !it.SeekGE(SeqKey(nil, 3, SpaceUserMin, 1)) {
		t.Fatalf("SeekGE found nothing")
	}
	if k, _ := DecodeSeqKey(it.Key()); k.Seq != 1 {
		t.Fatalf("SeekGE at %+v", k)
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestListCatalog checks catalog pagination: name order, prefix filter,
// start-after, limit, and isolation between namespaces and kinds (the same
// name in two regions are two records).
func TestListCatalog(t *testing.T) {
	db := openTestDB(t, vfs.NewMem())
	defer closeTestDB(t, db)
	b := db.NewBatch()
	names := []string{"a", "a-1", "a-2", "ab", "b", "b\x00x", "c"}
	for _, region := range []string{"us-east-1", "eu-west-1"} {
		for _, n := range names {
			b.Set(CatalogKey(nil, CatalogName{Kind: 1, Account: "123", Region: region, Name: n}), []byte(region+"/"+n))
		}
	}
	b.Set(CatalogKey(nil, CatalogName{Kind: 2, Account: "123", Region: "us-east-1", Name: "a"}), nil)
	b.Set(CatalogKey(nil, CatalogName{Kind: 1, Account: "1234", Region: "us-east-1", Name: "a"}), nil)
	if err := b.Commit(true); err != nil {
		t.Fatal(err)
	}
	b.Close()

	for _, tc := range []struct {
		prefix, after string
		limit         int
		want          []string
	}{
		{"", "", 0, names},
		{"a", "", 0, []string{"a", "a-1", "a-2", "ab"}},
		{"a-", "", 0, []string{"a-1", "a-2"}},
		{"", "a-1", 2, []string{"a-2", "ab"}},
		{"", "a", 0, names[1:]},
		{"b", "b", 0, []string{"b\x00x"}},
		{"a", "ab", 0, nil},
		{"", "zzz", 0, nil},
		{"", "", 3, names[:3]},
		{"z", "", 0, nil},
	} {
		var got []string
		err := db.ListCatalog(1, "123", "eu-west-1", tc.prefix, tc.after, tc.limit, func(e CatalogEntry) error {
			if string(e.Value) != "eu-west-1/"+e.Name {
				return fmt.Errorf("value %q for %q", e.Value, e.Name)
			}
			got = append(got, e.Name)
			return nil
		})
		if err != nil {
			t.Fatalf("ListCatalog(%q, %q, %d): %v", tc.prefix, tc.after, tc.limit, err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("ListCatalog(%q, %q, %d) = %q, want %q", tc.prefix, tc.after, tc.limit, got, tc.want)
		}
	}
	n, err := DecodeCatalogKey(CatalogKey(nil, CatalogName{Kind: 7, Account: "a\x00", Region: "r", Name: "n"}))
	if err != nil || n != (CatalogName{Kind: 7, Account: "a\x00", Region: "r", Name: "n"}) {
		t.Fatalf("DecodeCatalogKey: %+v %v", n, err)
	}
	if _, err := DecodeCatalogKey(SeqKey(nil, 1, SpaceUserMin, 1)); !errors.Is(err, ErrKeyMalformed) {
		t.Fatalf("DecodeCatalogKey of a seq key: %v", err)
	}
}

// TestDedup checks dedup ids: visible until expiry, scoped, replaceable, and
// ExpireDedup removes exactly the expired ones (not one re-put with a later
// expiry) with cost bounded by limit.
func TestDedup(t *testing.T) {
	db := openTestDB(t, vfs.NewMem())
	defer closeTestDB(t, db)
	b := db.NewBatch()
	for i := range 10 {
		b.PutDedup(5, "", fmt.Sprintf("id-%d", i), int64(100+i), []byte{byte(i)})
	}
	b.PutDedup(5, "group", "id-0", 1000, []byte("g"))
	b.PutDedup(6, "", "id-0", 50, []byte("other entity"))
	if err := b.Commit(true); err != nil {
		t.Fatal(err)
	}
	b.Close()

	if v, ok, err := db.GetDedup(5, "", "id-3", 102); err != nil || !ok || v[0] != 3 {
		t.Fatalf("GetDedup before expiry: %v %v %v", v, ok, err)
	}
	if _, ok, _ := db.GetDedup(5, "", "id-3", 103); ok {
		t.Fatalf("GetDedup at expiry still found")
	}
	if v, ok, _ := db.GetDedup(5, "group", "id-0", 500); !ok || string(v) != "g" {
		t.Fatalf("scoped GetDedup: %q %v", v, ok)
	}
	// Extend id-1: its old expiry entry must not delete it.
	b = db.NewBatch()
	b.PutDedup(5, "", "id-1", 10_000, []byte("extended"))
	if err := b.Commit(true); err != nil {
		t.Fatal(err)
	}
	b.Close()

	removed, err := db.ExpireDedup(5, 105, 2, true)
	if err != nil || removed != 2 {
		t.Fatalf("ExpireDedup limit 2: removed=%d err=%v", removed, err)
	}
	removed, err = db.ExpireDedup(5, 105, 0, true)
	// Expiry entries at or before 105: id-0..id-5 (id-1's is its stale one).
	if err != nil || removed != 4 {
		t.Fatalf("ExpireDedup rest: removed=%d err=%v", removed, err)
	}
	if v, ok, _ := db.GetDedup(5, "", "id-1", 105); !ok || string(v) != "extended" {
		t.Fatalf("extended id lost: %q %v", v, ok)
	}
	for _, id := range []string{"id-0", "id-2", "id-4", "id-5"} {
		if _, ok, _ := db.GetDedup(5, "", id, 0); ok {
			t.Errorf("%s not removed", id)
		}
	}
	if _, ok, _ := db.GetDedup(5, "", "id-6", 0); !ok {
		t.Errorf("id-6 (expires 106) removed at 105")
	}
	if _, ok, _ := db.GetDedup(6, "", "id-0", 0); !ok {
		t.Errorf("other entity's id removed")
	}
}

// TestReopenKeepsSyncedWrites checks durability across a crash: writes
// committed with sync survive a CrashClone that drops all unsynced data.
func TestReopenKeepsSyncedWrites(t *testing.T) {
	fs := vfs.NewCrashableMem()
	db := openTestDB(t, fs)
	if err := db.Set(MetaKey(nil, "synced"), []byte("yes"), true); err != nil {
		t.Fatal(err)
	}
	crashed := fs.CrashClone(vfs.CrashCloneCfg{})
	closeTestDB(t, db)
	db = openTestDB(t, crashed)
	defer closeTestDB(t, db)
	if v, ok, err := db.Get(MetaKey(nil, "synced")); err != nil || !ok || string(v) != "yes" {
		t.Fatalf("synced write lost: %q %v %v", v, ok, err)
	}
}

// TestTimeSeqKeyOrder checks that TimeSeqKey orders by time then seq, and
// that TimeBound selects exactly the records due before a time.
func TestTimeSeqKeyOrder(t *testing.T) {
	db := openTestDB(t, vfs.NewMem())
	defer closeTestDB(t, db)
	space := SpaceUserMin + 1
	times := []int64{-5, 0, 7, 7, 100}
	for i, ts := range times {
		if err := db.Set(TimeSeqKey(nil, 9, space, ts, uint64(len(times)-i)), nil, false); err != nil {
			t.Fatal(err)
		}
	}
	keys := scanKeys(t, db, EntitySpacePrefix(nil, 9, space), TimeBound(nil, 9, space, 8))
	if len(keys) != 4 {
		t.Fatalf("due before 8: %d keys, want 4", len(keys))
	}
	var prev EntityKey
	for i, k := range keys {
		ek, err := DecodeTimeSeqKey(k)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && (ek.Time < prev.Time || (ek.Time == prev.Time && ek.Seq <= prev.Seq)) {
			t.Fatalf("out of order: %+v after %+v", ek, prev)
		}
		prev = ek
	}
}
