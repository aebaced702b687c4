package app

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/inboxsync/inboxsync/internal/install"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/crm"
	"github.com/inboxsync/inboxsync/sync/policy"
	"github.com/inboxsync/inboxsync/sync/secret/secrettest"
)

// recordingConnector records the settings it is given.
type recordingConnector struct{ got []map[string]string }

func (r *recordingConnector) Connect(_ context.Context, req crm.ConnectRequest, _ func(api.ActivationProgress)) (crm.Connection, error) {
	r.got = append(r.got, req.Settings)
	return nil, nil
}

func (r *recordingConnector) Open(settings map[string]string) (crm.Connection, error) {
	r.got = append(r.got, settings)
	return nil, nil
}

// The agent's Salesforce connections take what the window or the request
// leaves empty from config.json's salesforce section, then the policy's
// [salesforce] table; what they give wins.
func TestSalesforceDefaults(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("INBOXSYNC_HOME", "")
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"salesforce": {"client_id": "3MVG-config", "redirect_port": 1818}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	pol := policy.Parse("[salesforce]\nlogin_url = \"https://contoso.my.salesforce.com\"\nclient_id = \"3MVG-policy\"\n")
	current.Store(&pol)
	t.Cleanup(func() { current.Store(nil) })
	p, err := install.ResolvePaths(dir)
	if err != nil {
		t.Fatal(err)
	}
	k, ok := crmConnectors(p, secrettest.NewMemory())[api.CRMSalesforce].(crmDefaulted)
	if !ok {
		t.Fatal("the Salesforce connector does not apply the defaults")
	}
	rec := &recordingConnector{}
	k.Connector = rec
	k.Connect(context.Background(), crm.ConnectRequest{Settings: map[string]string{"api_version": "v63.0", "login_url": ""}}, nil)
	k.Open(map[string]string{"client_id": "3MVG-user"})
	want := []map[string]string{
		{"login_url": "https://contoso.my.salesforce.com", "client_id": "3MVG-config", "redirect_port": "1818", "api_version": "v63.0"},
		{"login_url": "https://contoso.my.salesforce.com", "client_id": "3MVG-user", "redirect_port": "1818"},
	}
	if !reflect.DeepEqual(rec.got, want) {
		t.Errorf("settings given:\n%v\nwant\n%v", rec.got, want)
	}
}
