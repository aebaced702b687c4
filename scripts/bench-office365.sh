#!/usr/bin/env bash
# Office 365 (Graph) figures, against the Graph emulator in its own process:
#  1. initial sync of N messages (default 50,000) in pages of 200: the
#     provider next to a bare client that fetches and decodes the same pages,
#     each in its own process (items/s, CPU, peak RSS), alternating twice;
#  2. a no-change sync of Inbox, Sent and Calendar: requests and CPU time.
# Usage: scripts/bench-office365.sh [messages]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-50000}
. scripts/lib/bench-provider.sh
go build -o "$tmp/benchgraph" ./sync/provider/graph/internal/benchgraph

bench_serve "$tmp/benchgraph" 1 -n "$n"
endpoint=$(sed -n 1p "$tmp/serve")

echo "== initial sync: $n messages, pages of 200, emulator in its own process =="
bench_header
for mode in bare provider bare provider; do
  bench_run "$tmp/benchgraph" -mode $mode -endpoint "$endpoint" -ca "$tmp/ca.pem"
done
bench_summary
