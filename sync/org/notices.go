package org

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/emailnotice"
	"github.com/inboxsync/inboxsync/sync/org/pgstore"
	"github.com/inboxsync/inboxsync/sync/policy"
)

// Email notices in organisation mode: sync/emailnotice's service, with the
// organisation store as its queue and the mailboxes' standing as its
// status. A mailbox disabled due to an error is an incident (one email to
// the admin, and to the mailbox's user when notify has "user"); an
// organisation-wide refusal of a provider's credentials is one incident
// of the account api.OrgIncidentAccount(provider), emailed to the admin
// only. The check runs as a River periodic job (NoticeArgs): the elected
// leader alone queues it, so one check runs at a time in the whole
// organisation; the store still opens an incident atomically and hands a
// due email to one worker at a time, so a check that overlaps another
// (a new leader, a rescued job) sends nothing twice.

// DefaultNoticeCheck is how often the notices are checked and the due
// emails sent.
const DefaultNoticeCheck = time.Minute

// NoticeArgs is the periodic job that checks the email notices.
type NoticeArgs struct{}

// Kind implements river.JobArgs.
func (NoticeArgs) Kind() string { return "inboxsync_notices" }

// NoticeStatus is emailnotice.Controller over the organisation store: the
// mailboxes disabled due to an error or with an open incident, and one
// account per provider for the organisation's credentials.
type NoticeStatus struct {
	Store *pgstore.Store
}

// mailboxState is the engine state an incident of mb is recorded with.
func mailboxState(mb pgstore.Mailbox) api.State {
	switch {
	case mb.State != pgstore.StateError:
		return api.Idle
	case mb.Failures >= api.MaxFailures:
		return api.Suspended
	}
	return api.NeedsReactivation
}

// Status implements emailnotice.Controller. A mailbox neither disabled due
// to an error nor with an open incident is left out: the service would
// do nothing with it.
func (n NoticeStatus) Status(ctx context.Context) (api.Status, error) {
	var st api.Status
	for _, p := range pgstore.Providers {
		a := api.AccountStatus{Account: api.OrgIncidentAccount(p), Provider: p, State: api.Idle}
		inc, ok, err := OpenIncident(ctx, n.Store, p)
		if err != nil {
			return st, err
		}
		if ok {
			a.State, a.Reason, a.Since = api.NeedsReactivation, inc.Reason, inc.Since
		}
		st.Accounts = append(st.Accounts, a)
	}
	failed, err := n.Store.Mailboxes(ctx, pgstore.Filter{State: pgstore.StateError})
	if err != nil {
		return st, err
	}
	open, err := n.Store.OpenIncidentAccounts(ctx)
	if err != nil {
		return st, err
	}
	seen := map[string]bool{}
	for _, mb := range failed {
		seen[mb.Address] = true
	}
	var others []string
	for _, a := range open {
		if !seen[a] && !strings.HasPrefix(a, "@") {
			others = append(others, a)
		}
	}
	if len(others) > 0 {
		more, err := n.Store.Mailboxes(ctx, pgstore.Filter{Addresses: others})
		if err != nil {
			return st, err
		}
		failed = append(failed, more...)
	}
	for _, mb := range failed {
		a := api.AccountStatus{Account: mb.Address, Email: mb.Address, Provider: mb.Provider, State: mailboxState(mb),
			Reason: mb.Reason, Rejections: mb.Rejections, Failures: mb.Failures}
		if a.State.NeedsAttention() {
			a.Since = mb.LastTry
		}
		st.Accounts = append(st.Accounts, a)
	}
	return st, nil
}

// Subscribe implements emailnotice.Controller; organisation mode has no
// events to follow (the periodic job calls Check).
func (NoticeStatus) Subscribe(context.Context) (<-chan api.Event, error) {
	return nil, errors.New("organisation mode checks the notices periodically: no events to follow")
}

// NoticeConfig reads the notice settings of the policy file at path (a
// missing file: no notices). Problems in the file are returned as
// warnings in words, for the log.
func NoticeConfig(path string) (emailnotice.Config, []string) {
	p := policy.Load(path)
	var warn []string
	for _, pr := range p.Problems {
		w := pr.Message
		if pr.Key != "" {
			w = pr.Key + ": " + w
		}
		warn = append(warn, fmt.Sprintf("policy %s: %s", path, w))
	}
	return emailnotice.ConfigFromPolicy(p), warn
}

// PasswordFile returns the relay password held in the file at path (its
// first line). The file must be a regular file that only its owner can
// read or write (on Unix: mode & 0o077 == 0), else it is refused, saying
// why and how to fix it; no error holds the password.
func PasswordFile(path string) (string, error) {
	if path == "" {
		return "", errors.New("the policy sets smtp.username but no smtp.password_file: organisation mode reads the relay's password from that file")
	}
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("the relay's password file %s (smtp.password_file) does not exist", path)
	case err != nil:
		return "", fmt.Errorf("cannot read the relay's password file %s: %w", path, errors.Unwrap(err))
	case !st.Mode().IsRegular():
		return "", fmt.Errorf("the relay's password file %s is not a regular file", path)
	case runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0:
		return "", fmt.Errorf("the relay's password file %s can be read by other users (mode %04o): make it readable by the workers' user only with: chmod 600 %s", path, st.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("cannot read the relay's password file %s: %w", path, errors.Unwrap(err))
	}
	pw, _, _ := strings.Cut(string(b), "\n")
	pw = strings.TrimRight(pw, "\r")
	if pw == "" {
		return "", fmt.Errorf("the relay's password file %s is empty", path)
	}
	return pw, nil
}

// InsertOpts keeps at most one notice check queued or running: a slow
// relay does not pile checks up.
func (NoticeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		MaxAttempts: 1, // the next period checks again
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
			rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
			rivertype.JobStateRunning, rivertype.JobStateScheduled,
		}},
	}
}

// noticeJob is the periodic job of the notice check, every period
// (DefaultNoticeCheck when 0), at once on start.
func noticeJob(period time.Duration) *river.PeriodicJob {
	if period <= 0 {
		period = DefaultNoticeCheck
	}
	return river.NewPeriodicJob(river.PeriodicInterval(period),
		func() (river.JobArgs, *river.InsertOpts) { return NoticeArgs{}, nil },
		&river.PeriodicJobOpts{ID: "inboxsync_notices", RunOnStart: true})
}

// noticeWorker runs NoticeArgs jobs.
type noticeWorker struct {
	river.WorkerDefaults[NoticeArgs]
	w *Worker
}

// Timeout gives a check time to send a batch of emails (up to a minute
// each), whatever the sessions' timeout.
func (*noticeWorker) Timeout(*river.Job[NoticeArgs]) time.Duration { return 15 * time.Minute }

// Work opens and closes incidents and sends the due emails.
func (nw *noticeWorker) Work(ctx context.Context, _ *river.Job[NoticeArgs]) error {
	if nw.w.cfg.Notices != nil {
		nw.w.cfg.Notices.Check(ctx)
	}
	return nil
}
