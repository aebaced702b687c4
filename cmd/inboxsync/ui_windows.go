//go:build windows

package main

import (
	"errors"
	"os"
	"os/exec"
)

// execWindow runs the window program exe and exits with its exit code
// when it ends (Windows has no exec).
func execWindow(exe string, args []string, c *cli) error {
	cmd := exec.Command(exe, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.stdin, c.out, c.errOut
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		os.Exit(exit.ExitCode())
	}
	return err
}
