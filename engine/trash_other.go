//go:build !unix

package engine

import "errors"

// truncateFd is not available here; the file is then removed whole.
func truncateFd(uintptr, int64) error { return errors.ErrUnsupported }
