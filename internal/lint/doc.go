// Package lint holds tests that enforce the project's architecture and
// style rules (STYLE.md §1.1 and §9) that the compiler cannot: which
// packages may import which, no direct os file calls in the storage
// packages, and no wall-clock reads in the engine. Run with
//
//	go test ./internal/lint/
package lint
