//go:build (linux || freebsd || openbsd || netbsd) && !android

package tray

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"sync"

	"github.com/godbus/dbus/v5"
)

// itemProps answers org.freedesktop.DBus.Properties for systray's
// StatusNotifierItem in place of the handler systray exports, which races,
// and which knows no Status but Active.
//
// The race: systray keeps the item's properties in godbus's prop package.
// prop's Get hands out the stored IconPixmap slice (sharing its backing
// array) and the reply is encoded after prop's lock is released, while
// systray.SetIcon stores the next icon into that same array in place
// (dbus.Store reuses a destination slice that is long enough). A panel
// reading the icon while it changes gets a torn picture, and a -race build
// of the agent dies. Here every value is built once and never modified:
// setting a property replaces it under our own lock, so whatever a reader
// got stays intact.
//
// It also fixes the picture: systray converts the PNG with the low byte of
// each 16-bit premultiplied channel, which darkens every semi-transparent
// pixel, i.e. all anti-aliased edges (argbForImage in systray_unix.go);
// toPixmap sends the PNG's own straight-alpha bytes.
//
// systray still owns the item: it exports the object, emits NewIcon,
// NewToolTip and PropertiesChanged (those encode in the setter's
// goroutine, which is safe), and serves the menu. systray has no way to
// change the Status, so setStatus emits NewStatus itself. The values below mirror
// what fyne.io/systray v1.12 exports (systray_unix.go, createPropSpec);
// show updates them before it calls systray, so that a panel reacting to
// systray's signal reads the new value.
type itemProps struct {
	mu   sync.RWMutex
	vals map[string]dbus.Variant
	// conn is the connection the item is exported on, once it is; signals
	// go out there, from the item's own bus name.
	conn *dbus.Conn
}

const (
	itemPath      = dbus.ObjectPath("/StatusNotifierItem")
	itemMenuPath  = dbus.ObjectPath("/StatusNotifierItem/menu")
	itemIface     = "org.kde.StatusNotifierItem"
	propertyIface = "org.freedesktop.DBus.Properties"
)

// pixmap is a StatusNotifierItem picture: (iiay), ARGB32 big-endian.
type pixmap struct {
	W, H int32
	Pix  []byte
}

// tooltip is the StatusNotifierItem ToolTip: (sa(iiay)ss), icon name,
// icon, title, description.
type tooltip struct {
	IconName    string
	Icon        []pixmap
	Title       string
	Description string
}

// newItemProps returns the item's properties; export serves them.
func newItemProps(title string) *itemProps {
	p := &itemProps{vals: map[string]dbus.Variant{
		"Status":        dbus.MakeVariant(statusActive),
		"Title":         dbus.MakeVariant(title),
		"Id":            dbus.MakeVariant(title),
		"Category":      dbus.MakeVariant("ApplicationStatus"),
		"IconName":      dbus.MakeVariant(""),
		"IconPixmap":    dbus.MakeVariant([]pixmap{}),
		"IconThemePath": dbus.MakeVariant(""),
		"ItemIsMenu":    dbus.MakeVariant(true),
		"Menu":          dbus.MakeVariant(itemMenuPath),
		"ToolTip":       dbus.MakeVariant(tooltip{Icon: []pixmap{}}),
	}}
	return p
}

// export takes over the Properties interface of systray's item; call it
// once systray has exported the item, before anything changes.
func (p *itemProps) export() error {
	conn, err := dbus.SessionBus() // systray's connection: godbus shares it
	if err != nil {
		return err
	}
	return p.exportOn(conn)
}

// exportOn serves the properties on conn, where the item lives.
func (p *itemProps) exportOn(conn *dbus.Conn) error {
	if err := conn.Export(p, itemPath, propertyIface); err != nil {
		return err
	}
	p.mu.Lock()
	p.conn = conn
	p.mu.Unlock()
	return nil
}

func (p *itemProps) set(name string, v any) {
	p.mu.Lock()
	p.vals[name] = dbus.MakeVariant(v)
	p.mu.Unlock()
}

// setIcon publishes the PNG's picture.
func (p *itemProps) setIcon(png []byte) {
	px, err := toPixmap(png)
	if err != nil {
		return
	}
	p.set("IconPixmap", []pixmap{px})
}

// setStatus publishes the item's Status (Active or NeedsAttention) and,
// when it changed and the item is on the bus, emits NewStatus with it as
// the StatusNotifierItem specification asks, so that panels redraw the
// item. The value is stored first: a panel reacting to the signal reads
// the new one.
func (p *itemProps) setStatus(s string) {
	p.mu.Lock()
	if old, _ := p.vals["Status"].Value().(string); old == s {
		p.mu.Unlock()
		return
	}
	p.vals["Status"] = dbus.MakeVariant(s)
	conn := p.conn
	p.mu.Unlock()
	if conn != nil {
		// It fails only on a closed connection, when the tray is going.
		conn.Emit(itemPath, itemIface+".NewStatus", s)
	}
}

// setTooltip publishes the tooltip's title.
func (p *itemProps) setTooltip(s string) {
	p.set("ToolTip", tooltip{Icon: []pixmap{}, Title: s})
}

// Get implements org.freedesktop.DBus.Properties.Get.
func (p *itemProps) Get(iface, name string) (dbus.Variant, *dbus.Error) {
	if iface != itemIface {
		return dbus.Variant{}, unknownProperty(iface, name)
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	v, ok := p.vals[name]
	if !ok {
		return dbus.Variant{}, unknownProperty(iface, name)
	}
	return v, nil
}

// GetAll implements org.freedesktop.DBus.Properties.GetAll.
func (p *itemProps) GetAll(iface string) (map[string]dbus.Variant, *dbus.Error) {
	if iface != itemIface {
		return map[string]dbus.Variant{}, nil
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := make(map[string]dbus.Variant, len(p.vals))
	for k, v := range p.vals {
		out[k] = v
	}
	return out, nil
}

// Set implements org.freedesktop.DBus.Properties.Set: panels only read.
func (p *itemProps) Set(iface, name string, _ dbus.Variant) *dbus.Error {
	return dbus.NewError("org.freedesktop.DBus.Error.PropertyReadOnly", []any{fmt.Sprintf("%s.%s is read-only", iface, name)})
}

func unknownProperty(iface, name string) *dbus.Error {
	return dbus.NewError("org.freedesktop.DBus.Error.UnknownProperty", []any{fmt.Sprintf("no property %s.%s", iface, name)})
}

// toPixmap converts a PNG to a StatusNotifierItem picture.
func toPixmap(b []byte) (pixmap, error) {
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return pixmap{}, err
	}
	bounds := img.Bounds()
	nrgba, ok := img.(*image.NRGBA)
	if !ok {
		nrgba = image.NewNRGBA(bounds)
		for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
			for x := bounds.Min.X; x < bounds.Max.X; x++ {
				nrgba.Set(x, y, img.At(x, y))
			}
		}
	}
	w, h := bounds.Dx(), bounds.Dy()
	px := pixmap{W: int32(w), H: int32(h), Pix: make([]byte, w*h*4)}
	for y := range h {
		for x := range w {
			i := nrgba.PixOffset(bounds.Min.X+x, bounds.Min.Y+y)
			j := (y*w + x) * 4
			// systray sends straight (not premultiplied) alpha, as the
			// PNG has it; so do we.
			px.Pix[j], px.Pix[j+1], px.Pix[j+2], px.Pix[j+3] = nrgba.Pix[i+3], nrgba.Pix[i], nrgba.Pix[i+1], nrgba.Pix[i+2]
		}
	}
	return px, nil
}
