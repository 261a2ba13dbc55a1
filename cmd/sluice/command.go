package main

import (
	"context"
	"fmt"
	"io"
	"os/signal"
	"slices"
	"strings"
	"syscall"
)

// command is one subcommand. Each lives in its own file (serve.go,
// version.go, bench.go, ...) and is added to the registry by a package-level
// registerCommand call, so a new subcommand is a new file and nothing else.
type command struct {
	// name is the word after "sluice".
	name string
	// summary is the one-line description shown by "sluice help".
	summary string
	// run executes the command with the arguments after its name and
	// returns the process exit code. ctx is cancelled on SIGINT/SIGTERM;
	// getenv reads the environment (injected for tests).
	run func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int
}

// commands is the registry. It is written only during package
// initialization (registerCommand) and read-only afterwards.
var commands = map[string]*command{}

// registerCommand adds c to the registry; it returns c so a file can write
// `var _ = registerCommand(&command{...})` at package level.
func registerCommand(c *command) *command {
	if _, dup := commands[c.name]; dup {
		panic("BUG: sluice: command " + c.name + " registered twice")
	}
	commands[c.name] = c
	return c
}

// run dispatches to a subcommand and returns the exit code.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "sluice: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return c.run(ctx, args[1:], getenv, stdout, stderr)
}

func usage(w io.Writer) {
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	slices.Sort(names)
	var b strings.Builder
	b.WriteString("usage: sluice <command> [flags]\n\ncommands:\n")
	for _, name := range names {
		fmt.Fprintf(&b, "  %-10s %s\n", name, commands[name].summary)
	}
	b.WriteString("\nRun 'sluice <command> -h' for the flags of a command.\n")
	io.WriteString(w, b.String()) //nolint:errcheck // usage output is best effort
}
