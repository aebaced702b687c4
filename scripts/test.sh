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
scripts/with-keyring.sh env INBOXSYNC_REQUIRE_KEYRING=1 go test -race -count=1 -timeout 20m ./...
