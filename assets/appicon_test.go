package assets

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func decodePNG(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestAppIconAtEverySize(t *testing.T) {
	for _, s := range []int{16, 24, 32, 48, 64, 128, 256, 512} {
		b, err := os.ReadFile(filepath.Join("icons", fmt.Sprintf("%d.png", s)))
		if err != nil {
			t.Errorf("%v (run go generate ./assets)", err)
			continue
		}
		img := decodePNG(t, b)
		if img.Bounds() != image.Rect(0, 0, s, s) {
			t.Errorf("%d px: bounds %v", s, img.Bounds())
		}
		// Rounded corners: the desktop shows through the very corner.
		if _, _, _, a := img.At(0, 0).RGBA(); a != 0 {
			t.Errorf("%d px: the top-left corner is not transparent", s)
		}
		// The middle is opaque: the icon is not an outline.
		if _, _, _, a := img.At(s/2, s/2).RGBA(); a != 0xffff {
			t.Errorf("%d px: the centre is not opaque", s)
		}
	}
	big, err := os.ReadFile("icon.png")
	if err != nil {
		t.Fatal(err)
	}
	if b512, _ := os.ReadFile(filepath.Join("icons", "512.png")); !bytes.Equal(big, b512) {
		t.Error("icon.png differs from icons/512.png (run go generate ./assets)")
	}
	if got := decodePNG(t, AppIcon).Bounds(); got != image.Rect(0, 0, 256, 256) {
		t.Errorf("AppIcon is %v, want 256×256", got)
	}
}

func TestDesktopEntry(t *testing.T) {
	lines := strings.Split(strings.TrimSpace(DesktopEntry), "\n")
	if lines[0] != "[Desktop Entry]" {
		t.Fatalf("first line %q, want [Desktop Entry]", lines[0])
	}
	keys := map[string]string{}
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			t.Fatalf("line %q is not key=value", l)
		}
		if _, dup := keys[k]; dup {
			t.Errorf("key %s twice", k)
		}
		keys[k] = v
	}
	want := map[string]string{
		"Type":           "Application",
		"Name":           "Inbox Sync",
		"Exec":           "inboxsync",
		"Icon":           AppIconID,
		"Terminal":       "false",
		"Categories":     "Office;Email;",
		"StartupWMClass": "Inbox Sync",
	}
	for k, v := range want {
		if keys[k] != v {
			t.Errorf("%s=%q, want %q", k, keys[k], v)
		}
	}
	if keys["Comment"] == "" {
		t.Error("no Comment")
	}
}

// icon.ico (linked into inboxsync.exe) holds each size up to 256 pixels as
// the PNG of icons/, so Windows shows the hand-tuned small sizes.
func TestWindowsIconFile(t *testing.T) {
	ico, err := os.ReadFile("icon.ico")
	if err != nil {
		t.Fatalf("%v (run go generate ./assets)", err)
	}
	le := binary.LittleEndian
	if len(ico) < 6 || le.Uint16(ico[0:]) != 0 || le.Uint16(ico[2:]) != 1 {
		t.Fatalf("icon.ico does not start with an icon directory: % x", ico[:min(6, len(ico))])
	}
	want := []int{16, 24, 32, 48, 64, 128, 256}
	if n := int(le.Uint16(ico[4:])); n != len(want) {
		t.Fatalf("icon.ico has %d images, want %d", n, len(want))
	}
	for i, s := range want {
		e := ico[6+16*i:]
		if w, h := int(e[0]), int(e[1]); w != s%256 || h != s%256 {
			t.Errorf("entry %d is %dx%d, want %d (0 for 256)", i, w, h, s%256)
		}
		if bpp := le.Uint16(e[6:]); bpp != 32 {
			t.Errorf("entry %d: %d bits per pixel, want 32", i, bpp)
		}
		size, offset := int(le.Uint32(e[8:])), int(le.Uint32(e[12:]))
		if offset+size > len(ico) {
			t.Fatalf("entry %d points past the end of the file", i)
		}
		file, err := os.ReadFile(filepath.Join("icons", fmt.Sprintf("%d.png", s)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ico[offset:offset+size], file) {
			t.Errorf("the %d px image in icon.ico is not icons/%d.png (run go generate ./assets)", s, s)
		}
	}
}
