package console

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/inboxsync/inboxsync/internal/pgtest"
	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/crm"
	"github.com/inboxsync/inboxsync/sync/org/pgstore"
	"github.com/inboxsync/inboxsync/sync/provider"
)

func init() {
	// The lowest cost: the tests check what is hashed, not how slowly.
	bcryptCost = bcrypt.MinCost
}

// newStore returns an organisation store over a new, migrated database.
func newStore(t testing.TB) *pgstore.Store {
	t.Helper()
	ctx := context.Background()
	pool, err := pgstore.Connect(ctx, pgtest.New(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pgstore.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	return pgstore.New(pool)
}

// addMailboxes adds n mailboxes user0000@contoso.test …, every third a
// Gmail one, with items = index × 10.
func addMailboxes(t testing.TB, st *pgstore.Store, n int) {
	t.Helper()
	ctx := context.Background()
	var mbs []pgstore.NewMailbox
	for i := range n {
		p := pgstore.ProviderOffice365
		if i%3 == 0 {
			p = pgstore.ProviderGmail
		}
		mbs = append(mbs, pgstore.NewMailbox{Address: fmt.Sprintf("user%04d@contoso.test", i), Provider: p})
	}
	if _, err := st.AddMailboxes(ctx, mbs, func(string) time.Time { return time.Now().Add(10 * time.Minute) }); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool().Exec(ctx, `UPDATE mailboxes SET live_items = 10 * substr(address, 5, 4)::int`); err != nil {
		t.Fatal(err)
	}
}

// fakeQueue records what the console asked the workers for.
type fakeQueue struct {
	mu    sync.Mutex
	asked []string
}

func (q *fakeQueue) enqueue(ctx context.Context, addrs []string) error {
	q.mu.Lock()
	q.asked = append(q.asked, addrs...)
	q.mu.Unlock()
	return nil
}

// browser is an HTTP client with cookies that does not follow redirects.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, srv *httptest.Server) *browser {
	jar, _ := cookiejar.New(nil)
	c := srv.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{t: t, base: srv.URL, c: c}
}

func (b *browser) get(path string) (int, string, http.Header) {
	b.t.Helper()
	resp, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

func (b *browser) post(path string, form url.Values, origin string) (int, string, http.Header) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the page:\n%s", page)
	}
	return m[1]
}

var rowRE = regexp.MustCompile(`<a href="/mailbox/([^"]+)">`)

func rows(page string) []string {
	var out []string
	for _, m := range rowRE.FindAllStringSubmatch(page, -1) {
		out = append(out, m[1])
	}
	return out
}

func newConsole(t *testing.T, st *pgstore.Store, admins *Admins, q *fakeQueue, now func() time.Time) *httptest.Server {
	t.Helper()
	srv, err := New(Config{Store: st, Admins: admins, Enqueue: q.enqueue, Now: now, Location: time.UTC, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return hs
}

// TestTable pages, filters, searches and sorts the mailbox table.
func TestTable(t *testing.T) {
	st := newStore(t)
	addMailboxes(t, st, 120)
	ctx := context.Background()
	if _, err := st.SetEnabled(ctx, []string{"user0007@contoso.test"}, false, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool().Exec(ctx, `UPDATE mailboxes SET error = true, reason = 'Access <revoked> & "gone"' WHERE address = 'user0011@contoso.test'`); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, newConsole(t, st, nil, &fakeQueue{}, nil))

	code, page, h := b.get("/")
	if code != 200 {
		t.Fatalf("GET / = %d\n%s", code, page)
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	if got := rows(page); len(got) != 50 || got[0] != "user0000@contoso.test" || got[49] != "user0049@contoso.test" {
		t.Fatalf("first page rows: %d, %v…", len(got), got[:min(3, len(got))])
	}
	for _, want := range []string{"1–50 of 120", "All <b>120</b>", "Enabled <b>118</b>", "Disabled due to an error <b>1</b>", "Disabled <b>1</b>", `href="/?page=2"`} {
		if !strings.Contains(page, want) {
			t.Errorf("first page lacks %q", want)
		}
	}
	// The reason is shown escaped, never as markup.
	_, page, _ = b.get("/?page=1&state=error")
	if got := rows(page); !slices.Equal(got, []string{"user0011@contoso.test"}) {
		t.Errorf("state=error rows %v", got)
	}
	if !strings.Contains(page, "Access &lt;revoked&gt; &amp; &#34;gone&#34;") || strings.Contains(page, "<revoked>") {
		t.Errorf("the reason is not escaped:\n%s", page)
	}
	_, page, _ = b.get("/?page=3")
	if got := rows(page); len(got) != 20 || got[19] != "user0119@contoso.test" || !strings.Contains(page, "101–120 of 120") || strings.Contains(page, "Next →") {
		t.Errorf("last page: %d rows, %v", len(got), got)
	}
	_, page, _ = b.get("/?q=USER001&sort=items&desc=1")
	if got := rows(page); len(got) != 10 || got[0] != "user0019@contoso.test" || got[9] != "user0010@contoso.test" {
		t.Errorf("search USER001 by items, descending: %v", got)
	}
	_, page, _ = b.get("/?q=50%25")
	if got := rows(page); len(got) != 0 || !strings.Contains(page, "No mailbox contains “50%”") {
		t.Errorf("a search for a literal %%: %v", got)
	}
	if code, page, _ := b.get("/?sort=password"); code != 400 || !strings.Contains(page, "unknown order") {
		t.Errorf("an unknown order: %d %q", code, page)
	}
	if code, _, _ := b.get("/?page=0"); code != 400 {
		t.Errorf("page 0: %d", code)
	}
}

// TestCSV downloads every mailbox of a filter, beyond one page of the
// store's.
func TestCSV(t *testing.T) {
	st := newStore(t)
	addMailboxes(t, st, 620)
	b := newBrowser(t, newConsole(t, st, nil, &fakeQueue{}, nil))
	code, body, h := b.get("/mailboxes.csv?q=contoso")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") || !strings.Contains(h.Get("Content-Disposition"), "attachment") {
		t.Fatalf("GET /mailboxes.csv = %d %v", code, h)
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 621 || !slices.Equal(recs[0], []string{"address", "provider", "state", "reason", "last_sync", "next_sync", "items"}) {
		t.Fatalf("CSV has %d records, header %v", len(recs), recs[0])
	}
	seen := map[string]bool{}
	for _, r := range recs[1:] {
		if seen[r[0]] {
			t.Fatalf("%s twice in the CSV", r[0])
		}
		seen[r[0]] = true
	}
	if recs[620][0] != "user0619@contoso.test" || recs[620][6] != "6190" || recs[620][2] != "enabled" {
		t.Errorf("last record %v", recs[620])
	}
	acts, err := st.AdminActions(context.Background(), "", 5)
	if err != nil || len(acts) != 1 || acts[0].Action != "csv" || acts[0].Admin != "localhost" || !strings.Contains(acts[0].Outcome, "620") {
		t.Errorf("recorded actions %+v, %v", acts, err)
	}
}

// TestActions forces a sync (once a minute), disables and enables a
// mailbox, each recorded with who did it.
func TestActions(t *testing.T) {
	st := newStore(t)
	addMailboxes(t, st, 3)
	q := &fakeQueue{}
	clock := time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	b := newBrowser(t, newConsole(t, st, nil, q, now))
	const mb = "/mailbox/user0001@contoso.test"
	_, page, _ := b.get(mb)
	csrf := csrfOf(t, page)
	if !strings.Contains(page, "Force sync") || !strings.Contains(page, "Disable") {
		t.Fatalf("an enabled mailbox's page has no Force sync / Disable:\n%s", page)
	}
	code, _, h := b.post(mb+"/sync", url.Values{"csrf": {csrf}}, b.base)
	if code != http.StatusSeeOther || h.Get("Location") != mb {
		t.Fatalf("POST sync = %d → %q", code, h.Get("Location"))
	}
	_, page, _ = b.get(mb)
	if !strings.Contains(page, "Sync asked at 15:00:00") || !slices.Equal(q.asked, []string{"user0001@contoso.test"}) {
		t.Errorf("after Force sync: asked %v, page flash missing:\n%s", q.asked, page)
	}
	b.post(mb+"/sync", url.Values{"csrf": {csrf}}, "")
	_, page, _ = b.get(mb)
	if !strings.Contains(page, "less than a minute ago; ask again after 15:01:00") || len(q.asked) != 1 {
		t.Errorf("a second Force sync within a minute: asked %v\n%s", q.asked, page)
	}
	b.post(mb+"/disable", url.Values{"csrf": {csrf}}, "")
	m, err := st.Mailbox(context.Background(), "user0001@contoso.test")
	if err != nil || m.State != pgstore.StateDisabled {
		t.Fatalf("after Disable: %+v %v", m, err)
	}
	_, page, _ = b.get(mb)
	if !strings.Contains(page, "Disabled: it does not sync until it is enabled again") || !strings.Contains(page, ">Enable</button>") || strings.Contains(page, "Force sync") {
		t.Errorf("page after Disable:\n%s", page)
	}
	b.post(mb+"/sync", url.Values{"csrf": {csrf}}, "")
	if len(q.asked) != 1 {
		t.Errorf("Force sync of a disabled mailbox asked the workers: %v", q.asked)
	}
	b.post(mb+"/enable", url.Values{"csrf": {csrf}}, "")
	if m, _ := st.Mailbox(context.Background(), "user0001@contoso.test"); m.State != pgstore.StateEnabled {
		t.Errorf("after Enable: %+v", m)
	}
	acts, err := st.AdminActions(context.Background(), "user0001@contoso.test", 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range acts {
		got = append(got, a.Admin+" "+a.Action)
	}
	if want := []string{"localhost enable", "localhost sync", "localhost disable", "localhost sync", "localhost sync"}; !slices.Equal(got, want) {
		t.Errorf("recorded actions %v, want %v", got, want)
	}
	_, page, _ = b.get(mb)
	if !strings.Contains(page, "Admin actions") || !strings.Contains(page, "Enabled: it syncs again") {
		t.Errorf("the mailbox page does not show the actions:\n%s", page)
	}
	if code, _, _ := b.get("/mailbox/nobody@contoso.test"); code != 404 {
		t.Errorf("an unknown mailbox: %d", code)
	}
	if code, _, _ := b.post(mb+"/delete", url.Values{"csrf": {csrf}}, ""); code != 404 {
		t.Errorf("an unknown action: %d", code)
	}
}

// writeAdmins writes an admins file with ann's password.
func writeAdmins(t *testing.T) (*Admins, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "admins")
	if err := SetAdmin(path, "ann", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	a, err := LoadAdmins(path)
	if err != nil {
		t.Fatal(err)
	}
	return a, path
}

// TestSignIn: with admins, every page needs a sign-in; a wrong password
// is refused and five lock the computer out; POSTs need the session's
// CSRF token and this origin; the actions are recorded with the admin's
// name; signing out ends the session.
func TestSignIn(t *testing.T) {
	st := newStore(t)
	addMailboxes(t, st, 2)
	admins, _ := writeAdmins(t)
	q := &fakeQueue{}
	hs := newConsole(t, st, admins, q, nil)
	b := newBrowser(t, hs)

	code, _, h := b.get("/mailbox/user0001@contoso.test")
	if code != http.StatusSeeOther || h.Get("Location") != "/signin?next=%2Fmailbox%2Fuser0001%40contoso.test" {
		t.Fatalf("GET without a sign-in = %d → %q", code, h.Get("Location"))
	}
	if code, _, _ := b.get("/mailboxes.csv"); code != http.StatusSeeOther {
		t.Errorf("the CSV without a sign-in: %d", code)
	}
	if code, _, _ := b.post("/mailbox/user0001@contoso.test/disable", url.Values{}, ""); code != http.StatusUnauthorized {
		t.Errorf("POST without a sign-in: %d", code)
	}
	_, page, h := b.get("/signin?next=/mailbox/user0001@contoso.test")
	cookie := h.Get("Set-Cookie")
	if !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "SameSite=Strict") {
		t.Errorf("session cookie %q", cookie)
	}
	csrf := csrfOf(t, page)
	if code, _, _ := b.post("/signin", url.Values{"name": {"ann"}, "password": {"correct horse battery"}}, ""); code != http.StatusForbidden {
		t.Errorf("a sign-in without the form's token: %d", code)
	}
	code, page, _ = b.post("/signin", url.Values{"csrf": {csrf}, "name": {"ann"}, "password": {"wrong"}}, "")
	if code != http.StatusUnauthorized || !strings.Contains(page, "The name or the password is wrong.") || strings.Contains(page, "correct horse") {
		t.Errorf("a wrong password: %d\n%s", code, page)
	}
	code, _, h = b.post("/signin", url.Values{"csrf": {csrf}, "name": {"ann"}, "password": {"correct horse battery"}, "next": {"/mailbox/user0001@contoso.test"}}, hs.URL)
	if code != http.StatusSeeOther || h.Get("Location") != "/mailbox/user0001@contoso.test" {
		t.Fatalf("sign-in = %d → %q", code, h.Get("Location"))
	}
	code, page, _ = b.get("/mailbox/user0001@contoso.test")
	if code != 200 || !strings.Contains(page, "Signed in as <b>ann</b>") {
		t.Fatalf("after the sign-in: %d\n%s", code, page)
	}
	csrf2 := csrfOf(t, page)
	if csrf2 == csrf {
		t.Error("the CSRF token of the signed-in session is the sign-in page's")
	}
	// A cross-site form: no token, or a token but another origin.
	if code, _, _ := b.post("/mailbox/user0001@contoso.test/disable", url.Values{}, hs.URL); code != http.StatusForbidden {
		t.Errorf("POST without the CSRF token: %d", code)
	}
	if code, _, _ := b.post("/mailbox/user0001@contoso.test/disable", url.Values{"csrf": {csrf2}}, "https://evil.example"); code != http.StatusForbidden {
		t.Errorf("POST from another origin: %d", code)
	}
	if m, _ := st.Mailbox(context.Background(), "user0001@contoso.test"); m.State != pgstore.StateEnabled {
		t.Fatalf("a refused POST changed the mailbox: %+v", m)
	}
	if code, _, _ := b.post("/mailbox/user0001@contoso.test/disable", url.Values{"csrf": {csrf2}}, hs.URL); code != http.StatusSeeOther {
		t.Errorf("POST with the token: %d", code)
	}
	acts, _ := st.AdminActions(context.Background(), "", 10)
	if len(acts) < 3 || acts[0].Admin != "ann" || acts[0].Action != "disable" || acts[0].Mailbox != "user0001@contoso.test" || acts[0].Remote != "127.0.0.1" {
		t.Errorf("recorded actions %+v", acts)
	}
	if acts[1].Action != "sign-in" || acts[1].Outcome != "signed in" || acts[2].Outcome != "refused: wrong name or password" {
		t.Errorf("recorded sign-ins %+v", acts[1:])
	}
	// Signing out ends the session: its cookie no longer opens a page.
	b.post("/signout", url.Values{"csrf": {csrf2}}, "")
	if code, _, _ := b.get("/"); code != http.StatusSeeOther {
		t.Errorf("GET / after signing out: %d", code)
	}

	// Five wrong passwords lock this computer out, even for the right one.
	b2 := newBrowser(t, hs)
	_, page, _ = b2.get("/signin")
	tok := csrfOf(t, page)
	for range 5 {
		b2.post("/signin", url.Values{"csrf": {tok}, "name": {"ann"}, "password": {"guess"}}, "")
	}
	code, page, _ = b2.post("/signin", url.Values{"csrf": {tok}, "name": {"ann"}, "password": {"correct horse battery"}}, "")
	if code != http.StatusTooManyRequests || !strings.Contains(page, "Too many failed sign-ins") {
		t.Errorf("after five wrong passwords: %d\n%s", code, page)
	}
}

// TestAdminsFile: the file is written owner-only, a password can be
// changed, and a file others can read, a short password or a broken line
// are refused with what to do.
func TestAdminsFile(t *testing.T) {
	a, path := writeAdmins(t)
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("admins file mode %v, %v", info.Mode(), err)
	}
	if !a.Check("ann", "correct horse battery") || a.Check("ann", "correct horse batterY") || a.Check("bob", "correct horse battery") {
		t.Error("Check accepts a wrong name or password, or refuses the right one")
	}
	if err := SetAdmin(path, "bob", "another long password"); err != nil {
		t.Fatal(err)
	}
	if err := SetAdmin(path, "ann", "a new long password"); err != nil {
		t.Fatal(err)
	}
	a, err = LoadAdmins(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Names(), []string{"ann", "bob"}) || a.Check("ann", "correct horse battery") || !a.Check("ann", "a new long password") {
		t.Errorf("after changes: names %v", a.Names())
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), "long password") {
		t.Error("the admins file holds a password")
	}
	if err := SetAdmin(path, "cy", "short"); err == nil || !strings.Contains(err.Error(), "at least 12") {
		t.Errorf("a short password: %v", err)
	}
	if err := SetAdmin(path, "c y", "long enough password"); err == nil {
		t.Error("a name with a space was accepted")
	}
	os.Chmod(path, 0o644)
	if _, err := LoadAdmins(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a file others can read: %v", err)
	}
	broken := filepath.Join(t.TempDir(), "broken")
	os.WriteFile(broken, []byte("# admins\nann:not-a-hash\n"), 0o600)
	if _, err := LoadAdmins(broken); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("a broken line: %v", err)
	}
	if _, err := LoadAdmins(filepath.Join(t.TempDir(), "none")); err == nil || !strings.Contains(err.Error(), "--add-admin") {
		t.Errorf("a missing file: %v", err)
	}
}

// BenchmarkFirstPage measures the server time of the table's first page
// over 2,000 mailboxes (goal ≤ 200 ms), and of a filtered, sorted one.
func BenchmarkFirstPage(b *testing.B) {
	st := newStore(b)
	addMailboxes(b, st, 2000)
	srv, err := New(Config{Store: st, Enqueue: (&fakeQueue{}).enqueue})
	if err != nil {
		b.Fatal(err)
	}
	for _, path := range []string{"/", "/?q=user1&state=enabled&sort=last_sync&desc=1"} {
		b.Run(path, func(b *testing.B) {
			for b.Loop() {
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
				if rec.Code != 200 || !strings.Contains(rec.Body.String(), "of ") {
					b.Fatalf("GET %s = %d", path, rec.Code)
				}
			}
		})
	}
}

// TestSalesforceShown: once the organisation logs to Salesforce, the table
// has each mailbox's logged, skipped, failed and waiting items and the
// org's API use (and when logging waits); a mailbox's page says whom it
// logs as and why its last run stopped.
func TestSalesforceShown(t *testing.T) {
	st := newStore(t)
	addMailboxes(t, st, 2)
	ctx := context.Background()
	now := time.Now()
	for i, id := range []string{"m1", "m2", "m3"} {
		if _, err := st.ApplyPage(ctx, "user0001@contoso.test", api.Inbox, provider.Page{Cursor: fmt.Sprint("c", i), Changes: []provider.Change{
			{Item: api.Item{ProviderID: id, Folder: api.Inbox, Kind: api.KindMail, Subject: id, Time: now}}}}, now); err != nil {
			t.Fatal(err)
		}
	}
	b := newBrowser(t, newConsole(t, st, nil, &fakeQueue{}, nil))
	if _, page, _ := b.get("/"); strings.Contains(page, "Salesforce") {
		t.Fatal("the table shows Salesforce before the organisation connected it")
	}
	if err := st.ConnectCRM(ctx, pgstore.CRMConnection{CRM: "salesforce", Org: "00D", ConnectedAt: now.Add(-time.Hour), Since: now.Add(-24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	ob := st.Outbox("user0001@contoso.test", nil)
	es, err := ob.Pending(ctx, 10)
	if err != nil || len(es) != 3 {
		t.Fatalf("Pending = %d, %v", len(es), err)
	}
	if err := ob.Save(ctx, []crm.Outcome{{Key: es[0].Key, State: api.CRMLogged, RecordID: "02s1", Object: api.ObjEmailMessage},
		{Key: es[1].Key, State: api.CRMFailed, Reason: "refused", Retryable: true}}); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveCRMStanding(ctx, "user0001@contoso.test", pgstore.CRMStanding{User: "seller@contoso.test.sf", LastRun: now, Requests: 7,
		Reason: "Salesforce API limit nearly used up; logging waits until 15:30."}); err != nil {
		t.Fatal(err)
	}
	until := now.Add(30 * time.Minute)
	srv, err := New(Config{Store: st, Enqueue: (&fakeQueue{}).enqueue, Location: time.UTC,
		APIUse: func(context.Context) (int, int, time.Time, error) { return 91000, 100000, until, nil }})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	b = newBrowser(t, hs)
	_, page, _ := b.get("/")
	for _, want := range []string{"<th>Salesforce</th>", "1 logged · <span class=\"failed\">1 failed</span> · 1 waiting",
		"Salesforce API use today: <b>91,000</b> of 100,000 (91 %) — logging waits until"} {
		if !strings.Contains(page, want) {
			t.Errorf("the table lacks %q:\n%s", want, page)
		}
	}
	_, page, _ = b.get("/mailbox/user0001@contoso.test")
	for _, want := range []string{"<dd>seller@contoso.test.sf</dd>", "1 logged · 0 skipped · 1 failed · 1 waiting", "7 API requests", "logging waits until 15:30"} {
		if !strings.Contains(page, want) {
			t.Errorf("the mailbox page lacks %q:\n%s", want, page)
		}
	}
}
