package assets

import _ "embed"

// DesktopEntry is the freedesktop.org desktop entry of Inbox Sync
// (io.inboxsync.app.desktop): installed into share/applications by the
// Linux package, and the model of the XDG autostart entry. Its Exec line
// is the bare command "inboxsync"; callers that need another command
// replace that line.
//
//go:embed io.inboxsync.app.desktop
var DesktopEntry string
