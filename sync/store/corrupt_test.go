package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inboxsync/inboxsync/sync/api"
)

// makeStore creates a store at path with n items and closes it.
func makeStore(t *testing.T, path string, n int) {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.AddAccount(ctx, api.Account{ID: "work", Provider: "scripted"}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i*500 < n; i++ {
		if _, err := s.ApplyPage(ctx, "work", api.Inbox, realisticPage(i, min(500, n-i*500), scriptedID), t0); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func sum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// sidecars returns the -wal, -shm and -journal files next to path.
func sidecars(path string) []string {
	var out []string
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if _, err := os.Stat(path + suffix); err == nil {
			out = append(out, filepath.Base(path+suffix))
		}
	}
	return out
}

func TestDamagedFilesAreLeftUntouched(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	garbage := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rnd.Uint32())
		}
		return b
	}
	pageSize := func(t *testing.T, path string) int64 {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var hdr [18]byte
		f.ReadAt(hdr[:], 0)
		return int64(binary.BigEndian.Uint16(hdr[16:]))
	}
	cases := []struct {
		name string
		make func(t *testing.T, path string)
		want error
	}{
		{"random bytes", func(t *testing.T, path string) {
			os.WriteFile(path, garbage(8192), 0o600)
		}, ErrCorrupt},
		{"shorter than a header", func(t *testing.T, path string) {
			os.WriteFile(path, sqliteHeader, 0o600)
		}, ErrCorrupt},
		{"SQLite header, then random bytes", func(t *testing.T, path string) {
			os.WriteFile(path, append(append([]byte{}, sqliteHeader...), garbage(16384)...), 0o600)
		}, ErrCorrupt},
		{"a page of garbage in the middle", func(t *testing.T, path string) {
			makeStore(t, path, 3000)
			ps := pageSize(t, path)
			fi, _ := os.Stat(path)
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt(garbage(int(ps)), (fi.Size()/ps/2)*ps); err != nil {
				t.Fatal(err)
			}
		}, ErrCorrupt},
		{"truncated to half", func(t *testing.T, path string) {
			makeStore(t, path, 3000)
			ps := pageSize(t, path)
			fi, _ := os.Stat(path)
			os.Truncate(path, (fi.Size()/ps/2)*ps)
		}, ErrCorrupt},
		{"truncated mid-page", func(t *testing.T, path string) {
			makeStore(t, path, 3000)
			fi, _ := os.Stat(path)
			os.Truncate(path, fi.Size()-1000)
		}, ErrCorrupt},
		{"written by a newer version", func(t *testing.T, path string) {
			makeStore(t, path, 10)
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", schemaVersion()+1)); err != nil {
				t.Fatal(err)
			}
			db.Close()
		}, ErrTooNew},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "inboxsync.db")
			c.make(t, path)
			if sc := sidecars(path); len(sc) > 0 {
				t.Fatalf("setup left %v", sc)
			}
			before := sum(t, path)

			s, err := Open(path)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("Open: %v, want %v", err, c.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, path) || !strings.Contains(msg, "left untouched") {
				t.Errorf("message %q does not name the file or say it was left untouched", msg)
			}
			if c.want == ErrTooNew && !strings.Contains(msg, "newer version of Inbox Sync") {
				t.Errorf("message %q", msg)
			}
			t.Log(msg)
			if sum(t, path) != before {
				t.Error("Open changed the file")
			}
			if sc := sidecars(path); len(sc) > 0 {
				t.Errorf("Open left %v", sc)
			}

			// The reader refuses what it can see without a full check, and
			// never writes either.
			if r, err := OpenReadOnly(path); err == nil {
				r.CountItems(context.Background(), "")
				r.Close()
			} else if c.want == ErrTooNew && !errors.Is(err, ErrTooNew) {
				t.Errorf("OpenReadOnly: %v, want ErrTooNew", err)
			}
			if sum(t, path) != before {
				t.Error("OpenReadOnly changed the file")
			}
		})
	}
}

// TestOpenAfterCrashReadsTheLog: a -wal file left by a killed process holds
// committed pages; the checks must read it, not call the file damaged.
func TestOpenAfterCrashReadsTheLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "inboxsync.db")
	makeStore(t, path, 100)
	ctx := context.Background()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyPage(ctx, "work", api.Inbox, realisticPage(1, 400, scriptedID), t0); err != nil {
		t.Fatal(err)
	}
	// Copy the files as a crash would leave them: the main file and the log.
	crash := filepath.Join(t.TempDir(), "inboxsync.db")
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(path + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(crash+suffix, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	c, err := Open(crash)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n, err := c.CountItems(ctx, "work"); err != nil || n != 500 {
		t.Errorf("CountItems after the crash = %d, %v; want 500", n, err)
	}
}

// TestCleanCloseSkipsTheFullCheck checks when Open reads every page: not
// after a clean close that nothing followed, but after a process that did
// not close the store, and after any change to the file since.
func TestCleanCloseSkipsTheFullCheck(t *testing.T) {
	full := 0
	testHookFullCheck = func() { full++ }
	t.Cleanup(func() { testHookFullCheck = nil })
	open := func(t *testing.T, path string) (*Store, error) {
		t.Helper()
		full = 0
		return Open(path)
	}
	path := filepath.Join(t.TempDir(), "inboxsync.db")
	makeStore(t, path, 600)
	if _, err := os.Stat(markPath(path)); err != nil {
		t.Fatalf("no mark after a clean close: %v", err)
	}

	s, err := open(t, path)
	if err != nil || full != 0 {
		t.Fatalf("Open after a clean close: %v, %d full checks; want none", err, full)
	}
	if _, err := os.Stat(markPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the mark is still there while the store is open: %v", err)
	}
	// A second process opens it while the first still has it open (as
	// after a crash: the first never closes).
	s2, err := open(t, path)
	if err != nil || full != 1 {
		t.Fatalf("Open without a clean close before: %v, %d full checks; want 1", err, full)
	}
	s2.Close()
	s.Close()

	// The last close was clean again.
	s, err = open(t, path)
	if err != nil || full != 0 {
		t.Fatalf("reopen: %v, %d full checks", err, full)
	}
	s.Close()
	// Any write after the close, even within the same tick of a coarse
	// clock, is seen: a page in the middle becomes garbage.
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(make([]byte, 4096), fi.Size()/2/4096*4096); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if s, err := open(t, path); !errors.Is(err, ErrCorrupt) || full != 1 {
		if err == nil {
			s.Close()
		}
		t.Fatalf("Open of a file changed after its clean close: %v, %d full checks; want ErrCorrupt after a full check", err, full)
	}
}
