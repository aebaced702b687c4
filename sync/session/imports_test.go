package session_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLinksNoHost keeps the session function usable by every host: it
// links no engine (the desktop's state machine and schedule), no store
// implementation and no database driver, so that an organisation worker
// links only what it hosts.
func TestLinksNoHost(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case strings.HasSuffix(dep, "/sync/engine"), strings.HasSuffix(dep, "/sync/store"),
			dep == "database/sql", strings.HasPrefix(dep, "modernc.org/sqlite"),
			strings.HasPrefix(dep, "fyne.io/"), strings.Contains(dep, "/ui/"), strings.HasSuffix(dep, "/app"):
			t.Errorf("sync/session links %s", dep)
		}
	}
}
