package main

import (
	"bytes"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/auth"
	"github.com/inboxsync/inboxsync/sync/provider/gmail/gmailtest"
)

// gmailSecret is the emulated OAuth client's secret: it must reach the
// token endpoint and no file or log.
const gmailSecret = "GOCSPX-e2eSecretValue-7Qx"

// gmailItems returns what `activity --json` lists (with --deleted, the
// deleted items too), by folder/provider id.
func (h *home) gmailItems(deleted bool) map[string]api.StoredItem {
	h.t.Helper()
	var flags []string
	if deleted {
		flags = append(flags, "--deleted")
	}
	items := h.items(flags...)
	out := map[string]api.StoredItem{}
	for _, it := range items {
		k := string(it.Folder) + "/" + it.ProviderID
		if _, dup := out[k]; dup {
			h.t.Errorf("activity lists %s twice", k)
		}
		out[k] = it
	}
	return out
}

// syncWait runs `sync --wait` and checks its outcome line: ok with these
// counts.
func (h *home) syncWait(account string, added, updated, removed int) {
	h.t.Helper()
	out, errOut, code := h.run("", "sync", "--wait")
	want := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(account) + `: ok \(` + strconv.Itoa(added) + ` added, ` + strconv.Itoa(updated) + ` updated, ` + strconv.Itoa(removed) + ` removed in `)
	if code != 0 || !want.MatchString(out) {
		h.t.Fatalf("sync --wait: exit %d, want %s\nstdout: %s\nstderr: %s", code, want, out, errOut)
	}
}

// signInGmail runs `account add gmail ARGS…` with --no-browser and plays
// the browser: it follows the link the CLI prints through the emulated
// Google to the agent's loopback listener. It returns what the CLI
// printed.
func (h *home) signInGmail(g *gmailtest.Server, browser *gmailtest.Browser, args ...string) string {
	h.t.Helper()
	out, errOut := h.signIn(g.AuthURL()+"?", browser.Open, append([]string{"account", "add", "gmail", "--no-browser"}, args...)...)
	return out + errOut
}

// TestGmailEndToEnd signs the real binary in with the emulated Google (the
// test plays the browser, following the link `account add gmail
// --no-browser` prints), sees the first sync of Inbox, Sent and the
// calendar, then changes the mailbox on the emulator — new mail, a message
// sent to oneself (in Inbox and Sent, archived out of the Inbox only), mail
// archived out of the Inbox, deleted and trashed mail, a changed and a
// cancelled event, expired history and sync tokens with mail deleted
// meanwhile — and checks `activity --json` after each `sync --wait`. Then Google revokes the grant: the
// account needs re-activation, saying why; signing in again reuses the
// client secret kept in the keyring. No secret is written under --home.
func TestGmailEndToEnd(t *testing.T) {
	needKeyring(t)
	g := gmailtest.New(t)
	g.ClientSecret = gmailSecret
	g.Rotate = true // Google may rotate refresh tokens: the keyring must keep the newest
	now := time.Now()
	inbox := g.Add([]string{gmailtest.Inbox, "UNREAD", "CATEGORY_PERSONAL"}, 12, now.Add(-2*time.Hour))
	sent := g.Add([]string{gmailtest.Sent}, 4, now.Add(-3*time.Hour))
	old := g.Add([]string{gmailtest.Inbox}, 3, now.AddDate(0, 0, -45)) // before the 30-day history window
	events := g.AddEvent(3, now.AddDate(0, 0, 2).Truncate(time.Hour))
	allDay := g.AddAllDayEvent(now.AddDate(0, 0, 5), 1)

	// The agent trusts the emulator's certificate through SSL_CERT_FILE.
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: g.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHome(t, "SSL_CERT_FILE="+caFile, "INBOXSYNC_TEST_MIN_SYNC_GAP=1ms")
	h.startAgent()

	endpoints := []string{"--auth-url", g.AuthURL(), "--token-url", g.TokenURL(), "--gmail-endpoint", g.GmailEndpoint(), "--calendar-endpoint", g.CalendarEndpoint()}
	if _, errOut, code := h.run("", append([]string{"account", "add", "gmail", "--no-browser"}, endpoints...)...); code != 1 || !strings.Contains(errOut, "--client-id") {
		t.Fatalf("add without a client ID: exit %d %q", code, errOut)
	}

	browser := g.Browser()
	out := h.signInGmail(g, browser, append([]string{"--client-id", gmailtest.DefaultClientID, "--client-secret", gmailSecret}, endpoints...)...)
	if !strings.Contains(out, "Finish signing in in your browser") || !strings.Contains(out, "Connected ann (ann@example.test)") {
		t.Fatalf("account add gmail printed:\n%s", out)
	}
	if strings.Contains(out, gmailSecret) {
		t.Error("account add printed the client secret")
	}
	if _, page := browser.Last(); !strings.Contains(page, "You can close this tab") {
		t.Errorf("browser page: %q", page)
	}
	if q := g.LastAuthorize(); q.Get("access_type") != "offline" || q.Get("prompt") != "consent" || q.Get("code_challenge_method") != "S256" ||
		q.Get("scope") != gmailtest.ScopeGmailMetadata+" "+gmailtest.ScopeCalendarEvents {
		t.Errorf("authorization request: %v", q)
	}
	if f := g.LastTokenForm(); f.Get("client_secret") != gmailSecret {
		t.Error("the client secret did not reach the token endpoint")
	}

	// The first sync starts at once: 12 + 4 messages and 4 events; the
	// old mail is outside the history window.
	h.eventually("the first sync ends", func() bool {
		s := h.status()
		return len(s.Accounts) == 1 && s.Accounts[0].LastSync != nil && s.Accounts[0].LastSync.Outcome == "ok"
	})
	s := h.status().Accounts[0]
	if s.Provider != "gmail" || s.Email != "ann@example.test" || s.LastSync.Added != 20 {
		t.Fatalf("after the first sync: %+v %+v", s, s.LastSync)
	}
	items := h.gmailItems(false)
	if len(items) != 20 {
		t.Fatalf("activity after the first sync: %d items, want 20", len(items))
	}
	for _, id := range inbox {
		it, ok := items["inbox/"+id]
		if !ok || it.Kind != api.KindMail || !strings.HasPrefix(it.Subject, "Quarterly review ") || !strings.HasPrefix(it.MessageID, "<CAF") || it.From == "" || it.ConversationID == "" {
			t.Errorf("inbox message %s: %+v (listed %v)", id, it, ok)
		}
	}
	for _, id := range sent {
		if it, ok := items["sent/"+id]; !ok || it.From != "ann@example.test" || len(it.To) != 1 {
			t.Errorf("sent message %s: %+v (listed %v)", id, it, ok)
		}
	}
	for _, id := range old {
		if _, ok := items["inbox/"+id]; ok {
			t.Errorf("message %s, older than the history window, was synced", id)
		}
	}
	for _, id := range events {
		if it, ok := items["calendar/"+id]; !ok || it.Kind != api.KindEvent || it.End.Sub(it.Start) != time.Hour || it.Location != "Room 4" {
			t.Errorf("event %s: %+v (listed %v)", id, it, ok)
		}
	}
	if it := items["calendar/"+allDay]; it.Start.Hour() != 0 || it.End.Sub(it.Start) != 24*time.Hour {
		t.Errorf("all-day event: %s – %s", it.Start, it.End)
	}

	// New mail, read with a renewed access token: Google rotates the
	// refresh token, and the keyring must hold the new one.
	g.ExpireAccess()
	added := g.Add([]string{gmailtest.Inbox}, 2, now.Add(-time.Minute))
	h.syncWait("ann", 2, 0, 0)
	items = h.gmailItems(false)
	for _, id := range added {
		if _, ok := items["inbox/"+id]; !ok {
			t.Errorf("new message %s is not in the activity", id)
		}
	}
	if len(items) != 22 {
		t.Errorf("%d items after new mail, want 22", len(items))
	}
	stored, err := keyring.Get("inboxsync", "ann/oauth-token")
	if err != nil {
		t.Fatalf("keyring: %v", err)
	}
	grant, err := auth.DecodeGrant(stored)
	if err != nil {
		t.Fatal(err)
	}
	if g.Refreshes() < 1 || !g.ValidRefresh(grant.RefreshToken) {
		t.Errorf("after %d refreshes the keyring holds a refresh token Google does not accept", g.Refreshes())
	}
	if grant.ClientSecret != gmailSecret {
		t.Error("the client secret is not kept with the grant")
	}

	// A message sent to oneself carries INBOX and SENT: it is listed in
	// both folders, and archiving it takes it out of the Inbox only.
	self := g.SendToSelf(now.Add(-20 * time.Second))
	h.syncWait("ann", 2, 0, 0)
	items = h.gmailItems(false)
	if _, ok := items["inbox/"+self]; !ok {
		t.Error("the message sent to oneself is not in the Inbox")
	}
	if _, ok := items["sent/"+self]; !ok {
		t.Error("the message sent to oneself is not in Sent")
	}
	g.RemoveLabel(self, gmailtest.Inbox)
	h.syncWait("ann", 0, 0, 1)
	items = h.gmailItems(false)
	if _, ok := items["inbox/"+self]; ok {
		t.Error("the message sent to oneself stays in the Inbox after it was archived")
	}
	if it, ok := items["sent/"+self]; !ok || it.Deleted {
		t.Errorf("archiving the message sent to oneself took it out of Sent too: %+v (listed %v)", it, ok)
	}

	// Archived (out of the Inbox), deleted for good, and trashed: each is
	// marked deleted, and the rest stays.
	g.RemoveLabel(inbox[0], gmailtest.Inbox)
	h.syncWait("ann", 0, 0, 1)
	g.Delete(inbox[1])
	g.Trash(inbox[2])
	h.syncWait("ann", 0, 0, 2)
	items = h.gmailItems(false)
	withDeleted := h.gmailItems(true)
	for _, id := range inbox[:3] {
		if _, ok := items["inbox/"+id]; ok {
			t.Errorf("message %s, no longer in the Inbox, is listed", id)
		}
		if it, ok := withDeleted["inbox/"+id]; !ok || !it.Deleted {
			t.Errorf("message %s is not marked deleted: %+v (listed %v)", id, it, ok)
		}
	}
	if len(items) != 20 {
		t.Errorf("%d items after three left the Inbox, want 20", len(items))
	}

	// A changed event and a cancelled one.
	g.ChangeEvent(events[0])
	g.CancelEvent(events[1])
	h.syncWait("ann", 0, 1, 1)
	items = h.gmailItems(false)
	if it := items["calendar/"+events[0]]; !strings.HasSuffix(it.Subject, "(rev 1)") {
		t.Errorf("changed event: %q", it.Subject)
	}
	if _, ok := items["calendar/"+events[1]]; ok {
		t.Error("the cancelled event is listed")
	}
	if it := h.gmailItems(true)["calendar/"+events[1]]; !it.Deleted {
		t.Errorf("cancelled event: %+v", it)
	}

	// A laptop closed for more than a week: Gmail has forgotten the
	// history id and Calendar the sync token, so both are synced in full
	// again. Mail that arrived meanwhile is there, nothing is listed
	// twice, and what left the Inbox stays deleted.
	// Mail deleted meanwhile is marked deleted when the full listing
	// no longer returns it.
	g.ExpireHistory()
	g.InvalidateSyncTokens()
	late := g.Add([]string{gmailtest.Inbox}, 1, now.Add(-30*time.Second))[0]
	g.Delete(inbox[3])
	g.ExpireHistory()
	out, errOut, code := h.run("", "sync", "--wait")
	if code != 0 || !strings.Contains(out, "ann: ok (1 added, ") {
		t.Fatalf("sync --wait after the history expired: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	items = h.gmailItems(false)
	if _, ok := items["inbox/"+late]; !ok {
		t.Error("mail that arrived while the history expired is not listed")
	}
	for _, id := range inbox[:4] {
		if _, ok := items["inbox/"+id]; ok {
			t.Errorf("message %s is listed after the full resync", id)
		}
	}
	if it := h.gmailItems(true)["inbox/"+inbox[3]]; !it.Deleted {
		t.Errorf("mail deleted while the history expired is not marked deleted: %+v", it)
	}
	if len(items) != 19 { // the cancelled event went, the late mail came, inbox[3] went
		t.Errorf("%d items after the full resync, want 19", len(items))
	}
	if s := h.status().Accounts[0]; s.State != api.Idle || s.LastSync.Outcome != "ok" {
		t.Errorf("after the full resync: %+v %+v", s, s.LastSync)
	}

	// Google revokes the grant (the user removed access, the password
	// changed, or a Testing app's 7 days are over): the next sync needs
	// re-activation at once, saying why.
	g.Revoke()
	if out, errOut, code := h.run("", "sync", "--wait"); code != 1 {
		t.Fatalf("sync --wait after the grant was revoked: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	s = h.status().Accounts[0]
	if s.State != api.NeedsReactivation || !strings.Contains(s.Reason, "Google sign-in was revoked or your password changed") || s.Rejections != 0 {
		t.Fatalf("status after the revocation: %+v", s)
	}

	// Signing in again needs neither the client ID (kept with the account)
	// nor the client secret (kept with the grant in the keyring); the
	// emulated Google refuses token requests without the secret.
	out = h.signInGmail(g, browser, "--account", "ann")
	if !strings.Contains(out, "Connected ann (ann@example.test)") {
		t.Fatalf("re-activation printed:\n%s", out)
	}
	h.eventually("the sync after re-activation ends", func() bool {
		s := h.status().Accounts[0]
		return s.State == api.Idle && s.LastSync != nil && s.LastSync.Outcome == "ok"
	})
	current, err := keyring.Get("inboxsync", "ann/oauth-token")
	if err != nil {
		t.Fatal(err)
	}
	renewed, err := auth.DecodeGrant(current)
	if err != nil || !g.ValidRefresh(renewed.RefreshToken) || renewed.ClientSecret != gmailSecret {
		t.Fatalf("the keyring after re-activation: valid %v, secret kept %v, %v", g.ValidRefresh(renewed.RefreshToken), renewed.ClientSecret == gmailSecret, err)
	}

	// No secret is written anywhere under the home (store, settings,
	// logs), nor in the agent's output.
	h.ok("account", "remove", "ann")
	if _, err := keyring.Get("inboxsync", "ann/oauth-token"); err == nil {
		t.Error("the grant is still in the keyring after remove")
	}
	h.stopAgent()
	secrets := []string{gmailSecret, grant.RefreshToken, renewed.RefreshToken, "ya29.", "1//0g"}
	files := 0
	filepath.Walk(h.dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			files++
			b, _ := os.ReadFile(p)
			for _, secret := range secrets {
				if bytes.Contains(b, []byte(secret)) {
					t.Errorf("%s contains a secret (%.8s…)", p, secret)
				}
			}
		}
		return nil
	})
	if files == 0 {
		t.Error("no file under the home to check")
	}
	for _, secret := range secrets {
		if strings.Contains(h.log.String(), secret) {
			t.Errorf("the agent log contains a secret (%.8s…)", secret)
		}
	}
	if !strings.Contains(h.log.String(), "account activated") {
		t.Errorf("the agent log is not the one checked:\n%s", h.log)
	}
}

// `account add gmail` shows its own flags and checks its arguments on this
// computer, before it looks for the agent; a client ID from the
// configuration file is enough.
func TestGmailCLIArguments(t *testing.T) {
	h := newHome(t)
	help, errOut, code := h.run("", "account", "add", "gmail", "--help")
	help += errOut
	if code != 0 || !strings.HasPrefix(help, "Usage: inboxsync account add gmail") {
		t.Fatalf("account add gmail --help: exit %d\n%s", code, help)
	}
	for _, w := range []string{"-client-id ID", "-client-secret", "-no-browser", "-auth-url URL", "-token-url URL", "-gmail-endpoint URL", "-calendar-endpoint URL", "-account", "-home DIR", "Gmail", "docs/gmail.md"} {
		if !strings.Contains(help, w) {
			t.Errorf("account add gmail --help lacks %q:\n%s", w, help)
		}
	}
	// --accept-mailbox is every provider's: it is not --mailbox.
	others := strings.ReplaceAll(help, "-accept-mailbox", "")
	for _, w := range []string{"-login", "-password-stdin", "-ews-url", "-tenant", "-device-code", "-mailbox", "not available"} {
		if strings.Contains(others, w+" ") || strings.Contains(others, w+"\n") {
			t.Errorf("account add gmail --help shows %q:\n%s", w, help)
		}
	}
	if _, errOut, code := h.run("", "account", "add", "gmail", "--client-id", gmailtest.DefaultClientID, "--password-stdin"); code != 2 || !strings.Contains(errOut, "flag provided but not defined: -password-stdin") {
		t.Errorf("account add gmail --password-stdin: exit %d, %q", code, errOut)
	}

	const id = gmailtest.DefaultClientID
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "Gmail needs the client ID of an OAuth client"},
		{[]string{"--client-id", "not a client id!"}, `the client ID "not a client id!" does not look like a Google OAuth client ID`},
		{[]string{"--client-id", id, "--client-secret", "two words"}, "the client secret has characters"},
		{[]string{"--client-id", id, "--gmail-endpoint", "http://gmail.example/gmail/v1"}, "the Gmail endpoint must be an https URL"},
		{[]string{"--client-id", id, "--calendar-endpoint", "calendar"}, "Calendar endpoint"},
		{[]string{"--client-id", id, "--auth-url", "http://accounts.example/auth"}, "the authorization URL must be an https URL"},
		{[]string{"--client-id", id, "--token-url", "https://oauth2.example/token?x=1"}, "token URL"},
	} {
		out, errOut, code := h.run("", append([]string{"account", "add", "gmail"}, tc.args...)...)
		if code != 1 || !strings.Contains(errOut, tc.want) || strings.Contains(errOut, "not running") {
			t.Errorf("account add gmail %s with no agent: exit %d, want 1 and %q first\nstdout: %s\nstderr: %s", strings.Join(tc.args, " "), code, tc.want, out, errOut)
		}
		if strings.Contains(errOut, "two words") {
			t.Error("the error repeats the client secret")
		}
	}

	// Good arguments go on to the agent, which is not running; the client
	// ID may come from the configuration file, as in the agent.
	if err := os.WriteFile(filepath.Join(h.dir, "config.json"), []byte(`{"gmail": {"client_id": "`+id+`"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--client-id", id, "--client-secret", gmailSecret, "--gmail-endpoint", "http://127.0.0.1:1/gmail/v1"},
		{"--no-browser"},
	} {
		out, errOut, code := h.run("", append([]string{"account", "add", "gmail"}, args...)...)
		if code != 1 || !strings.Contains(errOut, "not running") {
			t.Errorf("account add gmail %s with no agent: exit %d, want 1 and the agent is not running\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
		}
	}
}
