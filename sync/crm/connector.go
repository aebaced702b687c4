package crm

import (
	"context"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
)

// Identity is who and where a CRM connection is signed in.
type Identity struct {
	// Instance is the org's API address (Salesforce's instance_url), the
	// base of "Open in Salesforce" links.
	Instance string `json:"instance,omitempty"`
	// User and Org are the signed-in user's and the org's ids.
	User string `json:"user,omitempty"`
	Org  string `json:"org,omitempty"`
}

// Connection is a signed-in CRM connection: a Recorder that also reports
// its identity, its API budget and the requests it made. It keeps its
// state (access token, budget back-off) between runs, so the engine holds
// one for as long as the connection lasts.
type Connection interface {
	Recorder
	// Identity returns the signed-in user and org.
	Identity() (Identity, error)
	// Requests returns how many requests the connection has sent so far.
	Requests() int64
	// Usage returns the org's API usage and allocation from the last
	// answer (0, 0 before the first).
	Usage() (used, limit int)
	// ThrottledUntil returns when the connection will send again after
	// the API budget ran out (zero when it is not waiting).
	ThrottledUntil() time.Time
	// Disconnect revokes the sign-in (best effort) and deletes its secrets.
	Disconnect(ctx context.Context) error
}

// ConnectRequest asks a Connector for a new connection.
type ConnectRequest struct {
	// Settings are the connection's settings without secrets (for
	// Salesforce: login_url, client_id, redirect_port, api_version,
	// budget).
	Settings map[string]string `json:"settings,omitempty"`
	// ClientSecret is the app's secret when it requires one; it goes to
	// the keyring only.
	ClientSecret string `json:"client_secret,omitempty"`
	// NoBrowser only reports the sign-in link.
	NoBrowser bool `json:"no_browser,omitempty"`
}

// Connector makes and opens connections to one CRM (sync/crm/salesforce
// implements it). The secrets of a connection live in the keyring under an
// account name the Connector is given.
type Connector interface {
	// Connect signs the user in (steps that need them are reported
	// through progress, which may be nil), saves the sign-in to the
	// keyring and returns the connection.
	Connect(ctx context.Context, req ConnectRequest, progress func(api.ActivationProgress)) (Connection, error)
	// Open returns the connection saved by Connect, with settings as
	// Connect was given them (or changed since). It makes no request.
	Open(settings map[string]string) (Connection, error)
}
