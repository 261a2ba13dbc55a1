package server

import (
	"fmt"
	"runtime"
	"strings"
	"time"
)

// leakedGoroutines returns the stacks of goroutines still running code of
// this package or fasthttp after every server has shut down. Goroutines
// that are exiting may need a moment, so it retries for up to a second,
// yielding between attempts (goleak's approach; nothing is synchronised on
// it).
func leakedGoroutines() string {
	deadline := time.Now().Add(time.Second)
	for {
		buf := make([]byte, 1<<20)
		stacks := strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n")
		var leaked []string
		for _, g := range stacks[1:] { // stacks[0] is this goroutine
			// fasthttp's idle-worker cleaner sleeps MaxIdleWorkerDuration
			// between checks of its stop channel, so it outlives Shutdown by
			// up to that long; it holds no connection or server state.
			// updateServerDate is fasthttp's process-wide Date-header ticker,
			// started once and never stopped.
			if strings.Contains(g, "fasthttp.(*workerPool).Start.func2") || strings.Contains(g, "fasthttp.updateServerDate") {
				continue
			}
			if strings.Contains(g, "valyala/fasthttp") || strings.Contains(g, "sluice/server.") {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 {
			return ""
		}
		if time.Now().After(deadline) {
			return fmt.Sprintf("%d goroutines leaked:\n\n%s", len(leaked), strings.Join(leaked, "\n\n"))
		}
		runtime.Gosched()
	}
}
