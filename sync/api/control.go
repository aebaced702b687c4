package api

import "context"

// Control is what clients may ask of the agent.
type Control interface {
	// Status returns the agent's and every account's state.
	Status(ctx context.Context) (Status, error)
	// Subscribe streams events until ctx is done; the channel is then
	// closed. A slow subscriber loses events rather than stalling the
	// engine; it should re-read Status when Seq jumps.
	Subscribe(ctx context.Context) (<-chan Event, error)
	// Pause pauses the agent or one account; it is persisted.
	Pause(ctx context.Context, req PauseRequest) error
	// Resume lifts a pause (account "" = the global pause). Resuming a
	// suspended account also re-enables it.
	Resume(ctx context.Context, account string) error
	// SyncNow starts a session at once for one account, or all ("").
	// Within a minute of the last attempt it returns a *TooSoonError.
	SyncNow(ctx context.Context, account string) error
	// Accounts lists the configured accounts.
	Accounts(ctx context.Context) ([]Account, error)
	// RemoveAccount disconnects an account: stops its runner and deletes
	// its secrets; purge also deletes the account and its synced data.
	RemoveAccount(ctx context.Context, account string, purge bool) error
	// Sessions lists past sessions, newest first.
	Sessions(ctx context.Context, q SessionQuery) ([]Session, error)
	// Activity returns a page of synced items, newest first, and how many
	// the query selects. A search it cannot understand fails with
	// ErrInvalid, saying why.
	Activity(ctx context.Context, q ActivityQuery) (ActivityPage, error)
	// Items returns a page of stored items in the order they were stored,
	// for an export (store.Export pages through it).
	Items(ctx context.Context, q ItemsQuery) (ItemsPage, error)
	// Export writes the items req selects to the file req.Path (see
	// ExportRequest), reporting the items written so far through progress
	// (which may be nil), and returns how many it wrote. Cancelling ctx
	// stops it and leaves no file.
	Export(ctx context.Context, req ExportRequest, progress func(ExportProgress)) (int, error)
	// Issues lists per-item problems, newest first.
	Issues(ctx context.Context, account string, limit int) ([]Issue, error)
	// Settings returns the current settings.
	Settings(ctx context.Context) (Settings, error)
	// UpdateSettings validates, stores and applies new settings.
	UpdateSettings(ctx context.Context, s Settings) (Settings, error)
	// Activate connects an account (new, or again after it needed
	// re-activation). Steps that need the user (a browser sign-in) are
	// reported through progress. Cancelling ctx cancels the activation.
	Activate(ctx context.Context, req ActivationRequest, progress func(ActivationProgress)) (Account, error)
	// OpenWindow asks the agent to show a window.
	OpenWindow(ctx context.Context, req WindowRequest) error
	// Policy returns the administrator's policy as the agent read it,
	// with its problems.
	Policy(ctx context.Context) (Policy, error)
	// TestNotice sends a test email notice to every configured address
	// and says, for each, whether the relay took it.
	TestNotice(ctx context.Context) ([]NoticeDelivery, error)

	// CRMConnect signs in to the CRM (Salesforce) in the agent, reporting
	// the steps that need the user through progress as Activate does,
	// queues the mailbox's history window and starts logging.
	CRMConnect(ctx context.Context, req CRMConnectRequest, progress func(ActivationProgress)) (CRMStatus, error)
	// CRMStatus returns the CRM connection's state, API usage and the
	// items' counts by CRM state.
	CRMStatus(ctx context.Context) (CRMStatus, error)
	// CRMSync starts logging at once; with wait it returns when the run
	// ended.
	CRMSync(ctx context.Context, wait bool) (CRMStatus, error)
	// CRMDisconnect stops logging and deletes the CRM sign-in.
	CRMDisconnect(ctx context.Context) error
	// CRMSettings returns the CRM settings in force.
	CRMSettings(ctx context.Context) (CRMSettings, error)
	// UpdateCRMSettings validates and stores the CRM settings.
	UpdateCRMSettings(ctx context.Context, s CRMSettings) (CRMSettings, error)
}
