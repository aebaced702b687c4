#!/bin/sh
# with-postgres.sh COMMAND [ARG...]
#
# Runs COMMAND beside a throwaway PostgreSQL cluster: a new data folder in a
# temporary directory, listening only on a unix socket there (no TCP port),
# trusted local connections, removed afterwards. COMMAND gets
#
#   INBOXSYNC_TEST_DATABASE  a libpq URL of the cluster's "postgres"
#                            database, e.g. postgres:///postgres?host=/tmp/…&user=postgres
#
# from which the tests (internal/pgtest) make one database per test.
# INBOXSYNC_PG_OPTIONS adds server options ("-c name=value …"). The exit
# status is COMMAND's. Example:
#
#   scripts/with-postgres.sh env INBOXSYNC_REQUIRE_POSTGRES=1 go test -race ./sync/org/...
#
# initdb refuses to run as root, so as root the cluster runs as the Debian
# "postgres" user. Needs Debian's postgresql (15 or newer):
# sudo apt install postgresql.
set -eu

if [ $# -eq 0 ]; then
	echo "usage: $0 command [arg...]" >&2
	exit 2
fi
bindir=${PG_BINDIR:-}
if [ -z "$bindir" ]; then
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		bindir=$d
		break
	done
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
	echo "with-postgres.sh: PostgreSQL's initdb not found (on Debian/Ubuntu: sudo apt install postgresql)" >&2
	exit 127
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/inboxsync-pg.XXXXXX")
as_owner() { "$@"; }
if [ "$(id -u)" = 0 ]; then
	chown postgres: "$tmp"
	as_owner() { runuser -u postgres -- "$@"; }
fi
started=
cleanup() {
	if [ -n "$started" ]; then
		as_owner "$bindir/pg_ctl" -D "$tmp/data" -m immediate -w stop >/dev/null 2>&1 || :
	fi
	rm -rf "$tmp" 2>/dev/null || :
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

as_owner "$bindir/initdb" -D "$tmp/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$tmp/initdb.log" 2>&1 || {
	cat "$tmp/initdb.log" >&2
	exit 1
}
# Sized for tests on a small machine: many short databases, many
# connections from parallel test binaries, no durability needed.
as_owner "$bindir/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -t 60 \
	-o "-c listen_addresses='' -c unix_socket_directories='$tmp' -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=128MB ${INBOXSYNC_PG_OPTIONS:-}" \
	start >/dev/null || {
	cat "$tmp/server.log" >&2
	exit 1
}
started=1
INBOXSYNC_TEST_DATABASE="postgres:///postgres?host=$tmp&user=postgres"
export INBOXSYNC_TEST_DATABASE
status=0
"$@" || status=$?
exit $status
