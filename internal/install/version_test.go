package install

import (
	"encoding/json"
	"os"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
)

func TestBuildInfoPrefersTheStamps(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.0", Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "ffffffffffffffffffffffffffffffffffffffff"},
		{Key: "vcs.time", Value: "2026-11-01T10:00:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}}
	b := buildInfo("1.2.3", "0123456789abcdef0123456789abcdef01234567", "2026-11-27T15:04:05Z", bi)
	if b.Version != "1.2.3" || b.Commit != "0123456789abcdef0123456789abcdef01234567" ||
		b.Date != "2026-11-27T15:04:05Z" || b.CommitDate != "2026-11-01T10:00:00Z" || b.Go != "go1.26.0" {
		t.Errorf("got %+v", b)
	}
	if got, want := b.String(), "1.2.3 (commit 0123456789ab, built 2026-11-27 15:04 UTC)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestBuildInfoFallsBackOnGit(t *testing.T) {
	bi := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
		{Key: "vcs.time", Value: "2026-11-01T10:00:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}}
	b := buildInfo("0.1.0-dev", "", "", bi)
	if b.Version != "0.1.0-dev" || b.Commit != "0123456789abcdef0123456789abcdef01234567-dirty" || b.Date != "" {
		t.Errorf("got %+v", b)
	}
	if got, want := b.String(), "0.1.0-dev (commit 0123456789ab-dirty, committed 2026-11-01 10:00 UTC)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}

	// go install …@v1.4.0 records the release tag.
	bi.Main.Version = "v1.4.0"
	if b := buildInfo("0.1.0-dev", "", "", bi); b.Version != "1.4.0" {
		t.Errorf("with a release tag: version %q, want 1.4.0", b.Version)
	}
	// A pseudo-version is no release.
	bi.Main.Version = "v0.0.0-20261101100000-0123456789ab+dirty"
	if b := buildInfo("0.1.0-dev", "", "", bi); b.Version != "0.1.0-dev" {
		t.Errorf("with a pseudo-version: version %q, want 0.1.0-dev", b.Version)
	}
	// A stamped version wins over the tag.
	bi.Main.Version = "v1.4.0"
	if b := buildInfo("1.5.0", "", "", bi); b.Version != "1.5.0" {
		t.Errorf("stamped: version %q, want 1.5.0", b.Version)
	}
}

func TestBuildInfoWithNothingRecorded(t *testing.T) {
	b := buildInfo("0.1.0-dev", "", "", nil)
	if b.String() != "0.1.0-dev" || b.Go == "" || b.Platform == "" {
		t.Errorf("got %+v, %q", b, b.String())
	}
	j, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"version"`, `"commit"`, `"date"`, `"commit_date"`, `"go"`, `"platform"`, `"test_build"`} {
		if !strings.Contains(string(j), k) {
			t.Errorf("JSON %s lacks %s", j, k)
		}
	}
}

// The version of an unstamped build is FyneApp.toml's, which names the
// packages fyne builds, plus "-dev".
func TestDefaultVersionIsFyneAppVersion(t *testing.T) {
	toml, err := os.ReadFile("../../FyneApp.toml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^Version\s*=\s*"([^"]+)"`).FindSubmatch(toml)
	if m == nil {
		t.Fatal("FyneApp.toml has no Version")
	}
	if want := string(m[1]) + "-dev"; Version != want {
		t.Errorf("install.Version = %q, want %q (FyneApp.toml's Version + -dev) in a build without -ldflags", Version, want)
	}
}
