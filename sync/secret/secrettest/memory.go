// Package secrettest provides an in-memory secret.Store for tests of code
// that keeps secrets (the engine, the auth package), so they need no
// keyring.
package secrettest

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/inboxsync/inboxsync/sync/secret"
)

// Memory is a secret.Store that keeps secrets in memory. It behaves like the
// keyring store: Get of a missing secret returns secret.ErrNotFound, Delete
// and DeleteAccount of missing ones return nil, DeleteAccount removes the
// well-known keys only, and bad names are refused. It is safe for
// concurrent use. The zero value is not usable: call NewMemory.
type Memory struct {
	mu      sync.Mutex
	secrets map[string]map[string]string // account → key → value
	failure error
}

var _ secret.Store = (*Memory)(nil)

// NewMemory returns an empty Memory.
func NewMemory() *Memory {
	return &Memory{secrets: map[string]map[string]string{}}
}

// SetFailure makes every later call fail with err, without touching the
// stored secrets, until SetFailure(nil). Pass an *secret.UnavailableError
// (for example &secret.UnavailableError{Err: errors.New("test")}) to
// simulate a missing or locked keyring.
func (m *Memory) SetFailure(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failure = err
}

// Len returns the number of secrets stored, across all accounts.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, keys := range m.secrets {
		n += len(keys)
	}
	return n
}

// Get implements secret.Store.
func (m *Memory) Get(account, key string) (string, error) {
	if err := checkNames(account, key); err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failure != nil {
		return "", m.failure
	}
	v, ok := m.secrets[account][key]
	if !ok {
		return "", secret.ErrNotFound
	}
	return v, nil
}

// Set implements secret.Store.
func (m *Memory) Set(account, key, value string) error {
	if err := checkNames(account, key); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failure != nil {
		return m.failure
	}
	if m.secrets[account] == nil {
		m.secrets[account] = map[string]string{}
	}
	m.secrets[account][key] = value
	return nil
}

// Delete implements secret.Store.
func (m *Memory) Delete(account, key string) error {
	if err := checkNames(account, key); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failure != nil {
		return m.failure
	}
	m.remove(account, key)
	return nil
}

// DeleteAccount implements secret.Store.
func (m *Memory) DeleteAccount(account string) error {
	if err := checkNames(account, secret.KeyPassword); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failure != nil {
		return m.failure
	}
	m.remove(account, secret.KeyPassword)
	m.remove(account, secret.KeyToken)
	return nil
}

// remove deletes one secret; m.mu must be held.
func (m *Memory) remove(account, key string) {
	delete(m.secrets[account], key)
	if len(m.secrets[account]) == 0 {
		delete(m.secrets, account)
	}
}

// checkNames refuses the names the keyring store refuses.
func checkNames(account, key string) error {
	switch {
	case account == "":
		return errors.New("secrettest: empty account name")
	case key == "":
		return errors.New("secrettest: empty key name")
	case strings.ContainsAny(key, "/#"):
		return fmt.Errorf("secrettest: key name %q must not contain '/' or '#'", key)
	}
	return nil
}
