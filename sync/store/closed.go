package store

// The mark of a clean close: Open checks every page of the file (SQLite's
// quick_check) unless the file is as this store left it when it was last
// closed cleanly. A million items take about a second to check, and the
// agent opens the store at every login; a file that nothing touched since
// a clean close needs no check, while one closed by a crash, changed by
// another program, truncated or restored from a copy is checked in full.
//
// The mark is a small file beside the store ("inboxsync.db.closed") that
// holds the store's size and modification time after the close. To tell a
// later write from the close even on a file system whose clock is coarse
// (writes within the same few milliseconds share a time), the close sets
// the store's modification time two seconds into the past: any later
// write moves it forward again. Open deletes the mark before it changes
// the file, so a process killed afterwards leaves no mark.

import (
	"fmt"
	"os"
	"time"
)

// markPath returns the path of the mark of a clean close of the store at
// path.
func markPath(path string) string { return path + ".closed" }

// markClean records that the store at path was closed cleanly. It does
// nothing when a log or journal beside the file still holds content.
func markClean(path string) error {
	if nonEmpty(path+"-wal") || nonEmpty(path+"-journal") {
		return nil
	}
	at := time.Now().Add(-2 * time.Second).Truncate(time.Second)
	if err := os.Chtimes(path, at, at); err != nil {
		return err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp := markPath(path) + ".tmp"
	// A stale one (a crash between the write and the rename) would keep
	// its mode through WriteFile: start afresh, owner-only.
	os.Remove(tmp)
	if err := os.WriteFile(tmp, []byte(stamp(fi)), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, markPath(path))
}

// closedCleanly reports whether the store at path is as it was when it
// was last closed cleanly.
func closedCleanly(path string) bool {
	mark, err := os.ReadFile(markPath(path))
	if err != nil {
		return false
	}
	fi, err := os.Stat(path)
	if err != nil || nonEmpty(path+"-wal") || nonEmpty(path+"-journal") {
		return false
	}
	return string(mark) == stamp(fi)
}

// stamp is what the mark holds of the store's file.
func stamp(fi os.FileInfo) string {
	return fmt.Sprintf("size %d modified %d\n", fi.Size(), fi.ModTime().UnixNano())
}
