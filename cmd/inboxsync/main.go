// Command inboxsync is Inbox Sync: without a verb it starts the agent (or,
// when one already runs, asks it to open the dashboard); with a verb it is
// the command-line client of the running agent.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
