package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// Config is the user's (or the installer's) configuration file, JSON:
//
//	{"office365": {"client_id": "…", "tenant": "organizations",
//	               "authority": "https://login.microsoftonline.com",
//	               "graph_endpoint": "https://graph.microsoft.com/v1.0"},
//	 "gmail":     {"client_id": "….apps.googleusercontent.com", "client_secret": "GOCSPX-…"},
//	 "salesforce": {"login_url": "https://acme.my.salesforce.com", "client_id": "3MVG…",
//	                "redirect_port": 1717, "api_version": "v64.0"}}
//
// It presets what `account add` and the activation window leave empty.
// Values given at activation win; every value is stored with the account,
// except Gmail's client secret, which is kept in the keyring with the grant.
type Config struct {
	Office365 Office365Config `json:"office365"`
	Gmail     GmailConfig     `json:"gmail"`
	// Salesforce presets `crm connect salesforce` (docs/salesforce.md).
	Salesforce SalesforceConfig `json:"salesforce"`
}

// SalesforceConfig presets the Salesforce sign-in. The app's client
// secret, if it has one, is given at connect time and kept in the keyring.
type SalesforceConfig struct {
	LoginURL     string `json:"login_url,omitempty"`
	ClientID     string `json:"client_id,omitempty"`
	RedirectPort int    `json:"redirect_port,omitempty"`
	APIVersion   string `json:"api_version,omitempty"`
}

// Office365Config presets Office 365 sign-in (docs/office365.md).
type Office365Config struct {
	ClientID      string `json:"client_id,omitempty"`
	Tenant        string `json:"tenant,omitempty"`
	Authority     string `json:"authority,omitempty"`
	GraphEndpoint string `json:"graph_endpoint,omitempty"`
}

// GmailConfig presets Gmail sign-in (docs/gmail.md). The endpoints include
// the API's version path, like Office365Config.GraphEndpoint; they exist for
// tests and proxies.
type GmailConfig struct {
	ClientID         string `json:"client_id,omitempty"`
	ClientSecret     string `json:"client_secret,omitempty"`
	AuthURL          string `json:"auth_url,omitempty"`
	TokenURL         string `json:"token_url,omitempty"`
	GmailEndpoint    string `json:"gmail_endpoint,omitempty"`
	CalendarEndpoint string `json:"calendar_endpoint,omitempty"`
}

// ConfigPath returns where the configuration file is read:
// <home>/config.json with a home directory (--home or INBOXSYNC_HOME),
// else the system's per-user configuration directory (see
// defaultConfigPath).
func ConfigPath(p Paths) (string, error) {
	if p.Home != "" {
		return filepath.Join(p.Home, "config.json"), nil
	}
	if home := os.Getenv("INBOXSYNC_HOME"); home != "" {
		abs, err := filepath.Abs(home)
		return filepath.Join(abs, "config.json"), err
	}
	return defaultConfigPath(runtime.GOOS, os.Getenv, os.UserHomeDir)
}

// defaultConfigPath is where the configuration file is read without
// --home on the system goos, reading the environment through getenv and
// the user's home directory through userHome; a pure function of those,
// like defaultPaths, whose per-system layout it follows:
//
//   - Windows: %APPDATA%\InboxSync\config.json (or
//     <home>\AppData\Roaming\InboxSync\… without an absolute %APPDATA%).
//     Roaming, unlike the store: settings follow the user to other
//     machines.
//   - macOS: ~/Library/Application Support/InboxSync/config.json, beside
//     the store.
//   - Linux and the other Unix systems: $XDG_CONFIG_HOME/inboxsync/config.json,
//     or ~/.config/inboxsync/config.json when XDG_CONFIG_HOME is unset or
//     empty. A relative $XDG_CONFIG_HOME is an error, as in
//     os.UserConfigDir.
func defaultConfigPath(goos string, getenv func(string) string, userHome func() (string, error)) (string, error) {
	join := joinFor(goos)
	home := homeFor(goos, userHome, "the configuration directory")
	switch goos {
	case "windows":
		dir := getenv("APPDATA")
		if !isAbsFor(goos, dir) {
			h, err := home()
			if err != nil {
				return "", err
			}
			dir = join(h, "AppData", "Roaming")
		}
		return join(dir, "InboxSync", "config.json"), nil
	case "darwin", "ios":
		h, err := home()
		if err != nil {
			return "", err
		}
		return join(h, "Library", "Application Support", "InboxSync", "config.json"), nil
	default:
		dir := getenv("XDG_CONFIG_HOME")
		if dir != "" && !isAbsFor(goos, dir) {
			return "", fmt.Errorf("cannot find the configuration directory: $XDG_CONFIG_HOME (%s) is a relative path", dir)
		}
		if dir == "" {
			h, err := home()
			if err != nil {
				return "", err
			}
			dir = join(h, ".config")
		}
		return join(dir, "inboxsync", "config.json"), nil
	}
}

// LoadConfig reads the configuration file at path; a missing file is an
// empty configuration.
func LoadConfig(path string) (Config, error) {
	var c Config
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("reading %s: %w", path, err)
	}
	return c, nil
}
