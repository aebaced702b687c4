// Package queuetest is the conformance suite of emailnotice.Queue: the
// desktop's SQLite store and the organisation's PostgreSQL store run the
// same checks. Test code only.
package queuetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/emailnotice"
)

// Store is a queue with the session calls the suite needs to record
// sessions, and a way to read its notices back.
type Store interface {
	emailnotice.Queue
	BeginSession(ctx context.Context, account, trigger string, start time.Time) (api.Session, error)
	EndSession(ctx context.Context, sess api.Session) error
	// Notices returns the newest notices of account ("" for all), newest
	// first, at most limit (0: 100).
	Notices(ctx context.Context, account string, limit int) ([]api.Notice, error)
}

// Harness opens stores for the suite.
type Harness struct {
	// Open returns an empty store holding one account (a mailbox) and its
	// ID; the store is closed when t ends.
	Open func(t *testing.T) (Store, string)
	// Shared says the store is shared by several processes: DueNotices
	// hands a notice to one caller at a time (until Lease has passed).
	Shared bool
	Lease  time.Duration
}

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func stopped(to string) api.Notice {
	return api.Notice{Kind: "stopped", Recipient: to, Subject: emailnotice.SubjectStopped, Body: "body for " + to, CreatedAt: t0}
}

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	ctx := context.Background()
	open := func(t *testing.T, s Store, acct string) api.Incident {
		t.Helper()
		inc, opened, err := s.OpenIncident(ctx, api.Incident{Account: acct, State: "needs-reactivation", Reason: "access withdrawn", OpenedAt: t0},
			[]api.Notice{stopped("jdoe@contoso.com"), stopped("it@contoso.com")})
		if err != nil || !opened || inc.ID == 0 {
			t.Fatalf("OpenIncident = %+v, %v, %v; want a new incident", inc, opened, err)
		}
		return inc
	}

	t.Run("OneOpenIncidentPerAccount", func(t *testing.T) {
		s, acct := h.Open(t)
		if _, ok, err := s.OpenIncidentOf(ctx, acct); err != nil || ok {
			t.Fatalf("OpenIncidentOf of a new store = %v, %v; want none", ok, err)
		}
		inc := open(t, s, acct)
		again, opened, err := s.OpenIncident(ctx, api.Incident{Account: acct, State: "suspended", OpenedAt: t0.Add(time.Hour)}, []api.Notice{stopped("x@contoso.com")})
		if err != nil || opened || again.ID != inc.ID || again.State != "needs-reactivation" {
			t.Fatalf("second OpenIncident = %+v, %v, %v; want the open one, not opened", again, opened, err)
		}
		got, ok, err := s.OpenIncidentOf(ctx, acct)
		if err != nil || !ok || got.ID != inc.ID || got.Reason != "access withdrawn" || !got.OpenedAt.Equal(t0) {
			t.Fatalf("OpenIncidentOf = %+v, %v, %v; want %+v", got, ok, err, inc)
		}
		all, err := s.Notices(ctx, "", 0)
		if err != nil || len(all) != 2 {
			t.Fatalf("notices after opening twice: %d, %v; want the 2 of the first opening", len(all), err)
		}
	})

	t.Run("DueAtOnceThenRetriedAndDelivered", func(t *testing.T) {
		s, acct := h.Open(t)
		inc := open(t, s, acct)
		if due, err := s.DueNotices(ctx, t0.Add(-time.Second)); err != nil || len(due) != 0 {
			t.Fatalf("DueNotices before they were queued = %d, %v; want none", len(due), err)
		}
		due, err := s.DueNotices(ctx, t0)
		if err != nil || len(due) != 2 {
			t.Fatalf("DueNotices = %d, %v; want 2", len(due), err)
		}
		n := due[0]
		if n.Incident != inc.ID || n.Account != acct || n.Kind != "stopped" || n.Recipient != "jdoe@contoso.com" ||
			n.Subject != emailnotice.SubjectStopped || n.Body != "body for jdoe@contoso.com" || n.State != api.NoticePending || n.Attempts != 0 {
			t.Fatalf("first due notice = %+v", n)
		}
		next := t0.Add(time.Minute)
		if err := s.NoticeFailed(ctx, n, t0, next, "the relay refused the login", "The email could not be sent."); err != nil {
			t.Fatal(err)
		}
		if err := s.NoticeDelivered(ctx, due[1].ID, t0); err != nil {
			t.Fatal(err)
		}
		if due, err := s.DueNotices(ctx, next.Add(-time.Second)); err != nil || len(due) != 0 {
			t.Fatalf("DueNotices before the retry = %+v, %v; want none", due, err)
		}
		due, err = s.DueNotices(ctx, next)
		if err != nil || len(due) != 1 || due[0].ID != n.ID || due[0].Attempts != 1 || due[0].LastError != "the relay refused the login" {
			t.Fatalf("DueNotices at the retry = %+v, %v; want the failed one with 1 attempt and its error", due, err)
		}
		if err := s.NoticeDelivered(ctx, n.ID, next); err != nil {
			t.Fatal(err)
		}
		if due, err := s.DueNotices(ctx, next.Add(48*time.Hour)); err != nil || len(due) != 0 {
			t.Fatalf("DueNotices after both were delivered = %+v, %v; want none", due, err)
		}
		all, err := s.Notices(ctx, acct, 0)
		if err != nil || len(all) != 2 {
			t.Fatalf("Notices = %d, %v", len(all), err)
		}
		for _, x := range all {
			if x.State != api.NoticeSent || x.DoneAt.IsZero() {
				t.Errorf("notice to %s: state %q done %v; want sent", x.Recipient, x.State, x.DoneAt)
			}
		}
	})

	t.Run("ClosingDropsUndeliveredAndQueuesResumed", func(t *testing.T) {
		s, acct := h.Open(t)
		inc := open(t, s, acct)
		at := t0.Add(time.Hour)
		resumed := api.Notice{Kind: "resumed", Recipient: "it@contoso.com", Subject: emailnotice.SubjectResumed, Body: "again", CreatedAt: at}
		if err := s.CloseIncident(ctx, inc, at, []api.Notice{resumed}); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := s.OpenIncidentOf(ctx, acct); err != nil || ok {
			t.Fatalf("OpenIncidentOf after closing = %v, %v; want none", ok, err)
		}
		due, err := s.DueNotices(ctx, at)
		if err != nil || len(due) != 1 || due[0].Kind != "resumed" || due[0].Incident != inc.ID {
			t.Fatalf("DueNotices after closing = %+v, %v; want only the resumed notice", due, err)
		}
		dropped := 0
		all, _ := s.Notices(ctx, acct, 0)
		for _, x := range all {
			if x.State == api.NoticeDropped {
				dropped++
			}
		}
		if dropped != 2 {
			t.Fatalf("%d notices dropped on closing; want the 2 undelivered", dropped)
		}
		// A new stop is a new incident.
		again, opened, err := s.OpenIncident(ctx, api.Incident{Account: acct, State: "suspended", OpenedAt: at.Add(time.Hour)}, nil)
		if err != nil || !opened || again.ID == inc.ID {
			t.Fatalf("OpenIncident after closing = %+v, %v, %v; want a new one", again, opened, err)
		}
	})

	t.Run("LastOKSession", func(t *testing.T) {
		s, acct := h.Open(t)
		if _, ok, err := s.LastOKSession(ctx, acct); err != nil || ok {
			t.Fatalf("LastOKSession without sessions = %v, %v", ok, err)
		}
		record := func(start time.Time, outcome string) api.Session {
			sess, err := s.BeginSession(ctx, acct, "schedule", start)
			if err != nil {
				t.Fatal(err)
			}
			sess.End, sess.Outcome = start.Add(time.Minute), outcome
			if outcome == api.OutcomeFailed {
				sess.Error = "refused"
			}
			if err := s.EndSession(ctx, sess); err != nil {
				t.Fatal(err)
			}
			return sess
		}
		ok1 := record(t0, api.OutcomeOK)
		record(t0.Add(time.Hour), api.OutcomeFailed)
		got, ok, err := s.LastOKSession(ctx, acct)
		if err != nil || !ok || got.ID != ok1.ID || !got.Start.Equal(t0) || !got.End.Equal(t0.Add(time.Minute)) {
			t.Fatalf("LastOKSession = %+v, %v, %v; want the ok session of %v", got, ok, err, t0)
		}
	})

	if !h.Shared {
		return
	}
	t.Run("SharedQueueHandsEachNoticeOnce", func(t *testing.T) {
		s, acct := h.Open(t)
		// Two workers open the same incident at once: one opens it.
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			opened int
		)
		for range 4 {
			wg.Go(func() {
				_, o, err := s.OpenIncident(ctx, api.Incident{Account: acct, State: "suspended", OpenedAt: t0},
					[]api.Notice{stopped("jdoe@contoso.com"), stopped("it@contoso.com")})
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				if o {
					opened++
				}
				mu.Unlock()
			})
		}
		wg.Wait()
		if opened != 1 {
			t.Fatalf("4 concurrent OpenIncident opened %d incidents; want 1", opened)
		}
		taken := map[int64]int{}
		for range 4 {
			wg.Go(func() {
				due, err := s.DueNotices(ctx, t0)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				for _, n := range due {
					taken[n.ID]++
				}
				mu.Unlock()
			})
		}
		wg.Wait()
		if len(taken) != 2 {
			t.Fatalf("concurrent DueNotices took %d notices; want the 2 queued", len(taken))
		}
		for id, k := range taken {
			if k != 1 {
				t.Errorf("notice %d was handed out %d times; want once", id, k)
			}
		}
		if due, err := s.DueNotices(ctx, t0.Add(h.Lease-time.Second)); err != nil || len(due) != 0 {
			t.Fatalf("DueNotices within the lease = %+v, %v; want none", due, err)
		}
		// A worker that took them and died: they come back after the lease.
		if due, err := s.DueNotices(ctx, t0.Add(h.Lease)); err != nil || len(due) != 2 {
			t.Fatalf("DueNotices after the lease = %d, %v; want the 2 again", len(due), err)
		}
	})
}
