package ews_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/ews"
	"github.com/inboxsync/inboxsync/sync/provider/ews/ewstest"
	"github.com/inboxsync/inboxsync/sync/provider/providertest"
)

var now = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func opts() provider.Options { return provider.Options{Now: now, Since: now.AddDate(0, 0, -30)} }

func newServer(t *testing.T, cfg ewstest.Config) *ewstest.Server {
	t.Helper()
	srv, err := ewstest.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

func newProvider(t *testing.T, srv *ewstest.Server, auth string) *ews.Provider {
	t.Helper()
	p, err := ews.New(ews.Config{
		URL: srv.EWSURL, Login: srv.Login(), Password: srv.Password(), Auth: auth,
		Transport: ews.NewTransport(srv.RootCAs(), nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

type harness struct{}

type mailbox struct{ srv *ewstest.Server }

func (harness) Open(t *testing.T, pageSize int) (provider.Provider, providertest.Mailbox) {
	srv := newServer(t, ewstest.Config{PageSize: pageSize})
	return newProvider(t, srv, ews.AuthNTLM), mailbox{srv}
}

func (m mailbox) Add(t *testing.T, f api.Folder, n int, at time.Time) []string {
	return m.srv.Add(f, n, at)
}

func (m mailbox) Update(t *testing.T, id string) {
	if err := m.srv.Update(id); err != nil {
		t.Fatal(err)
	}
}

func (m mailbox) Delete(t *testing.T, id string) {
	if err := m.srv.Delete(id); err != nil {
		t.Fatal(err)
	}
}

func (m mailbox) InvalidateCursors(t *testing.T) { m.srv.InvalidateSyncStates() }
func (m mailbox) ChangePassword(t *testing.T)    { m.srv.SetPassword("a-new-password") }
func (m mailbox) ThrottleNext(t *testing.T, d time.Duration) {
	m.srv.FailNext(ewstest.Fault{Kind: ewstest.BusyFault, BackOff: d})
}

func TestEWSConformance(t *testing.T) {
	providertest.Run(t, harness{})
}

// drain follows pages until More is false.
func drain(t *testing.T, p provider.Provider, f api.Folder, cursor string) (map[string]provider.Change, string, int) {
	t.Helper()
	got := map[string]provider.Change{}
	pages := 0
	for {
		page, err := p.Changes(context.Background(), f, cursor, opts())
		if err != nil {
			t.Fatalf("Changes(%s): %v", f, err)
		}
		pages++
		for _, c := range page.Changes {
			got[c.Item.ProviderID] = c
		}
		cursor = page.Cursor
		if !page.More {
			return got, cursor, pages
		}
	}
}

func TestEWSItemFields(t *testing.T) {
	srv := newServer(t, ewstest.Config{})
	mail := srv.AddMessage(api.Inbox, ewstest.Message{
		Subject: "Quarterly figures", Body: "Hi Ann,\r\n\r\n  the figures are attached.  " + strings.Repeat("More words follow here. ", 40),
		From: "bob@contoso.test", To: []string{"ann@contoso.test"}, Cc: []string{"carol@contoso.test"}, Received: now.Add(-time.Hour),
	})
	inWindow := srv.AddEvent(ewstest.Event{Subject: "Planning", Location: "Room 4", Start: now.Add(48 * time.Hour), End: now.Add(49 * time.Hour),
		Organizer: "bob@contoso.test", Required: []string{"ann@contoso.test"}, Optional: []string{"dave@contoso.test"}})
	past := srv.AddEvent(ewstest.Event{Subject: "Old", Start: now.AddDate(0, 0, -15), End: now.AddDate(0, 0, -15).Add(time.Hour), Organizer: "bob@contoso.test"})
	future := srv.AddEvent(ewstest.Event{Subject: "Far", Start: now.AddDate(0, 0, 61), End: now.AddDate(0, 0, 61).Add(time.Hour), Organizer: "bob@contoso.test"})
	p := newProvider(t, srv, ews.AuthNTLM)

	got, _, _ := drain(t, p, api.Inbox, "")
	it := got[mail].Item
	if it.Subject != "Quarterly figures" || it.From != "Bob <bob@contoso.test>" || len(it.To) != 1 || len(it.Cc) != 1 ||
		!strings.HasPrefix(it.MessageID, "<") || it.ConversationID == "" || !it.Time.Equal(now.Add(-time.Hour)) || it.Kind != api.KindMail {
		t.Fatalf("mail item: %+v", it)
	}
	if !strings.HasPrefix(it.Preview, "Hi Ann, the figures are attached. More words") || len([]rune(it.Preview)) > 201 || strings.Contains(it.Preview, "\n") {
		t.Fatalf("preview %q", it.Preview)
	}

	got, _, _ = drain(t, p, api.Calendar, "")
	if _, ok := got[past]; ok {
		t.Error("event 15 days back was synced")
	}
	if _, ok := got[future]; ok {
		t.Error("event 61 days ahead was synced")
	}
	ev := got[inWindow].Item
	if ev.Kind != api.KindEvent || ev.Location != "Room 4" || !ev.Start.Equal(now.Add(48*time.Hour)) || !ev.End.Equal(now.Add(49*time.Hour)) ||
		ev.Organizer != "Bob <bob@contoso.test>" || len(ev.Attendees) != 2 || !ev.Time.Equal(ev.Start) {
		t.Fatalf("event: %+v", ev)
	}
}

func TestEWSPagingAndDeletes(t *testing.T) {
	srv := newServer(t, ewstest.Config{PageSize: 10})
	ids := srv.Add(api.Inbox, 35, now.Add(-time.Hour))
	p := newProvider(t, srv, ews.AuthNTLM)
	got, cursor, pages := drain(t, p, api.Inbox, "")
	if len(got) != 35 || pages != 4 {
		t.Fatalf("%d items in %d pages", len(got), pages)
	}
	// An item created and deleted between two syncs, and one deleted after
	// being synced.
	gone := srv.Add(api.Inbox, 1, now)[0]
	srv.Delete(gone)
	srv.Delete(ids[3])
	got, _, _ = drain(t, p, api.Inbox, cursor)
	if c := got[ids[3]]; !c.Deleted || c.Item.Folder != api.Inbox {
		t.Errorf("deleted item: %+v", c)
	}
	if c, ok := got[gone]; ok && !c.Deleted {
		t.Errorf("item created and deleted between syncs delivered as live: %+v", c)
	}
}

func TestEWSErrors(t *testing.T) {
	cases := []struct {
		name   string
		fault  ewstest.Fault
		class  provider.Class
		atLeat time.Duration
	}{
		{"busy in HTTP 500", ewstest.Fault{Kind: ewstest.BusyFault, BackOff: 4 * time.Second}, provider.ClassThrottled, 4 * time.Second},
		{"busy in HTTP 200", ewstest.Fault{Kind: ewstest.BusyMessage, BackOff: 7 * time.Second}, provider.ClassThrottled, 7 * time.Second},
		{"HTTP 503", ewstest.Fault{Kind: ewstest.Unavailable, BackOff: 9 * time.Second}, provider.ClassThrottled, 9 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newServer(t, ewstest.Config{})
			srv.Add(api.Inbox, 3, now.Add(-time.Hour))
			p := newProvider(t, srv, ews.AuthNTLM)
			srv.FailNext(c.fault)
			_, err := p.Changes(context.Background(), api.Inbox, "", opts())
			if provider.Classify(err) != c.class || provider.RetryAfter(err) < c.atLeat {
				t.Fatalf("got %v (class %v, retry %v)", err, provider.Classify(err), provider.RetryAfter(err))
			}
		})
	}
	t.Run("busy during GetItem", func(t *testing.T) {
		srv := newServer(t, ewstest.Config{})
		srv.Add(api.Inbox, 3, now.Add(-time.Hour))
		p := newProvider(t, srv, ews.AuthNTLM)
		p.Changes(context.Background(), api.Inbox, "", opts()) // authenticate the connection
		srv.FailNext(ewstest.Fault{}, ewstest.Fault{Kind: ewstest.BusyMessage, BackOff: 2 * time.Second})
		// The first fault hits SyncFolderItems.
		if _, err := p.Changes(context.Background(), api.Inbox, "", opts()); provider.Classify(err) != provider.ClassThrottled {
			t.Fatalf("got %v", err)
		}
		if _, err := p.Changes(context.Background(), api.Inbox, "", opts()); provider.Classify(err) != provider.ClassThrottled || provider.RetryAfter(err) != 2*time.Second {
			t.Fatalf("GetItem busy: got %v", err)
		}
	})
	t.Run("bad password", func(t *testing.T) {
		srv := newServer(t, ewstest.Config{})
		p, _ := ews.New(ews.Config{URL: srv.EWSURL, Login: srv.Login(), Password: "wrong", Auth: ews.AuthNTLM, Transport: ews.NewTransport(srv.RootCAs(), nil)})
		_, err := p.Changes(context.Background(), api.Inbox, "", opts())
		if provider.Classify(err) != provider.ClassRejected || provider.Reason(err) != "The Exchange server refused the password." {
			t.Fatalf("got %v", err)
		}
		if strings.Contains(err.Error(), "wrong") {
			t.Fatalf("the error holds the password: %v", err)
		}
		if st := srv.Stats(); st.Logins != 1 || st.FailedLogins != 1 {
			t.Fatalf("logins: %+v", st)
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		srv := newServer(t, ewstest.Config{})
		p, _ := ews.New(ews.Config{URL: srv.EWSURL, Login: srv.Login(), Password: srv.Password(), Transport: ews.NewTransport(nil, nil)})
		_, err := p.Changes(context.Background(), api.Inbox, "", opts())
		if provider.Classify(err) != provider.ClassFailed || !strings.Contains(provider.Reason(err), "certificate isn't trusted") {
			t.Fatalf("got %v", err)
		}
		if st := srv.Stats(); st.Logins != 0 {
			t.Fatalf("credentials went to an untrusted server: %+v", st)
		}
	})
	t.Run("server down", func(t *testing.T) {
		srv := newServer(t, ewstest.Config{})
		url, pool := srv.EWSURL, srv.RootCAs()
		srv.Close()
		p, _ := ews.New(ews.Config{URL: url, Login: "a@b", Password: "x", Transport: ews.NewTransport(pool, nil)})
		if _, err := p.Changes(context.Background(), api.Inbox, "", opts()); provider.Classify(err) != provider.ClassOffline {
			t.Fatalf("got %v (class %v)", err, provider.Classify(err))
		}
	})
	t.Run("unreadable cursor", func(t *testing.T) {
		srv := newServer(t, ewstest.Config{})
		p := newProvider(t, srv, ews.AuthNTLM)
		if _, err := p.Changes(context.Background(), api.Inbox, "not json", opts()); provider.Classify(err) != provider.ClassCursorInvalid {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("http URL refused", func(t *testing.T) {
		if _, err := ews.New(ews.Config{URL: "http://mail.contoso.test/EWS/Exchange.asmx"}); err == nil || !strings.Contains(err.Error(), "https://") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestEWSAuthSchemes(t *testing.T) {
	cases := []struct {
		name   string
		offer  []string
		scheme string
	}{
		{"NTLM", []string{"NTLM"}, ews.AuthNTLM},
		{"Basic", []string{"Basic"}, ews.AuthBasic},
		{"challenge picks NTLM", []string{"NTLM", "Basic"}, ""},
		{"challenge picks Basic", []string{"Basic"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newServer(t, ewstest.Config{Auth: c.offer})
			srv.Add(api.Inbox, 300, now.Add(-time.Hour))
			p := newProvider(t, srv, c.scheme)
			got, _, _ := drain(t, p, api.Inbox, "")
			if len(got) != 300 {
				t.Fatalf("%d items", len(got))
			}
			st := srv.Stats()
			if c.offer[0] == "NTLM" && st.Logins != 1 {
				t.Errorf("NTLM: %d logins for one session, want 1 (the connection stays authenticated)", st.Logins)
			}
			if st.FailedLogins != 0 {
				t.Errorf("failed logins: %+v", st)
			}
		})
	}
}

func TestEWSCancelledMidway(t *testing.T) {
	srv := newServer(t, ewstest.Config{})
	srv.Add(api.Inbox, 10, now.Add(-time.Hour))
	p := newProvider(t, srv, ews.AuthNTLM)
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	if _, err := p.Changes(ctx, api.Inbox, "", opts()); err == nil || provider.Classify(err) == provider.ClassRejected {
		t.Fatalf("got %v", err)
	}
}
