package ews_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/ews"
	"github.com/inboxsync/inboxsync/sync/provider/ews/ewstest"
	"github.com/inboxsync/inboxsync/sync/secret"
	"github.com/inboxsync/inboxsync/sync/secret/secrettest"
)

// fakeResolver answers SRV lookups from a map.
type fakeResolver map[string][]*net.SRV

func (f fakeResolver) LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error) {
	key := "_" + service + "._" + proto + "." + name
	if r, ok := f[key]; ok {
		return key, r, nil
	}
	return "", nil, &net.DNSError{Err: "no such host", Name: key, IsNotFound: true}
}

var adHosts = []string{"contoso.test", "*.contoso.test", "fabrikam.test", "*.fabrikam.test"}

const (
	svc = "/autodiscover/autodiscover.svc"
	pox = "/autodiscover/autodiscover.xml"
)

func connect(t *testing.T, srv *ewstest.Server, o ews.Options, req api.ActivationRequest) (provider.Connection, []string, error) {
	t.Helper()
	if o.RootCAs == nil {
		o.RootCAs = srv.RootCAs()
	}
	if o.Resolver == nil {
		o.Resolver = fakeResolver{}
	}
	c := ews.NewConnector(o)
	if req.Provider == "" {
		req.Provider = "exchange"
	}
	if req.Password == "" {
		req.Password = srv.Password()
	}
	var msgs []string
	conn, err := c.Connect(context.Background(), req, func(p api.ActivationProgress) { msgs = append(msgs, p.Message) })
	return conn, msgs, err
}

func TestEWSAutodiscoverOrder(t *testing.T) {
	cases := []struct {
		name  string
		hosts []string // reachable host names
		setup func(s *ewstest.Server)
		srv   fakeResolver
		via   string
	}{
		{"domain SOAP", []string{"contoso.test"}, func(s *ewstest.Server) {
			s.SetAutodiscover("contoso.test", svc, ewstest.Autodiscover{EWSURL: s.EWSURL})
		}, nil, "https://contoso.test" + svc},
		{"domain POX", []string{"contoso.test"}, func(s *ewstest.Server) {
			s.SetAutodiscover("contoso.test", pox, ewstest.Autodiscover{EWSURL: s.EWSURL})
		}, nil, "https://contoso.test" + pox},
		{"autodiscover host", []string{"autodiscover.contoso.test"}, func(s *ewstest.Server) {
			s.SetAutodiscover("autodiscover.contoso.test", svc, ewstest.Autodiscover{EWSURL: s.EWSURL})
		}, nil, "https://autodiscover.contoso.test" + svc},
		{"unauthenticated http redirect", []string{"autodiscover.contoso.test", "mail.contoso.test"}, func(s *ewstest.Server) {
			s.SetAutodiscover("http:autodiscover.contoso.test", pox, ewstest.Autodiscover{Location: "https://mail.contoso.test" + pox})
			s.SetAutodiscover("mail.contoso.test", pox, ewstest.Autodiscover{EWSURL: s.EWSURL})
		}, nil, "https://mail.contoso.test" + pox},
		{"DNS SRV", []string{"mail.contoso.test"}, func(s *ewstest.Server) {
			s.SetAutodiscover("mail.contoso.test", svc, ewstest.Autodiscover{EWSURL: s.EWSURL})
		}, fakeResolver{"_autodiscover._tcp.contoso.test": {{Target: "mail.contoso.test.", Port: 443}}}, "https://mail.contoso.test" + svc},
		{"protocol URL redirect", []string{"contoso.test", "mail.contoso.test"}, func(s *ewstest.Server) {
			s.SetAutodiscover("contoso.test", svc, ewstest.Autodiscover{RedirectURL: "https://mail.contoso.test" + svc})
			s.SetAutodiscover("mail.contoso.test", svc, ewstest.Autodiscover{EWSURL: s.EWSURL})
		}, nil, "https://mail.contoso.test" + svc},
		{"address redirect", []string{"contoso.test", "fabrikam.test"}, func(s *ewstest.Server) {
			s.SetAutodiscover("contoso.test", pox, ewstest.Autodiscover{RedirectAddr: "ann@fabrikam.test"})
			s.SetAutodiscover("fabrikam.test", svc, ewstest.Autodiscover{EWSURL: s.EWSURL})
		}, nil, "https://fabrikam.test" + svc},
		{"one 401 is not proof", []string{"contoso.test", "autodiscover.contoso.test"}, func(s *ewstest.Server) {
			s.SetAutodiscover("contoso.test", svc, ewstest.Autodiscover{Status: 401})
			s.SetAutodiscover("autodiscover.contoso.test", svc, ewstest.Autodiscover{EWSURL: s.EWSURL})
		}, nil, "https://autodiscover.contoso.test" + svc},
		{"HTTP redirect to https", []string{"contoso.test", "mail.contoso.test"}, func(s *ewstest.Server) {
			s.SetAutodiscover("contoso.test", svc, ewstest.Autodiscover{Location: "https://mail.contoso.test" + svc})
			s.SetAutodiscover("mail.contoso.test", svc, ewstest.Autodiscover{EWSURL: s.EWSURL})
		}, nil, "https://mail.contoso.test" + svc},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newServer(t, ewstest.Config{Hosts: adHosts})
			c.setup(srv)
			conn, msgs, err := connect(t, srv, ews.Options{Dial: srv.Dialer(c.hosts...), Resolver: c.srv},
				api.ActivationRequest{Login: "ann@contoso.test"})
			if err != nil {
				t.Fatalf("Connect: %v", err)
			}
			if got := conn.Account.Settings[ews.SettingURL]; got != srv.EWSURL {
				t.Fatalf("ews_url %q, want %q", got, srv.EWSURL)
			}
			joined := strings.Join(msgs, "\n")
			if !strings.Contains(joined, "found the Exchange server: "+srv.EWSURL) || !strings.Contains(joined, "via "+c.via) {
				t.Fatalf("progress does not name the URL and %s:\n%s", c.via, joined)
			}
			if conn.Account.Email != "ann@contoso.test" || conn.Secrets[secret.KeyPassword] != srv.Password() {
				t.Fatalf("connection: %+v", conn.Account)
			}
		})
	}
}

func TestEWSAutodiscoverFailures(t *testing.T) {
	cases := []struct {
		name   string
		hosts  []string
		setup  func(s *ewstest.Server)
		budget time.Duration
		want   []string
	}{
		{"nothing answers", nil, func(s *ewstest.Server) {}, 0, []string{
			"Autodiscover could not find the Exchange server for contoso.test",
			"1) https://contoso.test/autodiscover/autodiscover.svc: no such DNS name",
			"https://autodiscover.contoso.test/autodiscover/autodiscover.xml: no such DNS name",
			"http://autodiscover.contoso.test/autodiscover/autodiscover.xml (unauthenticated redirect): no such DNS name",
			"DNS SRV _autodiscover._tcp.contoso.test: no such DNS name",
			"--ews-url",
		}},
		{"http redirect to http", []string{"autodiscover.contoso.test"}, func(s *ewstest.Server) {
			s.SetAutodiscover("http:autodiscover.contoso.test", pox, ewstest.Autodiscover{Location: "http://mail.contoso.test" + pox})
		}, 0, []string{"redirected to http://mail.contoso.test/autodiscover/autodiscover.xml, which is not https, refused"}},
		{"redirect loop", []string{"contoso.test", "autodiscover.contoso.test"}, func(s *ewstest.Server) {
			s.SetAutodiscover("contoso.test", svc, ewstest.Autodiscover{RedirectURL: "https://autodiscover.contoso.test" + svc})
			s.SetAutodiscover("autodiscover.contoso.test", svc, ewstest.Autodiscover{Location: "https://contoso.test" + svc})
		}, 0, []string{"https://contoso.test/autodiscover/autodiscover.svc: already tried (redirect loop), skipped"}},
		{"protocol redirect to http", []string{"contoso.test"}, func(s *ewstest.Server) {
			s.SetAutodiscover("contoso.test", svc, ewstest.Autodiscover{RedirectURL: "http://contoso.test/x"})
		}, 0, []string{"redirected to http://contoso.test/x, which is not https, refused"}},
		{"http EWS URL", []string{"contoso.test"}, func(s *ewstest.Server) {
			s.SetAutodiscover("contoso.test", svc, ewstest.Autodiscover{EWSURL: "http://mail.contoso.test/EWS/Exchange.asmx"})
		}, 0, []string{"named an EWS URL that is not https"}},
		{"time budget", []string{"contoso.test"}, func(s *ewstest.Server) {
			s.SetAutodiscover("contoso.test", svc, ewstest.Autodiscover{Hang: true})
		}, 300 * time.Millisecond, []string{"within its time limit", "the time limit was reached"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newServer(t, ewstest.Config{Hosts: adHosts})
			c.setup(srv)
			start := time.Now()
			_, _, err := connect(t, srv, ews.Options{Dial: srv.Dialer(c.hosts...), AutodiscoverBudget: c.budget},
				api.ActivationRequest{Login: `CONTOSO\ann`, Email: "ann@contoso.test"})
			if err == nil {
				t.Fatal("Connect succeeded")
			}
			if c.budget > 0 && time.Since(start) > c.budget+2*time.Second {
				t.Errorf("Autodiscover took %v with a budget of %v", time.Since(start), c.budget)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), srv.Password()) {
				t.Fatal("the error holds the password")
			}
		})
	}
}

func TestEWSConnect(t *testing.T) {
	t.Run("explicit URL, DOMAIN\\user, NTLM", func(t *testing.T) {
		srv := newServer(t, ewstest.Config{})
		conn, _, err := connect(t, srv, ews.Options{}, api.ActivationRequest{Login: `CONTOSO\ann`, Settings: map[string]string{ews.SettingURL: srv.EWSURL}})
		if err != nil {
			t.Fatal(err)
		}
		a := conn.Account
		if a.Email != "ann@contoso.test" || a.Login != `CONTOSO\ann` || a.Settings[ews.SettingAuth] != ews.AuthNTLM ||
			a.Settings[ews.SettingURL] != srv.EWSURL || a.Settings[ews.SettingLogin] != `CONTOSO\ann` {
			t.Fatalf("account: %+v", a)
		}
		for k, v := range a.Settings {
			if strings.Contains(v, srv.Password()) {
				t.Fatalf("setting %s holds the password", k)
			}
		}
		if st := srv.Stats(); st.Calls["ResolveNames"] != 1 || st.Logins != 1 {
			t.Fatalf("stats: %+v", st)
		}
		// The stored account opens and syncs.
		secrets := secrettest.NewMemory()
		a.ID = "work"
		for k, v := range conn.Secrets {
			secrets.Set(a.ID, k, v)
		}
		srv.Add(api.Inbox, 3, now.Add(-time.Hour))
		p, err := ews.NewConnector(ews.Options{RootCAs: srv.RootCAs()}).Open(context.Background(), a, secrets)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		if got, _, _ := drain(t, p, api.Inbox, ""); len(got) != 3 {
			t.Fatalf("%d items", len(got))
		}
	})
	t.Run("Basic is chosen from the challenge", func(t *testing.T) {
		srv := newServer(t, ewstest.Config{Auth: []string{"Basic"}})
		conn, _, err := connect(t, srv, ews.Options{}, api.ActivationRequest{Login: "ann@contoso.test", Settings: map[string]string{ews.SettingURL: srv.EWSURL}})
		if err != nil || conn.Account.Settings[ews.SettingAuth] != ews.AuthBasic {
			t.Fatalf("%v %+v", err, conn.Account)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		srv := newServer(t, ewstest.Config{})
		conn, _, err := connect(t, srv, ews.Options{}, api.ActivationRequest{Login: "ann@contoso.test", Password: "nope", Settings: map[string]string{ews.SettingURL: srv.EWSURL}})
		if provider.Classify(err) != provider.ClassRejected || provider.Reason(err) != "The Exchange server refused the password." || conn.Secrets != nil {
			t.Fatalf("got %v, %+v", err, conn)
		}
	})
	t.Run("http URL refused", func(t *testing.T) {
		srv := newServer(t, ewstest.Config{})
		_, _, err := connect(t, srv, ews.Options{}, api.ActivationRequest{Login: "ann@contoso.test", Settings: map[string]string{ews.SettingURL: "http://mail.contoso.test/EWS/Exchange.asmx"}})
		if !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), "must start with https://") {
			t.Fatalf("got %v", err)
		}
		if st := srv.Stats(); st.Requests != 0 {
			t.Fatal("a request was sent")
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		srv := newServer(t, ewstest.Config{})
		other, _ := ewstest.NewCA()
		_, _, err := connect(t, srv, ews.Options{RootCAs: other.Pool()}, api.ActivationRequest{Login: "ann@contoso.test", Settings: map[string]string{ews.SettingURL: srv.EWSURL}})
		if provider.Classify(err) != provider.ClassFailed || !strings.Contains(err.Error(), "certificate isn't trusted") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("missing login or password", func(t *testing.T) {
		srv := newServer(t, ewstest.Config{})
		c := ews.NewConnector(ews.Options{})
		for _, req := range []api.ActivationRequest{{Password: "x"}, {Login: "ann@contoso.test"}, {Login: `\ann`, Password: "x"}, {Login: "ann", Password: "x"}} {
			if _, err := c.Connect(context.Background(), req, nil); !errors.Is(err, api.ErrInvalid) {
				t.Errorf("%+v: got %v", req, err)
			}
		}
		_ = srv
	})
	t.Run("DOMAIN login without an EWS URL says what to do in the window and the CLI", func(t *testing.T) {
		c := ews.NewConnector(ews.Options{})
		_, err := c.Connect(context.Background(), api.ActivationRequest{Login: `CORP\ann`, Password: "x"}, nil)
		if !errors.Is(err, api.ErrInvalid) {
			t.Fatalf("got %v", err)
		}
		for _, want := range []string{"email address", "under More", "--email", "--ews-url"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%q does not say %q", err, want)
			}
		}
	})
	t.Run("password missing from the keyring", func(t *testing.T) {
		c := ews.NewConnector(ews.Options{})
		_, err := c.Open(context.Background(), storedAccount(), secrettest.NewMemory())
		if provider.Classify(err) != provider.ClassGrantGone {
			t.Fatalf("got %v", err)
		}
	})
}

func storedAccount() provider.Account {
	return provider.Account{ID: "work", Login: "ann@contoso.test",
		Settings: map[string]string{ews.SettingURL: "https://mail.contoso.test/EWS/Exchange.asmx", ews.SettingAuth: ews.AuthNTLM}}
}
