//go:build linux

// Command diskprobe measures this machine's raw storage speed in a
// temporary directory, as the yardstick for segment/ benchmarks:
//
//   - buffered sequential write bandwidth with fdatasync (every SyncEvery
//     bytes and at the end), the ceiling for large group-committed batches;
//   - the same with O_DIRECT, if the filesystem supports it;
//   - the single-threaded write(4 KiB)+fdatasync rate and its p50/p99
//     latency, the ceiling for one synchronous appender;
//   - the same into a file first filled with zeros and synced, so that no
//     sync changes the file size or allocates blocks (what segment/'s
//     preallocation gets), with 1, 4 and 64 KiB writes, and the process's
//     CPU time per write + fdatasync: the floor of what one group commit
//     costs a server under --fsync always on this machine; and 4 and 16
//     KiB durable overwrites by O_DSYNC, O_DIRECT + fdatasync and
//     O_DIRECT|O_DSYNC, to see whether any costs less CPU;
//   - with -pagecache-mib N, the CPU cost of buffered writes that grow the
//     page cache (new files, fresh pages) against the same writes over
//     pages already cached. On a VM whose balloon reports free memory to
//     the host (virtio-balloon free page reporting), a fresh page faults
//     in the host on first touch, and every byte a log appends pays it.
//
// Usage: go run ./bench/diskprobe [-dir /path] [-size-mib 256] [-syncs 2000] [-pagecache-mib 0]
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sluice-dev/sluice/internal/cputime"
)

func main() {
	dir := flag.String("dir", os.TempDir(), "directory on the filesystem to probe")
	sizeMiB := flag.Int("size-mib", 256, "MiB written by the bandwidth probes")
	chunkKiB := flag.Int("chunk-kib", 1024, "KiB per write(2) in the bandwidth probes")
	syncEveryMiB := flag.Int("sync-every-mib", 16, "MiB between fdatasyncs in the buffered probe")
	syncs := flag.Int("syncs", 2000, "iterations of the write(4 KiB)+fdatasync probe")
	pageCacheMiB := flag.Int("pagecache-mib", 0, "MiB of new page cache the page-cache probe writes (0: skip it)")
	flag.Parse()
	if err := run(*dir, int64(*sizeMiB)<<20, *chunkKiB<<10, int64(*syncEveryMiB)<<20, *syncs); err != nil {
		fmt.Fprintln(os.Stderr, "diskprobe:", err)
		os.Exit(1)
	}
	if *pageCacheMiB <= 0 {
		return
	}
	if err := pageCache(*dir, int64(*pageCacheMiB)<<20); err != nil {
		fmt.Fprintln(os.Stderr, "diskprobe:", err)
		os.Exit(1)
	}
}

func run(dir string, size int64, chunk int, syncEvery int64, syncs int) error {
	tmp, err := os.MkdirTemp(dir, "diskprobe-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	fmt.Printf("dir=%s size=%dMiB chunk=%dKiB\n", tmp, size>>20, chunk>>10)
	mbps, err := bufferedWrite(filepath.Join(tmp, "buffered"), size, chunk, syncEvery)
	if err != nil {
		return fmt.Errorf("buffered write: %w", err)
	}
	fmt.Printf("buffered_write_fdatasync_MBps=%.0f (fdatasync every %dMiB)\n", mbps, syncEvery>>20)
	mbps, err = directWrite(filepath.Join(tmp, "direct"), size, chunk)
	switch {
	case errors.Is(err, syscall.EINVAL):
		fmt.Println("direct_write_MBps=unsupported (O_DIRECT rejected by the filesystem)")
	case err != nil:
		return fmt.Errorf("O_DIRECT write: %w", err)
	default:
		fmt.Printf("direct_write_fdatasync_MBps=%.0f\n", mbps)
	}
	rate, p50, p99, err := syncLoop(filepath.Join(tmp, "syncs"), syncs)
	if err != nil {
		return fmt.Errorf("sync loop: %w", err)
	}
	fmt.Printf("write4k_fdatasync_per_sec=%.0f p50_us=%.0f p99_us=%.0f (n=%d)\n",
		rate, p50.Seconds()*1e6, p99.Seconds()*1e6, syncs)
	for _, kib := range []int{1, 4, 64} {
		rate, p50, p99, cpu, err := overwriteLoop(filepath.Join(tmp, "prealloc"), syncs, kib<<10, durableWrites[0])
		if err != nil {
			return fmt.Errorf("preallocated sync loop: %w", err)
		}
		fmt.Printf("prealloc_write%dk_fdatasync_per_sec=%.0f p50_us=%.0f p99_us=%.0f cpu_us_per_sync=%.1f (n=%d)\n",
			kib, rate, p50.Seconds()*1e6, p99.Seconds()*1e6, cpu.Seconds()*1e6, syncs)
	}
	// The same 4 and 16 KiB durable overwrites by the other ways Linux
	// offers: is any cheaper in CPU than write + fdatasync?
	for _, w := range durableWrites {
		for _, kib := range []int{4, 16} {
			rate, p50, p99, cpu, err := overwriteLoop(filepath.Join(tmp, "prealloc"), syncs, kib<<10, w)
			switch {
			case errors.Is(err, syscall.EINVAL):
				fmt.Printf("prealloc_%s_%dk=unsupported\n", w.name, kib)
				continue
			case err != nil:
				return fmt.Errorf("preallocated %s loop: %w", w.name, err)
			}
			fmt.Printf("prealloc_%s_%dk_per_sec=%.0f p50_us=%.0f p99_us=%.0f cpu_us_per_write=%.1f (n=%d)\n",
				w.name, kib, rate, p50.Seconds()*1e6, p99.Seconds()*1e6, cpu.Seconds()*1e6, syncs)
		}
	}
	return nil
}

// durableWrite is one way to make a write durable before it returns: the
// flags the file is opened with and whether an fdatasync follows.
type durableWrite struct {
	name      string
	flags     int
	fdatasync bool
}

var durableWrites = []durableWrite{
	{"write_fdatasync", 0, true},
	{"write_odsync", syscall.O_DSYNC, false},
	{"odirect_fdatasync", syscall.O_DIRECT, true},
	{"odirect_odsync", syscall.O_DIRECT | syscall.O_DSYNC, false},
}

// overwriteLoop fills a file with n×size zeros and syncs it, then writes
// size bytes over it in order durably as w says (by default write +
// fdatasync), n times, from one goroutine. It returns the rate, the p50
// and p99 latency of one durable write and the process's CPU time (user +
// system) per durable write.
func overwriteLoop(path string, n, size int, w durableWrite) (rate float64, p50, p99, cpu time.Duration, err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	defer func() { _ = f.Close() }()
	zeros := make([]byte, 1<<20)
	for off := int64(0); off < int64(n*size); off += int64(len(zeros)) {
		if _, err := f.WriteAt(zeros, off); err != nil {
			return 0, 0, 0, 0, err
		}
	}
	if err := f.Sync(); err != nil {
		return 0, 0, 0, 0, err
	}
	if w.flags != 0 {
		_ = f.Close()
		if f, err = os.OpenFile(path, os.O_WRONLY|w.flags, 0); err != nil {
			return 0, 0, 0, 0, err
		}
	}
	buf := alignedBuffer(size, 4096)
	fill(buf)
	latencies := make([]time.Duration, n)
	cpu0, _ := cputime.Self()
	start := time.Now()
	for i := range latencies {
		t0 := time.Now()
		if _, err := f.WriteAt(buf, int64(i*size)); err != nil {
			return 0, 0, 0, 0, err
		}
		if w.fdatasync {
			if err := unix.Fdatasync(int(f.Fd())); err != nil {
				return 0, 0, 0, 0, err
			}
		}
		latencies[i] = time.Since(t0)
	}
	rate = float64(n) / time.Since(start).Seconds()
	if cpu1, ok := cputime.Self(); ok {
		cpu = (cpu1 - cpu0) / time.Duration(n)
	}
	slices.Sort(latencies)
	return rate, latencies[n/2], latencies[n*99/100], cpu, os.Remove(path)
}

// bufferedWrite writes size bytes in chunk-sized writes through the page
// cache, fdatasyncing every syncEvery bytes and at the end.
func bufferedWrite(path string, size int64, chunk int, syncEvery int64) (float64, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }()
	buf := make([]byte, chunk)
	fill(buf)
	start := time.Now()
	var sinceSync int64
	for written := int64(0); written < size; written += int64(chunk) {
		if _, err := f.Write(buf); err != nil {
			return 0, err
		}
		if sinceSync += int64(chunk); sinceSync >= syncEvery {
			if err := unix.Fdatasync(int(f.Fd())); err != nil {
				return 0, err
			}
			sinceSync = 0
		}
	}
	if err := unix.Fdatasync(int(f.Fd())); err != nil {
		return 0, err
	}
	return float64(size) / time.Since(start).Seconds() / 1e6, nil
}

// directWrite writes size bytes with O_DIRECT from an aligned buffer.
func directWrite(path string, size int64, chunk int) (float64, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC|syscall.O_DIRECT, 0o644)
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }()
	buf := alignedBuffer(chunk, 4096)
	fill(buf)
	start := time.Now()
	for written := int64(0); written < size; written += int64(chunk) {
		if _, err := f.Write(buf); err != nil {
			return 0, err
		}
	}
	if err := unix.Fdatasync(int(f.Fd())); err != nil {
		return 0, err
	}
	return float64(size) / time.Since(start).Seconds() / 1e6, nil
}

// syncLoop appends 4 KiB and fdatasyncs, n times, from one goroutine.
func syncLoop(path string, n int) (float64, time.Duration, time.Duration, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, 0, 0, err
	}
	defer func() { _ = f.Close() }()
	buf := make([]byte, 4096)
	fill(buf)
	latencies := make([]time.Duration, n)
	start := time.Now()
	for i := range latencies {
		t0 := time.Now()
		if _, err := f.Write(buf); err != nil {
			return 0, 0, 0, err
		}
		if err := unix.Fdatasync(int(f.Fd())); err != nil {
			return 0, 0, 0, err
		}
		latencies[i] = time.Since(t0)
	}
	rate := float64(n) / time.Since(start).Seconds()
	slices.Sort(latencies)
	return rate, latencies[n/2], latencies[n*99/100], nil
}

// alignedBuffer returns a size-byte slice whose start is aligned to align.
func alignedBuffer(size, align int) []byte {
	raw := make([]byte, size+align)
	shift := (align - int(uintptr(unsafe.Pointer(&raw[0]))%uintptr(align))) % align
	return raw[shift : shift+size]
}

// fill writes a non-compressible-looking pattern.
func fill(b []byte) {
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
}

// pageCache writes size bytes of new files in 64 KiB writes (each page
// fresh to the page cache), then the same bytes again over the cached
// pages, and prints the process CPU time per MiB of each pass. The files
// are written in 256 MiB pieces so that the first piece can be told apart:
// it often reuses pages just freed (by the probes before it), which cost
// what cached pages do. Nothing is synced; the files are removed after.
func pageCache(dir string, size int64) error {
	tmp, err := os.MkdirTemp(dir, "diskprobe-pagecache-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	buf := make([]byte, 64<<10)
	fill(buf)
	const piece = 256 << 20
	var files []*os.File
	defer func() {
		for _, f := range files {
			_ = f.Close()
		}
	}()
	pass := func(label string, create bool) error {
		var perPiece []float64
		for i, off := 0, int64(0); off < size; i, off = i+1, off+piece {
			n := min(piece, size-off)
			if create {
				f, err := os.Create(filepath.Join(tmp, fmt.Sprintf("piece-%d", i)))
				if err != nil {
					return err
				}
				files = append(files, f)
			}
			start, ok := cputime.Self()
			if !ok {
				return errors.New("no process CPU time on this platform")
			}
			for at := int64(0); at < n; at += int64(len(buf)) {
				if _, err := files[i].WriteAt(buf[:min(int64(len(buf)), n-at)], at); err != nil {
					return err
				}
			}
			end, _ := cputime.Self()
			perPiece = append(perPiece, float64((end-start).Microseconds())/float64(n>>20))
		}
		sorted := slices.Clone(perPiece)
		slices.Sort(sorted)
		fmt.Printf("pagecache_%s_cpu_us_per_MiB=%.0f (median of %d pieces of 256 MiB; per piece", label, sorted[len(sorted)/2], len(perPiece))
		for _, v := range perPiece {
			fmt.Printf(" %.0f", v)
		}
		fmt.Println(")")
		return nil
	}
	if err := pass("fresh", true); err != nil {
		return fmt.Errorf("page cache probe: %w", err)
	}
	if err := pass("cached", false); err != nil {
		return fmt.Errorf("page cache probe: %w", err)
	}
	return nil
}
