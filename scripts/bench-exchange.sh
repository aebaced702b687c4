#!/usr/bin/env bash
# Exchange (EWS) provider figures, against the EWS emulator running in its
# own process (so that each client's peak RSS and CPU time are its own):
#  1. initial sync of 50,000 Inbox items: the provider (SyncFolderItems pages
#     of 512, GetItem batches of 128, over NTLM) next to a bare client that
#     sends the same requests and only decodes the answers — alternating,
#     each run in a fresh process; target: the provider within 2x of bare;
#  2. a no-change sync of Inbox, Sent and Calendar with a fresh provider (as
#     each session has): HTTP requests (NTLM handshake included), EWS calls
#     and CPU time.
# Usage: scripts/bench-exchange.sh [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
tmp=$(mktemp -d)
emu=
trap '[ -n "$emu" ] && kill "$emu" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
go test -c -o "$tmp/ews.test" ./sync/provider/ews

EWS_EMULATOR_SERVE="$tmp/emulator.json" EWS_EMULATOR_ITEMS=50000 \
	"$tmp/ews.test" -test.run '^TestServeEmulator$' >"$tmp/emulator.log" 2>&1 &
emu=$!
for _ in $(seq 600); do [ -s "$tmp/emulator.json" ] && break; sleep 0.1; done
[ -s "$tmp/emulator.json" ] || { echo "the emulator did not start" >&2; cat "$tmp/emulator.log" >&2; exit 1; }

run() { EWS_BENCH_SERVER="$tmp/emulator.json" "$tmp/ews.test" -test.run '^$' -test.bench "^Benchmark$1\$" -test.benchtime 1x | grep '^Benchmark'; }

echo "== initial sync of 50,000 Inbox items (emulator in its own process) =="
for _ in $(seq "$rounds"); do
	run BareFetch
	run InitialSync
done | tee "$tmp/initial.txt"
awk '/BareFetch/ {b += $5; nb++} /InitialSync/ {p += $5; np++}
	END { if (nb && np) printf "mean items/s: bare %.0f, provider %.0f; provider takes %.2fx the bare time\n", b/nb, p/np, (b/nb)/(p/np) }' "$tmp/initial.txt"
echo
echo "== no-change sync of Inbox, Sent and Calendar =="
run NoChangeSync
