#!/usr/bin/env bash
# Builds Inbox Sync's release packages into build/dist/ with the Fyne tool
# (fyne package, pinned below):
#
#   inboxsync-VERSION-linux-amd64.tar.xz   the binary, the desktop entry, the icons
#                                          and a Makefile: make install [PREFIX=… DESTDIR=…],
#                                          make user-install (~/.local), make uninstall
#   inboxsync-VERSION-windows-amd64.exe    cross-compiled with mingw-w64, with the
#                                          application icon, a version resource and a manifest
#
# The binaries are stamped with the version (cmd/inboxsync-window/FyneApp.toml), the
# git commit and the build date ($SOURCE_DATE_EPOCH when set), which
# `inboxsync version` prints.
#
#   scripts/package.sh [--check] [--os linux|windows|linux,windows]
#
# --check (for CI) then checks the packages and fails loudly: the tarball's
# contents and desktop entry, an install into a temporary prefix with its
# Makefile, the installed `inboxsync version`, an uninstall; the .exe is a
# PE32+ GUI executable for x86-64 with an icon, a version resource and a
# manifest. Needs root or the Debian packages of `scripts/deps.sh package`.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

fyne_version=v1.7.4
check=false
targets=linux,windows
while (($#)); do
  case "$1" in
    --check) check=true ;;
    --os) targets=${2:?--os needs linux, windows or linux,windows}; shift ;;
    --os=*) targets=${1#--os=} ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "package.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
for t in ${targets//,/ }; do
  case "$t" in linux | windows) ;; *) echo "package.sh: unknown --os $t" >&2; exit 2 ;; esac
done
want() { [[ ",$targets," == *",$1,"* ]]; }

fail() { echo "package.sh: FAILED: $*" >&2; exit 1; }
step() { echo "==> $*" >&2; }

scripts/deps.sh package

# The Fyne tool, at the pinned version, in build/tools (not on PATH).
fyne=$root/build/tools/fyne
if ! [ -x "$fyne" ] || [[ "$("$fyne" version 2>/dev/null)" != *"fyne cli version: $fyne_version"* ]]; then
  step "installing fyne.io/tools/cmd/fyne@$fyne_version"
  GOBIN=$root/build/tools go install "fyne.io/tools/cmd/fyne@$fyne_version"
fi

# What the binaries are stamped with.
version=$(sed -n 's/^Version *= *"\(.*\)"/\1/p' cmd/inboxsync-window/FyneApp.toml)
[ -n "$version" ] || fail "no Version in cmd/inboxsync-window/FyneApp.toml"
commit=$(git rev-parse HEAD 2>/dev/null || true)
if [ -n "$commit" ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  commit+=-dirty
fi
epoch=${SOURCE_DATE_EPOCH:-$(date +%s)}
date=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)
pkg=github.com/inboxsync/inboxsync/app
# The Fyne tool passes -ldflags=… entries of GOFLAGS on to go build.
goflags="${GOFLAGS:-} -ldflags=-X=$pkg.Version=$version -ldflags=-X=$pkg.Commit=$commit -ldflags=-X=$pkg.BuildDate=$date"

dist=$root/build/dist
mkdir -p "$dist"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# fyne package works in the source directory: it writes files there during
# the build (metadata, a Windows resource object) and rewrites FyneApp.toml
# (Build + 1) afterwards. So it works on a copy of the module — the files git
# knows plus new ones not ignored — and the checkout stays as it is.
step "copying the source to $tmp/src"
mkdir "$tmp/src"
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
  tar --null -T - -cf - | tar -xf - -C "$tmp/src"
src=$tmp/src/cmd/inboxsync

tarball=$dist/inboxsync-$version-linux-amd64.tar.xz
exe=$dist/inboxsync-$version-windows-amd64.exe
sizes=(16 24 32 48 64 128 256 512)

if want linux; then
  step "building $tarball"
  rm -f "$tarball"
  (cd "$src" && GOFLAGS=$goflags GOOS=linux GOARCH=amd64 "$fyne" package --os linux --release)
  [ -f "$src/Inbox Sync.tar.xz" ] || fail "fyne package -os linux made no Inbox Sync.tar.xz"
  # fyne's tarball holds inboxsync/{Makefile,usr/[local/]{bin,share/applications,share/pixmaps}}.
  # Put our desktop entry in place of fyne's, add the icon at every size to
  # the hicolor theme (which, unlike share/pixmaps, is searched under
  # /usr/local and ~/.local too) and have the Makefile install them.
  mkdir "$tmp/linux"
  tar -xJf "$src/Inbox Sync.tar.xz" -C "$tmp/linux"
  top=$tmp/linux/inboxsync
  [ -f "$top/Makefile" ] || fail "fyne's tarball has no inboxsync/Makefile"
  usr=usr/local
  [ -d "$top/usr/local" ] || usr=usr
  cp assets/io.inboxsync.app.desktop "$top/$usr/share/applications/io.inboxsync.app.desktop"
  for s in "${sizes[@]}"; do
    install -Dm0644 "assets/icons/$s.png" "$top/$usr/share/icons/hicolor/${s}x$s/apps/io.inboxsync.app.png"
  done
  hicolor="for s in ${sizes[*]}; do install -Dm00644 $usr/share/icons/hicolor/\$\${s}x\$\$s/apps/\$(Icon)"
  awk -v usr="$usr" -v hicolor="$hicolor" -v sizes="${sizes[*]}" '
    { print }
    /^\tinstall .*share\/pixmaps.*\$\(PREFIX\)/ {
      print "\t" hicolor " $(DESTDIR)$(PREFIX)/share/icons/hicolor/$${s}x$$s/apps/$(Icon); done"
      print "\t-gtk-update-icon-cache -q $(DESTDIR)$(PREFIX)/share/icons/hicolor 2>/dev/null || true"
    }
    /^\tinstall .*share\/pixmaps.*\$\(HOME\)/ {
      print "\t" hicolor " $(DESTDIR)$(HOME)/.local/share/icons/hicolor/$${s}x$$s/apps/$(Icon); done"
    }
    /^\t-rm .*\$\(PREFIX\)\/share\/pixmaps/ {
      print "\t-for s in " sizes "; do rm -f $(DESTDIR)$(PREFIX)/share/icons/hicolor/$${s}x$$s/apps/$(Icon); done"
    }
    /^\t-rm .*\$\(HOME\)\/.local\/share\/icons/ {
      print "\t-for s in " sizes "; do rm -f $(DESTDIR)$(HOME)/.local/share/icons/hicolor/$${s}x$$s/apps/$(Icon); done"
    }
  ' "$top/Makefile" >"$tmp/Makefile"
  mv "$tmp/Makefile" "$top/Makefile"
  [ "$(grep -c 'icons/hicolor' "$top/Makefile")" = 5 ] || fail "could not add the icons to fyne's Makefile:$(printf '\n')$(cat "$top/Makefile")"
  tar -C "$tmp/linux" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" -cJf "$tarball" inboxsync
  echo "$tarball"
fi

if want windows; then
  step "building $exe"
  rm -f "$exe"
  # fyne package -os windows builds, writes the resource object, then
  # builds again; the -ldflags it takes from GOFLAGS go to the first build
  # only. Given an existing executable it skips the first build, so the one
  # build it makes has the resources and the stamps.
  : >"$src/inboxsync.exe"
  (cd "$src" && GOFLAGS=$goflags GOOS=windows GOARCH=amd64 CGO_ENABLED=1 CC=x86_64-w64-mingw32-gcc \
    "$fyne" package --os windows --release --exe inboxsync.exe) || fail "fyne package -os windows failed (see above)"
  [ -f "$src/Inbox Sync.exe" ] || fail "fyne package -os windows made no Inbox Sync.exe"
  cp "$src/Inbox Sync.exe" "$exe"
  echo "$exe"
fi

$check || exit 0

# --check: look inside what was built.
if want linux; then
  step "checking $tarball"
  listing=$(tar -tJvf "$tarball")
  echo "$listing"
  names=$(tar -tJf "$tarball")
  for f in Makefile bin/inboxsync share/applications/io.inboxsync.app.desktop share/pixmaps/io.inboxsync.app.png \
    share/icons/hicolor/16x16/apps/io.inboxsync.app.png share/icons/hicolor/512x512/apps/io.inboxsync.app.png; do
    grep -q "^inboxsync/\(usr/\(local/\)\{0,1\}\)\{0,1\}$f\$" <<<"$names" || fail "the tarball has no $f"
  done
  mkdir "$tmp/check"
  tar -xJf "$tarball" -C "$tmp/check"
  desktop=$(find "$tmp/check" -name io.inboxsync.app.desktop)
  cmp -s "$desktop" assets/io.inboxsync.app.desktop || fail "the tarball's desktop entry is not assets/io.inboxsync.app.desktop"
  desktop-file-validate "$desktop" || fail "desktop-file-validate: $desktop"
  file -b "$(find "$tmp/check" -path '*/bin/inboxsync')" | grep '^ELF 64-bit LSB .*x86-64' >/dev/null || fail "bin/inboxsync is not an x86-64 ELF binary"

  step "make install PREFIX=$tmp/prefix"
  make -s -C "$tmp/check/inboxsync" install PREFIX="$tmp/prefix" || fail "make install"
  for f in bin/inboxsync share/applications/io.inboxsync.app.desktop share/pixmaps/io.inboxsync.app.png; do
    [ -f "$tmp/prefix/$f" ] || fail "make install did not install $f"
  done
  for s in "${sizes[@]}"; do
    [ -f "$tmp/prefix/share/icons/hicolor/${s}x$s/apps/io.inboxsync.app.png" ] || fail "make install did not install the ${s}x$s icon"
  done
  [ -x "$tmp/prefix/bin/inboxsync" ] || fail "the installed inboxsync is not executable"
  out=$(HOME=$tmp/home "$tmp/prefix/bin/inboxsync" version) || fail "the installed inboxsync version failed: $out"
  echo "installed: $out"
  [[ "$out" == "inboxsync $version ("*"built "*")" ]] || fail "inboxsync version says \"$out\", want version $version and a build date"
  if [ -n "$commit" ]; then
    [[ "$out" == *"commit ${commit:0:12}"* ]] || fail "inboxsync version says \"$out\", want commit ${commit:0:12}"
  fi
  json=$(HOME=$tmp/home "$tmp/prefix/bin/inboxsync" version --json) || fail "inboxsync version --json failed"
  grep -q "\"version\": \"$version\"" <<<"$json" || fail "inboxsync version --json: $json"
  grep -q "\"date\": \"$date\"" <<<"$json" || fail "inboxsync version --json has no date $date: $json"
  grep -q '"test_build": false' <<<"$json" || fail "the package is a test build: $json"

  step "make uninstall PREFIX=$tmp/prefix"
  make -s -C "$tmp/check/inboxsync" uninstall PREFIX="$tmp/prefix" >/dev/null 2>&1 || true
  left=$(find "$tmp/prefix" -type f)
  [ -z "$left" ] || fail "make uninstall left $left"
fi

if want windows; then
  step "checking $exe"
  kind=$(file -b "$exe")
  echo "$kind"
  [[ "$kind" == "PE32+ executable (GUI) x86-64"* ]] || fail "$exe is not a PE32+ GUI executable for x86-64: $kind"
  # The resource directory's types (its top-level entries): 0x3 icon, 0xe
  # icon group, 0x10 version, 0x18 manifest.
  rsrc=$(x86_64-w64-mingw32-objdump -p "$exe" | sed -n '/^The .rsrc Resource Directory section:/,/Resources start at/p')
  [ -n "$rsrc" ] || fail "$exe has no resource section"
  for t in "3:icon" "e:icon group" "10:version" "18:manifest"; do
    grep -Eq "^[0-9a-f]+   Entry: ID: 0x0*${t%%:*}," <<<"$rsrc" || fail "$exe has no ${t#*:} resource (type 0x${t%%:*})"
  done
  # The version resource's strings are UTF-16.
  strings -el "$exe" | grep -x "$version.[0-9]*" >/dev/null || fail "$exe's version resource does not say $version"
  if [ -n "$commit" ]; then
    strings -a "$exe" | grep -F "$commit" >/dev/null || fail "$exe is not stamped with commit $commit"
  fi
  echo "resources: icon, icon group, version $version, manifest; stamped with commit ${commit:-?} and date $date"
fi
step "packages OK"
