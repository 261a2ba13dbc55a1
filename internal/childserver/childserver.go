// Package childserver runs a real `sluice serve` process for tests that
// must talk to the binary over the wire or kill it: it builds cmd/sluice
// from this working tree once per test binary, starts it on 127.0.0.1
// with a data directory, waits until it serves, and can SIGKILL it,
// restart it on the same address and data directory, or stop it with
// SIGTERM. Each process's stdout and stderr go to a log file of its own
// (LogTail). Nothing here knows a particular API; callers bring their own
// clients.
//
// A test package that uses it runs its tests through Run, so that the
// built binary is removed afterwards:
//
//	func TestMain(m *testing.M) { os.Exit(childserver.Run(m)) }
package childserver

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// StartTimeout bounds how long a server may take from exec to serving
// (recovery included) on a loaded 2-core machine, and how long it may take
// to exit after SIGTERM.
const StartTimeout = 60 * time.Second

// servingLine is the log line `sluice serve` writes once it accepts
// connections; it carries the bound address.
var servingLine = regexp.MustCompile(`msg="sluice: serving" addr=(\S+)`)

var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
)

// Run runs the tests of m and then removes the binary built for them, if
// any. It returns m.Run's exit code, for os.Exit in TestMain.
func Run(m *testing.M) int {
	code := m.Run()
	if buildDir != "" {
		if err := os.RemoveAll(buildDir); err != nil {
			fmt.Fprintf(os.Stderr, "childserver: removing %s: %v\n", buildDir, err)
		}
	}
	return code
}

// binary builds cmd/sluice from this working tree once per test binary
// and returns its path.
func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "sluice-childserver-bin-")
		if buildErr != nil {
			buildErr = fmt.Errorf("childserver: build directory: %w", buildErr)
			return
		}
		buildBin = filepath.Join(buildDir, "sluice")
		cmd := exec.Command("go", "build", "-o", buildBin, "github.com/sluice-dev/sluice/cmd/sluice")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("childserver: go build cmd/sluice: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// Config describes a `sluice serve` process.
type Config struct {
	// Dir is the data directory (--data). Required.
	Dir string
	// Addr is the listen address; "" picks a free port on 127.0.0.1 on the
	// first start and keeps it for restarts.
	Addr string
	// Fsync is the --fsync policy; "" leaves the default (always).
	Fsync string
	// Args are extra serve flags.
	Args []string
}

// Server is a `sluice serve` child process that can be killed and
// restarted on the same address and data directory.
type Server struct {
	t      testing.TB
	bin    string
	cfg    Config
	starts int

	logDir string // one log file per process start

	cmd     *exec.Cmd
	exited  chan struct{} // closed when cmd has been waited for
	waitErr error
	logPath string
}

// Start builds the binary if needed, starts it and waits until it serves.
// The process is killed at the end of the test if still running.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.Dir == "" {
		t.Fatal("childserver.Start: Config.Dir is required")
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	cfg.Args = append([]string(nil), cfg.Args...)
	s := &Server{t: t, bin: binary(t), cfg: cfg, logDir: t.TempDir()}
	t.Cleanup(func() {
		if s.running() {
			s.signal(syscall.SIGKILL)
			<-s.exited
		}
	})
	s.start()
	return s
}

// Addr is the host:port the server listens on.
func (s *Server) Addr() string { return s.cfg.Addr }

// Endpoint is the server's base URL.
func (s *Server) Endpoint() string { return "http://" + s.cfg.Addr }

// Starts counts the processes started so far.
func (s *Server) Starts() int { return s.starts }

// PID is the process id of the current (or last) process.
func (s *Server) PID() int { return s.cmd.Process.Pid }

func (s *Server) running() bool {
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// start runs one server process and waits for its "serving" log line.
func (s *Server) start() {
	t := s.t
	t.Helper()
	s.starts++
	s.logPath = filepath.Join(s.logDir, fmt.Sprintf("server-%d.log", s.starts))
	logFile, err := os.Create(s.logPath)
	if err != nil {
		t.Fatalf("create server log: %v", err)
	}
	args := []string{"serve", "--addr", s.cfg.Addr, "--data", s.cfg.Dir}
	if s.cfg.Fsync != "" {
		args = append(args, "--fsync", s.cfg.Fsync)
	}
	args = append(args, s.cfg.Args...)
	cmd := exec.Command(s.bin, args...)
	cmd.Stdout = logFile
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logFile.Close()
		t.Fatalf("stderr pipe: %v", err)
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("start %s: %v", s.bin, err)
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	ready := make(chan string, 1)
	go func() {
		// Copy the log to the file, watching for the serving line; the
		// pipe reaches EOF when the process exits.
		r := bufio.NewReader(stderr)
		for {
			line, err := r.ReadString('\n')
			_, _ = logFile.WriteString(line) // best effort: the log only explains failures
			if m := servingLine.FindStringSubmatch(line); m != nil {
				select {
				case ready <- m[1]:
				default:
				}
			}
			if err != nil {
				break
			}
		}
		s.waitErr = cmd.Wait()
		logFile.Close()
		close(s.exited)
	}()
	timer := time.NewTimer(StartTimeout)
	defer timer.Stop()
	select {
	case addr := <-ready:
		s.cfg.Addr = addr
	case <-s.exited:
		t.Fatalf("sluice serve (start %d) exited before serving: %v\n%s", s.starts, s.waitErr, s.LogTail(40))
	case <-timer.C:
		t.Fatalf("sluice serve (start %d) not serving after %s\n%s", s.starts, StartTimeout, s.LogTail(40))
	}
}

func (s *Server) signal(sig syscall.Signal) {
	if err := s.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		s.t.Errorf("signal %v to sluice: %v", sig, err)
	}
}

// Kill SIGKILLs the server and waits until the process is gone.
func (s *Server) Kill() {
	s.t.Helper()
	if !s.running() {
		s.t.Fatalf("Kill: server not running (%v)\n%s", s.waitErr, s.LogTail(40))
	}
	s.signal(syscall.SIGKILL)
	<-s.exited
}

// Restart starts a new process on the same address and data directory.
// The previous one must have exited.
func (s *Server) Restart() {
	s.t.Helper()
	if s.running() {
		s.t.Fatal("Restart: the server is still running")
	}
	s.start()
}

// Stop sends SIGTERM and fails the test unless the server exits cleanly
// within StartTimeout (it is SIGKILLed after that).
func (s *Server) Stop() {
	s.t.Helper()
	if !s.running() {
		return
	}
	s.signal(syscall.SIGTERM)
	timer := time.NewTimer(StartTimeout)
	defer timer.Stop()
	select {
	case <-s.exited:
	case <-timer.C:
		s.signal(syscall.SIGKILL)
		<-s.exited
		s.t.Errorf("sluice serve did not exit within %s of SIGTERM\n%s", StartTimeout, s.LogTail(40))
		return
	}
	if s.waitErr != nil {
		s.t.Errorf("sluice serve exited with %v after SIGTERM\n%s", s.waitErr, s.LogTail(40))
	}
}

// LogTail returns the last n lines of the current process's log.
func (s *Server) LogTail(n int) string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return fmt.Sprintf("(no server log: %v)", err)
	}
	return lastLines(string(b), n)
}

// lastLines returns the last n lines of text, without the final newline.
func lastLines(text string, n int) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
