package crash

// Generic harness for crash tests of a real `sluice serve` process: build
// the binary once per test binary, start it on 127.0.0.1 with a data
// directory, SIGKILL it, restart it on the same address and data
// directory, stop it cleanly. Nothing here knows a particular API; the
// service tests (sqs_crash_test.go, ...) bring their own clients.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
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

// startTimeout bounds how long a server may take from exec to serving
// (recovery included) on a loaded 2-core machine.
const startTimeout = 60 * time.Second

var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
)

func TestMain(m *testing.M) {
	// aws-sdk-go-v2 refuses to load its config with a custom HTTP client
	// while AWS_CA_BUNDLE is set.
	os.Unsetenv("AWS_CA_BUNDLE")
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// sluiceBinary builds cmd/sluice from this working tree once per test
// binary and returns its path.
func sluiceBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "sluice-crash-bin-")
		if buildErr != nil {
			return
		}
		buildBin = filepath.Join(buildDir, "sluice")
		cmd := exec.Command("go", "build", "-o", buildBin, "github.com/sluice-dev/sluice/cmd/sluice")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build cmd/sluice: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// ServerConfig describes a `sluice serve` process.
type ServerConfig struct {
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
	cfg    ServerConfig
	starts int

	logDir string // one log file per process start

	cmd     *exec.Cmd
	exited  chan struct{} // closed when cmd has been waited for
	waitErr error
	logPath string
}

// StartServer builds the binary if needed, starts it and waits until it
// serves. The process is killed at the end of the test if still running.
func StartServer(t testing.TB, cfg ServerConfig) *Server {
	t.Helper()
	if cfg.Dir == "" {
		t.Fatal("StartServer: ServerConfig.Dir is required")
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	s := &Server{t: t, bin: sluiceBinary(t), cfg: cfg, logDir: t.TempDir()}
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

// start runs one server process and waits for its "serving" log line,
// which carries the bound address.
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
		t.Fatalf("stderr pipe: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", s.bin, err)
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	ready := make(chan string, 1)
	go func() {
		// Copy the log to the file, watching for the serving line; the
		// pipe reaches EOF when the process exits.
		pattern := regexp.MustCompile(`msg="sluice: serving" addr=(\S+)`)
		r := bufio.NewReader(stderr)
		for {
			line, err := r.ReadString('\n')
			logFile.WriteString(line)
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
		s.waitErr = cmd.Wait()
		logFile.Close()
		close(s.exited)
	}()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case addr := <-ready:
		s.cfg.Addr = addr
	case <-s.exited:
		t.Fatalf("sluice serve (start %d) exited before serving: %v\n%s", s.starts, s.waitErr, s.LogTail(40))
	case <-timer.C:
		t.Fatalf("sluice serve (start %d) not serving after %s\n%s", s.starts, startTimeout, s.LogTail(40))
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
// within the shutdown timeout.
func (s *Server) Stop() {
	s.t.Helper()
	if !s.running() {
		return
	}
	s.signal(syscall.SIGTERM)
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case <-s.exited:
	case <-timer.C:
		s.signal(syscall.SIGKILL)
		<-s.exited
		s.t.Errorf("sluice serve did not exit within %s of SIGTERM\n%s", startTimeout, s.LogTail(40))
		return
	}
	if s.waitErr != nil {
		s.t.Errorf("sluice serve exited with %v after SIGTERM\n%s", s.waitErr, s.LogTail(40))
	}
}

// LogTail returns the last n lines of the current process's log.
func (s *Server) LogTail(n int) string {
	f, err := os.Open(s.logPath)
	if err != nil {
		return fmt.Sprintf("(no server log: %v)", err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return fmt.Sprintf("(reading server log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
