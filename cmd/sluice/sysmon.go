package main

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// Steady sysmon.
//
// The Go runtime's monitor thread (sysmon) sleeps 20 µs between checks,
// doubling the sleep only after 1 ms without finding work, up to 10 ms.
// When every P is idle it parks in a deep sleep instead, and the next
// goroutine to enter a system call wakes it and resets the sleep to
// 20 µs. A server at moderate load goes idle and busy again many times a
// millisecond, so sysmon is woken and reset continually and polls at
// 50,000 wakeups a second: measured here at 11–15 % of Sluice's CPU in
// every benchmark scenario, and as much of the no-op ceiling server's.
// The runtime has no knob for the tick (golang/go#18236).
//
// GODEBUG=schedtrace=N (N > 0) is the one setting that keeps sysmon out
// of its deep sleep, so nothing resets its backoff: with no P to retake
// it settles at a 10 ms tick. Its other effect is a scheduler trace line
// on stderr every N ms, counted from the host's boot; with N the largest
// value the runtime accepts (2^31-1 ms, 24.8 days) that is one line per
// 24.8 days of host uptime. The cost is sysmon's 100 wakeups a second
// when the server is idle (about 0.65 % of a core here, against about
// 0.2 % without); the gain under load is 10–26 % less server CPU
// (bench/RESULTS.md, "Steady sysmon").
//
// GODEBUG is read once, when the runtime starts, so the long-running
// commands (serve, and bench noop so that the ceiling it measures runs
// under the same runtime) re-execute themselves with the setting added.
// execve keeps the process id. The setting is left alone when GODEBUG
// already names schedtrace, and skipped with SLUICE_STEADY_SYSMON=false
// or --steady-sysmon=false.

// steadySysmonGODEBUG is the GODEBUG entry added on re-execution.
const steadySysmonGODEBUG = "schedtrace=2147483647"

// steadySysmonEnv is the environment variable that turns it off.
const steadySysmonEnv = "SLUICE_STEADY_SYSMON"

// steadySysmonExec reports whether the process should re-execute itself
// to keep sysmon steady, and with which environment. args is os.Args.
func steadySysmonExec(args, environ []string) ([]string, bool) {
	if runtime.GOOS != "linux" || !steadySysmonCommand(args) {
		return nil, false
	}
	godebug := -1
	for i, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		switch name {
		case steadySysmonEnv:
			if on, err := strconv.ParseBool(value); err == nil && !on {
				return nil, false
			}
		case "GODEBUG":
			godebug = i
			for _, setting := range strings.Split(value, ",") {
				if strings.HasPrefix(setting, "schedtrace=") {
					return nil, false // the user's own setting wins
				}
			}
		}
	}
	for _, arg := range args[1:] {
		if arg == "--" {
			break
		}
		name, value, ok := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if name == "steady-sysmon" && ok {
			if on, err := strconv.ParseBool(value); err == nil && !on {
				return nil, false
			}
		}
	}
	env := append([]string(nil), environ...)
	if godebug < 0 {
		return append(env, "GODEBUG="+steadySysmonGODEBUG), true
	}
	if env[godebug] == "GODEBUG=" {
		env[godebug] += steadySysmonGODEBUG
	} else {
		env[godebug] += "," + steadySysmonGODEBUG
	}
	return env, true
}

// steadySysmonCommand reports whether args run a long-lived server.
func steadySysmonCommand(args []string) bool {
	if len(args) < 2 {
		return false
	}
	switch args[1] {
	case "serve":
		return true
	case "bench":
		return len(args) >= 3 && args[2] == "noop"
	}
	return false
}

// steadySysmonActive reports whether this process runs with sysmon kept
// out of deep sleep (for the startup log).
func steadySysmonActive(getenv func(string) string) bool {
	for _, setting := range strings.Split(getenv("GODEBUG"), ",") {
		if v, ok := strings.CutPrefix(setting, "schedtrace="); ok {
			n, err := strconv.Atoi(v)
			return err == nil && n > 0
		}
	}
	return false
}

// reexecSteadySysmon replaces the process with itself under the steady
// sysmon setting, when that applies. It returns only if it does not apply
// or execve failed; the caller then runs with the runtime's defaults.
func reexecSteadySysmon() error {
	env, ok := steadySysmonExec(os.Args, os.Environ())
	if !ok {
		return nil
	}
	// /proc/self/exe names this very binary even when its file has since
	// been replaced or removed (a rebuild while the server starts).
	return syscall.Exec("/proc/self/exe", os.Args, env)
}
