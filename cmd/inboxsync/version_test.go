package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// `inboxsync version --json` says which build this is; the e2e binary is
// a test build.
func TestVersionJSON(t *testing.T) {
	h := newHome(t)
	out, errOut, code := h.run("", "version", "--json")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, k := range []string{"version", "go", "platform"} {
		if s, _ := v[k].(string); s == "" {
			t.Errorf("%s is empty: %s", k, out)
		}
	}
	for _, k := range []string{"commit", "date", "commit_date"} {
		if _, ok := v[k].(string); !ok {
			t.Errorf("no %s: %s", k, out)
		}
	}
	if v["test_build"] != true {
		t.Errorf("test_build is not true: %s", out)
	}
}

// What scripts/package.sh and scripts/run.sh stamp with -ldflags -X is
// what `inboxsync version` prints.
func TestVersionStampedAtBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary once more")
	}
	bin := filepath.Join(t.TempDir(), "inboxsync")
	const pkg = "github.com/inboxsync/inboxsync/internal/install"
	ldflags := "-X " + pkg + ".Version=9.8.7 -X " + pkg + ".Commit=0123456789abcdef0123456789abcdef01234567-dirty" +
		" -X " + pkg + ".BuildDate=2026-11-27T15:04:05Z"
	if out, err := exec.Command("go", "build", "-ldflags", ldflags, "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(out), "inboxsync 9.8.7 (commit 0123456789ab-dirty, built 2026-11-27 15:04 UTC)\n"; got != want {
		t.Errorf("version printed %q, want %q", got, want)
	}
	out, err = exec.Command(bin, "version", "--json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Version, Commit, Date string
		TestBuild             bool `json:"test_build"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	if v.Version != "9.8.7" || !strings.HasPrefix(v.Commit, "0123456789abcdef") || v.Date != "2026-11-27T15:04:05Z" || v.TestBuild {
		t.Errorf("version --json: %s", out)
	}
}
