package lint

import (
	"go/parser"
	"go/token"
	"testing"
)

func parseSource(t *testing.T, src string) parsedFile {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "x.go", src, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	return parsedFile{path: "x.go", fset: fset, file: f}
}

// TestCheckersCatchViolations checks the checkers themselves on small
// sources, so a broken checker cannot pass silently: each case states how
// many violations it must report.
func TestCheckersCatchViolations(t *testing.T) {
	for _, tc := range []struct {
		name  string
		check func(parsedFile) []string
		src   string
		want  int
	}{
		{"os file calls", osViolations, `package p
import "os"
func f() { os.Create("x"); os.Remove("y"); _ = os.O_RDWR; _ = os.ErrNotExist }`, 2},
		{"os renamed import", osViolations, `package p
import stdos "os"
func f() { stdos.ReadFile("x") }`, 1},
		{"no os import", osViolations, `package p
type os struct{ Create int }
func f(o os) { _ = o }`, 0},
		{"time.Now in engine", clockViolations, `package p
import "time"
var start = time.Now()
func f() time.Duration { return time.Since(start) + time.Until(start) }
func g() { _ = time.After(time.Second) }`, 3},
		{"SystemClock exemption", clockViolations, `package p
import "time"
type SystemClock struct{}
func (SystemClock) Now() time.Time { return time.Now() }
type Other struct{}
func (Other) Now() time.Time { return time.Now() }`, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.check(parseSource(t, tc.src))
			if len(got) != tc.want {
				t.Fatalf("got %d violations %q, want %d", len(got), got, tc.want)
			}
		})
	}
}

// TestCheckImport checks the import rule evaluation on a table of cases.
func TestCheckImport(t *testing.T) {
	engine := importRules[2]
	benchRule := importRules[4]
	for _, tc := range []struct {
		rule importRule
		to   string
		ok   bool
	}{
		{engine, "segment", true},
		{engine, "index", true},
		{engine, "internal/invariants", true},
		{engine, "server", false},
		{engine, "server/sqs", false},
		{engine, "segmentx", false},
		{benchRule, "engine", false},
		{benchRule, "server/awsproto", true},
		{importRules[0], "index", false},
		{importRules[0], "internal/invariants", true},
	} {
		if got := checkImport(tc.rule, tc.to) == ""; got != tc.ok {
			t.Errorf("rule from %s, import %s: allowed=%v, want %v", tc.rule.From, tc.to, got, tc.ok)
		}
	}
}
