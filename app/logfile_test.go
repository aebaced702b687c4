package app

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/inboxsync/inboxsync/internal/install"
)

func TestRotatingFileKeepsBoundedHistory(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "inboxsync.log")
	r, err := openRotating(p, 100, 2)
	if err != nil {
		t.Fatal(err)
	}
	line := bytes.Repeat([]byte("x"), 39)
	line = append(line, '\n')
	for range 10 {
		if _, err := r.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	r.Close()
	for _, name := range []string{"inboxsync.log", "inboxsync.log.1", "inboxsync.log.2"} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if info.Size() > 100 || info.Size() == 0 {
			t.Errorf("%s holds %d bytes, want 1..100", name, info.Size())
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", name, info.Mode().Perm())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "inboxsync.log.3")); !os.IsNotExist(err) {
		t.Errorf("more than 2 old logs kept: %v", err)
	}
	// Reopening appends to the current file.
	r, _ = openRotating(p, 100, 2)
	before, _ := os.ReadFile(p)
	r.Write([]byte("y\n"))
	r.Close()
	after, _ := os.ReadFile(p)
	if !bytes.HasPrefix(after, before) || len(after) != len(before)+2 {
		t.Fatalf("reopen did not append: %q → %q", before, after)
	}
}

func TestResolvePaths(t *testing.T) {
	dir := t.TempDir()
	p, err := install.ResolvePaths(dir)
	if err != nil {
		t.Fatal(err)
	}
	if p.DB != filepath.Join(dir, "inboxsync.db") || p.Socket != filepath.Join(dir, "run", "control.sock") || p.LogDir != filepath.Join(dir, "logs") {
		t.Fatalf("paths for --home: %+v", p)
	}
	t.Setenv("INBOXSYNC_HOME", "")
	t.Setenv("XDG_DATA_HOME", "/d")
	t.Setenv("XDG_STATE_HOME", "/s")
	t.Setenv("XDG_RUNTIME_DIR", "/r")
	p, err = install.ResolvePaths("")
	if err != nil {
		t.Fatal(err)
	}
	if p.DB != "/d/inboxsync/inboxsync.db" || p.LogDir != "/s/inboxsync/logs" || p.Socket != "/r/inboxsync/control.sock" {
		t.Fatalf("XDG paths: %+v", p)
	}
	if _, err := install.ResolvePaths("/" + string(bytes.Repeat([]byte("a"), 120))); err == nil {
		t.Fatal("a home too long for a unix socket was accepted")
	}
}
