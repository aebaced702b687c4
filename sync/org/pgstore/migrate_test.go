package pgstore

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/inboxsync/inboxsync/internal/pgtest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// schemaOf describes what a database holds: its tables with their
// columns, its indexes, and the versions recorded.
func schemaOf(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	ctx := context.Background()
	rows, err := pool.Query(ctx, `SELECT table_name || '.' || column_name || ' ' || data_type FROM information_schema.columns
		WHERE table_schema = 'public'
		UNION ALL SELECT 'index ' || indexname FROM pg_indexes WHERE schemaname = 'public'
		UNION ALL SELECT 'store version ' || version FROM schema_version
		UNION ALL SELECT 'river version ' || version FROM river_migration`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func TestMigrateTwiceChangesNothing(t *testing.T) {
	ctx := context.Background()
	pool, err := Connect(ctx, pgtest.New(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	rep, err := Migrate(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if rep.From != 0 || rep.To != SchemaVersion || rep.RiverFrom != 0 || rep.RiverTo < 6 {
		t.Fatalf("first Migrate of an empty database reported %+v; want from 0 to %d, River from 0 to its current", rep, SchemaVersion)
	}
	first := schemaOf(t, pool)
	for _, want := range []string{"mailboxes.address text", "items.hash bigint", "sessions.outcome text", "index items_live", "index mailboxes_due", "river_job.kind text"} {
		if !slices.Contains(first, want) {
			t.Errorf("the migrated schema has no %q", want)
		}
	}
	again, err := Migrate(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if again != (MigrateReport{From: SchemaVersion, To: SchemaVersion, RiverFrom: rep.RiverTo, RiverTo: rep.RiverTo}) {
		t.Fatalf("second Migrate reported %+v; want nothing to do after %+v", again, rep)
	}
	if second := schemaOf(t, pool); !slices.Equal(first, second) {
		t.Fatalf("the second Migrate changed the schema:\n%v\nwas\n%v", second, first)
	}
}

// Two processes set up the same database at once: they take turns, and
// both succeed.
func TestMigrateConcurrently(t *testing.T) {
	ctx := context.Background()
	u := pgtest.New(t)
	pools := make([]*pgxpool.Pool, 2)
	for i := range pools {
		p, err := Connect(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		pools[i] = p
	}
	reps := make([]MigrateReport, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range pools {
		wg.Go(func() { reps[i], errs[i] = Migrate(ctx, pools[i]) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Migrate %d: %v", i, err)
		}
	}
	// One went first and did everything; the other found it done.
	slices.SortFunc(reps, func(a, b MigrateReport) int { return a.From - b.From })
	if reps[0].From != 0 || reps[0].To != SchemaVersion || reps[1].From != SchemaVersion || reps[1].To != SchemaVersion ||
		reps[1].RiverFrom != reps[0].RiverTo {
		t.Fatalf("concurrent Migrate reports %+v; want one from 0 and one from %d", reps, SchemaVersion)
	}
	if a, b := schemaOf(t, pools[0]), schemaOf(t, pools[1]); !slices.Equal(a, b) {
		t.Fatalf("the two pools see different schemas")
	}
	s := New(pools[0])
	if _, err := s.AddMailboxes(ctx, []NewMailbox{{"ann@example.com", "gmail"}}, nil); err != nil {
		t.Fatalf("the concurrently migrated store does not work: %v", err)
	}
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	u := pgtest.New(t)
	if _, err := Open(ctx, u); !errors.Is(err, ErrNotInitialised) {
		t.Fatalf("Open of an empty database: %v; want ErrNotInitialised", err)
	}
	if !strings.Contains(ErrNotInitialised.Error(), "inboxsync org init") {
		t.Errorf("ErrNotInitialised does not say what to run: %v", ErrNotInitialised)
	}
	pool, err := Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, u)
	if err != nil {
		t.Fatalf("Open after Migrate: %v", err)
	}
	s.Close()

	// A schema from a newer program is refused, not taken for current.
	if _, err := pool.Exec(ctx, "INSERT INTO schema_version (version) VALUES ($1)", SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, u); err == nil || errors.Is(err, ErrNotInitialised) || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open of a newer schema: %v; want an error saying it is newer", err)
	}
	if _, err := Migrate(ctx, pool); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Migrate of a newer schema: %v; want an error saying it is newer", err)
	}
	// An older one (River's tables missing) needs init again.
	if _, err := pool.Exec(ctx, "DELETE FROM schema_version WHERE version > $1", SchemaVersion); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "DELETE FROM river_migration WHERE version = (SELECT max(version) FROM river_migration)"); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, u); !errors.Is(err, ErrNotInitialised) {
		t.Fatalf("Open with an older River schema: %v; want ErrNotInitialised", err)
	}
}

// withPassword returns u with a user and password set.
func withPassword(t *testing.T, u, password string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := p.Query()
	user := q.Get("user")
	if p.User != nil {
		user = p.User.Username()
	}
	q.Del("user")
	p.RawQuery = q.Encode()
	p.User = url.UserPassword(user, password)
	return p.String()
}

func TestConnectErrorsNameTheDatabaseNeverThePassword(t *testing.T) {
	ctx := context.Background()
	const password = "Sup3r-s3cret-pw"
	admin := pgtest.Admin(t)
	socket := ""
	if p, err := url.Parse(admin); err == nil {
		socket = p.Query().Get("host")
	}
	for _, c := range []struct {
		name string
		url  string
		want []string
	}{
		{"an unknown database", withPassword(t, pgtest.WithDatabase(t, admin, "no_such_org_db"), password), []string{"no_such_org_db", socket}},
		{"an unknown host", "postgres://org:" + password + "@no-such-host.invalid:5433/orgdb?connect_timeout=5", []string{"orgdb", "no-such-host.invalid", "5433"}},
		{"a socket directory that is not there", "postgres://org:" + password + "@/orgdb?host=/nonexistent/pg", []string{"orgdb", "/nonexistent/pg"}},
		{"a URL that does not parse", "postgres://org:" + password + "@host:notaport/orgdb", []string{"not a valid PostgreSQL URL"}},
	} {
		pool, err := Connect(ctx, c.url)
		if err == nil {
			pool.Close()
			t.Errorf("Connect to %s succeeded", c.name)
			continue
		}
		msg := err.Error()
		t.Logf("%s: %s", c.name, msg)
		if strings.Contains(msg, password) {
			t.Errorf("Connect's error for %s shows the password: %s", c.name, msg)
		}
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("Connect's error for %s does not name %q: %s", c.name, w, msg)
			}
		}
		if _, err := Open(ctx, c.url); err == nil || strings.Contains(err.Error(), password) {
			t.Errorf("Open of %s: %v", c.name, err)
		}
	}
}
