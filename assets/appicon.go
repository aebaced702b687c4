package assets

import _ "embed"

// AppIcon is the application icon as a 256×256 PNG (icons/256.png, drawn
// by ./gen), the size the windows hand to the window manager: big enough
// for HiDPI task bars and switchers, a quarter of the 512-pixel icon.png
// that the packages use.
//
//go:embed icons/256.png
var AppIcon []byte

// DesktopEntry is the freedesktop.org desktop entry of Inbox Sync
// (io.inboxsync.app.desktop): installed into share/applications by the
// Linux package, and the model of the XDG autostart entry. Its Exec line
// is the bare command "inboxsync"; callers that need another command
// replace that line.
//
//go:embed io.inboxsync.app.desktop
var DesktopEntry string

// AppIconID is the name the desktop entry and the icon theme know the
// application icon by (Icon= in DesktopEntry; the files are installed as
// share/icons/hicolor/N×N/apps/io.inboxsync.app.png).
const AppIconID = "io.inboxsync.app"
