package assets

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/png"
	"testing"
)

func TestEveryTrayIconIsThere(t *testing.T) {
	for _, k := range TrayKinds {
		for _, s := range TraySizes {
			b := TrayIcon(k, s)
			if b == nil {
				t.Errorf("%s at %d px: missing (run go generate ./assets)", k, s)
				continue
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Errorf("%s at %d px: %v", k, s, err)
				continue
			}
			if img.Bounds() != image.Rect(0, 0, s, s) {
				t.Errorf("%s at %d px: bounds %v", k, s, img.Bounds())
			}
			// Transparent corners: the panel shows through.
			if _, _, _, a := img.At(0, 0).RGBA(); a != 0 {
				t.Errorf("%s at %d px: the top-left corner is not transparent", k, s)
			}
		}
	}
	if TrayIcon("no-such-kind", 22) != nil || TrayIcon(TrayIdle, 23) != nil {
		t.Error("TrayIcon returned bytes for an icon that does not exist")
	}
}

func TestTrayIconsDiffer(t *testing.T) {
	seen := map[string]string{}
	for _, k := range TrayKinds {
		b := string(TrayIcon(k, 22))
		if other, ok := seen[b]; ok {
			t.Errorf("%s and %s look the same", k, other)
		}
		seen[b] = k
	}
}

func TestTrayIconICO(t *testing.T) {
	b := TrayIconICO(TrayIdle)
	le := binary.LittleEndian
	if len(b) < 6 || le.Uint16(b[2:]) != 1 || le.Uint16(b[4:]) != 4 {
		t.Fatalf("bad .ico header: % x", b[:min(6, len(b))])
	}
	for i, want := range []int{16, 24, 32, 48} {
		e := b[6+16*i:]
		size, offset := le.Uint32(e[8:]), le.Uint32(e[12:])
		if int(e[0]) != want || int(e[1]) != want {
			t.Errorf("entry %d is %d×%d, want %d", i, e[0], e[1], want)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(b[offset : offset+size]))
		if err != nil || cfg.Width != want {
			t.Errorf("entry %d: %v, width %d", i, err, cfg.Width)
		}
	}
	if TrayIconICO("no-such-kind") != nil {
		t.Error("an .ico for an unknown kind")
	}
}
