package segment

import (
	"errors"
	"fmt"
	"io"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// readWholeFile reads a file into memory.
func readWholeFile(fs vfs.FS, path string) ([]byte, error) {
	f, err := fs.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	defer func() { _ = f.Close() }() // read-only handle
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	data := make([]byte, info.Size())
	if _, err := f.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return data, nil
}

// writeFileSynced creates path with contents b and syncs it.
func writeFileSynced(fs vfs.FS, path string, b []byte) error {
	f, err := fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	err = writeAndSync(f, b)
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	return err
}

// scanBytes scans a whole segment image held in memory.
func scanBytes(data []byte, h segmentHeader, indexIntervalBytes int64) scanResult {
	res, err := scanFrames(bytesImage(data), h, indexIntervalBytes)
	if err != nil {
		panic(err) // a byte image cannot fail to read
	}
	return res
}
