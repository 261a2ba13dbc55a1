package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.3".
var version = "dev"

var _ = registerCommand(&command{
	name:    "version",
	summary: "print the version, commit and Go version",
	run: func(_ context.Context, args []string, _ func(string) string, stdout, stderr io.Writer) int {
		if len(args) > 0 {
			fmt.Fprintln(stderr, "sluice version: takes no arguments")
			return 2
		}
		fmt.Fprintln(stdout, versionString())
		return 0
	},
})

// versionString is "sluice VERSION (commit REV[-dirty], goX.Y.Z)"; the
// commit comes from the VCS stamp the go tool embeds.
func versionString() string {
	commit := "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		var revision, modified string
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if revision != "" {
			commit = revision
			if len(commit) > 12 {
				commit = commit[:12]
			}
			if modified == "true" {
				commit += "-dirty"
			}
		}
	}
	return fmt.Sprintf("sluice %s (commit %s, %s)", version, commit, runtime.Version())
}
