package app

import (
	"log/slog"
	"os"
	"time"

	"github.com/inboxsync/inboxsync/sync/emailnotice"
	"github.com/inboxsync/inboxsync/sync/secret"
	"github.com/inboxsync/inboxsync/sync/store"
)

// Email notices (sync/notices): the policy says who gets them and through
// which relay; the relay's password is in the keyring under
// SMTPSecretAccount / SMTPSecretKey (set with `inboxsync notify password
// --stdin`).
const (
	SMTPSecretAccount = "@notices" // not a valid account name: no clash
	SMTPSecretKey     = "smtp-password"
)

// noticeTuning adjusts the notice service; test builds shorten its waits.
var noticeTuning = func(*emailnotice.Service) {}

// newNoticeService makes the agent's notice service.
func newNoticeService(st *store.Store, c emailnotice.Controller, secrets secret.Store, log *slog.Logger) *emailnotice.Service {
	host, _ := os.Hostname()
	svc := &emailnotice.Service{
		Store: st, Control: c, Log: log, Host: host,
		Config: func() emailnotice.Config { return emailnotice.ConfigFromPolicy(currentPolicy()) },
		Sender: emailnotice.SMTP{
			Config:   func() emailnotice.SMTPConfig { return emailnotice.ConfigFromPolicy(currentPolicy()).SMTP },
			Password: func() (string, error) { return secrets.Get(SMTPSecretAccount, SMTPSecretKey) },
			Timeout:  30 * time.Second,
		},
	}
	noticeTuning(svc)
	return svc
}
