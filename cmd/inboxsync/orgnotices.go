package main

import (
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/inboxsync/inboxsync/sync/emailnotice"
	"github.com/inboxsync/inboxsync/sync/org"
	"github.com/inboxsync/inboxsync/sync/org/pgstore"
)

// orgNotices returns the email notice service of a worker: its settings
// from the policy file at path (read again at every check), the relay's
// password from the file the policy's smtp.password_file names. It logs
// once what it will do, and each new problem of the policy file.
func orgNotices(path string, st *pgstore.Store, log *slog.Logger) *emailnotice.Service {
	var (
		mu   sync.Mutex
		seen []string
	)
	config := func() emailnotice.Config {
		cfg, warn := org.NoticeConfig(path)
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(warn, seen) {
			for _, w := range warn {
				log.Warn("email notices: a problem in the policy file", "problem", w)
			}
			seen = warn
		}
		return cfg
	}
	host, _ := os.Hostname()
	svc := &emailnotice.Service{
		Store: st, Control: org.NoticeStatus{Store: st}, Config: config, Log: log, Host: host, Organisation: true,
		Sender: emailnotice.SMTP{
			Config:   func() emailnotice.SMTPConfig { return config().SMTP },
			Password: func() (string, error) { return org.PasswordFile(config().SMTP.PasswordFile) },
		},
	}
	cfg := config()
	switch {
	case !cfg.Enabled():
		log.Info("email notices are off: the policy sets no [smtp] host or no notify", "policy", path)
	default:
		log.Info("email notices on", "policy", path, "notify", strings.Join(cfg.Notify, ","), "admin", cfg.AdminEmail, "relay", cfg.SMTP.Host)
		if cfg.SMTP.Username != "" {
			if _, err := org.PasswordFile(cfg.SMTP.PasswordFile); err != nil {
				log.Warn("email notices cannot log in to the relay", "err", err)
			}
		}
	}
	return svc
}
