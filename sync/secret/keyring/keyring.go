// Package keyring keeps an account's secrets (passwords, OAuth refresh
// tokens) in the operating system's keyring: the Secret Service on Linux
// (gnome-keyring, KWallet, KeePassXC …), the Keychain on macOS and the
// Credential Manager on Windows, through github.com/zalando/go-keyring.
//
// Two things are added on top of go-keyring:
//
//   - Chunking. Windows refuses secrets over 2560 bytes and macOS over about
//     3 KB, while OAuth tokens can be larger. A value over 2048 bytes
//     is split into chunks stored under the users "account/key#1",
//     "account/key#2", …, and the main entry "account/key" holds a small
//     manifest with the number of chunks and the SHA-256 of the whole value,
//     which [Store.Get] checks when it puts the value back together.
//   - Typed errors. A missing secret is [secret.ErrNotFound]; a keyring that cannot
//     be used at all (no Secret Service, no session bus, a locked keyring) is
//     an [*secret.UnavailableError] (errors.Is(err, [secret.ErrUnavailable])) whose message
//     tells the user what to do; a damaged chunked value is [secret.ErrCorrupt].
//
// There is never a plaintext fallback, and no error or log line produced by
// this package contains a secret.
//
// Calls can block while the keyring shows an unlock prompt to the user:
// go-keyring has no way to cancel them.
package keyring

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/inboxsync/inboxsync/sync/secret"
	"github.com/zalando/go-keyring"
)

// wellKnownKeys are the keys DeleteAccount removes.
var wellKnownKeys = []string{secret.KeyPassword, secret.KeyToken}

// chunkSize is the largest value, in bytes, stored as a single keyring
// entry, and the largest size of one chunk of a bigger value.
const chunkSize = 2048

// maxValueSize is the largest value, in bytes, that Set accepts.
const maxValueSize = 1 << 20

// maxChunks bounds the chunk count in a manifest. Values are split on
// UTF-8 boundaries, so a chunk can be up to 3 bytes short of chunkSize.
const maxChunks = (maxValueSize + chunkSize - 4) / (chunkSize - 3)

// backend is the subset of go-keyring the store uses.
type backend interface {
	Get(service, user string) (string, error)
	Set(service, user, value string) error
	Delete(service, user string) error
}

// goKeyring is the real backend: go-keyring's package functions.
type goKeyring struct{}

func (goKeyring) Get(service, user string) (string, error) { return keyring.Get(service, user) }
func (goKeyring) Set(service, user, value string) error    { return keyring.Set(service, user, value) }
func (goKeyring) Delete(service, user string) error        { return keyring.Delete(service, user) }

// NewKeyring returns a Store that keeps secrets in the OS keyring under the
// given service name (for example "inboxsync"). Each keyring item's user is
// account+"/"+key, or account+"/"+key+"#"+n for the chunks of a large value.
func NewKeyring(service string) secret.Store {
	return &keyringStore{service: service, kr: goKeyring{}}
}

// keyringStore is the Store returned by NewKeyring.
type keyringStore struct {
	service string
	kr      backend
	// mu serializes operations: a Set is several keyring writes, and two of
	// them interleaved on the same key would mix their chunks.
	mu sync.Mutex
}

// mainUser is the keyring user of the main entry of account/key.
func mainUser(account, key string) string { return account + "/" + key }

// chunkUser is the keyring user of chunk i (from 1) of account/key.
func chunkUser(account, key string, i int) string {
	return fmt.Sprintf("%s/%s#%d", account, key, i)
}

// checkNames validates account and key.
func checkNames(account, key string) error {
	switch {
	case account == "":
		return errors.New("secret: empty account name")
	case key == "":
		return errors.New("secret: empty key name")
	case strings.ContainsAny(key, "/#"):
		return fmt.Errorf("secret: key name %q must not contain '/' or '#'", key)
	}
	return nil
}

// Get implements Store.
func (s *keyringStore) Get(account, key string) (string, error) {
	if err := checkNames(account, key); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.get(account, key)
}

func (s *keyringStore) get(account, key string) (string, error) {
	v, err := s.call("read", account, key, func() (string, error) {
		return s.kr.Get(s.service, mainUser(account, key))
	})
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(v, manifestPrefix) {
		return v, nil
	}
	m, err := parseManifest(v)
	if err != nil {
		return "", fmt.Errorf("%w: %s/%s: %v", secret.ErrCorrupt, account, key, err)
	}
	var b strings.Builder
	for i := 1; i <= m.chunks; i++ {
		c, err := s.call("read", account, key, func() (string, error) {
			return s.kr.Get(s.service, chunkUser(account, key, i))
		})
		if errors.Is(err, secret.ErrNotFound) {
			return "", fmt.Errorf("%w: %s/%s: part %d of %d is missing from the keyring", secret.ErrCorrupt, account, key, i, m.chunks)
		}
		if err != nil {
			return "", err
		}
		b.WriteString(c)
	}
	value := b.String()
	if sum := sha256.Sum256([]byte(value)); hex.EncodeToString(sum[:]) != m.sum {
		return "", fmt.Errorf("%w: %s/%s: checksum mismatch over its %d parts", secret.ErrCorrupt, account, key, m.chunks)
	}
	return value, nil
}

// Set implements Store. A large value's chunks are written before its
// manifest, and chunks the new value no longer needs are deleted after it,
// so an interrupted Set never leaves a manifest that points at missing
// chunks: Get then returns the old value, the new one or secret.ErrCorrupt, never
// anything else.
func (s *keyringStore) Set(account, key, value string) error {
	if err := checkNames(account, key); err != nil {
		return err
	}
	if len(value) > maxValueSize {
		return fmt.Errorf("secret: %s/%s: the value is %d bytes, more than the %d the keyring store accepts", account, key, len(value), maxValueSize)
	}
	s.mu.Lock()
	defer s.mu.Unlock()

	main := value
	n := 0
	if len(value) > chunkSize || strings.HasPrefix(value, manifestPrefix) {
		// A value that looks like a manifest is chunked too, even when
		// small, so Get never mistakes it for one.
		chunks := split(value, chunkSize)
		for i, c := range chunks {
			if err := s.do("write", account, key, func() error {
				return s.kr.Set(s.service, chunkUser(account, key, i+1), c)
			}); err != nil {
				return err
			}
		}
		n = len(chunks)
		main = makeManifest(value, n)
	}
	if err := s.do("write", account, key, func() error {
		return s.kr.Set(s.service, mainUser(account, key), main)
	}); err != nil {
		return err
	}
	return s.deleteChunksFrom(account, key, n+1)
}

// Delete implements Store. The main entry goes first, so an interrupted
// Delete leaves at most orphan chunks, which the next Set or Delete removes.
func (s *keyringStore) Delete(account, key string) error {
	if err := checkNames(account, key); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.delete(account, key)
}

func (s *keyringStore) delete(account, key string) error {
	err := s.do("delete", account, key, func() error {
		return s.kr.Delete(s.service, mainUser(account, key))
	})
	if err != nil && !errors.Is(err, secret.ErrNotFound) {
		return err
	}
	return s.deleteChunksFrom(account, key, 1)
}

// DeleteAccount implements Store.
func (s *keyringStore) DeleteAccount(account string) error {
	if err := checkNames(account, secret.KeyPassword); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, key := range wellKnownKeys {
		if err := s.delete(account, key); err != nil {
			if errors.Is(err, secret.ErrUnavailable) {
				return err // the same for every key; say it once
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// deleteChunksFrom deletes the chunks of account/key numbered from first
// upwards. Chunks are always written from #1 up and deleted from the top
// down, so the ones present form an unbroken run: it finds the last one,
// then deletes downwards, which keeps the run unbroken if it is interrupted.
func (s *keyringStore) deleteChunksFrom(account, key string, first int) error {
	last := first - 1
	for last < maxChunks+1 {
		_, err := s.call("read", account, key, func() (string, error) {
			return s.kr.Get(s.service, chunkUser(account, key, last+1))
		})
		if errors.Is(err, secret.ErrNotFound) {
			break
		}
		if err != nil {
			return err
		}
		last++
	}
	for i := last; i >= first; i-- {
		err := s.do("delete", account, key, func() error {
			return s.kr.Delete(s.service, chunkUser(account, key, i))
		})
		if err != nil && !errors.Is(err, secret.ErrNotFound) {
			return err
		}
	}
	return nil
}

// call runs a backend read and classifies its error.
func (s *keyringStore) call(op, account, key string, f func() (string, error)) (string, error) {
	if err := sessionBusMissing(); err != nil {
		return "", newUnavailable(err)
	}
	v, err := f()
	if err != nil {
		return "", classify(op, account, key, err)
	}
	return v, nil
}

// do runs a backend write or delete and classifies its error.
func (s *keyringStore) do(op, account, key string, f func() error) error {
	_, err := s.call(op, account, key, func() (string, error) { return "", f() })
	return err
}
