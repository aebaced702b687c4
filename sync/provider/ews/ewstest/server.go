// Package ewstest is an Exchange Web Services emulator for tests: an
// httptest TLS server, with its own certificate authority, that answers
// the SOAP shapes of Microsoft's published EWS examples (SyncFolderItems
// with SyncState paging, GetItem, ResolveNames, ErrorServerBusy faults,
// ErrorInvalidSyncStateData), the Autodiscover endpoints (SOAP
// GetUserSettings and POX) with their redirects, and authenticates with
// NTLMv2 (checking the proof against the password) or Basic.
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
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
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
	password string
	pwEpoch  int
	epoch    int // sync-state generation
	folders  map[string]*folder
	byID     map[string]*item
	seq      int
	faults   []Fault
	stats    Stats
	ad       map[string]Autodiscover
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
	s := &Server{
		CA: ca, cfg: cfg, done: make(chan struct{}),
		password: cfg.Password, epoch: 1,
		folders: map[string]*folder{}, byID: map[string]*item{},
		stats: Stats{Calls: map[string]int{}, Autodiscover: map[string]int{}},
		ad:    map[string]Autodiscover{},
	}
	for _, id := range folderIDs {
		s.folders[id] = &folder{id: id}
	}
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
	return s.password
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
	return st
}

// ResetStats zeroes the counters.
func (s *Server) ResetStats() {
	s.mu.Lock()
	s.stats = Stats{Calls: map[string]int{}, Autodiscover: map[string]int{}}
	s.mu.Unlock()
}

// SetPassword changes the password, as an administrator would. Connections
// authenticated with the old one are dropped.
func (s *Server) SetPassword(pw string) {
	s.mu.Lock()
	s.password = pw
	s.pwEpoch++
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

// Message is a mail item to add.
type Message struct {
	Subject, Body string
	From          string
	To, Cc        []string
	Received      time.Time
	// Categories and Sensitivity (Normal, Personal, Private,
	// Confidential; "" is Normal) are the marks a user sets in Outlook.
	Categories  []string
	Sensitivity string
	// Conversation, when set, puts the message in that conversation (an
	// earlier message's, see ConversationOf); else it starts its own.
	Conversation string
}

// Event is a calendar item to add.
type Event struct {
	Subject, Location  string
	Start, End         time.Time
	Organizer          string
	Required, Optional []string
	// Categories and Sensitivity are the marks, as for Message.
	Categories  []string
	Sensitivity string
}

func mkAddr(s string) addr {
	name, _, _ := strings.Cut(s, "@")
	if name == "" {
		return addr{email: s}
	}
	return addr{name: strings.ToUpper(name[:1]) + name[1:], email: s}
}

func mkAddrs(ss []string) []addr {
	var out []addr
	for _, s := range ss {
		out = append(out, mkAddr(s))
	}
	return out
}

func (s *Server) newItemLocked(fid string) *item {
	s.seq++
	raw := fmt.Sprintf("AAMkAGI2TG93AAA%s%08d", fid, s.seq)
	it := &item{ID: base64.StdEncoding.EncodeToString([]byte(raw)), folder: fid}
	it.conversation = base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("AAQkAGI2conv%08d", s.seq)))
	it.messageID = fmt.Sprintf("<%08d.%s@contoso.test>", s.seq, fid)
	return it
}

func (s *Server) addLocked(it *item) string {
	f := s.folders[it.folder]
	s.byID[it.ID] = it
	f.log = append(f.log, entry{kindCreate, it})
	return it.ID
}

// AddMessage adds a message to the Inbox or Sent Items and returns its id.
func (s *Server) AddMessage(f api.Folder, m Message) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.newItemLocked(folderIDs[f])
	it.class = "IPM.Note"
	it.subject, it.body = m.Subject, m.Body
	it.from = mkAddr(m.From)
	it.to, it.cc = mkAddrs(m.To), mkAddrs(m.Cc)
	it.received, it.sent = m.Received.UTC(), m.Received.Add(-time.Minute).UTC()
	it.categories, it.sensitivity = slices.Clone(m.Categories), m.Sensitivity
	if m.Conversation != "" {
		it.conversation = m.Conversation
	}
	return s.addLocked(it)
}

// AddEvent adds a meeting to the Calendar and returns its id.
func (s *Server) AddEvent(e Event) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.newItemLocked("calendar")
	it.class = "IPM.Appointment"
	it.subject, it.location = e.Subject, e.Location
	it.start, it.end = e.Start.UTC(), e.End.UTC()
	it.received = e.Start.Add(-7 * 24 * time.Hour).UTC()
	it.organizer = mkAddr(e.Organizer)
	it.required, it.option = mkAddrs(e.Required), mkAddrs(e.Optional)
	it.categories, it.sensitivity = slices.Clone(e.Categories), e.Sensitivity
	it.body = "Agenda: " + e.Subject
	return s.addLocked(it)
}

// Add adds n generated items dated at (for the calendar: starting at) to
// folder and returns their ids.
func (s *Server) Add(f api.Folder, n int, at time.Time) []string {
	ids := make([]string, 0, n)
	for i := range n {
		if f == api.Calendar {
			ids = append(ids, s.AddEvent(Event{
				Subject: fmt.Sprintf("Meeting %d", i), Location: "Room " + strconv.Itoa(i%9+1),
				Start: at, End: at.Add(time.Hour), Organizer: "bob@contoso.test",
				Required: []string{"ann@contoso.test"}, Optional: []string{"carol@contoso.test"},
			}))
			continue
		}
		ids = append(ids, s.AddMessage(f, Message{
			Subject:  fmt.Sprintf("%s message %d", f, i),
			Body:     fmt.Sprintf("Hello Ann,\r\n\r\nthis is message %d of the emulated %s folder. It has a body long enough to be cut for the preview: %s", i, f, strings.Repeat("lorem ipsum dolor sit amet ", 12)),
			From:     "bob@contoso.test",
			To:       []string{"ann@contoso.test"},
			Cc:       []string{"carol@contoso.test"},
			Received: at,
		}))
	}
	return ids
}

// Update changes an item's subject so that it syncs again.
func (s *Server) Update(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.byID[id]
	if it == nil || it.deleted {
		return fmt.Errorf("ewstest: no item %q", id)
	}
	it.changeKey++
	it.subject += " (edited)"
	f := s.folders[it.folder]
	f.log = append(f.log, entry{kindUpdate, it})
	return nil
}

// SetCategories sets an item's categories, as a user does in Outlook: the
// item's ChangeKey moves and the next SyncFolderItems reports it in an
// Update; nothing else of it changes.
func (s *Server) SetCategories(id string, names ...string) error {
	return s.mark(id, func(it *item) { it.categories = slices.Clone(names) })
}

// SetSensitivity sets an item's Sensitivity (Normal, Personal, Private or
// Confidential); the next SyncFolderItems reports it in an Update.
func (s *Server) SetSensitivity(id, sensitivity string) error {
	return s.mark(id, func(it *item) { it.sensitivity = sensitivity })
}

func (s *Server) mark(id string, set func(*item)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.byID[id]
	if it == nil || it.deleted {
		return fmt.Errorf("ewstest: no item %q", id)
	}
	set(it)
	it.changeKey++
	f := s.folders[it.folder]
	f.log = append(f.log, entry{kindUpdate, it})
	return nil
}

// ConversationOf returns the ConversationId of an item ("" when unknown).
func (s *Server) ConversationOf(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it := s.byID[id]; it != nil {
		return it.conversation
	}
	return ""
}

// Delete removes an item.
func (s *Server) Delete(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.byID[id]
	if it == nil || it.deleted {
		return fmt.Errorf("ewstest: no item %q", id)
	}
	it.deleted = true
	f := s.folders[it.folder]
	f.log = append(f.log, entry{kindDelete, it})
	return nil
}

type connKey struct{}

type connState struct {
	mu        sync.Mutex
	challenge [8]byte
	authed    bool
	pwEpoch   int
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

// authenticate checks the request's credentials; when it returns false it
// has answered 401.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) bool {
	cs, _ := r.Context().Value(connKey{}).(*connState)
	s.mu.Lock()
	pw, pwEpoch := s.password, s.pwEpoch
	s.mu.Unlock()
	offers := func(scheme string) bool {
		for _, a := range s.cfg.Auth {
			if strings.EqualFold(a, scheme) {
				return true
			}
		}
		return false
	}
	challenge := func(ntlmToken string) bool {
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
		return false
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.authed && cs.pwEpoch == pwEpoch {
		return true
	}
	cs.authed = false
	h := r.Header.Get("Authorization")
	scheme, token, _ := strings.Cut(h, " ")
	switch {
	case strings.EqualFold(scheme, "Basic") && offers("Basic"):
		user, pass, _ := r.BasicAuth()
		ok := s.knownUser(user, "") && pass == pw
		s.countLogin(ok)
		if ok {
			return true
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
			ok := err == nil && s.knownUser(m.User, m.Domain) && verifyNTLMv2(m, pw, cs.challenge)
			s.countLogin(ok)
			if ok {
				cs.authed, cs.pwEpoch = true, pwEpoch
				return true
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

// knownUser accepts DOMAIN\user (user and domain given apart), the UPN, and
// for Basic "DOMAIN\user" in one string.
func (s *Server) knownUser(user, domain string) bool {
	if d, u, ok := strings.Cut(user, `\`); ok {
		user, domain = u, d
	}
	if strings.EqualFold(user, s.cfg.Email) && domain == "" {
		return true
	}
	return strings.EqualFold(user, s.cfg.User) && (domain == "" || strings.EqualFold(domain, s.cfg.Domain))
}

func (s *Server) wait(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-s.done:
	}
}
