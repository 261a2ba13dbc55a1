package crash

// The crash tests run a real `sluice serve` process through
// internal/childserver (build once per test binary, start on 127.0.0.1
// with a data directory, SIGKILL, restart on the same address and data
// directory, stop cleanly). The service tests (sqs_crash_test.go, ...)
// bring their own clients.

import (
	"os"
	"testing"

	"github.com/sluice-dev/sluice/internal/childserver"
)

func TestMain(m *testing.M) {
	// aws-sdk-go-v2 refuses to load its config with a custom HTTP client
	// while AWS_CA_BUNDLE is set.
	os.Unsetenv("AWS_CA_BUNDLE")
	os.Exit(childserver.Run(m))
}
