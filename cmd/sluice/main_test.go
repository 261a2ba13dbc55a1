package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeFlags checks flag and environment precedence (flag > SLUICE_*
// variable > default) and the rejection of bad values.
func TestServeFlags(t *testing.T) {
	env := map[string]string{"SLUICE_ADDR": "127.0.0.1:1", "SLUICE_FSYNC": "never", "SLUICE_ENABLE_RESET": "true", "SLUICE_ACCOUNT_ID": "111111111111"}
	getenv := func(k string) string { return env[k] }
	c, err := parseServeFlags([]string{"--addr", ":9", "--log-level", "debug"}, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := serveConfig{addr: ":9", dataDir: "./sluice-data", fsync: "never", logLevel: "debug", accountID: "111111111111", enableReset: true, kinesisLimits: "none", kinesisShardLimit: 20_000, steadySysmon: true}
	if c != want {
		t.Fatalf("got %+v, want %+v", c, want)
	}
	c, err = parseServeFlags(nil, func(string) string { return "" }, io.Discard)
	if err != nil || c.addr != ":4566" || c.fsync != "always" || c.enableReset || c.accountID != "000000000000" {
		t.Fatalf("defaults: %+v, %v", c, err)
	}
	if _, err := parseServeFlags(nil, onlyEnv("SLUICE_ENABLE_RESET", "maybe"), io.Discard); err == nil {
		t.Fatal("bad SLUICE_ENABLE_RESET accepted")
	}
	if _, err := parseServeFlags([]string{"--kinesis-limits", "strict"}, getenv, io.Discard); err == nil {
		t.Fatal("bad --kinesis-limits accepted")
	}
	if _, err := parseServeFlags([]string{"extra"}, getenv, io.Discard); err == nil {
		t.Fatal("positional argument accepted")
	}
	// --kinesis-transition-delay: flag over variable over 0; negative or
	// malformed values are refused.
	delayEnv := onlyEnv("SLUICE_KINESIS_TRANSITION_DELAY", "2s")
	if c, err := parseServeFlags(nil, delayEnv, io.Discard); err != nil || c.kinesisTransitionDelay != 2*time.Second {
		t.Fatalf("SLUICE_KINESIS_TRANSITION_DELAY=2s: %v, %v", c.kinesisTransitionDelay, err)
	}
	if c, err := parseServeFlags([]string{"--kinesis-transition-delay", "500ms"}, delayEnv, io.Discard); err != nil || c.kinesisTransitionDelay != 500*time.Millisecond {
		t.Fatalf("--kinesis-transition-delay 500ms over the variable: %v, %v", c.kinesisTransitionDelay, err)
	}
	for _, bad := range [][]string{{"--kinesis-transition-delay", "-1s"}, {"--kinesis-transition-delay", "soon"}} {
		if _, err := parseServeFlags(bad, getenv, io.Discard); err == nil {
			t.Fatalf("%v accepted", bad)
		}
	}
	if _, err := parseServeFlags(nil, onlyEnv("SLUICE_KINESIS_TRANSITION_DELAY", "soon"), io.Discard); err == nil {
		t.Fatal("bad SLUICE_KINESIS_TRANSITION_DELAY accepted")
	}
	// --kinesis-shard-limit: flag over variable over 20,000; below 1 or
	// malformed is refused.
	limitEnv := onlyEnv("SLUICE_KINESIS_SHARD_LIMIT", "20")
	if c, err := parseServeFlags(nil, limitEnv, io.Discard); err != nil || c.kinesisShardLimit != 20 {
		t.Fatalf("SLUICE_KINESIS_SHARD_LIMIT=20: %v, %v", c.kinesisShardLimit, err)
	}
	if c, err := parseServeFlags([]string{"--kinesis-shard-limit", "7"}, limitEnv, io.Discard); err != nil || c.kinesisShardLimit != 7 {
		t.Fatalf("--kinesis-shard-limit 7 over the variable: %v, %v", c.kinesisShardLimit, err)
	}
	for _, bad := range [][]string{{"--kinesis-shard-limit", "0"}, {"--kinesis-shard-limit", "many"}} {
		if _, err := parseServeFlags(bad, getenv, io.Discard); err == nil {
			t.Fatalf("%v accepted", bad)
		}
	}
	if _, err := parseServeFlags(nil, onlyEnv("SLUICE_KINESIS_SHARD_LIMIT", "many"), io.Discard); err == nil {
		t.Fatal("bad SLUICE_KINESIS_SHARD_LIMIT accepted")
	}
	if c, err := parseServeFlags(nil, onlyEnv(steadySysmonEnv, "false"), io.Discard); err != nil || c.steadySysmon {
		t.Fatalf("%s=false: %v, %v", steadySysmonEnv, c.steadySysmon, err)
	}
	if _, err := parseServeFlags(nil, onlyEnv(steadySysmonEnv, "sometimes"), io.Discard); err == nil {
		t.Fatalf("bad %s accepted", steadySysmonEnv)
	}
	if _, err := parseLogLevel("loud"); err == nil {
		t.Fatal("bad log level accepted")
	}
}

// onlyEnv is a getenv with one variable set.
func onlyEnv(key, value string) func(string) string {
	return func(k string) string {
		if k == key {
			return value
		}
		return ""
	}
}

// TestRunDispatch checks the subcommand dispatcher's exit codes and output.
func TestRunDispatch(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"version"}, os.Getenv, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "sluice dev (commit ") {
		t.Fatalf("version: %d %q %q", code, out.String(), errOut.String())
	}
	if code := run([]string{"frobnicate"}, os.Getenv, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "unknown command") {
		t.Fatalf("unknown command: %d %q", code, errOut.String())
	}
	errOut.Reset()
	if code := run(nil, os.Getenv, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "serve ") {
		t.Fatalf("no command: %d %q", code, errOut.String())
	}
	if code := run([]string{"serve", "--fsync", "sometimes", "--addr", "127.0.0.1:0", "--data", t.TempDir()}, os.Getenv, &out, &errOut); code != 1 {
		t.Fatalf("bad --fsync: exit %d", code)
	}
}

// TestBinaryServeAndSIGTERM builds the binary, runs `sluice serve` on a free
// port with a temporary data directory, checks /health, sends SIGTERM and
// checks for a clean exit (status 0, engine closed, data directory
// created).
func TestBinaryServeAndSIGTERM(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "sluice")
	build := exec.Command("go", "build", "-ldflags", "-X main.version=v0.0.0-test", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	version, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(version), "sluice v0.0.0-test (commit ") {
		t.Fatalf("version: %q, %v", version, err)
	}

	dataDir := filepath.Join(t.TempDir(), "data")
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", dataDir, "--enable-reset")
	cmd.Env = append(os.Environ(), "SLUICE_LOG_LEVEL=debug")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() }) // no-op after a clean exit

	// Read the log until the server reports its address; keep the rest.
	lines := bufio.NewScanner(stderr)
	addrPattern := regexp.MustCompile(`msg="sluice: serving" addr=(\S+)`)
	var addr string
	var log strings.Builder
	for addr == "" && lines.Scan() {
		log.WriteString(lines.Text() + "\n")
		if m := addrPattern.FindStringSubmatch(lines.Text()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		t.Fatalf("server never reported its address:\n%s", log.String())
	}
	// The server re-executed itself with sysmon kept out of deep sleep
	// (sysmon.go), under the process id it was started with.
	if !strings.Contains(log.String(), "steady_sysmon=true") {
		t.Fatalf("startup log lacks steady_sysmon=true:\n%s", log.String())
	}
	environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(environ, []byte("\x00GODEBUG="+steadySysmonGODEBUG+"\x00")) {
		t.Fatalf("server environment lacks GODEBUG=%s", steadySysmonGODEBUG)
	}
	resp, err := http.Get("http://" + addr + "/health")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(string(body), `{"status":"ok","services":["sqs","kinesis"]`) {
		t.Fatalf("/health: %d %s", resp.StatusCode, body)
	}
	resp, err = http.Post("http://"+addr+"/_sluice/reset", "", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("reset: %v %v", resp, err)
	}
	resp.Body.Close()

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for lines.Scan() {
		log.WriteString(lines.Text() + "\n")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, log.String())
	}
	for _, want := range []string{"draining in-flight requests", "engine closed"} {
		if !strings.Contains(log.String(), want) {
			t.Fatalf("log lacks %q:\n%s", want, log.String())
		}
	}
	if _, err := os.Stat(dataDir); err != nil {
		t.Fatalf("data directory: %v", err)
	}
}
