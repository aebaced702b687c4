// Package traytest is a StatusNotifierWatcher for tests and benchmarks: it
// takes the org.kde.StatusNotifierWatcher name on a D-Bus session bus,
// receives the tray icons' registrations as a desktop panel would, and
// reads and drives a registered icon: its Status, ToolTip, IconPixmap and
// dbusmenu layout, and clicks on its menu entries.
//
// It speaks the freedesktop StatusNotifierItem protocol (KDE's names) and
// com.canonical.dbusmenu, so it tests the tray as any panel sees it,
// whatever library draws it.
package traytest

import (
	"errors"
	"fmt"
	"image"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"
)

const (
	watcherName  = "org.kde.StatusNotifierWatcher"
	watcherPath  = dbus.ObjectPath("/StatusNotifierWatcher")
	itemIface    = "org.kde.StatusNotifierItem"
	menuIface    = "com.canonical.dbusmenu"
	defaultPath  = dbus.ObjectPath("/StatusNotifierItem")
	protocolVers = int32(0)
)

// Watcher owns org.kde.StatusNotifierWatcher on a bus.
type Watcher struct {
	conn  *dbus.Conn
	props *prop.Properties

	mu    sync.Mutex
	items []string
	reg   chan Item
}

// NewWatcher connects to the session bus (a connection of its own: Close
// closes it), takes the watcher's name there and serves the watcher's
// methods and properties, with a host registered so items believe someone
// shows them.
func NewWatcher() (*Watcher, error) {
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		return nil, err
	}
	w, err := newWatcher(conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return w, nil
}

func newWatcher(conn *dbus.Conn) (*Watcher, error) {
	w := &Watcher{conn: conn, reg: make(chan Item, 16)}
	if err := conn.Export(watcher{w}, watcherPath, watcherName); err != nil {
		return nil, err
	}
	props, err := prop.Export(conn, watcherPath, prop.Map{
		watcherName: {
			"IsStatusNotifierHostRegistered": {Value: true, Emit: prop.EmitTrue},
			"RegisteredStatusNotifierItems":  {Value: []string{}, Emit: prop.EmitTrue},
			"ProtocolVersion":                {Value: protocolVers, Emit: prop.EmitTrue},
		},
	})
	if err != nil {
		return nil, err
	}
	w.props = props
	reply, err := conn.RequestName(watcherName, dbus.NameFlagDoNotQueue)
	if err != nil {
		return nil, err
	}
	if reply != dbus.RequestNameReplyPrimaryOwner {
		return nil, errors.New("someone else owns " + watcherName)
	}
	return w, nil
}

// Close gives up the name and closes the connection.
func (w *Watcher) Close() error {
	w.conn.ReleaseName(watcherName)
	return w.conn.Close()
}

// Registered delivers each item that registers.
func (w *Watcher) Registered() <-chan Item { return w.reg }

// Await returns the next item to register, or an error after timeout.
func (w *Watcher) Await(timeout time.Duration) (Item, error) {
	select {
	case it := <-w.reg:
		return it, nil
	case <-time.After(timeout):
		return Item{}, fmt.Errorf("no tray icon registered within %s", timeout)
	}
}

// watcher holds the exported methods, so Watcher's own are not exported
// on the bus.
type watcher struct{ w *Watcher }

// RegisterStatusNotifierItem is called by an item with its bus name or,
// as libappindicator and fyne.io/systray do, its object path (the bus name
// is then the sender's).
func (x watcher) RegisterStatusNotifierItem(sender dbus.Sender, service string) *dbus.Error {
	it := Item{conn: x.w.conn, Bus: string(sender), Path: defaultPath}
	switch {
	case strings.HasPrefix(service, "/"):
		it.Path = dbus.ObjectPath(service)
	case service != "":
		it.Bus = service
	}
	x.w.mu.Lock()
	x.w.items = append(x.w.items, it.Bus+string(it.Path))
	items := append([]string(nil), x.w.items...)
	x.w.mu.Unlock()
	x.w.props.SetMust(watcherName, "RegisteredStatusNotifierItems", items)
	x.w.conn.Emit(watcherPath, watcherName+".StatusNotifierItemRegistered", it.Bus+string(it.Path))
	select {
	case x.w.reg <- it:
	default:
	}
	return nil
}

// RegisterStatusNotifierHost accepts any host.
func (x watcher) RegisterStatusNotifierHost(service string) *dbus.Error { return nil }

// Item is a registered tray icon.
type Item struct {
	conn *dbus.Conn
	// Bus and Path say where the item is.
	Bus  string
	Path dbus.ObjectPath
}

func (it Item) obj() dbus.BusObject { return it.conn.Object(it.Bus, it.Path) }

func (it Item) prop(name string, v any) error {
	p, err := it.obj().GetProperty(itemIface + "." + name)
	if err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	if err := p.Store(v); err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	return nil
}

// Status is the item's Status: Passive, Active or NeedsAttention.
func (it Item) Status() (string, error) {
	var s string
	return s, it.prop("Status", &s)
}

// WatchStatus delivers the Status of each NewStatus signal the item emits
// from now on, as a panel hears them, until stop is called.
func (it Item) WatchStatus() (statuses <-chan string, stop func(), err error) {
	opts := []dbus.MatchOption{
		dbus.WithMatchSender(it.Bus), dbus.WithMatchObjectPath(it.Path),
		dbus.WithMatchInterface(itemIface), dbus.WithMatchMember("NewStatus"),
	}
	if err := it.conn.AddMatchSignal(opts...); err != nil {
		return nil, nil, err
	}
	signals := make(chan *dbus.Signal, 16)
	it.conn.Signal(signals)
	out := make(chan string, 16)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-signals:
				if sig == nil || sig.Sender != it.Bus || sig.Path != it.Path || sig.Name != itemIface+".NewStatus" || len(sig.Body) != 1 {
					continue
				}
				if s, ok := sig.Body[0].(string); ok {
					select {
					case out <- s:
					default:
					}
				}
			case <-done:
				return
			}
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			it.conn.RemoveSignal(signals)
			it.conn.RemoveMatchSignal(opts...)
			close(done)
		})
	}
	return out, stop, nil
}

// Title is the item's Title.
func (it Item) Title() (string, error) {
	var s string
	return s, it.prop("Title", &s)
}

// ToolTip is the item's tooltip.
type ToolTip struct {
	IconName    string
	Icon        []Pixmap
	Title       string
	Description string
}

// ToolTip reads the item's tooltip.
func (it Item) ToolTip() (ToolTip, error) {
	var t ToolTip
	return t, it.prop("ToolTip", &t)
}

// Pixmap is one picture of an icon: Width × Height pixels, 4 bytes each
// in ARGB order, big-endian (the StatusNotifierItem format).
type Pixmap struct {
	Width, Height int32
	ARGB          []byte
}

// Image converts the pixmap to an image.
func (p Pixmap) Image() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, int(p.Width), int(p.Height)))
	for i := 0; i+3 < len(p.ARGB) && i+3 < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = p.ARGB[i+1], p.ARGB[i+2], p.ARGB[i+3], p.ARGB[i]
	}
	return img
}

// IconPixmap reads the item's pictures.
func (it Item) IconPixmap() ([]Pixmap, error) {
	var px []Pixmap
	return px, it.prop("IconPixmap", &px)
}

// MenuPath reads the object path of the item's dbusmenu.
func (it Item) MenuPath() (dbus.ObjectPath, error) {
	var p dbus.ObjectPath
	return p, it.prop("Menu", &p)
}

// MenuNode is a dbusmenu entry and its children.
type MenuNode struct {
	ID       int32
	Label    string
	Type     string // "" or "separator"
	Enabled  bool
	Visible  bool
	Submenu  bool
	Children []MenuNode
}

// Menu reads the whole menu with GetLayout. Note that fyne.io/systray
// answers only the top level the first time (a workaround for
// libdbusmenu-gtk3) and the full tree from then on; callers that need a
// submenu should ask again.
func (it Item) Menu() (MenuNode, error) {
	path, err := it.MenuPath()
	if err != nil {
		return MenuNode{}, err
	}
	var rev uint32
	var root layout
	err = it.conn.Object(it.Bus, path).Call(menuIface+".GetLayout", 0, int32(0), int32(-1), []string{}).Store(&rev, &root)
	if err != nil {
		return MenuNode{}, fmt.Errorf("GetLayout: %w", err)
	}
	return root.node()
}

// Click sends the "clicked" event for the menu entry id, as a panel does.
func (it Item) Click(id int32) error {
	path, err := it.MenuPath()
	if err != nil {
		return err
	}
	return it.conn.Object(it.Bus, path).Call(menuIface+".Event", 0, id, "clicked", dbus.MakeVariant(""), uint32(time.Now().Unix())).Err
}

// layout is GetLayout's (ia{sv}av).
type layout struct {
	ID       int32
	Props    map[string]dbus.Variant
	Children []dbus.Variant
}

func (l layout) node() (MenuNode, error) {
	n := MenuNode{ID: l.ID, Enabled: true, Visible: true}
	str := func(k string) string {
		s, _ := l.Props[k].Value().(string)
		return s
	}
	n.Label, n.Type = str("label"), str("type")
	n.Submenu = str("children-display") == "submenu"
	if v, ok := l.Props["enabled"].Value().(bool); ok {
		n.Enabled = v
	}
	if v, ok := l.Props["visible"].Value().(bool); ok {
		n.Visible = v
	}
	for _, c := range l.Children {
		var cl layout
		if err := dbus.Store([]any{c.Value()}, &cl); err != nil {
			return n, fmt.Errorf("menu entry %d's child: %w", l.ID, err)
		}
		cn, err := cl.node()
		if err != nil {
			return n, err
		}
		n.Children = append(n.Children, cn)
	}
	return n, nil
}

// Find returns the entry reached by following labels from n, e.g.
// Find("Pause", "30 minutes").
func (n MenuNode) Find(labels ...string) (MenuNode, bool) {
	if len(labels) == 0 {
		return n, true
	}
	for _, c := range n.Children {
		if c.Label == labels[0] && c.Type != "separator" {
			return c.Find(labels[1:]...)
		}
	}
	return MenuNode{}, false
}

// String draws the menu as text, one entry a line: hidden entries are
// left out, disabled ones are in brackets, separators are a rule.
func (n MenuNode) String() string {
	var b strings.Builder
	var walk func(MenuNode, int)
	walk = func(n MenuNode, depth int) {
		for _, c := range n.Children {
			if !c.Visible {
				continue
			}
			indent := strings.Repeat("    ", depth)
			switch {
			case c.Type == "separator":
				b.WriteString(indent + "────────\n")
			case !c.Enabled:
				b.WriteString(indent + "[" + c.Label + "]\n")
			case c.Submenu:
				b.WriteString(indent + c.Label + " ▸\n")
			default:
				b.WriteString(indent + c.Label + "\n")
			}
			walk(c, depth+1)
		}
	}
	walk(n, 0)
	return b.String()
}
