package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `account add PROVIDER --help` shows that provider's flags and no other's.
func TestCLIAccountAddHelpShowsOnlyItsFlags(t *testing.T) {
	h := newHome(t)
	for _, tc := range []struct {
		provider      string
		want, notWant []string
	}{
		{"exchange",
			[]string{"-login", "-email", "-password-stdin", "-ews-url", "-account", "-home DIR", "Autodiscover"},
			[]string{"-client-id", "-tenant", "-authority", "-graph-endpoint", "-no-browser", "-device-code", "-mailbox"}},
		{"office365",
			[]string{"-client-id", "-tenant", "-authority", "-graph-endpoint", "-no-browser", "-device-code", "-login", "-account", "-home DIR", "Microsoft Graph"},
			[]string{"-password-stdin", "-ews-url", "-email", "-mailbox"}},
		{"gmail",
			[]string{"-client-id", "-client-secret", "-no-browser", "-auth-url", "-token-url", "-gmail-endpoint", "-calendar-endpoint", "-account", "-home DIR", "Gmail"},
			[]string{"-login", "-password-stdin", "-ews-url", "-tenant", "-device-code", "-mailbox"}},
		{"scripted",
			[]string{"-mailbox", "-login", "-password-stdin", "test builds only"},
			[]string{"-client-id", "-ews-url", "-no-browser", "-device-code"}},
	} {
		out, errOut, code := h.run("", "account", "add", tc.provider, "--help")
		help := out + errOut
		if code != 0 || !strings.HasPrefix(help, "Usage: inboxsync account add "+tc.provider) {
			t.Errorf("account add %s --help: exit %d:\n%s", tc.provider, code, help)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(help, w) {
				t.Errorf("account add %s --help lacks %q:\n%s", tc.provider, w, help)
			}
		}
		// --accept-mailbox is every provider's: it is not --mailbox.
		others := strings.ReplaceAll(help, "-accept-mailbox", "")
		for _, w := range tc.notWant {
			if strings.Contains(others, w+" ") || strings.Contains(others, w+"\n") {
				t.Errorf("account add %s --help shows another provider's %q:\n%s", tc.provider, w, help)
			}
		}
	}
	// Another provider's flag is refused.
	if _, errOut, code := h.run("", "account", "add", "office365", "--client-id", "abc", "--password-stdin"); code != 2 || !strings.Contains(errOut, "flag provided but not defined: -password-stdin") {
		t.Errorf("account add office365 --password-stdin: exit %d, %q", code, errOut)
	}
	if out, errOut, code := h.run("", "account", "add", "--help"); code != 0 || !strings.Contains(out+errOut, "exchange, office365, gmail") {
		t.Errorf("account add --help: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := h.run("", "account", "add", "imap"); code != 2 || !strings.Contains(errOut, `unknown provider "imap"`) {
		t.Errorf("account add imap: exit %d, %q", code, errOut)
	}
}

// Mistakes in the arguments are reported before the CLI looks for the
// agent: with no agent running, they are what the user reads.
func TestCLIAccountAddChecksArgumentsBeforeTheAgent(t *testing.T) {
	h := newHome(t)
	for _, tc := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"secret\n", []string{"exchange", "--ews-url", "http://x", "--login", "a@b.c", "--password-stdin"}, "the EWS URL must start with https://"},
		{"", []string{"exchange", "--ews-url", "http://x", "--login", "a@b.c", "--password-stdin"}, "the EWS URL must start with https://"},
		{"secret\n", []string{"exchange", "--password-stdin"}, "an Exchange account needs a login"},
		{"", []string{"exchange", "--login", "a@b.c", "--password-stdin"}, "the password on standard input is empty"},
		{"secret\n", []string{"exchange", "--login", `CONTOSO\ann`, "--password-stdin"}, "needs your email address"},
		{"", []string{"office365", "--client-id", "not a client id!"}, `the client ID "not a client id!" does not look like an application (client) ID`},
		{"", []string{"office365"}, "Office 365 needs the client ID"},
		{"", []string{"office365", "--client-id", "11111111-2222-3333-4444-555555555555", "--tenant", "not a tenant!"}, "the tenant must be"},
		{"", []string{"office365", "--client-id", "11111111-2222-3333-4444-555555555555", "--graph-endpoint", "http://graph.example/v1.0"}, "must be an https URL"},
		{"", []string{"gmail"}, "Gmail needs the client ID"},
		{"", []string{"gmail", "--client-id", "1234567890-abc.apps.googleusercontent.com", "--gmail-endpoint", "http://gmail.example/gmail/v1"}, "the Gmail endpoint must be an https URL"},
		{"", []string{"scripted", "--login", "ann"}, "needs --mailbox"},
	} {
		out, errOut, code := h.run(tc.stdin, append([]string{"account", "add"}, tc.args...)...)
		if code != 1 || !strings.Contains(errOut, tc.want) || strings.Contains(errOut, "not running") {
			t.Errorf("account add %s with no agent: exit %d, want 1 and %q first\nstdout: %s\nstderr: %s", strings.Join(tc.args, " "), code, tc.want, out, errOut)
		}
	}
	// Good arguments go on to the agent, which is not running. The
	// client ID may come from the configuration file, as in the agent.
	if err := os.WriteFile(filepath.Join(h.dir, "config.json"), []byte(`{"office365": {"client_id": "11111111-2222-3333-4444-555555555555"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		stdin string
		args  []string
	}{
		{"secret\n", []string{"exchange", "--ews-url", "https://mail.b.c/EWS/Exchange.asmx", "--login", "a@b.c", "--password-stdin"}},
		{"secret\n", []string{"exchange", "--login", "a@b.c", "--password-stdin"}},
		{"", []string{"office365"}},
	} {
		out, errOut, code := h.run(tc.stdin, append([]string{"account", "add"}, tc.args...)...)
		if code != 1 || !strings.Contains(errOut, "not running") {
			t.Errorf("account add %s with no agent: exit %d, want 1 and the agent is not running\nstdout: %s\nstderr: %s", strings.Join(tc.args, " "), code, out, errOut)
		}
	}
}
