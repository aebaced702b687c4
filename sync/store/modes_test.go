//go:build unix

package store

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/inboxsync/inboxsync/sync/api"
)

// TestNewStoreFilesAreOwnerOnly: under the common umask 022, with which
// SQLite would make the database 0644, a new store's file, the -wal and
// -shm files SQLite adds while it is open and the mark of a clean close
// are all 0600.
func TestNewStoreFilesAreOwnerOnly(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "inboxsync.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddAccount(context.Background(), api.Account{ID: "ann", Provider: "scripted", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	check := func(want ...string) {
		t.Helper()
		var seen []string
		for _, f := range Files(path) {
			fi, err := os.Stat(f)
			if err != nil {
				continue
			}
			seen = append(seen, filepath.Base(f))
			if m := fi.Mode().Perm(); m != 0o600 {
				t.Errorf("%s is %04o, want 0600", filepath.Base(f), m)
			}
		}
		for _, w := range want {
			if !slices.Contains(seen, w) {
				t.Errorf("%s does not exist (the test would check nothing); files: %v", w, seen)
			}
		}
	}
	check("inboxsync.db", "inboxsync.db-wal", "inboxsync.db-shm")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	check("inboxsync.db", "inboxsync.db.closed")
}
