// Package org is organisation mode's host: the same sync sessions, rules
// and store contract as the desktop (sync/session), run headless for every
// mailbox of a company as River jobs on PostgreSQL, spread over any number
// of worker processes (docs/org.md, docs/architecture.md §7).
//
// Each mailbox has at most one live sync job (River's unique jobs, by the
// mailbox), and at most one session running at any moment across all
// workers: a session runs only while its worker holds the mailbox's
// PostgreSQL advisory lock, which PostgreSQL frees when the worker's
// connection dies. River's rescuer has no fencing of its own: a job it
// rescues from a worker that is slow rather than dead finds the lock held
// and waits.
package org

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/crm/crmlog"
	"github.com/inboxsync/inboxsync/sync/emailnotice"
	"github.com/inboxsync/inboxsync/sync/org/pgstore"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/session"
)

// Defaults of a worker's timing.
const (
	// DefaultInterval is how often each mailbox syncs.
	DefaultInterval = 30 * time.Minute
	// DefaultRescueAfter is how long a job may be running before River
	// hands it to another worker: a killed worker's mailboxes go on
	// within this time (plus the rescuer's own period).
	DefaultRescueAfter = 10 * time.Minute
	// DefaultConcurrency is how many sessions one worker runs at once.
	DefaultConcurrency = 20
	// DefaultFanOut is the period of the fan-out that queues due mailboxes.
	DefaultFanOut = time.Minute
	// busyWait is how long a job waits when another worker holds its
	// mailbox's lock.
	busyWait = 30 * time.Second
	// fetchCooldown is the least time between two fetches of jobs.
	fetchCooldown = 10 * time.Millisecond
)

// Opener connects to a mailbox with the organisation's credentials.
type Opener interface {
	// Open returns a provider reading mb. Its errors should be classified
	// provider errors (see session.Input.Open).
	Open(ctx context.Context, mb pgstore.Mailbox) (provider.Provider, error)
	// OrganisationWide reports whether err refuses the organisation's
	// credentials themselves (an app whose consent was withdrawn, a
	// service account without delegation): one incident for the whole
	// organisation, not one per mailbox.
	OrganisationWide(err error) bool
}

// Config configures a Worker.
type Config struct {
	// Pool is the organisation database.
	Pool *pgxpool.Pool
	// Store is the organisation store on Pool.
	Store *pgstore.Store
	// Opener connects to mailboxes.
	Opener Opener
	// Interval between a mailbox's syncs (DefaultInterval when 0).
	Interval time.Duration
	// Concurrency is the number of sessions run at once (DefaultConcurrency
	// when 0). Pool should allow Concurrency + 10 connections: each
	// session writes through it, and River needs a few; the locks take
	// Concurrency + 1 connections more of their own.
	Concurrency int
	// RescueAfter is River's RescueStuckJobsAfter (DefaultRescueAfter
	// when 0). A session stops at a page boundary after 80% of it and its
	// job goes on at once as a new run, so that a live worker's job is
	// never rescued.
	RescueAfter time.Duration
	// FanOut is how often the due mailboxes are queued (DefaultFanOut
	// when 0); a mailbox due within the next FanOut is queued for its
	// time.
	FanOut time.Duration
	// HistoryDays is the history window of a first sync (0: all).
	HistoryDays int
	// Log receives the worker's log lines (nil: discarded).
	Log *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// ID names this worker in River (default: River's own).
	ID string
	// Notices, when set, checks the email notices (sync/org/notices.go)
	// every NoticeCheck (DefaultNoticeCheck when 0), as a periodic job of
	// the elected leader.
	Notices     *emailnotice.Service
	NoticeCheck time.Duration
	// Salesforce, when set, logs each mailbox's new items to the
	// organisation's Salesforce after its successful syncs, while a CRM
	// connection is active (crmjob.go); CRMRules gives the logger's
	// rules at each run (nil: the defaults).
	Salesforce *Salesforce
	CRMRules   func() crmlog.Config
}

// SyncArgs is the job that syncs one mailbox.
type SyncArgs struct {
	Mailbox string `json:"mailbox"`
}

// Kind implements river.JobArgs.
func (SyncArgs) Kind() string { return "inboxsync_sync" }

// InsertOpts makes the job unique per mailbox among live jobs: a mailbox
// never has two.
func (SyncArgs) InsertOpts() river.InsertOpts { return uniqueLive(25) }

// uniqueLive makes a job unique by its arguments among the live states
// (not completed, so the next cycle can insert again).
func uniqueLive(maxAttempts int) river.InsertOpts {
	return river.InsertOpts{
		MaxAttempts: maxAttempts,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
			rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
			rivertype.JobStateRunning, rivertype.JobStateScheduled,
		}},
	}
}

// ScheduleArgs is the periodic fan-out that queues the due mailboxes.
type ScheduleArgs struct{}

// Kind implements river.JobArgs.
func (ScheduleArgs) Kind() string { return "inboxsync_schedule" }

// Worker is one worker process's River client.
type Worker struct {
	cfg    Config
	client *river.Client[pgx.Tx]
	locks  *pgxpool.Pool // connections holding mailbox locks
}

// NewWorker makes a worker; Run starts it.
func NewWorker(cfg Config) (*Worker, error) {
	if cfg.Pool == nil || cfg.Store == nil || cfg.Opener == nil {
		return nil, errors.New("org: a worker needs a pool, a store and an opener")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.RescueAfter <= 0 {
		cfg.RescueAfter = DefaultRescueAfter
	}
	if cfg.FanOut <= 0 {
		cfg.FanOut = DefaultFanOut
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	// The sessions' mailbox locks are held on connections of their own, so
	// that running sessions never take every connection their writes and
	// River's work need.
	lcfg := cfg.Pool.Config().Copy()
	lcfg.MaxConns = int32(cfg.Concurrency + 1)
	lcfg.MinConns = 0
	locks, err := pgxpool.NewWithConfig(context.Background(), lcfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to the database: %w", err)
	}
	w := &Worker{cfg: cfg, locks: locks}
	workers := river.NewWorkers()
	river.AddWorker(workers, &syncWorker{w: w})
	river.AddWorker(workers, &scheduleWorker{w: w})
	river.AddWorker(workers, &noticeWorker{w: w})
	river.AddWorker(workers, &crmWorker{w: w})
	periodic := []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(cfg.FanOut),
		func() (river.JobArgs, *river.InsertOpts) {
			// Only the elected leader inserts periodic jobs.
			return ScheduleArgs{}, nil
		}, &river.PeriodicJobOpts{ID: "inboxsync_schedule", RunOnStart: true})}
	if cfg.Notices != nil {
		periodic = append(periodic, noticeJob(cfg.NoticeCheck))
	}
	client, err := river.NewClient(riverpgxv5.New(cfg.Pool), &river.Config{
		ID:     cfg.ID,
		Logger: cfg.Log.With("part", "river"),
		Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Concurrency}},
		// Our own time limit (a session stops at 80%) comes first; River's
		// timeout is the backstop for a provider that hangs.
		JobTimeout:           cfg.RescueAfter * 9 / 10,
		RescueStuckJobsAfter: cfg.RescueAfter,
		// A session slot that frees takes the next job within this
		// time (River's default is 100 ms: with sessions of a few
		// hundred milliseconds, a sixth of the slots stood idle while
		// many mailboxes were due). One fetch takes every job the free
		// slots can run.
		FetchCooldown: fetchCooldown,
		Workers:       workers,
		PeriodicJobs:  periodic,
	})
	if err != nil {
		locks.Close()
		return nil, fmt.Errorf("starting the job client: %w", err)
	}
	w.client = client
	return w, nil
}

// Run works jobs until ctx is done, then stops: the running sessions stop
// at their next page boundary and hand their mailboxes back (waiting at
// most stopWait for them).
func (w *Worker) Run(ctx context.Context, stopWait time.Duration) error {
	defer w.locks.Close()
	if err := w.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("starting the worker: %w", err)
	}
	// Queue what is due at once rather than after the leader's election
	// and first fan-out (seconds): a restarted worker, or the first one,
	// has work straight away. Unique jobs make a second queueing a no-op.
	if err := w.queueDue(ctx); err != nil {
		w.cfg.Log.Warn("queueing the due mailboxes at start", "err", err)
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), stopWait)
	defer cancel()
	if err := w.client.StopAndCancel(sctx); err != nil {
		return fmt.Errorf("stopping the worker: %w", err)
	}
	return nil
}

// Spread returns when a mailbox added at now first syncs: at a point of
// the interval fixed by its address, so that mailboxes added together do
// not all sync at once and each keeps its place.
func Spread(address string, now time.Time, interval time.Duration) time.Time {
	h := fnv.New64a()
	h.Write([]byte(address))
	return now.Add(time.Duration(h.Sum64() % uint64(interval)))
}

// lockKey is the advisory lock key of a mailbox.
func lockKey(address string) int64 {
	h := fnv.New64a()
	h.Write([]byte("inboxsync mailbox\x00" + address))
	return int64(h.Sum64())
}

// syncWorker runs SyncArgs jobs.
type syncWorker struct {
	river.WorkerDefaults[SyncArgs]
	w *Worker
}

// Work runs one session of the job's mailbox under its advisory lock.
func (sw *syncWorker) Work(ctx context.Context, job *river.Job[SyncArgs]) error {
	w := sw.w
	addr := job.Args.Mailbox
	conn, err := w.locks.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("connecting to the database: %w", err)
	}
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", lockKey(addr)).Scan(&got); err != nil {
		conn.Release()
		return fmt.Errorf("locking mailbox %s: %w", addr, err)
	}
	if !got {
		conn.Release()
		w.cfg.Log.Info("mailbox busy in another worker", "mailbox", addr)
		return river.JobSnooze(busyWait)
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, "SELECT pg_advisory_unlock($1)", lockKey(addr)); err != nil {
			// A connection whose unlock failed must not go back to the
			// pool holding the lock.
			conn.Hijack().Close(uctx)
			return
		}
		conn.Release()
	}()
	return w.runSession(ctx, addr, job.Attempt)
}

// runSession runs one session of addr and applies the rules to its end.
func (w *Worker) runSession(ctx context.Context, addr string, attempt int) error {
	st := w.cfg.Store
	mb, err := st.Mailbox(ctx, addr)
	if errors.Is(err, pgstore.ErrUnknownMailbox) {
		return nil // removed since the job was queued
	}
	if err != nil {
		return err
	}
	if !mb.Enabled || mb.State == "error" {
		return nil
	}
	start := w.cfg.Now()
	// Under the mailbox's lock no other session of it runs: one still
	// recorded as running was cut short (a worker killed).
	if n, err := st.InterruptSessions(ctx, addr, start); err != nil {
		return err
	} else if n > 0 {
		w.cfg.Log.Info("sessions of a stopped worker marked interrupted", "mailbox", addr, "sessions", n)
	}
	limit := w.cfg.RescueAfter * 8 / 10
	trigger := "schedule"
	switch {
	case attempt > 1:
		trigger = "resume"
	case !mb.SyncAsked.IsZero() && mb.SyncAsked.After(mb.LastTry):
		// Forced (org sync, the console) since the last session.
		trigger = "manual"
	}
	res, serr := session.Run(ctx, session.Input{
		Account: addr, Trigger: trigger,
		Open:        func(ctx context.Context) (provider.Provider, error) { return w.cfg.Opener.Open(ctx, mb) },
		Store:       st,
		Clock:       clock(w.cfg.Now),
		HistoryDays: w.cfg.HistoryDays,
		Stop:        func() bool { return w.cfg.Now().Sub(start) > limit },
		Log:         w.cfg.Log.With("mailbox", addr),
	})
	now := w.cfg.Now()
	if res.Stopped {
		// Out of time, or the worker is stopping: go on at once from the
		// stored cursors (here or, after a stop, in another worker).
		w.cfg.Log.Info("session handed back", "mailbox", addr, "session", res.Session.ID)
		return river.JobSnooze(0)
	}
	stand := pgstore.Standing{LastTry: now}
	if serr != nil && w.cfg.Opener.OrganisationWide(serr) {
		// The organisation's credentials were refused: not this
		// mailbox's fault. Keep its counters, try again next interval;
		// the organisation's incident is recorded once.
		stand.Rejections, stand.Failures = mb.Rejections, mb.Failures
		stand.Reason = res.Reason
		stand.NextSync = now.Add(w.cfg.Interval)
		if err := w.orgIncident(ctx, mb.Provider, res.Reason, now); err != nil {
			w.cfg.Log.Error("recording the organisation's incident", "err", err)
		}
		return st.SaveStanding(context.WithoutCancel(ctx), addr, stand)
	}
	v := session.Judge(session.Standing{Rejections: mb.Rejections, Failures: mb.Failures}, res, serr, w.cfg.Interval)
	stand.Rejections, stand.Failures = v.Standing.Rejections, v.Standing.Failures
	stand.Error, stand.Reason = v.Stopped, adminWords(v)
	stand.NextSync = now.Add(v.Delay)
	if serr == nil {
		stand.LastSync = now
		if err := w.clearOrgIncident(ctx, mb.Provider); err != nil {
			w.cfg.Log.Error("clearing the organisation's incident", "err", err)
		}
	}
	w.cfg.Log.Info("session ended", "mailbox", addr, "session", res.Session.ID, "outcome", res.Session.Outcome,
		"added", res.Session.Counts.Added, "updated", res.Session.Counts.Updated, "removed", res.Session.Counts.Removed,
		"err", res.Session.Error)
	if err := st.SaveStanding(context.WithoutCancel(ctx), addr, stand); err != nil {
		return err
	}
	if serr == nil {
		w.queueCRM(context.WithoutCancel(ctx), addr)
	}
	if v.Next == api.Throttled {
		// Wait the server's time in this job, not a whole interval.
		return river.JobSnooze(v.Delay)
	}
	return nil
}

// adminWords words a verdict's reason for the organisation's admin: the
// desktop's sentences speak to the mailbox's owner.
func adminWords(v session.Verdict) string {
	switch v.Next {
	case api.NeedsReactivation:
		if v.Standing.Rejections >= api.MaxRejections {
			return fmt.Sprintf("The mailbox refused the organisation's credentials %d times in a row; sync is disabled until you enable it again (check that the app may still read this mailbox).", v.Standing.Rejections)
		}
		return "The mailbox no longer lets the organisation's app read it: " + v.Reason + " Enable it again once access is restored."
	case api.Suspended:
		return v.Reason + " Enable it again once the cause is fixed."
	}
	return v.Reason
}

type clock func() time.Time

func (c clock) Now() time.Time { return c() }
