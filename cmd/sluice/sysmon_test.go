package main

import (
	"slices"
	"testing"
)

// TestSteadySysmonExec checks when the process re-executes itself with
// GODEBUG=schedtrace and what environment it passes on.
func TestSteadySysmonExec(t *testing.T) {
	base := []string{"HOME=/root", "PATH=/bin"}
	with := func(env ...string) []string { return append(slices.Clone(base), env...) }
	cases := []struct {
		name    string
		args    []string
		environ []string
		want    []string // nil: no re-execution
	}{
		{"serve", []string{"sluice", "serve"}, base, with("GODEBUG=" + steadySysmonGODEBUG)},
		{"serve with flags", []string{"sluice", "serve", "--fsync", "never"}, base, with("GODEBUG=" + steadySysmonGODEBUG)},
		{"bench noop", []string{"sluice", "bench", "noop", "--listen", ":1"}, base, with("GODEBUG=" + steadySysmonGODEBUG)},
		{"other GODEBUG kept", []string{"sluice", "serve"}, with("GODEBUG=gctrace=1"), with("GODEBUG=gctrace=1," + steadySysmonGODEBUG)},
		{"empty GODEBUG", []string{"sluice", "serve"}, with("GODEBUG="), with("GODEBUG=" + steadySysmonGODEBUG)},
		{"already set (the re-executed process)", []string{"sluice", "serve"}, with("GODEBUG=" + steadySysmonGODEBUG), nil},
		{"user's schedtrace wins", []string{"sluice", "serve"}, with("GODEBUG=gctrace=1,schedtrace=1000"), nil},
		{"env off", []string{"sluice", "serve"}, with(steadySysmonEnv + "=false"), nil},
		{"env on", []string{"sluice", "serve"}, with(steadySysmonEnv + "=1"), with(steadySysmonEnv+"=1", "GODEBUG="+steadySysmonGODEBUG)},
		{"flag off", []string{"sluice", "serve", "--steady-sysmon=false"}, base, nil},
		{"single-dash flag off", []string{"sluice", "serve", "-steady-sysmon=0"}, base, nil},
		{"flag on", []string{"sluice", "serve", "--steady-sysmon=true"}, base, with("GODEBUG=" + steadySysmonGODEBUG)},
		{"version", []string{"sluice", "version"}, base, nil},
		{"bench scenario (the load generator)", []string{"sluice", "bench", "sqs-send"}, base, nil},
		{"no command", []string{"sluice"}, base, nil},
	}
	for _, tc := range cases {
		got, ok := steadySysmonExec(tc.args, tc.environ)
		if ok != (tc.want != nil) || !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %q (re-exec %v), want %q", tc.name, got, ok, tc.want)
		}
	}
}

func TestSteadySysmonActive(t *testing.T) {
	for godebug, want := range map[string]bool{
		"":                                 false,
		steadySysmonGODEBUG:                true,
		"gctrace=1," + steadySysmonGODEBUG: true,
		"schedtrace=0":                     false,
		"schedtrace=x":                     false,
		"gctrace=1":                        false,
	} {
		if got := steadySysmonActive(onlyEnv("GODEBUG", godebug)); got != want {
			t.Errorf("GODEBUG=%q: %v, want %v", godebug, got, want)
		}
	}
}
