package app

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/inboxsync/inboxsync/internal/install"

	"github.com/inboxsync/inboxsync/sync/provider/graph"
)

func TestOffice365DefaultsComeFromTheAgentsHome(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("INBOXSYNC_HOME", "")
	cfg := `{"office365": {"client_id": "11111111-2222-3333-4444-555555555555", "tenant": "contoso.onmicrosoft.com"}}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := install.ResolvePaths(dir)
	if err != nil {
		t.Fatal(err)
	}
	d, err := office365Defaults(p)
	if err != nil {
		t.Fatal(err)
	}
	if d[graph.SettingClientID] != "11111111-2222-3333-4444-555555555555" || d[graph.SettingTenant] != "contoso.onmicrosoft.com" {
		t.Fatalf("defaults for --home %s: %v", dir, d)
	}
}
