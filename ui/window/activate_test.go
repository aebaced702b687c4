package window

import (
	"context"
	"errors"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/control"
	"github.com/inboxsync/inboxsync/sync/policy"
)

func newActivationWindow(t *testing.T, f *fakeControl, opts Options) (*Activation, *ui) {
	t.Helper()
	u := newUI(t)
	w := NewActivation(u.app, f, opts)
	u.attach(&w.base)
	w.closeAfter = 10 * time.Millisecond
	w.Start()
	u.settle()
	return w, u
}

func TestActivationExchangeValidation(t *testing.T) {
	for _, tc := range []struct {
		name, login, password, ews string
		enabled                    bool
		fieldErr                   string
	}{
		{name: "empty", enabled: false},
		{name: "login empty", password: "secret", enabled: false},
		{name: "password empty", login: "ann@example.com", enabled: false},
		{name: "login and password", login: "ann@example.com", password: "secret", enabled: true},
		{name: "EWS URL https", login: "ann", password: "secret", ews: "https://mail.example.com/EWS/Exchange.asmx", enabled: true},
		{name: "EWS URL http", login: "ann", password: "secret", ews: "http://mail.example.com/EWS/Exchange.asmx", enabled: false, fieldErr: "EWS URL must start with https://"},
		{name: "EWS URL without scheme", login: "ann", password: "secret", ews: "mail.example.com", enabled: false, fieldErr: "EWS URL must start with https://"},
		{name: "blank login", login: "   ", password: "secret", enabled: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, _ := newActivationWindow(t, newFake(), Options{})
			if w.provider.Selected != "Microsoft Exchange" || !w.exchange.Visible() {
				t.Fatalf("Exchange is not the first choice: %q", w.provider.Selected)
			}
			if !w.connectExchange.Disabled() {
				t.Fatal("Connect is enabled on an empty form")
			}
			test.Type(w.login, tc.login)
			test.Type(w.password, tc.password)
			if tc.ews != "" {
				test.Tap(w.more)
				test.Type(w.ewsURL, tc.ews)
			}
			if got := !w.connectExchange.Disabled(); got != tc.enabled {
				t.Errorf("Connect enabled = %v, want %v", got, tc.enabled)
			}
			if tc.fieldErr != "" {
				if !w.fieldErr.Visible() || w.fieldErr.Text != tc.fieldErr {
					t.Errorf("field error = %q (visible %v), want %q", w.fieldErr.Text, w.fieldErr.Visible(), tc.fieldErr)
				}
			} else if w.fieldErr.Visible() {
				t.Errorf("unexpected field error %q", w.fieldErr.Text)
			}
		})
	}
}

func TestActivationMoreToggle(t *testing.T) {
	w, _ := newActivationWindow(t, newFake(), Options{})
	if w.ewsShown || w.more.Text != "More ▾" {
		t.Fatalf("EWS URL shown before More (%v, %q)", w.ewsShown, w.more.Text)
	}
	test.Tap(w.more)
	if !w.ewsShown || w.more.Text != "Less ▴" {
		t.Fatalf("More did not reveal the EWS URL (%v, %q)", w.ewsShown, w.more.Text)
	}
	test.Tap(w.more)
	if w.ewsShown || w.more.Text != "More ▾" {
		t.Fatalf("Less did not hide the EWS URL (%v, %q)", w.ewsShown, w.more.Text)
	}

	// A wrong URL blocks Connect while it is shown; hidden, it is kept
	// but neither checked nor sent.
	test.Type(w.login, "ann@contoso.com")
	test.Type(w.password, "pw")
	test.Tap(w.more)
	test.Type(w.ewsURL, "http://mail.contoso.com/EWS")
	if !w.fieldErr.Visible() || !w.connectExchange.Disabled() {
		t.Fatalf("an http:// EWS URL: error shown %v, Connect disabled %v", w.fieldErr.Visible(), w.connectExchange.Disabled())
	}
	test.Tap(w.more)
	if w.fieldErr.Visible() || w.connectExchange.Disabled() {
		t.Fatalf("with the EWS URL hidden: error shown %v (%q), Connect disabled %v", w.fieldErr.Visible(), w.fieldErr.Text, w.connectExchange.Disabled())
	}
	test.Tap(w.more)
	if w.ewsURL.Text != "http://mail.contoso.com/EWS" || !w.fieldErr.Visible() {
		t.Fatalf("More again: URL %q, error shown %v", w.ewsURL.Text, w.fieldErr.Visible())
	}
}

func TestActivationPasswordMasked(t *testing.T) {
	w, _ := newActivationWindow(t, newFake(), Options{})
	if !w.password.Password {
		t.Fatal("the password is not masked")
	}
	if w.password.ActionItem == nil {
		t.Fatal("the password has no reveal toggle")
	}
}

// The engine of this build refuses every provider: the window says so in
// words, keeps what was typed and stays usable.
func TestActivationUnsupportedKeepsInput(t *testing.T) {
	f := newFake()
	var reqs recorder[api.ActivationRequest]
	f.ActivateFn = func(_ context.Context, req api.ActivationRequest, _ func(api.ActivationProgress)) (api.Account, error) {
		reqs.add(req)
		// What control.Client returns for the engine's error.
		return api.Account{}, &control.RemoteError{Code: "unsupported", Message: fmt.Sprintf("%v: Microsoft Exchange accounts are not available in this build yet", api.ErrUnsupported)}
	}
	w, u := newActivationWindow(t, f, Options{})
	test.Type(w.login, "CORP\\ann")
	test.Type(w.password, "s3cret")
	test.Tap(w.more)
	test.Type(w.ewsURL, "https://mail.corp.example/EWS/Exchange.asmx")
	test.Tap(w.connectExchange)
	if !w.waiting.Visible() || w.exchange.Visible() {
		t.Fatal("no waiting panel while connecting")
	}
	u.waitFor("the error", func() bool { return w.errMsg.Visible() })

	if want := "Microsoft Exchange accounts are not available in this build yet."; w.errMsg.Text != want {
		t.Errorf("error = %q, want %q", w.errMsg.Text, want)
	}
	if !w.exchange.Visible() || w.waiting.Visible() {
		t.Error("the form is not back after the error")
	}
	if w.login.Text != "CORP\\ann" || w.password.Text != "s3cret" || w.ewsURL.Text != "https://mail.corp.example/EWS/Exchange.asmx" {
		t.Errorf("input lost: %q %q %q", w.login.Text, w.password.Text, w.ewsURL.Text)
	}
	if w.connectExchange.Disabled() || w.provider.Disabled() {
		t.Error("the window does not keep working after the error")
	}
	got := reqs.all()
	if len(got) != 1 {
		t.Fatalf("%d activations, want 1", len(got))
	}
	want := api.ActivationRequest{Provider: "exchange", Login: "CORP\\ann", Password: "s3cret", Settings: map[string]string{"ews_url": "https://mail.corp.example/EWS/Exchange.asmx"}}
	if r := got[0]; r.Provider != want.Provider || r.Login != want.Login || r.Password != want.Password || r.Settings["ews_url"] != want.Settings["ews_url"] || r.Account != "" {
		t.Errorf("request = %+v, want %+v", r, want)
	}

	// Less ▴: the URL is kept in the field but not sent.
	test.Tap(w.more)
	test.Tap(w.connectExchange)
	u.waitFor("the second answer", func() bool { return len(reqs.all()) == 2 && w.errMsg.Visible() })
	if r := reqs.all()[1]; r.Settings["ews_url"] != "" {
		t.Errorf("a hidden EWS URL was sent: %+v", r)
	}

	// Another provider, another refusal, same window: the engine of a
	// build without Office 365 says so, and the Office 365 panel is back.
	f.ActivateFn = func(context.Context, api.ActivationRequest, func(api.ActivationProgress)) (api.Account, error) {
		return api.Account{}, fmt.Errorf("%w: Office 365 accounts are not available in this build yet", api.ErrUnsupported)
	}
	w.provider.SetSelected("Office 365")
	if w.errMsg.Visible() {
		t.Error("the old error stays after choosing another provider")
	}
	test.Tap(w.connectO365)
	u.waitFor("the Office 365 error", func() bool { return w.errMsg.Visible() })
	if want := "Office 365 accounts are not available in this build yet."; w.errMsg.Text != want {
		t.Errorf("error = %q, want %q", w.errMsg.Text, want)
	}
	if !w.office365.Visible() {
		t.Error("the Office 365 panel is not back")
	}
}

// Gmail: Sign in with Google sends a gmail activation, shows the waiting
// panel with the link the agent reports (Copy link copies it), then the
// success page, and the window closes by itself.
func TestActivationGmailSignIn(t *testing.T) {
	f := newFake()
	f.CRMStatusFn = crmConnected
	const link = "https://accounts.google.com/o/oauth2/v2/auth?client_id=1234567890-abc.apps.googleusercontent.com&state=y"
	var reqs recorder[api.ActivationRequest]
	browserDone := make(chan struct{})
	f.ActivateFn = func(ctx context.Context, req api.ActivationRequest, progress func(api.ActivationProgress)) (api.Account, error) {
		reqs.add(req)
		progress(api.ActivationProgress{Message: "finish signing in with Google in your browser", URL: link})
		select {
		case <-browserDone:
		case <-ctx.Done():
			return api.Account{}, ctx.Err()
		}
		return api.Account{ID: "ann", Provider: "gmail", Email: "ann@gmail.com"}, nil
	}
	w, u := newActivationWindow(t, f, Options{})
	w.provider.SetSelected("Gmail")
	if !w.gmail.Visible() || w.exchange.Visible() || w.office365.Visible() {
		t.Fatalf("choosing Gmail shows: Gmail %v, Exchange %v, Office 365 %v", w.gmail.Visible(), w.exchange.Visible(), w.office365.Visible())
	}
	if w.connectGoogle.Text != "Sign in with Google" || w.connectGoogle.Disabled() {
		t.Fatalf("the Gmail button: %q, disabled %v", w.connectGoogle.Text, w.connectGoogle.Disabled())
	}
	test.Tap(w.connectGoogle)
	if !w.waiting.Visible() || w.gmail.Visible() || w.waitTitle.Text != "Finish signing in in your browser" {
		t.Fatalf("waiting panel: visible %v (Gmail panel %v), title %q", w.waiting.Visible(), w.gmail.Visible(), w.waitTitle.Text)
	}
	if !w.copyLink.Visible() || !w.cancelRun.Visible() || w.cancelRun.Disabled() {
		t.Error("the waiting panel lacks Copy link or Cancel")
	}
	u.waitFor("the link", func() bool { return w.link.Text == link && w.link.Visible() })
	if w.waitMsg.Text != "Finish signing in with Google in your browser." {
		t.Errorf("waiting message = %q", w.waitMsg.Text)
	}
	test.Tap(w.copyLink)
	if got := u.app.Clipboard().Content(); got != link {
		t.Errorf("clipboard = %q, want the link", got)
	}
	got := reqs.all()
	if len(got) != 1 || got[0].Provider != "gmail" || got[0].Account != "" || got[0].Login != "" || got[0].Password != "" {
		t.Fatalf("requests = %+v, want one gmail activation with no login or password", got)
	}

	close(browserDone)
	u.waitFor("success", func() bool { return w.done.Visible() })
	if want := "Account ann (ann@gmail.com) is ready. Sync will run every 30 minutes; the first sync starts now."; w.doneMsg.Text != want {
		t.Errorf("success says %q, want %q", w.doneMsg.Text, want)
	}
	if w.waiting.Visible() || w.errMsg.Visible() {
		t.Error("the waiting panel or an error stays after success")
	}
	u.waitFor("the window to close", func() bool { return w.ctx.Err() != nil })
}

// A Gmail activation that fails shows why in words and brings back the
// Gmail panel, ready to sign in again.
func TestActivationGmailErrorKeepsPanel(t *testing.T) {
	f := newFake()
	f.ActivateFn = func(context.Context, api.ActivationRequest, func(api.ActivationProgress)) (api.Account, error) {
		return api.Account{}, &control.RemoteError{Code: "error", Message: "Inbox Sync is missing the Google permission “View events on all your calendars”, which Inbox Sync needs to sync your calendar events: sign in again and leave that permission ticked"}
	}
	w, u := newActivationWindow(t, f, Options{})
	w.provider.SetSelected("Gmail")
	test.Tap(w.connectGoogle)
	u.waitFor("the error", func() bool { return w.errMsg.Visible() })
	if !strings.HasPrefix(w.errMsg.Text, "Inbox Sync is missing the Google permission “View events on all your calendars”") || !strings.HasSuffix(w.errMsg.Text, "leave that permission ticked.") {
		t.Errorf("error = %q", w.errMsg.Text)
	}
	if !w.gmail.Visible() || w.waiting.Visible() || w.connectGoogle.Disabled() || w.provider.Disabled() {
		t.Errorf("after the error: Gmail panel %v, waiting %v, button disabled %v, provider disabled %v",
			w.gmail.Visible(), w.waiting.Visible(), w.connectGoogle.Disabled(), w.provider.Disabled())
	}
}

// Re-activating a Gmail account shows Sign in with Google (not the login
// form) and sends the account's name and settings back, so the agent
// signs in with the same client and endpoints.
func TestReactivationGmail(t *testing.T) {
	f := newFake()
	settings := map[string]string{"client_id": "1234567890-abc.apps.googleusercontent.com", "gmail_endpoint": "https://gmail.googleapis.com/gmail/v1"}
	f.AccountsFn = func() ([]api.Account, error) {
		return []api.Account{{ID: "home", Provider: "gmail", Login: "ann@gmail.com", Email: "ann@gmail.com", Settings: settings}}, nil
	}
	var reqs recorder[api.ActivationRequest]
	f.ActivateFn = func(_ context.Context, req api.ActivationRequest, _ func(api.ActivationProgress)) (api.Account, error) {
		reqs.add(req)
		return api.Account{ID: "home", Provider: "gmail", Email: "ann@gmail.com"}, nil
	}
	reason := "The Google sign-in was revoked or your password changed: sign in with Google again."
	w, u := newActivationWindow(t, f, Options{Account: "home", Reason: reason})
	u.waitFor("the account's panel", func() bool { return w.provider.Selected == "Gmail" })
	if !w.gmail.Visible() || w.exchange.Visible() || !w.provider.Disabled() {
		t.Fatalf("Gmail panel %v, login form %v, provider disabled %v", w.gmail.Visible(), w.exchange.Visible(), w.provider.Disabled())
	}
	if w.reason.Text != reason || !w.reason.Visible() {
		t.Errorf("reason = %q (visible %v)", w.reason.Text, w.reason.Visible())
	}
	test.Tap(w.connectGoogle)
	u.waitFor("success", func() bool { return w.done.Visible() })
	got := reqs.all()
	if len(got) != 1 || got[0].Provider != "gmail" || got[0].Account != "home" || got[0].Password != "" ||
		got[0].Settings["client_id"] != settings["client_id"] || got[0].Settings["gmail_endpoint"] != settings["gmail_endpoint"] {
		t.Errorf("requests = %+v", got)
	}
}

func TestActivationBrowserWaitingAndCancel(t *testing.T) {
	for _, tc := range []struct {
		provider, label string
		connect         func(*Activation) func()
	}{
		{"office365", "Office 365", func(w *Activation) func() { return func() { test.Tap(w.connectO365) } }},
		{"gmail", "Gmail", func(w *Activation) func() { return func() { test.Tap(w.connectGoogle) } }},
	} {
		t.Run(tc.provider, func(t *testing.T) {
			f := newFake()
			const link = "https://login.example.com/authorize?client_id=x&state=y"
			cancelled := make(chan error, 1)
			var reqs recorder[api.ActivationRequest]
			f.ActivateFn = func(ctx context.Context, req api.ActivationRequest, progress func(api.ActivationProgress)) (api.Account, error) {
				reqs.add(req)
				progress(api.ActivationProgress{Message: "finish signing in in your browser", URL: link})
				<-ctx.Done()
				cancelled <- ctx.Err()
				return api.Account{}, ctx.Err()
			}
			w, u := newActivationWindow(t, f, Options{})
			w.provider.SetSelected(tc.label)
			tc.connect(w)()
			if !w.waiting.Visible() || w.waitTitle.Text != "Finish signing in in your browser" {
				t.Fatalf("waiting panel: visible %v, title %q", w.waiting.Visible(), w.waitTitle.Text)
			}
			if !w.copyLink.Disabled() {
				t.Error("Copy link is enabled before there is a link")
			}
			if !w.provider.Disabled() {
				t.Error("the provider can change while signing in")
			}
			u.waitFor("the link", func() bool { return w.link.Text == link })
			if w.copyLink.Disabled() {
				t.Fatal("Copy link stays disabled")
			}
			test.Tap(w.copyLink)
			if got := u.app.Clipboard().Content(); got != link {
				t.Errorf("clipboard = %q, want the link", got)
			}
			test.Tap(w.cancelRun)
			select {
			case err := <-cancelled:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("ctx ended with %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Cancel did not cancel the activation's context")
			}
			u.waitFor("the form again", func() bool { return !w.waiting.Visible() })
			if !strings.Contains(w.errMsg.Text, "cancelled") {
				t.Errorf("message after cancel = %q", w.errMsg.Text)
			}
			if got := reqs.all(); len(got) != 1 || got[0].Provider != tc.provider {
				t.Errorf("requests = %+v", got)
			}
		})
	}
}

func TestActivationSuccessCloses(t *testing.T) {
	f := newFake()
	f.CRMStatusFn = crmConnected
	f.ActivateFn = func(context.Context, api.ActivationRequest, func(api.ActivationProgress)) (api.Account, error) {
		return api.Account{ID: "ann", Provider: "exchange", Email: "ann@example.com"}, nil
	}
	w, u := newActivationWindow(t, f, Options{})
	w.closeAfter = 200 * time.Millisecond
	test.Type(w.login, "ann@example.com")
	test.Type(w.password, "s3cret")
	test.Tap(w.connectExchange)
	u.waitFor("success", func() bool { return w.done.Visible() })
	if !strings.Contains(w.doneMsg.Text, "Sync will run every 30 minutes") {
		t.Errorf("success says %q", w.doneMsg.Text)
	}
	if w.password.Text != "" {
		t.Error("the password stays in the window after success")
	}
	u.waitFor("the window to close", func() bool { return w.ctx.Err() != nil })
}

func TestActivationSuccessUsesInterval(t *testing.T) {
	f := newFake()
	f.SettingsFn = func() (api.Settings, error) {
		s := api.DefaultSettings()
		s.Interval = api.Duration(time.Hour)
		return s, nil
	}
	f.ActivateFn = func(context.Context, api.ActivationRequest, func(api.ActivationProgress)) (api.Account, error) {
		return api.Account{ID: "me", Provider: "gmail"}, nil
	}
	w, u := newActivationWindow(t, f, Options{})
	w.provider.SetSelected("Gmail")
	test.Tap(w.connectGoogle)
	u.waitFor("success", func() bool { return w.done.Visible() })
	if !strings.Contains(w.doneMsg.Text, "Sync will run every hour") {
		t.Errorf("success says %q", w.doneMsg.Text)
	}
}

func TestReactivationPrefilled(t *testing.T) {
	f := newFake()
	f.AccountsFn = func() ([]api.Account, error) {
		return []api.Account{
			{ID: "home", Provider: "gmail", Email: "ann@gmail.com"},
			{ID: "work", Provider: "exchange", Login: "CORP\\ann", Email: "ann@corp.example", Settings: map[string]string{"ews_url": "https://mail.corp.example/EWS/Exchange.asmx"}},
		}, nil
	}
	var reqs recorder[api.ActivationRequest]
	f.ActivateFn = func(_ context.Context, req api.ActivationRequest, _ func(api.ActivationProgress)) (api.Account, error) {
		reqs.add(req)
		return api.Account{}, fmt.Errorf("%w: the password is wrong", api.ErrInvalid)
	}
	reason := "your mailbox rejected the last 6 sync attempts — has your password changed?"
	w, u := newActivationWindow(t, f, Options{Account: "work", Reason: reason})
	u.waitFor("the prefilled login", func() bool { return w.login.Text != "" })

	if !w.reason.Visible() || w.reason.Text != "Your mailbox rejected the last 6 sync attempts — has your password changed?" {
		t.Errorf("reason = %q (visible %v)", w.reason.Text, w.reason.Visible())
	}
	if w.provider.Selected != "Microsoft Exchange" || !w.provider.Disabled() {
		t.Errorf("provider = %q, disabled %v", w.provider.Selected, w.provider.Disabled())
	}
	if w.login.Text != "CORP\\ann" || w.ewsURL.Text != "https://mail.corp.example/EWS/Exchange.asmx" || !w.ewsShown {
		t.Errorf("login %q, EWS URL %q (visible %v)", w.login.Text, w.ewsURL.Text, w.ewsShown)
	}
	if !strings.Contains(w.title.Text, "work") {
		t.Errorf("title = %q", w.title.Text)
	}
	test.Type(w.password, "new-password")
	test.Tap(w.connectExchange)
	u.waitFor("the error", func() bool { return w.errMsg.Visible() })
	if w.errMsg.Text != "The password is wrong." {
		t.Errorf("error = %q", w.errMsg.Text)
	}
	if got := reqs.all(); len(got) != 1 || got[0].Account != "work" || got[0].Login != "CORP\\ann" {
		t.Errorf("requests = %+v", got)
	}
	if !w.provider.Disabled() {
		t.Error("the provider of an existing account became changeable")
	}
}

func TestReactivationUnknownAccount(t *testing.T) {
	w, u := newActivationWindow(t, newFake(), Options{Account: "gone"})
	u.waitFor("the error", func() bool { return w.errMsg.Visible() })
	if !strings.Contains(w.errMsg.Text, "no account named gone") {
		t.Errorf("error = %q", w.errMsg.Text)
	}
}

// The agent quitting ends the event stream; the window closes with it.
func TestWindowClosesWhenAgentStops(t *testing.T) {
	f := newFake()
	u := newUI(t)
	w := NewActivation(u.app, f, Options{})
	w.do = u.do
	ctx, stop := context.WithCancel(context.Background())
	w.ctl = stoppable{f, ctx}
	w.Start()
	u.settle()
	if w.ctx.Err() != nil {
		t.Fatal("closed too early")
	}
	stop()
	u.waitFor("the window to close", func() bool { return w.ctx.Err() != nil })
}

// stoppable ends its subscriptions when ctx ends, like an agent that quits.
type stoppable struct {
	*fakeControl
	agent context.Context
}

func (s stoppable) Subscribe(ctx context.Context) (<-chan api.Event, error) {
	sub, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-s.agent.Done():
		case <-ctx.Done():
		}
		cancel()
	}()
	return s.fakeControl.Subscribe(sub)
}

// Test builds' scripted accounts sign in with the login and password form
// under their own provider.
func TestReactivationOtherProvider(t *testing.T) {
	f := newFake()
	f.AccountsFn = func() ([]api.Account, error) {
		return []api.Account{{ID: "qa", Provider: "scripted", Login: "bob", Settings: map[string]string{"mailbox": "/tmp/qa.json"}}}, nil
	}
	var reqs recorder[api.ActivationRequest]
	f.ActivateFn = func(_ context.Context, req api.ActivationRequest, _ func(api.ActivationProgress)) (api.Account, error) {
		reqs.add(req)
		return api.Account{ID: "qa"}, nil
	}
	w, u := newActivationWindow(t, f, Options{Account: "qa"})
	u.waitFor("the prefilled login", func() bool { return w.login.Text == "bob" })
	if w.provider.Selected != "scripted" || !w.exchange.Visible() {
		t.Fatalf("provider %q, form shown %v", w.provider.Selected, w.exchange.Visible())
	}
	test.Type(w.password, "pw")
	test.Tap(w.connectExchange)
	u.waitFor("success", func() bool { return w.done.Visible() })
	if got := reqs.all(); len(got) != 1 || got[0].Provider != "scripted" || got[0].Account != "qa" || got[0].Password != "pw" || got[0].Settings["mailbox"] != "/tmp/qa.json" {
		t.Errorf("requests = %+v", got)
	}
}

// The longest account name (64 characters, no spaces) wraps in the
// re-activation window's title: the title keeps the whole name, and the
// window does not grow wider than it opens.
func TestReactivationLongAccountNameWraps(t *testing.T) {
	long := strings.Repeat("northwind-traders-", 3) + "emea-key-a"
	if len(long) != 64 {
		t.Fatalf("test name is %d characters", len(long))
	}
	f := newFake()
	f.AccountsFn = func() ([]api.Account, error) {
		return []api.Account{{ID: long, Provider: "exchange", Login: "ann@corp.example", Email: "ann@corp.example"}}, nil
	}
	w, u := newActivationWindow(t, f, Options{Account: long})
	u.waitFor("the prefilled login", func() bool { return w.login.Text != "" })
	if w.title.Text != "Sign in again to "+long {
		t.Errorf("title = %q", w.title.Text)
	}
	if one := fyne.MeasureText(w.title.Text, theme.TextSubHeadingSize(), w.title.TextStyle).Width; one <= 560 {
		t.Fatalf("the title measures %.0f px on one line; the test needs one wider than the window", one)
	}
	if min := w.win.Content().MinSize().Width; min > 560 {
		t.Errorf("the window needs %.0f px for its content; a long name must wrap within 560", min)
	}
}

// mismatchFake answers the first activation with a mailbox mismatch (bob
// signed in where ann was expected) and any request that accepts bob with
// success, recording every request.
func mismatchFake(enforced bool) (*fakeControl, *recorder[api.ActivationRequest]) {
	f := newFake()
	reqs := &recorder[api.ActivationRequest]{}
	f.ActivateFn = func(_ context.Context, req api.ActivationRequest, _ func(api.ActivationProgress)) (api.Account, error) {
		reqs.add(req)
		if !enforced && strings.EqualFold(req.AcceptMailbox, "bob@contoso.com") {
			return api.Account{ID: "bob", Provider: req.Provider, Email: "bob@contoso.com"}, nil
		}
		return api.Account{}, fmt.Errorf("activation: %w", &api.MailboxMismatchError{Expected: "ann@contoso.com", Got: "bob@contoso.com", Enforced: enforced})
	}
	return f, reqs
}

// A sign-in that reaches another mailbox shows both addresses with Use this
// mailbox anyway and Sign in with another account; Use this mailbox anyway
// sends the same activation again, accepting the resolved mailbox.
func TestActivationMailboxMismatchUseAnyway(t *testing.T) {
	f, reqs := mismatchFake(false)
	w, u := newActivationWindow(t, f, Options{})
	test.Type(w.login, "ann@contoso.com")
	test.Type(w.password, "s3cret")
	test.Tap(w.connectExchange)
	u.waitFor("the mismatch", func() bool { return w.mismatch.Visible() })
	for _, want := range []string{"ann@contoso.com", "bob@contoso.com", "different mailbox than the one you work in"} {
		if !strings.Contains(w.mismatchMsg.Text, want) {
			t.Errorf("mismatch says %q, without %q", w.mismatchMsg.Text, want)
		}
	}
	if w.errMsg.Visible() || w.exchange.Visible() || w.waiting.Visible() || w.done.Visible() {
		t.Error("another panel shows with the mismatch")
	}
	if !w.useAnyway.Visible() || w.useAnyway.Text != "Use this mailbox anyway" || !w.signInOther.Visible() || w.signInOther.Text != "Sign in with another account" {
		t.Fatalf("buttons: %q (visible %v), %q (visible %v)", w.useAnyway.Text, w.useAnyway.Visible(), w.signInOther.Text, w.signInOther.Visible())
	}
	saveShot(t, w, "window-activate-mailbox-mismatch.png")

	test.Tap(w.useAnyway)
	u.waitFor("success", func() bool { return w.done.Visible() })
	got := reqs.all()
	if len(got) != 2 || got[0].AcceptMailbox != "" || got[1].AcceptMailbox != "bob@contoso.com" ||
		got[1].Login != "ann@contoso.com" || got[1].Password != "s3cret" || got[1].Provider != "exchange" {
		t.Fatalf("requests = %+v, want the same activation accepting bob@contoso.com", got)
	}
	if !strings.Contains(w.doneMsg.Text, "bob@contoso.com") {
		t.Errorf("success says %q", w.doneMsg.Text)
	}
}

// With the mailbox enforced there is no "anyway"; Sign in with another
// account brings back the form with the login kept and the password
// cleared.
func TestActivationMailboxMismatchEnforced(t *testing.T) {
	f, reqs := mismatchFake(true)
	w, u := newActivationWindow(t, f, Options{})
	test.Type(w.login, "ann@contoso.com")
	test.Type(w.password, "s3cret")
	test.Tap(w.connectExchange)
	u.waitFor("the mismatch", func() bool { return w.mismatch.Visible() })
	if w.useAnyway.Visible() || !w.signInOther.Visible() {
		t.Fatalf("enforced: Use anyway visible %v, Sign in with another account visible %v", w.useAnyway.Visible(), w.signInOther.Visible())
	}
	if !strings.Contains(w.mismatchMsg.Text, "administrator") {
		t.Errorf("enforced mismatch says %q", w.mismatchMsg.Text)
	}
	saveShot(t, w, "window-activate-mailbox-enforced.png")
	test.Tap(w.signInOther)
	if !w.exchange.Visible() || w.mismatch.Visible() || w.password.Text != "" || w.login.Text != "ann@contoso.com" || w.provider.Disabled() {
		t.Fatalf("after Sign in with another account: form %v, mismatch %v, password %q, login %q, provider disabled %v",
			w.exchange.Visible(), w.mismatch.Visible(), w.password.Text, w.login.Text, w.provider.Disabled())
	}
	if n := len(reqs.all()); n != 1 {
		t.Errorf("%d requests, want 1 (going back to the form sends nothing)", n)
	}
}

// In a browser flow, Sign in with another account starts the sign-in
// again, without accepting anything.
func TestActivationMailboxMismatchBrowserSignsInAgain(t *testing.T) {
	f, reqs := mismatchFake(false)
	w, u := newActivationWindow(t, f, Options{})
	w.provider.SetSelected("Office 365")
	test.Tap(w.connectO365)
	u.waitFor("the mismatch", func() bool { return w.mismatch.Visible() })
	test.Tap(w.signInOther)
	u.waitFor("the second mismatch", func() bool { return len(reqs.all()) == 2 && w.mismatch.Visible() })
	got := reqs.all()
	if got[1].Provider != "office365" || got[1].AcceptMailbox != "" {
		t.Fatalf("requests = %+v, want a second office365 sign-in accepting nothing", got)
	}
}

// saveShot saves the window as a PNG into $INBOXSYNC_SHOTS, when set, for
// people to look at.
func saveShot(t *testing.T, w *Activation, name string) {
	t.Helper()
	dir := os.Getenv("INBOXSYNC_SHOTS")
	if dir == "" {
		return
	}
	// Twice: wrapped labels know their height once they have a width.
	for range 2 {
		w.win.Resize(w.win.Content().MinSize().Max(fyne.NewSize(560, 0)))
	}
	img := w.win.Canvas().Capture()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if err := png.Encode(out, img); err != nil {
		t.Fatal(err)
	}
}

// The administrator's policy presets the provider; locked, it cannot be
// changed.
func TestActivationOpensOnThePolicysProvider(t *testing.T) {
	for _, tc := range []struct {
		doc    string
		locked bool
	}{
		{"provider = \"office365\"\n", false},
		{"provider = \"office365\"\nlocked = [\"provider\"]\n", true},
	} {
		f := newFake()
		f.PolicyFn = func() (api.Policy, error) { return policy.Parse(tc.doc), nil }
		w, u := newActivationWindow(t, f, Options{})
		u.waitFor("the policy's provider", func() bool { return w.provider.Selected == "Office 365" })
		if w.provider.Disabled() != tc.locked {
			t.Errorf("%q: provider choice disabled %v", tc.doc, w.provider.Disabled())
		}
		if tc.locked && !strings.HasPrefix(w.where.Text, "Set by your administrator") {
			t.Errorf("locked provider says %q", w.where.Text)
		}
	}
}

// activation = "organisation": the activation window (`inboxsync ui
// activate` run by hand) shows the organisation's sentence and the
// administrator's address instead of the form; with activation = "user"
// the form stays.
func TestActivationInOrganisationMode(t *testing.T) {
	f := newFake()
	f.PolicyFn = func() (api.Policy, error) {
		return policy.Parse("activation = \"organisation\"\nadmin_email = \"admin@example.com\"\n"), nil
	}
	w, u := newActivationWindow(t, f, Options{})
	content := func() string { return texts(w.win.Content()) }
	u.waitFor("the organisation's sentence", func() bool { return strings.Contains(content(), "Sync is run by your organisation") })
	if !strings.Contains(content(), "Questions: admin@example.com") || strings.Contains(content(), "Where is your mailbox?") {
		t.Errorf("organisation mode's activation window says:\n%s", content())
	}

	f = newFake()
	f.PolicyFn = func() (api.Policy, error) { return policy.Parse("activation = \"user\"\n"), nil }
	w, u = newActivationWindow(t, f, Options{})
	u.settle()
	if c := texts(w.win.Content()); strings.Contains(c, "organisation") || !strings.Contains(c, "Where is your mailbox?") {
		t.Errorf("activation = user's window says:\n%s", c)
	}
}
