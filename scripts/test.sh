#!/usr/bin/env bash
# Runs every check and test of Inbox Sync: formatting, vet (release and test
# builds), and all tests with the race detector, against a real Secret
# Service (gnome-keyring in a private D-Bus session).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
unformatted=$(gofmt -l $(find . -name '*.go' -not -path './.git/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet ./...
go vet -tags testprovider ./...
# The architecture rule: nothing under sync/ imports Fyne, ui or app.
if go list -deps ./sync/... | grep -E '^(fyne\.io/fyne|github\.com/inboxsync/inboxsync/(ui|app)($|/))'; then
  echo "sync/… must not import Fyne, ui or app (DESIGN.md §2)" >&2
  exit 1
fi
# The command line and the agent link no GUI toolkit (every verb starts
# quickly); the windows are the separate program cmd/inboxsync-window.
if go list -deps ./cmd/inboxsync | grep -E '^(fyne\.io/fyne|github\.com/go-gl/|github\.com/inboxsync/inboxsync/ui/window$)'; then
  echo "cmd/inboxsync must not import Fyne or ui/window (they belong to cmd/inboxsync-window)" >&2
  exit 1
fi
# Providers sit below the engine: the activation contract lives in
# sync/provider, so no provider depends on the engine that drives it.
if go list -deps ./sync/provider/... | grep -E '^github\.com/inboxsync/inboxsync/sync/engine$'; then
  echo "sync/provider/… must not import sync/engine (the activation contract is in sync/provider)" >&2
  exit 1
fi
# The end-to-end tests save every window state and tray icon they capture
# here (look at them after a UI change).
export INBOXSYNC_SHOTS=${INBOXSYNC_SHOTS:-$PWD/build/screenshots}
rm -rf "$INBOXSYNC_SHOTS"
scripts/with-keyring.sh env INBOXSYNC_REQUIRE_KEYRING=1 go test -race -count=1 -timeout 20m ./...
echo "screenshots of every window and tray icon: $INBOXSYNC_SHOTS"
