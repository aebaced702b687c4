package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"log"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/inboxsync/inboxsync/assets"
)

// The application icon: the tray's envelope, white on a rounded square
// that shades from sky blue at the top left to deep blue at the bottom
// right, with the green "sync" badge at its lower right — the tray's badge
// in the colour of a healthy sync. Windows, task bars, launchers and the
// installed packages use it.

// appSizes are the sizes the platforms ask for: 16 to 48 for Windows and
// menus, 64 to 512 for launchers, docks and HiDPI task bars.
var appSizes = []int{16, 24, 32, 48, 64, 128, 256, 512}

// App icon colours.
var (
	skyTop    = color.NRGBA{0x38, 0xbd, 0xf8, 0xff} // sky 400
	blueBot   = color.NRGBA{0x1d, 0x4e, 0xd8, 0xff} // blue 700
	flapLine  = color.NRGBA{0x93, 0xc5, 0xfd, 0xff} // blue 300
	flapSmall = color.NRGBA{0x25, 0x63, 0xeb, 0xff} // blue 600, for small sizes
	paperFold = color.NRGBA{0xe0, 0xf2, 0xfe, 0xff} // sky 100: the lower folds
	greenTop  = color.NRGBA{0x4a, 0xde, 0x80, 0xff} // green 400
	greenBot  = color.NRGBA{0x16, 0xa3, 0x4a, 0xff} // green 600
	shadow    = color.NRGBA{0x0b, 0x1f, 0x4d, 0xff} // a dark navy, used thin
)

// mix blends a into b by t (0 gives a, 1 gives b).
func mix(a, b color.NRGBA, t float64) color.NRGBA {
	t = math.Max(0, math.Min(1, t))
	m := func(x, y uint8) uint8 { return uint8(math.Round(float64(x)*(1-t) + float64(y)*t)) }
	return color.NRGBA{m(a.R, b.R), m(a.G, b.G), m(a.B, b.B), m(a.A, b.A)}
}

// drawAppIcon draws the application icon at size pixels.
func drawAppIcon(size int) *image.NRGBA {
	S := float64(size)
	c := newCanvas(size, size)
	small := size <= 24

	// The rounded square, inset a little at large sizes as launchers
	// expect; at small sizes every pixel counts.
	m := math.Round(S * 0.055)
	if size <= 32 {
		m = 0
	}
	rad := (S - 2*m) * 0.225
	bg := rrect(m, m, S-m, S-m, rad)
	// A diagonal gradient, top left to bottom right.
	bgAt := func(x, y float64) color.NRGBA { return mix(skyTop, blueBot, (x+y-2*m)/(2*(S-2*m))) }
	if size >= 64 {
		// A soft shadow under the square, for docks and launchers.
		for i := 4; i >= 1; i-- {
			d := S * 0.006 * float64(i)
			c.fill(rrect(m-d*0.5, m+d*0.5, S-m+d*0.5, S-m+d*1.6, rad+d), withAlpha(shadow, 0.06))
		}
	}
	c.fillFunc(bg, bgAt)

	// The envelope, a little above and left of the centre so the badge
	// has room.
	ex0, ex1 := S*0.17, S*0.79
	ey0, ey1 := S*0.24, S*0.68
	if small {
		ex0, ex1 = math.Round(S*0.12), math.Round(S*0.84)
		ey0, ey1 = math.Round(S*0.22), math.Round(S*0.72)
	}
	erad := math.Max(1, S*0.045)
	env := rrect(ex0, ey0, ex1, ey1, erad)
	if size >= 48 {
		// Its shadow, offset down.
		for i := 3; i >= 1; i-- {
			d := S * 0.008 * float64(i)
			c.fill(rrect(ex0-d*0.4, ey0+d, ex1+d*0.4, ey1+d*1.4, erad+d), withAlpha(shadow, 0.07))
		}
	}
	c.fill(env, paper)
	midX, flapY := (ex0+ex1)/2, ey0+(ey1-ey0)*0.58
	if small {
		// One dark V: the only detail 16 pixels can hold.
		w := math.Max(1, S*0.07)
		v := polyline(w, ex0+w/2, ey0+w/2, midX, flapY, ex1-w/2, ey0+w/2)
		c.fill(intersect(v, env), flapSmall)
	} else {
		// The lower folds, a shade off white, meeting under the flap.
		folds := union(
			triangle(ex0, ey1, midX, ey0+(ey1-ey0)*0.5, ex1, ey1),
		)
		c.fill(intersect(folds, env), paperFold)
		w := math.Max(1.5, S*0.022)
		fold := polyline(w, ex0+w/2, ey1-w/2, midX, ey0+(ey1-ey0)*0.5, ex1-w/2, ey1-w/2)
		c.fill(intersect(fold, env), withAlpha(flapLine, 0.7))
		// The flap: white, edged in blue, over the folds.
		flap := triangle(ex0, ey0, midX, flapY, ex1, ey0)
		c.fill(intersect(flap, env), paper)
		v := polyline(w*1.3, ex0+w/2, ey0+w/2, midX, flapY, ex1-w/2, ey0+w/2)
		c.fill(intersect(v, env), flapLine)
	}

	// The badge: a green disc with the sync arrows, set off from the
	// envelope by a ring of the background.
	r := S * 0.185
	bx, by := S*0.705, S*0.685
	if small {
		r = S * 0.27
		if size <= 16 {
			r = S * 0.22
		}
		bx, by = S-r-0.5, S-r-0.5
	}
	gap := math.Max(1, S*0.035)
	c.fillFunc(circle(bx, by, r+gap), bgAt)
	if size >= 48 {
		c.fill(circle(bx, by+S*0.01, r), withAlpha(shadow, 0.25))
	}
	c.fillFunc(circle(bx, by, r), func(x, y float64) color.NRGBA {
		return mix(greenTop, greenBot, (y-(by-r))/(2*r))
	})
	if size > 16 {
		// At 16 pixels any sign in a 9-pixel disc is a blur: the green
		// disc alone stands for it.
		c.fill(appSyncArrows(bx, by, r, size), white)
	}
	return c.image()
}

// appSyncArrows is the badge's sign: two arrows chasing each other round
// its centre; one arrow at small sizes, where two blur into a blob.
func appSyncArrows(cx, cy, r float64, size int) shape {
	a := arrows{R: r * 0.55, lw: math.Max(1, r*0.2), head: math.Max(1.5, r*0.3), tip: 1.15,
		starts: []float64{math.Pi * 0.08, math.Pi * 1.08}, sweep: math.Pi * 0.6}
	if size <= 24 {
		a.R, a.lw, a.head = r*0.5, math.Max(1.2, r*0.3), math.Max(1.5, r*0.45)
		a.starts, a.sweep = []float64{-math.Pi * 0.25}, math.Pi*1.15
	}
	return a.shape(cx, cy)
}

// withAlpha returns col with its alpha set to a (0…1).
func withAlpha(col color.NRGBA, a float64) color.NRGBA {
	col.A = to8(a)
	return col
}

// writeAppIcons writes the 512-pixel icon to icon, and every size as
// dir/N.png plus dir/sheet.png, the sizes side by side on a light and a
// dark panel with the two smallest enlarged.
func writeAppIcons(icon, dir string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		log.Fatal(err)
	}
	icons := map[int]*image.NRGBA{}
	pngs := map[int][]byte{}
	for _, s := range appSizes {
		icons[s] = drawAppIcon(s)
		pngs[s] = write(filepath.Join(dir, fmt.Sprintf("%d.png", s)), icons[s])
	}
	write(icon, icons[512])
	writeICO(strings.TrimSuffix(icon, ".png")+".ico", pngs)
	write(filepath.Join(dir, "sheet.png"), appSheet(icons))
}

// appSheet lays the icons out up to 256 pixels, then 16 and 24 enlarged
// eight and four times, on a light panel above a dark one.
func appSheet(icons map[int]*image.NRGBA) *image.NRGBA {
	const pad = 16
	shown := []*image.NRGBA{}
	for _, s := range appSizes {
		if s <= 256 {
			shown = append(shown, icons[s])
		}
	}
	shown = append(shown, enlarge(icons[16], 8), enlarge(icons[24], 4))
	w, h := pad, 0
	for _, img := range shown {
		w += img.Bounds().Dx() + pad
		h = max(h, img.Bounds().Dy())
	}
	panelH := h + 2*pad
	out := image.NewNRGBA(image.Rect(0, 0, w, 2*panelH))
	for pi, bg := range []color.NRGBA{{0xf2, 0xf2, 0xf2, 0xff}, {0x2b, 0x2b, 0x2b, 0xff}} {
		top := pi * panelH
		draw.Draw(out, image.Rect(0, top, w, top+panelH), image.NewUniform(bg), image.Point{}, draw.Src)
		x := pad
		for _, img := range shown {
			b := img.Bounds()
			off := image.Pt(x, top+pad+(h-b.Dy())/2)
			draw.Draw(out, b.Add(off), img, image.Point{}, draw.Over)
			x += b.Dx() + pad
		}
	}
	return out
}

// writeICO writes the Windows icon file of the sizes up to 256 pixels
// (scripts/package.sh links it into inboxsync.exe), each size's PNG as
// drawn, so the hand-tuned small sizes are what Explorer and the taskbar
// show rather than a downscale of the big one.
func writeICO(path string, pngs map[int][]byte) {
	var sizes []int
	for s := range pngs {
		if s <= 256 {
			sizes = append(sizes, s)
		}
	}
	slices.Sort(sizes)
	var images [][]byte
	for _, s := range sizes {
		images = append(images, pngs[s])
	}
	if err := os.WriteFile(path, assets.ICO(images), 0o644); err != nil {
		log.Fatal(err)
	}
}
