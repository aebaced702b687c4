package gmail_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"golang.org/x/oauth2/jwt"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/gmail"
	"github.com/inboxsync/inboxsync/sync/provider/gmail/gmailtest"
	"github.com/inboxsync/inboxsync/sync/provider/providertest"
)

// dwd is the emulated Google with a Workspace domain and a service
// account whose delegation the admin authorised.
type dwd struct {
	g   *gmailtest.Server
	key *gmailtest.ServiceAccountKey
	sa  *gmail.ServiceAccount
	d   *gmail.Delegation
}

func newDWD(t *testing.T, batch int) *dwd {
	t.Helper()
	g := gmailtest.New(t)
	key := g.NewServiceAccount(t, "inboxsync-org")
	g.AuthorizeDelegation(key.ClientID, gmail.DelegationScopes...)
	sa, err := gmail.LoadServiceAccount(key.WriteFile(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	d, err := gmail.NewDelegation(gmail.DelegationConfig{Key: sa, GmailEndpoint: g.GmailEndpoint(), CalendarEndpoint: g.CalendarEndpoint(),
		HTTPClient: g.Client(), Batch: batch, Quota: -1})
	if err != nil {
		t.Fatal(err)
	}
	return &dwd{g: g, key: key, sa: sa, d: d}
}

func (e *dwd) mailbox(t *testing.T, user string, pageSize int) *gmail.Provider {
	t.Helper()
	p, err := e.d.Mailbox(user)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// dwdBox is providertest's mailbox over one domain user's mailbox.
type dwdBox struct {
	e     *dwd
	b     *gmailtest.Mailbox
	label map[string]string
}

func (m *dwdBox) Add(t *testing.T, f api.Folder, n int, at time.Time) []string {
	ids := m.b.Add(labels[f], n, at)
	for _, id := range ids {
		m.label[id] = labels[f][0]
	}
	return ids
}
func (m *dwdBox) Update(t *testing.T, id string) {
	m.b.RemoveLabel(id, m.label[id])
	m.b.AddLabel(id, m.label[id])
}
func (m *dwdBox) Delete(t *testing.T, id string) { m.b.Delete(id) }
func (m *dwdBox) InvalidateCursors(t *testing.T) {
	m.b.ExpireHistory()
	m.b.InvalidateSyncTokens()
}

// ChangePassword is, for a delegated mailbox, the admin deleting the user.
func (m *dwdBox) ChangePassword(t *testing.T) { m.e.g.RemoveUser(m.b.Address()) }
func (m *dwdBox) ThrottleNext(t *testing.T, d time.Duration) {
	m.e.g.Throttle(http.StatusTooManyRequests, "rateLimitExceeded", d)
}

type dwdHarness struct{ batch int }

func (h dwdHarness) Open(t *testing.T, pageSize int) (provider.Provider, providertest.Mailbox) {
	e := newDWD(t, h.batch)
	b := e.g.AddUser("bob@example.test")
	p, err := gmail.NewDelegation(gmail.DelegationConfig{Key: e.sa, GmailEndpoint: e.g.GmailEndpoint(), CalendarEndpoint: e.g.CalendarEndpoint(),
		HTTPClient: e.g.Client(), Batch: h.batch, PageSize: pageSize, Quota: -1})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := p.Mailbox("bob@example.test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mb.Close() })
	return mb, &dwdBox{e: e, b: b, label: map[string]string{}}
}

// The provider conformance suite on a domain user's mailbox read through
// domain-wide delegation: full sync, changes, deletions, stale cursors,
// the user deleted, throttling.
func TestDelegationConformance(t *testing.T)      { providertest.Run(t, dwdHarness{}) }
func TestDelegationConformanceBatch(t *testing.T) { providertest.Run(t, dwdHarness{batch: 3}) }

// TestDelegationSyncsEachUsersMailbox syncs two users of the domain end to
// end with one service account: each sees their own mail and events only,
// then a change and a deletion, and each user's token is asked for once.
func TestDelegationSyncsEachUsersMailbox(t *testing.T) {
	e := newDWD(t, 0)
	bob, cat := e.g.AddUser("bob@example.test"), e.g.AddUser("Cat@Example.test")
	bobIDs := bob.Add(labels[api.Inbox], 3, now.Add(-time.Hour))
	catIDs := cat.Add(labels[api.Inbox], 2, now.Add(-2*time.Hour))
	catSent := cat.Add(labels[api.Sent], 1, now.Add(-3*time.Hour))
	cat.AddEvent(1, now.Add(24*time.Hour))
	e.g.Add(labels[api.Inbox], 4, now) // the main mailbox's: nobody here reads it

	pb, pc := e.mailbox(t, "bob@example.test", 50), e.mailbox(t, "cat@example.test", 50)
	ch, bobCur := drain(t, pb, api.Inbox, "", opts())
	if got := ids(ch); !slices.Equal(got, sorted(bobIDs)) {
		t.Fatalf("bob's inbox %v, want %v", got, bobIDs)
	}
	for _, c := range ch {
		if !slices.ContainsFunc(c.Item.To, func(a string) bool { return strings.Contains(a, "bob@example.test") }) {
			t.Errorf("bob's message %s is addressed to %q", c.Item.ProviderID, c.Item.To)
		}
	}
	ch, catCur := drain(t, pc, api.Inbox, "", opts())
	if got := ids(ch); !slices.Equal(got, sorted(catIDs)) {
		t.Fatalf("cat's inbox %v, want %v", got, catIDs)
	}
	if ch, _ := drain(t, pc, api.Sent, "", opts()); !slices.Equal(ids(ch), catSent) {
		t.Errorf("cat's sent %v, want %v", ids(ch), catSent)
	}
	if ch, _ := drain(t, pc, api.Calendar, "", opts()); len(ch) != 1 || ch[0].Item.Kind != api.KindEvent {
		t.Errorf("cat's calendar %+v", ch)
	}
	if ch, _ := drain(t, pb, api.Calendar, "", opts()); len(ch) != 0 {
		t.Errorf("bob's calendar has %d events, want none", len(ch))
	}

	// A change in each mailbox: bob gets one more message and archives
	// one; cat's message is deleted for good.
	newer := bob.Add(labels[api.Inbox], 1, now)
	bob.RemoveLabel(bobIDs[0], gmailtest.Inbox)
	cat.Delete(catIDs[1])
	ch, _ = drain(t, pb, api.Inbox, bobCur, opts())
	got := byID(ch)
	if len(got) != 2 || got[newer[0]].Deleted || !got[bobIDs[0]].Deleted {
		t.Errorf("bob's changes %+v", ch)
	}
	ch, _ = drain(t, pc, api.Inbox, catCur, opts())
	if len(ch) != 1 || !ch[0].Deleted || ch[0].Item.ProviderID != catIDs[1] {
		t.Errorf("cat's changes %+v", ch)
	}

	// One token per user, shared by both of a user's providers.
	again := e.mailbox(t, "BOB@example.test", 50)
	if _, err := again.Profile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := e.d.Check(context.Background(), "cat@example.test"); err != nil {
		t.Fatal(err)
	}
	if b, c := e.g.Assertions("bob@example.test"), e.g.Assertions("cat@example.test"); b != 1 || c != 1 {
		t.Errorf("token requests: bob %d, cat %d; want one each", b, c)
	}
	if pr, err := pc.Profile(context.Background()); err != nil || pr.EmailAddress != "Cat@Example.test" {
		t.Errorf("cat's profile %+v, %v", pr, err)
	}
}

func ids(chs []provider.Change) []string {
	var out []string
	for _, c := range chs {
		out = append(out, c.Item.ProviderID)
	}
	return sorted(out)
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestDelegationTokenCache: concurrent requests of one user share one
// token request; a refused token is renewed once; a token about to expire
// is renewed before use.
func TestDelegationTokenCache(t *testing.T) {
	e := newDWD(t, 0)
	e.g.AddUser("bob@example.test")
	e.g.AddUser("cat@example.test")
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := []string{"bob@example.test", "cat@example.test"}[i%2]
			errs <- e.d.Check(context.Background(), user)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if b, c := e.g.Assertions("bob@example.test"), e.g.Assertions("cat@example.test"); b != 1 || c != 1 {
		t.Fatalf("20 concurrent checks asked for %d and %d tokens, want 1 each", b, c)
	}

	// Google refuses the access tokens (401): the next request renews
	// bob's once and goes through.
	p := e.mailbox(t, "bob@example.test", 10)
	e.g.ExpireAccess()
	if _, err := p.Profile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := e.g.Assertions("bob@example.test"); n != 2 {
		t.Errorf("after a refused token: %d token requests, want 2", n)
	}

	// Tokens that live less than the renewal margin are asked for
	// anew each time.
	e.g.AccessLifetime = 2 * time.Minute
	e.g.AddUser("dan@example.test")
	for range 3 {
		if err := e.d.Check(context.Background(), "dan@example.test"); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.g.Assertions("dan@example.test"); n != 3 {
		t.Errorf("short-lived tokens: %d token requests, want 4", n)
	}

	if _, err := e.d.Mailbox("not an address"); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("Mailbox of a non-address: %v", err)
	}
}

// TestDelegationUserOutsideDomain: Google refuses the user (invalid_grant
// "Invalid email or User ID"); that mailbox is GrantGone with words for an
// admin, not the service account's refusal, and the others still sync.
func TestDelegationUserOutsideDomain(t *testing.T) {
	e := newDWD(t, 0)
	e.g.AddUser("bob@example.test").Add(labels[api.Inbox], 2, now)
	for _, user := range []string{"eve@elsewhere.test", "gone@example.test"} {
		p := e.mailbox(t, user, 10)
		_, err := p.Changes(context.Background(), api.Inbox, "", opts())
		if provider.Classify(err) != provider.ClassGrantGone || errors.Is(err, gmail.ErrDelegationRefused) {
			t.Fatalf("%s: %v (class %v), want grant-gone of the mailbox only", user, err, provider.Classify(err))
		}
		r := provider.Reason(err)
		if !strings.Contains(r, user) || !strings.Contains(r, "not a user of the Google Workspace domain") || !strings.Contains(r, e.sa.Email()) {
			t.Errorf("%s: reason %q", user, r)
		}
		if !strings.Contains(err.Error(), "Invalid email or User ID") {
			t.Errorf("%s: error %q lacks Google's words", user, err)
		}
	}
	ch, _ := drain(t, e.mailbox(t, "bob@example.test", 10), api.Inbox, "", opts())
	if len(ch) != 2 {
		t.Errorf("bob's inbox: %d changes", len(ch))
	}
}

// TestDelegationRefused: the Admin console's entry lacks a scope, has
// none, the key was deleted, the account disabled: every mailbox gets
// ErrDelegationRefused, GrantGone, with what an admin must do.
func TestDelegationRefused(t *testing.T) {
	cases := []struct {
		name  string
		setup func(e *dwd)
		words []string
	}{
		{"calendar scope not authorised", func(e *dwd) { e.g.AuthorizeDelegation(e.key.ClientID, gmail.ScopeGmailMetadata) },
			[]string{"Domain-wide delegation", "client ID " + "%CLIENT%", gmail.ScopeGmailMetadata + "," + gmail.ScopeCalendarEvents}},
		{"no delegation", func(e *dwd) { e.g.AuthorizeDelegation(e.key.ClientID) },
			[]string{"Security → API controls → Domain-wide delegation", "%CLIENT%"}},
		{"key deleted", func(e *dwd) { e.g.DeleteKey(e.key.KeyID) },
			[]string{"key ID " + "%KEY%", "Create a new JSON key"}},
		{"account disabled", func(e *dwd) { e.g.DisableServiceAccount(e.key.Email) },
			[]string{"disabled or deleted", "%EMAIL%"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newDWD(t, 0)
			e.g.AddUser("bob@example.test")
			tc.setup(e)
			for _, check := range []func() error{
				func() error { return e.d.Check(context.Background(), "bob@example.test") },
				func() error {
					_, err := e.mailbox(t, "bob@example.test", 10).Changes(context.Background(), api.Calendar, "", opts())
					return err
				},
			} {
				err := check()
				if !errors.Is(err, gmail.ErrDelegationRefused) || provider.Classify(err) != provider.ClassGrantGone {
					t.Fatalf("%v (class %v), want ErrDelegationRefused and grant-gone", err, provider.Classify(err))
				}
				r := provider.Reason(err)
				for _, w := range tc.words {
					w = strings.NewReplacer("%CLIENT%", e.key.ClientID, "%KEY%", e.key.KeyID, "%EMAIL%", e.key.Email).Replace(w)
					if !strings.Contains(r, w) {
						t.Errorf("reason %q lacks %q", r, w)
					}
				}
				noKeyMaterial(t, e.key, err.Error())
			}
			if n := e.g.Assertions("bob@example.test"); n != 0 {
				t.Errorf("%d tokens issued", n)
			}
		})
	}
}

// noKeyMaterial fails when s holds any part of the key.
func noKeyMaterial(t *testing.T, key *gmailtest.ServiceAccountKey, s string) {
	t.Helper()
	var kf struct {
		PrivateKey string `json:"private_key"`
	}
	json.Unmarshal(key.JSON, &kf)
	if strings.Contains(s, "PRIVATE KEY") {
		t.Errorf("%q holds a PEM block", s)
	}
	for _, line := range strings.Split(kf.PrivateKey, "\n") {
		if len(line) >= 32 && strings.Contains(s, line[:32]) {
			t.Errorf("%q holds key material", s)
		}
	}
}

// TestDelegationTokenAnswers maps the token endpoint's documented answers,
// served by a stand-in that answers every assertion the same.
func TestDelegationTokenAnswers(t *testing.T) {
	g := gmailtest.New(t)
	key := g.NewServiceAccount(t, "answers")
	sa, err := gmail.LoadServiceAccount(key.WriteFile(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		status      int
		code, desc  string
		retryAfter  string
		class       provider.Class
		refused     bool
		reasonWords string
	}{
		{401, "unauthorized_client", "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.", "", provider.ClassGrantGone, true, "Domain-wide delegation"},
		{400, "invalid_grant", "Invalid JWT Signature.", "", provider.ClassGrantGone, true, "deleted or replaced"},
		{400, "invalid_grant", "Invalid grant: account not found", "", provider.ClassGrantGone, true, "disabled or deleted"},
		{400, "invalid_grant", "Robot is disabled.", "", provider.ClassGrantGone, true, "disabled or deleted"},
		{401, "invalid_client", "The OAuth client was not found.", "", provider.ClassGrantGone, true, "disabled or deleted"},
		{401, "deleted_client", "The OAuth client was deleted.", "", provider.ClassGrantGone, true, "disabled or deleted"},
		{400, "invalid_grant", "Invalid email or User ID", "", provider.ClassGrantGone, false, "not a user of the Google Workspace domain"},
		{400, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.", "", provider.ClassFailed, false, "clock"},
		{429, "rate_limit_exceeded", "Too many requests", "7", provider.ClassThrottled, false, ""},
		{503, "", "", "", provider.ClassThrottled, false, ""},
		{500, "internal_failure", "Internal error", "", provider.ClassOffline, false, ""},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%d %s %.20s", tc.status, tc.code, tc.desc), func(t *testing.T) {
			var form url.Values
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				r.ParseForm()
				form = r.PostForm
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
				w.WriteHeader(tc.status)
				json.NewEncoder(w).Encode(map[string]string{"error": tc.code, "error_description": tc.desc})
			}))
			defer srv.Close()
			d, err := gmail.NewDelegation(gmail.DelegationConfig{Key: sa, TokenURL: srv.URL + "/token", HTTPClient: srv.Client()})
			if err != nil {
				t.Fatal(err)
			}
			err = d.Check(context.Background(), "bob@example.test")
			if provider.Classify(err) != tc.class || errors.Is(err, gmail.ErrDelegationRefused) != tc.refused {
				t.Fatalf("%v: class %v refused %v", err, provider.Classify(err), errors.Is(err, gmail.ErrDelegationRefused))
			}
			if !strings.Contains(provider.Reason(err), tc.reasonWords) {
				t.Errorf("reason %q lacks %q", provider.Reason(err), tc.reasonWords)
			}
			if tc.retryAfter != "" && provider.RetryAfter(err) != 7*time.Second {
				t.Errorf("retry after %v", provider.RetryAfter(err))
			}
			if form.Get("grant_type") != gmailtest.GrantTypeJWTBearer || form.Get("assertion") == "" || form.Has("client_id") {
				t.Errorf("token request %v", form)
			}
			noKeyMaterial(t, key, err.Error())
			if strings.Contains(err.Error(), form.Get("assertion")[:40]) {
				t.Errorf("error %q holds the assertion", err)
			}
		})
	}
	// Google's token endpoint unreachable: offline.
	d, _ := gmail.NewDelegation(gmail.DelegationConfig{Key: sa, TokenURL: "https://127.0.0.1:1/token"})
	if err := d.Check(context.Background(), "bob@example.test"); provider.Classify(err) != provider.ClassOffline {
		t.Errorf("unreachable token endpoint: %v (class %v)", err, provider.Classify(err))
	}
}

// TestDelegationAssertion checks the JWT-bearer grant the provider sends
// against the published contract: RS256 with the key's kid; iss the
// service account, sub the user, aud the token URL, the two scopes,
// iat and exp at most an hour apart.
func TestDelegationAssertion(t *testing.T) {
	g := gmailtest.New(t)
	key := g.NewServiceAccount(t, "claims")
	sa, _ := gmail.LoadServiceAccount(key.WriteFile(t, t.TempDir()))
	var assertion string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		assertion = r.PostForm.Get("assertion")
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"ya29.c.x","expires_in":3599,"token_type":"Bearer"}`)
	}))
	defer srv.Close()
	d, _ := gmail.NewDelegation(gmail.DelegationConfig{Key: sa, TokenURL: srv.URL + "/token", HTTPClient: srv.Client()})
	if err := d.Check(context.Background(), "bob@example.test"); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		t.Fatalf("assertion %q", assertion)
	}
	var h map[string]any
	var c map[string]any
	json.Unmarshal(decodeSegment(t, parts[0]), &h)
	json.Unmarshal(decodeSegment(t, parts[1]), &c)
	if h["alg"] != "RS256" || h["kid"] != key.KeyID {
		t.Errorf("header %v", h)
	}
	iat, _ := c["iat"].(float64)
	exp, _ := c["exp"].(float64)
	if c["iss"] != key.Email || c["sub"] != "bob@example.test" || c["aud"] != srv.URL+"/token" ||
		c["scope"] != gmail.ScopeGmailMetadata+" "+gmail.ScopeCalendarEvents || exp-iat > 3600 || exp <= iat ||
		time.Since(time.Unix(int64(iat), 0)) > time.Minute {
		t.Errorf("claims %v", c)
	}
}

func decodeSegment(t *testing.T, s string) []byte {
	t.Helper()
	b, err := jwtSegment(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDelegationMetadataRequestShapes: a mailbox synced through
// delegation sends only what gmail.metadata allows (no q, format=metadata
// on every messages.get, batched or not), and Google refuses q and
// format=full/raw to such a token, as documented.
func TestDelegationMetadataRequestShapes(t *testing.T) {
	for _, batch := range []int{0, 5} {
		e := newDWD(t, batch)
		bob := e.g.AddUser("bob@example.test")
		ids := bob.Add(labels[api.Inbox], 7, now.Add(-time.Hour))
		p := e.mailbox(t, "bob@example.test", 3)
		_, cur := drain(t, p, api.Inbox, "", opts())
		bob.Add(labels[api.Inbox], 2, now)
		bob.Trash(ids[0])
		drain(t, p, api.Inbox, cur, opts())
		gets := 0
		for _, l := range e.g.Log() {
			u, _ := url.Parse(l)
			if !strings.HasPrefix(u.Path, "/gmail/v1/users/me/") {
				t.Errorf("batch %d: request %q is not of users/me", batch, l)
			}
			if u.Query().Has("q") {
				t.Errorf("batch %d: request %q has q", batch, l)
			}
			if strings.HasPrefix(u.Path, "/gmail/v1/users/me/messages/") {
				gets++
				if f := u.Query()["format"]; !slices.Equal(f, []string{"metadata"}) {
					t.Errorf("batch %d: messages.get %q", batch, l)
				}
			}
		}
		if gets < 9 {
			t.Errorf("batch %d: %d messages.get", batch, gets)
		}
		if batch > 0 && e.g.Batches() == 0 {
			t.Error("no batch request")
		}
	}

	// The emulator refuses what gmail.metadata does not allow to a
	// delegated token, and lets it read only its own user's mailbox.
	e := newDWD(t, 0)
	bob := e.g.AddUser("bob@example.test")
	e.g.AddUser("cat@example.test")
	id := bob.Add(labels[api.Inbox], 1, now)[0]
	tok := delegatedToken(t, e, "bob@example.test", gmail.DelegationScopes...)
	for _, tc := range []struct {
		path   string
		status int
		words  string
	}{
		{"/gmail/v1/users/me/messages?labelIds=INBOX&q=newer_than%3A30d", 403, "Metadata scope does not support 'q' parameter"},
		{"/gmail/v1/users/me/messages/" + id + "?format=full", 403, "Metadata scope doesn't allow format FULL"},
		{"/gmail/v1/users/me/messages/" + id + "?format=raw", 403, "Metadata scope doesn't allow format RAW"},
		{"/gmail/v1/users/me/messages/" + id + "?format=metadata", 200, `"id":"` + id + `"`},
		{"/gmail/v1/users/bob@example.test/profile", 200, `"emailAddress":"bob@example.test"`},
		{"/gmail/v1/users/cat@example.test/profile", 403, "Delegation denied for bob@example.test"},
		{"/calendar/v3/calendars/cat@example.test/events", 404, "notFound"},
	} {
		status, body := get(t, e.g, tok, tc.path)
		if status != tc.status || !strings.Contains(body, tc.words) {
			t.Errorf("%s: %d %s", tc.path, status, body)
		}
	}
	// The same with gmail.readonly and no metadata scope: allowed.
	e.g.AuthorizeDelegation(e.key.ClientID, gmailtest.ScopeGmailReadonly)
	tok = delegatedToken(t, e, "bob@example.test", gmailtest.ScopeGmailReadonly)
	if status, body := get(t, e.g, tok, "/gmail/v1/users/me/messages?q=in%3Ainbox"); status != 200 {
		t.Errorf("readonly with q: %d %s", status, body)
	}
	if status, body := get(t, e.g, tok, "/gmail/v1/users/me/messages/"+id+"?format=full"); status != 200 || !strings.Contains(body, `"data"`) {
		t.Errorf("readonly format=full: %d %s", status, body)
	}
}

// delegatedToken gets a token for user straight from the emulator with
// x/oauth2's JWT config (not the code under test).
func delegatedToken(t *testing.T, e *dwd, user string, scopes ...string) string {
	t.Helper()
	jc, err := google.JWTConfigFromJSON(e.key.JSON, scopes...)
	if err != nil {
		t.Fatal(err)
	}
	jc.Subject = user
	tok, err := jc.TokenSource(context.WithValue(context.Background(), oauth2.HTTPClient, e.g.Client())).Token()
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

func get(t *testing.T, g *gmailtest.Server, tok, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, g.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := g.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestEmulatorJWTBearer: the emulator checks what Google checks of an
// assertion.
func TestEmulatorJWTBearer(t *testing.T) {
	e := newDWD(t, 0)
	e.g.AddUser("bob@example.test")
	other, err := gmailtest.NewServiceAccountKey(e.key.Email, e.key.ClientID, e.g.TokenURL()) // same account, unregistered key
	if err != nil {
		t.Fatal(err)
	}
	try := func(key []byte, mutate func(jc *jwtConfig)) (int, string) {
		jc, err := google.JWTConfigFromJSON(key, gmail.DelegationScopes...)
		if err != nil {
			t.Fatal(err)
		}
		jc.Subject = "bob@example.test"
		if mutate != nil {
			mutate(jc)
		}
		_, err = jc.TokenSource(context.WithValue(context.Background(), oauth2.HTTPClient, e.g.Client())).Token()
		var re *oauth2.RetrieveError
		if err == nil {
			return 200, ""
		}
		if !errors.As(err, &re) {
			t.Fatal(err)
		}
		return re.Response.StatusCode, string(re.Body)
	}
	for _, tc := range []struct {
		name   string
		key    []byte
		mutate func(jc *jwtConfig)
		status int
		words  string
	}{
		{"good", e.key.JSON, nil, 200, ""},
		{"unregistered key", other.JSON, nil, 400, "Invalid JWT Signature."},
		{"wrong audience", e.key.JSON, func(jc *jwtConfig) { jc.Audience = "https://oauth2.googleapis.com/token" }, 400, "audience"},
		{"too long", e.key.JSON, func(jc *jwtConfig) { jc.Expires = 2 * time.Hour }, 400, "short-lived"},
		{"unknown issuer", e.key.JSON, func(jc *jwtConfig) { jc.Email = "nobody@inboxsync-test.iam.gserviceaccount.com" }, 400, "account not found"},
		{"no scope", e.key.JSON, func(jc *jwtConfig) { jc.Scopes = nil }, 400, "invalid_scope"},
		{"scope not in the entry", e.key.JSON, func(jc *jwtConfig) { jc.Scopes = append(jc.Scopes, gmailtest.ScopeGmailReadonly) }, 401, "unauthorized_client"},
		{"user not in the domain", e.key.JSON, func(jc *jwtConfig) { jc.Subject = "eve@elsewhere.test" }, 400, "Invalid email or User ID"},
	} {
		status, body := try(tc.key, tc.mutate)
		if status != tc.status || !strings.Contains(body, tc.words) {
			t.Errorf("%s: %d %s", tc.name, status, body)
		}
	}
}

// TestLoadServiceAccount: a good key loads; a key file others can read is
// refused with the fix; nothing prints the key.
func TestLoadServiceAccount(t *testing.T) {
	key, err := gmailtest.NewServiceAccountKey("sync@acme-mail.iam.gserviceaccount.com", "104512345678901234567", gmail.DefaultTokenURL)
	if err != nil {
		t.Fatal(err)
	}
	p := key.WriteFile(t, t.TempDir())
	sa, err := gmail.LoadServiceAccount(p)
	if err != nil {
		t.Fatal(err)
	}
	if sa.Email() != key.Email || sa.ClientID() != key.ClientID || sa.TokenURL() != gmail.DefaultTokenURL {
		t.Errorf("loaded %s %s %s", sa.Email(), sa.ClientID(), sa.TokenURL())
	}
	for _, s := range []string{fmt.Sprint(sa), fmt.Sprintf("%+v", sa), fmt.Sprintf("%#v", sa), fmt.Sprintf("%v", *sa)} {
		noKeyMaterial(t, key, s)
	}
	if !strings.Contains(fmt.Sprint(sa), key.ClientID) {
		t.Errorf("String %q lacks the client ID", sa)
	}

	if runtime.GOOS == "windows" {
		return
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604} {
		os.Chmod(p, mode)
		_, err := gmail.LoadServiceAccount(p)
		if !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), "chmod 600 "+p) || !strings.Contains(err.Error(), fmt.Sprintf("%04o", mode)) {
			t.Errorf("mode %04o: %v", mode, err)
		}
		if err != nil {
			noKeyMaterial(t, key, err.Error())
		}
	}
	os.Chmod(p, 0o400)
	if _, err := gmail.LoadServiceAccount(p); err != nil {
		t.Errorf("mode 0400: %v", err)
	}
	if _, err := gmail.LoadServiceAccount(filepath.Join(t.TempDir(), "none.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestLoadServiceAccountNotAKey: files that are not a service account key
// are refused saying what they are, without their content.
func TestLoadServiceAccountNotAKey(t *testing.T) {
	key, _ := gmailtest.NewServiceAccountKey("sync@acme-mail.iam.gserviceaccount.com", "104512345678901234567", gmail.DefaultTokenURL)
	var good map[string]any
	json.Unmarshal(key.JSON, &good)
	with := func(k string, v any) string {
		m := map[string]any{}
		for a, b := range good {
			m[a] = b
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	cases := []struct{ name, content, words string }{
		{"oauth client", `{"installed":{"client_id":"1-x.apps.googleusercontent.com","client_secret":"GOCSPX-secret","redirect_uris":["http://localhost"]}}`, "OAuth client file"},
		{"user credentials", `{"type":"authorized_user","client_id":"x","client_secret":"GOCSPX-secret","refresh_token":"1//0g-secret"}`, "user's sign-in"},
		{"external account", `{"type":"external_account","audience":"//iam.googleapis.com/x"}`, "external account"},
		{"other json", `{"hello":"world"}`, "not a service account key file"},
		{"not json", "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n", "it is not JSON"},
		{"no client id", with("client_id", nil), "no numeric client_id"},
		{"no email", with("client_email", nil), "no valid client_email"},
		{"broken key", with("private_key", "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n"), "private_key"},
		{"no key", with("private_key", nil), "private_key of the service account key file of sync@acme-mail.iam.gserviceaccount.com is missing"},
	}
	dir := t.TempDir()
	for _, tc := range cases {
		p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".json")
		os.WriteFile(p, []byte(tc.content), 0o600)
		_, err := gmail.LoadServiceAccount(p)
		if !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), tc.words) {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		for _, secret := range []string{"GOCSPX-secret", "1//0g-secret", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: error %q repeats the file", tc.name, err)
			}
		}
		noKeyMaterial(t, key, err.Error())
	}
}

type jwtConfig = jwt.Config

func jwtSegment(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
