package main

import (
	"image"
	"image/color"
	"image/draw"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/inboxsync/inboxsync/ui/tray/traytest"
)

// No panel runs under Xvfb, so nothing draws the tray's menu. trayPicture
// draws what a panel would, from what the test read over D-Bus exactly as
// a panel reads it: the item's icon pixmap and tooltip, then the menu's
// visible entries in order (disabled ones grey, separators as rules,
// submenus with an arrow). It is a picture of the menu's contents, not of
// any desktop's styling.
func trayPicture(s trayState) (image.Image, error) {
	f, err := opentype.Parse(goregular.TTF)
	if err != nil {
		return nil, err
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: 13, DPI: 96, Hinting: font.HintingFull})
	if err != nil {
		return nil, err
	}
	defer face.Close()
	const (
		pad     = 12
		rowH    = 26
		sepH    = 11
		textTop = 18 // baseline within a row
	)
	var (
		bg       = color.NRGBA{0xf6, 0xf6, 0xf6, 0xff}
		panel    = color.NRGBA{0x2b, 0x2d, 0x31, 0xff}
		text     = color.NRGBA{0x1e, 0x1e, 0x1e, 0xff}
		grey     = color.NRGBA{0x8a, 0x8a, 0x8a, 0xff}
		rule     = color.NRGBA{0xd0, 0xd0, 0xd0, 0xff}
		border   = color.NRGBA{0xb8, 0xb8, 0xb8, 0xff}
		tipColor = color.NRGBA{0xff, 0xff, 0xff, 0xff}
	)
	// As wide as the widest entry needs, as a panel sizes its menu.
	width := 420
	for _, c := range s.menu.Children {
		if w := font.MeasureString(face, c.Label).Ceil() + 6*pad; c.Visible && w > width {
			width = w
		}
	}
	// The tooltip, wrapped to the width beside the icon.
	icon := s.pixmap.Image()
	tip := wrapText(face, s.tooltip, width-2*pad-icon.Bounds().Dx()-pad)
	headH := max(icon.Bounds().Dy(), len(tip)*rowH) + 2*pad
	var entries []traytest.MenuNode
	h := headH + pad
	for _, c := range s.menu.Children {
		if !c.Visible {
			continue
		}
		entries = append(entries, c)
		if c.Type == "separator" {
			h += sepH
		} else {
			h += rowH
		}
	}
	h += pad
	img := image.NewNRGBA(image.Rect(0, 0, width, h))
	fill := func(r image.Rectangle, c color.Color) {
		draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src)
	}
	say := func(x, y int, s string, c color.Color) {
		d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: face, Dot: fixed.P(x, y)}
		d.DrawString(s)
	}
	// The panel with the icon and its tooltip.
	fill(img.Bounds(), bg)
	fill(image.Rect(0, 0, width, headH), panel)
	draw.Draw(img, icon.Bounds().Add(image.Pt(pad, pad)), icon, icon.Bounds().Min, draw.Over)
	for i, line := range tip {
		say(2*pad+icon.Bounds().Dx(), pad+i*rowH+textTop, line, tipColor)
	}
	// The menu.
	y := headH + pad/2
	fill(image.Rect(pad/2, y, width-pad/2, h-pad/2), border)
	fill(image.Rect(pad/2+1, y+1, width-pad/2-1, h-pad/2-1), bg)
	y += pad / 2
	for _, c := range entries {
		if c.Type == "separator" {
			fill(image.Rect(pad, y+sepH/2, width-pad, y+sepH/2+1), rule)
			y += sepH
			continue
		}
		col := color.Color(text)
		if !c.Enabled {
			col = grey
		}
		say(2*pad, y+textTop, c.Label, col)
		if c.Submenu {
			say(width-2*pad-8, y+textTop, ">", col)
		}
		y += rowH
	}
	return img, nil
}

// wrapText breaks s into lines no wider than w pixels in face.
func wrapText(face font.Face, s string, w int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		next := strings.TrimSpace(line + " " + word)
		if line != "" && font.MeasureString(face, next).Ceil() > w {
			lines = append(lines, line)
			line = word
			continue
		}
		line = next
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
