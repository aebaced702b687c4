package app

import (
	"log/slog"
	"os"
	"time"

	"github.com/inboxsync/inboxsync/sync/notices"
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
var noticeTuning = func(*notices.Service) {}

// newNoticeService makes the agent's notice service.
func newNoticeService(st *store.Store, c notices.Controller, secrets secret.Store, log *slog.Logger) *notices.Service {
	host, _ := os.Hostname()
	svc := &notices.Service{
		Store: st, Control: c, Log: log, Host: host,
		Config: func() notices.Config { return notices.ConfigFromPolicy(currentPolicy()) },
		Sender: notices.SMTP{
			Config:   func() notices.SMTPConfig { return notices.ConfigFromPolicy(currentPolicy()).SMTP },
			Password: func() (string, error) { return secrets.Get(SMTPSecretAccount, SMTPSecretKey) },
			Timeout:  30 * time.Second,
		},
	}
	noticeTuning(svc)
	return svc
}
