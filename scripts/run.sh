#!/usr/bin/env bash
# Builds Inbox Sync and starts it. Arguments go to inboxsync, e.g.
#   scripts/run.sh agent --no-tray --home /tmp/inboxsync-demo
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh run
mkdir -p bin
go build -o bin/inboxsync ./cmd/inboxsync
exec bin/inboxsync "$@"
