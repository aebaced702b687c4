//go:build !windows

package main

import (
	"os"
	"syscall"
)

// execWindow replaces this process with the window program exe. It returns
// only when that fails.
func execWindow(exe string, args []string, _ *cli) error {
	return syscall.Exec(exe, append([]string{exe}, args...), os.Environ())
}
