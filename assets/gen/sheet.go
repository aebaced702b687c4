package main

import (
	"image"
	"image/color"
	"image/draw"
	"strconv"
	"strings"
)

// sheet lays out every icon: one row per state, one column per size, plus
// the 22-pixel icon enlarged four times; a light panel above a dark one.
func sheet(icons map[string]map[int]*image.NRGBA) *image.NRGBA {
	const (
		pad    = 12
		labelW = 96
		zoom   = 4
		zoomed = 22
	)
	cell := sizes[len(sizes)-1] + pad
	rowH := max(cell, zoomed*zoom+pad)
	panelW := pad + labelW + len(sizes)*cell + zoomed*zoom + pad
	panelH := pad + 12 + len(kinds)*rowH
	img := image.NewNRGBA(image.Rect(0, 0, panelW, 2*panelH))
	panels := []struct {
		bg, fg color.NRGBA
	}{
		{color.NRGBA{0xf2, 0xf2, 0xf2, 0xff}, color.NRGBA{0x33, 0x33, 0x33, 0xff}},
		{color.NRGBA{0x2b, 0x2b, 0x2b, 0xff}, color.NRGBA{0xdd, 0xdd, 0xdd, 0xff}},
	}
	for pi, p := range panels {
		top := pi * panelH
		draw.Draw(img, image.Rect(0, top, panelW, top+panelH), image.NewUniform(p.bg), image.Point{}, draw.Src)
		x := pad + labelW
		for _, s := range sizes {
			text(img, x, top+pad, strconv.Itoa(s), p.fg)
			x += cell
		}
		text(img, x, top+pad, "22 X4", p.fg)
		for ki, k := range kinds {
			y := top + pad + 12 + ki*rowH
			text(img, pad, y+rowH/2-4, strings.ToUpper(k), p.fg)
			x := pad + labelW
			for _, s := range sizes {
				ic := icons[k][s]
				off := image.Pt(x, y+(rowH-pad-s)/2)
				draw.Draw(img, ic.Bounds().Add(off), ic, image.Point{}, draw.Over)
				x += cell
			}
			big := enlarge(icons[k][zoomed], zoom)
			draw.Draw(img, big.Bounds().Add(image.Pt(x, y)), big, image.Point{}, draw.Over)
		}
	}
	return img
}

// enlarge scales img by n with nearest-neighbour, to show single pixels.
func enlarge(img *image.NRGBA, n int) *image.NRGBA {
	b := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx()*n, b.Dy()*n))
	for y := 0; y < b.Dy()*n; y++ {
		for x := 0; x < b.Dx()*n; x++ {
			out.Set(x, y, img.At(b.Min.X+x/n, b.Min.Y+y/n))
		}
	}
	return out
}

// text draws s with a 5×7 pixel font (capitals, digits, space and '-').
func text(img *image.NRGBA, x, y int, s string, c color.NRGBA) {
	for _, r := range s {
		g, ok := font[r]
		if !ok {
			g = font['?']
		}
		for row, line := range g {
			for col, ch := range line {
				if ch == '#' {
					img.SetNRGBA(x+col, y+row, c)
				}
			}
		}
		x += 6
	}
}

var font = map[rune][7]string{
	' ': {"", "", "", "", "", "", ""},
	'-': {"", "", "", "#####", "", "", ""},
	'?': {" ### ", "#   #", "   # ", "  #  ", "  #  ", "", "  #  "},
	'0': {" ### ", "#   #", "#  ##", "# # #", "##  #", "#   #", " ### "},
	'1': {"  #  ", " ##  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "},
	'2': {" ### ", "#   #", "    #", "   # ", "  #  ", " #   ", "#####"},
	'3': {"#####", "   # ", "  #  ", "   # ", "    #", "#   #", " ### "},
	'4': {"   # ", "  ## ", " # # ", "#  # ", "#####", "   # ", "   # "},
	'5': {"#####", "#    ", "#### ", "    #", "    #", "#   #", " ### "},
	'6': {"  ## ", " #   ", "#    ", "#### ", "#   #", "#   #", " ### "},
	'8': {" ### ", "#   #", "#   #", " ### ", "#   #", "#   #", " ### "},
	'A': {" ### ", "#   #", "#   #", "#####", "#   #", "#   #", "#   #"},
	'C': {" ### ", "#   #", "#    ", "#    ", "#    ", "#   #", " ### "},
	'D': {"#### ", "#   #", "#   #", "#   #", "#   #", "#   #", "#### "},
	'E': {"#####", "#    ", "#    ", "#### ", "#    ", "#    ", "#####"},
	'F': {"#####", "#    ", "#    ", "#### ", "#    ", "#    ", "#    "},
	'G': {" ### ", "#   #", "#    ", "# ###", "#   #", "#   #", " ####"},
	'I': {" ### ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "},
	'L': {"#    ", "#    ", "#    ", "#    ", "#    ", "#    ", "#####"},
	'N': {"#   #", "##  #", "# # #", "#  ##", "#   #", "#   #", "#   #"},
	'O': {" ### ", "#   #", "#   #", "#   #", "#   #", "#   #", " ### "},
	'P': {"#### ", "#   #", "#   #", "#### ", "#    ", "#    ", "#    "},
	'S': {" ####", "#    ", "#    ", " ### ", "    #", "    #", "#### "},
	'T': {"#####", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  "},
	'U': {"#   #", "#   #", "#   #", "#   #", "#   #", "#   #", " ### "},
	'V': {"#   #", "#   #", "#   #", "#   #", "#   #", " # # ", "  #  "},
	'X': {"#   #", "#   #", " # # ", "  #  ", " # # ", "#   #", "#   #"},
	'Y': {"#   #", "#   #", " # # ", "  #  ", "  #  ", "  #  ", "  #  "},
}
