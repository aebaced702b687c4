package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/store"
)

// Activation: connecting an account for the first time or again, with the
// same-mailbox check and the connections kept for "use anyway".

// Activate implements api.Control.
func (e *Engine) Activate(ctx context.Context, req api.ActivationRequest, progress func(api.ActivationProgress)) (api.Account, error) {
	conn, ok := e.cfg.Connectors[req.Provider]
	if !ok {
		return api.Account{}, fmt.Errorf("%w: %s accounts are not available in this build yet", api.ErrUnsupported, api.ProviderWords(req.Provider))
	}
	if progress == nil {
		progress = func(api.ActivationProgress) {}
	}
	if err := e.checkActivationPolicy(req); err != nil {
		return api.Account{}, err
	}
	var existing *api.Account
	if req.Account != "" {
		if len(req.Account) > 64 || !validID.MatchString(req.Account) {
			return api.Account{}, fmt.Errorf("%w: an account name may hold letters, digits, '.', '_' and '-' (at most 64)", api.ErrInvalid)
		}
		if a, err := e.cfg.Store.Account(ctx, req.Account); err == nil {
			if a.Provider != req.Provider {
				return api.Account{}, fmt.Errorf("%w: account %q is a %s account; remove it first to use it for %s", api.ErrInvalid, a.Provider, api.ProviderWords(a.Provider), api.ProviderWords(req.Provider))
			}
			existing = &a
			// Re-activation keeps what the account already knows (EWS URL,
			// tenant, client ID …); what the request gives wins.
			merged := maps.Clone(a.Settings)
			if merged == nil {
				merged = map[string]string{}
			}
			maps.Copy(merged, req.Settings)
			req.Settings = merged
			if req.Login == "" {
				req.Login = a.Login
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return api.Account{}, err
		}
	}
	if req.Settings == nil {
		req.Settings = map[string]string{}
	}
	// What the policy locks wins over what a re-activated account kept.
	maps.Copy(req.Settings, e.lockedSettings(req.Provider))
	c, ok := e.takePending(req)
	if !ok {
		var err error
		c, err = conn.Connect(ctx, req, progress)
		if err != nil {
			return api.Account{}, err
		}
	}
	// The same-mailbox check: nothing is stored and no sync starts until
	// the mailbox is the expected one or the user accepted it.
	if err := e.checkMailbox(req, existing, c.Account.Email); err != nil {
		var mm *api.MailboxMismatchError
		if errors.As(err, &mm) {
			if !mm.Enforced {
				e.putPending(req, c)
			}
			e.log.Warn("activation refused: another mailbox", "provider", req.Provider, "account", req.Account, "expected", mm.Expected, "got", mm.Got, "enforced", mm.Enforced)
		}
		return api.Account{}, err
	}
	a := api.Account{ID: c.Account.ID, Provider: req.Provider, Login: c.Account.Login, Email: c.Account.Email, Settings: c.Account.Settings}
	var err error
	switch {
	case existing != nil:
		a.ID, a.CreatedAt = existing.ID, existing.CreatedAt
		if existing.Email != "" && a.Email != "" && !strings.EqualFold(existing.Email, a.Email) {
			// Accepted by the user (checkMailbox refuses it otherwise).
			e.emit(api.Event{Type: api.EventNotice, Account: a.ID, Title: "A different mailbox was connected",
				Message: fmt.Sprintf("Account %s was %s and is now %s, as you chose.", a.ID, existing.Email, a.Email)})
		}
	case req.Account != "":
		a.ID = req.Account
	default:
		a.ID = deriveID(a.Email, a.Login)
		if _, err := e.cfg.Store.Account(ctx, a.ID); err == nil {
			return api.Account{}, fmt.Errorf("%w: an account named %q already exists; choose another name with --account", api.ErrInvalid, a.ID)
		}
	}
	if existing == nil {
		// The data of a removed account of that name is still being
		// deleted (the upkeep finishes it): the new account must not get
		// any of it, nor its secrets be stored before it can be added.
		pending, err := e.cfg.Store.PendingRemovals(ctx)
		if err != nil {
			return api.Account{}, err
		}
		if slices.Contains(pending, a.ID) {
			return api.Account{}, fmt.Errorf("%w: the account named %q is still being removed; add it again in a moment, once its data is deleted", api.ErrInvalid, a.ID)
		}
	}
	if a.CreatedAt.IsZero() {
		a.CreatedAt = e.cfg.Clock.Now()
	}
	for k, v := range c.Secrets {
		if err := e.cfg.Secrets.Set(a.ID, k, v); err != nil {
			return api.Account{}, err
		}
	}
	if existing != nil {
		err = e.cfg.Store.UpdateAccount(ctx, a)
	} else {
		err = e.cfg.Store.AddAccount(ctx, a)
	}
	if err != nil {
		return api.Account{}, err
	}
	e.log.Info("account activated", "account", a.ID, "provider", a.Provider)

	e.mu.Lock()
	r := e.runners[a.ID]
	e.mu.Unlock()
	if r == nil {
		if err := e.cfg.Store.PutRunState(ctx, a.ID, store.RunState{State: api.Idle.String()}); err != nil {
			return api.Account{}, err
		}
		r, err = e.loadRunner(ctx, a)
		if err != nil {
			return api.Account{}, err
		}
		r.reactivated(a)
		e.mu.Lock()
		e.runners[a.ID] = r
		e.startLocked(r)
		e.mu.Unlock()
	} else {
		r.reactivated(a)
	}
	e.emit(api.Event{Type: api.EventAccounts, Account: a.ID})
	return a, nil
}

var validID = regexp.MustCompile(`^[A-Za-z0-9._-]+$`) // and at most 64 bytes: checked apart (a counted repetition is costly to compile)

// SetMailboxPolicy changes the expected mailbox and its enforcement
// (Config.ExpectedMailbox, Config.EnforceMailbox) for the activations that
// follow, e.g. when the administrator policy is read again.
func (e *Engine) SetMailboxPolicy(expected string, enforce bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.expected, e.enforce = expected, enforce
}

// checkMailbox compares the mailbox Connect resolved (got) with the
// expected one: on re-activation the account's own mailbox, always; else
// the policy's expected mailbox, the request's, or the login or email the
// user typed when it is an address (a DOMAIN\user login is not comparable).
// It returns a *MailboxMismatchError unless they are the same
// (case-insensitively) or the request accepts got and nothing enforces.
func (e *Engine) checkMailbox(req api.ActivationRequest, existing *api.Account, got string) error {
	e.mu.Lock()
	expected, enforce := e.expected, e.enforce
	e.mu.Unlock()
	mm := &api.MailboxMismatchError{Got: got, Enforced: enforce}
	switch {
	case existing != nil && existing.Email != "":
		mm.Expected, mm.Account = existing.Email, existing.ID
	case expected != "":
		mm.Expected = expected
	case req.ExpectedMailbox != "":
		mm.Expected = req.ExpectedMailbox
	case isAddress(req.Email):
		mm.Expected = req.Email
	case isAddress(req.Login):
		mm.Expected = req.Login
	}
	if mm.Expected == "" || got == "" || strings.EqualFold(strings.TrimSpace(mm.Expected), strings.TrimSpace(got)) {
		return nil
	}
	if !enforce && req.AcceptMailbox != "" && strings.EqualFold(strings.TrimSpace(req.AcceptMailbox), strings.TrimSpace(got)) {
		e.log.Info("activation with another mailbox accepted by the user", "provider", req.Provider, "expected", mm.Expected, "got", got)
		return nil
	}
	return mm
}

// isAddress reports whether s looks like an email address (one '@' with
// something on each side, no backslash or space), i.e. can be compared with a
// mailbox address.
func isAddress(s string) bool {
	s = strings.TrimSpace(s)
	at := strings.IndexByte(s, '@')
	return at > 0 && at < len(s)-1 && strings.Count(s, "@") == 1 && !strings.ContainsAny(s, "\\ \t")
}

// pendingKey keys a refused connection by provider, account name and the
// mailbox it resolved.
func pendingKey(req api.ActivationRequest, mailbox string) string {
	return req.Provider + "\x00" + req.Account + "\x00" + strings.ToLower(strings.TrimSpace(mailbox))
}

// putPending keeps a connection refused for its mailbox for pendingTTL,
// dropping the expired ones.
func (e *Engine) putPending(req api.ActivationRequest, c provider.Connection) {
	now := e.cfg.Clock.Now()
	req.AcceptMailbox = ""
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, p := range e.pending {
		if now.Sub(p.at) > pendingTTL {
			delete(e.pending, k)
		}
	}
	e.pending[pendingKey(req, c.Account.Email)] = pendingConnection{req: req, conn: c, at: now}
}

// takePending returns, and forgets, the connection refused earlier for the
// same request when req accepts its mailbox now, so that "use anyway"
// needs no second sign-in. ok is false when there is none (or it is older
// than pendingTTL, or the request differs): then Connect runs again.
func (e *Engine) takePending(req api.ActivationRequest) (provider.Connection, bool) {
	if req.AcceptMailbox == "" {
		return provider.Connection{}, false
	}
	key := pendingKey(req, req.AcceptMailbox)
	req.AcceptMailbox = ""
	now := e.cfg.Clock.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.pending[key]
	if !ok {
		return provider.Connection{}, false
	}
	delete(e.pending, key)
	if now.Sub(p.at) > pendingTTL || !reflect.DeepEqual(p.req, req) {
		return provider.Connection{}, false
	}
	return p.conn, true
}

// deriveID makes an account name from the mailbox address or login.
func deriveID(email, login string) string {
	s := email
	if s == "" {
		s = login
	}
	if i := strings.LastIndexAny(s, `\`); i >= 0 {
		s = s[i+1:]
	}
	if i := strings.IndexByte(s, '@'); i >= 0 {
		s = s[:i]
	}
	s = strings.Map(func(r rune) rune {
		if r < 128 && validID.MatchString(string(r)) {
			return r
		}
		return '-'
	}, strings.ToLower(s))
	if s == "" {
		s = "mailbox"
	}
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}
