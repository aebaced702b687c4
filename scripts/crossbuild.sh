#!/usr/bin/env bash
# Cross-builds and vets Inbox Sync for the systems this machine cannot run:
#
#   - Windows (amd64): the whole binary, cgo and Fyne included, with the
#     MinGW-w64 cross compiler, into build/windows-amd64/inboxsync.exe;
#     then go vet of every package, release and test builds;
#   - macOS (arm64 and amd64): go vet of every package that builds without
#     cgo. Fyne (its GL driver and widgets) and fyne.io/systray need cgo
#     and Apple's SDK there, so the packages that depend on them are left
#     out and listed.
#
#   scripts/crossbuild.sh [windows] [darwin]     (both by default)
#
# Nothing here runs the result: that needs a real Windows or Mac.
# Any failure stops the script with a non-zero exit.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=" ${*:-windows darwin} "
for t in $targets; do
  case "$t" in windows | darwin) ;; *) echo "crossbuild.sh: unknown target $t (windows or darwin)" >&2; exit 2 ;; esac
done

# The MinGW-w64 cross compiler comes with deps.sh's "package" purpose.
scripts/deps.sh package
mingw=x86_64-w64-mingw32-gcc
command -v "$mingw" >/dev/null || { echo "crossbuild: $mingw is not on PATH" >&2; exit 1; }

step() { echo "== $*" >&2; }

# Windows: the real binary (release and test builds), then vet.
windows() {
  local win=(env CGO_ENABLED=1 CC="$mingw" GOOS=windows GOARCH=amd64) tags
  step "windows/amd64: go build ./cmd/inboxsync ./cmd/inboxsync-window (cgo with MinGW-w64; the first build takes long)"
  "${win[@]}" go build -o build/windows-amd64/ ./cmd/inboxsync ./cmd/inboxsync-window
  "${win[@]}" go build -tags testprovider -o build/windows-amd64/test/ ./cmd/inboxsync ./cmd/inboxsync-window
  for tags in "" testprovider; do
    step "windows/amd64: go vet ${tags:+-tags $tags }./..."
    "${win[@]}" go vet ${tags:+-tags "$tags"} ./...
  done
}

# macOS: vet whatever builds without cgo. A package is left out when it
# or its tests depend on Fyne, systray or GL (all cgo on macOS); sync/…
# and internal/procstat, internal/fynelocale must never be.
darwin() {
  local arch tags list pkg must mac vet skip
  for arch in arm64 amd64; do
    mac=(env CGO_ENABLED=0 GOOS=darwin GOARCH="$arch")
    for tags in "" testprovider; do
      # One line per package and per test variant, "path deps…"; a test
      # variant ("p [p.test]", "p_test [p.test]", "p.test") counts for p.
      list=$("${mac[@]}" go list ${tags:+-tags "$tags"} -e -test -f '{{.ImportPath}} {{join .Deps " "}}' ./... |
        awk '{ p = $1; sub(/_test$/, "", p); sub(/\.test$/, "", p)
               if (!(p in seen)) { seen[p] = 1; order[++n] = p }
               for (i = 2; i <= NF; i++) if ($i ~ /^(fyne\.io\/|github\.com\/go-gl\/)/) bad[p] = 1 }
             END { for (i = 1; i <= n; i++) if (!(order[i] in bad)) print order[i] }')
      mapfile -t vet <<<"$list"
      skip=()
      for pkg in $("${mac[@]}" go list -e ${tags:+-tags "$tags"} ./...); do
        [[ " ${vet[*]} " == *" $pkg "* ]] || skip+=("${pkg#github.com/inboxsync/inboxsync/}")
      done
      for must in $(go list ./sync/... ./internal/procstat ./internal/fynelocale); do
        if [[ " ${vet[*]} " != *" $must "* ]]; then
          echo "crossbuild: $must must build for macOS without cgo, but it depends on Fyne, systray or GL" >&2
          exit 1
        fi
      done
      step "darwin/$arch: go vet ${tags:+-tags $tags }(${#vet[@]} packages; left out, they need cgo for Fyne/systray: ${skip[*]})"
      "${mac[@]}" go vet ${tags:+-tags "$tags"} "${vet[@]}"
    done
  done
}

for t in $targets; do "$t"; done
step "crossbuild:$targets done"
