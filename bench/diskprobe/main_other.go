//go:build !linux

// Command diskprobe measures raw storage speed with Linux's fdatasync and
// O_DIRECT; elsewhere it only says so.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "diskprobe: Linux only (it measures fdatasync and O_DIRECT)")
	os.Exit(2)
}
