package engine

import (
	"context"
	"encoding/json"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/store"
)

// StatusFromStore reads the status as the agent last saved it, for the CLI
// when no agent runs. Source is "store", AgentRunning false, and no
// account has a NextSync.
func StatusFromStore(ctx context.Context, st *store.Store) (api.Status, error) {
	s := api.Status{Source: "store", Accounts: []api.AccountStatus{}}
	settings, err := loadSettings(ctx, st)
	if err != nil {
		return s, err
	}
	s.Interval = settings.Interval
	if v, ok, err := st.Setting(ctx, pauseKey); err != nil {
		return s, err
	} else if ok {
		var p pauseSetting
		if json.Unmarshal([]byte(v), &p) == nil {
			s.Paused, s.PausedUntil = p.Paused, p.Until
		}
	}
	if p, err := st.SearchIndexProgress(ctx); err != nil {
		return s, err
	} else if !p.Ready() {
		s.Index = &p
	}
	accts, err := st.Accounts(ctx)
	if err != nil {
		return s, err
	}
	for _, a := range accts {
		rs, err := st.RunState(ctx, a.ID)
		if err != nil {
			return s, err
		}
		state, err := api.ParseState(rs.State)
		if err != nil || a.Disabled {
			state = api.NotActivated
		}
		as := api.AccountStatus{
			Account: a.ID, Provider: a.Provider, Email: a.Email, State: state, Words: state.Words(),
			Reason: rs.Reason, Paused: rs.Paused, PausedUntil: rs.PausedUntil,
			Rejections: rs.Rejections, Failures: rs.Failures,
		}
		// No NextSync: the saved one is not due while no agent runs (it
		// would read "in 34 seconds" and never happen).
		if last, ok, err := st.LastSession(ctx, a.ID); err != nil {
			return s, err
		} else if ok {
			as.LastSync = &last
		}
		if last, ok, err := st.LastSuccessfulSession(ctx, a.ID); err != nil {
			return s, err
		} else if ok {
			as.LastSuccess = &last
		}
		s.Accounts = append(s.Accounts, as)
	}
	if cs, err := CRMStatusFromStore(ctx, st); err != nil {
		return s, err
	} else if cs.State != api.ConnNotConnected {
		s.CRM = &cs
	}
	return s, nil
}

// SettingsFromStore reads the saved settings, for the CLI when no agent
// runs.
func SettingsFromStore(ctx context.Context, st *store.Store) (api.Settings, error) {
	return loadSettings(ctx, st)
}
