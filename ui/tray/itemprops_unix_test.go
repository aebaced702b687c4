//go:build (linux || freebsd || openbsd || netbsd) && !android

package tray

import (
	"bytes"
	"image"
	"image/png"
	"testing"

	"github.com/inboxsync/inboxsync/assets"
)

func TestToPixmapKeepsEveryPixel(t *testing.T) {
	b := assets.TrayIcon(assets.TrayIdle, iconSize)
	px, err := toPixmap(b)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := png.Decode(bytes.NewReader(b))
	src := img.(*image.NRGBA)
	if px.W != int32(iconSize) || px.H != int32(iconSize) || len(px.Pix) != iconSize*iconSize*4 {
		t.Fatalf("pixmap %d×%d, %d bytes", px.W, px.H, len(px.Pix))
	}
	edges := 0
	for i := 0; i < len(src.Pix); i += 4 {
		r, g, b, a := src.Pix[i], src.Pix[i+1], src.Pix[i+2], src.Pix[i+3]
		if got := [4]byte(px.Pix[i : i+4]); got != [4]byte{a, r, g, b} {
			t.Fatalf("pixel %d: ARGB % x, want % x", i/4, got, []byte{a, r, g, b})
		}
		if a > 0 && a < 255 {
			edges++
		}
	}
	if edges == 0 {
		t.Error("no anti-aliased pixel to check")
	}
}

func TestItemPropsServeWhatWasSet(t *testing.T) {
	p := newItemProps("Inbox Sync")
	p.setIcon(assets.TrayIcon(assets.TrayPaused, iconSize))
	p.setTooltip("Inbox Sync — Paused until you resume")

	v, derr := p.Get(itemIface, "ToolTip")
	if derr != nil || v.Value().(tooltip).Title != "Inbox Sync — Paused until you resume" {
		t.Fatalf("ToolTip: %v, %v", v, derr)
	}
	all, derr := p.GetAll(itemIface)
	if derr != nil {
		t.Fatal(derr)
	}
	for _, name := range []string{"Status", "Title", "Id", "Category", "IconName", "IconPixmap", "IconThemePath", "ItemIsMenu", "Menu", "ToolTip"} {
		if _, ok := all[name]; !ok {
			t.Errorf("GetAll lacks %s", name)
		}
	}
	icon := all["IconPixmap"].Value().([]pixmap)
	// A later change must not touch what a reader already holds.
	p.setIcon(assets.TrayIcon(assets.TrayIdle, iconSize))
	want, _ := toPixmap(assets.TrayIcon(assets.TrayPaused, iconSize))
	if len(icon) != 1 || !bytes.Equal(icon[0].Pix, want.Pix) {
		t.Error("setting the icon changed the value a reader got before")
	}
	if _, derr := p.Get(itemIface, "NoSuch"); derr == nil {
		t.Error("Get of an unknown property succeeded")
	}
	if derr := p.Set(itemIface, "Title", v); derr == nil {
		t.Error("Set succeeded on a read-only item")
	}
}
