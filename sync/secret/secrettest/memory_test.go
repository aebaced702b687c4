package secrettest

import (
	"errors"
	"sync"
	"testing"

	"github.com/inboxsync/inboxsync/sync/secret"
)

func TestMemory(t *testing.T) {
	m := NewMemory()
	if _, err := m.Get("a", secret.KeyPassword); !errors.Is(err, secret.ErrNotFound) {
		t.Fatalf("Get of a missing secret: %v", err)
	}
	for _, kv := range [][3]string{{"a", secret.KeyPassword, "pw"}, {"a", secret.KeyToken, "tok"}, {"a", "custom", "c"}, {"b", secret.KeyToken, "b-tok"}} {
		if err := m.Set(kv[0], kv[1], kv[2]); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := m.Get("a", secret.KeyToken); err != nil || v != "tok" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	if m.Len() != 4 {
		t.Fatalf("Len = %d, want 4", m.Len())
	}
	if err := m.Delete("a", secret.KeyPassword); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete("a", secret.KeyPassword); err != nil {
		t.Fatalf("Delete of a missing secret: %v", err)
	}
	if err := m.DeleteAccount("a"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Get("a", secret.KeyToken); !errors.Is(err, secret.ErrNotFound) {
		t.Errorf("token survived DeleteAccount: %v", err)
	}
	// Like the keyring store, DeleteAccount removes the well-known keys only.
	if v, _ := m.Get("a", "custom"); v != "c" {
		t.Error("DeleteAccount removed a key that is not well-known")
	}
	if v, _ := m.Get("b", secret.KeyToken); v != "b-tok" {
		t.Error("DeleteAccount touched another account")
	}
	if err := m.DeleteAccount("nobody"); err != nil {
		t.Errorf("DeleteAccount of an unknown account: %v", err)
	}
	if err := m.Set("a", "bad#key", "v"); err == nil {
		t.Error("a key with '#' was accepted")
	}
}

func TestMemoryFailure(t *testing.T) {
	m := NewMemory()
	if err := m.Set("a", secret.KeyPassword, "pw"); err != nil {
		t.Fatal(err)
	}
	boom := &secret.UnavailableError{Err: errors.New("test")}
	m.SetFailure(boom)
	_, err := m.Get("a", secret.KeyPassword)
	if !errors.Is(err, secret.ErrUnavailable) {
		t.Errorf("Get: %v", err)
	}
	for name, err := range map[string]error{
		"Set":           m.Set("a", secret.KeyPassword, "new"),
		"Delete":        m.Delete("a", secret.KeyPassword),
		"DeleteAccount": m.DeleteAccount("a"),
	} {
		if err != boom {
			t.Errorf("%s: %v, want the failure", name, err)
		}
	}
	m.SetFailure(nil)
	if v, err := m.Get("a", secret.KeyPassword); err != nil || v != "pw" {
		t.Errorf("after SetFailure(nil): %q, %v; want the untouched secret", v, err)
	}
}

func TestMemoryConcurrent(t *testing.T) {
	m := NewMemory()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			acct := string(rune('a' + i))
			for range 100 {
				_ = m.Set(acct, secret.KeyToken, "v")
				_, _ = m.Get(acct, secret.KeyToken)
				_ = m.Delete(acct, secret.KeyToken)
				m.SetFailure(nil)
				_ = m.Len()
			}
		}()
	}
	wg.Wait()
}
