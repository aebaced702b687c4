package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/inboxsync/inboxsync/internal/pgtest"
	"github.com/inboxsync/inboxsync/sync/provider/gmail"
	"github.com/inboxsync/inboxsync/sync/provider/gmail/gmailtest"
	"github.com/inboxsync/inboxsync/sync/provider/graph/graphtest"
)

// orgEnv runs `inboxsync org` verbs and workers against one organisation
// database and the two emulators.
type orgEnv struct {
	t   *testing.T
	db  string
	env []string
	dir string
}

// run runs `inboxsync org ARGS… --database DB` and returns its output.
func (o *orgEnv) run(args ...string) (string, string, int) {
	o.t.Helper()
	cmd := exec.Command(binary, append(append([]string{"org"}, args...), "--database", o.db)...)
	cmd.Env = o.env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else if err != nil {
		o.t.Fatalf("running org %v: %v", args, err)
	}
	return out.String(), errOut.String(), code
}

func (o *orgEnv) ok(args ...string) string {
	o.t.Helper()
	out, errOut, code := o.run(args...)
	if code != 0 {
		o.t.Fatalf("inboxsync org %v: exit %d\nstdout: %s\nstderr: %s", args, code, out, errOut)
	}
	return out
}

// orgStatus is `org status --json`.
type orgStatus struct {
	Mailboxes []orgMailboxJSON `json:"mailboxes"`
	Incidents []struct {
		Provider, Reason string
	} `json:"incidents"`
}

func (o *orgEnv) status() orgStatus {
	o.t.Helper()
	var s orgStatus
	if err := json.Unmarshal([]byte(o.ok("status", "--json")), &s); err != nil {
		o.t.Fatalf("status --json: %v", err)
	}
	return s
}

// worker is one `inboxsync org serve` process.
type worker struct {
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
}

func (o *orgEnv) startWorker(name string, extra ...string) *worker {
	o.t.Helper()
	logf, err := os.Create(filepath.Join(o.dir, name+".log"))
	if err != nil {
		o.t.Fatal(err)
	}
	cmd := exec.Command(binary, append([]string{"org", "serve", "--database", o.db, "--interval", "1m",
		"--rescue-after", "10s", "--concurrency", "8"}, extra...)...)
	cmd.Env = o.env
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		o.t.Fatal(err)
	}
	w := &worker{cmd: cmd, log: logf, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		logf.Close()
		close(w.done)
	}()
	o.t.Cleanup(func() {
		cmd.Process.Kill()
		<-w.done
	})
	return w
}

// stop sends sig and waits for the worker to end; it returns how long
// that took.
func (w *worker) stop(t *testing.T, sig syscall.Signal) time.Duration {
	t.Helper()
	began := time.Now()
	w.cmd.Process.Signal(sig)
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("worker %d did not end within 30 s of %v", w.cmd.Process.Pid, sig)
	}
	return time.Since(began)
}

// overlapWatch wraps an emulator's handler and counts, for each Graph
// mailbox, moments at which requests of two different worker processes
// (told apart by their User-Agent) were in flight at once: two sessions of
// one mailbox running together.
type overlapWatch struct {
	mu       sync.Mutex
	inflight map[string]map[string]int // mailbox → worker → requests
	overlaps map[string]int
	workers  map[string]bool
}

var usersPath = regexp.MustCompile(`^/v1\.0/users/([^/]+)/`)

func (ow *overlapWatch) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := usersPath.FindStringSubmatch(r.URL.Path)
		ua := r.Header.Get("User-Agent")
		if m == nil || !strings.Contains(ua, "organisation worker") {
			h.ServeHTTP(w, r)
			return
		}
		box := strings.ToLower(m[1])
		ow.mu.Lock()
		ow.workers[ua] = true
		if ow.inflight[box] == nil {
			ow.inflight[box] = map[string]int{}
		}
		ow.inflight[box][ua]++
		if len(ow.inflight[box]) > 1 {
			ow.overlaps[box]++
		}
		ow.mu.Unlock()
		defer func() {
			ow.mu.Lock()
			if ow.inflight[box][ua]--; ow.inflight[box][ua] == 0 {
				delete(ow.inflight[box], ua)
			}
			ow.mu.Unlock()
		}()
		h.ServeHTTP(w, r)
	})
}

// TestOrgEndToEnd is organisation mode from the real binary: `org init`
// (twice), credentials for a Microsoft 365 app (certificate) and a Google
// service account, 200 mailboxes of both providers from a CSV, two worker
// processes of which one is killed with SIGKILL twice mid-run and the
// other stopped with SIGTERM, then changes, deletions, a revoked user, a
// user gone from the domain and a throttled mailbox. Every mailbox ends
// with its items stored once, `org status` right for each, and no
// mailbox ever synced by two workers at once.
func TestOrgEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("long end-to-end test")
	}
	db := pgtest.New(t)
	dir := t.TempDir()
	now := time.Now()

	// Microsoft: the emulator, wrapped to watch for overlapping runs.
	g := graphtest.NewUnstarted()
	ow := &overlapWatch{inflight: map[string]map[string]int{}, overlaps: map[string]int{}, workers: map[string]bool{}}
	g.Config.Handler = ow.wrap(g.Config.Handler)
	g.StartTLS()
	t.Cleanup(g.Close)
	cert, pemFile := graphtest.NewCertificate(t, false)
	const tenant, clientID = "7a1c2f4e-5b6d-4e8f-9a0b-1c2d3e4f5a6b", "3f2e1d0c-9b8a-4f7e-8d6c-5b4a39281706"
	g.RegisterApp(graphtest.AppRegistration{Tenant: tenant, TenantDomain: "contoso.test", ClientID: clientID, Certificates: []*x509.Certificate{cert}})
	certPath := filepath.Join(dir, "app.pem")
	if err := os.WriteFile(certPath, pemFile, 0o600); err != nil {
		t.Fatal(err)
	}

	// Google: the emulator, a service account with its delegation.
	gm := gmailtest.New(t)
	key := gm.NewServiceAccount(t, "inboxsync")
	gm.AuthorizeDelegation(key.ClientID, gmail.DelegationScopes...)
	keyPath := key.WriteFile(t, dir)

	const perProvider = 100
	var csv strings.Builder
	csv.WriteString("address,provider\n")
	for i := range perProvider {
		a := fmt.Sprintf("m%03d@contoso.test", i)
		u := g.User(a)
		u.Add(graphtest.Inbox, 20, now.Add(-time.Hour))
		u.Add(graphtest.Sent, 5, now.Add(-2*time.Hour))
		u.Add(graphtest.Calendar, 2, now.AddDate(0, 0, 2))
		fmt.Fprintf(&csv, "%s,office365\n", a)
		b := fmt.Sprintf("g%03d@example.test", i)
		gu := gm.AddUser(b)
		gu.Add([]string{"INBOX"}, 20, now.Add(-time.Hour))
		gu.Add([]string{"SENT"}, 5, now.Add(-2*time.Hour))
		gu.AddEvent(2, now.AddDate(0, 0, 2))
		fmt.Fprintf(&csv, "%s,gmail\n", b)
	}
	csvPath := filepath.Join(dir, "people.csv")
	if err := os.WriteFile(csvPath, []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	caFile := filepath.Join(dir, "ca.pem")
	var ca bytes.Buffer
	for _, c := range []*x509.Certificate{g.Certificate(), gm.Certificate()} {
		pem.Encode(&ca, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	if err := os.WriteFile(caFile, ca.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	o := &orgEnv{t: t, db: db, dir: dir, env: append(os.Environ(), "SSL_CERT_FILE="+caFile, "INBOXSYNC_DATABASE=")}

	// Before init every verb says what to do.
	if _, errOut, code := o.run("status"); code != 1 || !strings.Contains(errOut, "inboxsync org init") {
		t.Fatalf("status before init: exit %d %q", code, errOut)
	}
	if out := o.ok("init"); !strings.Contains(out, "set up") {
		t.Fatalf("init: %q", out)
	}
	if out := o.ok("init"); !strings.Contains(out, "up to date") {
		t.Fatalf("second init: %q", out)
	}

	// Credentials: a key others can read is refused; the stored config
	// names files, never their content.
	loose := filepath.Join(dir, "loose.pem")
	os.WriteFile(loose, pemFile, 0o644)
	if _, errOut, code := o.run("credentials", "microsoft", "--tenant", tenant, "--client-id", clientID, "--certificate", loose,
		"--authority", g.URL, "--graph-endpoint", g.Endpoint()); code != 1 || !strings.Contains(errOut, "chmod 600") {
		t.Fatalf("a world-readable key: exit %d %q", code, errOut)
	}
	o.ok("credentials", "microsoft", "--tenant", tenant, "--client-id", clientID, "--certificate", certPath,
		"--authority", g.URL, "--graph-endpoint", g.Endpoint())
	o.ok("credentials", "google", "--service-account", keyPath, "--token-url", gm.TokenURL(),
		"--gmail-endpoint", gm.GmailEndpoint(), "--calendar-endpoint", gm.CalendarEndpoint(), "--check-user", "g000@example.test")
	if out := o.ok("credentials", "show"); !strings.Contains(out, certPath) || !strings.Contains(out, keyPath) {
		t.Fatalf("credentials show: %q", out)
	}

	if out := o.ok("mailboxes", "add", "--csv", csvPath, "--now"); !strings.Contains(out, "Added 200 mailboxes") {
		t.Fatalf("mailboxes add: %q", out)
	}
	if out := o.ok("mailboxes", "add", "--csv", csvPath); !strings.Contains(out, "Added 0 mailboxes (200 were there already)") {
		t.Fatalf("mailboxes add again: %q", out)
	}
	if s := o.status(); len(s.Mailboxes) != 200 || s.Mailboxes[0].State != "enabled" || s.Mailboxes[0].LastSync != nil {
		t.Fatalf("status before any worker: %d mailboxes, %+v", len(s.Mailboxes), s.Mailboxes[0])
	}

	// Slow servers, so that runs are under way when workers die.
	g.SetDelay(100 * time.Millisecond)
	gm.SetDelay(100 * time.Millisecond)
	dbConn, err := pgx.Connect(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer dbConn.Close(context.Background())
	// running waits until sessions are under way, so that a kill cuts
	// one short.
	running := func() {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			var n int
			if err := dbConn.QueryRow(context.Background(), `SELECT count(*) FROM sessions WHERE outcome = 'running'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n >= 2 {
				return
			}
		}
		t.Fatal("no sessions under way within 30 s")
	}
	w1 := o.startWorker("w1")
	w2 := o.startWorker("w2")
	synced := func() (n int, s orgStatus) {
		s = o.status()
		for _, m := range s.Mailboxes {
			if m.LastSync != nil && m.Items == 27 {
				n++
			}
		}
		return n, s
	}
	waitSynced := func(what string, want int, limit time.Duration) {
		t.Helper()
		deadline := time.Now().Add(limit)
		for {
			n, _ := synced()
			if n >= want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d of %d mailboxes synced after %s", what, n, want, limit)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	waitSynced("first syncs begin", 20, 90*time.Second)
	// SIGTERM while both workers are busy: its sessions stop at a page
	// and go on elsewhere, within 10 seconds.
	if d := w2.stop(t, syscall.SIGTERM); d > 10*time.Second {
		t.Errorf("a SIGTERM'd worker took %s to end", d)
	}
	o.startWorker("w2b")
	waitSynced("after the stop", 50, 90*time.Second)
	running()
	w1.stop(t, syscall.SIGKILL)
	w1 = o.startWorker("w1b")
	waitSynced("after the first kill", 90, 90*time.Second)
	running()
	w1.stop(t, syscall.SIGKILL)
	o.startWorker("w1c")
	waitSynced("after the second kill", 130, 90*time.Second)
	g.SetDelay(0)
	gm.SetDelay(0)
	waitSynced("every mailbox", 200, 3*time.Minute)

	// Exactly once: every mailbox holds its 27 items, no more.
	_, s := synced()
	for _, m := range s.Mailboxes {
		if m.Items != 27 || m.State != "enabled" {
			t.Errorf("%s: %d items, %s %q", m.Address, m.Items, m.State, m.Reason)
		}
	}
	if out := o.ok("sessions", "m000@contoso.test", "--json"); !strings.Contains(out, `"outcome": "ok"`) {
		t.Errorf("sessions: %s", out)
	}

	// Changes, deletions, a revoked user, one gone from the domain, a
	// throttled mailbox.
	chg := g.User("m001@contoso.test")
	ids := chg.Add(graphtest.Inbox, 2, time.Now())
	chg.Delete(ids[0])
	gchg := gm.User("g001@example.test")
	gids := gchg.Add([]string{"INBOX"}, 2, time.Now())
	gchg.Delete(gids[0])
	g.User("m002@contoso.test").Deny(true)
	gm.RemoveUser("g002@example.test")
	g.User("m003@contoso.test").ThrottleNext(http.StatusTooManyRequests, 2*time.Second)
	out, errOut, code := o.run("sync", "m001@contoso.test", "g001@example.test", "m002@contoso.test", "g002@example.test", "m003@contoso.test", "--wait", "--timeout", "2m")
	if code != 1 {
		t.Errorf("sync --wait with two refused mailboxes: exit %d", code)
	}
	for _, want := range []string{
		"m001@contoso.test: synced (28 items)", "g001@example.test: synced (28 items)", "m003@contoso.test: synced (27 items)",
		"m002@contoso.test: not synced:", "g002@example.test: not synced:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("sync --wait printed\n%s\n(stderr %s)\nwithout %q", out, errOut, want)
		}
	}
	if _, errOut, code := o.run("sync", "m001@contoso.test"); code != 1 || !strings.Contains(errOut, "less than a minute ago") {
		t.Errorf("a second forced sync within a minute: exit %d %q", code, errOut)
	}
	s = o.status()
	byAddr := map[string]orgMailboxJSON{}
	for _, m := range s.Mailboxes {
		byAddr[m.Address] = m
	}
	for _, a := range []string{"m002@contoso.test", "g002@example.test"} {
		if m := byAddr[a]; m.State != "error" || m.Reason == "" || m.NextSync != nil {
			t.Errorf("%s after its access went: %+v", a, m)
		}
	}
	if len(s.Incidents) != 0 {
		t.Errorf("incidents: %+v", s.Incidents)
	}
	if out := o.ok("status", "--state", "error"); strings.Count(out, "Disabled due to an error") != 2 || !strings.Contains(out, "2 mailboxes: 0 enabled") {
		t.Errorf("status --state error:\n%s", out)
	}
	csvOut := o.ok("status", "--csv")
	if lines := strings.Count(csvOut, "\n"); lines != 201 || !strings.HasPrefix(csvOut, "address,provider,state,reason,last_sync,next_sync,items") {
		t.Errorf("status --csv: %d lines, starts %q", lines, csvOut[:min(80, len(csvOut))])
	}

	// The admin fixes the access and enables the mailbox again.
	g.User("m002@contoso.test").Deny(false)
	if out := o.ok("mailboxes", "enable", "m002@contoso.test"); !strings.Contains(out, "Enabled 1 mailboxes") {
		t.Errorf("enable: %q", out)
	}
	// Enabling schedules it at once (a forced sync would be refused:
	// one was asked less than a minute ago).
	enabled := time.Now()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(300 * time.Millisecond) {
		var one orgStatus
		if err := json.Unmarshal([]byte(o.ok("status", "m002@contoso.test", "--json")), &one); err != nil || len(one.Mailboxes) != 1 {
			t.Fatalf("status of one mailbox: %v %+v", err, one)
		}
		m := one.Mailboxes[0]
		if m.State == "enabled" && m.LastSync != nil && m.LastSync.After(enabled) && m.Rejections == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("m002 after enabling: %+v", m)
		}
	}

	// Import a group's members; disable and remove mailboxes.
	g.SetGroup("0e2f5a7c-sales", graphtest.Member{Type: "user", ID: "u-new", Mail: "new1@contoso.test", UPN: "new1@contoso.test"},
		graphtest.Member{Type: "user", ID: "u-m000", Mail: "m000@contoso.test", UPN: "m000@contoso.test"},
		graphtest.Member{Type: "device", ID: "d-1"})
	if out := o.ok("mailboxes", "import", "--group", "0e2f5a7c-sales"); !strings.Contains(out, "2 members with a mailbox: added 1 (1 were there already)") {
		t.Errorf("import --group: %q", out)
	}
	if out := o.ok("mailboxes", "disable", "m005@contoso.test", "m006@contoso.test"); !strings.Contains(out, "Disabled 2 mailboxes") {
		t.Errorf("disable: %q", out)
	}
	if _, errOut, code := o.run("mailboxes", "remove", "new1@contoso.test", "nobody@contoso.test"); code != 1 || !strings.Contains(errOut, "not organisation mailboxes: nobody@contoso.test") {
		t.Errorf("remove with an unknown address: exit %d %q", code, errOut)
	}
	if out := o.ok("status", "--state", "disabled"); strings.Count(out, "Disabled ") != 2 || !strings.Contains(out, "m005@contoso.test") {
		t.Errorf("status --state disabled:\n%s", out)
	}
	if s := o.status(); len(s.Mailboxes) != 200 {
		t.Errorf("%d mailboxes after import and removal, want 200", len(s.Mailboxes))
	}

	// The kills and the stop hit sessions under way: the killed ones were
	// marked interrupted when their mailbox went on, the stopped ones
	// handed back at a page boundary.
	conn, err := pgx.Connect(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var interrupted, stopped int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE outcome = 'interrupted'),
		count(*) FILTER (WHERE outcome = 'stopped') FROM sessions`).Scan(&interrupted, &stopped); err != nil {
		t.Fatal(err)
	}
	t.Logf("sessions interrupted by the kills: %d, stopped by SIGTERM: %d", interrupted, stopped)
	if interrupted == 0 {
		t.Error("no session was cut short by the kills: the test did not kill a worker mid-run")
	}
	if stopped == 0 {
		t.Error("no session was stopped by the SIGTERM: the worker was idle")
	}

	// No mailbox was ever synced by two workers at once.
	ow.mu.Lock()
	defer ow.mu.Unlock()
	if len(ow.workers) < 2 {
		t.Errorf("Graph requests came from %d worker processes: the watch proves nothing", len(ow.workers))
	}
	t.Logf("Graph requests from %d worker processes, none for a mailbox while another's were in flight", len(ow.workers))
	for box, n := range ow.overlaps {
		t.Errorf("%s: %d requests while another worker's were in flight", box, n)
	}
	// Nothing secret in what the workers logged.
	for _, name := range []string{"w1", "w1b", "w1c", "w2", "w2b"} {
		b, _ := os.ReadFile(filepath.Join(dir, name+".log"))
		if bytes.Contains(b, []byte("PRIVATE KEY")) || bytes.Contains(b, []byte("eyJ")) {
			t.Errorf("%s.log holds a key or a token", name)
		}
	}
}

// TestOverlapWatchSeesTwoWorkers shows that the watch of TestOrgEndToEnd
// can fail: two workers' requests for one mailbox in flight together are
// counted, one worker's are not, nor are two mailboxes'.
func TestOverlapWatchSeesTwoWorkers(t *testing.T) {
	ow := &overlapWatch{inflight: map[string]map[string]int{}, overlaps: map[string]int{}, workers: map[string]bool{}}
	release := make(chan struct{})
	arrived := make(chan struct{}, 8)
	h := ow.wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		arrived <- struct{}{}
		<-release
	}))
	var wg sync.WaitGroup
	send := func(path, worker string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, _ := http.NewRequest("GET", "https://graph.test"+path, nil)
			r.Header.Set("User-Agent", "InboxSync/1 (organisation worker "+worker+")")
			h.ServeHTTP(nil, r)
		}()
		<-arrived
	}
	send("/v1.0/users/a@x.test/mailFolders/inbox/messages/delta", "h/1")
	send("/v1.0/users/a@x.test/calendarView/delta", "h/1")
	send("/v1.0/users/b@x.test/calendarView/delta", "h/2")
	ow.mu.Lock()
	if len(ow.overlaps) != 0 {
		t.Fatalf("overlaps without two workers on one mailbox: %v", ow.overlaps)
	}
	ow.mu.Unlock()
	send("/v1.0/users/A@x.test/calendarView/delta", "h/2")
	close(release)
	wg.Wait()
	if ow.overlaps["a@x.test"] != 1 || len(ow.overlaps) != 1 {
		t.Fatalf("overlaps %v, want one for a@x.test", ow.overlaps)
	}
}
