package org

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
)

// maxFanOut bounds the mailboxes one fan-out queues; the next one, a
// minute later, queues the rest.
const maxFanOut = 20000

// scheduleWorker runs the periodic fan-out: every mailbox due within the
// next period gets a sync job scheduled at its time. The leader alone runs
// it (River's periodic jobs); unique jobs make a mailbox already queued or
// running a no-op.
type scheduleWorker struct {
	river.WorkerDefaults[ScheduleArgs]
	w *Worker
}

// Work queues the mailboxes due before the next fan-out.
func (sw *scheduleWorker) Work(ctx context.Context, _ *river.Job[ScheduleArgs]) error {
	return sw.w.queueDue(ctx)
}

// queueDue queues the mailboxes due before the next fan-out, each at its
// time (those due already at once); a mailbox with a live job already is
// skipped.
func (w *Worker) queueDue(ctx context.Context) error {
	now := w.cfg.Now()
	due, err := w.cfg.Store.DueBefore(ctx, now.Add(w.cfg.FanOut), maxFanOut)
	if err != nil {
		return err
	}
	if len(due) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, len(due))
	for i, d := range due {
		opts := SyncArgs{}.InsertOpts()
		if d.NextSync.After(now) {
			// River makes a job with a time "scheduled", made available
			// by the leader's scheduler (every 5 s, once elected); one
			// already due is available at once.
			opts.ScheduledAt = d.NextSync
		}
		params[i] = river.InsertManyParams{Args: SyncArgs{Mailbox: d.Address}, InsertOpts: &opts}
	}
	res, err := w.client.InsertMany(ctx, params)
	if err != nil {
		return fmt.Errorf("queueing %d mailboxes: %w", len(due), err)
	}
	queued := 0
	for _, r := range res {
		if !r.UniqueSkippedAsDuplicate {
			queued++
		}
	}
	w.cfg.Log.Info("queued due mailboxes", "due", len(due), "queued", queued)
	return nil
}

// Enqueue asks for a sync of each address now: a new job, or the
// mailbox's waiting job moved to now. A running job is left alone (its
// session is under way). It uses pool alone, without a worker.
func Enqueue(ctx context.Context, pool *pgxpool.Pool, addresses []string) error {
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		return err
	}
	params := make([]river.InsertManyParams, len(addresses))
	for i, a := range addresses {
		opts := SyncArgs{}.InsertOpts()
		params[i] = river.InsertManyParams{Args: SyncArgs{Mailbox: a}, InsertOpts: &opts}
	}
	res, err := client.InsertMany(ctx, params)
	if err != nil {
		return fmt.Errorf("queueing the sync: %w", err)
	}
	for i, r := range res {
		if !r.UniqueSkippedAsDuplicate {
			continue
		}
		// A job waits already (the next regular sync, a throttled
		// mailbox's wait): bring it forward, available at once as the
		// leader's scheduler would make it in up to 5 s.
		args, _ := json.Marshal(SyncArgs{Mailbox: addresses[i]})
		if _, err := pool.Exec(ctx, `UPDATE river_job SET scheduled_at = now(), state = 'available'
			WHERE kind = $1 AND args = $2::jsonb AND state IN ('scheduled', 'retryable', 'available')`,
			SyncArgs{}.Kind(), string(args)); err != nil {
			return fmt.Errorf("bringing the sync of %s forward: %w", addresses[i], err)
		}
	}
	return nil
}

// Incident is an organisation-wide refusal of its credentials by one
// provider: one incident, one notice, whatever the number of mailboxes.
type Incident struct {
	Provider string    `json:"provider"`
	Reason   string    `json:"reason"`
	Since    time.Time `json:"since"`
	Last     time.Time `json:"last"`
}

func incidentKey(provider string) string { return "incident." + provider }

// orgIncident records (or keeps) the organisation's incident for provider.
func (w *Worker) orgIncident(ctx context.Context, provider, reason string, now time.Time) error {
	inc, ok, err := OpenIncident(ctx, w.cfg.Store, provider)
	if err != nil {
		return err
	}
	if !ok {
		inc = Incident{Provider: provider, Since: now}
		w.cfg.Log.Error("the organisation's credentials were refused", "provider", provider, "reason", reason)
	}
	inc.Reason, inc.Last = reason, now
	b, _ := json.Marshal(inc)
	return w.cfg.Store.SetSetting(context.WithoutCancel(ctx), incidentKey(provider), string(b))
}

// clearOrgIncident ends provider's incident, if any, after a success.
func (w *Worker) clearOrgIncident(ctx context.Context, provider string) error {
	_, ok, err := OpenIncident(ctx, w.cfg.Store, provider)
	if err != nil || !ok {
		return err
	}
	w.cfg.Log.Info("the organisation's credentials work again", "provider", provider)
	return w.cfg.Store.SetSetting(context.WithoutCancel(ctx), incidentKey(provider), "null")
}

// settings is the part of the store incidents live in.
type settings interface {
	Setting(ctx context.Context, key string) (string, bool, error)
}

// OpenIncident returns provider's open incident, if any.
func OpenIncident(ctx context.Context, st settings, provider string) (Incident, bool, error) {
	v, ok, err := st.Setting(ctx, incidentKey(provider))
	if err != nil || !ok || v == "" || v == "null" {
		return Incident{}, false, err
	}
	var inc Incident
	if err := json.Unmarshal([]byte(v), &inc); err != nil {
		return Incident{}, false, fmt.Errorf("reading the %s incident: %w", provider, err)
	}
	return inc, true, nil
}
