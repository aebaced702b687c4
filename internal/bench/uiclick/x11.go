//go:build unix

package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"regexp"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// xwatch follows the display's top-level windows through X events on its
// own connection, so waiting for a window starts no process.
type xwatch struct {
	c      *xgb.Conn
	root   xproto.Window
	name   xproto.Atom
	events chan xgb.Event
}

// errNotMapped is awaitMapped's error when no matching window appeared.
var errNotMapped = errors.New("no window mapped in time")

// newXWatch connects to $DISPLAY and asks for the root window's
// structure events (a top-level window being mapped).
func newXWatch() (*xwatch, error) {
	// xgb logs to stderr that Xvfb has no ~/.Xauthority (none is needed).
	xgb.Logger = log.New(io.Discard, "", 0)
	c, err := xgb.NewConn()
	if err != nil {
		return nil, fmt.Errorf("connecting to the X display: %w", err)
	}
	root := xproto.Setup(c).DefaultScreen(c).Root
	if err := xproto.ChangeWindowAttributesChecked(c, root, xproto.CwEventMask,
		[]uint32{xproto.EventMaskSubstructureNotify}).Check(); err != nil {
		return nil, err
	}
	const netWMName = "_NET_WM_NAME"
	r, err := xproto.InternAtom(c, false, uint16(len(netWMName)), netWMName).Reply()
	if err != nil {
		return nil, err
	}
	x := &xwatch{c: c, root: root, name: r.Atom, events: make(chan xgb.Event, 64)}
	go func() {
		for {
			ev, err := c.WaitForEvent()
			if ev == nil && err == nil {
				close(x.events) // connection closed
				return
			}
			if ev != nil {
				x.events <- ev
			}
		}
	}()
	return x, nil
}

// title returns window w's title (_NET_WM_NAME, else WM_NAME).
func (x *xwatch) title(w xproto.Window) string {
	for _, a := range []xproto.Atom{x.name, xproto.AtomWmName} {
		r, err := xproto.GetProperty(x.c, false, w, a, xproto.GetPropertyTypeAny, 0, 256).Reply()
		if err == nil && r.ValueLen > 0 {
			return string(r.Value)
		}
	}
	return ""
}

// awaitMapped returns the first window whose title matches re that is
// mapped before timeout (events from before the click are dropped by
// drain first), or errNotMapped.
func (x *xwatch) awaitMapped(re *regexp.Regexp, timeout time.Duration) (xproto.Window, error) {
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-x.events:
			if !ok {
				return 0, errors.New("the X connection closed")
			}
			if m, ok := ev.(xproto.MapNotifyEvent); ok && re.MatchString(x.title(m.Window)) {
				return m.Window, nil
			}
		case <-deadline:
			return 0, fmt.Errorf("%w: %v within %s", errNotMapped, re, timeout)
		}
	}
}

// drain drops the events received so far.
func (x *xwatch) drain() {
	for {
		select {
		case <-x.events:
		default:
			return
		}
	}
}

// drawn reports whether window w's pixels are no longer one flat colour
// (its first frame is drawn).
func (x *xwatch) drawn(w xproto.Window) (bool, error) {
	g, err := xproto.GetGeometry(x.c, xproto.Drawable(w)).Reply()
	if err != nil {
		return false, fmt.Errorf("the window's geometry: %w", err)
	}
	img, err := xproto.GetImage(x.c, xproto.ImageFormatZPixmap, xproto.Drawable(w), 0, 0, g.Width, g.Height, 0xffffffff).Reply()
	if err != nil {
		return false, fmt.Errorf("the window's pixels: %w", err)
	}
	d := img.Data
	for i := 4; i+3 < len(d); i += 4 {
		if d[i] != d[0] || d[i+1] != d[1] || d[i+2] != d[2] {
			return true, nil
		}
	}
	return false, nil
}
