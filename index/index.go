package index

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// ErrStop may be returned by a Scan callback to end the scan early without
// error.
var ErrStop = errors.New("index: stop scan")

// Options configures Open. The zero value is valid: every field has a default.
type Options struct {
	// FS is the filesystem pebble uses. Pass the same FS as the logs so that
	// one crashable in-memory FS covers both. Default: vfs.Default.
	FS vfs.FS
	// CacheSizeBytes is the size of pebble's block cache in bytes. The index
	// holds small metadata, so a small cache suffices. Default: 8 MiB.
	CacheSizeBytes int64
	// MemTableSizeBytes is the size of one pebble memtable in bytes; at most
	// MemTableStopWrites of them exist at once. Default: 16 MiB.
	MemTableSizeBytes uint64
	// MaxOpenFiles bounds the sstables pebble keeps open; the process also
	// needs descriptors for segment files. Default: 500.
	MaxOpenFiles int
	// Logger receives pebble's log output. Default: slog.Default().
	Logger *slog.Logger
}

const (
	defaultCacheSizeBytes    = 8 << 20
	defaultMemTableSizeBytes = 16 << 20
	defaultMaxOpenFiles      = 500
	memTableStopWrites       = 4
)

// EnsureDefaults fills zero fields with their defaults and returns o. A nil
// receiver yields a new Options.
func (o *Options) EnsureDefaults() *Options {
	if o == nil {
		o = &Options{}
	}
	if o.FS == nil {
		o.FS = vfs.Default
	}
	if o.CacheSizeBytes <= 0 {
		o.CacheSizeBytes = defaultCacheSizeBytes
	}
	if o.MemTableSizeBytes == 0 {
		o.MemTableSizeBytes = defaultMemTableSizeBytes
	}
	if o.MaxOpenFiles <= 0 {
		o.MaxOpenFiles = defaultMaxOpenFiles
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// DB is the index: a pebble database with typed helpers. It is safe for
// concurrent use. Values returned by Get are copies; values passed to Scan
// callbacks are borrowed (valid until the callback returns).
type DB struct {
	db  *pebble.DB
	dir string
}

// Open opens or creates the index in dir.
func Open(dir string, opts *Options) (*DB, error) {
	o := *opts.EnsureDefaults() // copy: never mutate the caller's struct
	cache := pebble.NewCache(o.CacheSizeBytes)
	defer cache.Unref() // pebble holds its own reference while open
	po := &pebble.Options{
		FS:                          o.FS,
		Cache:                       cache,
		MemTableSize:                o.MemTableSizeBytes,
		MemTableStopWritesThreshold: memTableStopWrites,
		MaxOpenFiles:                o.MaxOpenFiles,
		FormatMajorVersion:          pebble.FormatNewest,
		Logger:                      slogLogger{o.Logger},
	}
	db, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("index: open %s: %w", dir, err)
	}
	return &DB{db: db, dir: dir}, nil
}

// Close flushes nothing extra (the WAL already holds every committed write)
// and releases pebble. Calling any method after Close panics inside pebble,
// so the owner (engine) must stop all users first.
func (d *DB) Close() error {
	if err := d.db.Close(); err != nil {
		return fmt.Errorf("index: close %s: %w", d.dir, err)
	}
	return nil
}

// Get returns a copy of the value stored at key, or ok == false if absent.
func (d *DB) Get(key []byte) (value []byte, ok bool, err error) {
	v, closer, err := d.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("index: get: %w", err)
	}
	value = append(make([]byte, 0, len(v)), v...)
	if err := closer.Close(); err != nil {
		return nil, false, fmt.Errorf("index: get: %w", err)
	}
	return value, true, nil
}

// Set writes one key; sync makes it durable before returning.
func (d *DB) Set(key, value []byte, sync bool) error {
	if err := d.db.Set(key, value, writeOptions(sync)); err != nil {
		return fmt.Errorf("index: set: %w", err)
	}
	return nil
}

// DeletePrefix deletes every key starting with prefix using one range
// tombstone. An empty prefix deletes everything.
func (d *DB) DeletePrefix(prefix []byte, sync bool) error {
	b := d.NewBatch()
	defer b.Close()
	b.DeletePrefix(prefix)
	return b.Commit(sync)
}

// Flush forces the memtable to disk. Not needed for durability (the WAL
// provides it); useful in tests and before backups.
func (d *DB) Flush() error {
	if err := d.db.Flush(); err != nil {
		return fmt.Errorf("index: flush: %w", err)
	}
	return nil
}

func writeOptions(sync bool) *pebble.WriteOptions {
	if sync {
		return pebble.Sync
	}
	return pebble.NoSync
}

// maxKey is an upper bound above every key this package writes: every key
// starts with a keyspace byte below 0xFF.
var maxKey = []byte{0xFF}

// Batch is an atomic group of writes. It is not safe for concurrent use.
// Close it when done (after Commit or instead of it).
type Batch struct {
	b *pebble.Batch
}

// NewBatch returns an empty write batch.
func (d *DB) NewBatch() *Batch { return &Batch{b: d.db.NewBatch()} }

// Set adds a write of key → value. The batch copies both.
func (b *Batch) Set(key, value []byte) {
	// pebble.Batch.Set only fails on a closed/indexed-misuse batch, which is
	// a programming error; the error surfaces again at Commit.
	_ = b.b.Set(key, value, nil)
}

// Delete adds a deletion of key.
func (b *Batch) Delete(key []byte) { _ = b.b.Delete(key, nil) }

// DeleteRange adds a deletion of every key in [start, end).
func (b *Batch) DeleteRange(start, end []byte) { _ = b.b.DeleteRange(start, end, nil) }

// DeletePrefix adds a deletion of every key starting with prefix.
func (b *Batch) DeletePrefix(prefix []byte) {
	end := PrefixEnd(prefix)
	if end == nil {
		end = maxKey
	}
	b.DeleteRange(prefix, end)
}

// Len reports the number of operations in the batch.
func (b *Batch) Len() int { return int(b.b.Count()) }

// Empty reports whether the batch holds no operations.
func (b *Batch) Empty() bool { return b.b.Empty() }

// Commit applies the batch atomically; sync makes it durable before return.
func (b *Batch) Commit(sync bool) error {
	if err := b.b.Commit(writeOptions(sync)); err != nil {
		return fmt.Errorf("index: commit batch: %w", err)
	}
	return nil
}

// Reset empties the batch for reuse.
func (b *Batch) Reset() { b.b.Reset() }

// Close releases the batch. Safe to call after Commit.
func (b *Batch) Close() {
	// Close returns an error only for a double close, a programming error.
	_ = b.b.Close()
}

// Scan calls fn for every key in [lower, upper) in order. A nil upper means
// no upper bound. key and value are borrowed: valid only until fn returns.
// If fn returns ErrStop the scan ends without error; any other error is
// returned as is.
func (d *DB) Scan(lower, upper []byte, fn func(key, value []byte) error) error {
	it, err := d.NewIter(lower, upper)
	if err != nil {
		return err
	}
	err = it.each(fn)
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	return err
}

// ScanPrefix calls fn for every key starting with prefix (see Scan).
func (d *DB) ScanPrefix(prefix []byte, fn func(key, value []byte) error) error {
	return d.Scan(prefix, PrefixEnd(prefix), fn)
}

// Iter is a reusable iterator: reposition it with SetBounds (cheaper than a
// new iterator, as pebble keeps its buffers). Not safe for concurrent use;
// it sees the state of the DB when created (a consistent snapshot).
type Iter struct {
	it *pebble.Iterator
}

// NewIter returns an iterator over [lower, upper); nil upper means no upper
// bound. The bounds are copied.
func (d *DB) NewIter(lower, upper []byte) (*Iter, error) {
	it, err := d.db.NewIter(&pebble.IterOptions{
		LowerBound: cloneBytes(lower),
		UpperBound: cloneBytes(upper),
	})
	if err != nil {
		return nil, fmt.Errorf("index: new iterator: %w", err)
	}
	return &Iter{it: it}, nil
}

// SetBounds changes the iterator's bounds (copied) and unpositions it; call
// First or SeekGE next.
func (it *Iter) SetBounds(lower, upper []byte) {
	it.it.SetBounds(cloneBytes(lower), cloneBytes(upper))
}

// First positions at the first key within bounds; false if none.
func (it *Iter) First() bool { return it.it.First() }

// SeekGE positions at the first key >= key within bounds; false if none.
func (it *Iter) SeekGE(key []byte) bool { return it.it.SeekGE(key) }

// Next advances; false at the end.
func (it *Iter) Next() bool { return it.it.Next() }

// Valid reports whether the iterator is positioned at a key.
func (it *Iter) Valid() bool { return it.it.Valid() }

// Key returns the current key, borrowed until the next move.
func (it *Iter) Key() []byte { return it.it.Key() }

// Value returns the current value, borrowed until the next move.
func (it *Iter) Value() ([]byte, error) {
	v, err := it.it.ValueAndErr()
	if err != nil {
		return nil, fmt.Errorf("index: iterator value: %w", err)
	}
	return v, nil
}

// Error returns an iteration error, if any.
func (it *Iter) Error() error {
	if err := it.it.Error(); err != nil {
		return fmt.Errorf("index: iterate: %w", err)
	}
	return nil
}

// Close releases the iterator.
func (it *Iter) Close() error {
	if err := it.it.Close(); err != nil {
		return fmt.Errorf("index: close iterator: %w", err)
	}
	return nil
}

// each runs fn over every key from First within the bounds.
func (it *Iter) each(fn func(key, value []byte) error) error {
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.Value()
		if err != nil {
			return err
		}
		if err := fn(it.Key(), v); err != nil {
			if errors.Is(err, ErrStop) {
				return nil
			}
			return err
		}
	}
	return it.Error()
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}

// slogLogger adapts slog to pebble's Logger.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Infof(format string, args ...any) {
	s.l.Debug(fmt.Sprintf(format, args...), "component", "pebble") // pebble logs every flush and compaction at info
}

func (s slogLogger) Errorf(format string, args ...any) {
	s.l.Error(fmt.Sprintf(format, args...), "component", "pebble")
}

// Fatalf is called by pebble on an unrecoverable internal invariant
// violation; pebble expects it not to return.
func (s slogLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.l.Error(msg, "component", "pebble", "fatal", true)
	panic("BUG: pebble fatal: " + msg)
}
