package kbacklog

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long the child may take from exec to serving.
const startTimeout = 60 * time.Second

// buildSluice builds cmd/sluice from this working tree into a temporary
// directory and returns the binary's path.
func buildSluice(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sluice")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/sluice-dev/sluice/cmd/sluice")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/sluice: %v\n%s", err, out)
	}
	return bin
}

// server is a child `sluice serve` process.
type server struct {
	t       *testing.T
	cmd     *exec.Cmd
	addr    string
	exited  chan struct{} // closed once the process has been waited for
	waitErr error

	logMu sync.Mutex
	log   bytes.Buffer // the child's stderr
}

// startServer runs `sluice serve` on a free port of 127.0.0.1 with the
// given data directory and extra flags, and waits for its "serving" line.
// The process is killed at the end of the test if still running.
func startServer(t *testing.T, bin, dataDir string, args ...string) *server {
	t.Helper()
	s := &server{t: t, exited: make(chan struct{})}
	s.cmd = exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--data", dataDir}, args...)...)
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatalf("stderr pipe: %v", err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	})
	ready := make(chan string, 1)
	go func() {
		pattern := regexp.MustCompile(`msg="sluice: serving" addr=(\S+)`)
		r := bufio.NewReader(stderr)
		for {
			line, err := r.ReadString('\n')
			s.logMu.Lock()
			s.log.WriteString(line)
			s.logMu.Unlock()
			if m := pattern.FindStringSubmatch(line); m != nil {
				select {
				case ready <- m[1]:
				default:
				}
			}
			if err != nil {
				break
			}
		}
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case s.addr = <-ready:
	case <-s.exited:
		t.Fatalf("sluice serve exited before serving: %v\n%s", s.waitErr, s.logTail(40))
	case <-timer.C:
		t.Fatalf("sluice serve not serving after %s\n%s", startTimeout, s.logTail(40))
	}
	return s
}

// pid is the child's process id.
func (s *server) pid() int { return s.cmd.Process.Pid }

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop() error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("SIGTERM: %w", err)
	}
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case <-s.exited:
	case <-timer.C:
		_ = s.cmd.Process.Kill()
		<-s.exited
		return fmt.Errorf("sluice serve did not exit within %s of SIGTERM", startTimeout)
	}
	if s.waitErr != nil {
		return fmt.Errorf("sluice serve exited with %w", s.waitErr)
	}
	return nil
}

// logTail returns the last n lines the child wrote to stderr.
func (s *server) logTail(n int) string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	lines := strings.Split(strings.TrimRight(s.log.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

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
