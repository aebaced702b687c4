package secret

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

func TestUnavailableError(t *testing.T) {
	raw := errors.New("raw backend error")
	var err error = fmt.Errorf("context: %w", &UnavailableError{Err: raw})

	if !errors.Is(err, ErrUnavailable) {
		t.Error("errors.Is(err, ErrUnavailable) = false")
	}
	if !errors.Is(err, raw) {
		t.Error("the raw error is not reachable through Unwrap")
	}
	var ue *UnavailableError
	if !errors.As(err, &ue) {
		t.Fatal("errors.As(*UnavailableError) = false")
	}
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrCorrupt) {
		t.Error("an UnavailableError matches other sentinels")
	}
	if !strings.HasPrefix(ue.Error(), ue.Message()) || !strings.Contains(ue.Error(), "raw backend error") {
		t.Errorf("Error() = %q, want the message then the details", ue.Error())
	}
	for _, locked := range []bool{false, true} {
		msg := strings.ToLower((&UnavailableError{Locked: locked}).Message())
		if runtime.GOOS == "windows" {
			if !strings.Contains(msg, "credential manager") || !strings.Contains(msg, "sign in to windows") {
				t.Errorf("Locked=%v: message %q does not say what to do on Windows", locked, msg)
			}
		} else if !strings.Contains(msg, "install") || !strings.Contains(msg, "unlock") {
			t.Errorf("Locked=%v: message %q does not say to install and unlock a keyring", locked, msg)
		}
	}
	if (&UnavailableError{}).Error() != unavailableMessage {
		t.Error("Error() without an underlying error is not the message")
	}
}
