package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
)

func pragma(t *testing.T, s *Store, name string) string {
	t.Helper()
	var v string
	if err := s.db.QueryRow("PRAGMA " + name).Scan(&v); err != nil {
		t.Fatalf("PRAGMA %s: %v", name, err)
	}
	return v
}

func TestOpenCreatesSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "inboxsync.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Path() != path {
		t.Errorf("Path() = %q, want %q", s.Path(), path)
	}
	for name, want := range map[string]string{
		"user_version": strconv.Itoa(schemaVersion()),
		"journal_mode": "wal",
		"foreign_keys": "1",
		"synchronous":  "1", // NORMAL
		"busy_timeout": "5000",
	} {
		if got := pragma(t, s, name); got != want {
			t.Errorf("PRAGMA %s = %s, want %s", name, got, want)
		}
	}
	var tables []string
	rows, err := s.db.Query("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	want := []string{"accounts", "crm_connection", "crm_items", "cursors", "full_syncs", "incidents", "issues", "items", "notices", "run_state", "search", "search_config", "search_data", "search_docsize", "search_idx", "search_state", "sessions", "settings"}
	if !reflect.DeepEqual(tables, want) {
		t.Errorf("tables = %v, want %v", tables, want)
	}
	if err := s.AddAccount(ctx, api.Account{ID: "work", Provider: "exchange"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyPage(ctx, "work", api.Inbox, addPage("a", 3, "c1"), t0); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(path + suffix); err == nil {
			t.Errorf("%s left after Close", suffix)
		}
	}

	// Reopening runs no migration again and keeps the data.
	for range 2 {
		s, err = Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := pragma(t, s, "user_version"); got != strconv.Itoa(schemaVersion()) {
			t.Errorf("user_version after reopen = %s", got)
		}
		if n, err := s.CountItems(ctx, "work"); err != nil || n != 3 {
			t.Errorf("CountItems = %d, %v; want 3", n, err)
		}
		if c, err := s.Cursor(ctx, "work", api.Inbox); err != nil || c != "c1" {
			t.Errorf("Cursor = %q, %v", c, err)
		}
		s.Close()
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "missing", "inboxsync.db")); err == nil {
		t.Error("Open in a missing directory succeeded")
	}
	if _, err := Open(dir); err == nil {
		t.Error("Open of a directory succeeded")
	}
	_, err := OpenReadOnly(filepath.Join(dir, "none.db"))
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("OpenReadOnly of a missing file: %v, want ErrNotFound", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "none.db")); err == nil {
		t.Error("OpenReadOnly created the file")
	}
	// An empty file is a new database for Open.
	empty := filepath.Join(dir, "empty.db")
	os.WriteFile(empty, nil, 0o600)
	if _, err := OpenReadOnly(empty); !errors.Is(err, ErrNotFound) {
		t.Errorf("OpenReadOnly of an empty file: %v, want ErrNotFound", err)
	}
	s, err := Open(empty)
	if err != nil {
		t.Fatalf("Open of an empty file: %v", err)
	}
	s.Close()
}

func TestOpenReadOnly(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "inboxsync.db")
	w, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.AddAccount(ctx, api.Account{ID: "work", Provider: "gmail"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.ApplyPage(ctx, "work", api.Inbox, addPage("a", 5, "c1"), t0); err != nil {
		t.Fatal(err)
	}

	r, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if n, err := r.CountItems(ctx, "work"); err != nil || n != 5 {
		t.Errorf("CountItems = %d, %v", n, err)
	}
	// It sees later commits of the writer.
	if _, err := w.ApplyPage(ctx, "work", api.Inbox, addPage("b", 5, "c2"), t0); err != nil {
		t.Fatal(err)
	}
	if n, err := r.CountItems(ctx, "work"); err != nil || n != 10 {
		t.Errorf("CountItems after a write = %d, %v", n, err)
	}
	// And cannot write.
	if err := r.PutSetting(ctx, "k", "v"); err == nil {
		t.Error("PutSetting on a read-only store succeeded")
	}
	if _, err := r.ApplyPage(ctx, "work", api.Inbox, addPage("c", 1, "c3"), t0); err == nil {
		t.Error("ApplyPage on a read-only store succeeded")
	}
	if _, err := r.BeginSession(ctx, "work", "manual", t0); err == nil {
		t.Error("BeginSession on a read-only store succeeded")
	}
}

func TestAccounts(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	created := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("CET", 3600))
	work := api.Account{ID: "work", Provider: "office365", Login: "me@corp.example", Email: "me@corp.example",
		Settings: map[string]string{"tenant": "corp", "client_id": "abc"}, CreatedAt: created}
	home := api.Account{ID: "home", Provider: "gmail", CreatedAt: created.Add(time.Hour)}
	early := api.Account{ID: "b-early", Provider: "exchange", CreatedAt: created}

	steps := []struct {
		name string
		do   func() error
		want error
	}{
		{"add work", func() error { return s.AddAccount(ctx, work) }, nil},
		{"add home", func() error { return s.AddAccount(ctx, home) }, nil},
		{"add same created time", func() error { return s.AddAccount(ctx, early) }, nil},
		{"add duplicate", func() error { return s.AddAccount(ctx, api.Account{ID: "work", Provider: "gmail"}) }, ErrExists},
		{"add without id", func() error { return s.AddAccount(ctx, api.Account{Provider: "gmail"}) }, errAny},
		{"update missing", func() error { return s.UpdateAccount(ctx, api.Account{ID: "nope"}) }, ErrNotFound},
		{"delete missing", func() error { return s.DeleteAccount(ctx, "nope", 100) }, ErrNotFound},
		{"get missing", func() error { _, err := s.Account(ctx, "nope"); return err }, ErrNotFound},
	}
	for _, st := range steps {
		err := st.do()
		switch {
		case st.want == nil && err != nil:
			t.Errorf("%s: %v", st.name, err)
		case st.want == errAny && err == nil:
			t.Errorf("%s: no error", st.name)
		case st.want != nil && st.want != errAny && !errors.Is(err, st.want):
			t.Errorf("%s: %v, want %v", st.name, err, st.want)
		}
	}

	got, err := s.Account(ctx, "work")
	if err != nil {
		t.Fatal(err)
	}
	if !got.CreatedAt.Equal(created) || got.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want %v in UTC", got.CreatedAt, created)
	}
	work.CreatedAt = got.CreatedAt
	if !reflect.DeepEqual(got, work) {
		t.Errorf("Account = %+v, want %+v", got, work)
	}

	list, err := s.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range list {
		ids = append(ids, a.ID)
	}
	if want := []string{"b-early", "work", "home"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("Accounts order = %v, want %v", ids, want)
	}

	// Update: everything but the ID; a zero CreatedAt keeps the stored one.
	upd := api.Account{ID: "work", Provider: "office365", Email: "new@corp.example", Disabled: true}
	if err := s.UpdateAccount(ctx, upd); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Account(ctx, "work")
	upd.CreatedAt = work.CreatedAt
	if !reflect.DeepEqual(got, upd) {
		t.Errorf("after update: %+v, want %+v", got, upd)
	}

	// A zero CreatedAt is set on add.
	before := time.Now()
	if err := s.AddAccount(ctx, api.Account{ID: "new", Provider: "gmail"}); err != nil {
		t.Fatal(err)
	}
	if a, _ := s.Account(ctx, "new"); a.CreatedAt.Before(before.Add(-time.Second)) {
		t.Errorf("CreatedAt of a new account = %v", a.CreatedAt)
	}

	if err := s.DeleteAccount(ctx, "home", 100); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Account(ctx, "home"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted account: %v", err)
	}

	// JSON as the CLI prints it.
	b, _ := json.Marshal(api.Account{ID: "x", Provider: "gmail", CreatedAt: t0})
	if want := `{"id":"x","provider":"gmail","disabled":false,"created_at":"2026-03-01T09:30:00.123456789Z"}`; string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
}

// errAny in a table means "some error".
var errAny = errors.New("any error")

func TestErrorMessages(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, "work")
	_, err := s.Account(ctx, "nope")
	if err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("not found error = %v", err)
	}
	err = s.AddAccount(ctx, api.Account{ID: "work"})
	if err == nil || !strings.Contains(err.Error(), `"work" already exists`) {
		t.Errorf("exists error = %v", err)
	}
}

func TestRunState(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, "work")
	rs, err := s.RunState(ctx, "work")
	if err != nil || rs != (RunState{}) {
		t.Fatalf("RunState before any = %+v, %v", rs, err)
	}
	cet := time.FixedZone("CET", 3600)
	cases := []RunState{
		{State: "idle", NextSync: t0.Add(30 * time.Minute), LastAttempt: t0},
		{State: "paused", Paused: true, LastAttempt: t0.In(cet)}, // until resumed: zero PausedUntil
		{State: "paused", Paused: true, PausedUntil: time.Date(2026, 3, 1, 10, 0, 0, 1, cet)},
		{State: "needs-reactivation", Reason: "The password was rejected 6 times", Rejections: 6, Failures: 2},
		{},
	}
	for _, want := range cases {
		if err := s.PutRunState(ctx, "work", want); err != nil {
			t.Fatal(err)
		}
		got, err := s.RunState(ctx, "work")
		if err != nil {
			t.Fatal(err)
		}
		for _, tm := range []struct{ got, want time.Time }{
			{got.PausedUntil, want.PausedUntil}, {got.LastAttempt, want.LastAttempt}, {got.NextSync, want.NextSync},
		} {
			if !tm.got.Equal(tm.want) || tm.got.IsZero() != tm.want.IsZero() {
				t.Errorf("time %v, want %v", tm.got, tm.want)
			}
		}
		// Apart from the location, identical.
		norm := func(r RunState) RunState {
			for _, p := range []*time.Time{&r.PausedUntil, &r.LastAttempt, &r.NextSync} {
				if !p.IsZero() {
					*p = p.UTC()
				}
			}
			return r
		}
		if norm(got) != norm(want) {
			t.Errorf("RunState = %+v, want %+v", got, want)
		}
	}
	if err := s.PutRunState(ctx, "nope", RunState{State: "idle"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("PutRunState for an unknown account: %v", err)
	}
	b, _ := json.Marshal(RunState{State: "idle"})
	if want := `{"state":"idle","rejections":0,"failures":0,"paused":false}`; string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
}

func TestSettings(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	if _, ok, err := s.Setting(ctx, "interval"); ok || err != nil {
		t.Fatalf("unset setting: ok=%v err=%v", ok, err)
	}
	for _, v := range []string{"30m", "", "1h"} {
		if err := s.PutSetting(ctx, "interval", v); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.Setting(ctx, "interval")
		if !ok || err != nil || got != v {
			t.Errorf("Setting = %q, %v, %v; want %q", got, ok, err, v)
		}
	}
	if err := s.DeleteSetting(ctx, "interval"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Setting(ctx, "interval"); ok {
		t.Error("setting still there after delete")
	}
	if err := s.DeleteSetting(ctx, "interval"); err != nil {
		t.Errorf("deleting an unset setting: %v", err)
	}
}

func TestSessions(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, "work", "home")
	if _, ok, err := s.LastSession(ctx, "work"); ok || err != nil {
		t.Fatalf("LastSession with none: %v %v", ok, err)
	}
	var ids []int64
	for i, trig := range []string{"activation", "schedule", "manual"} {
		sess, err := s.BeginSession(ctx, "work", trig, t0.Add(time.Duration(i)*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if sess.Outcome != api.OutcomeRunning || sess.ID == 0 || sess.Trigger != trig || sess.Account != "work" {
			t.Errorf("BeginSession = %+v", sess)
		}
		ids = append(ids, sess.ID)
		if i < 2 {
			sess.End = sess.Start.Add(time.Minute)
			sess.Outcome = "ok"
			sess.Counts = api.Counts{Added: 10 * (i + 1), Updated: 1, Removed: 2}
			if i == 1 {
				sess.Outcome, sess.Error = "failed", "the server said no"
			}
			if err := s.EndSession(ctx, sess); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := s.BeginSession(ctx, "home", "schedule", t0.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BeginSession(ctx, "nope", "schedule", t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("BeginSession for an unknown account: %v", err)
	}
	if err := s.EndSession(ctx, api.Session{ID: 9999, Outcome: "ok"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("EndSession of an unknown session: %v", err)
	}

	list, err := s.Sessions(ctx, api.SessionQuery{Account: "work"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || list[0].ID != ids[2] || list[1].ID != ids[1] || list[2].ID != ids[0] {
		t.Fatalf("Sessions = %+v", list)
	}
	want := api.Session{ID: ids[1], Account: "work", Trigger: "schedule", Start: t0.Add(time.Hour),
		End: t0.Add(time.Hour + time.Minute), Outcome: "failed", Counts: api.Counts{Added: 20, Updated: 1, Removed: 2}, Error: "the server said no"}
	if list[1] != want {
		t.Errorf("session = %+v, want %+v", list[1], want)
	}
	if !list[0].End.IsZero() || list[0].Outcome != api.OutcomeRunning {
		t.Errorf("running session = %+v", list[0])
	}

	all, _ := s.Sessions(ctx, api.SessionQuery{})
	if len(all) != 4 || all[3].Account != "home" {
		t.Errorf("all sessions = %+v", all)
	}
	one, _ := s.Sessions(ctx, api.SessionQuery{Limit: 1})
	if len(one) != 1 || one[0].ID != ids[2] {
		t.Errorf("limit 1 = %+v", one)
	}
	last, ok, err := s.LastSession(ctx, "work")
	if err != nil || !ok || last.ID != ids[2] {
		t.Errorf("LastSession = %+v %v %v", last, ok, err)
	}
	last, ok, _ = s.LastSession(ctx, "home")
	if !ok || last.Account != "home" {
		t.Errorf("LastSession(home) = %+v", last)
	}

	b, _ := json.Marshal(list[0])
	for _, frag := range []string{`"outcome":"running"`, `"added":0`, `"trigger":"manual"`} {
		if !strings.Contains(string(b), frag) {
			t.Errorf("JSON %s lacks %s", b, frag)
		}
	}
	if strings.Contains(string(b), `"end"`) || strings.Contains(string(b), `"error"`) {
		t.Errorf("JSON %s has end or error", b)
	}
}

func TestInterruptedOnReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "inboxsync.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"work", "home"} {
		if err := s.AddAccount(ctx, api.Account{ID: a, Provider: "scripted"}); err != nil {
			t.Fatal(err)
		}
	}
	done, _ := s.BeginSession(ctx, "work", "schedule", t0.Add(-time.Hour))
	done.Outcome, done.End = "ok", t0.Add(-time.Hour+time.Minute)
	s.EndSession(ctx, done)
	// work made progress after its session started; home did not.
	work, _ := s.BeginSession(ctx, "work", "manual", t0)
	if _, err := s.ApplyPage(ctx, "work", api.Inbox, addPage("a", 2, "c1"), t0.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	home, _ := s.BeginSession(ctx, "home", "schedule", t0.Add(time.Minute))
	s.Close() // as if killed: the sessions are still "running"

	// A reader does not touch them.
	r, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	if last, _, _ := r.LastSession(ctx, "work"); last.Outcome != api.OutcomeRunning {
		t.Errorf("read-only open changed the session: %+v", last)
	}
	r.Close()

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	list, err := s.Sessions(ctx, api.SessionQuery{})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]api.Session{}
	for _, x := range list {
		byID[x.ID] = x
	}
	for _, c := range []struct {
		id      int64
		outcome string
		end     time.Time
	}{
		{done.ID, "ok", done.End},
		{work.ID, api.OutcomeInterrupted, t0.Add(5 * time.Minute)},
		{home.ID, api.OutcomeInterrupted, t0.Add(time.Minute)},
	} {
		got := byID[c.id]
		if got.Outcome != c.outcome || !got.End.Equal(c.end) {
			t.Errorf("session %d: outcome %q end %v, want %q %v", c.id, got.Outcome, got.End, c.outcome, c.end)
		}
	}
}

func TestTimeEncoding(t *testing.T) {
	for _, tm := range []time.Time{
		{},
		time.Unix(0, 0),
		time.Unix(0, 1),
		time.Unix(-1, 0),
		t0,
		time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2262, 1, 1, 0, 0, 0, 999999999, time.UTC),
	} {
		var n sql.NullInt64
		if v := encTime(tm); v != nil {
			n = sql.NullInt64{Int64: v.(int64), Valid: true}
		}
		got := decTime(n)
		if !got.Equal(tm) || got.IsZero() != tm.IsZero() {
			t.Errorf("%v round trip: %v", tm, got)
		}
	}
	// Out of range: clamped, not wrapped.
	far := time.Date(4501, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := decTime(sql.NullInt64{Int64: encTime(far).(int64), Valid: true}); got.Year() != 2262 {
		t.Errorf("4501 stored as %v", got)
	}
	early := time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := decTime(sql.NullInt64{Int64: encTime(early).(int64), Valid: true}); got.Year() != 1677 {
		t.Errorf("1601 stored as %v", got)
	}
}
