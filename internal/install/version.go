package install

import (
	"fmt"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// What the build stamps, besides Version, with
//
//	-ldflags "-X github.com/inboxsync/inboxsync/internal/install.Commit=… -X github.com/inboxsync/inboxsync/internal/install.BuildDate=…"
//
// (scripts/package.sh and scripts/run.sh do). A build without them — go
// build, go install, go test — falls back on what the go command recorded
// from git: the commit and its time.
var (
	// Commit is the git commit the binary was built from, with "-dirty"
	// when the work tree had changes.
	Commit string
	// BuildDate is when the binary was built, RFC 3339 in UTC.
	BuildDate string
)

// BuildInfo says which build of Inbox Sync this is.
type BuildInfo struct {
	// Version is the release, FyneApp.toml's Version when stamped;
	// unstamped builds say "<FyneApp.toml's version>-dev" unless the go
	// command recorded a release tag.
	Version string `json:"version"`
	// Commit is the git commit ("-dirty" when the work tree had changes),
	// or "" when unknown.
	Commit string `json:"commit"`
	// Date is when the binary was built, RFC 3339 in UTC; "" when the
	// build was not stamped.
	Date string `json:"date"`
	// CommitDate is the commit's time as the go command recorded it, RFC
	// 3339 in UTC; "" when unknown.
	CommitDate string `json:"commit_date"`
	// Go is the Go release that built the binary.
	Go string `json:"go"`
	// Platform is GOOS/GOARCH.
	Platform string `json:"platform"`
	// TestBuild is true for builds with the scripted test provider.
	TestBuild bool `json:"test_build"`
}

// releaseTag matches a clean release tag as the go command records it.
var releaseTag = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+$`)

// Build returns this binary's build information.
func Build() BuildInfo {
	bi, _ := debug.ReadBuildInfo()
	return buildInfo(Version, Commit, BuildDate, bi)
}

// buildInfo puts together what was stamped and what the go command
// recorded in bi (nil when nothing was), preferring the stamps.
func buildInfo(version, commit, date string, bi *debug.BuildInfo) BuildInfo {
	b := BuildInfo{Version: version, Commit: commit, Date: date,
		Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH, TestBuild: TestBuild}
	if bi == nil {
		return b
	}
	if bi.GoVersion != "" {
		b.Go = bi.GoVersion
	}
	if strings.HasSuffix(b.Version, "-dev") && releaseTag.MatchString(bi.Main.Version) {
		b.Version = strings.TrimPrefix(bi.Main.Version, "v")
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if b.Commit == "" && settings["vcs.revision"] != "" {
		b.Commit = settings["vcs.revision"]
		if settings["vcs.modified"] == "true" {
			b.Commit += "-dirty"
		}
	}
	b.CommitDate = settings["vcs.time"]
	return b
}

// String is the one-line form: "0.1.0 (commit 1a2b3c4d5e6f, built
// 2026-11-27 15:04 UTC)".
func (b BuildInfo) String() string {
	var parts []string
	if b.Commit != "" {
		c, dirty := strings.CutSuffix(b.Commit, "-dirty")
		if len(c) > 12 {
			c = c[:12]
		}
		if dirty {
			c += "-dirty"
		}
		parts = append(parts, "commit "+c)
	}
	if b.Date != "" {
		parts = append(parts, "built "+day(b.Date))
	} else if b.CommitDate != "" {
		parts = append(parts, "committed "+day(b.CommitDate))
	}
	if len(parts) == 0 {
		return b.Version
	}
	return fmt.Sprintf("%s (%s)", b.Version, strings.Join(parts, ", "))
}

// day formats an RFC 3339 time for people, or returns it as it is.
func day(s string) string {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC().Format("2006-01-02 15:04 UTC")
	}
	return s
}

// Version is the build's version, set with -ldflags "-X …/internal/install.Version=…".
var Version = "0.1.0-dev"

// NotRunningHelp is what the CLI says when a verb needs the agent.
func NotRunningHelp() string {
	return "Inbox Sync is not running. Start it with `inboxsync` (or `inboxsync agent --no-tray` on a machine without a desktop)."
}
