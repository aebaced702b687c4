//go:build !((linux || freebsd || openbsd || netbsd) && !android)

package tray

// trayHost reports whether the platform can show a tray icon: Windows and
// macOS always can.
func trayHost() error { return nil }
