package window

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
)

func TestPlain(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("%w: Office 365 accounts are not available in this build yet", api.ErrUnsupported), "Office 365 accounts are not available in this build yet."},
		{fmt.Errorf("%w: choose at least one of Inbox, Sent and Calendar", api.ErrInvalid), "Choose at least one of Inbox, Sent and Calendar."},
		{&api.TooSoonError{Wait: 12 * time.Second}, "A sync ran less than a minute ago. Try again in 12 seconds."},
		{errors.New(`Get "https://mail.corp.example/EWS": dial tcp: lookup mail.corp.example: no such host`), "Server not found. Check the address (or the EWS URL) and your network."},
		{errors.New("tls: failed to verify certificate: x509: certificate signed by unknown authority"), "The server's certificate is not trusted by this computer. Ask your IT team, or check the EWS URL."},
		{context.DeadlineExceeded, "Timed out: the server did not answer in time. Check your network and try again."},
		{api.ErrNotRunning, "Inbox Sync is not running. Start it and try again."},
		{errors.New("the password is wrong"), "The password is wrong."},
	} {
		if got := plain(tc.err); got != tc.want {
			t.Errorf("plain(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestDurationWords(t *testing.T) {
	for d, want := range map[time.Duration]string{
		40 * time.Second: "40 seconds", time.Minute: "1 minute", 15 * time.Minute: "15 minutes",
		90 * time.Minute: "90 minutes", time.Hour: "1 hour", 4 * time.Hour: "4 hours", 72 * time.Hour: "3 days",
	} {
		if got := durationWords(d); got != want {
			t.Errorf("durationWords(%v) = %q, want %q", d, got, want)
		}
	}
	if got := everyWords(time.Hour); got != "every hour" {
		t.Errorf("everyWords(1h) = %q", got)
	}
}
