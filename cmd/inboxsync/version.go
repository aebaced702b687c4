package main

import (
	"fmt"

	"github.com/inboxsync/inboxsync/internal/install"
)

// version prints which build this is: the version, the commit and the
// build date stamped by scripts/package.sh and scripts/run.sh (or what the
// go command recorded from git).
func (c *cli) version(args []string) int {
	fs := c.flags("version [--json]", "Prints the version, the commit and the build date.", "")
	asJSON := fs.Bool("json", false, "print JSON")
	if code, ok := c.parse(fs, args, 0); !ok {
		return code
	}
	b := install.Build()
	if *asJSON {
		return c.printJSON(b)
	}
	fmt.Fprintf(c.out, "inboxsync %s\n", b)
	if b.TestBuild {
		fmt.Fprintln(c.out, "test build (with the scripted test provider)")
	}
	return exitOK
}
