#!/usr/bin/env bash
# Gmail figures, against the Google emulator (gmailtest) in its own process:
#  1. initial sync of N messages (default 50,000) in the Inbox: the provider
#     next to a bare client that lists and reads the same messages
#     (messages.list 100 a page, messages.get?format=metadata 4 at a time)
#     and decodes the same fields, each in its own process (items/s, CPU,
#     peak RSS), alternating twice;
#  2. a no-change sync of Inbox, Sent and Calendar: requests and CPU time
#     (target: 2 requests for mail + 1 for the calendar, <= 20 ms CPU).
# Usage: scripts/bench-gmail.sh [messages]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-50000}
tmp=$(mktemp -d)
server=
trap 'exec 3>&- 2>/dev/null || true; [ -n "$server" ] && wait "$server" 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -o "$tmp/benchgmail" ./sync/provider/gmail/internal/benchgmail

mkfifo "$tmp/in"
"$tmp/benchgmail" -mode serve -n "$n" -ca "$tmp/ca.pem" <"$tmp/in" >"$tmp/url" &
server=$!
exec 3>"$tmp/in" # the server runs until this closes
for _ in $(seq 600); do [ "$(wc -l <"$tmp/url")" -ge 2 ] && break; sleep 0.1; done
base=$(sed -n 1p "$tmp/url")
token=$(sed -n 2p "$tmp/url")

echo "== initial sync: $n messages, lists of 100, 4 gets in flight, emulator in its own process =="
printf '%-16s %8s %6s %8s %10s %7s %9s %9s\n' mode items pages seconds items/s cpu_s peak_rss requests
for mode in bare provider bare provider; do
  line=$("$tmp/benchgmail" -mode $mode -url "$base" -token "$token" -ca "$tmp/ca.pem")
  echo "$line" >>"$tmp/results"
  echo "$line" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("%-16s %8d %6d %8.2f %10.0f %7.2f %7.1fMB %9s" % (r["mode"], r["items"], r["pages"], r["seconds"], r["items_per_sec"], r["cpu_seconds"], r["peak_rss_mb"], r["requests"] or "-"))'
done
# For information: the same sync through Gmail's batch endpoint, 50 calls
# a request (not the default: Gmail's per-user quota, not requests, bounds
# a real first sync).
line=$("$tmp/benchgmail" -mode provider -batch 50 -url "$base" -token "$token" -ca "$tmp/ca.pem")
echo "$line" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("%-16s %8d %6d %8.2f %10.0f %7.2f %7.1fMB %9s" % (r["mode"], r["items"], r["pages"], r["seconds"], r["items_per_sec"], r["cpu_seconds"], r["peak_rss_mb"], r["requests"]))'
python3 - "$tmp/results" <<'PY'
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
best = lambda m: min(r["seconds"] for r in rs if r["mode"] == m)
print("provider / bare (best of 2): %.2fx (target: within 2x)" % (best("provider") / best("bare")))
p = [r for r in rs if r["mode"] == "provider"][-1]
print()
print("== no-change sync (Inbox, Sent, Calendar) ==")
print("requests %d, cpu %.4f s, wall %.4f s (target: 3 requests, <= 0.020 s CPU)" % (p["nochange_requests"], p["nochange_cpu_seconds"], p["nochange_seconds"]))
PY
