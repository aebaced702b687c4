#!/usr/bin/env bash
# Organisation mode's Salesforce logging (issue 21): USERS mailboxes ×
# ITEMS mails (default 1,000 × 100), stored in a throwaway PostgreSQL
# cluster, logged by an in-process worker to the Salesforce emulator as
# each mailbox's own user: wall time, Salesforce API requests in total,
# per item and per user, tokens minted; then the desktop logger's figure
# for one user's mails. The emulator runs in the measuring process.
# Usage: scripts/bench-org-crm.sh [USERS [ITEMS]]
set -euo pipefail
cd "$(dirname "$0")/.."
users=${1:-1000}
items=${2:-100}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/benchcrm" ./sync/org/internal/benchcrm
scripts/with-postgres.sh "$tmp/benchcrm" -users "$users" -items "$items"
