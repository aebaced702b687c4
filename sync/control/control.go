// Package control is the one interface between the agent's engine and its
// clients: the tray, the on-demand windows and the CLI. The engine
// implements Control in-process; Server serves any Control on a unix socket
// and Client implements Control over that socket, so a window or the CLI
// cannot tell the two apart.
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
//
// Methods and params: ping; status; subscribe; pause (PauseRequest);
// resume and sync ({"account"}); accounts; remove-account ({"account",
// "purge"}); sessions (SessionQuery); activity (ActivityQuery); items
// (ItemsQuery: a page for an export); issues
// ({"account","limit"}); settings; update-settings (Settings); activate
// (ActivationRequest); open-window (WindowRequest); policy; test-notice;
// crm-connect (CRMConnectRequest; progress frames like activate);
// crm-status; crm-sync ({"wait"}); crm-disconnect; crm-settings;
// update-crm-settings (CRMSettings).
// Error codes: unknown-account, invalid, unsupported, too-soon,
// not-running, canceled, mailbox-mismatch, locked and error; the client maps them back to the engine's sentinels and keeps
// the message. After the request line the server reads nothing but, for
// subscribe, activate, crm-connect and crm-sync, the end of the stream: a client that hangs up
// (or half-closes) ends its subscription or cancels its activation.
// Unary requests run to the end whatever the client does. Requests are
// limited to 1 MiB.
package control

import (
	"context"

	"github.com/inboxsync/inboxsync/sync/api"
)

// Control is what clients may ask of the agent.
type Control interface {
	// Status returns the agent's and every account's state.
	Status(ctx context.Context) (api.Status, error)
	// Subscribe streams events until ctx is done; the channel is then
	// closed. A slow subscriber loses events rather than stalling the
	// engine; it should re-read Status when Seq jumps.
	Subscribe(ctx context.Context) (<-chan api.Event, error)
	// Pause pauses the agent or one account; it is persisted.
	Pause(ctx context.Context, req api.PauseRequest) error
	// Resume lifts a pause (account "" = the global pause). Resuming a
	// suspended account also re-enables it.
	Resume(ctx context.Context, account string) error
	// SyncNow starts a session at once for one account, or all ("").
	// Within a minute of the last attempt it returns a *engine.TooSoonError.
	SyncNow(ctx context.Context, account string) error
	// Accounts lists the configured accounts.
	Accounts(ctx context.Context) ([]api.Account, error)
	// RemoveAccount disconnects an account: stops its runner and deletes
	// its secrets; purge also deletes the account and its synced data.
	RemoveAccount(ctx context.Context, account string, purge bool) error
	// Sessions lists past sessions, newest first.
	Sessions(ctx context.Context, q api.SessionQuery) ([]api.Session, error)
	// Activity returns a page of synced items, newest first, and how many
	// the query selects. A search it cannot understand fails with
	// api.ErrInvalid, saying why.
	Activity(ctx context.Context, q api.ActivityQuery) (api.ActivityPage, error)
	// Items returns a page of stored items in the order they were stored,
	// for an export (store.Export pages through it).
	Items(ctx context.Context, q api.ItemsQuery) (api.ItemsPage, error)
	// Issues lists per-item problems, newest first.
	Issues(ctx context.Context, account string, limit int) ([]api.Issue, error)
	// Settings returns the current settings.
	Settings(ctx context.Context) (api.Settings, error)
	// UpdateSettings validates, stores and applies new settings.
	UpdateSettings(ctx context.Context, s api.Settings) (api.Settings, error)
	// Activate connects an account (new, or again after it needed
	// re-activation). Steps that need the user (a browser sign-in) are
	// reported through progress. Cancelling ctx cancels the activation.
	Activate(ctx context.Context, req api.ActivationRequest, progress func(api.ActivationProgress)) (api.Account, error)
	// OpenWindow asks the agent to show a window.
	OpenWindow(ctx context.Context, req api.WindowRequest) error
	// Policy returns the administrator's policy as the agent read it,
	// with its problems.
	Policy(ctx context.Context) (api.Policy, error)
	// TestNotice sends a test email notice to every configured address
	// and says, for each, whether the relay took it.
	TestNotice(ctx context.Context) ([]api.NoticeDelivery, error)

	// CRMConnect signs in to the CRM (Salesforce) in the agent, reporting
	// the steps that need the user through progress as Activate does,
	// queues the mailbox's history window and starts logging.
	CRMConnect(ctx context.Context, req api.CRMConnectRequest, progress func(api.ActivationProgress)) (api.CRMStatus, error)
	// CRMStatus returns the CRM connection's state, API usage and the
	// items' counts by CRM state.
	CRMStatus(ctx context.Context) (api.CRMStatus, error)
	// CRMSync starts logging at once; with wait it returns when the run
	// ended.
	CRMSync(ctx context.Context, wait bool) (api.CRMStatus, error)
	// CRMDisconnect stops logging and deletes the CRM sign-in.
	CRMDisconnect(ctx context.Context) error
	// CRMSettings returns the CRM settings in force.
	CRMSettings(ctx context.Context) (api.CRMSettings, error)
	// UpdateCRMSettings validates and stores the CRM settings.
	UpdateCRMSettings(ctx context.Context, s api.CRMSettings) (api.CRMSettings, error)
}
