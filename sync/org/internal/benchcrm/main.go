// Command benchcrm measures organisation mode's Salesforce logging (issue
// 21): -users mailboxes × -items mails each, already stored in a fresh
// PostgreSQL database, logged by an in-process worker (org.NewWorker, the
// CRM jobs only) to the Salesforce emulator (sftest, JWT bearer tokens per
// user) as each mailbox's own user. It prints the wall time, the
// Salesforce API requests in total, per item and per user, and the tokens
// minted; then the desktop logger's figure for one user's -items mails
// (the same crmlog.Drain over an outbox in memory). The emulator runs in
// this process. scripts/bench-org-crm.sh runs it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/crm"
	"github.com/inboxsync/inboxsync/sync/crm/crmlog"
	"github.com/inboxsync/inboxsync/sync/crm/salesforce"
	"github.com/inboxsync/inboxsync/sync/crm/salesforce/sftest"
	"github.com/inboxsync/inboxsync/sync/org"
	"github.com/inboxsync/inboxsync/sync/org/internal/benchdb"
	"github.com/inboxsync/inboxsync/sync/org/pgstore"
	"github.com/inboxsync/inboxsync/sync/provider"
)

type cleanups []func()

func (c *cleanups) Cleanup(f func()) { *c = append(*c, f) }

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// noMailboxes is the worker's Opener: this benchmark syncs nothing.
type noMailboxes struct{}

func (noMailboxes) Open(context.Context, pgstore.Mailbox) (provider.Provider, error) {
	return nil, errors.New("benchcrm syncs no mailbox")
}
func (noMailboxes) OrganisationWide(error) bool { return true }

const contacts = 2000

func contact(i int) string {
	return fmt.Sprintf("buyer%04d@customer%03d.example", i%contacts, i%contacts%100)
}

// items returns user u's n mails: each from a Contact, every other one
// also Cc another, every fifth one sent by the user.
func items(user string, u, n int, t0 time.Time) []provider.Change {
	out := make([]provider.Change, n)
	for i := range out {
		k := u*n + i
		it := api.Item{ProviderID: fmt.Sprint("m", i), Folder: api.Inbox, Kind: api.KindMail,
			MessageID: fmt.Sprintf("<%d.%d.%s@mycorp.example>", u, i, hexOf(k)), ConversationID: fmt.Sprintf("c%d.%d", u, i/3),
			Subject: fmt.Sprintf("Order %d", k), From: contact(k * 7), To: []string{user}, Time: t0.Add(time.Duration(i) * time.Minute),
			Preview: "Please find the order details attached; delivery next week."}
		if i%2 == 0 {
			it.Cc = []string{contact(k*7 + 1)}
		}
		out[i] = provider.Change{Item: it}
	}
	return out
}

func hexOf(i int) string { return strconv.FormatInt(int64(i*7919), 16) }

// memOutbox is an outbox in memory, as the desktop's store would hand the
// entries to the same logger.
type memOutbox struct {
	entries []crm.Entry
	done    map[string]bool
}

func (m *memOutbox) Pending(_ context.Context, limit int) ([]crm.Entry, error) {
	var out []crm.Entry
	for _, e := range m.entries {
		if !m.done[e.Key] && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func (m *memOutbox) Save(_ context.Context, outs []crm.Outcome) error {
	for _, o := range outs {
		m.done[o.Key] = true
	}
	return nil
}

func main() {
	users := flag.Int("users", 1000, "mailboxes (each with its own Salesforce user)")
	n := flag.Int("items", 100, "mails per mailbox")
	conc := flag.Int("concurrency", 8, "CRM runs at once in the worker")
	admin := flag.String("admin", os.Getenv("INBOXSYNC_TEST_DATABASE"), "URL of the cluster's admin database")
	flag.Parse()
	if *admin == "" {
		log.Fatal("need -admin (or INBOXSYNC_TEST_DATABASE)")
	}
	ctx := context.Background()
	var cl cleanups
	defer func() {
		for _, f := range cl {
			f()
		}
	}()

	// Salesforce: the org, its app, a user per mailbox, the Contacts.
	sf := sftest.New(&cl, sftest.Options{APILimit: 10_000_000})
	cert, keyPEM := sftest.NewKeyPair(log.New(os.Stderr, "", 0))
	const consumerKey = "3MVG9bench.inboxsync"
	sf.RegisterJWT(consumerKey, cert)
	sf.AddUser("admin@mycorp.example.sf", "it@mycorp.example", true, true)
	accounts := make([]string, 100)
	for i := range accounts {
		accounts[i] = sf.AddAccount(fmt.Sprintf("Customer %03d", i))
	}
	for i := range contacts {
		sf.AddContact(contact(i), accounts[i%100])
	}
	dir, err := os.MkdirTemp("", "benchcrm")
	check(err)
	defer os.RemoveAll(dir)
	keyFile := filepath.Join(dir, "key.pem")
	check(os.WriteFile(keyFile, keyPEM, 0o600))

	// PostgreSQL: the mailboxes and their stored mails.
	dsn := mustDB(benchdb.New(ctx, *admin, "benchcrm"))
	pool, err := pgstore.ConnectSized(ctx, dsn, *conc+12)
	check(err)
	defer pool.Close()
	_, err = pgstore.Migrate(ctx, pool)
	check(err)
	st := pgstore.New(pool)
	t0 := time.Now().Add(-48 * time.Hour)
	var mbs []pgstore.NewMailbox
	var addrs []string
	for u := range *users {
		a := fmt.Sprintf("rep%04d@mycorp.example", u)
		addrs = append(addrs, a)
		mbs = append(mbs, pgstore.NewMailbox{Address: a, Provider: pgstore.ProviderOffice365})
		sf.AddUser(a+".sf", a, true, true)
	}
	_, err = st.AddMailboxes(ctx, mbs, func(string) time.Time { return time.Now().Add(24 * time.Hour) })
	check(err)
	for u, a := range addrs {
		_, err := st.ApplyPage(ctx, a, api.Inbox, provider.Page{Cursor: "c1", Changes: items(a, u, *n, t0)}, time.Now())
		check(err)
	}
	check(org.SaveSalesforce(ctx, st, salesforce.OrgConfig{LoginURL: sf.URL, ClientID: consumerKey, Certificate: keyFile,
		IntegrationUser: "admin@mycorp.example.sf"}))
	check(st.ConnectCRM(ctx, pgstore.CRMConnection{CRM: api.CRMSalesforce, Org: sftest.OrgID, ConnectedAt: time.Now(), Since: t0.Add(-time.Hour)}))
	total := *users * *n
	fmt.Printf("%d mailboxes × %d mails = %d items stored; %d Contacts on %d Accounts\n", *users, *n, total, contacts, len(accounts))

	// The worker logs every mailbox.
	w, err := org.NewWorker(org.Config{Pool: pool, Store: st, Opener: noMailboxes{}, Concurrency: *conc,
		Salesforce: &org.Salesforce{Store: st, HTTPClient: org.HTTPClient("bench", "benchcrm", *conc)},
		CRMRules:   func() crmlog.Config { return org.CRMRules(filepath.Join(dir, "no-policy.toml")) }})
	check(err)
	used0, _ := sf.Usage()
	began := time.Now()
	check(org.QueueCRM(ctx, st, addrs))
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx, 10*time.Second) }()
	for last := time.Now(); ; time.Sleep(time.Second) {
		counts, err := st.CRMCounts(ctx, "")
		check(err)
		if counts[api.CRMLogged]+counts[api.CRMSkipped]+counts[api.CRMFailed] >= total {
			if counts[api.CRMFailed] > 0 {
				log.Printf("%d items failed", counts[api.CRMFailed])
			}
			break
		}
		if time.Since(last) > 10*time.Second {
			last = time.Now()
			fmt.Printf("  … %d of %d logged after %s\n", counts[api.CRMLogged], total, time.Since(began).Round(time.Second))
		}
	}
	wall := time.Since(began)
	stop()
	<-done
	used, _ := sf.Usage()
	reqs := used - used0
	fmt.Printf("organisation mode: %d items logged in %s (%.0f items/s); Salesforce API requests %d = %.3f per item, %.2f per user; JWT tokens minted %d\n",
		total, wall.Round(time.Millisecond), float64(total)/wall.Seconds(), reqs, float64(reqs)/float64(total), float64(reqs)/float64(*users), sf.Count("jwt"))

	// The desktop logger for one user's mails: the same logger and
	// rules, an outbox in memory.
	o, err := org.OpenSalesforce(ctx, st, org.HTTPClient("bench", "benchcrm", 1), nil)
	check(err)
	extra := "desk@mycorp.example"
	sf.AddUser(extra+".sf", extra, true, true)
	rec, err := o.Recorder(extra + ".sf")
	check(err)
	ob := &memOutbox{done: map[string]bool{}}
	for i, c := range items(extra, *users, *n, t0) {
		ob.entries = append(ob.entries, crm.Entry{Key: strconv.Itoa(i), Item: c.Item})
	}
	cfg := org.CRMRules(filepath.Join(dir, "no-policy.toml"))
	cfg.Mailbox = extra
	d0, _ := sf.Usage()
	dbegan := time.Now()
	_, err = crmlog.Drain(ctx, ob, crmlog.NewLogger(rec, cfg), org.CRMBatch)
	check(err)
	d1, _ := sf.Usage()
	fmt.Printf("desktop logger, one user's %d mails: %d requests = %.3f per item, in %s\n", *n, d1-d0, float64(d1-d0)/float64(*n), time.Since(dbegan).Round(time.Millisecond))
}

func mustDB(url string, err error) string {
	check(err)
	return url
}
