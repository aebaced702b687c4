package app

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/internal/install"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/policy"
	"github.com/inboxsync/inboxsync/sync/provider"
)

func TestProviderDefaultsConfigOverPolicy(t *testing.T) {
	dir := t.TempDir()
	p := install.Paths{Home: dir}
	pol := policy.Parse("[office365]\nclient_id = \"from-policy\"\ntenant = \"contoso.com\"\n[google]\nclient_id = \"g-policy\"\n")
	d, err := ProviderDefaults(p, pol, "office365")
	if err != nil || d["client_id"] != "from-policy" || d["tenant"] != "contoso.com" {
		t.Fatalf("without config.json: %v %v", d, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"office365": {"client_id": "from-config"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	d, _ = ProviderDefaults(p, pol, "office365")
	if d["client_id"] != "from-config" || d["tenant"] != "contoso.com" {
		t.Errorf("config.json over the policy: %v", d)
	}
	if g, _ := ProviderDefaults(p, pol, "gmail"); g["client_id"] != "g-policy" {
		t.Errorf("gmail reads the [google] table: %v", g)
	}
}

func TestWatchPolicyReadsChanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.toml")
	got := make(chan api.Policy, 4)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go watchPolicy(ctx, path, stampOf(path), 10*time.Millisecond, slog.New(slog.DiscardHandler), func(p api.Policy) { got <- p })
	next := func(what string) api.Policy {
		t.Helper()
		select {
		case p := <-got:
			return p
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: the policy was not read again", what)
		}
		return api.Policy{}
	}
	if err := os.WriteFile(path, []byte("sync_interval = \"15m\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if p := next("created"); !p.Found || p.Values["sync_interval"] != "15m0s" {
		t.Errorf("created: %+v", p)
	}
	if err := os.WriteFile(path, []byte("sync_interval = \"45m\"\nextra = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if p := next("changed"); p.Values["sync_interval"] != "45m0s" || len(p.Problems) != 1 {
		t.Errorf("changed: %+v", p)
	}
	os.Remove(path)
	if p := next("removed"); p.Found {
		t.Errorf("removed: %+v", p)
	}
	select {
	case p := <-got:
		t.Errorf("read again without a change: %+v", p)
	case <-time.After(100 * time.Millisecond):
	}
}

// recordConnector records the request it is given.
type recordConnector struct {
	provider.Connector
	got api.ActivationRequest
}

func (r *recordConnector) Connect(_ context.Context, req api.ActivationRequest, _ func(api.ActivationProgress)) (provider.Connection, error) {
	r.got = req
	return provider.Connection{}, nil
}

// Exchange has no configuration file section: what the request leaves
// empty comes from the policy's [exchange] table; what it gives wins.
func TestExchangeTakesThePolicysEWSURL(t *testing.T) {
	pol := policy.Parse("[exchange]\news_url = \"https://mail.contoso.com/EWS/Exchange.asmx\"\n")
	current.Store(&pol)
	t.Cleanup(func() { current.Store(nil) })
	rec := &recordConnector{}
	c := policyDefaulted{Connector: rec, name: "exchange"}
	c.Connect(context.Background(), api.ActivationRequest{Provider: "exchange", Login: `CORP\ann`}, nil)
	if rec.got.Settings["ews_url"] != "https://mail.contoso.com/EWS/Exchange.asmx" {
		t.Errorf("empty request: settings %v", rec.got.Settings)
	}
	c.Connect(context.Background(), api.ActivationRequest{Provider: "exchange", Settings: map[string]string{"ews_url": "https://other/EWS/Exchange.asmx"}}, nil)
	if rec.got.Settings["ews_url"] != "https://other/EWS/Exchange.asmx" {
		t.Errorf("the request's URL lost: %v", rec.got.Settings)
	}
}
