package main

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/internal/pgtest"
	"github.com/inboxsync/inboxsync/sync/emailnotice"
	"github.com/inboxsync/inboxsync/sync/emailnotice/smtptest"
	"github.com/inboxsync/inboxsync/sync/provider/graph/graphtest"
)

// TestOrgEmailNotices runs two `org serve` workers with a policy naming a
// real SMTP relay (STARTTLS, AUTH, the password in an owner-only file): a
// mailbox whose access is withdrawn gets exactly one email to the admin
// and one to its user; the app's consent withdrawn for the tenant, with
// 30 mailboxes, is exactly one email, to the admin.
func TestOrgEmailNotices(t *testing.T) {
	if testing.Short() {
		t.Skip("long end-to-end test")
	}
	db := pgtest.New(t)
	dir := t.TempDir()
	now := time.Now()
	const relayPass = "Org-Relay-Pa55-9Kq"
	relay := smtptest.Start(t, smtptest.Options{Username: "inboxsync", Password: relayPass})

	g := graphtest.New(t)
	cert, pemFile := graphtest.NewCertificate(t, false)
	const tenant, clientID = "7a1c2f4e-5b6d-4e8f-9a0b-1c2d3e4f5a6b", "3f2e1d0c-9b8a-4f7e-8d6c-5b4a39281706"
	g.RegisterApp(graphtest.AppRegistration{Tenant: tenant, TenantDomain: "contoso.test", ClientID: clientID, Certificates: []*x509.Certificate{cert}})
	certPath := filepath.Join(dir, "app.pem")
	if err := os.WriteFile(certPath, pemFile, 0o600); err != nil {
		t.Fatal(err)
	}
	const n = 30
	var addrs []string
	for i := range n {
		a := fmt.Sprintf("m%03d@contoso.test", i)
		g.User(a).Add(graphtest.Inbox, 3, now.Add(-time.Hour))
		addrs = append(addrs, a)
	}
	var ca bytes.Buffer
	pem.Encode(&ca, &pem.Block{Type: "CERTIFICATE", Bytes: g.Certificate().Raw})
	ca.Write(relay.CAPEM)
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	pwFile := filepath.Join(dir, "smtp-password")
	if err := os.WriteFile(pwFile, []byte(relayPass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	policyFile := filepath.Join(dir, "policy.toml")
	if err := os.WriteFile(policyFile, fmt.Appendf(nil, `admin_email = "it@contoso.test"
notify = ["user", "admin"]
[smtp]
host = "127.0.0.1"
port = %d
username = "inboxsync"
password_file = %q
from = "inboxsync@contoso.test"
`, relay.Port, pwFile), 0o644); err != nil {
		t.Fatal(err)
	}

	o := &orgEnv{t: t, db: db, dir: dir, env: append(os.Environ(), "SSL_CERT_FILE="+caFile, "INBOXSYNC_DATABASE=")}
	o.ok("init")
	o.ok("credentials", "microsoft", "--tenant", tenant, "--client-id", clientID, "--certificate", certPath,
		"--authority", g.URL, "--graph-endpoint", g.Endpoint())
	o.ok(append([]string{"mailboxes", "add", "--now"}, addrs...)...)
	for _, name := range []string{"n1", "n2"} {
		o.startWorker(name, "--policy", policyFile, "--notices-every", "1s")
	}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(300 * time.Millisecond) {
		done := 0
		for _, m := range o.status().Mailboxes {
			if m.LastSync != nil {
				done++
			}
		}
		if done == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d mailboxes synced after 2 minutes", done, n)
		}
	}
	if len(relay.Mails()) != 0 {
		t.Fatalf("emails while every mailbox syncs: %+v", relay.Mails())
	}

	// A mailbox's access withdrawn: disabled due to an error, one email
	// to the admin and one to the user, whatever the number of checks.
	bad := "m002@contoso.test"
	g.User(bad).Deny(true)
	if _, errOut, code := o.run("sync", bad, "--wait", "--timeout", "2m"); code != 1 {
		t.Fatalf("sync of the refused mailbox: exit %d %s", code, errOut)
	}
	relay.Wait(t, 2, time.Minute)
	time.Sleep(4 * time.Second) // several more checks by both workers
	mails := relay.Mails()
	var to []string
	for _, m := range mails {
		to = append(to, strings.Join(m.To, ","))
		if m.Subject() != emailnotice.SubjectStopped || m.Auth != "inboxsync" || !m.TLS || !strings.Contains(m.Body, bad) {
			t.Errorf("stop email to %v: subject %q, auth %q, TLS %v, body:\n%s", m.To, m.Subject(), m.Auth, m.TLS, m.Body)
		}
	}
	slices.Sort(to)
	if want := []string{"it@contoso.test", bad}; !slices.Equal(to, want) {
		t.Fatalf("emails after %s's access was withdrawn: %v; want one each to %v", bad, to, want)
	}

	// The app's consent withdrawn for the tenant: every mailbox refused,
	// one organisation incident, one email to the admin.
	g.WithdrawConsent()
	var others []string
	for _, a := range addrs {
		if a != bad {
			others = append(others, a)
		}
	}
	o.run(append([]string{"sync", "--wait", "--timeout", "2m"}, others...)...)
	relay.Wait(t, 3, time.Minute)
	time.Sleep(4 * time.Second)
	mails = relay.Mails()
	if len(mails) != 3 {
		t.Fatalf("%d emails after the consent was withdrawn for %d mailboxes; want 1 more than the 2 before", len(mails), n)
	}
	m := mails[2]
	if !slices.Equal(m.To, []string{"it@contoso.test"}) || m.Subject() != emailnotice.SubjectStopped ||
		!strings.Contains(m.Body, "every Office 365 mailbox") || !strings.Contains(m.Body, "Entra admin center") {
		t.Fatalf("the organisation's email to %v, %q:\n%s", m.To, m.Subject(), m.Body)
	}
	if s := o.status(); len(s.Incidents) != 1 {
		t.Errorf("incidents in status: %+v", s.Incidents)
	}
	for _, name := range []string{"n1", "n2"} {
		b, _ := os.ReadFile(filepath.Join(dir, name+".log"))
		if bytes.Contains(b, []byte(relayPass)) {
			t.Errorf("%s.log holds the relay's password", name)
		}
	}
}
