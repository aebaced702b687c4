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

// The organisation tests' Microsoft 365 app registration.
const orgTenant, orgClientID = "7a1c2f4e-5b6d-4e8f-9a0b-1c2d3e4f5a6b", "3f2e1d0c-9b8a-4f7e-8d6c-5b4a39281706"

// graphApp starts the Graph emulator with the organisation's app
// registered for contoso.test (a certificate credential, written
// owner-only to dir/app.pem) and returns it and the certificate's path.
func graphApp(t *testing.T, dir string) (*graphtest.Server, string) {
	t.Helper()
	g := graphtest.NewUnstarted()
	g.StartTLS()
	t.Cleanup(g.Close)
	cert, pemFile := graphtest.NewCertificate(t, false)
	g.RegisterApp(graphtest.AppRegistration{Tenant: orgTenant, TenantDomain: "contoso.test", ClientID: orgClientID, Certificates: []*x509.Certificate{cert}})
	certPath := filepath.Join(dir, "app.pem")
	if err := os.WriteFile(certPath, pemFile, 0o600); err != nil {
		t.Fatal(err)
	}
	return g, certPath
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

	g, certPath := graphApp(t, dir)
	const tenant, clientID = orgTenant, orgClientID
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
	actx, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.IgnoreCertErrors, chromedp.WindowSize(1280, 900))...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil { // starts the browser (no timeout on this first call)
		t.Fatalf("starting chromium: %v", err)
	}
	ctx, cancel = context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	type (
		css  = chromedp.CSS
		step = chromedp.Action[chromedp.Void]
	)
	do := func(what string, steps ...step) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v\nconsole log:\n%s", what, err, consoleLog.String())
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(css(sel)))
		if err != nil {
			t.Fatalf("the text of %s: %v", sel, err)
		}
		return strings.Join(strings.Fields(s), " ")
	}
	eval := func(expr string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return s
	}
	shot := func(name string) {
		t.Helper()
		d := os.Getenv("INBOXSYNC_SHOTS")
		if d == "" {
			return
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		os.MkdirAll(d, 0o755)
		if err := os.WriteFile(filepath.Join(d, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	do("open the console", chromedp.Navigate(base+"/"), chromedp.WaitVisible(css(`input[name=password]`)))
	if url, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasPrefix(url, base+"/signin") {
		t.Fatalf("the console opened %s, not the sign-in page", url)
	}
	do("a wrong password",
		chromedp.SendKeys(css(`input[name=name]`), "ann"), chromedp.SendKeys(css(`input[name=password]`), "not it"),
		chromedp.Submit(css(`input[name=password]`)), chromedp.WaitVisible(css(`.error`)))
	if got := text(`.error`); got != "The name or the password is wrong." {
		t.Errorf("wrong password says %q", got)
	}
	shot("console-signin-error")
	do("sign in",
		chromedp.SendKeys(css(`input[name=name]`), "ann"), chromedp.SendKeys(css(`input[name=password]`), password),
		chromedp.Submit(css(`input[name=password]`)), chromedp.WaitVisible(css(`table.mailboxes`)))
	if got := text(`header.top`); !strings.Contains(got, "Signed in as ann") {
		t.Errorf("header after the sign-in: %q", got)
	}
	shot("console-mailboxes")
	rowsJS := `Array.from(document.querySelectorAll("table.mailboxes tbody tr td:first-child")).map(e => e.textContent).join(",")`
	do("filter by state",
		chromedp.SetValue(css(`select[name=state]`), "error"), chromedp.Submit(css(`select[name=state]`)),
		chromedp.WaitVisible(css(`nav.states a.current.state-error`)))
	if got, row := eval(rowsJS), text(`table.mailboxes tbody`); got != "seller03@contoso.test" || !strings.Contains(row, "Disabled due to an error") {
		t.Errorf("state=error shows %q: %q", got, row)
	}
	shot("console-filter-error")
	do("search",
		chromedp.SetValue(css(`select[name=state]`), ""), chromedp.SendKeys(css(`input[name=q]`), "seller1"),
		chromedp.Submit(css(`input[name=q]`)), chromedp.WaitVisible(css(`nav.states a.current.state-all`)))
	if got := eval(rowsJS); got != "seller10@contoso.test,seller11@contoso.test" {
		t.Errorf("search seller1 shows %q", got)
	}

	// Force sync: the page says it was asked, and the session it started
	// shows with the new mail.
	do("open a mailbox", chromedp.Click(css(`a[href="/mailbox/seller10@contoso.test"]`)), chromedp.WaitVisible(css(`section.summary`)))
	g.User("seller10@contoso.test").Add(graphtest.Inbox, 2, time.Now())
	do("force a sync", chromedp.Click(css(`form[action$="/sync"] button`)), chromedp.WaitVisible(css(`.flash`)))
	if got := text(`.flash`); !strings.Contains(got, "Sync asked at") {
		t.Errorf("after Force sync the page says %q", got)
	}
	itemsJS := `Array.from(document.querySelectorAll("dt")).find(e => e.textContent == "Items").nextElementSibling.textContent`
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		do("reload", chromedp.Reload(), chromedp.WaitVisible(css(`section.summary`)))
		if eval(itemsJS) == "7" && strings.Contains(text(`main`), "manual") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the forced sync did not show on the mailbox page within 60 s:\n%s", text(`main`))
		}
	}
	shot("console-mailbox")
	do("disable", chromedp.Click(css(`form[action$="/disable"] button`)), chromedp.WaitVisible(css(`.flash`)))
	if got := text(`section.summary .badge`); got != "Disabled" {
		t.Errorf("after Disable the badge says %q", got)
	}
	shot("console-mailbox-disabled")
	state := ""
	for _, m := range o.status().Mailboxes {
		if m.Address == "seller10@contoso.test" {
			state = m.State
		}
	}
	if state != "disabled" {
		t.Errorf("org status shows seller10 %q, want disabled", state)
	}

	// The CSV of the whole table, downloaded by the browser.
	do("download the CSV",
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads})
			return err
		}),
		chromedp.Navigate(base+"/"), chromedp.WaitVisible(css(`a.csv`)), chromedp.Click(css(`a.csv`)))
	var csvData []byte
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if b, err := os.ReadFile(filepath.Join(downloads, "inboxsync-mailboxes.csv")); err == nil && bytes.Count(b, []byte("\n")) == 13 {
			csvData = b
			break
		}
	}
	if csvData == nil {
		names, _ := filepath.Glob(filepath.Join(downloads, "*"))
		t.Fatalf("no complete inboxsync-mailboxes.csv in the download folder: %v", names)
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
