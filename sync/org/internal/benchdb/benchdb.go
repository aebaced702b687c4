// Package benchdb gives the organisation benchmarks (benchorg, benchcrm)
// a fresh database on the throwaway cluster of scripts/with-postgres.sh.
package benchdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"

	"github.com/jackc/pgx/v5"
)

// New creates a database named prefix_RANDOM on the cluster whose admin
// database is at admin, and returns its URL.
func New(ctx context.Context, admin, prefix string) (string, error) {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	b := make([]byte, 4)
	rand.Read(b)
	name := prefix + "_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	u, err := url.Parse(admin)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}
