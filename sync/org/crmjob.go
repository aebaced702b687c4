package org

// Logging every mailbox's mail and meetings to the organisation's
// Salesforce, each as its own Salesforce user (issue 21 §2): a CRMArgs job
// per mailbox, queued after each successful sync while a CRM connection is
// active, drains the mailbox's outbox (pgstore.Outbox) through the same
// logger and rules as the desktop (sync/crm/crmlog) with a Recorder whose
// tokens are minted for the mailbox's user. One API budget for the whole
// organisation is kept in PostgreSQL (pgBudget).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/crm"
	"github.com/inboxsync/inboxsync/sync/crm/crmlog"
	"github.com/inboxsync/inboxsync/sync/crm/salesforce"
	"github.com/inboxsync/inboxsync/sync/org/pgstore"
	"github.com/inboxsync/inboxsync/sync/policy"
	"github.com/inboxsync/inboxsync/sync/provider"
)

// CRMBatch is how many outbox entries one logger call handles (a
// Salesforce collection holds 200 records).
const CRMBatch = 200

// CRMArgs is the job that logs one mailbox's new items to Salesforce.
type CRMArgs struct {
	Mailbox string `json:"mailbox"`
}

// Kind implements river.JobArgs.
func (CRMArgs) Kind() string { return "inboxsync_crm" }

// InsertOpts makes the job unique per mailbox among live jobs.
func (CRMArgs) InsertOpts() river.InsertOpts { return uniqueLive(10) }

// Salesforce opens the organisation's Salesforce connection from the
// stored settings (`org crm connect`), once per configuration, with the
// API budget every worker shares.
type Salesforce struct {
	Store      *pgstore.Store
	HTTPClient *http.Client

	mu   sync.Mutex
	conf string
	org  *salesforce.Org

	// The mailboxes' Salesforce users, resolved for every mailbox at
	// once (1,250 addresses a request) and kept for UserTTL or until the
	// admin's overrides change.
	users    sync.Mutex
	mapping  map[string]salesforce.Mapping
	mapFor   string // the overrides (JSON) the mapping was made with
	mappedAt time.Time
}

// UserTTL is how long a worker keeps the mailboxes' Salesforce users
// before it looks them up again (a user activated or deactivated in
// Salesforce is seen within it; an override from org crm map at once).
const UserTTL = 15 * time.Minute

// user returns the mailbox's Salesforce user, or why it has none.
func (s *Salesforce) user(ctx context.Context, o *salesforce.Org, addr string, now time.Time) (salesforce.Mapping, error) {
	s.users.Lock()
	defer s.users.Unlock()
	overrides, err := s.Store.CRMMap(ctx)
	if err != nil {
		return salesforce.Mapping{}, err
	}
	key, _ := json.Marshal(overrides)
	m, ok := s.mapping[addr]
	if ok && string(key) == s.mapFor && now.Sub(s.mappedAt) < UserTTL {
		return m, nil
	}
	mbs, err := s.Store.Mailboxes(ctx, pgstore.Filter{})
	if err != nil {
		return salesforce.Mapping{}, err
	}
	addrs := make([]string, 0, len(mbs)+1)
	for _, mb := range mbs {
		addrs = append(addrs, mb.Address)
	}
	if _, known := s.mapping[addr]; !known {
		addrs = append(addrs, addr)
	}
	all, err := o.Resolve(ctx, addrs, overrides)
	if err != nil {
		return salesforce.Mapping{}, err
	}
	s.mapping, s.mapFor, s.mappedAt = all, string(key), now
	return all[addr], nil
}

// Open returns the connection; ErrNoSalesforce when none is stored.
func (s *Salesforce) Open(ctx context.Context) (*salesforce.Org, error) {
	v, ok, err := s.Store.Setting(ctx, SettingSalesforce)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNoSalesforce
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.org != nil && s.conf == v {
		return s.org, nil
	}
	o, err := OpenSalesforce(ctx, s.Store, s.HTTPClient, &pgBudget{st: s.Store})
	if err != nil {
		return nil, err
	}
	s.conf, s.org = v, o
	return o, nil
}

// CRMRules returns the logger's rules for the organisation: the
// [salesforce] keys of the policy file at path, or their defaults (every
// user of the organisation logs under the same rules).
func CRMRules(path string) crmlog.Config {
	p := policy.Load(path)
	get := func(name string) string { v, _ := policy.Resolve(p, "salesforce."+name, "", ""); return v }
	cfg := crmlog.Config{
		InternalDomains:     policy.List(get("internal_domains")),
		LogEmailAs:          get("log_email_as"),
		RemoveDeletedEvents: policy.Bool(get("remove_deleted_events")),
		KeepOut:             policy.List(get("keep_out_categories")),
		LogByHand:           policy.List(get("log_categories")),
		ByHandOnly:          !policy.Bool(get("auto_log")),
		Threads:             policy.Bool(get("threads")),
		Opportunity:         get("opportunity"),
		CreateLeads:         policy.Bool(get("create_leads")),
		Location:            time.Local,
	}
	if b, ok := p.Get("salesforce.blocklist"); ok {
		cfg.Blocklist = policy.List(b)
		if cfg.Blocklist == nil {
			cfg.Blocklist = []string{}
		}
	}
	if cfg.LogEmailAs == "" {
		cfg.LogEmailAs = api.AsEmailMessage
	}
	return cfg
}

// CRMRulesOf returns CRMRules(path) as a function for Config.CRMRules
// that reads the policy file again only when it changed (its size or
// modification time), not at every logging run.
func CRMRulesOf(path string) func() crmlog.Config {
	var (
		mu     sync.Mutex
		seen   string
		cached crmlog.Config
	)
	return func() crmlog.Config {
		stamp := "missing"
		if info, err := os.Stat(path); err == nil {
			stamp = fmt.Sprint(info.Size(), info.ModTime().UnixNano())
		}
		mu.Lock()
		defer mu.Unlock()
		if stamp != seen {
			cached, seen = CRMRules(path), stamp
		}
		return cached
	}
}

// crmWorker works CRMArgs jobs.
type crmWorker struct {
	river.WorkerDefaults[CRMArgs]
	w *Worker
}

// Work logs the mailbox's outbox under the mailbox's CRM lock.
func (cw *crmWorker) Work(ctx context.Context, job *river.Job[CRMArgs]) error {
	w := cw.w
	addr := job.Args.Mailbox
	conn, err := w.locks.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("connecting to the database: %w", err)
	}
	key := lockKey("crm:" + addr)
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&got); err != nil {
		conn.Release()
		return fmt.Errorf("locking the CRM run of %s: %w", addr, err)
	}
	if !got {
		conn.Release()
		return river.JobSnooze(busyWait)
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, "SELECT pg_advisory_unlock($1)", key); err != nil {
			conn.Hijack().Close(uctx)
			return
		}
		conn.Release()
	}()
	return w.runCRM(ctx, addr)
}

// queueCRM queues a CRM run of addr when the organisation logs to a CRM.
func (w *Worker) queueCRM(ctx context.Context, addr string) {
	if w.cfg.Salesforce == nil {
		return
	}
	c, ok, err := w.cfg.Store.CRMConnection(ctx)
	if err != nil {
		w.cfg.Log.Error("reading the CRM connection", "err", err)
		return
	}
	if !ok || !c.Active {
		return
	}
	if _, err := w.client.Insert(ctx, CRMArgs{Mailbox: addr}, nil); err != nil {
		w.cfg.Log.Error("queueing the CRM run", "mailbox", addr, "err", err)
	}
}

// QueueCRM queues a CRM run of each address now (after `org crm
// connect`), without a worker.
func QueueCRM(ctx context.Context, st *pgstore.Store, addresses []string) error {
	client, err := newInsertClient(st)
	if err != nil {
		return err
	}
	params := make([]river.InsertManyParams, len(addresses))
	for i, a := range addresses {
		opts := CRMArgs{}.InsertOpts()
		params[i] = river.InsertManyParams{Args: CRMArgs{Mailbox: a}, InsertOpts: &opts}
	}
	if _, err := client.InsertMany(ctx, params); err != nil {
		return fmt.Errorf("queueing the CRM runs: %w", err)
	}
	return nil
}

// runCRM logs addr's outbox as its Salesforce user and records how it went.
func (w *Worker) runCRM(ctx context.Context, addr string) error {
	st := w.cfg.Store
	c, ok, err := st.CRMConnection(ctx)
	if err != nil {
		return err
	}
	if !ok || !c.Active {
		return nil
	}
	mb, err := st.Mailbox(ctx, addr)
	if errors.Is(err, pgstore.ErrUnknownMailbox) {
		return nil
	}
	if err != nil {
		return err
	}
	if !mb.Enabled {
		return nil
	}
	start := w.cfg.Now()
	stand := pgstore.CRMStanding{LastRun: start}
	sforg, err := w.cfg.Salesforce.Open(ctx)
	if errors.Is(err, ErrNoSalesforce) {
		return nil
	}
	if err != nil {
		return w.crmOrgRefused(ctx, err, start)
	}
	m, err := w.cfg.Salesforce.user(ctx, sforg, addr, start)
	if err != nil {
		return w.crmFailed(ctx, addr, stand, err)
	}
	if !m.OK() {
		stand.Reason = m.Reason
		w.cfg.Log.Info("no Salesforce user: nothing logged", "mailbox", addr, "reason", m.Reason)
		return st.SaveCRMStanding(context.WithoutCancel(ctx), addr, stand)
	}
	stand.User = m.User.Username
	rec, err := sforg.Recorder(m.User.Username)
	if err != nil {
		return w.crmFailed(ctx, addr, stand, err)
	}
	rules := crmlog.Config{LogEmailAs: api.AsEmailMessage, Threads: true, Opportunity: api.OppSingleOpen,
		KeepOut: api.DefaultKeepOut, LogByHand: api.DefaultLogByHand}
	if w.cfg.CRMRules != nil {
		rules = w.cfg.CRMRules()
	}
	rules.Mailbox = addr
	before := rec.Requests()
	saved, err := crmlog.Drain(ctx, st.Outbox(addr, w.cfg.Now), crmlog.NewLogger(rec, rules), CRMBatch)
	stand.Requests = rec.Requests() - before
	w.cfg.Log.Info("CRM run ended", "mailbox", addr, "user", m.User.Username, "saved", saved, "requests", stand.Requests, "err", err)
	if err != nil {
		return w.crmFailed(ctx, addr, stand, err)
	}
	if err := w.clearOrgIncident(ctx, "salesforce"); err != nil {
		w.cfg.Log.Error("clearing the organisation's incident", "err", err)
	}
	return st.SaveCRMStanding(context.WithoutCancel(ctx), addr, stand)
}

// crmOrgRefused records an organisation-wide refusal (the app, its key,
// the integration user): one incident, and the run waits an interval.
func (w *Worker) crmOrgRefused(ctx context.Context, err error, now time.Time) error {
	if errors.Is(err, salesforce.ErrOrgRefused) || provider.Classify(err) == provider.ClassGrantGone {
		if ierr := w.orgIncident(ctx, "salesforce", provider.Reason(err), now); ierr != nil {
			w.cfg.Log.Error("recording the organisation's incident", "err", ierr)
		}
		return nil
	}
	return err
}

// crmFailed sorts a run's error: the budget used up or the server's limit
// waits (the job snoozes until then); the organisation's app refused is
// one incident; the mailbox's user refused is its reason; a network
// fault is retried by River; anything else is recorded and retried.
func (w *Worker) crmFailed(ctx context.Context, addr string, stand pgstore.CRMStanding, err error) error {
	var ue *salesforce.UserError
	switch {
	case ctx.Err() != nil:
		return err
	case errors.As(err, &ue):
		stand.Reason = ue.Error()
		return w.cfg.Store.SaveCRMStanding(context.WithoutCancel(ctx), addr, stand)
	case errors.Is(err, salesforce.ErrOrgRefused):
		stand.Reason = provider.Reason(err)
		w.cfg.Store.SaveCRMStanding(context.WithoutCancel(ctx), addr, stand)
		return w.crmOrgRefused(ctx, err, stand.LastRun)
	}
	switch provider.Classify(err) {
	case provider.ClassThrottled:
		d := provider.RetryAfter(err)
		stand.Reason = "Salesforce API limit nearly used up; logging waits until " + w.cfg.Now().Add(d).Format("15:04") + "."
		w.cfg.Store.SaveCRMStanding(context.WithoutCancel(ctx), addr, stand)
		return river.JobSnooze(max(d, time.Minute))
	case provider.ClassGrantGone:
		stand.Reason = provider.Reason(err)
		return w.cfg.Store.SaveCRMStanding(context.WithoutCancel(ctx), addr, stand)
	case provider.ClassOffline:
		return err
	}
	stand.Reason = provider.Reason(err)
	w.cfg.Store.SaveCRMStanding(context.WithoutCancel(ctx), addr, stand)
	return err
}

// pgBudget is the organisation's Salesforce API budget in PostgreSQL (the
// setting crm.budget), shared by every worker: each Update locks the row.
type pgBudget struct{ st *pgstore.Store }

const keyBudget = "crm.budget"

// Load implements salesforce.Budget.
func (b *pgBudget) Load(ctx context.Context) (salesforce.BudgetState, error) {
	var s salesforce.BudgetState
	v, ok, err := b.st.Setting(ctx, keyBudget)
	if err != nil || !ok {
		return s, err
	}
	return s, json.Unmarshal([]byte(v), &s)
}

// Update implements salesforce.Budget.
func (b *pgBudget) Update(ctx context.Context, f func(*salesforce.BudgetState)) error {
	return pgx.BeginFunc(ctx, b.st.Pool(), func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO settings (key, value) VALUES ($1, '{}') ON CONFLICT (key) DO NOTHING`, keyBudget); err != nil {
			return err
		}
		var v string
		if err := tx.QueryRow(ctx, `SELECT value FROM settings WHERE key = $1 FOR UPDATE`, keyBudget).Scan(&v); err != nil {
			return err
		}
		var s salesforce.BudgetState
		if err := json.Unmarshal([]byte(v), &s); err != nil {
			return fmt.Errorf("reading the Salesforce API budget: %w", err)
		}
		f(&s)
		out, err := json.Marshal(s)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE settings SET value = $2 WHERE key = $1`, keyBudget, string(out))
		return err
	})
}

var _ salesforce.Budget = (*pgBudget)(nil)
var _ crm.Recorder = (*salesforce.Client)(nil)

// newInsertClient returns a River client that only inserts jobs.
func newInsertClient(st *pgstore.Store) (*river.Client[pgx.Tx], error) {
	return river.NewClient(riverpgxv5.New(st.Pool()), &river.Config{})
}

// Budget returns the organisation's shared Salesforce API budget.
func Budget(st *pgstore.Store) salesforce.Budget { return &pgBudget{st: st} }
