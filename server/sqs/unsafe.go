package sqs

import "unsafe"

// The package's only unsafe conversions, audited here: both are used on
// values that are never mutated for the lifetime of the result.

// stringBytes returns the bytes of s without copying. The result must never
// be written to.
func stringBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// bytesString returns b as a string without copying. b must not be modified
// while the result is in use.
func bytesString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
