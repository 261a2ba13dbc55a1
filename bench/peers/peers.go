// Package peers starts and stops the reference servers that Sluice is
// benchmarked against, on loopback, as background processes:
//
//	noop        the bench/noop ceiling server (SQS + Kinesis), run as
//	            `<sluice> bench noop --listen ADDR`
//	moto        moto_server (SQS JSON+query, Kinesis), from pip
//	goaws       goaws v0.4.5 (SQS query protocol only), `go install`ed
//	kinesalite  kinesalite 3.3.3 (Kinesis), `npm install`ed
//
// Tools are installed into a local directory when missing (never assumed
// present): goaws into Dir/bin with GOBIN, kinesalite into Dir/node, moto
// with pip --user if moto_server is not on PATH. Each running peer has a
// PID file and a log in Dir/peers/.
package peers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Pinned versions of the peers.
const (
	GoawsModule       = "github.com/Admiral-Piett/goaws/app/cmd@v0.4.5"
	KinesalitePackage = "kinesalite@3.3.3"
	MotoPackage       = "moto[server]"
)

// Timeouts.
const (
	readyTimeout   = 60 * time.Second
	stopTimeout    = 10 * time.Second
	installTimeout = 10 * time.Minute
)

// ErrUnknownPeer reports a peer name that is not defined.
var ErrUnknownPeer = errors.New("peers: unknown peer")

// Peer describes one reference server.
type Peer struct {
	Name     string
	Port     int
	Services []string // "sqs", "kinesis"
	// Protocols lists the SQS protocols it speaks ("json", "query").
	Protocols []string
	// Lacks lists operations of its services that it does not implement
	// and that some scenario needs (see bench.Scenario.Needs).
	Lacks []string
}

// All lists the peers with their default loopback ports.
var All = []Peer{
	// The no-op server answers only the calls the scenarios' basics make.
	{Name: "noop", Port: 4601, Services: []string{"sqs", "kinesis"}, Protocols: []string{"json", "query"},
		Lacks: []string{"RegisterStreamConsumer", "DescribeStreamConsumer", "SubscribeToShard"}},
	// moto 5.x registers stream consumers, but SubscribeToShard raises
	// NotImplementedError (an HTML 500).
	{Name: "moto", Port: 4602, Services: []string{"sqs", "kinesis"}, Protocols: []string{"json", "query"},
		Lacks: []string{"SubscribeToShard"}},
	{Name: "goaws", Port: 4603, Services: []string{"sqs"}, Protocols: []string{"query"}},
	// kinesalite 3.3.3 predates enhanced fan-out: no stream consumers.
	{Name: "kinesalite", Port: 4604, Services: []string{"kinesis"},
		Lacks: []string{"RegisterStreamConsumer", "DescribeStreamConsumer", "SubscribeToShard"}},
}

// Lookup finds a peer by name.
func Lookup(name string) (Peer, bool) {
	for _, p := range All {
		if p.Name == name {
			return p, true
		}
	}
	return Peer{}, false
}

// Serves reports whether the peer implements service (and, for SQS, the
// protocol).
func (p Peer) Serves(service, protocol string) bool {
	for _, s := range p.Services {
		if s != service {
			continue
		}
		if service != "sqs" {
			return true
		}
		for _, proto := range p.Protocols {
			if proto == protocol {
				return true
			}
		}
	}
	return false
}

// Manager runs peers from a state directory.
type Manager struct {
	// Dir holds tools (bin/, node/) and state (peers/). Default: ./.cache.
	Dir string
	// Sluice is the sluice binary that serves the noop peer. Default: this
	// executable.
	Sluice string
	// Host is the address peers bind to. Default: 127.0.0.1.
	Host string
	// Log receives progress lines (installs). Optional.
	Log func(format string, args ...any)
}

// Status is one peer's state.
type Status struct {
	Peer     Peer
	Endpoint string
	PID      int
	Running  bool
	LogFile  string
}

func (m *Manager) defaults() {
	if m.Dir == "" {
		m.Dir = ".cache"
	}
	if abs, err := filepath.Abs(m.Dir); err == nil {
		m.Dir = abs
	}
	if m.Host == "" {
		m.Host = "127.0.0.1"
	}
	if m.Sluice == "" {
		if self, err := os.Executable(); err == nil {
			m.Sluice = self
		}
	}
	if m.Log == nil {
		m.Log = func(string, ...any) {}
	}
}

func (m *Manager) stateDir() string      { return filepath.Join(m.Dir, "peers") }
func (m *Manager) pidFile(p Peer) string { return filepath.Join(m.stateDir(), p.Name+".pid") }
func (m *Manager) logFile(p Peer) string { return filepath.Join(m.stateDir(), p.Name+".log") }
func (m *Manager) endpoint(p Peer) string {
	return "http://" + net.JoinHostPort(m.Host, strconv.Itoa(p.Port))
}

// Statuses reports every named peer (all when names is empty).
func (m *Manager) Statuses(names []string) ([]Status, error) {
	m.defaults()
	peers, err := resolve(names)
	if err != nil {
		return nil, err
	}
	var out []Status
	for _, p := range peers {
		out = append(out, m.status(p))
	}
	return out, nil
}

func (m *Manager) status(p Peer) Status {
	s := Status{Peer: p, Endpoint: m.endpoint(p), LogFile: m.logFile(p)}
	data, err := os.ReadFile(m.pidFile(p))
	if err != nil {
		return s
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return s
	}
	s.PID = pid
	s.Running = alive(pid)
	return s
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	if !signalable(pid) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true // no /proc: trust kill(0)
	}
	end := strings.LastIndexByte(string(stat), ')')
	return end < 0 || end+2 >= len(stat) || stat[end+2] != 'Z'
}

func resolve(names []string) ([]Peer, error) {
	if len(names) == 0 {
		return All, nil
	}
	var out []Peer
	for _, n := range names {
		p, ok := Lookup(n)
		if !ok {
			return nil, fmt.Errorf("%w: %q (have noop, moto, goaws, kinesalite)", ErrUnknownPeer, n)
		}
		out = append(out, p)
	}
	return out, nil
}

// Start installs (if needed) and starts the named peers (all when empty),
// waiting until each accepts connections. Already running peers are left
// alone.
func (m *Manager) Start(ctx context.Context, names []string) ([]Status, error) {
	m.defaults()
	peers, err := resolve(names)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(m.stateDir(), 0o755); err != nil {
		return nil, fmt.Errorf("peers: %w", err)
	}
	var out []Status
	for _, p := range peers {
		if s := m.status(p); s.Running {
			out = append(out, s)
			continue
		}
		argv, err := m.command(ctx, p)
		if err != nil {
			return out, err
		}
		s, err := m.launch(ctx, p, argv)
		if err != nil {
			return out, err
		}
		out = append(out, s)
	}
	return out, nil
}

// command returns the argv that runs p, installing its tool when missing.
func (m *Manager) command(ctx context.Context, p Peer) ([]string, error) {
	port := strconv.Itoa(p.Port)
	switch p.Name {
	case "noop":
		if m.Sluice == "" {
			return nil, errors.New("peers: no sluice binary to run the noop peer")
		}
		return []string{m.Sluice, "bench", "noop", "--listen", net.JoinHostPort(m.Host, port)}, nil
	case "moto":
		bin, err := m.ensureMoto(ctx)
		if err != nil {
			return nil, err
		}
		return []string{bin, "-H", m.Host, "-p", port}, nil
	case "goaws":
		bin, err := m.ensureGoaws(ctx)
		if err != nil {
			return nil, err
		}
		config := filepath.Join(m.stateDir(), "goaws.yaml")
		// goaws binds 0.0.0.0 whatever the config says; only loopback
		// clients use it here.
		yaml := "Local:\n  Host: " + m.Host + "\n  Port: " + port + "\n  Region: us-east-1\n  AccountId: \"000000000000\"\n" +
			"  LogToFile: false\n  EnableDuplicates: false\n  QueueAttributeDefaults:\n    VisibilityTimeout: 30\n" +
			"    ReceiveMessageWaitTimeSeconds: 0\n    MaximumMessageSize: 262144\n  Queues: []\n  Topics: []\n"
		if err := os.WriteFile(config, []byte(yaml), 0o644); err != nil {
			return nil, fmt.Errorf("peers: goaws config: %w", err)
		}
		return []string{bin, "-config", config, "Local"}, nil
	case "kinesalite":
		script, err := m.ensureKinesalite(ctx)
		if err != nil {
			return nil, err
		}
		node, err := exec.LookPath("node")
		if err != nil {
			return nil, fmt.Errorf("peers: kinesalite needs node: %w", err)
		}
		return []string{node, script, "--port", port, "--createStreamMs", "0", "--deleteStreamMs", "0",
			"--updateStreamMs", "0", "--shardLimit", "1000"}, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownPeer, p.Name)
}

func (m *Manager) run(ctx context.Context, env []string, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, installTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("peers: %s %s: %w\n%s", name, strings.Join(args, " "), err, lastLines(string(out), 20))
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (m *Manager) ensureMoto(ctx context.Context) (string, error) {
	if bin, err := exec.LookPath("moto_server"); err == nil {
		return bin, nil
	}
	m.Log("installing %s with pip", MotoPackage)
	python, err := exec.LookPath("python3")
	if err != nil {
		return "", fmt.Errorf("peers: moto needs python3: %w", err)
	}
	if err := m.run(ctx, nil, python, "-m", "pip", "install", "--user", MotoPackage); err != nil {
		return "", err
	}
	if bin, err := exec.LookPath("moto_server"); err == nil {
		return bin, nil
	}
	home, _ := os.UserHomeDir()
	bin := filepath.Join(home, ".local", "bin", "moto_server")
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("peers: moto_server not found after install: %w", err)
	}
	return bin, nil
}

func (m *Manager) ensureGoaws(ctx context.Context) (string, error) {
	binDir := filepath.Join(m.Dir, "bin")
	bin := filepath.Join(binDir, "cmd") // goaws' main package is named cmd
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	m.Log("installing %s into %s", GoawsModule, binDir)
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("peers: goaws needs the go tool: %w", err)
	}
	// Outside the sluice module so its go.mod is neither read nor changed.
	if err := m.run(ctx, []string{"GOBIN=" + binDir, "GOFLAGS=-mod=mod", "GOWORK=off"}, goBin, "install", GoawsModule); err != nil {
		return "", err
	}
	return bin, nil
}

func (m *Manager) ensureKinesalite(ctx context.Context) (string, error) {
	prefix := filepath.Join(m.Dir, "node")
	script := filepath.Join(prefix, "node_modules", "kinesalite", "cli.js")
	if _, err := os.Stat(script); err == nil {
		return script, nil
	}
	m.Log("installing %s into %s", KinesalitePackage, prefix)
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("peers: kinesalite needs npm: %w", err)
	}
	if err := os.MkdirAll(prefix, 0o755); err != nil {
		return "", fmt.Errorf("peers: %w", err)
	}
	if err := m.run(ctx, nil, npm, "install", "--no-audit", "--no-fund", "--prefix", prefix, KinesalitePackage); err != nil {
		return "", err
	}
	return script, nil
}

// launch starts argv detached (own process group, output to the log file),
// records its PID and waits until the port accepts connections.
func (m *Manager) launch(ctx context.Context, p Peer, argv []string) (Status, error) {
	logFile, err := os.OpenFile(m.logFile(p), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return Status{}, fmt.Errorf("peers: %w", err)
	}
	defer func() { _ = logFile.Close() }()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = m.stateDir()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = ownProcessGroup()
	if err := cmd.Start(); err != nil {
		return Status{}, fmt.Errorf("peers: start %s: %w", p.Name, err)
	}
	pid := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	if err := os.WriteFile(m.pidFile(p), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		_ = cmd.Process.Kill()
		return Status{}, fmt.Errorf("peers: %w", err)
	}
	addr := net.JoinHostPort(m.Host, strconv.Itoa(p.Port))
	deadline := time.NewTimer(readyTimeout)
	defer deadline.Stop()
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	for {
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = conn.Close()
			// The child now outlives this process; the PID file is how
			// Stop finds it.
			return m.status(p), nil
		}
		select {
		case err := <-exited:
			_ = os.Remove(m.pidFile(p))
			log, _ := os.ReadFile(m.logFile(p))
			return Status{}, fmt.Errorf("peers: %s exited during startup (%v):\n%s", p.Name, err, lastLines(string(log), 20))
		case <-deadline.C:
			_ = cmd.Process.Kill()
			return Status{}, fmt.Errorf("peers: %s not listening on %s after %s", p.Name, addr, readyTimeout)
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			return Status{}, ctx.Err()
		case <-poll.C:
		}
	}
}

// Stop terminates the named peers (all when empty) by the PID in their PID
// file: SIGTERM, then SIGKILL after a timeout.
func (m *Manager) Stop(names []string) error {
	m.defaults()
	peers, err := resolve(names)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range peers {
		s := m.status(p)
		if s.PID > 0 && s.Running {
			if err := terminate(s.PID); err != nil {
				errs = append(errs, fmt.Errorf("peers: stop %s (pid %d): %w", p.Name, s.PID, err))
				continue
			}
		}
		if err := os.Remove(m.pidFile(p)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("peers: %w", err))
		}
	}
	return errors.Join(errs...)
}

func terminate(pid int) error {
	if err := askToStop(pid); err != nil {
		return err
	}
	deadline := time.Now().Add(stopTimeout)
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	for range poll.C {
		if !alive(pid) {
			return nil
		}
		if time.Now().After(deadline) {
			return forceStop(pid)
		}
	}
	return nil
}
