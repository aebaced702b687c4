// Package control carries api.Control, the one interface between the agent
// and its clients (the tray, the on-demand windows and the CLI), over a
// socket. The agent composes an api.Control in-process (app: the engine,
// the email notices, the window launcher); Server serves any api.Control
// on a unix socket and Client implements api.Control over that socket, so
// a window or the CLI cannot tell the two apart. This package and the
// client link only sync/api: no engine, store or provider.
//
// # Wire protocol
//
// The agent listens on a unix socket that only its user can reach (mode
// 0600 in a 0700 directory; on Linux and the BSDs the peer's uid is also
// checked). A connection carries one request; every frame is one line of
// JSON:
//
//	client → server  {"method":"status","params":{…}}
//	server → client  {"result":…}    (null when the method returns nothing)
//	             or  {"error":{"code":"too-soon","message":"…","wait":"40s"}}
//	subscribe        {"result":null} once subscribed, then {"event":…} frames
//	activate         {"progress":…} frames, then {"result":account} or {"error":…}
//	export           {"progress":{"items":N}} frames, then {"result":N} or {"error":…}
//
// Methods and params: ping; status; subscribe; pause (PauseRequest);
// resume and sync ({"account"}); accounts; remove-account ({"account",
// "purge"}); sessions (SessionQuery); activity (ActivityQuery); items
// (ItemsQuery: a page for an export); export (ExportRequest: the agent
// writes the file; progress frames like activate); issues
// ({"account","limit"}); settings; update-settings (Settings); activate
// (ActivationRequest); open-window (WindowRequest); policy; test-notice;
// crm-connect (CRMConnectRequest; progress frames like activate);
// crm-status; crm-sync ({"wait"}); crm-disconnect; crm-settings;
// update-crm-settings (CRMSettings).
// Error codes: unknown-account, invalid, unsupported, too-soon,
// not-running, canceled, mailbox-mismatch, locked and error; the client maps them back to the engine's sentinels and keeps
// the message. After the request line the server reads nothing but, for
// subscribe, activate, crm-connect, crm-sync and export, the end of the stream: a client that hangs up
// (or half-closes) ends its subscription or cancels its activation.
// Unary requests run to the end whatever the client does. Requests are
// limited to 1 MiB.
package control
