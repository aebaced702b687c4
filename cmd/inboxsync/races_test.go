package main

import "testing"

// The e2e harness tolerates only the known race inside fyne.io/systray;
// any other report in an agent's log fails the test.
func TestUnexpectedRaces(t *testing.T) {
	const systray = `
==================
WARNING: DATA RACE
Write at 0x00c000 by goroutine 41:
  fyne.io/systray.refresh()
      /root/go/pkg/mod/fyne.io/systray@v1.12.2/systray_menu_unix.go:423 +0x64
Previous read at 0x00c000 by goroutine 52:
  fyne.io/systray.(*tray).GetLayout()
      /root/go/pkg/mod/fyne.io/systray@v1.12.2/systray_menu_unix.go:91 +0x2a4
==================
`
	const ours = `
==================
WARNING: DATA RACE
Read at 0x00c001 by goroutine 7:
  github.com/inboxsync/inboxsync/ui/tray.(*Tray).rebuild()
Previous write at 0x00c001 by goroutine 9:
  github.com/inboxsync/inboxsync/ui/tray.(*Tray).onEvent()
==================
`
	const halfOurs = `
==================
WARNING: DATA RACE
Write at 0x00c000 by goroutine 41:
  fyne.io/systray.refresh()
Previous read at 0x00c000 by goroutine 52:
  github.com/inboxsync/inboxsync/ui/tray.(*Tray).rebuild()
  fyne.io/systray.(*tray).GetLayout()
==================
`
	for _, tc := range []struct {
		name string
		log  string
		want int
	}{
		{"clean log", "time=… level=INFO msg=\"agent started\"\n", 0},
		{"the known systray race", systray, 0},
		{"a race in our code", ours, 1},
		{"both", systray + ours + systray, 1},
		{"systray against our code", halfOurs, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := unexpectedRaces(tc.log); len(got) != tc.want {
				t.Fatalf("%d unexpected races, want %d: %q", len(got), tc.want, got)
			}
		})
	}
}
