#!/bin/sh
# with-keyring.sh COMMAND [ARG...]
#
# Runs COMMAND inside a fresh D-Bus session bus (dbus-run-session) whose
# Secret Service is a gnome-keyring-daemon with an unlocked login keyring, so
# go-keyring and sync/secret work as on a desktop. Example:
#
#   scripts/with-keyring.sh env INBOXSYNC_REQUIRE_KEYRING=1 go test -race ./sync/secret/...
#
# The keyring is throwaway: the daemon gets its own temporary HOME,
# XDG_DATA_HOME and XDG_RUNTIME_DIR, so it never opens or unlocks the user's
# real keyring (with the real XDG_RUNTIME_DIR, gnome-keyring-daemon --unlock
# would talk to the user's running daemon through its control socket). The
# first unlock creates the login keyring there with a fixed password. The
# temporary directory is removed afterwards.
#
# COMMAND itself runs with the caller's HOME and XDG_* variables (so Go's
# build and module caches are reused), plus DBUS_SESSION_BUS_ADDRESS and
# GNOME_KEYRING_CONTROL for the new session. The exit status is COMMAND's.
#
# Needs dbus-run-session, dbus-send and gnome-keyring-daemon
# (Debian/Ubuntu: sudo apt install dbus dbus-x11 gnome-keyring).
set -eu

if [ $# -eq 0 ]; then
	echo "usage: $0 command [arg...]" >&2
	exit 2
fi
for tool in dbus-run-session dbus-send gnome-keyring-daemon; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "with-keyring.sh: $tool not found (on Debian/Ubuntu: sudo apt install dbus dbus-x11 gnome-keyring)" >&2
		exit 127
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/inboxsync-keyring.XXXXXX")
trap 'rm -rf "$tmp" 2>/dev/null || :' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$tmp/home/.local/share" "$tmp/home/.config" "$tmp/home/.cache" "$tmp/run"
chmod 700 "$tmp/home" "$tmp/run"

# save VAR: prints "set:<value>" or "unset", to restore VAR inside the session.
save() {
	eval "if [ \"\${$1+x}\" = x ]; then printf 'set:%s' \"\$$1\"; else printf unset; fi"
}

# The session script: start and unlock the daemon, wait until it owns the
# Secret Service name (gnome-keyring-daemon --unlock returns before that, and
# a client that comes too early makes D-Bus activate a second daemon),
# restore the caller's variables, then replace itself with the command.
inner='
set -eu
unset GNOME_KEYRING_CONTROL GNOME_KEYRING_PID SSH_AUTH_SOCK
out=$(printf %s "$INBOXSYNC_KEYRING_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets)
eval "$out"
# gnome-keyring prints nothing when its control socket is in the usual place.
export GNOME_KEYRING_CONTROL="${GNOME_KEYRING_CONTROL:-$XDG_RUNTIME_DIR/keyring}"
i=0
until dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
	org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true"; do
	i=$((i + 1))
	if [ "$i" -ge 100 ]; then
		echo "with-keyring.sh: gnome-keyring-daemon did not claim org.freedesktop.secrets within 10 s" >&2
		exit 1
	fi
	sleep 0.1
done
for var in HOME XDG_DATA_HOME XDG_CONFIG_HOME XDG_CACHE_HOME XDG_RUNTIME_DIR; do
	eval "saved=\$INBOXSYNC_KEYRING_SAVED_$var"
	case $saved in
	set:*) eval "export $var=\${saved#set:}" ;;
	*) unset "$var" ;;
	esac
	unset "INBOXSYNC_KEYRING_SAVED_$var"
done
unset INBOXSYNC_KEYRING_PASSWORD
exec "$@"
'

set +e
env \
	INBOXSYNC_KEYRING_SAVED_HOME="$(save HOME)" \
	INBOXSYNC_KEYRING_SAVED_XDG_DATA_HOME="$(save XDG_DATA_HOME)" \
	INBOXSYNC_KEYRING_SAVED_XDG_CONFIG_HOME="$(save XDG_CONFIG_HOME)" \
	INBOXSYNC_KEYRING_SAVED_XDG_CACHE_HOME="$(save XDG_CACHE_HOME)" \
	INBOXSYNC_KEYRING_SAVED_XDG_RUNTIME_DIR="$(save XDG_RUNTIME_DIR)" \
	INBOXSYNC_KEYRING_PASSWORD=inboxsync-test \
	HOME="$tmp/home" \
	XDG_DATA_HOME="$tmp/home/.local/share" \
	XDG_CONFIG_HOME="$tmp/home/.config" \
	XDG_CACHE_HOME="$tmp/home/.cache" \
	XDG_RUNTIME_DIR="$tmp/run" \
	dbus-run-session -- sh -c "$inner" with-keyring "$@"
status=$?
set -e
exit "$status"
