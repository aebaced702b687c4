// Command gen draws Inbox Sync's icons: the tray icons, one PNG per state
// and size under assets/tray, plus assets/tray/sheet.png, a contact sheet of
// all of them on a light and a dark panel for people to look at; and the
// application icon, assets/icon.png (512 pixels) and one PNG per size under
// assets/icons (N.png, with assets/icons/sheet.png to look at). Run it from
// the module root:
//
//	go run ./assets/gen
//
// (or `go generate ./assets`). The PNGs are committed and embedded by
// package assets; this program is their source.
//
// The mark is an envelope — a light fill inside a dark outline, so it reads
// on light and dark panels alike — with a round badge at its lower right
// whose colour and glyph give the state. A transparent gap separates the
// badge from the envelope, and the badge has the same dark outline.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log"
	"math"
	"os"
	"path/filepath"
)

// kinds are the icon states, as package assets names them.
var kinds = []string{"not-activated", "idle", "syncing", "paused", "offline", "attention"}

// sizes are the pixel sizes drawn: 16 (Windows at 100 %), 22 and 24 (Linux
// panels), 32 (Windows at 200 %, macOS @2x), 48 and 64 (Linux HiDPI panels,
// which scale down the one pixmap they get).
var sizes = []int{16, 22, 24, 32, 48, 64}

// Colours.
var (
	ink      = color.NRGBA{0x1e, 0x29, 0x3b, 0xff} // outlines: slate 800
	paper    = color.NRGBA{0xff, 0xff, 0xff, 0xff} // envelope fill
	paperOff = color.NRGBA{0xcb, 0xd5, 0xe1, 0xff} // envelope fill, not activated: slate 300
	white    = color.NRGBA{0xff, 0xff, 0xff, 0xff}

	badge = map[string]color.NRGBA{
		"not-activated": {0x64, 0x74, 0x8b, 0xff}, // slate 500
		"idle":          {0x16, 0xa3, 0x4a, 0xff}, // green 600
		"syncing":       {0x25, 0x63, 0xeb, 0xff}, // blue 600
		"paused":        {0x64, 0x74, 0x8b, 0xff}, // slate 500
		"offline":       {0xd9, 0x77, 0x06, 0xff}, // amber 600
		"attention":     {0xdc, 0x26, 0x26, 0xff}, // red 600
	}
)

func main() {
	dir := flag.String("dir", "assets/tray", "write the tray icons to `DIR`")
	icon := flag.String("icon", "", "write the 512-pixel application icon to `FILE` (default: icon.png next to the tray directory)")
	appDir := flag.String("icons", "", "write the application icon at every size to `DIR` (default: icons next to the tray directory)")
	flag.Parse()
	if *icon == "" {
		*icon = filepath.Join(*dir, "..", "icon.png")
	}
	if *appDir == "" {
		*appDir = filepath.Join(*dir, "..", "icons")
	}
	writeAppIcons(*icon, *appDir)
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		log.Fatal(err)
	}
	icons := map[string]map[int]*image.NRGBA{}
	for _, k := range kinds {
		icons[k] = map[int]*image.NRGBA{}
		for _, s := range sizes {
			img := drawIcon(k, s)
			icons[k][s] = img
			write(filepath.Join(*dir, fmt.Sprintf("%s-%d.png", k, s)), img)
		}
	}
	write(filepath.Join(*dir, "sheet.png"), sheet(icons))
}

// write writes img to path as a PNG and returns the file's bytes.
func write(path string, img image.Image) []byte {
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&b, img); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	return b.Bytes()
}

// stroke is the outline width in pixels for each size: whole or half
// pixels at the small sizes, so edges stay crisp.
func stroke(size int) float64 {
	switch {
	case size <= 16:
		return 1.25
	case size <= 24:
		return 1.5
	case size <= 32:
		return 2
	case size <= 48:
		return 3
	}
	return 4
}

// drawIcon draws the icon of kind at size pixels.
func drawIcon(kind string, size int) *image.NRGBA {
	S := float64(size)
	w := stroke(size)
	c := newCanvas(size, size)

	// The envelope: its box on whole pixels so the outline is crisp.
	x0, x1 := math.Floor(S*0.04), S-math.Floor(S*0.04)
	y0, y1 := math.Round(S*0.16), math.Round(S*0.78)
	if size <= 16 {
		y0, y1 = 2, 13 // taller, so the badge leaves more envelope to see
	}
	rad := math.Max(w*1.2, S*0.08)
	outer := rrect(x0, y0, x1, y1, rad)
	inner := rrect(x0+w, y0+w, x1-w, y1-w, math.Max(0.5, rad-w))
	fill := paper
	if kind == "not-activated" {
		fill = paperOff
	}
	c.fill(outer, ink)
	c.fill(inner, fill)
	// The flap: a V from the top corners to just below the middle.
	flap := polyline(w, x0+w/2, y0+w/2, S/2, y0+(y1-y0)*0.6, x1-w/2, y0+w/2)
	c.fill(intersect(flap, outer), ink)

	// The badge, with a transparent gap around it.
	r := S * 0.28
	if size <= 16 {
		r = S * 0.31 // a 16-pixel badge needs every pixel it can get
	}
	bx, by := S-r, S-r
	gap := math.Max(1, S*0.05)
	ow := math.Max(1, w*0.75)
	c.clear(circle(bx, by, r+gap))
	c.fill(circle(bx, by, r), ink)
	c.fill(circle(bx, by, r-ow), badge[kind])
	g := glyph(kind, bx, by, r-ow, size)
	if g != nil {
		c.fill(g, white)
	}
	return c.image()
}

// glyph returns the white sign inside a badge of inner radius r at (cx,
// cy).
func glyph(kind string, cx, cy, r float64, size int) shape {
	// p maps badge-local coordinates (-1…1) to pixels.
	p := func(x, y float64) (float64, float64) { return cx + x*r, cy + y*r }
	lw := math.Max(1.1, r*0.34) // line width of the glyph
	seg := func(ax, ay, bx, by float64) shape {
		x0, y0 := p(ax, ay)
		x1, y1 := p(bx, by)
		return segment(x0, y0, x1, y1, lw)
	}
	switch kind {
	case "not-activated": // a plus: add an account
		return union(seg(-0.55, 0, 0.55, 0), seg(0, -0.55, 0, 0.55))
	case "idle": // a check mark: all synced
		a, b := p(-0.5, 0.02)
		m, n := p(-0.14, 0.38)
		e, f := p(0.5, -0.36)
		return polyline(lw, a, b, m, n, e, f)
	case "syncing": // two chasing arrows
		return syncArrows(cx, cy, r, size)
	case "paused": // two bars
		bw := math.Max(1, r*0.3)
		h := r * 0.52
		return union(
			rrect(cx-r*0.3-bw/2, cy-h, cx-r*0.3+bw/2, cy+h, bw*0.3),
			rrect(cx+r*0.3-bw/2, cy-h, cx+r*0.3+bw/2, cy+h, bw*0.3),
		)
	case "offline": // clock hands: waiting to try again
		return union(seg(0, 0, 0, -0.6), seg(0, 0, 0.45, 0.2))
	case "attention": // an exclamation mark
		x, y := p(0, 0.52)
		return union(seg(0, -0.58, 0, 0.12), circle(x, y, lw*0.62))
	}
	return nil
}

// syncArrows draws the "sync" sign: two arcs chasing each other round the
// badge's centre, each ending in an arrowhead. Below 32 pixels two arrows
// blur into a blob, so small badges get one arrow going three quarters of
// the way round.
func syncArrows(cx, cy, r float64, size int) shape {
	a := arrows{R: r * 0.56, lw: math.Max(1, r*0.26), head: math.Max(1.6, r*0.42), tip: 1.1,
		starts: []float64{math.Pi * 0.05, math.Pi * 1.05}, sweep: math.Pi * 0.62}
	if size < 32 {
		a.R, a.lw, a.head = r*0.52, math.Max(1.1, r*0.3), math.Max(1.5, r*0.45)
		a.starts, a.sweep = []float64{-math.Pi * 0.35}, math.Pi*1.3
	}
	return a.shape(cx, cy)
}

// arrows are arcs round a centre, each ending in an arrowhead that points
// along it (clockwise): the sync signs of the tray badge and of the
// application icon, which differ in their proportions only.
type arrows struct {
	R      float64   // the arcs' radius
	lw     float64   // their line width
	head   float64   // half the arrowhead's base
	tip    float64   // the arrowhead's length, in heads
	starts []float64 // the arcs' start angles
	sweep  float64   // the angle each covers
}

// shape returns the arrows round (cx, cy).
func (a arrows) shape(cx, cy float64) shape {
	var parts []shape
	for _, start := range a.starts {
		end := start + a.sweep
		parts = append(parts, arc(cx, cy, a.R, a.lw, start, end))
		ex, ey := cx+a.R*math.Cos(end), cy+a.R*math.Sin(end)
		tx, ty := -math.Sin(end), math.Cos(end) // the tangent, clockwise
		nx, ny := math.Cos(end), math.Sin(end)  // the outward normal
		parts = append(parts, triangle(
			ex+nx*a.head, ey+ny*a.head,
			ex-nx*a.head, ey-ny*a.head,
			ex+tx*a.head*a.tip, ey+ty*a.head*a.tip,
		))
	}
	return union(parts...)
}
