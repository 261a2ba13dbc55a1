package engine

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

func openMem(t *testing.T, fs vfs.FS) *DB {
	t.Helper()
	db, err := Open("data", &Options{FS: fs})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return db
}

// TestOpenTwiceLocked checks that a second Open of an open directory in the
// same process fails with ErrLocked naming the directory, and succeeds once
// the first DB is closed. Covers both the in-memory FS and the real disk.
func TestOpenTwiceLocked(t *testing.T) {
	for _, tc := range []struct {
		name string
		fs   vfs.FS
		dir  string
	}{
		{"mem", vfs.NewMem(), "data"},
		{"disk", vfs.Default, t.TempDir()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := Open(tc.dir, &Options{FS: tc.fs})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			_, err = Open(tc.dir, &Options{FS: tc.fs})
			if !errors.Is(err, ErrLocked) {
				t.Fatalf("second Open: got %v, want ErrLocked", err)
			}
			if !strings.Contains(err.Error(), tc.dir) {
				t.Errorf("error %q does not name the directory %q", err, tc.dir)
			}
			if err := db.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			db2, err := Open(tc.dir, &Options{FS: tc.fs})
			if err != nil {
				t.Fatalf("Open after Close: %v", err)
			}
			if err := db2.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
		})
	}
}

// TestCloseIdempotent checks that Close twice is fine and that operations
// after Close return ErrClosed.
func TestCloseIdempotent(t *testing.T) {
	db := openMem(t, vfs.NewMem())
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := db.enter(); !errors.Is(err, ErrClosed) {
		t.Fatalf("enter after Close: got %v, want ErrClosed", err)
	}
	if err := db.Reset(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Reset after Close: got %v, want ErrClosed", err)
	}
}
