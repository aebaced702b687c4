#!/usr/bin/env bash
# Salesforce figures, against the emulator (sftest) in the same process:
# log N mail items (default 10,000) with A distinct external addresses
# (default 5,000) through the Logger and the salesforce client, next to a
# bare client that sends the same requests (recorded from a first run)
# and decodes the answers; alternating twice. Prints requests by kind
# (target: ceil(items/200) EmailMessage creates + the relation creates,
# 2 x ceil(addresses/50) lookups (Contacts, Leads), the dedup queries,
# nothing per item), wall time (target: logger <= 2 x bare), CPU and
# peak RSS (emulator included, in both modes). Then one logger run with
# the CRM rules on, and its requests per 10,000 items next to today's
# (goal: at most 10 % more).
# Usage: scripts/bench-salesforce.sh [items [addresses]]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
a=${2:-5000}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-salesforce.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/benchsf" ./sync/crm/salesforce/internal/benchsf
"$tmp/benchsf" -mode record -items "$n" -addrs "$a" -out "$tmp/requests.jsonl" >/dev/null 2>"$tmp/record.err" || { cat "$tmp/record.err" >&2; exit 1; }
echo "== log $n items, $a distinct external addresses =="
for mode in bare logger bare logger; do
  if [ "$mode" = bare ]; then
    "$tmp/benchsf" -mode bare -items "$n" -addrs "$a" -in "$tmp/requests.jsonl" 2>>"$tmp/err" | tee -a "$tmp/out"
  else
    "$tmp/benchsf" -mode logger -items "$n" -addrs "$a" 2>>"$tmp/err" | tee -a "$tmp/out"
  fi
done
echo "== the same with the CRM rules on (threads, single-open Opportunities, 5 % marked Salesforce, 2 % Private) =="
"$tmp/benchsf" -mode logger -rules -items "$n" -addrs "$a" 2>>"$tmp/err" | tee -a "$tmp/out"
sort -u "$tmp/err"
awk -v n="$n" '/^logger/ {l = $8} /^rules/ {r = $8}
     END { if (l > 0) { p = 100*(r-l)/l; printf "requests per 10,000 items: %.0f today, %.0f with the rules on (%+.1f %%, goal <= +10 %%): %s\n", l*10000/n, r*10000/n, p, (p <= 10 ? "ok" : "MISSED") } }' "$tmp/out"
awk '/^bare/ {b += $4; nb++} /^logger/ {l += $4; nl++}
     END { r = (l/nl)/(b/nb); printf "logger/bare wall time: %.2f (target <= 2): %s\n", r, (r <= 2 ? "ok" : "MISSED") }' "$tmp/out"
