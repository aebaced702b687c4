// Package assets holds Inbox Sync's embedded images and its desktop entry.
//
// The tray icons under tray/ and the application icon (icon.png, and
// icons/ in every size the platforms want) are drawn by the program in
// ./gen (their source); regenerate them with `go generate ./assets` and
// look at tray/sheet.png, which shows every state at every size on a light
// and a dark panel, and icons/sheet.png.
package assets

import (
	"bytes"
	"embed"
	"encoding/binary"
	"fmt"
	"image/png"
)

//go:generate go run ./gen -dir tray

// The tray icon kinds: one picture per state the user must tell apart.
const (
	TrayNotActivated = "not-activated"
	TrayIdle         = "idle"
	TraySyncing      = "syncing"
	TrayPaused       = "paused"
	// TrayOffline also stands for "throttled": both wait and retry by
	// themselves.
	TrayOffline = "offline"
	// TrayAttention is for an account that needs re-activation or was
	// suspended: the user must act.
	TrayAttention = "attention"
)

// TrayKinds lists every tray icon kind.
var TrayKinds = []string{TrayNotActivated, TrayIdle, TraySyncing, TrayPaused, TrayOffline, TrayAttention}

// TraySizes lists the pixel sizes each tray icon is drawn at.
var TraySizes = []int{16, 22, 24, 32, 48, 64}

// The pattern leaves out tray/sheet.png, which is for people only.
//
//go:embed tray/*-[0-9]*.png
var tray embed.FS

// TrayIcon returns the PNG of the tray icon kind at size pixels, or nil
// when there is no such icon.
func TrayIcon(kind string, size int) []byte {
	b, err := tray.ReadFile(fmt.Sprintf("tray/%s-%d.png", kind, size))
	if err != nil {
		return nil
	}
	return b
}

// TrayIconICO returns the tray icon kind as a Windows .ico holding the
// 16, 24, 32 and 48 pixel PNGs (Windows picks one by the display's
// scaling), or nil when there is no such icon. Windows Vista and later
// read PNG-compressed .ico entries.
func TrayIconICO(kind string) []byte {
	var pngs [][]byte
	for _, s := range []int{16, 24, 32, 48} {
		b := TrayIcon(kind, s)
		if b == nil {
			return nil
		}
		pngs = append(pngs, b)
	}
	return ICO(pngs)
}

// ICO packs PNG images into an .ico file: a 6-byte header, a 16-byte
// directory entry per image, then the images; nil if one is not a PNG.
// (./gen also writes the application's icon.ico with it.)
func ICO(pngs [][]byte) []byte {
	var out bytes.Buffer
	le := binary.LittleEndian
	out.Write(le.AppendUint16(nil, 0))                 // reserved
	out.Write(le.AppendUint16(nil, 1))                 // type: icon
	out.Write(le.AppendUint16(nil, uint16(len(pngs)))) // count
	offset := 6 + 16*len(pngs)
	for _, b := range pngs {
		cfg, err := png.DecodeConfig(bytes.NewReader(b))
		if err != nil {
			return nil
		}
		out.WriteByte(byte(cfg.Width))      // 0 would mean 256
		out.WriteByte(byte(cfg.Height))     //
		out.WriteByte(0)                    // no palette
		out.WriteByte(0)                    // reserved
		out.Write(le.AppendUint16(nil, 1))  // colour planes
		out.Write(le.AppendUint16(nil, 32)) // bits per pixel
		out.Write(le.AppendUint32(nil, uint32(len(b))))
		out.Write(le.AppendUint32(nil, uint32(offset)))
		offset += len(b)
	}
	for _, b := range pngs {
		out.Write(b)
	}
	return out.Bytes()
}
