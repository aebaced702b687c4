# Shared by scripts/bench-office365.sh and scripts/bench-gmail.sh (sourced,
# from the repository's root): the emulator in its own process, a table
# row for each run's JSON line (internal/bench/provbench.Result), and the
# summary. Sets tmp, a directory removed on exit.

tmp=$(mktemp -d)
bench_server=
trap 'exec 3>&- 2>/dev/null || true; [ -n "$bench_server" ] && wait "$bench_server" 2>/dev/null || true; rm -rf "$tmp"' EXIT

# bench_serve BIN LINES ARGS...: starts BIN -mode serve ARGS -ca $tmp/ca.pem,
# which runs until this shell exits, and waits (at most a minute) until it
# printed LINES lines to $tmp/serve.
bench_serve() {
  local bin=$1 lines=$2
  shift 2
  mkfifo "$tmp/in"
  "$bin" -mode serve -ca "$tmp/ca.pem" "$@" <"$tmp/in" >"$tmp/serve" &
  bench_server=$!
  exec 3>"$tmp/in" # the server runs until this closes
  for _ in $(seq 600); do [ "$(wc -l <"$tmp/serve")" -ge "$lines" ] && break; sleep 0.1; done
  [ "$(wc -l <"$tmp/serve")" -ge "$lines" ] || { echo "the emulator did not start" >&2; exit 1; }
}

bench_header() {
  printf '%-16s %8s %6s %8s %10s %7s %9s %9s\n' mode items pages seconds items/s cpu_s peak_rss requests
}

# bench_run ARGS...: runs a client (ARGS is the command), prints its row
# and keeps it for bench_summary (which reads the modes bare and provider).
bench_run() {
  local line
  line=$("$@")
  echo "$line" >>"$tmp/results"
  echo "$line" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("%-16s %8d %6d %8.2f %10.0f %7.2f %7.1fMB %9s" % (r["mode"], r["items"], r["pages"], r["seconds"], r["items_per_sec"], r["cpu_seconds"], r["peak_rss_mb"], r.get("requests") or "-"))'
}

# bench_summary [TARGET]: the provider's best time against the bare
# client's, and the last provider run's no-change sync (TARGET is said
# after its figures).
bench_summary() {
  python3 - "$tmp/results" "${1:-}" <<'PY'
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
best = lambda m: min(r["seconds"] for r in rs if r["mode"] == m)
print("provider / bare (best of 2): %.2fx (target: within 2x)" % (best("provider") / best("bare")))
p = [r for r in rs if r["mode"] == "provider"][-1]
print()
print("== no-change sync (Inbox, Sent, Calendar) ==")
target = " (target: %s)" % sys.argv[2] if sys.argv[2] else ""
print("requests %d, cpu %.4f s, wall %.4f s%s" % (p["nochange_requests"], p["nochange_cpu_seconds"], p["nochange_seconds"], target))
PY
}
