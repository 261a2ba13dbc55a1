package kbacklog

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// procStatus is the memory part of /proc/PID/status, in bytes.
type procStatus struct {
	vmRSS, rssAnon, rssFile, vmHWM int64
}

// parseStatus reads VmRSS, RssAnon, RssFile and VmHWM ("Name:  123 kB"
// lines) out of a /proc/PID/status image. Every one must be present.
func parseStatus(b []byte) (procStatus, error) {
	var p procStatus
	fields := map[string]*int64{"VmRSS": &p.vmRSS, "RssAnon": &p.rssAnon, "RssFile": &p.rssFile, "VmHWM": &p.vmHWM}
	seen := make(map[string]bool, len(fields))
	for line := range bytes.Lines(b) {
		name, rest, ok := bytes.Cut(line, []byte(":"))
		dst := fields[string(name)]
		if !ok || dst == nil {
			continue
		}
		parts := strings.Fields(string(rest))
		if len(parts) != 2 || parts[1] != "kB" {
			return procStatus{}, fmt.Errorf("status line %q: want \"%s: N kB\"", line, name)
		}
		kb, err := strconv.ParseInt(parts[0], 10, 64)
		if err != nil || kb < 0 || kb > 1<<40 {
			return procStatus{}, fmt.Errorf("status line %q: bad size", line)
		}
		*dst = kb << 10
		seen[string(name)] = true
	}
	if len(seen) != len(fields) {
		return procStatus{}, fmt.Errorf("status: %d of the %d memory fields present", len(seen), len(fields))
	}
	return p, nil
}

// readStatus samples /proc/pid/status.
func readStatus(pid int) (procStatus, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return procStatus{}, fmt.Errorf("reading status of %d: %w", pid, err)
	}
	return parseStatus(b)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func (p procStatus) String() string {
	return fmt.Sprintf("VmRSS %.0f MiB (anon %.0f, file %.0f), VmHWM %.0f MiB",
		mib(p.vmRSS), mib(p.rssAnon), mib(p.rssFile), mib(p.vmHWM))
}

// phasePeak is the largest of each field sampled during one phase.
type phasePeak struct {
	name    string
	samples int
	peak    procStatus
}

func (p *phasePeak) add(s procStatus) {
	p.samples++
	p.peak.vmRSS = max(p.peak.vmRSS, s.vmRSS)
	p.peak.rssAnon = max(p.peak.rssAnon, s.rssAnon)
	p.peak.rssFile = max(p.peak.rssFile, s.rssFile)
	p.peak.vmHWM = max(p.peak.vmHWM, s.vmHWM)
}

// sampler polls the child's memory every interval and keeps the peaks of
// the current phase.
type sampler struct {
	pid  int
	mu   sync.Mutex
	cur  *phasePeak
	done []*phasePeak
	err  error
	last procStatus
}

// run samples until ctx is done.
func (s *sampler) run(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		st, err := readStatus(s.pid)
		s.mu.Lock()
		if err != nil && s.err == nil {
			s.err = err
		}
		if err == nil {
			s.last = st
			if s.cur != nil {
				s.cur.add(st)
			}
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// phase ends the current phase (sampling it once more) and starts name.
func (s *sampler) phase(name string) {
	st, err := readStatus(s.pid)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil && s.err == nil {
		s.err = err
	}
	if s.cur != nil {
		if err == nil {
			s.cur.add(st)
		}
		s.done = append(s.done, s.cur)
	}
	s.cur = nil
	if name != "" {
		s.cur = &phasePeak{name: name}
		if err == nil {
			s.cur.add(st)
		}
	}
}

// phases returns the finished phases and the first sampling error.
func (s *sampler) phases() ([]*phasePeak, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done, s.err
}

// dirSize sums the sizes of the regular files under dir.
func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n += info.Size()
		return nil
	})
	return n, err
}
