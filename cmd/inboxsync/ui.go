package main

import (
	"fmt"

	"github.com/inboxsync/inboxsync/internal/install"
)

// ui shows one window by running the window program, inboxsync-window,
// installed beside this one (install.WindowProgram): this program links no GUI
// toolkit, so that every other verb starts quickly. The window program
// reads the arguments (and prints the verb's --help); on Linux and macOS
// it takes this process's place, so a signal meant for `inboxsync ui`
// reaches the window.
func (c *cli) ui(args []string) int {
	exe, err := install.WindowProgram()
	if err != nil {
		return c.fail(err)
	}
	if c.home != "" {
		args = append([]string{"--home", c.home}, args...)
	}
	if err := execWindow(exe, args, c); err != nil {
		return c.fail(fmt.Errorf("could not start the window program: %w", err))
	}
	return exitOK
}
