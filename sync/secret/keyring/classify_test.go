package keyring

import (
	"errors"
	"strings"
	"testing"

	"github.com/inboxsync/inboxsync/sync/secret"
	"github.com/zalando/go-keyring"
)

func TestClassify(t *testing.T) {
	if err := classify("read", "a", "k", keyring.ErrNotFound); err != secret.ErrNotFound {
		t.Errorf("go-keyring's secret.ErrNotFound → %v, want secret.ErrNotFound", err)
	}
	if err := classify("read", "a", "k", keyring.ErrUnsupportedPlatform); !errors.Is(err, secret.ErrUnavailable) {
		t.Errorf("ErrUnsupportedPlatform → %v, want secret.ErrUnavailable", err)
	}
	other := errors.New("something else")
	err := classify("write", "acct", "password", other)
	if !errors.Is(err, other) || errors.Is(err, secret.ErrUnavailable) || errors.Is(err, secret.ErrNotFound) {
		t.Errorf("other error → %v, want it wrapped as it is", err)
	}
	if !strings.Contains(err.Error(), "acct/password") {
		t.Errorf("%q does not say which secret", err)
	}
}
