package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/bench/noop"
)

// TestMainRunsScenario drives the command line end to end against an
// in-process noop server: --json prints a decodable result, --html writes a
// page, and the exit code is 0.
func TestMainRunsScenario(t *testing.T) {
	srv, err := noop.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	}()
	htmlPath := filepath.Join(t.TempDir(), "report.html")
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"sqs-send-batch", "--endpoint", srv.URL(), "--duration", "300ms",
		"--concurrency", "2", "--size", "100:0.5,2000:0.5", "--json", "--html", htmlPath, "--server-pid", "1"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var res Result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("stdout is not one JSON result: %v\n%s", err, stdout.String())
	}
	if res.Scenario != "sqs-send-batch" || res.Concurrency != 2 || res.Messages == 0 || res.Size != "100:0.5,2000:0.5" {
		t.Errorf("result %+v", res)
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr is not a terminal, yet got output: %q", stderr.String())
	}
	page, err := os.ReadFile(htmlPath)
	if err != nil || !strings.Contains(string(page), "<svg") {
		t.Errorf("HTML report: %v", err)
	}
}

// TestMainCompare checks --compare: interleaved rounds against two targets
// and a summary with ratios.
func TestMainCompare(t *testing.T) {
	a, err := noop.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = a.Close() }()
	b, err := noop.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.Close() }()
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"kinesis-put", "--compare", "a=" + a.URL() + ",b=" + b.URL(),
		"--rounds", "2", "--duration", "200ms", "--shards", "1"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"msgs/s ratio", "1.00×"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if a.Stats().StreamsCreated != 2 || b.Stats().StreamsCreated != 2 {
		t.Errorf("streams created: a %d b %d, want 2 rounds each", a.Stats().StreamsCreated, b.Stats().StreamsCreated)
	}
}

// TestMainErrors checks usage errors exit non-zero with a message, and list
// and help succeed.
func TestMainErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{args: nil, code: 1, want: "missing scenario"},
		{args: []string{"no-such"}, code: 1, want: "unknown scenario"},
		{args: []string{"sqs-send", "--protocol", "xml"}, code: 1, want: "--protocol"},
		{args: []string{"sqs-send", "--size", "0"}, code: 1, want: "size"},
		{args: []string{"sqs-send", "--endpoint", "127.0.0.1:1"}, code: 1, want: "http://"},
		{args: []string{"peers", "restart"}, code: 1, want: "start, stop or status"},
		{args: []string{"list"}, code: 0, want: "kinesis-e2e"},
		{args: []string{"help"}, code: 0, want: "--concurrency"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		code := Main(context.Background(), tt.args, &stdout, &stderr)
		if code != tt.code || !strings.Contains(stdout.String()+stderr.String(), tt.want) {
			t.Errorf("Main(%q) = %d, output %q; want %d containing %q", tt.args, code, stdout.String()+stderr.String(), tt.code, tt.want)
		}
	}
}
