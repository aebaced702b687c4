//go:build !((linux || freebsd || openbsd || netbsd) && !android)

package tray

import (
	"context"
	"log/slog"
)

// trayHost reports whether the platform can show a tray icon: Windows and
// macOS always can.
func trayHost() error { return nil }

// watchHost tells changed that the icon is shown: Windows' notification
// area and the macOS menu bar are always there.
func watchHost(_ context.Context, _ *slog.Logger, changed func(present bool)) { changed(true) }
