package app

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/inboxsync/inboxsync/internal/install"

	"github.com/inboxsync/inboxsync/sync/provider/gmail"
)

// The agent of a home reads the gmail section of that home's config.json,
// every key of it, and gives the connector the keyring.
func TestGmailDefaultsComeFromTheAgentsHome(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("INBOXSYNC_HOME", "")
	cfg := `{"gmail": {"client_id": "1234567890-abc.apps.googleusercontent.com", "client_secret": "GOCSPX-xyz",
		"auth_url": "https://auth.example/o/oauth2/v2/auth", "token_url": "https://auth.example/token",
		"gmail_endpoint": "https://gmail.example/gmail/v1", "calendar_endpoint": "https://cal.example/calendar/v3"}}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := install.ResolvePaths(dir)
	if err != nil {
		t.Fatal(err)
	}
	newConn, ok := connectors["gmail"]
	if !ok {
		t.Fatal("no gmail connector is linked into the agent")
	}
	c, ok := newConn(p).(*gmail.Connector)
	if !ok || c.Defaults == nil || c.Secrets == nil {
		t.Fatalf("gmail connector = %#v, want a *gmail.Connector with defaults and the keyring", newConn(p))
	}
	d, err := c.Defaults()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		gmail.SettingClientID: "1234567890-abc.apps.googleusercontent.com", gmail.SettingClientSecret: "GOCSPX-xyz",
		gmail.SettingAuthURL: "https://auth.example/o/oauth2/v2/auth", gmail.SettingTokenURL: "https://auth.example/token",
		gmail.SettingGmailEndpoint: "https://gmail.example/gmail/v1", gmail.SettingCalendarEndpoint: "https://cal.example/calendar/v3",
	}
	for k, v := range want {
		if d[k] != v {
			t.Errorf("default %s = %q, want %q", k, d[k], v)
		}
	}
	s, err := gmail.ResolveSettings(nil, d)
	if err != nil || s.ClientSecret != "GOCSPX-xyz" || s.GmailEndpoint != "https://gmail.example/gmail/v1" {
		t.Errorf("resolved %+v, %v", s, err)
	}

	// Edited while the agent runs: the next activation sees the change.
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"gmail": {"client_id": "42-new.apps.googleusercontent.com"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if d, err := c.Defaults(); err != nil || d[gmail.SettingClientID] != "42-new.apps.googleusercontent.com" || d[gmail.SettingClientSecret] != "" {
		t.Errorf("after editing config.json: %v, %v", d, err)
	}

	// A broken file is an error that names it, not empty defaults.
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"gmail": `), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Defaults(); err == nil {
		t.Error("a broken config.json gave no error")
	}
}
