package app

import (
	"context"
	"log/slog"
	"os"
	"os/user"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/inboxsync/inboxsync/internal/install"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/policy"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/graph"
)

// The administrator's policy (sync/policy) in the agent: read at start and
// again within policyPoll of any change to the file (its time, size or
// existence), applied to the engine (settings, locks, the expected
// mailbox), to the providers' defaults and to the email notices.

// policyPoll is how often the agent looks at the policy file.
const policyPoll = 5 * time.Second

// PolicyPath returns where the policy is read: $INBOXSYNC_POLICY, else the
// system-wide file (policy.DefaultPath).
func PolicyPath() string { return policy.Path(runtime.GOOS, os.Getenv) }

// LoadPolicy reads the policy at PolicyPath.
func LoadPolicy() api.Policy { return policy.Load(PolicyPath()) }

// LoginName is the OS login name {user} stands for in the policy: the
// user name without a Windows domain.
func LoginName() string {
	u, err := user.Current()
	if err != nil {
		return os.Getenv("USER")
	}
	name := u.Username
	if i := strings.LastIndexByte(name, '\\'); i >= 0 {
		name = name[i+1:]
	}
	return name
}

// current is the policy the agent applies; the providers' defaults read
// it at each activation.
var current atomic.Pointer[api.Policy]

// currentPolicy returns the agent's policy (none before the agent read it).
func currentPolicy() api.Policy {
	if p := current.Load(); p != nil {
		return *p
	}
	return api.Policy{}
}

// logPolicy logs what was read.
func logPolicy(log *slog.Logger, p api.Policy) {
	if !p.Found {
		log.Info("no administrator policy", "path", p.Path)
		return
	}
	log.Info("administrator policy read", "path", p.Path, "settings", len(p.Values), "locked", strings.Join(p.Locked, ","), "problems", len(p.Problems))
	for _, pr := range p.Problems {
		log.Warn("policy problem: entry ignored", "path", p.Path, "problem", pr.String())
	}
}

// fileStamp identifies a version of a file: its time and size, or missing.
type fileStamp struct {
	exists bool
	mod    time.Time
	size   int64
}

func stampOf(path string) fileStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{true, fi.ModTime(), fi.Size()}
}

// watchPolicy reads the policy again whenever its file changes from the
// version last (taken before the policy was first read, so that no change
// slips in between) and hands it to apply, until ctx is done.
func watchPolicy(ctx context.Context, path string, last fileStamp, every time.Duration, log *slog.Logger, apply func(api.Policy)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := stampOf(path)
		if now == last {
			continue
		}
		last = now
		p := policy.Load(path)
		log.Info("the administrator policy changed: read again", "path", path)
		logPolicy(log, p)
		apply(p)
	}
}

// withPolicy returns the settings of a provider's section of the policy
// (its table: exchange, office365, google) overlaid with the non-empty
// values of user (the configuration file's section): the user's
// configuration wins over the policy's defaults; what the policy locks the
// engine enforces.
func withPolicy(p api.Policy, prov string, user map[string]string) map[string]string {
	table := policy.Table(prov)
	out := map[string]string{}
	if table != "" {
		for k, v := range p.Section(table) {
			out[k] = v
		}
	}
	for k, v := range user {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

// policyDefaulted gives a connector the policy's settings as defaults:
// what the request leaves empty comes from the policy.
type policyDefaulted struct {
	provider.Connector
	name string
}

// Connect implements provider.Connector.
func (c policyDefaulted) Connect(ctx context.Context, req api.ActivationRequest, progress func(api.ActivationProgress)) (provider.Connection, error) {
	defaults := withPolicy(currentPolicy(), c.name, nil)
	if len(defaults) > 0 {
		merged := map[string]string{}
		for k, v := range defaults {
			merged[k] = v
		}
		for k, v := range req.Settings {
			if v != "" {
				merged[k] = v
			}
		}
		req.Settings = merged
	}
	return c.Connector.Connect(ctx, req, progress)
}

// ProviderDefaults returns what an activation of prov ("office365",
// "gmail", "exchange") leaves empty: the configuration file's section over
// the policy's table (the user's configuration wins over the policy's
// defaults; the engine enforces what the policy locks).
func ProviderDefaults(p install.Paths, pol api.Policy, prov string) (map[string]string, error) {
	path, err := install.ConfigPath(p)
	if err != nil {
		return nil, err
	}
	c, err := LoadConfig(path)
	if err != nil {
		return nil, err
	}
	var user map[string]string
	switch prov {
	case "office365":
		o := c.Office365
		user = map[string]string{
			graph.SettingClientID: o.ClientID, graph.SettingTenant: o.Tenant,
			graph.SettingAuthority: o.Authority, graph.SettingEndpoint: o.GraphEndpoint,
		}
	case "gmail":
		user = c.Gmail.Settings()
	case "salesforce":
		s := c.Salesforce
		user = map[string]string{"login_url": s.LoginURL, "client_id": s.ClientID, "api_version": s.APIVersion}
		if s.RedirectPort != 0 {
			user["redirect_port"] = strconv.Itoa(s.RedirectPort)
		}
	}
	return withPolicy(pol, prov, user), nil
}
