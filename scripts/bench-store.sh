#!/usr/bin/env bash
# Prints the activity store's figures at scale (issue 13):
#  1. a store of N items (default 1,000,000) across 3 accounts, synced
#     through the engine from scripted mailboxes: ingest rate, the upkeep's
#     index build, a no-change sync of each account (CPU), bytes per item;
#  2. ingest of 100,000 items with this build next to the build before the
#     search index, each in its own process; and with this build until the
#     index holds every item;
#  3. searches in the store's process: p50/p95 of a page of 50 for a rare
#     phrase, a common word, a 3-letter substring and an address;
#  4. the agent on that store: start-up until it answers, idle RSS after
#     10 s, and through the CLI (real processes): activity --limit 50,
#     status, activity --search, each the median of 11 runs;
#  5. inboxsync export of every item to CSV: time and the peak RSS of the
#     CLI and of the agent.
# Usage: scripts/bench-store.sh [items]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
tmp=$(mktemp -d)
agent=
trap '[ -n "$agent" ] && kill $agent 2>/dev/null; rm -rf "$tmp"' EXIT
go build -tags testprovider -o "$tmp/storebench" ./internal/bench/storebench
go build -tags testprovider -o "$tmp/ingest" ./internal/bench/ingest
go build -o "$tmp/" ./cmd/inboxsync ./cmd/inboxsync-window
home="$tmp/home"

echo "== a store of $n items across 3 accounts, through the engine =="
"$tmp/storebench" -mode build -dir "$home" -n "$n" | python3 -c '
import json,sys; r=json.load(sys.stdin)
print("ingest: %d items in %.1f s = %.0f items/s (%.1f s CPU; the upkeep had indexed %d of them by then)" % (r["items"], r["ingest_seconds"], r["ingest_per_sec"], r["ingest_cpu_seconds"], r["indexed_when_ingest_ended"]))
print("index build after the syncs: %.1f s, %.0f items/s" % (r["index_seconds"], r["index_per_sec"]))
print("no-change sync CPU per account: " + ", ".join("%s %.1f ms" % kv for kv in sorted(r["nochange_cpu_ms"].items())))
print("file: %.1f MB, %.0f bytes per item with the index; peak RSS %.1f MB" % (r["file_bytes"]/1e6, r["bytes_per_item"], r["peak_rss_mb"]))'
echo

# The revision before the search index (fd2a1da) is "without it".
before=fd2a1da
echo "== ingest of 100,000 items (pages of 500): this build, and the build before the search index ($before) =="
echo "   engine: until the sync session ends (the items are stored and found by a search)"
echo "   indexed: until the upkeep has also put every item in the search index"
echo "   intx: each page's items indexed in the page's transaction (the design this store avoids)"
old_src="$tmp/old-src"
mkdir -p "$old_src"
git archive "$before" | tar -x -C "$old_src"
(cd "$old_src" && go build -tags testprovider -o "$tmp/ingest-before" ./internal/bench/ingest)
for run in "ingest-before engine" "ingest engine" "ingest indexed" "ingest intx" "ingest-before engine" "ingest engine" "ingest indexed" "ingest intx"; do
  set -- $run
  "$tmp/$1" -mode "$2" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("%-14s %-8s %8.0f items/s  %5.2f s CPU  peak RSS %5.1f MB" % (sys.argv[1], sys.argv[2], r["items_per_sec"], r["cpu_seconds"], r["peak_rss_mb"]))' "$1" "$2"
done
echo

echo "== searches, a page of 50 (in the store's process, 50 runs each) =="
"$tmp/storebench" -mode search -dir "$home" -runs 50 | python3 -c '
import json,sys
for f in json.load(sys.stdin):
    print("%-28s total %-6s p50 %7.2f ms  p95 %7.2f ms" % (f["query"], str(f["total"]) + ("+" if f["total"] >= 1000 else ""), f["p50_ms"], f["p95_ms"]))'
echo

echo "== the agent on this store =="
start=$(date +%s.%N)
"$tmp/inboxsync" --home "$home" agent --no-tray 2>"$tmp/agent.log" &
agent=$!
until "$tmp/inboxsync" --home "$home" status 2>/dev/null | grep -q "^Inbox Sync is running"; do sleep 0.01; done
echo "start-up until the agent answers status: $(python3 -c "print('%.0f ms' % ((float('$(date +%s.%N)') - $start) * 1000))")"
sleep 10
echo "idle RSS after 10 s: $(awk '/VmRSS/{printf "%.1f MB", $2/1024}' /proc/$agent/status)"
median() { # median wall time of 11 runs of the CLI with the given arguments
  python3 - "$@" <<'EOF'
import subprocess, sys, time
ts = []
for _ in range(11):
    t = time.perf_counter()
    subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    ts.append((time.perf_counter() - t) * 1000)
ts.sort()
print("%.0f ms (min %.0f, max %.0f)" % (ts[5], ts[0], ts[-1]))
EOF
}
echo "inboxsync activity --limit 50:          $(median "$tmp/inboxsync" --home "$home" activity --limit 50)"
echo "inboxsync status:                       $(median "$tmp/inboxsync" --home "$home" status)"
echo "inboxsync activity --search \"item 4242\": $(median "$tmp/inboxsync" --home "$home" activity --search '"item 4242"')"
echo "inboxsync version (the CLI's own start): $(median "$tmp/inboxsync" version)"
echo

echo "== export of every item to CSV =="
/usr/bin/time -f "%e s, CLI peak RSS %M KB" "$tmp/inboxsync" --home "$home" export --out "$tmp/all.csv" 2>&1 | tr '\r' '\n' | tail -2
echo "rows: $(($(wc -l <"$tmp/all.csv") - 1)), $(du -m "$tmp/all.csv" | cut -f1) MB; agent peak RSS $(awk '/VmHWM/{printf "%.1f MB", $2/1024}' /proc/$agent/status)"
kill "$agent"
wait "$agent" 2>/dev/null || :
agent=
echo

echo "== the dashboard, tray click → window drawn (scripts/bench-ui.sh) =="
if command -v Xvfb >/dev/null && command -v xdotool >/dev/null; then
  echo "with this store:"
  scripts/bench-ui.sh --home "$home" 10 2>"$tmp/bench-ui.err" | grep -E "^median|not counted" || echo "failed: $(tail -3 "$tmp/bench-ui.err")"
  echo "with a fresh home (no account, no item):"
  scripts/bench-ui.sh 10 2>"$tmp/bench-ui.err" | grep -E "^median|not counted" || echo "failed: $(tail -3 "$tmp/bench-ui.err")"
else
  echo "skipped: needs Xvfb and xdotool"
fi
echo

echo "== account remove --purge of one account (a third of the store), through the CLI =="
# The agent needs a keyring: removing an account deletes its secrets first.
before=$(du -m "$home/inboxsync.db" | cut -f1)
scripts/with-keyring.sh bash -c '
  set -eu
  "$1" --home "$2" agent --no-tray 2>"$3/agent-purge.log" &
  agent=$!
  until "$1" --home "$2" status 2>/dev/null | grep -q "^Inbox Sync is running"; do sleep 0.01; done
  /usr/bin/time -f "purge: %e s" "$1" --home "$2" account remove north --purge
  # The upkeep gives the space back in short steps after the purge: wait
  # until the file stops shrinking.
  start=$(date +%s) last=0 same=0
  while [ $same -lt 4 ] && [ $(($(date +%s) - start)) -lt 120 ]; do
    sleep 0.5
    size=$(stat -c %s "$2/inboxsync.db")
    if [ "$size" = "$last" ]; then same=$((same + 1)); else same=0 last=$size; fi
  done
  echo "space given back within $(($(date +%s) - start)) s"
  kill $agent
  wait $agent || :
' purge "$tmp/inboxsync" "$home" "$tmp" 2> >(grep -v "Failed to set fd limit" >&2)
echo "file before/after: $before MB → $(du -m "$home/inboxsync.db" | cut -f1) MB"
echo "the longest write transaction of a purge (BenchmarkDeleteAccount, 100,000 of 300,000 items):"
INBOXSYNC_PURGE_BENCH_ITEMS=100000 go test -run '^$' -bench BenchmarkDeleteAccount -benchtime 1x -timeout 20m ./sync/store/ | grep -E "^Benchmark|ms"
