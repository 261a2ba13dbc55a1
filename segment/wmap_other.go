//go:build !linux

package segment

import "github.com/cockroachdb/pebble/v2/vfs"

// Mapped writes are Linux-only (madvise and mmap semantics checked there
// only); elsewhere every batch is one write call.

func mapForWrite(vfs.FS, vfs.File, int64) ([]byte, error) { return nil, nil }

func dropMappedPages([]byte) error { return nil }

func startWriteback(vfs.File, int64, int64) error { return nil }

func unmapWrite([]byte) error { return nil }
