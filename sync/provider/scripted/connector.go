package scripted

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/secret"
)

// Connector connects accounts to scripted mailboxes. An account's
// "mailbox" setting names its mailbox: a name registered with Register, or
// (when the connector was made by NewFileConnector) the path of a JSON
// script file that is read again before every session.
type Connector struct {
	mu        sync.Mutex
	mailboxes map[string]*Mailbox
	files     bool
	applied   map[string]Script
}

var _ provider.Connector = (*Connector)(nil)

// NewConnector returns a connector for mailboxes registered with Register.
func NewConnector() *Connector {
	return &Connector{mailboxes: map[string]*Mailbox{}}
}

// NewFileConnector returns a connector whose mailboxes are script files.
func NewFileConnector() *Connector {
	return &Connector{mailboxes: map[string]*Mailbox{}, files: true, applied: map[string]Script{}}
}

// Register makes m reachable as name.
func (c *Connector) Register(name string, m *Mailbox) {
	c.mu.Lock()
	c.mailboxes[name] = m
	c.mu.Unlock()
}

// Script is the file form of a mailbox, for end-to-end tests of the real
// binary. Counts only grow: raising "inbox" from 10 to 15 adds 5 items.
type Script struct {
	Inbox     int    `json:"inbox"`
	Sent      int    `json:"sent"`
	Calendar  int    `json:"calendar"`
	Password  string `json:"password,omitempty"`
	Email     string `json:"email,omitempty"`
	PageSize  int    `json:"page_size,omitempty"`
	PageDelay string `json:"page_delay,omitempty"`
	// Fail makes every call fail: "offline", "throttled", "rejected",
	// "grant-gone", "failed" or "cursor-invalid".
	Fail       string `json:"fail,omitempty"`
	RetryAfter string `json:"retry_after,omitempty"`
	// FailTimes limits Fail to the next FailTimes calls after the script
	// changed (0: every call), e.g. a throttle or an outage that passes.
	FailTimes int `json:"fail_times,omitempty"`
}

func (c *Connector) mailbox(name string) (*Mailbox, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: a scripted account needs a mailbox setting", api.ErrInvalid)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.mailboxes[name]
	if !c.files {
		if m == nil {
			return nil, fmt.Errorf("%w: no scripted mailbox %q", api.ErrInvalid, name)
		}
		return m, nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("reading mailbox script: %w", err)
	}
	var s Script
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("reading mailbox script %s: %w", name, err)
	}
	if m == nil {
		m = New()
		c.mailboxes[name] = m
	}
	old := c.applied[name]
	at := time.Now().Add(-time.Hour)
	for _, f := range []struct {
		folder   api.Folder
		old, new int
	}{{api.Inbox, old.Inbox, s.Inbox}, {api.Sent, old.Sent, s.Sent}, {api.Calendar, old.Calendar, s.Calendar}} {
		if f.new > f.old {
			m.Add(f.folder, f.new-f.old, at)
		}
	}
	m.SetPassword(s.Password)
	m.SetPageSize(s.PageSize)
	d, _ := time.ParseDuration(s.PageDelay)
	m.SetPageDelay(d)
	if s != old {
		// A changed script arms its failures afresh.
		m.clearFailNext()
		if s.FailTimes > 0 {
			for range s.FailTimes {
				m.FailNext(scriptedFailure(s))
			}
		}
	}
	if s.FailTimes > 0 {
		m.FailAll(nil)
	} else {
		m.FailAll(scriptedFailure(s))
	}
	c.applied[name] = s
	return m, nil
}

func scriptedFailure(s Script) error {
	cause := errors.New("scripted failure")
	switch s.Fail {
	case "":
		return nil
	case "offline":
		return provider.Offline(cause)
	case "throttled":
		d, _ := time.ParseDuration(s.RetryAfter)
		return provider.Throttled(d, cause)
	case "rejected":
		return provider.Rejected("The mailbox refused the password.", ErrBadPassword)
	case "grant-gone":
		return provider.GrantGone("Your organisation requires you to sign in again.", cause)
	case "cursor-invalid":
		return provider.CursorInvalid(cause)
	}
	return provider.Failed("The mail server answered with an error.", cause)
}

// Connect implements provider.Connector: the password must match the
// mailbox's.
func (c *Connector) Connect(ctx context.Context, req api.ActivationRequest, progress func(api.ActivationProgress)) (provider.Connection, error) {
	name := req.Settings["mailbox"]
	m, err := c.mailbox(name)
	if err != nil {
		return provider.Connection{}, err
	}
	m.mu.Lock()
	want := m.password
	m.mu.Unlock()
	if want != "" && req.Password != want {
		return provider.Connection{}, provider.Rejected("The password is wrong.", ErrBadPassword)
	}
	email := req.Email
	if email == "" && c.files {
		c.mu.Lock()
		email = c.applied[name].Email
		c.mu.Unlock()
	}
	if email == "" {
		email = req.Login + "@scripted.test"
	}
	conn := provider.Connection{
		Account: provider.Account{ID: req.Account, Login: req.Login, Email: email, Settings: map[string]string{"mailbox": name}},
	}
	if req.Password != "" {
		conn.Secrets = map[string]string{secret.KeyPassword: req.Password}
	}
	return conn, nil
}

// Open implements provider.Connector. For file mailboxes it also counts the
// opens in "<script>.opens", so that a test can tell how many sessions
// reached the mailbox.
func (c *Connector) Open(ctx context.Context, acct provider.Account, secrets secret.Store) (provider.Provider, error) {
	name := acct.Settings["mailbox"]
	m, err := c.mailbox(name)
	if err != nil {
		return nil, err
	}
	pw, err := secrets.Get(acct.ID, secret.KeyPassword)
	if err != nil && !errors.Is(err, secret.ErrNotFound) {
		return nil, err
	}
	if c.files {
		n := 0
		if b, err := os.ReadFile(name + ".opens"); err == nil {
			n, _ = strconv.Atoi(string(b))
		}
		if err := os.WriteFile(name+".opens", []byte(strconv.Itoa(n+1)), 0o600); err != nil {
			return nil, err
		}
	}
	return m.Provider(pw), nil
}
