package scripted_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/providertest"
	"github.com/inboxsync/inboxsync/sync/provider/scripted"
	"github.com/inboxsync/inboxsync/sync/secret"
)

type harness struct{}

type handle struct{ m *scripted.Mailbox }

func (harness) Open(t *testing.T, pageSize int) (provider.Provider, providertest.Mailbox) {
	m := scripted.New()
	m.SetPageSize(pageSize)
	m.SetPassword("right")
	return m.Provider("right"), handle{m}
}

func (h handle) Add(t *testing.T, f api.Folder, n int, at time.Time) []string {
	return h.m.Add(f, n, at)
}
func (h handle) Update(t *testing.T, id string) {
	if err := h.m.Update(id); err != nil {
		t.Fatal(err)
	}
}
func (h handle) Delete(t *testing.T, id string) {
	if err := h.m.Delete(id); err != nil {
		t.Fatal(err)
	}
}
func (h handle) InvalidateCursors(t *testing.T) { h.m.InvalidateCursors() }
func (h handle) ChangePassword(t *testing.T)    { h.m.SetPassword("changed") }
func (h handle) ThrottleNext(t *testing.T, d time.Duration) {
	h.m.FailNext(provider.Throttled(d, nil))
}

func TestConformance(t *testing.T) { providertest.Run(t, harness{}) }

// noSecrets is a secret store without any secret: the scripted mailboxes
// in these tests accept any password.
type noSecrets struct{}

func (noSecrets) Get(account, key string) (string, error) { return "", secret.ErrNotFound }
func (noSecrets) Set(account, key, value string) error    { return nil }
func (noSecrets) Delete(account, key string) error        { return nil }
func (noSecrets) DeleteAccount(account string) error      { return nil }

// A script's fail_times limits its failure to the next calls after the
// script changed: a throttle or an outage that passes, for end-to-end
// tests of the real binary.
func TestFileScriptFailTimes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mailbox.json")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c := scripted.NewFileConnector()
	acct := provider.Account{ID: "a", Settings: map[string]string{"mailbox": path}}
	// session opens the mailbox as the engine does before every session
	// and returns the class of its first call's error, or "ok".
	session := func() string {
		t.Helper()
		p, err := c.Open(context.Background(), acct, noSecrets{})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		_, err = p.Changes(context.Background(), api.Inbox, "", provider.Options{})
		if err == nil {
			return "ok"
		}
		return provider.Classify(err).String()
	}

	write(`{"inbox": 2}`)
	if got := session(); got != "ok" {
		t.Fatalf("without failure: %v", got)
	}
	write(`{"inbox": 2, "fail": "throttled", "retry_after": "2s", "fail_times": 2}`)
	for i, want := range []string{"throttled", "throttled", "ok", "ok"} {
		if got := session(); got != want {
			t.Fatalf("session %d after a 2-times throttle: %v, want %v", i+1, got, want)
		}
	}
	// A changed script arms its failures again; without fail_times the
	// failure stays.
	write(`{"inbox": 2, "fail": "offline", "fail_times": 1}`)
	if got := session(); got != "offline" {
		t.Fatalf("after a 1-time outage was scripted: %v", got)
	}
	write(`{"inbox": 2, "fail": "offline"}`)
	for range 3 {
		if got := session(); got != "offline" {
			t.Fatalf("with an outage that stays: %v", got)
		}
	}
	write(`{"inbox": 2}`)
	if got := session(); got != "ok" {
		t.Fatalf("after the outage was lifted: %v", got)
	}
}

// drainAll follows pages from cursor until More is false, calling Changes
// with o, and returns the ids delivered (deletions prefixed "-") and the
// last cursor.
func drainAll(t *testing.T, p provider.Provider, folder api.Folder, cursor string, o provider.Options) (map[string]bool, string) {
	t.Helper()
	got := map[string]bool{}
	for {
		page, err := p.Changes(context.Background(), folder, cursor, o)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Changes {
			if c.Deleted {
				got["-"+c.Item.ProviderID] = true
			} else {
				got[c.Item.ProviderID] = true
			}
		}
		cursor = page.Cursor
		if !page.More {
			return got, cursor
		}
	}
}

// Remove leaves no history: an incremental sync does not report it, and a
// full sync no longer lists the item.
func TestRemoveLeavesNoHistory(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	o := provider.Options{Now: now, Since: now.AddDate(0, 0, -30)}
	m := scripted.New()
	p := m.Provider("")
	ids := m.Add(api.Inbox, 3, now.Add(-time.Hour))
	_, cursor := drainAll(t, p, api.Inbox, "", o)
	if err := m.Remove(ids[1]); err != nil {
		t.Fatal(err)
	}
	if got, _ := drainAll(t, p, api.Inbox, cursor, o); len(got) != 0 {
		t.Fatalf("incremental sync after Remove delivered %v", got)
	}
	if got, _ := drainAll(t, p, api.Inbox, "", o); len(got) != 2 || got[ids[1]] {
		t.Fatalf("full sync after Remove delivered %v", got)
	}
	if m.Count(api.Inbox) != 2 {
		t.Fatalf("Count = %d", m.Count(api.Inbox))
	}
	if err := m.Remove(ids[1]); err == nil {
		t.Fatal("removing a removed item succeeded")
	}
}

// A full pass lists the window of the call that began it, whatever the
// later calls pass (providers ignore Options.Since once they have a
// cursor), and the calendar's window is 14 days back to 60 ahead.
func TestFullPassKeepsItsWindow(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	m := scripted.New()
	m.SetPageSize(2)
	p := m.Provider("")
	early := m.Add(api.Inbox, 3, now.AddDate(0, 0, -20))
	m.Add(api.Inbox, 3, now.Add(-time.Hour))
	page, err := p.Changes(context.Background(), api.Inbox, "", provider.Options{Now: now, Since: now.AddDate(0, 0, -30)})
	if err != nil {
		t.Fatal(err)
	}
	// The rest of the pass, called with a later window.
	got, _ := drainAll(t, p, api.Inbox, page.Cursor, provider.Options{Now: now, Since: now.AddDate(0, 0, -10)})
	for _, c := range page.Changes {
		got[c.Item.ProviderID] = true
	}
	if len(got) != 6 || !got[early[2]] {
		t.Fatalf("full pass delivered %v, want all 6 items", got)
	}

	m.Add(api.Calendar, 1, now.AddDate(0, 0, -15))
	in := m.Add(api.Calendar, 1, now.AddDate(0, 0, -13))
	in = append(in, m.Add(api.Calendar, 1, now.AddDate(0, 0, 59))...)
	m.Add(api.Calendar, 1, now.AddDate(0, 0, 61))
	got, _ = drainAll(t, p, api.Calendar, "", provider.Options{Now: now, Since: now.AddDate(0, 0, -30)})
	if len(got) != 2 || !got[in[0]] || !got[in[1]] {
		t.Fatalf("calendar full pass delivered %v, want %v", got, in)
	}
}

// TestSetMarks: marks set on an item come with the next incremental sync
// as a change of it, subject unchanged, categories cleaned.
func TestSetMarks(t *testing.T) {
	m := scripted.New()
	m.SetPassword("right")
	p := m.Provider("right")
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	o := provider.Options{Now: at.Add(time.Hour)}
	ids := m.Add(api.Inbox, 2, at)
	pg, err := p.Changes(context.Background(), api.Inbox, "", o)
	if err != nil || len(pg.Changes) != 2 || pg.Changes[0].Item.Categories != nil || pg.Changes[0].Item.Sensitivity != "" {
		t.Fatalf("first sync: %+v, %v", pg, err)
	}
	subject := pg.Changes[1].Item.Subject
	if err := m.SetMarks(ids[1], api.SensitivityPrivate, "Private", "Don't\nlog"); err != nil {
		t.Fatal(err)
	}
	pg, err = p.Changes(context.Background(), api.Inbox, pg.Cursor, o)
	if err != nil || len(pg.Changes) != 1 {
		t.Fatalf("after marking: %+v, %v", pg, err)
	}
	it := pg.Changes[0].Item
	if it.ProviderID != ids[1] || it.Subject != subject || it.Sensitivity != api.SensitivityPrivate ||
		len(it.Categories) != 2 || it.Categories[0] != "Private" || it.Categories[1] != "Don't log" {
		t.Fatalf("marked item: %+v", it)
	}
	if err := m.SetMarks("nope", "", "x"); err == nil {
		t.Error("marking an unknown item succeeded")
	}
}
