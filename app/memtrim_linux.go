package app

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// releaseBinaryPages lets go of the pages of the program's own code and
// read-only data that start-up or a sync session mapped but the idle agent
// does not use.
//
// The agent's binary (the engine, every provider, SQLite, the command line)
// is 20+ MB of code and read-only data. On recent
// kernels the page cache holds such a file in large folios (up to 2 MB), and
// a fault on one byte maps the whole folio, so start-up leaves most of the
// binary resident in the agent though it runs a small part of it. Here the
// agent, once idle:
//
//  1. marks its read-only mappings of the executable MADV_RANDOM, so later
//     faults read just the page they need (no read-ahead, no large folio);
//  2. drops those mappings' pages (MADV_DONTNEED: for read-only file pages
//     this only unmaps them; they come back from the file when touched);
//  3. asks the kernel to drop the file's cached pages nobody maps any more
//     (POSIX_FADV_DONTNEED), so what the agent touches next is read again
//     in small pages rather than mapped as whole large folios.
//
// Nothing is lost: these pages are clean copies of the executable. The
// writable data segment is left alone. It returns the process's file-backed
// resident memory (RssFile) before and after, in bytes.
func releaseBinaryPages() (before, after int64, err error) {
	before, err = rssFile()
	if err != nil {
		return 0, 0, err
	}
	exe, err := os.Executable()
	if err != nil {
		return before, before, err
	}
	spans, err := readOnlyMappings(exe)
	if err != nil {
		return before, before, err
	}
	if len(spans) == 0 {
		return before, before, fmt.Errorf("no read-only mapping of %s in /proc/self/maps", exe)
	}
	for _, s := range spans {
		if err := madvise(s, unix.MADV_RANDOM); err != nil {
			return before, before, err
		}
		if err := madvise(s, unix.MADV_DONTNEED); err != nil {
			return before, before, err
		}
	}
	if f, err := os.Open(exe); err == nil {
		// Best effort: a kernel or file system may keep the pages anyway.
		_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
		f.Close()
	}
	after, err = rssFile()
	return before, after, err
}

// mapping is one range of the process's address space.
type mapping struct{ lo, hi uintptr }

// readOnlyMappings lists the mappings of the file exe that are not
// writable and hold only clean copies of the file (code and read-only
// data), from /proc/self/smaps. A mapping with anonymous pages is left out:
// that is the RELRO region (.got and friends), written by the dynamic
// loader and only then made read-only. Dropping its pages would put back
// the file's unrelocated contents and the next call through it would jump
// to address 0.
func readOnlyMappings(exe string) ([]mapping, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseSmaps(f, exe)
}

// parseSmaps reads /proc/PID/smaps text for readOnlyMappings.
func parseSmaps(r io.Reader, exe string) ([]mapping, error) {
	var spans []mapping
	var cur *mapping // the exe's read-only mapping being read, if any
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 5 && strings.Contains(fields[0], "-") && len(fields[1]) == 4 {
			// A mapping's header:
			// 00404000-00edf000 r-xp 00004000 fe:00 9977975  /path/to/exe
			if cur != nil {
				spans = append(spans, *cur)
				cur = nil
			}
			if len(fields) < 6 || strings.Join(fields[5:], " ") != exe || strings.Contains(fields[1], "w") {
				continue
			}
			lo, hi, ok := strings.Cut(fields[0], "-")
			l, err1 := strconv.ParseUint(lo, 16, 64)
			h, err2 := strconv.ParseUint(hi, 16, 64)
			if !ok || err1 != nil || err2 != nil || h <= l {
				continue
			}
			cur = &mapping{uintptr(l), uintptr(h)}
			continue
		}
		if cur != nil && len(fields) >= 2 && fields[0] == "Anonymous:" && fields[1] != "0" {
			cur = nil // written pages (RELRO): never drop them
		}
	}
	if cur != nil {
		spans = append(spans, *cur)
	}
	return spans, sc.Err()
}

func madvise(s mapping, advice int) error {
	// unix.Madvise takes a []byte; these ranges are not Go memory, so call
	// the system call with the addresses themselves.
	if _, _, e := unix.Syscall(unix.SYS_MADVISE, s.lo, s.hi-s.lo, uintptr(advice)); e != 0 {
		return fmt.Errorf("madvise %#x-%#x: %w", s.lo, s.hi, e)
	}
	return nil
}

// rssFile reads the process's file-backed resident memory, in bytes.
func rssFile() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("RssFile in /proc/self/status: %w", err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no RssFile in /proc/self/status")
}
