package tray

import (
	"context"
	"runtime"

	"fyne.io/systray"

	"github.com/inboxsync/inboxsync/assets"
)

// systrayMenu shows Views on fyne.io/systray.
//
// The menu is built once, with every entry it can ever show, and each View
// only changes labels, enabled flags and visibility. We do not rebuild it
// from scratch with systray.ResetMenu, although the tray is conceptually
// rebuilt on every event (see Build): in fyne.io/systray v1.12 on Linux a
// reset replaces the whole dbusmenu layout, makes the next GetLayout answer
// only the top level (its workaround for libdbusmenu-gtk3 dropping
// submenus) and closes the old items' click channels, so a menu the user
// has open would flicker or lose its Pause submenu on every sync page.
// Changing existing items sends small ItemsPropertiesUpdated signals
// instead, and only for what changed. The price is a bound: the menu has
// MaxAccountSlots account sections, hidden when unused.
//
// Hiding is only for entries that do not apply (unused account sections,
// Pause while paused and Resume while not); entries that apply but cannot
// act now are disabled, so the menu does not jump around.
type systrayMenu struct {
	status *entry
	slots  []slotEntries
	more   *entry

	syncNow    *entry
	pause      *entry
	pauseFor   []*entry
	resume     *entry
	dashboard  *entry
	settings   *entry
	reactivate *entry
	quit       *entry

	icon    string
	tooltip string
	// itemStatus is the StatusNotifierItem Status last published: Active
	// or NeedsAttention.
	itemStatus string
	// props publishes the icon and tooltip where systray's own way is
	// broken (see itemprops_unix.go); nil elsewhere.
	props itemShadow

	clickCh chan click
}

// itemShadow receives the icon and the tooltip before systray does, and
// the item's Status, which systray cannot change at all.
type itemShadow interface {
	setIcon(png []byte)
	setTooltip(string)
	setStatus(string)
}

type slotEntries struct {
	header, syncNow, reactivate *entry
}

// entry is a systray item and what it shows, so that show touches (and
// signals over D-Bus) only what changed.
type entry struct {
	mi      *systray.MenuItem
	label   string
	enabled bool
	visible bool
}

func (e *entry) set(label string, enabled, visible bool) {
	if label != e.label {
		e.label = label
		e.mi.SetTitle(label)
	}
	if enabled != e.enabled {
		e.enabled = enabled
		if enabled {
			e.mi.Enable()
		} else {
			e.mi.Disable()
		}
	}
	if visible != e.visible {
		e.visible = visible
		if visible {
			e.mi.Show()
		} else {
			e.mi.Hide()
		}
	}
}

// newSystrayMenu creates every entry; it runs in systray's onReady. Clicks
// are forwarded until ctx is done.
func newSystrayMenu(ctx context.Context, props itemShadow) *systrayMenu {
	m := &systrayMenu{clickCh: make(chan click, 8), props: props}
	add := func(c click, forward bool) *entry {
		e := &entry{mi: systray.AddMenuItem("", ""), enabled: true, visible: true}
		if forward {
			m.forward(ctx, e.mi, c)
		}
		return e
	}
	m.status = add(click{}, false)
	for i := range MaxAccountSlots {
		m.slots = append(m.slots, slotEntries{
			header:     add(click{}, false),
			syncNow:    add(click{itemAccountSyncNow, i}, true),
			reactivate: add(click{itemAccountReactivate, i}, true),
		})
	}
	m.more = add(click{}, false)
	systray.AddSeparator()
	m.syncNow = add(click{item: itemSyncNow}, true)
	m.pause = add(click{}, false)
	for i := range PauseChoices {
		e := &entry{mi: m.pause.mi.AddSubMenuItem("", ""), enabled: true, visible: true}
		m.forward(ctx, e.mi, click{itemPause, i})
		m.pauseFor = append(m.pauseFor, e)
	}
	m.resume = add(click{item: itemResume}, true)
	systray.AddSeparator()
	m.dashboard = add(click{item: itemDashboard}, true)
	m.settings = add(click{item: itemSettings}, true)
	m.reactivate = add(click{item: itemReactivate}, true)
	systray.AddSeparator()
	m.quit = add(click{item: itemQuit}, true)
	for i, p := range PauseChoices {
		m.pauseFor[i].set(p.Label, true, true)
	}
	return m
}

// forward passes mi's clicks to the event loop. systray sends a click
// only if someone is receiving at that moment (it drops it otherwise), so
// each item has a goroutine that always is, and a buffered channel carries
// the click to the loop, which may be busy with an event.
func (m *systrayMenu) forward(ctx context.Context, mi *systray.MenuItem, c click) {
	go func() {
		for {
			select {
			case _, ok := <-mi.ClickedCh:
				if !ok {
					return
				}
				select {
				case m.clickCh <- c:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
}

func (m *systrayMenu) clicks() <-chan click { return m.clickCh }

// opened reports the menu being opened, where the platform says so.
func (m *systrayMenu) opened() <-chan struct{} { return systray.TrayOpenedCh }

func (m *systrayMenu) show(v View) {
	if s := itemStatus(v); s != m.itemStatus {
		m.itemStatus = s
		if m.props != nil {
			m.props.setStatus(s)
		}
	}
	if v.Icon != m.icon {
		m.icon = v.Icon
		b := iconBytes(v.Icon)
		if m.props != nil {
			m.props.setIcon(b)
		}
		systray.SetIcon(b)
	}
	if v.Tooltip != m.tooltip {
		m.tooltip = v.Tooltip
		if m.props != nil {
			m.props.setTooltip(v.Tooltip)
		}
		systray.SetTooltip(v.Tooltip)
	}
	m.status.set(v.Status, false, true)
	for i, s := range m.slots {
		if i < len(v.Accounts) {
			a := v.Accounts[i]
			s.header.set(a.Header, false, true)
			s.syncNow.set(a.SyncNow.Label, a.SyncNow.Enabled, true)
			s.reactivate.set(a.Reactivate.Label, a.Reactivate.Enabled, !v.Organisation)
			continue
		}
		s.header.set("", false, false)
		s.syncNow.set("", false, false)
		s.reactivate.set("", false, false)
	}
	m.more.set(v.More, false, v.More != "")
	m.syncNow.set(v.SyncNow.Label, v.SyncNow.Enabled, true)
	m.pause.set(v.Pause.Label, v.Pause.Enabled, !v.Paused)
	m.resume.set(v.Resume.Label, v.Resume.Enabled, v.Paused)
	m.dashboard.set(v.Dashboard.Label, v.Dashboard.Enabled, true)
	m.settings.set(v.Settings.Label, v.Settings.Enabled, true)
	m.reactivate.set(v.Reactivate.Label, v.Reactivate.Enabled, !v.Organisation || v.ReactivateCRM)
	m.quit.set(v.Quit.Label, v.Quit.Enabled, true)
}

// itemStatus is the StatusNotifierItem Status for v: NeedsAttention
// while some account needs the user, Active otherwise (the icon is never
// Passive: it is the only way to reach the agent).
func itemStatus(v View) string {
	if v.Attention {
		return statusNeedsAttention
	}
	return statusActive
}

// The StatusNotifierItem Status values the tray uses.
const (
	statusActive         = "Active"
	statusNeedsAttention = "NeedsAttention"
)

// iconSize is the PNG handed to systray on Linux and macOS. It takes one
// picture only; Linux panels (22–24 px, twice that on HiDPI) and the macOS
// menu bar (22 pt) scale it, and scaling 48 down keeps it sharper than
// scaling a small one up.
const iconSize = 48

// iconBytes returns kind's picture in the format systray wants: an .ico
// on Windows (several sizes, Windows picks by scaling), a PNG elsewhere
// (Linux's StatusNotifierItem needs a pixmap; SVG does not work there).
func iconBytes(kind string) []byte {
	if runtime.GOOS == "windows" {
		return assets.TrayIconICO(kind)
	}
	return assets.TrayIcon(kind, iconSize)
}
