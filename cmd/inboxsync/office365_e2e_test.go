package main

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/auth"
	"github.com/inboxsync/inboxsync/sync/auth/authtest"
	"github.com/inboxsync/inboxsync/sync/provider/graph/graphtest"
)

// TestOffice365EndToEnd signs the real binary in against the emulated
// Microsoft identity platform (the test plays the browser, following the
// link the CLI prints), sees the first Graph sync, then revokes the grant
// and sees the account need re-activation at the next sync, with the
// reason in words.
func TestOffice365EndToEnd(t *testing.T) {
	needKeyring(t)
	idp := authtest.New(t)
	g := graphtest.New(t)
	g.Auth = idp.ValidAccess
	now := time.Now()
	g.Add(graphtest.Inbox, 30, now.Add(-time.Hour))
	g.Add(graphtest.Sent, 5, now.Add(-2*time.Hour))
	g.Add(graphtest.Calendar, 3, now.AddDate(0, 0, 2))

	// The agent trusts the emulators' certificate through SSL_CERT_FILE.
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: idp.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHome(t, "SSL_CERT_FILE="+caFile, "INBOXSYNC_TEST_MIN_SYNC_GAP=0s", "INBOXSYNC_TEST_WALL_CHECK=100ms")
	h.startAgent()

	if _, errOut, code := h.run("", "account", "add", "office365", "--no-browser"); code != 1 || !strings.Contains(errOut, "--client-id") {
		t.Fatalf("add without a client ID: exit %d %q", code, errOut)
	}

	// The administrator's policy presets (and locks) the client ID and
	// the endpoints: `account add office365 --no-browser` needs no flags.
	pol := fmt.Sprintf("provider = \"office365\"\nlocked = [\"office365\"]\n[office365]\nclient_id = %q\nauthority = %q\ngraph_endpoint = %q\n",
		authtest.DefaultClientID, idp.URL, g.Endpoint())
	if err := os.WriteFile(filepath.Join(h.dir, "policy.toml"), []byte(pol), 0o644); err != nil {
		t.Fatal(err)
	}
	h.eventually("the agent reads the policy", func() bool { return h.status().PolicyPath != "" })
	if _, errOut, code := h.run("", "account", "add", "office365", "--no-browser", "--client-id", "0b1e3c5a-1111-4222-8333-944455556666"); code != 1 || !strings.Contains(errOut, "Set by your administrator: client_id") {
		t.Fatalf("add with another client ID than the locked one: exit %d %q", code, errOut)
	}
	browser := idp.Browser()
	out, _ := h.signIn(idp.URL+"/organizations/oauth2/v2.0/authorize?", browser.Open, "account", "add", "office365", "--account", "work", "--no-browser")
	if !strings.Contains(out, "Finish signing in in your browser") || !strings.Contains(out, "Connected work (ann@contoso.test)") {
		t.Fatalf("account add printed:\n%s", out)
	}
	if _, page := browser.Last(); !strings.Contains(page, "You can close this tab") {
		t.Errorf("browser page: %q", page)
	}

	h.eventually("the first sync ends", func() bool {
		s := h.status()
		return len(s.Accounts) == 1 && s.Accounts[0].LastSync != nil && s.Accounts[0].LastSync.Outcome == "ok"
	})
	s := h.status().Accounts[0]
	if s.Provider != "office365" || s.Email != "ann@contoso.test" || s.LastSync.Added != 38 {
		t.Fatalf("after the first sync: %+v %+v", s, s.LastSync)
	}
	if items := h.items(); len(items) != 38 {
		t.Fatalf("activity: %d items", len(items))
	}
	// The sync refreshed the token, and the server refuses replaced refresh
	// tokens: the keyring must hold the newest one.
	stored, err := keyring.Get("inboxsync", "work/oauth-token")
	if err != nil {
		t.Fatalf("keyring: %v", err)
	}
	grant, err := auth.DecodeGrant(stored)
	if err != nil {
		t.Fatal(err)
	}
	if idp.Refreshes() < 1 || !idp.ValidRefresh(grant.RefreshToken) {
		t.Errorf("after %d refreshes the keyring holds a refresh token the server does not accept", idp.Refreshes())
	}

	// The user's admin revokes the sessions (or the password changes).
	h.ok("settings", "--interval", "1s")
	idp.Revoke(50173)
	h.eventually("the account needs re-activation", func() bool {
		return h.status().Accounts[0].State == api.NeedsReactivation
	})
	s = h.status().Accounts[0]
	if !strings.Contains(s.Reason, "revoked, or your password was changed") || s.Rejections != 0 {
		t.Fatalf("status: %+v", s)
	}

	// No token is written anywhere under the home (store, logs).
	current, _ := keyring.Get("inboxsync", "work/oauth-token")
	g3, _ := auth.DecodeGrant(current)
	h.ok("account", "remove", "work")
	if _, err := keyring.Get("inboxsync", "work/oauth-token"); err == nil {
		t.Error("the grant is still in the keyring after remove")
	}
	h.stopAgent()
	filepath.Walk(h.dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			for _, secret := range []string{grant.RefreshToken, g3.RefreshToken, "at-"} {
				if bytes.Contains(b, []byte(secret)) {
					t.Errorf("%s contains a token", p)
				}
			}
		}
		return nil
	})
	if strings.Contains(h.log.String(), grant.RefreshToken) || strings.Contains(h.log.String(), "at-") {
		t.Error("the agent log contains a token")
	}
}
