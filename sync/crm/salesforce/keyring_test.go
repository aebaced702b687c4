package salesforce_test

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"testing"

	seckeyring "github.com/inboxsync/inboxsync/sync/secret/keyring"
	"github.com/zalando/go-keyring"

	"github.com/inboxsync/inboxsync/sync/secret"
)

// realKeyring returns the OS keyring on a throwaway service. It skips
// without a session bus, unless INBOXSYNC_REQUIRE_KEYRING=1 (run the
// tests under scripts/with-keyring.sh).
func realKeyring(t *testing.T) secret.Store {
	t.Helper()
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		if os.Getenv("INBOXSYNC_REQUIRE_KEYRING") == "1" {
			t.Fatal("INBOXSYNC_REQUIRE_KEYRING=1 but there is no session bus: run under scripts/with-keyring.sh")
		}
		t.Skip("no session bus: run under scripts/with-keyring.sh to test against the real keyring")
	}
	b := make([]byte, 8)
	rand.Read(b)
	service := "inboxsync-test-" + hex.EncodeToString(b)
	t.Cleanup(func() {
		if err := keyring.DeleteAll(service); err != nil && !errors.Is(err, keyring.ErrNotFound) {
			t.Errorf("cleaning up %s: %v", service, err)
		}
	})
	return seckeyring.NewKeyring(service)
}
