// Package crashtest kills a test process mid-work, for the crash tests
// that check that a process killed mid-session (a crash, kill -9, a power
// cut) loses nothing committed and stores nothing twice. Test builds only.
package crashtest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// KillAfter runs child, a test function of the running test binary, in a
// new process with env ("NAME=value") added to its environment; waits
// until it printed a line "<prefix> N" with N ≥ n; and kills it with
// SIGKILL, so that it has no chance to finish what it was writing. It
// fails t if the child ends first.
func KillAfter(t testing.TB, child, env, prefix string, n int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+child+"$", "-test.v")
	cmd.Env = append(os.Environ(), env)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	seen := 0
	for seen < n && lines.Scan() {
		if v, ok := strings.CutPrefix(lines.Text(), prefix+" "); ok {
			fmt.Sscan(v, &seen)
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if seen < n {
		t.Fatalf("the child stopped after %q %d: %v %s", prefix, seen, lines.Err(), stderr.String())
	}
}
