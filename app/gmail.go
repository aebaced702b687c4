package app

import (
	"github.com/inboxsync/inboxsync/internal/install"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/gmail"
	"github.com/inboxsync/inboxsync/sync/secret/keyring"
)

// Gmail and Google Workspace accounts sync through the Gmail and Google
// Calendar APIs (sync/provider/gmail). Their defaults (client ID, client
// secret, endpoints) come from the configuration file, read at each
// activation and each sync so that editing it needs no restart. The
// connector reads the agent's keyring (the service the engine writes
// grants to) so that re-activating an account reuses the client secret
// kept with its grant.
func init() {
	connectors["gmail"] = func(p install.Paths) provider.Connector {
		return &gmail.Connector{
			Defaults: func() (map[string]string, error) { return gmailDefaults(p) },
			Secrets:  keyring.NewKeyring(KeyringService),
		}
	}
}

// gmailDefaults reads the gmail section of the configuration file of the
// agent's home (--home, INBOXSYNC_HOME or XDG; see ConfigPath) over the
// policy's [google] table.
func gmailDefaults(p install.Paths) (map[string]string, error) {
	return ProviderDefaults(p, currentPolicy(), "gmail")
}

// Settings returns the section as settings of the gmail connector (its
// Setting… keys); unset values are empty.
func (g GmailConfig) Settings() map[string]string {
	return map[string]string{
		gmail.SettingClientID: g.ClientID, gmail.SettingClientSecret: g.ClientSecret,
		gmail.SettingAuthURL: g.AuthURL, gmail.SettingTokenURL: g.TokenURL,
		gmail.SettingGmailEndpoint: g.GmailEndpoint, gmail.SettingCalendarEndpoint: g.CalendarEndpoint,
	}
}
