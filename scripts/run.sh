#!/usr/bin/env bash
# Builds Inbox Sync (bin/inboxsync and the window program beside it,
# bin/inboxsync-window) and starts it. Arguments go to inboxsync, e.g.
#   scripts/run.sh agent --no-tray --home /tmp/inboxsync-demo
# The build is stamped like the release packages (scripts/package.sh): the
# version from FyneApp.toml, the git commit and the build
# date, which `inboxsync version` prints.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh run
version=$(sed -n 's/^Version *= *"\(.*\)"/\1/p' FyneApp.toml)
commit=$(git rev-parse HEAD 2>/dev/null || true)
if [ -n "$commit" ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  commit+=-dirty
fi
pkg=github.com/inboxsync/inboxsync/internal/install
mkdir -p bin
go build -ldflags "-X $pkg.Version=$version -X $pkg.Commit=$commit -X $pkg.BuildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  -o bin/ ./cmd/inboxsync ./cmd/inboxsync-window
exec bin/inboxsync "$@"
