//go:build !linux

package segment

// populate does nothing here: pages are faulted in as readers walk them.
func populate([]byte) {}
