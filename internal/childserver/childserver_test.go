package childserver

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	// Keep the machine-wide rule for anything that may build SDK clients.
	os.Unsetenv("AWS_CA_BUNDLE")
	os.Exit(Run(m))
}

// TestLastLines checks the log tail on a table of texts: at most n lines,
// the last ones, without the trailing newline.
func TestLastLines(t *testing.T) {
	for _, tc := range []struct {
		text string
		n    int
		want string
	}{
		{"", 3, ""},
		{"a\n", 3, "a"},
		{"a\nb\nc\n", 2, "b\nc"},
		{"a\nb\nc", 3, "a\nb\nc"},
		{"a\nb\nc\n\n", 1, "c"},
		{"a\nb\n", 5, "a\nb"},
	} {
		if got := lastLines(tc.text, tc.n); got != tc.want {
			t.Errorf("lastLines(%q, %d) = %q, want %q", tc.text, tc.n, got, tc.want)
		}
	}
}

// TestLifecycle checks the harness on the real binary: Start serves
// /health and passes Args (--enable-reset turns on /_sluice/reset), Kill and Restart keep the address and data directory and start
// a new process, and Stop ends it cleanly with the shutdown lines in the
// log of the last start.
func TestLifecycle(t *testing.T) {
	dir := t.TempDir()
	srv := Start(t, Config{Dir: dir, Fsync: "never", Args: []string{"--enable-reset"}})
	health := func() {
		t.Helper()
		resp, err := http.Get(srv.Endpoint() + "/health")
		if err != nil {
			t.Fatalf("GET /health: %v\n%s", err, srv.LogTail(20))
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"status":"ok"`) {
			t.Fatalf("GET /health: %d %q %v", resp.StatusCode, body, err)
		}
	}
	health()
	resp, err := http.Post(srv.Endpoint()+"/_sluice/reset", "", nil)
	if err != nil {
		t.Fatalf("POST /_sluice/reset: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /_sluice/reset: %d, want 200 (Args not passed?)", resp.StatusCode)
	}
	addr, pid := srv.Addr(), srv.PID()
	if strings.HasSuffix(addr, ":0") {
		t.Fatalf("Addr %q is not the bound address", addr)
	}
	if !strings.Contains(srv.LogTail(40), `msg="sluice: serving"`) {
		t.Fatalf("log lacks the serving line:\n%s", srv.LogTail(40))
	}

	srv.Kill()
	srv.Restart()
	if srv.Addr() != addr || srv.PID() == pid || srv.Starts() != 2 {
		t.Fatalf("after restart: addr %s pid %d starts %d, want addr %s, a pid other than %d, 2 starts",
			srv.Addr(), srv.PID(), srv.Starts(), addr, pid)
	}
	health()

	srv.Stop()
	if log := srv.LogTail(40); !strings.Contains(log, "engine closed") {
		t.Fatalf("log of the stopped server lacks %q:\n%s", "engine closed", log)
	}
}
