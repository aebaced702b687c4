package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/inboxsync/inboxsync/internal/pgtest"
	"github.com/inboxsync/inboxsync/sync/provider/graph/graphtest"
)

// chromium returns the headless browser's path; under the test script
// (INBOXSYNC_REQUIRE_BROWSER=1) a missing one fails the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("INBOXSYNC_REQUIRE_BROWSER") == "1" {
		t.Fatal("no chromium to drive the console with (scripts/deps.sh test installs Debian's chromium)")
	}
	t.Skip("no chromium")
	return ""
}

// selfSigned writes a certificate for 127.0.0.1 and its key (owner-only)
// into dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "inboxsync console test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "console.crt"), filepath.Join(dir, "console.key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}

// TestOrgConsoleInBrowser drives `inboxsync org console` (HTTPS, an
// admins file) in headless Chromium beside a worker: a wrong password,
// the sign-in, the table filtered by state and searched, a mailbox's
// Force sync seen to run, Disable seen to change its state, the CSV
// downloaded. It saves console-*.png into INBOXSYNC_SHOTS.
func TestOrgConsoleInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	chrome := chromium(t)
	db := pgtest.New(t)
	dir := t.TempDir()
	now := time.Now()

	g := graphtest.NewUnstarted()
	g.StartTLS()
	t.Cleanup(g.Close)
	cert, pemFile := graphtest.NewCertificate(t, false)
	const tenant, clientID = "7a1c2f4e-5b6d-4e8f-9a0b-1c2d3e4f5a6b", "3f2e1d0c-9b8a-4f7e-8d6c-5b4a39281706"
	g.RegisterApp(graphtest.AppRegistration{Tenant: tenant, TenantDomain: "contoso.test", ClientID: clientID, Certificates: []*x509.Certificate{cert}})
	certPath := filepath.Join(dir, "app.pem")
	os.WriteFile(certPath, pemFile, 0o600)
	var addrs []string
	for i := range 12 {
		a := fmt.Sprintf("seller%02d@contoso.test", i)
		g.User(a).Add(graphtest.Inbox, 5, now.Add(-time.Hour))
		addrs = append(addrs, a)
	}
	g.User("seller03@contoso.test").Deny(true)
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: g.Certificate().Raw}), 0o600)
	o := &orgEnv{t: t, db: db, dir: dir, env: append(os.Environ(), "SSL_CERT_FILE="+caFile, "INBOXSYNC_DATABASE=")}
	o.ok("init")
	o.ok("credentials", "microsoft", "--tenant", tenant, "--client-id", clientID, "--certificate", certPath,
		"--authority", g.URL, "--graph-endpoint", g.Endpoint())
	o.ok(append([]string{"mailboxes", "add", "--now"}, addrs...)...)
	o.startWorker("w1")
	deadline := time.Now().Add(90 * time.Second)
	for {
		s := o.status()
		done := 0
		for _, m := range s.Mailboxes {
			if m.LastSync != nil || m.State == "error" {
				done++
			}
		}
		if done == len(addrs) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d mailboxes synced or refused after 90 s", done, len(addrs))
		}
		time.Sleep(300 * time.Millisecond)
	}

	// Off this computer: not without HTTPS and admins.
	if _, errOut, code := o.run("console", "--listen", "0.0.0.0:0"); code != 1 || !strings.Contains(errOut, "--tls-cert") {
		t.Errorf("console on 0.0.0.0 without TLS: exit %d %q", code, errOut)
	}
	tlsCert, tlsKey := selfSigned(t, dir)
	if _, errOut, code := o.run("console", "--listen", "0.0.0.0:0", "--tls-cert", tlsCert, "--tls-key", tlsKey); code != 1 || !strings.Contains(errOut, "--admins") {
		t.Errorf("console on 0.0.0.0 without admins: exit %d %q", code, errOut)
	}
	admins := filepath.Join(dir, "admins")
	const password = "a long console password"
	add := exec.Command(binary, "org", "console", "--admins", admins, "--add-admin", "ann")
	add.Stdin = strings.NewReader(password + "\n")
	if out, err := add.CombinedOutput(); err != nil || !strings.Contains(string(out), "Admin ann can sign in") {
		t.Fatalf("--add-admin: %v\n%s", err, out)
	}

	// The console, on a port of its choosing.
	cmd := exec.Command(binary, "org", "console", "--database", db, "--listen", "127.0.0.1:0",
		"--tls-cert", tlsCert, "--tls-key", tlsKey, "--admins", admins)
	cmd.Env = o.env
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var consoleLog bytes.Buffer
	sc := bufio.NewScanner(stderr)
	var base string
	for sc.Scan() {
		if m := regexp.MustCompile(`Console at (https://127\.0\.0\.1:\d+)/`).FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
			break
		}
	}
	if base == "" {
		t.Fatal("the console did not say where it serves")
	}
	logDone := make(chan struct{})
	go func() {
		for sc.Scan() {
			consoleLog.WriteString(sc.Text() + "\n")
		}
		close(logDone)
	}()

	downloads := t.TempDir()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox,
		chromedp.Flag("ignore-certificate-errors", true), chromedp.WindowSize(1280, 900))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	shot := func(name string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			d := os.Getenv("INBOXSYNC_SHOTS")
			if d == "" {
				return nil
			}
			var png []byte
			if err := chromedp.FullScreenshot(&png, 90).Do(ctx); err != nil {
				return err
			}
			os.MkdirAll(d, 0o755)
			return os.WriteFile(filepath.Join(d, name+".png"), png, 0o644)
		})
	}
	run := func(what string, actions ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(ctx, actions...); err != nil {
			t.Fatalf("%s: %v\nconsole log:\n%s", what, err, consoleLog.String())
		}
	}
	var text, url string
	run("open the console", chromedp.Navigate(base+"/"), chromedp.WaitVisible(`input[name=password]`), chromedp.Location(&url))
	if !strings.HasPrefix(url, base+"/signin") {
		t.Fatalf("the console opened %s, not the sign-in page", url)
	}
	run("a wrong password",
		chromedp.SendKeys(`input[name=name]`, "ann"), chromedp.SendKeys(`input[name=password]`, "not it"),
		chromedp.Submit(`input[name=password]`), chromedp.WaitVisible(`.error`), chromedp.Text(`.error`, &text), shot("console-signin-error"))
	if text != "The name or the password is wrong." {
		t.Errorf("wrong password says %q", text)
	}
	run("sign in",
		chromedp.SendKeys(`input[name=name]`, "ann"), chromedp.SendKeys(`input[name=password]`, password),
		chromedp.Submit(`input[name=password]`), chromedp.WaitVisible(`table.mailboxes`), chromedp.Text(`header.top`, &text), shot("console-mailboxes"))
	if !strings.Contains(text, "Signed in as ann") {
		t.Errorf("header after the sign-in: %q", text)
	}
	var rows int
	run("filter by state",
		chromedp.SetValue(`select[name=state]`, "error"), chromedp.Submit(`select[name=state]`),
		chromedp.WaitVisible(`nav.states a.current.state-error`), chromedp.Evaluate(`document.querySelectorAll("table.mailboxes tbody tr").length`, &rows),
		chromedp.Text(`table.mailboxes tbody`, &text), shot("console-filter-error"))
	if rows != 1 || !strings.Contains(text, "seller03@contoso.test") || !strings.Contains(text, "Disabled due to an error") {
		t.Errorf("state=error shows %d rows: %q", rows, text)
	}
	run("search",
		chromedp.SetValue(`select[name=state]`, ""), chromedp.SetValue(`input[name=q]`, ""), chromedp.SendKeys(`input[name=q]`, "seller1"),
		chromedp.Submit(`input[name=q]`), chromedp.WaitVisible(`nav.states a.current.state-all`),
		chromedp.Evaluate(`Array.from(document.querySelectorAll("table.mailboxes tbody tr td:first-child")).map(e => e.textContent).join(",")`, &text))
	if text != "seller10@contoso.test,seller11@contoso.test" {
		t.Errorf("search seller1 shows %q", text)
	}

	// Force sync: the page says it was asked, and a session started by
	// it appears.
	run("open a mailbox", chromedp.Click(`a[href="/mailbox/seller10@contoso.test"]`), chromedp.WaitVisible(`section.summary`))
	g.User("seller10@contoso.test").Add(graphtest.Inbox, 2, time.Now())
	run("force a sync", chromedp.Click(`//button[text()="Force sync"]`), chromedp.WaitVisible(`.flash`), chromedp.Text(`.flash`, &text))
	if !strings.Contains(text, "Sync asked at") {
		t.Errorf("after Force sync the page says %q", text)
	}
	deadline = time.Now().Add(60 * time.Second)
	for {
		run("reload", chromedp.Reload(), chromedp.WaitVisible(`section.summary`), chromedp.Text(`main`, &text))
		if strings.Contains(text, "manual") && strings.Contains(text, "Items\n7") || strings.Contains(text, "Items 7") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the forced sync did not show on the mailbox page within 60 s:\n%s", text)
		}
		time.Sleep(500 * time.Millisecond)
	}
	run("mailbox page", shot("console-mailbox"))
	run("disable", chromedp.Click(`//button[text()="Disable"]`), chromedp.WaitVisible(`.flash`),
		chromedp.Text(`section.summary .badge`, &text), shot("console-mailbox-disabled"))
	if text != "Disabled" {
		t.Errorf("after Disable the badge says %q", text)
	}
	if s := o.status(); func() string {
		for _, m := range s.Mailboxes {
			if m.Address == "seller10@contoso.test" {
				return m.State
			}
		}
		return ""
	}() != "disabled" {
		t.Errorf("org status does not show seller10 disabled")
	}

	// The CSV of the whole table.
	run("download the CSV",
		browser.SetDownloadBehavior(browser.SetDownloadBehaviorBehaviorAllow).WithDownloadPath(downloads),
		chromedp.Navigate(base+"/"), chromedp.WaitVisible(`a.csv`), chromedp.Click(`a.csv`))
	var csvData []byte
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if b, err := os.ReadFile(filepath.Join(downloads, "inboxsync-mailboxes.csv")); err == nil && bytes.Count(b, []byte("\n")) == 13 {
			csvData = b
			break
		}
	}
	if csvData == nil {
		t.Fatalf("no complete inboxsync-mailboxes.csv in the download folder")
	}
	if !bytes.Contains(csvData, []byte("seller10@contoso.test,office365,disabled,")) || !bytes.Contains(csvData, []byte("seller03@contoso.test,office365,error,")) {
		t.Errorf("the CSV:\n%s", csvData)
	}

	// Every action is recorded with who did it; the password is nowhere.
	cmd.Process.Signal(os.Interrupt)
	<-logDone
	cmd.Wait()
	log := consoleLog.String()
	for _, want := range []string{`msg="console: sign-in" admin=ann`, `msg="console: sync" admin=ann mailbox=seller10@contoso.test`,
		`msg="console: disable" admin=ann mailbox=seller10@contoso.test`, `msg="console: csv" admin=ann`} {
		if !strings.Contains(log, want) {
			t.Errorf("the console log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, password) {
		t.Error("the console log holds the admin's password")
	}
	if b, _ := os.ReadFile(admins); bytes.Contains(b, []byte(password)) {
		t.Error("the admins file holds the password")
	}
}
