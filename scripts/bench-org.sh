#!/usr/bin/env bash
# Organisation mode figures (issue 19): an emulated Microsoft 365 tenant of
# MAILBOXES mailboxes × ITEMS items (default 1,000 × 300) synced by `inboxsync
# org serve` worker processes into a throwaway PostgreSQL cluster, once with
# one worker and once with two:
#   - time until every mailbox is synced, items/s, against a bare loop that
#     inserts the same rows with pgx batches;
#   - a no-change cycle of every mailbox: wall time, worker CPU per mailbox,
#     Graph requests and PostgreSQL statements per mailbox;
#   - each worker's peak RSS.
# The emulator runs in the measuring process; all share this machine's cores.
# Usage: scripts/bench-org.sh [MAILBOXES [ITEMS]]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
items=${2:-300}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/inboxsync" ./cmd/inboxsync
go build -o "$tmp/benchorg" ./sync/org/internal/benchorg
for w in 1 2; do
  INBOXSYNC_PG_OPTIONS="-c shared_preload_libraries=pg_stat_statements" \
    scripts/with-postgres.sh "$tmp/benchorg" -bin "$tmp/inboxsync" -mailboxes "$n" -items "$items" -workers "$w"
done
