package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/policy"
)

// agent is a Server on a real socket, serving a fake.
type agent struct {
	path   string
	srv    *Server
	cancel context.CancelFunc
	done   chan error
}

// socketPath returns a socket path short enough for sun_path, in a
// directory the test removes.
func socketPath(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "isc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "run", "agent.sock")
}

// startAgent serves f until the test ends.
func startAgent(t *testing.T, f api.Control, tune ...func(*Server)) *agent {
	t.Helper()
	path := socketPath(t)
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(f, slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})))
	for _, fn := range tune {
		fn(srv)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &agent{path: path, srv: srv, cancel: cancel, done: make(chan error, 1)}
	go func() { a.done <- srv.Serve(ctx, l) }()
	t.Cleanup(func() { a.stop(t) })
	return a
}

// stop stops the server and waits for Serve to return.
func (a *agent) stop(t *testing.T) {
	t.Helper()
	a.cancel()
	select {
	case err, ok := <-a.done:
		if ok && err != nil {
			t.Errorf("Serve: %v", err)
		}
		if ok {
			close(a.done)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its ctx was cancelled")
	}
}

func dial(t *testing.T, path string) *Client {
	t.Helper()
	c, err := Dial(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// rawCall sends one raw request line and returns the response lines
// until the connection closes.
func rawCall(t *testing.T, path, line string) []string {
	t.Helper()
	conn, err := dialAgent(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	var out []string
	if _, err := conn.Write([]byte(line)); err != nil {
		t.Logf("rawCall: %v", err) // the server hung up before reading it all
	}
	sc := bufio.NewScanner(conn)
	sc.Buffer(nil, maxFrame)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

var (
	t0       = time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.UTC)
	tSession = api.Session{
		ID: 42, Account: "work", Trigger: "manual", Start: t0, End: t0.Add(90 * time.Second),
		Outcome: "ok", Counts: api.Counts{Added: 3, Updated: 2, Removed: 1},
	}
	tAccount = api.Account{
		ID: "work", Provider: "exchange", Login: `CORP\jdoe`, Email: "jdoe@example.com",
		Settings: map[string]string{"ews_url": "https://mail.example.com/EWS/Exchange.asmx"}, CreatedAt: t0,
	}
	tStatus = api.Status{
		Paused: true, PausedUntil: t0.Add(time.Hour), Interval: api.Duration(30 * time.Minute), Source: "agent",
		Accounts: []api.AccountStatus{
			{
				Account: "work", Provider: "exchange", Email: "jdoe@example.com", State: api.Syncing,
				Words: api.Syncing.Words(), Since: t0, NextSync: t0.Add(30 * time.Minute), LastSync: &tSession,
				Progress: &api.Progress{Folder: api.Sent, Pages: 4, Counts: api.Counts{Added: 7}},
			},
			{
				Account: "home", Provider: "gmail", State: api.NeedsReactivation, Words: api.NeedsReactivation.Words(),
				Reason: "Google no longer accepts the sign-in", Rejections: 3, Failures: 1, Paused: true, PausedUntil: t0,
			},
		},
	}
	tSettings = api.Settings{
		Interval: api.Duration(45 * time.Minute), HistoryDays: 7,
		Folders: []api.Folder{api.Inbox, api.Calendar}, Notifications: true,
	}
	tItem = api.StoredItem{
		Item: api.Item{
			ProviderID: "AAMk=", Folder: api.Calendar, Kind: api.KindEvent, MessageID: "<a@b>", Subject: "Standup «daily»",
			From: "boss@example.com", To: []string{"a@example.com", "b@example.com"}, Time: t0, Start: t0, End: t0.Add(15 * time.Minute),
			Location: "Room 1", Organizer: "boss@example.com", Attendees: []string{"a@example.com"},
		},
		Account: "work", Deleted: true, FirstSeen: t0, UpdatedAt: t0.Add(time.Minute),
	}
	tIssue = api.Issue{
		ID: 9, Account: "work", Time: t0,
		ItemIssue: api.ItemIssue{ProviderID: "AAMk=", Folder: api.Inbox, Message: "could not convert the item"},
	}
)

// TestRoundTrip calls every method through Server and Client and checks
// that arguments and results arrive intact.
func TestRoundTrip(t *testing.T) {
	var (
		mu  sync.Mutex
		got = map[string]any{}
	)
	record := func(k string, v any) {
		mu.Lock()
		defer mu.Unlock()
		got[k] = v
	}
	f := &fake{
		status: func(context.Context) (api.Status, error) { return tStatus, nil },
		pause: func(_ context.Context, req api.PauseRequest) error {
			record("pause", req)
			return nil
		},
		resume: func(_ context.Context, account string) error {
			record("resume", account)
			return nil
		},
		syncNow: func(_ context.Context, account string) error {
			record("sync", account)
			return nil
		},
		accounts: func(context.Context) ([]api.Account, error) {
			return []api.Account{tAccount, {ID: "home", Provider: "gmail", Disabled: true, CreatedAt: t0}}, nil
		},
		removeAccount: func(_ context.Context, account string, purge bool) error {
			record("remove", fmt.Sprintf("%s %v", account, purge))
			return nil
		},
		sessions: func(_ context.Context, q api.SessionQuery) ([]api.Session, error) {
			record("sessions", q)
			return []api.Session{tSession, {ID: 43, Account: "work", Trigger: "schedule", Start: t0, Outcome: "running"}}, nil
		},
		activity: func(_ context.Context, q api.ActivityQuery) (api.ActivityPage, error) {
			record("activity", q)
			return api.ActivityPage{Items: []api.StoredItem{tItem}, Offset: q.Offset, Total: 1000, TotalCapped: true}, nil
		},
		items: func(_ context.Context, q api.ItemsQuery) (api.ItemsPage, error) {
			record("items", q)
			return api.ItemsPage{Items: []api.StoredItem{tItem}, Next: 77}, nil
		},
		issues: func(_ context.Context, account string, limit int) ([]api.Issue, error) {
			record("issues", fmt.Sprintf("%s %d", account, limit))
			return []api.Issue{tIssue}, nil
		},
		settings: func(context.Context) (api.Settings, error) { return tSettings, nil },
		updateSettings: func(_ context.Context, s api.Settings) (api.Settings, error) {
			record("update", s)
			s.HistoryDays++
			return s, nil
		},
		activate: func(_ context.Context, req api.ActivationRequest, _ func(api.ActivationProgress)) (api.Account, error) {
			record("activate", req)
			return tAccount, nil
		},
		openWindow: func(_ context.Context, req api.WindowRequest) error {
			record("window", req)
			return nil
		},
	}
	a := startAgent(t, f)
	c := dial(t, a.path)
	ctx := context.Background()

	check := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %#v\nwant %#v", what, got, want)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	st, err := c.Status(ctx)
	must(err)
	check("Status", st, tStatus)

	must(c.Pause(ctx, api.PauseRequest{Account: "work", For: api.Duration(2 * time.Hour)}))
	check("Pause", got["pause"], api.PauseRequest{Account: "work", For: api.Duration(2 * time.Hour)})
	must(c.Pause(ctx, api.PauseRequest{}))
	check("Pause all", got["pause"], api.PauseRequest{})
	must(c.Resume(ctx, "work"))
	check("Resume", got["resume"], "work")
	must(c.Resume(ctx, ""))
	check("Resume all", got["resume"], "")
	must(c.SyncNow(ctx, "home"))
	check("SyncNow", got["sync"], "home")

	accts, err := c.Accounts(ctx)
	must(err)
	check("Accounts", accts, []api.Account{tAccount, {ID: "home", Provider: "gmail", Disabled: true, CreatedAt: t0}})

	must(c.RemoveAccount(ctx, "home", true))
	check("RemoveAccount", got["remove"], "home true")

	sess, err := c.Sessions(ctx, api.SessionQuery{Account: "work", Limit: 5})
	must(err)
	check("Sessions query", got["sessions"], api.SessionQuery{Account: "work", Limit: 5})
	check("Sessions", sess, []api.Session{tSession, {ID: 43, Account: "work", Trigger: "schedule", Start: t0, Outcome: "running"}})

	aq := api.ActivityQuery{Account: "work", Since: t0, Limit: 10, Offset: 20, Search: "stand", IncludeDeleted: true}
	items, err := c.Activity(ctx, aq)
	must(err)
	check("Activity query", got["activity"], aq)
	check("Activity", items, api.ActivityPage{Items: []api.StoredItem{tItem}, Offset: 20, Total: 1000, TotalCapped: true})
	iq := api.ItemsQuery{Account: "work", Since: t0, Until: t0.Add(time.Hour), Folders: []api.Folder{api.Calendar}, Kind: api.KindEvent, After: 12, Limit: 500}
	ipage, err := c.Items(ctx, iq)
	if err != nil {
		t.Fatal(err)
	}
	check("Items query", got["items"], iq)
	check("Items", ipage, api.ItemsPage{Items: []api.StoredItem{tItem}, Next: 77})

	iss, err := c.Issues(ctx, "work", 3)
	must(err)
	check("Issues args", got["issues"], "work 3")
	check("Issues", iss, []api.Issue{tIssue})

	s, err := c.Settings(ctx)
	must(err)
	check("Settings", s, tSettings)
	s2, err := c.UpdateSettings(ctx, tSettings)
	must(err)
	check("UpdateSettings arg", got["update"], tSettings)
	want := tSettings
	want.HistoryDays++
	check("UpdateSettings", s2, want)

	areq := api.ActivationRequest{
		Provider: "exchange", Account: "work", Login: `CORP\jdoe`, Email: "jdoe@example.com",
		Settings: map[string]string{"ews_url": "https://mail.example.com/EWS/Exchange.asmx"}, Password: "pa\"ss\nwörd", NoBrowser: true,
	}
	acct, err := c.Activate(ctx, areq, nil)
	must(err)
	check("Activate request", got["activate"], areq)
	check("Activate", acct, tAccount)

	wreq := api.WindowRequest{Window: "activate", Account: "home", Reason: "needs re-activation"}
	must(c.OpenWindow(ctx, wreq))
	check("OpenWindow", got["window"], wreq)
}

// TestWireFormat pins what the wire looks like: state names, durations
// as text, times as RFC 3339.
func TestWireFormat(t *testing.T) {
	f := &fake{status: func(context.Context) (api.Status, error) { return tStatus, nil }}
	a := startAgent(t, f)
	lines := rawCall(t, a.path, `{"method":"status"}`+"\n")
	if len(lines) != 1 {
		t.Fatalf("got %d lines, want 1: %q", len(lines), lines)
	}
	for _, want := range []string{
		`{"result":{"paused":true`,
		`"interval":"30m0s"`,
		`"state":"syncing"`,
		`"state":"needs-reactivation"`,
		`"since":"2025-03-14T09:26:53.589793238Z"`,
	} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("frame lacks %s:\n%s", want, lines[0])
		}
	}
	if got := rawCall(t, a.path, `{"method":"ping"}`+"\n"); len(got) != 1 || got[0] != `{"result":"pong"}` {
		t.Errorf("ping: %q", got)
	}

	// A script may send its request and half-close: unary requests are
	// still answered.
	conn, err := dialAgent(context.Background(), a.path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	conn.Write([]byte(`{"method":"status"}` + "\n"))
	if cw, ok := conn.(interface{ CloseWrite() error }); ok { // not a Windows pipe in byte mode
		cw.CloseWrite()
	}
	b, err := io.ReadAll(conn)
	if err != nil || !strings.HasPrefix(string(b), `{"result":{"paused":true`) {
		t.Errorf("after a half-close: %q, %v", b, err)
	}
}

// TestErrors checks that errors keep their sentinel, their text and a
// TooSoonError's Wait across the socket.
func TestErrors(t *testing.T) {
	var mu sync.Mutex
	var nextErr error
	next := struct {
		Load  func() any
		Store func(error)
	}{
		Load: func() any {
			mu.Lock()
			defer mu.Unlock()
			return nextErr
		},
		Store: func(err error) {
			mu.Lock()
			defer mu.Unlock()
			nextErr = err
		},
	}
	f := &fake{
		syncNow: func(context.Context, string) error { return next.Load().(error) },
		activate: func(context.Context, api.ActivationRequest, func(api.ActivationProgress)) (api.Account, error) {
			return api.Account{}, next.Load().(error)
		},
		subscribe: func(context.Context) (<-chan api.Event, error) { return nil, next.Load().(error) },
	}
	a := startAgent(t, f)
	c := dial(t, a.path)
	ctx := context.Background()

	sentinels := []error{api.ErrUnknownAccount, api.ErrInvalid, api.ErrUnsupported, api.ErrTooSoon, api.ErrNotRunning, context.Canceled, api.ErrMailboxMismatch, api.ErrLocked}
	cases := []struct {
		err  error
		is   error // nil: none of sentinels
		wait time.Duration
	}{
		{api.ErrUnknownAccount, api.ErrUnknownAccount, 0},
		{fmt.Errorf("account %q: %w", "nope", api.ErrUnknownAccount), api.ErrUnknownAccount, 0},
		{fmt.Errorf("%w: the interval must be at least 5 minutes", api.ErrInvalid), api.ErrInvalid, 0},
		{fmt.Errorf("the scripted provider is %w", api.ErrUnsupported), api.ErrUnsupported, 0},
		{&api.TooSoonError{Wait: 40 * time.Second}, api.ErrTooSoon, 40 * time.Second},
		{fmt.Errorf("work: %w", &api.TooSoonError{Wait: 1500 * time.Millisecond}), api.ErrTooSoon, 1500 * time.Millisecond},
		{api.ErrTooSoon, api.ErrTooSoon, 0},
		{api.ErrNotRunning, api.ErrNotRunning, 0},
		{&api.MailboxMismatchError{Expected: "ann@contoso.com", Got: "bob@contoso.com"}, api.ErrMailboxMismatch, 0},
		{api.ErrMailboxMismatch, api.ErrMailboxMismatch, 0},
		{fmt.Errorf("%w: The sync interval is set by your administrator", api.ErrLocked), api.ErrLocked, 0},
		{errors.New("the disk is full"), nil, 0},
	}
	calls := map[string]func() error{
		"SyncNow": func() error { return c.SyncNow(ctx, "work") },
		"Activate": func() error {
			_, err := c.Activate(ctx, api.ActivationRequest{Provider: "gmail"}, nil)
			return err
		},
		"Subscribe": func() error {
			_, err := c.Subscribe(ctx)
			return err
		},
	}
	for name, call := range calls {
		for _, tc := range cases {
			next.Store(tc.err)
			err := call()
			if err == nil {
				t.Fatalf("%s(%v): no error", name, tc.err)
			}
			if err.Error() != tc.err.Error() {
				t.Errorf("%s: message %q, want %q", name, err.Error(), tc.err.Error())
			}
			for _, s := range sentinels {
				if errors.Is(err, s) != (s == tc.is) {
					t.Errorf("%s(%v): errors.Is(%v) = %v", name, tc.err, s, errors.Is(err, s))
				}
			}
			var ts *api.TooSoonError
			if errors.As(err, &ts) != (tc.wait > 0) {
				t.Errorf("%s(%v): errors.As TooSoonError = %v", name, tc.err, errors.As(err, &ts))
			} else if tc.wait > 0 && ts.Wait != tc.wait {
				t.Errorf("%s(%v): Wait = %v, want %v", name, tc.err, ts.Wait, tc.wait)
			}
			var re *RemoteError
			if !errors.As(err, &re) {
				t.Errorf("%s(%v): not a *RemoteError: %T", name, tc.err, err)
			}
		}
	}

	// The wire form of a too-soon error.
	next.Store(&api.TooSoonError{Wait: 40 * time.Second})
	lines := rawCall(t, a.path, `{"method":"sync","params":{"account":"work"}}`+"\n")
	want := `{"error":{"code":"too-soon","message":"a sync ran less than a minute ago; try again in 40 seconds","wait":"40s"}}`
	if len(lines) != 1 || lines[0] != want {
		t.Errorf("too-soon on the wire: %q\nwant %q", lines, want)
	}
}

// TestMailboxMismatchAcrossTheSocket checks that a mailbox mismatch comes
// back as an *engine.MailboxMismatchError with both addresses, the account
// and the enforcement, under code "mailbox-mismatch", and that the
// request's AcceptMailbox and ExpectedMailbox reach the agent.
func TestPolicyAndTestNoticeAcrossTheSocket(t *testing.T) {
	want := policy.Parse("sync_interval = \"15m\"\nlocked = [\"sync_interval\"]\ncolour = 1\n")
	want.Path, want.Found = "/etc/inboxsync/policy.toml", true
	f := &fake{
		policy: func(context.Context) (api.Policy, error) { return want, nil },
		testNotice: func(context.Context) ([]api.NoticeDelivery, error) {
			return []api.NoticeDelivery{{To: "it@contoso.com"}, {To: "jdoe@contoso.com", Error: "the mail relay refused the recipient"}}, nil
		},
	}
	a := startAgent(t, f)
	c := dial(t, a.path)
	got, err := c.Policy(context.Background())
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Policy = %+v, %v; want %+v", got, err, want)
	}
	d, err := c.TestNotice(context.Background())
	if err != nil || len(d) != 2 || d[1].Error == "" || d[0].To != "it@contoso.com" {
		t.Fatalf("TestNotice = %+v, %v", d, err)
	}
}

func TestMailboxMismatchAcrossTheSocket(t *testing.T) {
	var mu sync.Mutex
	var got api.ActivationRequest
	f := &fake{
		activate: func(_ context.Context, req api.ActivationRequest, _ func(api.ActivationProgress)) (api.Account, error) {
			mu.Lock()
			got = req
			mu.Unlock()
			return api.Account{}, fmt.Errorf("activation: %w", &api.MailboxMismatchError{Expected: "ann@contoso.com", Got: "Bob@Contoso.com", Account: "work", Enforced: true})
		},
	}
	a := startAgent(t, f)
	c := dial(t, a.path)
	_, err := c.Activate(context.Background(), api.ActivationRequest{Provider: "gmail", AcceptMailbox: "bob@contoso.com", ExpectedMailbox: "ann@contoso.com"}, nil)
	var mm *api.MailboxMismatchError
	if !errors.As(err, &mm) || !errors.Is(err, api.ErrMailboxMismatch) {
		t.Fatalf("error %T %v, want a MailboxMismatchError", err, err)
	}
	want := api.MailboxMismatchError{Expected: "ann@contoso.com", Got: "Bob@Contoso.com", Account: "work", Enforced: true}
	if *mm != want {
		t.Errorf("mismatch %+v, want %+v", *mm, want)
	}
	var re *RemoteError
	if !errors.As(err, &re) || re.Code != CodeMailboxMismatch || !strings.Contains(err.Error(), "ann@contoso.com") || !strings.Contains(err.Error(), "Bob@Contoso.com") {
		t.Errorf("remote error %#v", re)
	}
	mu.Lock()
	if got.AcceptMailbox != "bob@contoso.com" || got.ExpectedMailbox != "ann@contoso.com" {
		t.Errorf("request reached the agent as %+v", got)
	}
	mu.Unlock()

	lines := rawCall(t, a.path, `{"method":"activate","params":{"provider":"gmail"}}`+"\n")
	if len(lines) != 1 || !strings.Contains(lines[0], `"code":"mailbox-mismatch"`) || !strings.Contains(lines[0], `"mailbox":{"expected":"ann@contoso.com","got":"Bob@Contoso.com","account":"work","enforced":true}`) {
		t.Errorf("mailbox-mismatch on the wire: %q", lines)
	}
}

// TestProtocolErrors covers requests the server refuses.
func TestProtocolErrors(t *testing.T) {
	a := startAgent(t, &fake{})
	decode := func(lines []string) *wireError {
		t.Helper()
		if len(lines) != 1 {
			t.Fatalf("got %q, want one frame", lines)
		}
		var f struct{ Error *wireError }
		if err := json.Unmarshal([]byte(lines[0]), &f); err != nil || f.Error == nil {
			t.Fatalf("not an error frame: %q (%v)", lines[0], err)
		}
		return f.Error
	}
	if e := decode(rawCall(t, a.path, `{"method":"reticulate"}`+"\n")); e.Code != CodeUnsupported {
		t.Errorf("unknown method: %+v", e)
	}
	if e := decode(rawCall(t, a.path, "not json\n")); e.Code != CodeInvalid {
		t.Errorf("garbage: %+v", e)
	}
	if e := decode(rawCall(t, a.path, `{"method":"pause","params":{"for":"soon"}}`+"\n")); e.Code != CodeInvalid {
		t.Errorf("bad params: %+v", e)
	}
	big := `{"method":"status","params":"` + strings.Repeat("x", maxRequest) + `"}` + "\n"
	if e := decode(rawCall(t, a.path, big)); e.Code != CodeInvalid || !strings.Contains(e.Message, "larger") {
		t.Errorf("oversize request: %+v", e)
	}
	// The client refuses an oversize request itself.
	c := dial(t, a.path)
	_, err := c.Activate(context.Background(), api.ActivationRequest{Password: strings.Repeat("x", maxRequest)}, nil)
	if !errors.Is(err, api.ErrInvalid) {
		t.Errorf("oversize Activate: %v", err)
	}
}

// TestConcurrentClients has 20 clients call Status at the same time: the
// fake answers only once all 20 calls are in flight.
func TestConcurrentClients(t *testing.T) {
	const n = 20
	var (
		arrived atomic.Int32
		all     = make(chan struct{})
	)
	f := &fake{status: func(ctx context.Context) (api.Status, error) {
		if arrived.Add(1) == n {
			close(all)
		}
		select {
		case <-all:
			return tStatus, nil
		case <-ctx.Done():
			return api.Status{}, ctx.Err()
		case <-time.After(20 * time.Second):
			return api.Status{}, errors.New("not all calls arrived together")
		}
	}}
	a := startAgent(t, f)
	run := func(client func(i int) *Client) {
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				st, err := client(i).Status(context.Background())
				if err == nil && !reflect.DeepEqual(st, tStatus) {
					err = fmt.Errorf("client %d: wrong status %+v", i, st)
				}
				if err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
	// 20 clients, each with its own Client.
	clients := make([]*Client, n)
	for i := range clients {
		clients[i] = dial(t, a.path)
	}
	run(func(i int) *Client { return clients[i] })

	// 20 goroutines sharing one Client.
	arrived.Store(0)
	all = make(chan struct{})
	shared := dial(t, a.path)
	run(func(int) *Client { return shared })
}

// TestSubscribe checks that events arrive in order and intact, and that
// cancelling the client's ctx ends the subscription on both sides.
func TestSubscribe(t *testing.T) {
	b := newBus(1024)
	a := startAgent(t, &fake{subscribe: b.subscribe})
	c := dial(t, a.path)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := c.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Subscribe returned: the server's subscription exists.
	if n := b.count(); n != 1 {
		t.Fatalf("%d subscriptions after Subscribe, want 1", n)
	}

	var sent []api.Event
	for i := range 200 {
		ev := api.Event{Time: t0.Add(time.Duration(i) * time.Second), Type: api.EventState, Account: "work",
			From: api.Idle, To: api.Syncing, Status: &tStatus.Accounts[1]}
		switch i % 4 {
		case 1:
			ev = api.Event{Time: t0, Type: api.EventSessionEnded, Account: "work", Session: &tSession}
		case 2:
			ev = api.Event{Time: t0, Type: api.EventOpenWindow, Window: &api.WindowRequest{Window: "dashboard"}}
		case 3:
			ev = api.Event{Time: t0, Type: api.EventNotice, Title: "Sync stopped", Message: "Sign in again"}
		}
		sent = append(sent, b.publish(ev))
	}
	for i, want := range sent {
		select {
		case got, ok := <-events:
			if !ok {
				t.Fatalf("channel closed after %d events", i)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("event %d:\n got %#v\nwant %#v", i, got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("event %d did not arrive", i)
		}
	}

	cancel()
	waitClosed(t, events)
	select {
	case <-b.ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not end the subscription after the client left")
	}
}

// waitClosed drains ch until it closes.
func waitClosed(t *testing.T, ch <-chan api.Event) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("the event channel did not close")
		}
	}
}

// TestStuckSubscriber has one subscriber that never reads while the fake
// keeps publishing big events: the producer never waits, other clients
// are served and another subscriber keeps receiving, and the stuck client
// is dropped after the write timeout.
func TestStuckSubscriber(t *testing.T) {
	const writeTimeout = 3 * time.Second
	b := newBus(16)
	f := &fake{subscribe: b.subscribe, status: func(context.Context) (api.Status, error) { return tStatus, nil }}
	a := startAgent(t, f, func(s *Server) { s.writeTimeout = writeTimeout })

	// The stuck client: subscribes and never reads.
	stuck, err := dialAgent(context.Background(), a.path)
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	if _, err := stuck.Write([]byte(`{"method":"subscribe"}` + "\n")); err != nil {
		t.Fatal(err)
	}
	stuckID := <-b.started

	// A good subscriber.
	c := dial(t, a.path)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	good, err := c.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	<-b.started

	// The producer: 8 KiB events as fast as every millisecond.
	stop := make(chan struct{})
	var slowest atomic.Int64
	var produced sync.WaitGroup
	produced.Go(func() {
		big := strings.Repeat("x", 8<<10)
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			start := time.Now()
			b.publish(api.Event{Type: api.EventNotice, Message: big})
			if d := time.Since(start); int64(d) > slowest.Load() {
				slowest.Store(int64(d))
			}
		}
	})
	defer func() {
		close(stop)
		produced.Wait()
		if d := time.Duration(slowest.Load()); d > 100*time.Millisecond {
			t.Errorf("a publish took %v", d)
		}
	}()

	// Well past the point where the stuck connection's socket buffer is
	// full and its server goroutine blocks in a write.
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	// Other clients are served...
	for range 20 {
		if _, err := c.Status(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// ...and the good subscriber keeps receiving fresh events.
	var seq uint64
	for range 50 {
		select {
		case ev, ok := <-good:
			if !ok {
				t.Fatal("the good subscriber's channel closed")
			}
			if ev.Seq <= seq {
				t.Fatalf("Seq went from %d to %d", seq, ev.Seq)
			}
			seq = ev.Seq
		case <-time.After(5 * time.Second):
			t.Fatal("the good subscriber stopped receiving")
		}
	}
	if d := time.Since(start); d > writeTimeout/2 {
		t.Logf("warning: the checks took %v; they may not have run while the stuck client was stuck", d)
	} else if b.count() != 2 {
		t.Fatal("the stuck subscriber was dropped before the write timeout")
	}

	// The stuck client is dropped, and only it.
	select {
	case id := <-b.ended:
		if id != stuckID {
			t.Fatalf("subscription %d ended, want the stuck one (%d)", id, stuckID)
		}
	case <-time.After(writeTimeout + 10*time.Second):
		t.Fatal("the stuck subscriber was never dropped")
	}
	for range len(good) + 1 {
		select {
		case _, ok := <-good:
			if !ok {
				t.Fatal("the good subscriber's channel closed")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the good subscriber stopped receiving after the stuck one was dropped")
		}
	}
}

// TestActivate streams progress, then the result; cancelling the client's
// ctx cancels the activation in the server.
// TestExport: the request reaches the agent, its progress frames reach
// the caller in order before the count, and hanging up cancels the export.
func TestExport(t *testing.T) {
	cancelled := make(chan error, 1)
	f := &fake{export: func(ctx context.Context, req api.ExportRequest, progress func(api.ExportProgress)) (int, error) {
		if req.Path == "/tmp/hang" {
			progress(api.ExportProgress{Items: 1000})
			<-ctx.Done()
			cancelled <- ctx.Err()
			return 0, ctx.Err()
		}
		if req.Format != "ics" || req.Query.Account != "work" {
			return 0, fmt.Errorf("%w: got %+v", api.ErrInvalid, req)
		}
		for _, n := range []int{1000, 2000, 2500} {
			progress(api.ExportProgress{Items: n})
		}
		return 2500, nil
	}}
	a := startAgent(t, f)
	c := dial(t, a.path)
	var got []int
	n, err := c.Export(context.Background(), api.ExportRequest{Query: api.ItemsQuery{Account: "work"}, Format: "ics", Path: "/tmp/x.ics"}, func(p api.ExportProgress) {
		got = append(got, p.Items)
	})
	if err != nil || n != 2500 || fmt.Sprint(got) != "[1000 2000 2500]" {
		t.Fatalf("Export = %d, %v; progress %v", n, err, got)
	}
	if _, err := c.Export(context.Background(), api.ExportRequest{Format: "csv"}, nil); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("a refused export: %v, want ErrInvalid", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	_, err = c.Export(ctx, api.ExportRequest{Path: "/tmp/hang"}, func(api.ExportProgress) { cancel() })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled export: %v", err)
	}
	select {
	case err := <-cancelled:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the agent's export ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("hanging up did not cancel the export in the agent")
	}
}

func TestActivate(t *testing.T) {
	steps := []api.ActivationProgress{
		{Message: "Starting"},
		{Message: "Finish signing in in your browser", URL: "https://accounts.example.com/o/oauth2/auth?x=1&y=2"},
		{Message: "Enter the code", URL: "https://microsoft.com/devicelogin", UserCode: "ABCD-EFGH"},
	}
	var (
		release   = make(chan struct{})
		cancelled = make(chan error, 1)
	)
	f := &fake{activate: func(ctx context.Context, req api.ActivationRequest, progress func(api.ActivationProgress)) (api.Account, error) {
		if req.Account == "cancel-me" {
			progress(steps[0])
			<-ctx.Done()
			cancelled <- ctx.Err()
			return api.Account{}, ctx.Err()
		}
		for _, p := range steps {
			progress(p)
		}
		select {
		case <-release:
			return tAccount, nil
		case <-ctx.Done():
			return api.Account{}, ctx.Err()
		}
	}}
	a := startAgent(t, f)
	c := dial(t, a.path)

	var got []api.ActivationProgress
	gotAll := make(chan struct{})
	type result struct {
		acct api.Account
		err  error
	}
	done := make(chan result, 1)
	go func() {
		acct, err := c.Activate(context.Background(), api.ActivationRequest{Provider: "gmail"}, func(p api.ActivationProgress) {
			got = append(got, p)
			if len(got) == len(steps) {
				close(gotAll)
			}
		})
		done <- result{acct, err}
	}()
	select {
	case <-gotAll: // every step arrived while the activation is still running
	case <-time.After(10 * time.Second):
		t.Fatal("the progress did not arrive")
	}
	close(release)
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !reflect.DeepEqual(r.acct, tAccount) {
		t.Errorf("account %#v", r.acct)
	}
	if !reflect.DeepEqual(got, steps) {
		t.Errorf("progress %#v", got)
	}

	// Cancelling.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := c.Activate(ctx, api.ActivationRequest{Provider: "gmail", Account: "cancel-me"}, func(api.ActivationProgress) { cancel() })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Activate: %v", err)
	}
	select {
	case err := <-cancelled:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("server-side ctx: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server-side activation was not cancelled")
	}
}

// TestNotRunning: no socket, or a stale one, means ErrNotRunning.
func TestNotRunning(t *testing.T) {
	path := socketPath(t)
	_, err := Dial(context.Background(), path)
	if !errors.Is(err, api.ErrNotRunning) {
		t.Fatalf("Dial to a missing socket: %v", err)
	}

	// A stale socket file: left behind, nobody listening. (Windows has
	// named pipes, which vanish with their server: see TestPipeName.)
	if runtime.GOOS == "windows" {
		return
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Fatal(err)
	}
	if _, err = Dial(context.Background(), path); !errors.Is(err, api.ErrNotRunning) {
		t.Fatalf("Dial to a stale socket: %v", err)
	}
}

// TestServerStop: cancelling Serve's ctx closes the listener and every
// connection, ends subscriptions and removes the socket.
func TestServerStop(t *testing.T) {
	b := newBus(16)
	blocked := make(chan struct{})
	f := &fake{
		subscribe: b.subscribe,
		status: func(ctx context.Context) (api.Status, error) {
			close(blocked)
			<-ctx.Done()
			return api.Status{}, ctx.Err()
		},
	}
	a := startAgent(t, f)
	c := dial(t, a.path)
	events, err := c.Subscribe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	statusErr := make(chan error, 1)
	go func() {
		_, err := c.Status(context.Background())
		statusErr <- err
	}()
	<-blocked

	a.stop(t)
	waitClosed(t, events)
	if err := <-statusErr; err == nil {
		t.Error("Status succeeded while the server stopped")
	}
	if _, err := os.Lstat(a.path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the socket is still there: %v", err)
	}
	if _, err := c.Status(context.Background()); !errors.Is(err, api.ErrNotRunning) {
		t.Errorf("Status after the agent stopped: %v", err)
	}
}

// TestClientClose: Close ends subscriptions and later calls.
func TestClientClose(t *testing.T) {
	b := newBus(16)
	a := startAgent(t, &fake{subscribe: b.subscribe})
	c := dial(t, a.path)
	events, err := c.Subscribe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	waitClosed(t, events)
	select {
	case <-b.ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not notice the client closing")
	}
	if _, err := c.Status(context.Background()); !errors.Is(err, ErrClientClosed) {
		t.Errorf("Status after Close: %v", err)
	}
}

// TestPeerRefused: a peer of another uid is refused. The test cannot run
// as another user, so it pretends the agent runs as one.
func TestPeerRefused(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" && runtime.GOOS != "freebsd" {
		t.Skip("no peer credentials on " + runtime.GOOS)
	}
	var called atomic.Bool
	f := &fake{status: func(context.Context) (api.Status, error) {
		called.Store(true)
		return tStatus, nil
	}}
	a := startAgent(t, f, func(s *Server) { s.uid = os.Getuid() + 1 })
	if _, err := Dial(context.Background(), a.path); err == nil {
		t.Fatal("a peer of another uid was served")
	}
	lines := rawCall(t, a.path, `{"method":"status"}`+"\n")
	if len(lines) != 0 || called.Load() {
		t.Fatalf("a peer of another uid got %q", lines)
	}
}
