package engine_test

import (
	"fmt"
	"os"

	"github.com/sluice-dev/sluice/engine"
)

// ExampleOpen embeds the engine in a Go program: open a data directory, use
// it, close it. A second Open of the same directory fails with ErrLocked
// until the first is closed.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "sluice-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	db, err := engine.Open(dir, &engine.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := db.Close(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("opened and closed")
	// Output: opened and closed
}
