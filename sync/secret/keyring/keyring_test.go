package keyring

// These tests run against the real keyring: on Linux the Secret Service on
// the session bus (scripts/with-keyring.sh provides a throwaway
// gnome-keyring). They skip when there is no session bus, unless
// INBOXSYNC_REQUIRE_KEYRING=1, when they fail instead (CI sets it).

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/inboxsync/inboxsync/sync/secret"
	"github.com/zalando/go-keyring"
)

// requireKeyring skips or fails t when there is no keyring to test with.
func requireKeyring(t *testing.T) {
	t.Helper()
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") != "" || runtime.GOOS == "windows" { // Credential Manager is always there
		return
	}
	if os.Getenv("INBOXSYNC_REQUIRE_KEYRING") == "1" {
		t.Fatal("INBOXSYNC_REQUIRE_KEYRING=1 but DBUS_SESSION_BUS_ADDRESS is not set: run the tests under scripts/with-keyring.sh")
	}
	t.Skip("no session bus (DBUS_SESSION_BUS_ADDRESS is not set): run under scripts/with-keyring.sh to test against the real keyring")
}

// testService returns a service name no other test uses, and removes all of
// its items when t ends.
func testService(t *testing.T) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	service := "inboxsync-test-" + hex.EncodeToString(b)
	t.Cleanup(func() {
		if err := keyring.DeleteAll(service); err != nil && !errors.Is(err, keyring.ErrNotFound) {
			t.Errorf("cleaning up service %s: %v", service, err)
		}
	})
	return service
}

// newTestStore returns a keyring store on a fresh service, and the service.
func newTestStore(t *testing.T) (secret.Store, string) {
	t.Helper()
	requireKeyring(t)
	service := testService(t)
	return NewKeyring(service), service
}

// bigValue returns a value of exactly n bytes that mixes ASCII and
// multi-byte characters, so chunk boundaries fall inside characters.
func bigValue(t *testing.T, n int, seed uint64) string {
	t.Helper()
	r := mrand.New(mrand.NewPCG(seed, 42))
	alphabet := []rune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~é€🔑")
	var b strings.Builder
	for b.Len() < n-4 {
		b.WriteRune(alphabet[r.IntN(len(alphabet))])
	}
	for b.Len() < n {
		b.WriteByte('x')
	}
	return b.String()
}

// rawGet reads an item directly with go-keyring.
func rawGet(t *testing.T, service, user string) (string, bool) {
	t.Helper()
	v, err := keyring.Get(service, user)
	if errors.Is(err, keyring.ErrNotFound) {
		return "", false
	}
	if err != nil {
		t.Fatalf("go-keyring Get %s: %v", user, err)
	}
	return v, true
}

// assertChunks checks that account/key has exactly n chunks in the keyring.
func assertChunks(t *testing.T, service, account, key string, n int) {
	t.Helper()
	for i := 1; i <= n+2; i++ {
		_, ok := rawGet(t, service, chunkUser(account, key, i))
		if ok != (i <= n) {
			t.Errorf("chunk %s present = %v, want %v", chunkUser(account, key, i), ok, i <= n)
		}
	}
}

func mustSet(t *testing.T, s secret.Store, account, key, value string) {
	t.Helper()
	if err := s.Set(account, key, value); err != nil {
		t.Fatalf("Set(%s, %s, %d bytes): %v", account, key, len(value), err)
	}
}

func mustGet(t *testing.T, s secret.Store, account, key, want string) {
	t.Helper()
	got, err := s.Get(account, key)
	if err != nil {
		t.Fatalf("Get(%s, %s): %v", account, key, err)
	}
	if got != want {
		t.Fatalf("Get(%s, %s) = %d bytes, want the %d bytes stored (first difference at byte %d)", account, key, len(got), len(want), firstDiff(got, want))
	}
}

func firstDiff(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestRoundTripSmall(t *testing.T) {
	s, service := newTestStore(t)
	values := map[string]string{
		"plain":      "hunter2",
		"empty":      "",
		"unicode":    "pässwörd 🔑 пароль",
		"whitespace": "  line one\nline two\ttab\r\n",
		"quotes":     `'single' "double" $(rm -rf /) \backslash`,
		"exactly-2k": strings.Repeat("k", chunkSize),
	}
	for name, v := range values {
		t.Run(name, func(t *testing.T) {
			account := "acct-" + name
			mustSet(t, s, account, secret.KeyPassword, v)
			mustGet(t, s, account, secret.KeyPassword, v)
			// Small values are stored as they are, in one item.
			if raw, ok := rawGet(t, service, account+"/"+secret.KeyPassword); !ok || raw != v {
				t.Errorf("main item holds %d bytes (present %v), want the value itself", len(raw), ok)
			}
			assertChunks(t, service, account, secret.KeyPassword, 0)
		})
	}
	// Keys of one account are independent.
	mustSet(t, s, "acct", secret.KeyPassword, "pw")
	mustSet(t, s, "acct", secret.KeyToken, "tok")
	mustGet(t, s, "acct", secret.KeyPassword, "pw")
	mustGet(t, s, "acct", secret.KeyToken, "tok")
	// Overwrite.
	mustSet(t, s, "acct", secret.KeyPassword, "pw2")
	mustGet(t, s, "acct", secret.KeyPassword, "pw2")
}

func TestRoundTripLarge(t *testing.T) {
	s, service := newTestStore(t)
	for _, size := range []int{chunkSize + 1, 10 * 1024, 100 * 1024} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			v := bigValue(t, size, uint64(size))
			mustSet(t, s, "acct", secret.KeyToken, v)
			mustGet(t, s, "acct", secret.KeyToken, v)

			main, ok := rawGet(t, service, "acct/"+secret.KeyToken)
			if !ok || !strings.HasPrefix(main, manifestPrefix) || len(main) > 200 {
				t.Fatalf("main item is %d bytes (present %v), want a short manifest", len(main), ok)
			}
			m, err := parseManifest(main)
			if err != nil {
				t.Fatal(err)
			}
			var whole strings.Builder
			for i := 1; i <= m.chunks; i++ {
				c, ok := rawGet(t, service, chunkUser("acct", secret.KeyToken, i))
				if !ok {
					t.Fatalf("chunk %d of %d missing", i, m.chunks)
				}
				if len(c) == 0 || len(c) > chunkSize {
					t.Errorf("chunk %d is %d bytes, want 1..%d", i, len(c), chunkSize)
				}
				if !utf8.ValidString(c) {
					t.Errorf("chunk %d splits a character", i)
				}
				whole.WriteString(c)
			}
			if whole.String() != v {
				t.Error("chunks do not add up to the value")
			}
			assertChunks(t, service, "acct", secret.KeyToken, m.chunks)
		})
	}
}

func TestOverwriteLargeWithSmallRemovesChunks(t *testing.T) {
	s, service := newTestStore(t)
	large := bigValue(t, 10*1024, 1)
	mustSet(t, s, "acct", secret.KeyToken, large)
	if _, ok := rawGet(t, service, "acct/"+secret.KeyToken+"#1"); !ok {
		t.Fatal("no chunk #1 after storing 10 KB")
	}
	mustSet(t, s, "acct", secret.KeyToken, "small")
	mustGet(t, s, "acct", secret.KeyToken, "small")
	if _, ok := rawGet(t, service, "acct/"+secret.KeyToken+"#1"); ok {
		t.Error("chunk acct/oauth-token#1 still in the keyring after a small value replaced the large one")
	}
	assertChunks(t, service, "acct", secret.KeyToken, 0)
}

func TestOverwriteLargeWithSmallerLarge(t *testing.T) {
	s, service := newTestStore(t)
	mustSet(t, s, "acct", secret.KeyToken, bigValue(t, 100*1024, 2))
	v := bigValue(t, 5*1024, 3)
	mustSet(t, s, "acct", secret.KeyToken, v)
	mustGet(t, s, "acct", secret.KeyToken, v)
	m, err := parseManifest(mustRaw(t, service, "acct/"+secret.KeyToken))
	if err != nil {
		t.Fatal(err)
	}
	if want := len(split(v, chunkSize)); m.chunks != want {
		t.Errorf("5 KB stored in %d chunks, want %d", m.chunks, want)
	}
	assertChunks(t, service, "acct", secret.KeyToken, m.chunks)

	// And growing again.
	v = bigValue(t, 20*1024, 4)
	mustSet(t, s, "acct", secret.KeyToken, v)
	mustGet(t, s, "acct", secret.KeyToken, v)
}

func mustRaw(t *testing.T, service, user string) string {
	t.Helper()
	v, ok := rawGet(t, service, user)
	if !ok {
		t.Fatalf("%s missing from the keyring", user)
	}
	return v
}

func TestDeleteAccount(t *testing.T) {
	s, service := newTestStore(t)
	mustSet(t, s, "acct", secret.KeyPassword, "pw")
	mustSet(t, s, "acct", secret.KeyToken, bigValue(t, 10*1024, 5))
	mustSet(t, s, "other", secret.KeyToken, "keep me")

	if err := s.DeleteAccount("acct"); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{secret.KeyPassword, secret.KeyToken} {
		if _, err := s.Get("acct", key); !errors.Is(err, secret.ErrNotFound) {
			t.Errorf("Get(acct, %s) after DeleteAccount: %v, want secret.ErrNotFound", key, err)
		}
		if _, ok := rawGet(t, service, "acct/"+key); ok {
			t.Errorf("acct/%s still in the keyring", key)
		}
		assertChunks(t, service, "acct", key, 0)
	}
	mustGet(t, s, "other", secret.KeyToken, "keep me")

	// Nothing left: still nil.
	if err := s.DeleteAccount("acct"); err != nil {
		t.Errorf("DeleteAccount of a deleted account: %v", err)
	}
	if err := s.DeleteAccount("never-existed"); err != nil {
		t.Errorf("DeleteAccount of an unknown account: %v", err)
	}
}

func TestDelete(t *testing.T) {
	s, service := newTestStore(t)
	mustSet(t, s, "acct", secret.KeyPassword, "pw")
	mustSet(t, s, "acct", secret.KeyToken, bigValue(t, 7000, 6))
	for _, key := range []string{secret.KeyPassword, secret.KeyToken} {
		if err := s.Delete("acct", key); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get("acct", key); !errors.Is(err, secret.ErrNotFound) {
			t.Errorf("Get after Delete: %v, want secret.ErrNotFound", err)
		}
		assertChunks(t, service, "acct", key, 0)
		if err := s.Delete("acct", key); err != nil {
			t.Errorf("second Delete: %v, want nil", err)
		}
	}
}

func TestGetMissing(t *testing.T) {
	s, _ := newTestStore(t)
	_, err := s.Get("nobody", secret.KeyPassword)
	if !errors.Is(err, secret.ErrNotFound) {
		t.Fatalf("Get of a missing secret: %v, want secret.ErrNotFound", err)
	}
	if errors.Is(err, secret.ErrUnavailable) {
		t.Error("a missing secret must not look like a missing keyring")
	}
}

func TestTamperedChunk(t *testing.T) {
	s, service := newTestStore(t)
	v := bigValue(t, 10*1024, 7)
	mustSet(t, s, "acct", secret.KeyToken, v)
	original := mustRaw(t, service, chunkUser("acct", secret.KeyToken, 2))

	tampered := strings.Repeat("Z", len(original))
	if err := keyring.Set(service, chunkUser("acct", secret.KeyToken, 2), tampered); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get("acct", secret.KeyToken)
	if !errors.Is(err, secret.ErrCorrupt) || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("Get with a tampered chunk = (%d bytes, %v), want a checksum secret.ErrCorrupt", len(got), err)
	}
	if got != "" {
		t.Error("Get returned the corrupt value along with the error")
	}
	assertNoSecretIn(t, err, v, tampered)
	t.Logf("tampered chunk: %v", err)

	// A missing chunk is damage too.
	mustSet(t, s, "acct", secret.KeyToken, v)
	if err := keyring.Delete(service, chunkUser("acct", secret.KeyToken, 3)); err != nil {
		t.Fatal(err)
	}
	_, err = s.Get("acct", secret.KeyToken)
	if !errors.Is(err, secret.ErrCorrupt) || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("Get with a missing chunk: %v, want secret.ErrCorrupt saying a part is missing", err)
	}
	t.Logf("missing chunk: %v", err)

	// So is a manifest this version cannot read.
	if err := keyring.Set(service, "acct/"+secret.KeyToken, manifestPrefix+"v9:whatever"); err != nil {
		t.Fatal(err)
	}
	if _, err = s.Get("acct", secret.KeyToken); !errors.Is(err, secret.ErrCorrupt) {
		t.Fatalf("Get with an unknown manifest: %v, want secret.ErrCorrupt", err)
	}

	// Set repairs it all.
	mustSet(t, s, "acct", secret.KeyToken, v)
	mustGet(t, s, "acct", secret.KeyToken, v)
}

// assertNoSecretIn fails t if err's text contains any 8-byte piece of the
// secrets.
func assertNoSecretIn(t *testing.T, err error, secrets ...string) {
	t.Helper()
	msg := err.Error()
	for _, s := range secrets {
		for i := 0; i+8 <= len(s); i += 4 {
			if strings.Contains(msg, s[i:i+8]) {
				t.Fatalf("error text contains secret material %q: %s", s[i:i+8], msg)
			}
		}
	}
}

func TestValueWithManifestPrefix(t *testing.T) {
	s, service := newTestStore(t)
	sum := strings.Repeat("ab", 32)
	for i, v := range []string{
		manifestPrefix,
		manifestPrefix + "v1:1:" + sum, // a valid-looking manifest
		manifestPrefix + "v1:3:" + sum + "\nmore",
		manifestPrefix + bigValue(t, 5000, 8),
	} {
		account := fmt.Sprintf("acct%d", i)
		mustSet(t, s, account, secret.KeyPassword, v)
		mustGet(t, s, account, secret.KeyPassword, v)
		if raw := mustRaw(t, service, account+"/"+secret.KeyPassword); raw == v {
			t.Errorf("value %d stored as is; it must be escaped", i)
		}
		// Replacing it with a plain value leaves no chunk behind.
		mustSet(t, s, account, secret.KeyPassword, "plain")
		mustGet(t, s, account, secret.KeyPassword, "plain")
		assertChunks(t, service, account, secret.KeyPassword, 0)
	}
}

func TestOrphanChunksAreRemoved(t *testing.T) {
	// A crash after a Set wrote its manifest but before it deleted the old
	// chunks, or during a Delete, leaves chunks nothing points at.
	s, service := newTestStore(t)
	orphans := func(account string, from, to int) {
		for i := from; i <= to; i++ {
			if err := keyring.Set(service, chunkUser(account, secret.KeyToken, i), "orphan"); err != nil {
				t.Fatal(err)
			}
		}
	}
	mustSet(t, s, "a", secret.KeyToken, "small")
	orphans("a", 1, 4)
	mustSet(t, s, "a", secret.KeyToken, "small again")
	assertChunks(t, service, "a", secret.KeyToken, 0)

	v := bigValue(t, 5000, 9) // 3 chunks
	mustSet(t, s, "b", secret.KeyToken, v)
	orphans("b", 4, 6)
	mustSet(t, s, "b", secret.KeyToken, v)
	assertChunks(t, service, "b", secret.KeyToken, 3)

	orphans("c", 1, 3)
	if err := s.Delete("c", secret.KeyToken); err != nil {
		t.Fatal(err)
	}
	assertChunks(t, service, "c", secret.KeyToken, 0)
}

// recorder passes calls to go-keyring and records them; when failAt > 0,
// the failAt-th write or delete fails instead, like a crash at that point.
type recorder struct {
	ops    []string
	writes int
	failAt int
}

var errInjected = errors.New("injected failure")

func (r *recorder) Get(service, user string) (string, error) {
	r.ops = append(r.ops, "get "+user)
	return keyring.Get(service, user)
}

func (r *recorder) Set(service, user, value string) error {
	if r.fail() {
		return errInjected
	}
	r.ops = append(r.ops, "set "+user)
	return keyring.Set(service, user, value)
}

func (r *recorder) Delete(service, user string) error {
	if r.fail() {
		return errInjected
	}
	r.ops = append(r.ops, "delete "+user)
	return keyring.Delete(service, user)
}

func (r *recorder) fail() bool {
	r.writes++
	return r.failAt > 0 && r.writes >= r.failAt
}

func TestSetWritesChunksBeforeManifest(t *testing.T) {
	requireKeyring(t)
	service := testService(t)
	rec := &recorder{}
	s := &keyringStore{service: service, kr: rec}
	oldV, newV := bigValue(t, 20*1024, 10), bigValue(t, 6*1024, 11)
	oldN, newN := len(split(oldV, chunkSize)), len(split(newV, chunkSize))
	if oldN <= newN+1 {
		t.Fatalf("test values in %d and %d chunks, want the second much smaller", oldN, newN)
	}
	mustSet(t, s, "acct", secret.KeyToken, oldV)
	rec.ops = nil
	mustSet(t, s, "acct", secret.KeyToken, newV)

	var writes []string
	for _, op := range rec.ops {
		if !strings.HasPrefix(op, "get ") {
			writes = append(writes, op)
		}
	}
	var want []string
	for i := 1; i <= newN; i++ {
		want = append(want, "set "+chunkUser("acct", secret.KeyToken, i))
	}
	want = append(want, "set acct/"+secret.KeyToken)
	for i := oldN; i > newN; i-- {
		want = append(want, "delete "+chunkUser("acct", secret.KeyToken, i))
	}
	if strings.Join(writes, "\n") != strings.Join(want, "\n") {
		t.Errorf("Set wrote\n  %s\nwant\n  %s", strings.Join(writes, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestInterruptedSet(t *testing.T) {
	// Stop a Set at every write in turn: Get must then return the old value,
	// the new one, or secret.ErrCorrupt (never another value, never a manifest
	// whose chunks are missing), and the next complete Set must clean up.
	requireKeyring(t)
	service := testService(t)
	store := NewKeyring(service)
	sizes := map[string][2]int{
		"small to large":        {10, 7000},
		"large to small":        {7000, 10},
		"large to larger":       {5000, 9000},
		"large to smaller":      {9000, 5000},
		"large to same chunks":  {6000, 6001},
		"prefixed to large":     {-1, 3000},
		"large to prefixed":     {3000, -1},
		"nothing to large (0)":  {0, 5000},
		"nothing to small (0)":  {0, 5},
		"small to small":        {5, 6},
		"large to large (same)": {4500, 4500},
	}
	value := func(size int, seed uint64) string {
		switch size {
		case -1:
			return manifestPrefix + "v1:1:" + strings.Repeat("0", 64)
		case 0:
			return ""
		}
		return bigValue(t, size, seed)
	}
	for name, sz := range sizes {
		t.Run(name, func(t *testing.T) {
			account := strings.ReplaceAll(name, " ", "-")
			oldV, newV := value(sz[0], 100), value(sz[1], 200)
			for failAt := 1; ; failAt++ {
				if err := store.Delete(account, secret.KeyToken); err != nil {
					t.Fatal(err)
				}
				if sz[0] != 0 {
					mustSet(t, store, account, secret.KeyToken, oldV)
				}
				rec := &recorder{failAt: failAt}
				err := (&keyringStore{service: service, kr: rec}).Set(account, secret.KeyToken, newV)
				if err == nil {
					break // got through every write
				}
				if !errors.Is(err, errInjected) {
					t.Fatalf("failAt %d: Set: %v", failAt, err)
				}
				got, err := store.Get(account, secret.KeyToken)
				switch {
				case err == nil && (got == newV || got == oldV && sz[0] != 0):
				case errors.Is(err, secret.ErrNotFound) && sz[0] == 0:
				case errors.Is(err, secret.ErrCorrupt) && !strings.Contains(err.Error(), "missing"):
				default:
					t.Fatalf("failAt %d: Get after an interrupted Set = (%d bytes, %v)", failAt, len(got), err)
				}
				mustSet(t, store, account, secret.KeyToken, newV)
				mustGet(t, store, account, secret.KeyToken, newV)
				n := 0
				if m, err := parseManifest(mustRaw(t, service, account+"/"+secret.KeyToken)); err == nil {
					n = m.chunks
				}
				assertChunks(t, service, account, secret.KeyToken, n)
			}
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	s, _ := newTestStore(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			account := fmt.Sprintf("acct%d", g)
			for i := range 3 {
				v := strings.Repeat(fmt.Sprintf("%d-%d;", g, i), 500*i+1)
				if err := s.Set(account, secret.KeyToken, v); err != nil {
					errs <- err
					return
				}
				got, err := s.Get(account, secret.KeyToken)
				if err != nil {
					errs <- err
					return
				}
				if got != v {
					errs <- fmt.Errorf("%s: got %d bytes, want %d", account, len(got), len(v))
				}
			}
			errs <- s.DeleteAccount(account)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestBadNames(t *testing.T) {
	// Refused before any keyring call, so no keyring is needed.
	s := NewKeyring("inboxsync-test-names")
	for _, c := range []struct{ account, key string }{
		{"", secret.KeyPassword}, {"acct", ""}, {"acct", "a/b"}, {"acct", "tok#1"},
	} {
		if _, err := s.Get(c.account, c.key); err == nil {
			t.Errorf("Get(%q, %q) accepted", c.account, c.key)
		}
		if err := s.Set(c.account, c.key, "v"); err == nil {
			t.Errorf("Set(%q, %q) accepted", c.account, c.key)
		}
		if err := s.Delete(c.account, c.key); err == nil {
			t.Errorf("Delete(%q, %q) accepted", c.account, c.key)
		}
	}
	if err := s.DeleteAccount(""); err == nil {
		t.Error("DeleteAccount(\"\") accepted")
	}
	if err := s.Set("acct", secret.KeyToken, strings.Repeat("x", maxValueSize+1)); err == nil || strings.Contains(err.Error(), "xxxxxxxx") {
		t.Errorf("Set of a value over the limit: %v", err)
	}
}
