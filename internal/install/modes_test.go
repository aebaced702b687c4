package install

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
)

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestEnsureTightensExistingFolders: a home whose folders were made 0755
// (and one 0750) before the agent's first start ends with each 0700, and
// Ensure says which it changed; a folder already private is not reported,
// and the folder above the home is the user's, left alone.
func TestEnsureTightensExistingFolders(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows guards files with ACLs; Tighten does nothing there")
	}
	parent := t.TempDir()
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(parent, "shared")
	for _, d := range []struct {
		path string
		mode fs.FileMode
	}{{home, 0o755}, {filepath.Join(home, "logs"), 0o750}, {filepath.Join(home, "run"), 0o700}} {
		if err := os.Mkdir(d.path, d.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d.path, d.mode); err != nil { // whatever the umask
			t.Fatal(err)
		}
	}
	p, err := ResolvePaths(home)
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Ensure()
	if err != nil {
		t.Fatal(err)
	}
	want := []Tightened{
		{Path: home, Was: 0o755, Now: 0o700},
		{Path: filepath.Join(home, "logs"), Was: 0o750, Now: 0o700},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Ensure tightened %+v, want %+v", got, want)
	}
	for _, d := range []string{home, p.LogDir, p.RunDir} {
		if m := mode(t, d); m != 0o700 {
			t.Errorf("%s is %04o, want 0700", d, m)
		}
	}
	if m := mode(t, parent); m != 0o755 {
		t.Errorf("the folder above the home became %04o; it is not the agent's", m)
	}
	if again, err := p.Ensure(); err != nil || len(again) > 0 {
		t.Errorf("a second Ensure tightened %+v (%v), want nothing", again, err)
	}
}

// TestEnsureCreatesPrivateFolders: a missing home is made 0700 whatever
// the umask leaves.
func TestEnsureCreatesPrivateFolders(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows guards files with ACLs; Tighten does nothing there")
	}
	p, err := ResolvePaths(filepath.Join(t.TempDir(), "new", "home"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := p.Ensure(); err != nil || len(got) > 0 {
		t.Fatalf("Ensure = %+v, %v; want nothing to tighten", got, err)
	}
	for _, d := range []string{filepath.Dir(p.DB), p.LogDir, p.RunDir} {
		if m := mode(t, d); m != 0o700 {
			t.Errorf("%s is %04o, want 0700", d, m)
		}
	}
}

// TestTighten takes bits away and never adds one; a missing file is no
// error and no change.
func TestTighten(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows guards files with ACLs; Tighten does nothing there")
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		was, want fs.FileMode
	}{{0o644, 0o600}, {0o666, 0o600}, {0o640, 0o600}, {0o600, 0o600}, {0o400, 0o400}, {0o604, 0o600}} {
		path := filepath.Join(dir, "f")
		os.Remove(path)
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, tc.was); err != nil {
			t.Fatal(err)
		}
		got, ok, err := Tighten(path, PrivateFile)
		if err != nil {
			t.Fatal(err)
		}
		if m := mode(t, path); m != tc.want {
			t.Errorf("%04o became %04o, want %04o", tc.was, m, tc.want)
		}
		if changed := tc.was != tc.want; ok != changed || (ok && got != (Tightened{Path: path, Was: tc.was, Now: tc.want})) {
			t.Errorf("%04o: Tighten = %+v, %v; want a change reported: %v", tc.was, got, ok, changed)
		}
	}
	if _, ok, err := Tighten(filepath.Join(dir, "missing"), PrivateFile); ok || err != nil {
		t.Errorf("a missing file: changed %v, error %v; want neither", ok, err)
	}
	all, err := TightenAll(PrivateFile, filepath.Join(dir, "missing"), filepath.Join(dir, "f"))
	if err != nil || len(all) != 0 {
		t.Errorf("TightenAll on private files = %+v, %v; want nothing", all, err)
	}
}
