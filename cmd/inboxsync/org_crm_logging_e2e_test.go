package main

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/internal/pgtest"
	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/crm/salesforce/sftest"
	"github.com/inboxsync/inboxsync/sync/provider/ews/ewstest"
	"github.com/inboxsync/inboxsync/sync/provider/gmail"
	"github.com/inboxsync/inboxsync/sync/provider/gmail/gmailtest"
	"github.com/inboxsync/inboxsync/sync/provider/graph/graphtest"
)

// orgCRMStatus is `org crm status --json`.
type orgCRMStatus struct {
	Mailboxes []orgCRMRow `json:"mailboxes"`
	API       struct {
		Used, Limit int
		Until       *time.Time `json:"waiting_until"`
	} `json:"api"`
}

// TestOrgCRMLogging logs an organisation's Microsoft 365, Google Workspace
// and Exchange (impersonation) mailboxes to one Salesforce org as each
// mailbox's own user, with `org serve` workers: a
// worker killed (-9) while Salesforce's answer to a collection request is
// held leaves no duplicate once the others finish; every mail and meeting
// is logged once, owned by its mailbox's user; a mailbox without a
// Salesforce user logs nothing and says why; past 90 % of the API budget
// every worker stops.
func TestOrgCRMLogging(t *testing.T) {
	if testing.Short() {
		t.Skip("long end-to-end test")
	}
	db := pgtest.New(t)
	dir := t.TempDir()
	now := time.Now()

	g, certPath := graphApp(t, dir)
	const tenant, clientID = orgTenant, orgClientID

	sf := sftest.New(t, sftest.Options{})
	sfCert, sfPEM := sftest.NewKeyPair(t)
	const consumerKey = "3MVG9contoso.inboxsync"
	sf.RegisterJWT(consumerKey, sfCert)
	sf.AddUser("admin@contoso.test.sf", "it@contoso.test", true, true)
	sf.AddContact("alex@fabrikam.test", sf.AddAccount("Fabrikam"))
	sfKey := filepath.Join(dir, "sf-key.pem")
	os.WriteFile(sfKey, sfPEM, 0o600)

	// Four sellers with a Salesforce user each, one mailbox without.
	owner := map[int]string{} // the mailbox's number in the emulator → its user's id
	var addrs []string
	for i := range 4 {
		a := fmt.Sprintf("seller%d@contoso.test", i)
		u := g.User(a)
		u.Add(graphtest.Inbox, 10, now.Add(-time.Hour))
		u.Add(graphtest.Calendar, 2, now.AddDate(0, 0, 2))
		owner[i+1] = sf.AddUser(fmt.Sprintf("seller%d@contoso.test.sf", i), a, true, true)
		addrs = append(addrs, a)
	}
	g.User("temp@contoso.test").Add(graphtest.Inbox, 3, now.Add(-time.Hour))
	addrs = append(addrs, "temp@contoso.test")

	// A Google Workspace mailbox (domain-wide delegation) and an Exchange
	// one (a service account impersonating its user).
	gm := gmailtest.New(t)
	gkey := gm.NewServiceAccount(t, "inboxsync")
	gm.AuthorizeDelegation(gkey.ClientID, gmail.DelegationScopes...)
	gkeyPath := gkey.WriteFile(t, dir)
	gm.AddUser("gina@example.test").Add([]string{"INBOX"}, 6, now.Add(-time.Hour))
	gina := sf.AddUser("gina@example.test.sf", "gina@example.test", true, true)
	const svcLogin, svcPassword = `CONTOSO\svc-sync`, "Exch-Svc-Pa55-crm"
	ex, err := ewstest.New(ewstest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ex.Close)
	ex.AddServiceAccount(svcLogin, svcPassword)
	erinBox := ex.AddMailbox("erin@contoso.test")
	for i := range 5 {
		erinBox.AddMessage(api.Inbox, ewstest.Message{Subject: fmt.Sprintf("Order %d", i), From: "alex@fabrikam.test", To: []string{"erin@contoso.test"}})
	}
	ex.GrantImpersonation(svcLogin, "erin@contoso.test")
	erin := sf.AddUser("erin@contoso.test.sf", "erin@contoso.test", true, true)
	pwFile := filepath.Join(dir, "exchange-password")
	os.WriteFile(pwFile, []byte(svcPassword+"\n"), 0o600)

	caFile := filepath.Join(dir, "ca.pem")
	var ca []byte
	for _, c := range []*x509.Certificate{g.Certificate(), gm.Certificate()} {
		ca = append(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	os.WriteFile(caFile, append(ca, ex.CA.PEM...), 0o600)
	o := &orgEnv{t: t, db: db, dir: dir, env: append(os.Environ(), "SSL_CERT_FILE="+caFile, "INBOXSYNC_DATABASE=")}
	o.ok("init")
	o.ok("credentials", "microsoft", "--tenant", tenant, "--client-id", clientID, "--certificate", certPath,
		"--authority", g.URL, "--graph-endpoint", g.Endpoint())
	o.ok("credentials", "google", "--service-account", gkeyPath, "--token-url", gm.TokenURL(),
		"--gmail-endpoint", gm.GmailEndpoint(), "--calendar-endpoint", gm.CalendarEndpoint())
	o.ok("credentials", "exchange", "--login", svcLogin, "--password-file", pwFile, "--ews-url", ex.EWSURL)
	o.ok(append([]string{"mailboxes", "add", "--now"}, addrs...)...)
	o.ok("mailboxes", "add", "--now", "--provider", "gmail", "gina@example.test")
	o.ok("mailboxes", "add", "--now", "--provider", "exchange", "erin@contoso.test")
	want := map[string]int{"gina@example.test": 6, "erin@contoso.test": 5}
	for _, a := range addrs[:4] {
		want[a] = 12
	}
	out := o.ok("crm", "connect", "salesforce", "--login-url", sf.URL, "--client-id", consumerKey, "--certificate", sfKey,
		"--integration-user", "admin@contoso.test.sf")
	if !strings.Contains(out, "6 of the 7 mailboxes have a Salesforce user") {
		t.Fatalf("crm connect:\n%s", out)
	}
	crmStatus := func() orgCRMStatus {
		t.Helper()
		var s orgCRMStatus
		if err := json.Unmarshal([]byte(o.ok("crm", "status", "--json")), &s); err != nil {
			t.Fatal(err)
		}
		return s
	}

	// One worker; the second collection request it sends is handled by
	// Salesforce and its answer held: the worker dies before hearing it.
	var (
		mu      sync.Mutex
		posts   int
		reached = make(chan struct{})
		release = make(chan struct{})
	)
	sf.SetAfterAPI(func(method, path string) {
		if method != "POST" || !strings.HasSuffix(path, "/composite/sobjects") {
			return
		}
		mu.Lock()
		posts++
		n := posts
		mu.Unlock()
		if n == 2 {
			close(reached)
			select {
			case <-release:
			case <-time.After(60 * time.Second):
			}
		}
	})
	w1 := o.startWorker("w1")
	select {
	case <-reached:
	case <-time.After(90 * time.Second):
		b, _ := os.ReadFile(filepath.Join(dir, "w1.log"))
		t.Fatalf("no worker reached its second collection request in 90 s\n%s", b)
	}
	w1.stop(t, syscall.SIGKILL)
	sf.SetAfterAPI(nil)
	close(release)
	if n := len(sf.Records(api.ObjEmailMessage)) + len(sf.Records(api.ObjEvent)); n == 0 {
		t.Fatal("nothing was created before the worker died")
	}
	o.startWorker("w2")
	o.startWorker("w3")
	deadline := time.Now().Add(2 * time.Minute)
	for {
		s := crmStatus()
		done := 0
		for _, m := range s.Mailboxes {
			if m.Username != "" && m.Logged == want[m.Address] && m.Pending == 0 {
				done++
			}
		}
		if done == len(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not every mailbox's items logged after 2 minutes: %+v", s.Mailboxes)
		}
		time.Sleep(500 * time.Millisecond)
	}

	// Once each, owned by the mailbox's user.
	midRE := regexp.MustCompile(`^<inbox\.(\d{3})\.\d{7}@contoso\.test>$`)
	seen := map[string]bool{}
	perOwner := map[string]int{}
	emails := sf.Records(api.ObjEmailMessage)
	for _, r := range emails {
		mid, _ := r.Fields["MessageIdentifier"].(string)
		if seen[mid] {
			t.Errorf("two EmailMessages for %s", mid)
		}
		seen[mid] = true
		m := midRE.FindStringSubmatch(mid)
		if m == nil {
			perOwner[fmt.Sprint(r.Fields["CreatedById"])]++
			continue
		}
		var num int
		fmt.Sscanf(m[1], "%d", &num)
		// An EmailMessage has no owner: who created it is its user.
		if got := r.Fields["CreatedById"]; got != owner[num] {
			t.Errorf("%s was created by %v, want %s (its mailbox's user)", mid, got, owner[num])
		}
		perOwner[owner[num]]++
	}
	if len(emails) != 51 {
		t.Errorf("%d EmailMessages, want 51 (4 sellers × 10, Gina's 6, Erin's 5; none for the mailbox without a user)", len(emails))
	}
	if perOwner[gina] != 6 || perOwner[erin] != 5 {
		t.Errorf("Gina's user created %d EmailMessages (want 6), Erin's %d (want 5)", perOwner[gina], perOwner[erin])
	}
	events := sf.Records(api.ObjEvent)
	for _, r := range events {
		perOwner[r.Fields["OwnerId"].(string)]++
	}
	for num, id := range owner {
		if perOwner[id] != 12 {
			t.Errorf("seller %d's user owns %d records, want 12", num-1, perOwner[id])
		}
	}
	rels := map[string]bool{}
	for _, r := range sf.Records(api.ObjRelation) {
		k := fmt.Sprint(r.Fields["EmailMessageId"], r.Fields["RelationId"], r.Fields["RelationType"])
		if rels[k] {
			t.Errorf("relation %s twice", k)
		}
		rels[k] = true
	}
	s := crmStatus()
	for _, m := range s.Mailboxes {
		if m.Address == "temp@contoso.test" && (m.Username != "" || m.Reason == "" || m.Logged != 0) {
			t.Errorf("the mailbox without a Salesforce user: %+v", m)
		}
	}
	if s.API.Limit == 0 || s.API.Used == 0 {
		t.Errorf("crm status shows no API use: %+v", s.API)
	}

	// The budget: past 90 % every worker stops, and no request goes out.
	sf.SetUsage(91000, 100000)
	for _, a := range addrs[:4] {
		g.User(a).Add(graphtest.Inbox, 3, time.Now())
	}
	o.ok(append([]string{"sync"}, addrs[:4]...)...)
	deadline = time.Now().Add(90 * time.Second)
	for {
		s = crmStatus()
		if s.API.Until != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the budget's stop does not show after 90 s: %+v", s.API)
		}
		time.Sleep(500 * time.Millisecond)
	}
	used, _ := sf.Usage()
	time.Sleep(5 * time.Second)
	if after, _ := sf.Usage(); after != used {
		t.Errorf("workers sent %d API requests after the budget's stop", after-used)
	}
	if n := len(sf.Records(api.ObjEmailMessage)); n != 51 {
		t.Errorf("%d EmailMessages after the budget's stop, want still 51", n)
	}
	waiting := 0
	for _, m := range crmStatus().Mailboxes {
		if m.Username != "" {
			waiting += m.Pending
		}
	}
	if waiting != 12 {
		t.Errorf("%d items wait for Salesforce after the stop, want the 12 new mails", waiting)
	}
	if out := o.ok("crm", "status"); !strings.Contains(out, "Logging waits until") || !strings.Contains(out, "Salesforce API use today: 910") {
		t.Errorf("crm status text:\n%s", out)
	}
}
