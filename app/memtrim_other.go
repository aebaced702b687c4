//go:build !linux

package app

import "errors"

// releaseBinaryPages is only done on Linux (see memtrim_linux.go).
func releaseBinaryPages() (before, after int64, err error) {
	return 0, 0, errors.ErrUnsupported
}
