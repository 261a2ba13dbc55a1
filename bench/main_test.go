package bench

import (
	"os"
	"testing"
)

// TestMain unsets AWS_CA_BUNDLE: the SDK refuses to load a configuration
// with a custom HTTP client while it is set, and these tests only talk to
// loopback servers over plain HTTP.
func TestMain(m *testing.M) {
	_ = os.Unsetenv("AWS_CA_BUNDLE")
	os.Exit(m.Run())
}
