package main

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestAgentTightensALooseHome: a home whose folders were made 0755 and
// whose store and logs were made 0644 (a folder shared before, or files
// copied in) is owner-only after the agent starts on it: `stat -c %a`
// says 700 for the folders and 600 for the store, SQLite's files beside
// it and the logs, and the agent's log says what it tightened.
func TestAgentTightensALooseHome(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows guards files with ACLs, not modes")
	}
	h := newHome(t)
	// A real store and log, from a first start.
	h.startAgent()
	h.stopAgent()
	db := filepath.Join(h.dir, "inboxsync.db")
	logs := filepath.Join(h.dir, "logs")
	log := filepath.Join(logs, "inboxsync.log")
	if err := os.WriteFile(log+".1", []byte("an older log\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	loose := map[string]fs.FileMode{
		h.dir: 0o755, logs: 0o755, filepath.Join(h.dir, "run"): 0o755,
		db: 0o644, log: 0o644, log + ".1": 0o644,
	}
	for p, m := range loose {
		if err := os.Chmod(p, m); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("before the start:\n%s", statModes(t, h.dir))

	agentLog := h.startAgent()
	t.Logf("while the agent runs:\n%s", statModes(t, h.dir))
	want := map[string]string{
		h.dir: "700", logs: "700", filepath.Join(h.dir, "run"): "700",
		db: "600", db + "-wal": "600", db + "-shm": "600",
		log: "600", log + ".1": "600",
	}
	got := modes(t, h.dir)
	for p, m := range want {
		if got[p] != m {
			t.Errorf("%s is %q, want %s", p, got[p], m)
		}
	}
	var unsaid []string
	for p := range loose {
		if !strings.Contains(agentLog.String(), `msg="tightened to owner-only: others could read it" path=`+p+" ") {
			unsaid = append(unsaid, p)
		}
	}
	if len(unsaid) > 0 {
		t.Errorf("the agent's log does not say it tightened %v:\n%s", unsaid, agentLog)
	}
	h.stopAgent()
	if m := modes(t, h.dir)[db+".closed"]; m != "600" {
		t.Errorf("the mark of a clean close is %q, want 600", m)
	}
}

// statModes returns `stat -c '%a %n'` of every file and folder under dir.
func statModes(t *testing.T, dir string) string {
	t.Helper()
	var paths []string
	filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err == nil {
			paths = append(paths, p)
		}
		return nil
	})
	out, err := exec.Command("stat", append([]string{"-c", "%a %n"}, paths...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("stat: %v\n%s", err, out)
	}
	return string(out)
}

// modes maps every path under dir to its mode as `stat -c %a` prints it.
func modes(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(statModes(t, dir)), "\n") {
		mode, path, _ := strings.Cut(l, " ")
		m[path] = mode
	}
	return m
}
