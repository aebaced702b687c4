// Package winetest runs the Windows build of Inbox Sync end to end under
// Wine: the cross-built inboxsync.exe and inboxsync-window.exe in a
// throwaway WINEPREFIX on Xvfb, against the emulators on loopback. The
// test is wine_test.go (build tag wine); scripts/test-windows.sh prepares
// the prefix and runs it, and CI runs that script.
package winetest
