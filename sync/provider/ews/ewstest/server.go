// Package ewstest is an Exchange Web Services emulator for tests: an
// httptest TLS server, with its own certificate authority, that answers
// the SOAP shapes of Microsoft's published EWS examples (SyncFolderItems
// with SyncState paging, GetItem, ResolveNames, ErrorServerBusy faults,
// ErrorInvalidSyncStateData), the Autodiscover endpoints (SOAP
// GetUserSettings and POX) with their redirects, and authenticates with
// NTLMv2 (checking the proof against the password) or Basic.
//
// It also emulates Exchange impersonation (organisation mode): service
// accounts (AddServiceAccount) holding the ApplicationImpersonation role
// for some mailboxes (GrantImpersonation), requests whose SOAP header
// carries ExchangeImpersonation/ConnectingSID, the X-AnchorMailbox header
// that must name the impersonated mailbox, the errors
// ErrorImpersonationDenied, ErrorImpersonateUserDenied and
// ErrorNonExistentMailbox (SOAP faults), and the EWSMaxConcurrency
// throttling limit per account (Config.MaxConcurrency).
//
// It is a test package: nothing shipped imports it.
package ewstest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
)

// Config describes the emulated mailbox and server.
type Config struct {
	// Domain is the NetBIOS domain (default CONTOSO).
	Domain string
	// User is the sAMAccountName (default ann).
	User string
	// Email is the primary SMTP address and UPN (default ann@contoso.test).
	Email string
	// Password (default "Passw0rd!").
	Password string
	// Auth lists the schemes offered, in order: "NTLM", "Basic" (default
	// both, NTLM first).
	Auth []string
	// Hosts are the DNS names in the server certificate, besides 127.0.0.1
	// and localhost (default contoso.test and *.contoso.test).
	Hosts []string
	// PageSize caps SyncFolderItems pages below MaxChangesReturned (0: no
	// cap).
	PageSize int
	// MaxConcurrency is the throttling policy's EWSMaxConcurrency: how
	// many EWS requests of one account may be in flight at once; one more
	// is answered ErrorServerBusy ("You have exceeded the available
	// concurrent connections for your account"). Default 27 (Exchange
	// 2013 and later; Exchange 2010 had 10); negative: no limit.
	MaxConcurrency int
	// ChargeServiceAccount charges an impersonated request's concurrency
	// to the service account, as Exchange 2010 did. By default it is
	// charged to the impersonated mailbox, as Exchange 2013 and later and
	// Exchange Online do.
	ChargeServiceAccount bool
}

// Stats counts what reached the emulator.
type Stats struct {
	// Requests is every HTTP request to the EWS endpoint, handshake legs
	// included.
	Requests int `json:"requests"`
	// Calls counts authenticated EWS operations by name.
	Calls map[string]int `json:"calls"`
	// Logins counts requests that carried credentials: NTLM AUTHENTICATE
	// messages and Basic headers. FailedLogins is those that were wrong.
	Logins       int `json:"logins"`
	FailedLogins int `json:"failed_logins"`
	// Autodiscover counts requests per "host/path" (http: prefix for the
	// plain-http listener).
	Autodiscover map[string]int `json:"autodiscover"`
	// Impersonated counts EWS operations per impersonated mailbox
	// (impersonation accepted).
	Impersonated map[string]int `json:"impersonated"`
	// AnchorMismatches counts impersonated requests whose X-AnchorMailbox
	// header was missing or named another mailbox (refused).
	AnchorMismatches int `json:"anchor_mismatches"`
	// Busy counts requests refused for the concurrency limit.
	Busy int `json:"busy"`
	// MaxInFlight is the most requests of one account (as charged) seen
	// in flight at once.
	MaxInFlight int `json:"max_in_flight"`
}

// Server is a running emulator.
type Server struct {
	// TLS serves EWS and the https Autodiscover endpoints for every host
	// name; HTTP serves the plain-http Autodiscover redirect.
	TLS  *httptest.Server
	HTTP *httptest.Server
	// CA signed the server's certificate.
	CA *CA
	// EWSURL is https://127.0.0.1:PORT/EWS/Exchange.asmx.
	EWSURL string

	cfg       Config
	done      chan struct{}
	closeOnce sync.Once

	mu       sync.Mutex
	def      *account // the configured user
	accounts []*account
	epoch    int             // sync-state generation
	boxes    map[string]*box // by lowercased primary SMTP address
	defBox   *box
	byID     map[string]*item
	seq      int
	faults   []Fault
	stats    Stats
	ad       map[string]Autodiscover
	inflight map[string]int // requests in flight per charged account
	delay    time.Duration
}

// account is a directory account that can sign in.
type account struct {
	domain, user, email string
	password            string
	pwEpoch             int
	// role: holds ApplicationImpersonation; scope: the mailboxes
	// (lowercased addresses) its management scope includes.
	role  bool
	scope map[string]bool
}

func (a *account) login() string { return a.domain + `\` + a.user }

// box is a mailbox: its folders.
type box struct {
	email   string
	folders map[string]*folder
}

// The distinguished folder ids of the synced folders.
var folderIDs = map[api.Folder]string{api.Inbox: "inbox", api.Sent: "sentitems", api.Calendar: "calendar"}

type entryKind uint8

const (
	kindCreate entryKind = iota
	kindUpdate
	kindDelete
)

type entry struct {
	kind entryKind
	it   *item
}

type folder struct {
	id  string
	log []entry
}

type item struct {
	ID, folder       string
	box              *box
	changeKey        int
	class            string
	subject, body    string
	messageID        string
	conversation     string
	from             addr
	to, cc           []addr
	received, sent   time.Time
	start, end       time.Time
	location         string
	organizer        addr
	required, option []addr
	deleted          bool

	// The marks a user sets in Outlook: Sensitivity (Normal, Personal,
	// Private, Confidential; "" is Normal) and Categories.
	sensitivity string
	categories  []string
}

type addr struct{ name, email string }

// New starts an emulator.
func New(cfg Config) (*Server, error) {
	if cfg.Domain == "" {
		cfg.Domain = "CONTOSO"
	}
	if cfg.User == "" {
		cfg.User = "ann"
	}
	if cfg.Email == "" {
		cfg.Email = "ann@contoso.test"
	}
	if cfg.Password == "" {
		cfg.Password = "Passw0rd!"
	}
	if len(cfg.Auth) == 0 {
		cfg.Auth = []string{"NTLM", "Basic"}
	}
	if len(cfg.Hosts) == 0 {
		cfg.Hosts = []string{"contoso.test", "*.contoso.test"}
	}
	ca, err := NewCA()
	if err != nil {
		return nil, err
	}
	leaf, err := ca.Leaf(append([]string{"127.0.0.1", "localhost", "::1"}, cfg.Hosts...)...)
	if err != nil {
		return nil, err
	}
	if cfg.MaxConcurrency == 0 {
		cfg.MaxConcurrency = 27
	}
	s := &Server{
		CA: ca, cfg: cfg, done: make(chan struct{}),
		epoch: 1,
		boxes: map[string]*box{}, byID: map[string]*item{},
		stats:    newStats(),
		ad:       map[string]Autodiscover{},
		inflight: map[string]int{},
	}
	s.def = &account{domain: cfg.Domain, user: cfg.User, email: cfg.Email, password: cfg.Password}
	s.accounts = []*account{s.def}
	s.defBox = s.boxLocked(cfg.Email)
	s.TLS = httptest.NewUnstartedServer(http.HandlerFunc(s.serveTLS))
	s.TLS.Config.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		return context.WithValue(ctx, connKey{}, &connState{})
	}
	// Handshakes refused by a client that does not trust the CA are part
	// of the tests; keep them out of the output.
	s.TLS.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.TLS.TLS = &tls.Config{Certificates: []tls.Certificate{leaf}}
	s.TLS.StartTLS()
	s.HTTP = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.EWSURL = s.TLS.URL + "/EWS/Exchange.asmx"
	return s, nil
}

// Close stops the emulator.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.TLS.CloseClientConnections()
		s.TLS.Close()
		s.HTTP.Close()
	})
}

// Config returns the emulator's configuration (with defaults filled in).
func (s *Server) Config() Config { return s.cfg }

// Login returns the DOMAIN\user login.
func (s *Server) Login() string { return s.cfg.Domain + `\` + s.cfg.User }

// Password returns the current password.
func (s *Server) Password() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.def.password
}

func newStats() Stats {
	return Stats{Calls: map[string]int{}, Autodiscover: map[string]int{}, Impersonated: map[string]int{}}
}

// boxLocked returns the mailbox of email, making it when new.
func (s *Server) boxLocked(email string) *box {
	k := strings.ToLower(strings.TrimSpace(email))
	if b := s.boxes[k]; b != nil {
		return b
	}
	b := &box{email: email, folders: map[string]*folder{}}
	for _, id := range folderIDs {
		b.folders[id] = &folder{id: id}
	}
	s.boxes[k] = b
	return b
}

// Mailbox is one mailbox of the emulated organisation, for tests that
// impersonate several users.
type Mailbox struct {
	s *Server
	b *box
}

// AddMailbox adds a mailbox with primary SMTP address email (or returns it
// when it exists). The configured user's mailbox is AddMailbox(Config.Email).
func (s *Server) AddMailbox(email string) *Mailbox {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &Mailbox{s: s, b: s.boxLocked(email)}
}

// Address returns the mailbox's primary SMTP address.
func (m *Mailbox) Address() string { return m.b.email }

// AddMessage adds a message to the mailbox's Inbox or Sent Items.
func (m *Mailbox) AddMessage(f api.Folder, msg Message) string { return m.s.addMessage(m.b, f, msg) }

// AddEvent adds a meeting to the mailbox's Calendar.
func (m *Mailbox) AddEvent(e Event) string { return m.s.addEvent(m.b, e) }

// Add adds n generated items to the mailbox's folder (see Server.Add).
func (m *Mailbox) Add(f api.Folder, n int, at time.Time) []string { return m.s.add(m.b, f, n, at) }

// AddServiceAccount adds a directory account DOMAIN\user (login) with
// password, which may sign in to EWS; it holds no impersonation right
// until GrantImpersonation.
func (s *Server) AddServiceAccount(login, password string) {
	dom, user, ok := strings.Cut(login, `\`)
	if !ok {
		dom, user = s.cfg.Domain, login
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accounts = append(s.accounts, &account{domain: dom, user: user, email: strings.ToLower(user) + "@" + domainOf(s.cfg.Email), password: password})
}

func domainOf(email string) string {
	_, d, _ := strings.Cut(email, "@")
	return d
}

func (s *Server) accountLocked(login string) *account {
	dom, user, ok := strings.Cut(login, `\`)
	if !ok {
		user = login
	}
	for _, a := range s.accounts {
		if strings.EqualFold(a.user, user) && (dom == "" || strings.EqualFold(a.domain, dom)) {
			return a
		}
	}
	panic("ewstest: no account " + login)
}

// GrantImpersonation gives the account login the ApplicationImpersonation
// role, with a management scope that includes mailboxes (added to what it
// had). With no mailbox it holds the role with whatever scope it had
// (empty: nobody), as a role assignment whose scope matches no one.
func (s *Server) GrantImpersonation(login string, mailboxes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accountLocked(login)
	a.role = true
	if a.scope == nil {
		a.scope = map[string]bool{}
	}
	for _, m := range mailboxes {
		a.scope[strings.ToLower(m)] = true
	}
}

// RevokeImpersonation takes mailboxes out of login's scope; with no
// mailbox it removes the role assignment altogether.
func (s *Server) RevokeImpersonation(login string, mailboxes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accountLocked(login)
	if len(mailboxes) == 0 {
		a.role, a.scope = false, nil
		return
	}
	for _, m := range mailboxes {
		delete(a.scope, strings.ToLower(m))
	}
}

// SetAccountPassword changes login's password, as an administrator would;
// its connections authenticated with the old one are refused from then on.
func (s *Server) SetAccountPassword(login, pw string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accountLocked(login)
	a.password = pw
	a.pwEpoch++
}

// SetDelay makes every EWS request take at least d (0: none), so that
// tests can have requests in flight together.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

// RootCAs returns a pool trusting the emulator's certificate.
func (s *Server) RootCAs() *x509.CertPool { return s.CA.Pool() }

// Dialer returns a dial function that sends hosts (port 443 to the TLS
// listener, port 80 to the plain one) and 127.0.0.1 to the emulator and
// answers "no such host" for any other name, like DNS would for a domain
// that does not exist.
func (s *Server) Dialer(hosts ...string) func(ctx context.Context, network, address string) (net.Conn, error) {
	tlsAddr := s.TLS.Listener.Addr().String()
	httpAddr := s.HTTP.Listener.Addr().String()
	known := map[string]bool{}
	for _, h := range hosts {
		known[strings.ToLower(h)] = true
	}
	var d net.Dialer
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(address)
		if err != nil {
			return nil, err
		}
		if host == "127.0.0.1" || host == "localhost" {
			return d.DialContext(ctx, network, address)
		}
		if !known[strings.ToLower(host)] {
			return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
		}
		switch port {
		case "443":
			return d.DialContext(ctx, network, tlsAddr)
		case "80":
			return d.DialContext(ctx, network, httpAddr)
		}
		return d.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
	}
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Calls = map[string]int{}
	for k, v := range s.stats.Calls {
		st.Calls[k] = v
	}
	st.Autodiscover = map[string]int{}
	for k, v := range s.stats.Autodiscover {
		st.Autodiscover[k] = v
	}
	st.Impersonated = map[string]int{}
	for k, v := range s.stats.Impersonated {
		st.Impersonated[k] = v
	}
	return st
}

// ResetStats zeroes the counters.
func (s *Server) ResetStats() {
	s.mu.Lock()
	s.stats = newStats()
	s.mu.Unlock()
}

// SetPassword changes the password, as an administrator would. Connections
// authenticated with the old one are dropped.
func (s *Server) SetPassword(pw string) {
	s.mu.Lock()
	s.def.password = pw
	s.def.pwEpoch++
	s.mu.Unlock()
}

// InvalidateSyncStates makes every SyncState handed out so far invalid
// (ErrorInvalidSyncStateData).
func (s *Server) InvalidateSyncStates() {
	s.mu.Lock()
	s.epoch++
	s.mu.Unlock()
}

// FaultKind names an injected failure.
type FaultKind int

// Injected failures.
const (
	// BusyFault is ErrorServerBusy as an HTTP 500 SOAP fault.
	BusyFault FaultKind = iota
	// BusyMessage is ErrorServerBusy inside an HTTP 200 response message.
	BusyMessage
	// Unavailable is HTTP 503 with Retry-After.
	Unavailable
)

// Fault is a failure the next authenticated request answers with.
type Fault struct {
	Kind FaultKind
	// BackOff is BackOffMilliseconds, or Retry-After for Unavailable.
	BackOff time.Duration
}

// FailNext makes the next authenticated requests fail, one each.
func (s *Server) FailNext(f ...Fault) {
	s.mu.Lock()
	s.faults = append(s.faults, f...)
	s.mu.Unlock()
}

type connKey struct{}

type connState struct {
	mu        sync.Mutex
	challenge [8]byte
	authed    *account // the account the connection authenticated as
	pwEpoch   int      // its password generation then
}

func hostOnly(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		return strings.ToLower(host)
	}
	return strings.ToLower(h)
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	key := "http:" + hostOnly(r.Host) + strings.ToLower(r.URL.Path)
	s.mu.Lock()
	s.stats.Autodiscover[key]++
	a, ok := s.ad[key]
	s.mu.Unlock()
	switch {
	case ok && a.Location != "":
		http.Redirect(w, r, a.Location, http.StatusFound)
	case ok && a.Status != 0:
		w.WriteHeader(a.Status)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) serveTLS(w http.ResponseWriter, r *http.Request) {
	path := strings.ToLower(r.URL.Path)
	switch {
	case path == "/_emulator/stats":
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(s.Stats())
	case path == "/ews/exchange.asmx":
		s.serveEWS(w, r)
	case strings.HasPrefix(path, "/autodiscover/"):
		s.serveAutodiscover(w, r, path)
	default:
		http.NotFound(w, r)
	}
}

// authenticate checks the request's credentials and returns the account
// they belong to; when it returns nil it has answered 401.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) *account {
	cs, _ := r.Context().Value(connKey{}).(*connState)
	offers := func(scheme string) bool {
		for _, a := range s.cfg.Auth {
			if strings.EqualFold(a, scheme) {
				return true
			}
		}
		return false
	}
	challenge := func(ntlmToken string) *account {
		for _, a := range s.cfg.Auth {
			switch {
			case strings.EqualFold(a, "NTLM") && ntlmToken != "":
				w.Header().Add("WWW-Authenticate", "NTLM "+ntlmToken)
			case strings.EqualFold(a, "NTLM"):
				w.Header().Add("WWW-Authenticate", "NTLM")
			case strings.EqualFold(a, "Basic"):
				if ntlmToken == "" {
					w.Header().Add("WWW-Authenticate", `Basic realm="`+hostOnly(r.Host)+`"`)
				}
			}
		}
		w.WriteHeader(http.StatusUnauthorized)
		return nil
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.authed != nil {
		s.mu.Lock()
		same := cs.authed.pwEpoch == cs.pwEpoch
		s.mu.Unlock()
		if same {
			return cs.authed
		}
	}
	cs.authed = nil
	h := r.Header.Get("Authorization")
	scheme, token, _ := strings.Cut(h, " ")
	switch {
	case strings.EqualFold(scheme, "Basic") && offers("Basic"):
		user, pass, _ := r.BasicAuth()
		a, pw, _ := s.knownUser(user, "")
		ok := a != nil && pass == pw
		s.countLogin(ok)
		if ok {
			return a
		}
		return challenge("")
	case (strings.EqualFold(scheme, "NTLM") || strings.EqualFold(scheme, "Negotiate")) && offers("NTLM"):
		msg, err := base64.StdEncoding.DecodeString(strings.TrimSpace(token))
		if err != nil {
			return challenge("")
		}
		switch ntlmMessageType(msg) {
		case 1:
			rand.Read(cs.challenge[:])
			return challenge(base64.StdEncoding.EncodeToString(challengeMessage(cs.challenge, s.cfg.Domain, "EXCH01", time.Now())))
		case 3:
			m, err := parseAuthenticate(msg)
			var a *account
			var pw string
			var epoch int
			if err == nil {
				a, pw, epoch = s.knownUser(m.User, m.Domain)
			}
			ok := a != nil && verifyNTLMv2(m, pw, cs.challenge)
			s.countLogin(ok)
			if ok {
				cs.authed, cs.pwEpoch = a, epoch
				return a
			}
		}
	}
	return challenge("")
}

func (s *Server) countLogin(ok bool) {
	s.mu.Lock()
	s.stats.Logins++
	if !ok {
		s.stats.FailedLogins++
	}
	s.mu.Unlock()
}

// knownUser finds the account of DOMAIN\user (user and domain given apart),
// of a UPN, and for Basic of "DOMAIN\user" in one string; it returns the
// account's password and its generation too.
func (s *Server) knownUser(user, domain string) (*account, string, int) {
	if d, u, ok := strings.Cut(user, `\`); ok {
		user, domain = u, d
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.accounts {
		if (strings.EqualFold(user, a.email) && domain == "") ||
			(strings.EqualFold(user, a.user) && (domain == "" || strings.EqualFold(domain, a.domain))) {
			return a, a.password, a.pwEpoch
		}
	}
	return nil, "", 0
}

func (s *Server) wait(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-s.done:
	}
}
