package scripted_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

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

func (h handle) Add(t *testing.T, f provider.Folder, n int, at time.Time) []string {
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
		_, err = p.Changes(context.Background(), provider.Inbox, "", provider.Options{})
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
