// Package pgtest gives tests a PostgreSQL database of their own in the
// throwaway cluster scripts/with-postgres.sh starts (its URL is in
// INBOXSYNC_TEST_DATABASE). Each call makes a new, empty database and drops
// it when the test ends.
//
// Without a cluster a test is skipped, unless INBOXSYNC_REQUIRE_POSTGRES=1
// (the README's test command sets it), which makes it fail: under the test
// script a missing database is a failure, never a skip.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL is the variable naming the cluster's admin database.
const EnvURL = "INBOXSYNC_TEST_DATABASE"

// EnvRequire, set to 1, makes a missing cluster fail the test.
const EnvRequire = "INBOXSYNC_REQUIRE_POSTGRES"

// Admin returns the URL of the cluster's admin database, skipping (or
// failing, see EnvRequire) t when there is none.
func Admin(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("%s=1 but %s is not set: run the tests under scripts/with-postgres.sh", EnvRequire, EnvURL)
		}
		t.Skipf("no PostgreSQL cluster: run under scripts/with-postgres.sh (sets %s)", EnvURL)
	}
	return u
}

// New creates an empty database for t and returns its URL; the database is
// dropped when t ends (after its other cleanups, so close pools in
// t.Cleanup registered after New, or before the test returns).
func New(t testing.TB) string {
	t.Helper()
	admin := Admin(t)
	b := make([]byte, 6)
	rand.Read(b)
	name := "t_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connecting to the test cluster: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("connecting to drop %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping %s: %v", name, err)
		}
	})
	return WithDatabase(t, admin, name)
}

// WithDatabase returns u with its database replaced by name.
func WithDatabase(t testing.TB, u, name string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatalf("%s: %v", EnvURL, err)
	}
	p.Path = "/" + name
	return p.String()
}
