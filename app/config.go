package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Config is the user's (or the installer's) configuration file, JSON:
//
//	{"office365": {"client_id": "…", "tenant": "organizations",
//	               "authority": "https://login.microsoftonline.com",
//	               "graph_endpoint": "https://graph.microsoft.com/v1.0"}}
//
// It presets what `account add` and the activation window leave empty.
// Values given at activation win; every value is stored with the account.
type Config struct {
	Office365 Office365Config `json:"office365"`
}

// Office365Config presets Office 365 sign-in (docs/office365.md).
type Office365Config struct {
	ClientID      string `json:"client_id,omitempty"`
	Tenant        string `json:"tenant,omitempty"`
	Authority     string `json:"authority,omitempty"`
	GraphEndpoint string `json:"graph_endpoint,omitempty"`
}

// ConfigPath returns where the configuration file is read:
// <home>/config.json with a home directory (--home or INBOXSYNC_HOME),
// else $XDG_CONFIG_HOME/inboxsync/config.json (~/.config/inboxsync/…).
func ConfigPath(p Paths) (string, error) {
	if p.Home != "" {
		return filepath.Join(p.Home, "config.json"), nil
	}
	if home := os.Getenv("INBOXSYNC_HOME"); home != "" {
		abs, err := filepath.Abs(home)
		return filepath.Join(abs, "config.json"), err
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("cannot find the configuration directory: %w", err)
	}
	return filepath.Join(dir, "inboxsync", "config.json"), nil
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
