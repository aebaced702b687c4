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
. scripts/lib/bench-provider.sh
go build -o "$tmp/benchgmail" ./sync/provider/gmail/internal/benchgmail

bench_serve "$tmp/benchgmail" 2 -n "$n"
base=$(sed -n 1p "$tmp/serve")
token=$(sed -n 2p "$tmp/serve")

echo "== initial sync: $n messages, lists of 100, 4 gets in flight, emulator in its own process =="
bench_header
for mode in bare provider bare provider; do
  bench_run "$tmp/benchgmail" -mode $mode -url "$base" -token "$token" -ca "$tmp/ca.pem"
done
# For information: the same sync through Gmail's batch endpoint, 50 calls
# a request (not the default: Gmail's per-user quota, not requests, bounds
# a real first sync).
bench_run "$tmp/benchgmail" -mode provider -batch 50 -url "$base" -token "$token" -ca "$tmp/ca.pem"
bench_summary "3 requests, <= 0.020 s CPU"
