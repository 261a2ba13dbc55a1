package segment

import (
	"errors"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// populateUnsupported is set once the kernel rejects MADV_POPULATE_READ
// (before Linux 5.14), so that readers stop asking.
var populateUnsupported atomic.Bool

// populate maps the pages of b (part of a mapping made by mmapFile,
// starting at a page boundary) into the process's page tables in one
// call, reading them into the page cache if needed, instead of one minor
// fault per few pages as a reader walks them. It is only a hint: errors
// leave the pages to be faulted in on access.
func populate(b []byte) {
	if len(b) == 0 || populateUnsupported.Load() {
		return
	}
	if err := unix.Madvise(b, unix.MADV_POPULATE_READ); errors.Is(err, unix.EINVAL) {
		populateUnsupported.Store(true)
	}
}
