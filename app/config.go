package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
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
