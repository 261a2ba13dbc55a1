package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// TestDebugServer checks that --debug-addr serves the pprof index and a
// heap profile, and nothing outside /debug/pprof/.
func TestDebugServer(t *testing.T) {
	c, err := parseServeFlags([]string{"--debug-addr", "127.0.0.1:0"}, func(string) string { return "" }, io.Discard)
	if err != nil || c.debugAddr != "127.0.0.1:0" {
		t.Fatalf("--debug-addr: %+v, %v", c, err)
	}
	if c, err := parseServeFlags(nil, onlyEnv("SLUICE_DEBUG_ADDR", "127.0.0.1:7"), io.Discard); err != nil || c.debugAddr != "127.0.0.1:7" {
		t.Fatalf("SLUICE_DEBUG_ADDR: %+v, %v", c, err)
	}
	var logs strings.Builder
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	stop, err := startDebugServer(context.Background(), "127.0.0.1:0", logger)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	_, addr, ok := strings.Cut(logs.String(), "addr=")
	if !ok {
		t.Fatalf("no address logged: %q", logs.String())
	}
	addr, _, _ = strings.Cut(addr, " ")
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	if code, body := get("/debug/pprof/"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Fatalf("/debug/pprof/: %d %.200q", code, body)
	}
	if code, body := get("/debug/pprof/heap?debug=1"); code != http.StatusOK || !strings.Contains(body, "heap profile") {
		t.Fatalf("heap: %d %.200q", code, body)
	}
	if code, _ := get("/"); code != http.StatusNotFound {
		t.Fatalf("/ on the debug listener: %d, want 404", code)
	}
}
