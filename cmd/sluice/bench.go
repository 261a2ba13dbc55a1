package main

import (
	"context"
	"io"
	"os"

	"github.com/sluice-dev/sluice/bench"
)

// bench drives any SQS or Kinesis endpoint (this server, AWS, or another
// emulator) over the wire; all of it lives in package bench.
var _ = registerCommand(&command{
	name:    "bench",
	summary: "benchmark an SQS/Kinesis endpoint (sluice bench list; sluice bench peers start)",
	run: func(ctx context.Context, args []string, _ func(string) string, stdout, stderr io.Writer) int {
		// The SDK refuses to load a configuration with a custom HTTP client
		// while AWS_CA_BUNDLE names a bundle it cannot apply; bench builds
		// its own client (and applies the bundle itself when it can).
		if os.Getenv("AWS_CA_BUNDLE") != "" {
			if _, err := os.Stat(os.Getenv("AWS_CA_BUNDLE")); err != nil {
				_ = os.Unsetenv("AWS_CA_BUNDLE")
			}
		}
		return bench.Main(ctx, args, stdout, stderr)
	},
})
