package app

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/engine"
	"github.com/inboxsync/inboxsync/sync/policy"
	"github.com/inboxsync/inboxsync/sync/secret/secrettest"
	"github.com/inboxsync/inboxsync/sync/store"
)

// The agent's OpenWindow refuses the activation window while the
// organisation runs sync, with the sentence and the administrator's
// address, and opens every other window; with the user activating it
// opens the activation window too.
func TestOpenWindowInOrganisationMode(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(filepath.Join(t.TempDir(), "inboxsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	eng, err := engine.New(engine.Config{Store: st, Secrets: secrettest.NewMemory(),
		Policy: policy.Parse("activation = \"organisation\"\nadmin_email = \"admin@example.com\"\n")})
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{}
	ctl := &agentControl{Engine: eng, open: r.open}
	err = ctl.OpenWindow(ctx, api.WindowRequest{Window: "activate"})
	if !errors.Is(err, api.ErrLocked) || err.Error() != "Sync is run by your organisation: mailboxes are not connected on this computer. Questions: admin@example.com" {
		t.Fatalf("activation window in organisation mode: %v", err)
	}
	if err := ctl.OpenWindow(ctx, api.WindowRequest{Window: "dashboard"}); err != nil {
		t.Fatalf("dashboard in organisation mode: %v", err)
	}
	eng.SetPolicy(policy.Parse("activation = \"user\"\n"))
	if err := ctl.OpenWindow(ctx, api.WindowRequest{Window: "activate"}); err != nil {
		t.Fatalf("activation window with activation = user: %v", err)
	}
	_, windows := r.got()
	want(t, windows, []api.WindowRequest{{Window: "dashboard"}, {Window: "activate"}})
}
