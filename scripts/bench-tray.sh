#!/usr/bin/env bash
# Measures the idle agent WITH its tray icon registered with a panel: CPU
# ticks (utime+stime from /proc/PID/stat) over a window, and VmRSS and
# VmHWM. Target: 0 ticks and at most 30 MB. When Xvfb is installed it then
# measures a plain Fyne app showing a tray icon the same way
# (internal/bench/fynetray), for comparison.
#
# Each measurement runs in a private D-Bus session (dbus-run-session) where
# internal/bench/snwatcher plays the panel: it owns
# org.kde.StatusNotifierWatcher, receives the tray's registration and reads
# its tooltip, icon and menu, as a panel does. The agent is the release
# build with a fresh --home (no account: nothing is scheduled, as for an
# account between two syncs).
#
# RssFile is mapped file pages, mostly the binary's own (shared and
# reclaimable; Fyne is in the separate window program), RssAnon the
# heap and stacks. The agent releases the pages start-up touched 3 s after
# it is ready (app/memtrim_linux.go); the same agent with
# INBOXSYNC_KEEP_PAGES=1 is measured too, to show what that release saves.
# The binary is flushed to disk first (sync) so that its page cache is
# clean, as for an installed program.
#
# Usage: scripts/bench-tray.sh [idle-seconds]   (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
idle=${1:-60}
if ! command -v dbus-run-session >/dev/null; then
  echo "bench-tray.sh: dbus-run-session not found (sudo apt-get install -y dbus)" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/" ./cmd/inboxsync ./cmd/inboxsync-window
go build -o "$tmp/snwatcher" ./internal/bench/snwatcher
sync

# measure LABEL COMMAND...: inside a session, start the panel and
# COMMAND, wait for the icon, then measure COMMAND's process.
measure='
set -eu
tmp=$1 idle=$2 label=$3
shift 3
pid= watcher=
trap '"'"'kill $pid $watcher 2>/dev/null || :'"'"' EXIT
"$tmp/snwatcher" >"$tmp/watcher.out" 2>&1 &
watcher=$!
for _ in $(seq 50); do grep -q watching "$tmp/watcher.out" 2>/dev/null && break; sleep 0.1; done
"$@" 2>"$tmp/app.log" &
pid=$!
for _ in $(seq 150); do grep -q registered "$tmp/watcher.out" 2>/dev/null && break; sleep 0.1; done
if ! grep -q registered "$tmp/watcher.out"; then
  echo "$label: the tray did not register:" >&2
  cat "$tmp/watcher.out" "$tmp/app.log" >&2
  exit 1
fi
grep registered "$tmp/watcher.out" | sed "s|^|$label: panel sees |"
sleep 5
ticks() { awk "{print \$14+\$15}" /proc/$pid/stat; }
t0=$(ticks)
sleep "$idle"
t1=$(ticks)
mb() { awk "/^$1:/{printf \"%.1f\", \$2/1024}" /proc/$pid/status; }
printf "%s, idle %ss: cpu ticks %d (at %s/s), VmRSS %s MB (anon %s, file %s), VmHWM %s MB, %s threads\n" \
  "$label" "$idle" $((t1 - t0)) "$(getconf CLK_TCK)" "$(mb VmRSS)" "$(mb RssAnon)" "$(mb RssFile)" "$(mb VmHWM)" \
  "$(awk "/^Threads:/{print \$2}" /proc/$pid/status)"
kill -TERM $pid
wait $pid || :
pid=
'
session() { dbus-run-session -- bash -c "$measure" bench-tray "$tmp" "$idle" "$@" 2> >(grep -v "Failed to set fd limit" >&2); }

INBOXSYNC_HOME="$tmp/home" session "inboxsync agent (fyne.io/systray)" "$tmp/inboxsync" agent
sed -n 's/.*msg="released binary pages" /inboxsync agent: released binary pages: /p' "$tmp/app.log"
if grep -q "tray stopped" "$tmp/app.log" && grep -q "agent stopped" "$tmp/app.log"; then
  echo "inboxsync agent: stopped cleanly on SIGTERM"
fi
INBOXSYNC_KEEP_PAGES=1 INBOXSYNC_HOME="$tmp/home2" session "inboxsync agent, start-up pages kept (INBOXSYNC_KEEP_PAGES=1)" "$tmp/inboxsync" agent

if command -v Xvfb >/dev/null; then
  go build -o "$tmp/fynetray" ./internal/bench/fynetray
  display=:$((100 + RANDOM % 100))
  Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
  xvfb=$!
  sleep 1
  DISPLAY=$display session "plain Fyne app with a tray" "$tmp/fynetray" || :
  kill $xvfb 2>/dev/null || :
  wait $xvfb 2>/dev/null || :
else
  echo "(no Xvfb: skipping the plain Fyne app for comparison)"
fi
