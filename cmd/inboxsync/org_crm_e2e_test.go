package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inboxsync/inboxsync/internal/pgtest"
	"github.com/inboxsync/inboxsync/sync/crm/salesforce/sftest"
	"github.com/inboxsync/inboxsync/sync/org/pgstore"
)

// TestOrgCRMSalesforce connects an organisation to Salesforce (the
// emulator's JWT bearer grant) with `org crm connect salesforce`, refuses
// a key file others can read and a wrong consumer key, stores paths and
// never the key, and maps mailboxes to Salesforce users: by address, by
// the admin's override, or not at all, with the reason.
func TestOrgCRMSalesforce(t *testing.T) {
	db := pgtest.New(t)
	dir := t.TempDir()
	sf := sftest.New(t, sftest.Options{})
	cert, pemData := sftest.NewKeyPair(t)
	const key = "3MVG9contoso.inboxsync"
	sf.RegisterJWT(key, cert)
	sf.AddUser("admin@contoso.test.sf", "it@contoso.test", true, true)
	alice := sf.AddUser("alice@contoso.test.sf", "Alice@Contoso.test", true, true)
	sf.AddUser("bob@contoso.test.sf", "bob@contoso.test", false, true)
	sf.AddUser("twin1@contoso.test.sf", "twin@contoso.test", true, true)
	twin2 := sf.AddUser("twin2@contoso.test.sf", "twin@contoso.test", true, true)

	keyPath := filepath.Join(dir, "sf-key.pem")
	if err := os.WriteFile(keyPath, pemData, 0o600); err != nil {
		t.Fatal(err)
	}
	openPath := filepath.Join(dir, "open-key.pem")
	if err := os.WriteFile(openPath, pemData, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(openPath, 0o644)

	o := &orgEnv{t: t, db: db, dir: dir, env: append(os.Environ(), "INBOXSYNC_DATABASE=")}
	o.ok("init")
	o.ok("mailboxes", "add", "alice@contoso.test", "bob@contoso.test", "dave@contoso.test", "twin@contoso.test")

	// Not connected yet.
	if _, errOut, code := o.run("crm", "status"); code != 1 || !strings.Contains(errOut, "the organisation has not connected Salesforce: run inboxsync org crm connect salesforce") {
		t.Fatalf("status before connecting: exit %d, %s", code, errOut)
	}
	connect := func(args ...string) (string, string, int) {
		return o.run(append([]string{"crm", "connect", "salesforce", "--login-url", sf.URL, "--integration-user", "admin@contoso.test.sf"}, args...)...)
	}
	// A key others can read, a wrong consumer key: refused, nothing stored.
	if _, errOut, code := connect("--client-id", key, "--certificate", openPath); code != 1 || !strings.Contains(errOut, "can be read by other users (mode 0644)") || !strings.Contains(errOut, "chmod 600 "+openPath) {
		t.Fatalf("connect with a world-readable key: exit %d, %s", code, errOut)
	}
	if _, errOut, code := connect("--client-id", "3MVG9wrong", "--certificate", keyPath); code != 1 || !strings.Contains(errOut, "does not know the consumer key 3MVG9wrong") || !strings.Contains(errOut, "nothing stored") {
		t.Fatalf("connect with a wrong consumer key: exit %d, %s", code, errOut)
	}
	sf.SetPreauthorized("admin@contoso.test.sf", false)
	if _, errOut, code := connect("--client-id", key, "--certificate", keyPath); code != 1 || !strings.Contains(errOut, "The integration user cannot sign in") || !strings.Contains(errOut, "pre-authorize the app") {
		t.Fatalf("connect with the integration user not pre-authorized: exit %d, %s", code, errOut)
	}
	sf.SetPreauthorized("admin@contoso.test.sf", true)
	if _, errOut, code := o.run("crm", "status"); code != 1 || !strings.Contains(errOut, "has not connected Salesforce") {
		t.Fatalf("a refused connect stored something: exit %d, %s", code, errOut)
	}

	out := o.ok(append([]string{"crm", "connect", "salesforce", "--login-url", sf.URL, "--integration-user", "admin@contoso.test.sf"}, "--client-id", key, "--certificate", keyPath)...)
	for _, want := range []string{"Salesforce connected: org " + sftest.OrgID, "signed in as admin@contoso.test.sf", "The org has 4 active users.", "1 of the 4 mailboxes have a Salesforce user", "The certificate expires on"} {
		if !strings.Contains(out, want) {
			t.Errorf("connect output lacks %q:\n%s", want, out)
		}
	}
	if n := sf.Count("jwt"); n < 2 {
		t.Fatalf("%d JWT grants: connect did not prove the setup", n)
	}

	// The database holds the key's path, never the key.
	ctx := context.Background()
	st, err := pgstore.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	v, ok, err := st.Setting(ctx, "crm.salesforce")
	if err != nil || !ok || !strings.Contains(v, keyPath) || !strings.Contains(v, key) {
		t.Fatalf("setting crm.salesforce = %q, %v, %v", v, ok, err)
	}
	var dump string
	if err := st.Pool().QueryRow(ctx, "SELECT coalesce(string_agg(key || '=' || value, ' '), '') FROM settings").Scan(&dump); err != nil {
		t.Fatal(err)
	}
	keyBody := strings.Split(string(pemData), "\n")[3]
	if strings.Contains(dump, "PRIVATE KEY") || strings.Contains(dump, keyBody) {
		t.Fatal("the settings hold key material")
	}

	type row struct {
		Address, Username, Reason string
		UserID                    string `json:"user_id"`
		Override                  bool
	}
	status := func() map[string]row {
		t.Helper()
		var s struct{ Mailboxes []row }
		if err := json.Unmarshal([]byte(o.ok("crm", "status", "--json")), &s); err != nil {
			t.Fatal(err)
		}
		m := map[string]row{}
		for _, r := range s.Mailboxes {
			m[r.Address] = r
		}
		return m
	}
	s := status()
	if r := s["alice@contoso.test"]; r.Username != "alice@contoso.test.sf" || r.UserID != alice || r.Reason != "" {
		t.Errorf("alice: %+v", r)
	}
	if r := s["bob@contoso.test"]; r.Username != "" || !strings.Contains(r.Reason, "No active Salesforce user has this address") {
		t.Errorf("bob (inactive in Salesforce): %+v", r)
	}
	if r := s["dave@contoso.test"]; r.Username != "" || !strings.Contains(r.Reason, "inboxsync org crm map dave@contoso.test USERNAME") {
		t.Errorf("dave (no Salesforce user): %+v", r)
	}
	if r := s["twin@contoso.test"]; r.Username != "" || !strings.Contains(r.Reason, "2 active Salesforce users have this address") {
		t.Errorf("twin (two users): %+v", r)
	}

	// The admin maps the ambiguous address; a username that does not
	// exist, or an inactive user, is refused.
	o.ok("crm", "map", "twin@contoso.test", "twin2@contoso.test.sf")
	if _, errOut, code := o.run("crm", "map", "dave@contoso.test", "ghost@contoso.test.sf"); code != 1 || !strings.Contains(errOut, "No Salesforce user has the username ghost@contoso.test.sf") {
		t.Fatalf("map to an unknown user: exit %d, %s", code, errOut)
	}
	if _, errOut, code := o.run("crm", "map", "Bob@contoso.test", "bob@contoso.test.sf"); code != 1 || !strings.Contains(errOut, "is inactive") {
		t.Fatalf("map to an inactive user: exit %d, %s", code, errOut)
	}
	s = status()
	if r := s["twin@contoso.test"]; r.Username != "twin2@contoso.test.sf" || r.UserID != twin2 || !r.Override {
		t.Errorf("twin after map: %+v", r)
	}
	if r := s["dave@contoso.test"]; r.Username != "" || r.Override {
		t.Errorf("dave after a refused map: %+v", r)
	}
	text := o.ok("crm", "status")
	for _, want := range []string{"twin2@contoso.test.sf (mapped)", "4 mailboxes: 2 log as their Salesforce user, 2 log nothing."} {
		if !strings.Contains(text, want) {
			t.Errorf("status lacks %q:\n%s", want, text)
		}
	}
	o.ok("crm", "map", "--clear", "twin@contoso.test")
	if r := status()["twin@contoso.test"]; r.Username != "" || r.Override {
		t.Errorf("twin after --clear: %+v", r)
	}
	if m, err := st.CRMMap(ctx); err != nil || len(m) != 0 {
		t.Fatalf("crm.map after --clear = %v, %v", m, err)
	}
}
