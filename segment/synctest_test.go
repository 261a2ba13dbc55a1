package segment

import (
	"sync"
	"testing"
	"testing/synctest"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestSynctestBubbleThenOutside checks that a Log used inside a
// testing/synctest bubble leaves nothing behind that another Log outside
// the bubble picks up: append requests and their done channels used to be
// recycled through a global sync.Pool, so a channel made in the bubble was
// received on outside it (a fatal error that kills the test binary).
func TestSynctestBubbleThenOutside(t *testing.T) {
	appendConcurrently := func(t *testing.T, l *Log) {
		t.Helper()
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 16 {
					if _, err := l.Append([]Entry{{Payload: []byte("x")}}); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		if got := l.NextSeq(); got != 8*16+1 {
			t.Errorf("NextSeq = %d, want %d", got, 8*16+1)
		}
	}
	for _, mode := range []SyncMode{SyncAlways, SyncNever} {
		synctest.Test(t, func(t *testing.T) {
			l, err := Open("bubble", &Options{FS: vfs.NewMem(), Sync: SyncPolicy{Mode: mode}})
			if err != nil {
				t.Fatal(err)
			}
			appendConcurrently(t, l)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
		})
		l, err := Open("outside", &Options{FS: vfs.NewMem(), Sync: SyncPolicy{Mode: mode}})
		if err != nil {
			t.Fatal(err)
		}
		appendConcurrently(t, l)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
