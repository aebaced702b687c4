package app

import (
	"context"
	"fmt"
	"slices"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/engine"
	"github.com/inboxsync/inboxsync/sync/store"
)

// agentControl is the agent's api.Control, the one the control socket
// serves. The engine answers everything about sync, accounts, settings
// and the CRM; the agent adds what is not sync: showing a window, testing
// the email notices and writing an export file. Keeping those here keeps
// the engine free of windows and mail relays (docs/architecture.md,
// "Layers").
type agentControl struct {
	*engine.Engine
	// items pages through the store for an export (the engine's Items).
	items func(context.Context, api.ItemsQuery) (api.ItemsPage, error)
	// notices sends test notices; nil when they are not set up.
	notices noticeTester
	// open shows a window (the window launcher).
	open func(api.WindowRequest)
}

var _ api.Control = (*agentControl)(nil)

// noticeTester sends a test email notice to every configured address
// (the agent's notice service).
type noticeTester interface {
	Test(ctx context.Context) ([]api.NoticeDelivery, error)
}

// windowNames are the windows OpenWindow shows.
var windowNames = []string{"dashboard", "activate", "settings", api.WindowCRMConnect}

// OpenWindow implements api.Control: it asks the window launcher for the
// window. The activation window is refused while the organisation runs
// sync (policy activation = "organisation"): nothing can be activated.
func (a *agentControl) OpenWindow(ctx context.Context, req api.WindowRequest) error {
	if !slices.Contains(windowNames, req.Window) {
		return fmt.Errorf("%w: unknown window %q", api.ErrInvalid, req.Window)
	}
	if req.Window == "activate" {
		if org := organisation(ctx, a); org != nil {
			return &api.OrganisationError{Organisation: *org}
		}
	}
	a.open(req)
	return nil
}

// TestNotice implements api.Control: a test notice to every configured
// address through the agent's notice service.
func (a *agentControl) TestNotice(ctx context.Context) ([]api.NoticeDelivery, error) {
	if a.notices == nil {
		return nil, fmt.Errorf("%w: email notices are not set up in this agent", api.ErrUnsupported)
	}
	return a.notices.Test(ctx)
}

// Export implements api.Control: the agent writes the file, paging
// through the store as the engine's Items does.
func (a *agentControl) Export(ctx context.Context, req api.ExportRequest, progress func(api.ExportProgress)) (int, error) {
	return store.ExportFile(ctx, a.items, req, progress)
}
