#!/usr/bin/env bash
# Runs every check and test of Inbox Sync: formatting, vet (release and test
# builds), the import rules, staticcheck, and all tests with the race
# detector, against a real Secret Service (gnome-keyring in a private D-Bus
# session) and a real PostgreSQL (a throwaway cluster).
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
# The import rules of the layers, each stated in internal/layers: checked
# before staticcheck and the suite, so a broken rule fails in seconds (the
# suite runs them again).
go test -count=1 ./internal/layers
# staticcheck, pinned, built once per Go version into the user's cache (a
# fresh machine fetches it through the module proxy like the module's own
# dependencies; go install @version keeps its dependencies out of go.mod).
# Clean on the release build and the test build.
staticcheck_version=v0.8.2 # staticcheck 2026.2.2
tools=${XDG_CACHE_HOME:-$HOME/.cache}/inboxsync-tools/staticcheck-$staticcheck_version-$(go env GOVERSION)
if ! "$tools/staticcheck" -version 2>/dev/null | grep -qF "(${staticcheck_version#v})"; then
  GOBIN=$tools go install "honnef.co/go/tools/cmd/staticcheck@$staticcheck_version"
fi
"$tools/staticcheck" ./...
"$tools/staticcheck" -tags testprovider ./...
# The end-to-end tests save every window state and tray icon they capture
# here (look at them after a UI change).
export INBOXSYNC_SHOTS=${INBOXSYNC_SHOTS:-$PWD/build/screenshots}
rm -rf "$INBOXSYNC_SHOTS"
# Beside a throwaway PostgreSQL cluster (organisation mode's store and
# workers), inside a private keyring session (the desktop's secrets).
scripts/with-postgres.sh scripts/with-keyring.sh env INBOXSYNC_REQUIRE_KEYRING=1 INBOXSYNC_REQUIRE_POSTGRES=1 INBOXSYNC_REQUIRE_BROWSER=1 \
  go test -race -count=1 -timeout 45m ./...
echo "screenshots of every window and tray icon: $INBOXSYNC_SHOTS"
