package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zalando/go-keyring"

	"github.com/inboxsync/inboxsync/sync/api"
)

// TestCLIMailboxMismatch runs the same-mailbox check through the real
// binary: a sign-in that lands in another mailbox than the login typed is
// refused with both addresses and nothing is saved; --accept-mailbox with
// that address connects it; a re-activation that lands in yet another
// mailbox is refused too and the account keeps its mailbox.
func TestCLIMailboxMismatch(t *testing.T) {
	needKeyring(t)
	h := newHome(t)
	h.startAgent()
	script := h.writeScript(`{"inbox": 4, "password": "` + password + `", "email": "bob@example.test"}`)
	add := func(args ...string) (string, string, int) {
		return h.run(password+"\n", append([]string{"account", "add", "scripted", "--account", "mbx", "--mailbox", script, "--password-stdin"}, args...)...)
	}
	accounts := func() []api.Account {
		var a []api.Account
		if err := json.Unmarshal([]byte(h.ok("account", "list", "--json")), &a); err != nil {
			t.Fatal(err)
		}
		return a
	}

	_, errOut, code := add("--login", "ann@example.test")
	if code != 1 {
		t.Fatalf("another mailbox: exit %d, want 1\n%s", code, errOut)
	}
	for _, want := range []string{"bob@example.test", "ann@example.test", "different mailbox than the one you work in", "--accept-mailbox bob@example.test"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("the refusal lacks %q:\n%s", want, errOut)
		}
	}
	if a := accounts(); len(a) != 0 {
		t.Fatalf("accounts after the refusal: %+v", a)
	}
	if _, err := keyring.Get("inboxsync", "mbx/password"); !errors.Is(err, keyring.ErrNotFound) {
		t.Fatalf("the refused account's password is in the keyring (%v)", err)
	}
	if out := h.ok("sessions", "--json"); strings.Contains(out, "mbx") {
		t.Fatalf("a session ran for the refused account: %s", out)
	}

	// Accepting another address than the one the sign-in reached does not
	// help.
	if _, errOut, code := add("--login", "ann@example.test", "--accept-mailbox", "carol@example.test"); code != 1 || !strings.Contains(errOut, "bob@example.test") {
		t.Fatalf("accepting another address: exit %d\n%s", code, errOut)
	}

	out, errOut, code := add("--login", "ann@example.test", "--accept-mailbox", "Bob@Example.test")
	if code != 0 || !strings.Contains(out, "Connected mbx (bob@example.test)") {
		t.Fatalf("--accept-mailbox: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	t.Cleanup(func() { keyring.Delete("inboxsync", "mbx/password") })
	if a := accounts(); len(a) != 1 || a[0].Email != "bob@example.test" {
		t.Fatalf("accounts after --accept-mailbox: %+v", a)
	}
	h.eventually("the first sync", func() bool {
		s := h.status()
		return len(s.Accounts) == 1 && s.Accounts[0].LastSync != nil && s.Accounts[0].LastSync.Outcome == "ok"
	})

	// Re-activation that lands in another mailbox: refused, always, even
	// when the login typed is that mailbox's address.
	h.writeScript(`{"inbox": 4, "password": "` + password + `", "email": "carol@example.test"}`)
	_, errOut, code = add("--login", "carol@example.test")
	if code != 1 || !strings.Contains(errOut, "account mbx syncs bob@example.test") || !strings.Contains(errOut, "carol@example.test") {
		t.Fatalf("re-activation with another mailbox: exit %d\n%s", code, errOut)
	}
	if a := accounts(); len(a) != 1 || a[0].Email != "bob@example.test" {
		t.Fatalf("accounts after the refused re-activation: %+v", a)
	}
	out, errOut, code = add("--accept-mailbox", "carol@example.test")
	if code != 0 || !strings.Contains(out, "Connected mbx (carol@example.test)") {
		t.Fatalf("re-activation accepting carol: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}

	// --help explains it.
	help, errOut, _ := h.run("", "account", "add", "scripted", "--help")
	if !strings.Contains(help+errOut, "-accept-mailbox ADDRESS") || !strings.Contains(help+errOut, "expected one") {
		t.Errorf("account add --help does not explain --accept-mailbox:\n%s%s", help, errOut)
	}
}

// TestCLIMailboxEnforcedByPolicy: the administrator's expected_mailbox,
// with {user} for the OS login name, and enforce_mailbox: another mailbox
// is refused and --accept-mailbox does not help; the expected one
// connects.
func TestCLIMailboxEnforcedByPolicy(t *testing.T) {
	needKeyring(t)
	h := newHome(t)
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	expected := u.Username + "@example.test"
	if err := os.WriteFile(filepath.Join(h.dir, "policy.toml"), []byte("expected_mailbox = \"{user}@example.test\"\nenforce_mailbox = true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.startAgent()
	t.Cleanup(func() { keyring.Delete("inboxsync", "enf/password") })
	script := h.writeScript(`{"inbox": 2, "password": "` + password + `", "email": "bob@example.test"}`)
	add := func(args ...string) (string, string, int) {
		return h.run(password+"\n", append([]string{"account", "add", "scripted", "--account", "enf", "--login", "bob", "--mailbox", script, "--password-stdin"}, args...)...)
	}
	for _, extra := range [][]string{nil, {"--accept-mailbox", "bob@example.test"}} {
		_, errOut, code := add(extra...)
		if code != 1 || !strings.Contains(errOut, "the expected mailbox is "+expected) || !strings.Contains(errOut, "Your administrator allows only "+expected) {
			t.Fatalf("another mailbox (%v): exit %d\n%s", extra, code, errOut)
		}
		if strings.Contains(errOut, "--accept-mailbox bob") {
			t.Errorf("an enforced refusal offers --accept-mailbox:\n%s", errOut)
		}
	}
	h.writeScript(`{"inbox": 2, "password": "` + password + `", "email": "` + expected + `"}`)
	if out, errOut, code := add(); code != 0 || !strings.Contains(out, "Connected enf ("+expected+")") {
		t.Fatalf("the expected mailbox: exit %d\n%s%s", code, out, errOut)
	}
}
