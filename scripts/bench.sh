#!/usr/bin/env bash
# Prints the foundation's figures:
#  1. ingest of 100,000 items (pages of 500) through the engine into the
#     store, next to a bare loop of the same upserts, each in its own process;
#  2. a no-change sync of an account holding 100,000 items: CPU time;
#  3. the idle agent (--no-tray) over 60 s: CPU ticks from /proc and RSS.
# Usage: scripts/bench.sh [idle-seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
idle=${1:-60}
tmp=$(mktemp -d)
trap 'kill $agent 2>/dev/null || true; rm -rf "$tmp"' EXIT
agent=
go build -tags testprovider -o "$tmp/ingest" ./internal/bench/ingest
go build -o "$tmp/" ./cmd/inboxsync ./cmd/inboxsync-window

echo "== ingest: 100,000 items in pages of 500 =="
printf '%-9s %10s %9s %12s %9s %10s\n' mode items seconds items/s cpu_s peak_rss
for mode in bare engine bare engine; do
  "$tmp/ingest" -mode $mode | python3 -c 'import json,sys; r=json.load(sys.stdin); print("%-9s %10d %9.2f %12.0f %9.2f %8.1fMB" % (r["mode"], r["items"], r["seconds"], r["items_per_sec"], r["cpu_seconds"], r["peak_rss_mb"]))'
done
echo
echo "== no-change sync of an account holding 100,000 items =="
"$tmp/ingest" -mode nochange | python3 -c 'import json,sys; r=json.load(sys.stdin); print("wall %.4f s, cpu %.4f s, provider requests %d, peak rss %.1f MB (includes the initial ingest)" % (r["seconds"], r["cpu_seconds"], r["requests"], r["peak_rss_mb"]))'
echo
echo "== idle agent (--no-tray) over ${idle} s =="
INBOXSYNC_HOME="$tmp/home" "$tmp/inboxsync" agent --no-tray 2>"$tmp/agent.log" &
agent=$!
for _ in $(seq 50); do [ -S "$tmp/home/run/control.sock" ] && break; sleep 0.1; done
sleep 5
ticks() { awk '{print $14+$15}' /proc/$agent/stat; }
t0=$(ticks)
sleep "$idle"
t1=$(ticks)
rss=$(awk '/VmRSS/{print $2}' /proc/$agent/status)
hwm=$(awk '/VmHWM/{print $2}' /proc/$agent/status)
echo "cpu ticks: $((t1 - t0)) (at $(getconf CLK_TCK)/s), VmRSS $((rss / 1024)) MB, VmHWM $((hwm / 1024)) MB"
