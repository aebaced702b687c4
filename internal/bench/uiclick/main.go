//go:build unix

// Command uiclick measures tray click → window drawn for benchmarks. It
// plays a desktop panel on the session bus (it owns
// org.kde.StatusNotifierWatcher), waits for a tray icon to register, then
// for each round clicks a menu entry through com.canonical.dbusmenu Event,
// as a panel does, and times until an X window with the given title is
// mapped on $DISPLAY (its MapNotify event) and until it is drawn (its
// pixels, read with GetImage every 5 ms, are no longer one flat colour).
// It watches through its own X connection: no process is started while a
// round is timed (polling with xdotool and ImageMagick's import, as it
// once did, took the CPU from the window being measured on two cores and
// added 200–300 ms to each figure). It then ends
// that window's process with SIGTERM (its pid from _NET_WM_PID), waits
// until the window is gone and the process reaped, and starts the next
// round. It prints each sample and the medians, in ms. Used by
// scripts/bench-ui.sh.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/inboxsync/inboxsync/ui/tray/traytest"
)

func main() {
	rounds := flag.Int("n", 10, "number of `rounds`")
	entry := flag.String("entry", "Open dashboard", "the menu entry to click")
	title := flag.String("title", "^Inbox Sync$", "`regexp` the window's title matches")
	timeout := flag.Duration("timeout", 30*time.Second, "give up on a round after `D`")
	openWait := flag.Duration("open-wait", 10*time.Second, "count a round as failed when no window shows within `D` of the click (its process failed: the agent logs why) and go on")
	flag.Parse()
	titleRe, err := regexp.Compile(*title)
	if err != nil {
		fail(err)
	}
	xw, err := newXWatch()
	if err != nil {
		fail(err)
	}
	w, err := traytest.NewWatcher()
	if err != nil {
		fail(err)
	}
	defer w.Close()
	fmt.Println("watching")
	item, err := w.Await(*timeout)
	if err != nil {
		fail(err)
	}
	id, err := findEntry(item, *entry, *timeout)
	if err != nil {
		fail(err)
	}
	if ids, _ := search(*title); len(ids) != 0 {
		fail(fmt.Errorf("a window %q is open before the first click", *title))
	}
	var (
		mapped, drawn []float64
		failed        int
	)
rounds:
	for i := 1; i <= *rounds; i++ {
		xw.drain()
		start := time.Now()
		if err := item.Click(id); err != nil {
			fail(fmt.Errorf("clicking %q: %w", *entry, err))
		}
		win, err := xw.awaitMapped(titleRe, *openWait)
		if errors.Is(err, errNotMapped) {
			// Seen now and then on Xvfb: the window's process could
			// not open the display. Measure the other rounds.
			fmt.Printf("round %2d: no window %q within %s: not counted\n", i, *title, *openWait)
			failed++
			if failed > *rounds/2 {
				fail(fmt.Errorf("%d of %d rounds showed no window", failed, i))
			}
			continue rounds
		}
		if err != nil {
			fail(err)
		}
		m := since(start)
		looks := 0
		for {
			looks++
			ok, err := xw.drawn(win)
			if err != nil {
				fail(fmt.Errorf("round %d: %w", i, err))
			}
			if ok {
				break
			}
			if time.Since(start) > *timeout {
				fail(fmt.Errorf("round %d: the window %q was never drawn within %s", i, *title, *timeout))
			}
			time.Sleep(5 * time.Millisecond)
		}
		d := since(start)
		mapped, drawn = append(mapped, m), append(drawn, d)
		fmt.Printf("round %2d: drawn %7.1f ms (mapped %7.1f ms, %d looks)\n", i, d, m, looks)
		if err := closeWindow(strconv.Itoa(int(win)), *title, *timeout); err != nil {
			fail(fmt.Errorf("round %d: %w", i, err))
		}
	}
	for _, s := range []struct {
		what    string
		samples []float64
	}{{"drawn", drawn}, {"mapped", mapped}} {
		slices.Sort(s.samples)
		n := len(s.samples)
		median := s.samples[n/2]
		if n%2 == 0 {
			median = (s.samples[n/2-1] + s.samples[n/2]) / 2
		}
		fmt.Printf("median of %d, click → window %s: %.1f ms (min %.1f, max %.1f)\n", n, s.what, median, s.samples[0], s.samples[n-1])
	}
	if failed > 0 {
		fmt.Printf("%d round(s) showed no window and are not counted\n", failed)
	}
}

func since(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }

// findEntry waits until the tray's menu has entry, enabled, and returns
// its id. (fyne.io/systray's first layout may be incomplete.)
func findEntry(item traytest.Item, entry string, timeout time.Duration) (int32, error) {
	deadline := time.Now().Add(timeout)
	for {
		menu, err := item.Menu()
		if err == nil {
			if n, ok := menu.Find(entry); ok && n.Enabled && n.Visible {
				return n.ID, nil
			}
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("no enabled menu entry %q (err %v):\n%s", entry, err, menu)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// search lists the visible windows whose title matches title.
func search(title string) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "xdotool", "search", "--onlyvisible", "--name", title).Output()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) && exitErr.ExitCode() == 1 && len(out) == 0 {
		return nil, nil // nothing matches
	}
	if err != nil {
		return nil, fmt.Errorf("xdotool search: %w", err)
	}
	return strings.Fields(string(out)), nil
}

// closeWindow ends the window's process and waits until the window is
// gone and the process reaped (only then will the agent open it again).
func closeWindow(id, title string, timeout time.Duration) error {
	out, err := exec.Command("xdotool", "getwindowpid", id).Output()
	if err != nil {
		return fmt.Errorf("xdotool getwindowpid %s: %w", id, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil || pid <= 1 {
		return fmt.Errorf("window %s has no usable pid (%q)", id, out)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("ending the window process %d: %w", pid, err)
	}
	deadline := time.Now().Add(timeout)
	for {
		ids, err := search(title)
		if err != nil {
			return err
		}
		_, statErr := os.Stat("/proc/" + strconv.Itoa(pid))
		if len(ids) == 0 && errors.Is(statErr, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("window process %d did not go away", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Let the agent log the reaping before the next click.
	time.Sleep(200 * time.Millisecond)
	return nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "uiclick:", err)
	os.Exit(1)
}
