package main

import (
	"image"
	"image/color"
	"math"
)

// A tiny supersampling rasterizer: a shape is a point-in-shape test in
// pixel coordinates, and a pixel's coverage is the share of a grid of
// samples inside it. That is slow and exact enough for 64-pixel icons, needs
// no dependency, and combines shapes with plain boolean logic (a stroke
// clipped to a box is "in the stroke and in the box").

// shape reports whether the point (x, y), in pixels, is inside.
type shape func(x, y float64) bool

// samples per pixel side: 16 × 16 = 256 levels of coverage.
const samples = 16

// canvas is a premultiplied RGBA float image.
type canvas struct {
	w, h int
	pix  []float64 // r, g, b, a per pixel, premultiplied
}

func newCanvas(w, h int) *canvas { return &canvas{w: w, h: h, pix: make([]float64, w*h*4)} }

// coverage returns the share of pixel (px, py) inside s.
func coverage(s shape, px, py int) float64 {
	n := 0
	for i := 0; i < samples; i++ {
		y := float64(py) + (float64(i)+0.5)/samples
		for j := 0; j < samples; j++ {
			x := float64(px) + (float64(j)+0.5)/samples
			if s(x, y) {
				n++
			}
		}
	}
	return float64(n) / (samples * samples)
}

// fill paints s in c over what is there (Porter-Duff "over").
func (c *canvas) fill(s shape, col color.NRGBA) {
	c.fillFunc(s, func(float64, float64) color.NRGBA { return col })
}

// fillFunc paints s over what is there in the colour colAt gives for each
// pixel's centre: gradients.
func (c *canvas) fillFunc(s shape, colAt func(x, y float64) color.NRGBA) {
	for py := 0; py < c.h; py++ {
		for px := 0; px < c.w; px++ {
			cov := coverage(s, px, py)
			if cov == 0 {
				continue
			}
			col := colAt(float64(px)+0.5, float64(py)+0.5)
			r, g, b := float64(col.R)/255, float64(col.G)/255, float64(col.B)/255
			k := cov * float64(col.A) / 255
			i := (py*c.w + px) * 4
			c.pix[i] = r*k + c.pix[i]*(1-k)
			c.pix[i+1] = g*k + c.pix[i+1]*(1-k)
			c.pix[i+2] = b*k + c.pix[i+2]*(1-k)
			c.pix[i+3] = k + c.pix[i+3]*(1-k)
		}
	}
}

// clear erases s (Porter-Duff "destination out"), e.g. the gap around a
// badge, so the panel shows through.
func (c *canvas) clear(s shape) {
	for py := 0; py < c.h; py++ {
		for px := 0; px < c.w; px++ {
			k := coverage(s, px, py)
			if k == 0 {
				continue
			}
			i := (py*c.w + px) * 4
			for j := 0; j < 4; j++ {
				c.pix[i+j] *= 1 - k
			}
		}
	}
}

// image converts to a non-premultiplied 8-bit image.
func (c *canvas) image() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, c.w, c.h))
	for i := 0; i < c.w*c.h; i++ {
		a := c.pix[i*4+3]
		if a <= 0 {
			continue
		}
		for j := 0; j < 3; j++ {
			img.Pix[i*4+j] = to8(c.pix[i*4+j] / a)
		}
		img.Pix[i*4+3] = to8(a)
	}
	return img
}

func to8(v float64) uint8 {
	return uint8(math.Round(math.Max(0, math.Min(1, v)) * 255))
}

// Shapes.

func circle(cx, cy, r float64) shape {
	return func(x, y float64) bool { return (x-cx)*(x-cx)+(y-cy)*(y-cy) < r*r }
}

// segment is a line from (x0, y0) to (x1, y1), w wide, with round caps.
func segment(x0, y0, x1, y1, w float64) shape {
	dx, dy := x1-x0, y1-y0
	l2 := dx*dx + dy*dy
	return func(x, y float64) bool {
		t := 0.0
		if l2 > 0 {
			t = math.Max(0, math.Min(1, ((x-x0)*dx+(y-y0)*dy)/l2))
		}
		ex, ey := x-(x0+t*dx), y-(y0+t*dy)
		return ex*ex+ey*ey < w*w/4
	}
}

// polyline joins points with round-capped segments.
func polyline(w float64, pts ...float64) shape {
	var parts []shape
	for i := 0; i+3 < len(pts); i += 2 {
		parts = append(parts, segment(pts[i], pts[i+1], pts[i+2], pts[i+3], w))
	}
	return union(parts...)
}

// rrect is the rectangle [x0,x1]×[y0,y1] with corners of radius r.
func rrect(x0, y0, x1, y1, r float64) shape {
	return func(x, y float64) bool {
		if x < x0 || x > x1 || y < y0 || y > y1 {
			return false
		}
		cx := math.Max(x0+r, math.Min(x1-r, x))
		cy := math.Max(y0+r, math.Min(y1-r, y))
		return (x-cx)*(x-cx)+(y-cy)*(y-cy) <= r*r
	}
}

// arc is a ring of radius r and width w around (cx, cy) from angle a0 to
// a1 (radians, clockwise on screen since y grows downwards), with butt ends.
func arc(cx, cy, r, w, a0, a1 float64) shape {
	return func(x, y float64) bool {
		d := math.Hypot(x-cx, y-cy)
		if math.Abs(d-r) > w/2 {
			return false
		}
		a := math.Atan2(y-cy, x-cx)
		for a < a0 {
			a += 2 * math.Pi
		}
		return a <= a1
	}
}

// triangle is the triangle with the given corners.
func triangle(ax, ay, bx, by, cx, cy float64) shape {
	side := func(px, py, qx, qy, x, y float64) float64 { return (qx-px)*(y-py) - (qy-py)*(x-px) }
	return func(x, y float64) bool {
		d1 := side(ax, ay, bx, by, x, y)
		d2 := side(bx, by, cx, cy, x, y)
		d3 := side(cx, cy, ax, ay, x, y)
		neg := d1 < 0 || d2 < 0 || d3 < 0
		pos := d1 > 0 || d2 > 0 || d3 > 0
		return !(neg && pos)
	}
}

func union(ss ...shape) shape {
	return func(x, y float64) bool {
		for _, s := range ss {
			if s(x, y) {
				return true
			}
		}
		return false
	}
}

func intersect(a, b shape) shape { return func(x, y float64) bool { return a(x, y) && b(x, y) } }
