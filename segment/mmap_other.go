//go:build !unix

package segment

import "github.com/cockroachdb/pebble/v2/vfs"

// mmapFile never maps on this platform; readers use ReadAt.
func mmapFile(vfs.File, int64) ([]byte, error) { return nil, nil }

// munmap is never called with a mapping on this platform.
func munmap([]byte) error { return nil }

// dropResident is never called with a mapping on this platform.
func dropResident([]byte) error { return nil }
