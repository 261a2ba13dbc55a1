package bench

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// TestParseProcStat checks utime+stime extraction, including command names
// with spaces and parentheses, and rejection of malformed lines.
func TestParseProcStat(t *testing.T) {
	tick := time.Second / time.Duration(clockTicksPerSecond)
	tests := []struct {
		name string
		line string
		want time.Duration
		err  bool
	}{
		{name: "plain", line: "1234 (sluice) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 100 0 0", want: 300 * tick},
		{name: "spaces and parens", line: "99 (a (weird) name) R 1 2 3 4 5 6 7 8 9 10 7 3 0 0", want: 10 * tick},
		{name: "no command", line: "99 sluice S 1", err: true},
		{name: "short", line: "99 (x) S 1 2 3", err: true},
		{name: "not numbers", line: "99 (x) S 1 2 3 4 5 6 7 8 9 10 a b", err: true},
		{name: "negative", line: "99 (x) S 1 2 3 4 5 6 7 8 9 10 -1 0", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProcStat([]byte(tt.line))
			if tt.err {
				if !errors.Is(err, ErrProcStat) {
					t.Fatalf("error %v, want ErrProcStat", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	// The running test process has a stat file.
	if _, err := ProcessCPU(os.Getpid()); err != nil {
		t.Errorf("ProcessCPU(self): %v", err)
	}
}

// FuzzParseProcStat checks the stat parser never panics or returns a
// negative time.
func FuzzParseProcStat(f *testing.F) {
	f.Add([]byte("1234 (sluice) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 100 0 0"))
	f.Add([]byte("1 ()) ) S"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if d, err := parseProcStat(data); err == nil && d < 0 {
			t.Fatalf("negative CPU time %v", d)
		}
	})
}

// TestParseTargets covers the [name=]URL[@PID] syntax.
func TestParseTargets(t *testing.T) {
	got, err := ParseTargets("sluice=http://127.0.0.1:4566@123, http://localhost:4601 ,moto=http://127.0.0.1:4602")
	if err != nil {
		t.Fatal(err)
	}
	want := []Target{
		{Name: "sluice", Endpoint: "http://127.0.0.1:4566", ServerPID: 123},
		{Name: "localhost:4601", Endpoint: "http://localhost:4601"},
		{Name: "moto", Endpoint: "http://127.0.0.1:4602"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("target %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"", ",", "ftp://x", "name=127.0.0.1:4566", "http://"} {
		if _, err := ParseTargets(bad); !errors.Is(err, ErrBadConfig) {
			t.Errorf("ParseTargets(%q) error %v, want ErrBadConfig", bad, err)
		}
	}
}

// FuzzParseTargets checks that accepted targets always have a name and an
// http(s) endpoint.
func FuzzParseTargets(f *testing.F) {
	f.Add("a=http://127.0.0.1:1@2,http://h:3")
	f.Add("=http://x@-1")
	f.Fuzz(func(t *testing.T, list string) {
		targets, err := ParseTargets(list)
		if err != nil {
			return
		}
		for _, tg := range targets {
			if tg.Name == "" || !(strings.HasPrefix(tg.Endpoint, "http://") || strings.HasPrefix(tg.Endpoint, "https://")) || tg.ServerPID < 0 {
				t.Fatalf("bad target %+v", tg)
			}
		}
	})
}

// TestSpliceSection checks that regenerating the results keeps every other
// section (the "## segment" one belongs to another engineer) byte for byte,
// replaces only what is between the markers, and creates or appends when
// there are no markers yet.
func TestSpliceSection(t *testing.T) {
	segment := "## segment\n\nsegment numbers | keep\n|---|\n| 1 | 2 |\n"
	doc := "# Benchmark results\n\nintro\n\n" + resultsBegin + "\nold table\n" + resultsEnd + "\n\n" + segment
	splice := func(doc, section string) string {
		t.Helper()
		out, err := spliceSection(doc, section)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	out := splice(doc, "new table\n")
	if !strings.Contains(out, segment) || !strings.HasPrefix(out, "# Benchmark results\n\nintro\n\n") {
		t.Errorf("other sections changed:\n%s", out)
	}
	if strings.Contains(out, "old table") || !strings.Contains(out, resultsBegin+"\nnew table\n"+resultsEnd) {
		t.Errorf("section not replaced:\n%s", out)
	}
	if again := splice(out, "new table\n"); again != out {
		t.Errorf("splicing is not idempotent")
	}
	appended := splice(segment, "x")
	if !strings.HasPrefix(appended, segment) || !strings.HasSuffix(appended, resultsBegin+"\nx\n"+resultsEnd+"\n") {
		t.Errorf("append to a file without markers:\n%s", appended)
	}
	if created := splice("", "x"); !strings.HasPrefix(created, "# Benchmark results\n") {
		t.Errorf("new file:\n%s", created)
	}
	// Someone editing a neighbouring section once deleted the begin
	// marker, and two regenerations appended two more sections. Damaged
	// markers are refused instead.
	for _, damaged := range []string{
		segment + "old table\n" + resultsEnd + "\n",
		resultsBegin + "\nold\n" + segment,
		resultsEnd + "\n" + resultsBegin + "\n",
		doc + doc,
	} {
		if _, err := spliceSection(damaged, "x"); !errors.Is(err, ErrResultsMarkers) {
			t.Errorf("damaged markers accepted (err %v):\n%s", err, damaged)
		}
	}

	path := t.TempDir() + "/RESULTS.md"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := RewriteResults(path, "fresh"); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(data), "fresh") || !strings.Contains(string(data), segment) {
		t.Errorf("RewriteResults wrote %q (%v)", data, err)
	}
}

// TestSpreadOf checks the median/min/max over rounds, including even counts.
func TestSpreadOf(t *testing.T) {
	tests := []struct {
		in   []float64
		want Spread
	}{
		{nil, Spread{}},
		{[]float64{5}, Spread{5, 5, 5}},
		{[]float64{3, 1, 2}, Spread{2, 1, 3}},
		{[]float64{4, 1, 3, 2}, Spread{2.5, 1, 4}},
	}
	for _, tt := range tests {
		if got := spreadOf(tt.in); got != tt.want {
			t.Errorf("spreadOf(%v) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}
