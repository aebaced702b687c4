#!/usr/bin/env bash
# Builds Inbox Sync's release packages into build/dist/. Inbox Sync is two
# programs: inboxsync (the agent with its tray, and the command line; no GUI
# toolkit, so every command starts quickly) and inboxsync-window (the Fyne
# windows, which the agent starts beside itself):
#
#   inboxsync-VERSION-linux-amd64.tar.xz   inboxsync/: bin/inboxsync, bin/inboxsync-window,
#                                          the desktop entry, the icons and a Makefile:
#                                          make install [PREFIX=… DESTDIR=…], make user-install
#                                          (~/.local), make uninstall, make user-uninstall
#   inboxsync-VERSION-windows-amd64.zip    inboxsync.exe and inboxsync-window.exe,
#                                          cross-compiled with mingw-w64: GUI programs with
#                                          the application icon, a version resource and a
#                                          manifest; unzip both into one folder
#   inboxsync-VERSION-windows-amd64.msi    the same two, as a per-user Windows Installer
#                                          package (msitools' wixl): Start-menu shortcut,
#                                          uninstall entry
#
# The window program is built by the Fyne tool (pinned below; fyne build on
# Linux, fyne package on Windows for its resources); inboxsync by go build
# with the same release flags (-trimpath, -s -w) and, on Windows, resources
# compiled by mingw-w64's windres from assets/icon.ico. Both are stamped
# with the version (FyneApp.toml), the git commit and
# the build date ($SOURCE_DATE_EPOCH when set), which `inboxsync version`
# and the dashboard's About line print.
#
#   scripts/package.sh [--check] [--os linux|windows|linux,windows]
#
# --check (for CI) then checks the packages and fails loudly: the tarball's
# contents and desktop entry, an install into a temporary prefix with its
# Makefile, the installed `inboxsync version`, that the installed inboxsync
# links no GUI toolkit and finds its window program, an uninstall; each
# .exe in the zip is a PE32+ GUI executable for x86-64 with an icon, a
# version resource and a manifest. Needs root or the Debian packages of
# `scripts/deps.sh package`.
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
version=$(sed -n 's/^Version *= *"\(.*\)"/\1/p' FyneApp.toml)
[ -n "$version" ] || fail "no Version in FyneApp.toml"
commit=$(git rev-parse HEAD 2>/dev/null || true)
if [ -n "$commit" ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  commit+=-dirty
fi
epoch=${SOURCE_DATE_EPOCH:-$(date +%s)}
date=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)
pkg=github.com/inboxsync/inboxsync/internal/install
# The Fyne tool passes -ldflags=… entries of GOFLAGS on to go build.
goflags="${GOFLAGS:-} -ldflags=-X=$pkg.Version=$version -ldflags=-X=$pkg.Commit=$commit -ldflags=-X=$pkg.BuildDate=$date"

dist=$root/build/dist
mkdir -p "$dist"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The Fyne tool works in the source directory: it writes files there during
# the build (metadata, a Windows resource object) and rewrites FyneApp.toml
# (Build + 1) afterwards. So the build works on a copy of the module — the
# files git knows plus new ones not ignored — and the checkout stays as it is.
step "copying the source to $tmp/src"
mkdir "$tmp/src"
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
  tar --null -T - -cf - | tar -xf - -C "$tmp/src"
winsrc=$tmp/src/cmd/inboxsync-window
# FyneApp.toml lives at the top level (the one source of the app's
# metadata); the Fyne tool reads it from the directory it builds, so the
# copy gets one there, its icon path made relative to that directory.
sed 's#^Icon *= *"assets/#Icon = "../../assets/#' FyneApp.toml >"$winsrc/FyneApp.toml"
grep -q '^Icon = "../../assets/icon.png"' "$winsrc/FyneApp.toml" || fail "FyneApp.toml: no Icon under assets/"
build=$(sed -n 's/^Build *= *\([0-9]*\)/\1/p' FyneApp.toml)
# inboxsync, built as the Fyne tool builds release programs.
ldflags="-s -w -X=$pkg.Version=$version -X=$pkg.Commit=$commit -X=$pkg.BuildDate=$date"

tarball=$dist/inboxsync-$version-linux-amd64.tar.xz
zipfile=$dist/inboxsync-$version-windows-amd64.zip
msifile=$dist/inboxsync-$version-windows-amd64.msi
sizes=(16 24 32 48 64 128 256 512)

if want linux; then
  step "building $tarball"
  rm -f "$tarball"
  top=$tmp/linux/inboxsync
  mkdir -p "$top/bin"
  (cd "$winsrc" && GOFLAGS=$goflags GOOS=linux GOARCH=amd64 "$fyne" build --os linux --release -o "$top/bin/inboxsync-window") ||
    fail "fyne build -os linux failed (see above)"
  (cd "$tmp/src" && GOOS=linux GOARCH=amd64 go build -trimpath -ldflags "$ldflags" -o "$top/bin/inboxsync" ./cmd/inboxsync) ||
    fail "go build ./cmd/inboxsync failed (see above)"
  install -Dm0644 assets/io.inboxsync.app.desktop "$top/share/applications/io.inboxsync.app.desktop"
  for s in "${sizes[@]}"; do
    install -Dm0644 "assets/icons/$s.png" "$top/share/icons/hicolor/${s}x$s/apps/io.inboxsync.app.png"
  done
  install -m0644 scripts/package/Makefile "$top/Makefile"
  tar -C "$tmp/linux" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" -cJf "$tarball" inboxsync
  echo "$tarball"
fi

if want windows; then
  step "building $zipfile"
  rm -f "$zipfile"
  win=$tmp/windows
  mkdir -p "$win"
  # fyne package -os windows builds, writes the resource object, then
  # builds again; the -ldflags it takes from GOFLAGS go to the first build
  # only. Given an existing executable it skips the first build, so the one
  # build it makes has the resources and the stamps.
  : >"$winsrc/inboxsync-window.exe"
  (cd "$winsrc" && GOFLAGS=$goflags GOOS=windows GOARCH=amd64 CGO_ENABLED=1 CC=x86_64-w64-mingw32-gcc \
    "$fyne" package --os windows --release --exe inboxsync-window.exe) || fail "fyne package -os windows failed (see above)"
  [ -f "$winsrc/Inbox Sync.exe" ] || fail "fyne package -os windows made no Inbox Sync.exe"
  cp "$winsrc/Inbox Sync.exe" "$win/inboxsync-window.exe"
  # inboxsync.exe: its resources (icon, version, manifest) compiled by
  # windres into a .syso, which go build links.
  main=$tmp/src/cmd/inboxsync
  cp assets/icon.ico "$main/icon.ico"
  cat >"$main/inboxsync.manifest" <<MANIFEST
<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<assembly xmlns="urn:schemas-microsoft-com:asm.v1" manifestVersion="1.0">
  <assemblyIdentity type="win32" name="io.inboxsync.app" version="${version}.${build}" processorArchitecture="amd64"/>
  <description>Inbox Sync</description>
  <trustInfo xmlns="urn:schemas-microsoft-com:asm.v3">
    <security><requestedPrivileges><requestedExecutionLevel level="asInvoker" uiAccess="false"/></requestedPrivileges></security>
  </trustInfo>
  <compatibility xmlns="urn:schemas-microsoft-com:compatibility.v1">
    <application><supportedOS Id="{8e0f7a12-bfb3-4fe8-b9a5-48fd50a15a9a}"/></application>
  </compatibility>
</assembly>
MANIFEST
  IFS=. read -r v1 v2 v3 <<<"$version"
  cat >"$main/inboxsync.rc" <<RC
1 ICON "icon.ico"
1 24 "inboxsync.manifest"
1 VERSIONINFO
FILEVERSION ${v1:-0},${v2:-0},${v3:-0},${build:-0}
PRODUCTVERSION ${v1:-0},${v2:-0},${v3:-0},${build:-0}
FILEOS 0x40004
FILETYPE 0x1
BEGIN
  BLOCK "StringFileInfo"
  BEGIN
    BLOCK "040904B0"
    BEGIN
      VALUE "CompanyName", "Inbox Sync"
      VALUE "FileDescription", "Inbox Sync"
      VALUE "FileVersion", "${version}.${build}"
      VALUE "InternalName", "inboxsync"
      VALUE "OriginalFilename", "inboxsync.exe"
      VALUE "ProductName", "Inbox Sync"
      VALUE "ProductVersion", "${version}.${build}"
    END
  END
  BLOCK "VarFileInfo"
  BEGIN
    VALUE "Translation", 0x409, 1200
  END
END
RC
  (cd "$main" && x86_64-w64-mingw32-windres -O coff -o rsrc_windows_amd64.syso inboxsync.rc) || fail "windres could not compile inboxsync.rc"
  (cd "$tmp/src" && GOOS=windows GOARCH=amd64 CGO_ENABLED=1 CC=x86_64-w64-mingw32-gcc \
    go build -trimpath -ldflags "$ldflags -H=windowsgui" -o "$win/inboxsync.exe" ./cmd/inboxsync) ||
    fail "go build ./cmd/inboxsync for Windows failed (see above)"
  touch -d "@$epoch" "$win"/*.exe
  (cd "$win" && zip -q -X "$zipfile" inboxsync.exe inboxsync-window.exe) || fail "zip failed"
  echo "$zipfile"
  # The installer: the same two programs, per user, with a Start-menu
  # shortcut and an uninstall entry (scripts/package/inboxsync.wxs;
  # msitools' wixl takes relative sources only).
  step "building $msifile"
  rm -f "$msifile"
  cp assets/icon.ico "$win/icon.ico"
  (cd "$win" && wixl -a x64 -D Version="${version%%-*}" -D SourceDir=. -o "$msifile" "$root/scripts/package/inboxsync.wxs") ||
    fail "wixl could not build the MSI (see above)"
  echo "$msifile"
fi

$check || exit 0

# --check: look inside what was built.
if want linux; then
  step "checking $tarball"
  listing=$(tar -tJvf "$tarball")
  echo "$listing"
  names=$(tar -tJf "$tarball")
  for f in Makefile bin/inboxsync bin/inboxsync-window share/applications/io.inboxsync.app.desktop \
    share/icons/hicolor/16x16/apps/io.inboxsync.app.png share/icons/hicolor/512x512/apps/io.inboxsync.app.png; do
    grep -qx "inboxsync/$f" <<<"$names" || fail "the tarball has no $f"
  done
  mkdir "$tmp/check"
  tar -xJf "$tarball" -C "$tmp/check"
  desktop=$tmp/check/inboxsync/share/applications/io.inboxsync.app.desktop
  cmp -s "$desktop" assets/io.inboxsync.app.desktop || fail "the tarball's desktop entry is not assets/io.inboxsync.app.desktop"
  desktop-file-validate "$desktop" || fail "desktop-file-validate: $desktop"
  for p in inboxsync inboxsync-window; do
    file -b "$tmp/check/inboxsync/bin/$p" | grep '^ELF 64-bit LSB .*x86-64' >/dev/null || fail "bin/$p is not an x86-64 ELF binary"
  done

  step "make install PREFIX=$tmp/prefix"
  make -s -C "$tmp/check/inboxsync" install PREFIX="$tmp/prefix" || fail "make install"
  for f in bin/inboxsync bin/inboxsync-window share/applications/io.inboxsync.app.desktop; do
    [ -f "$tmp/prefix/$f" ] || fail "make install did not install $f"
  done
  for s in "${sizes[@]}"; do
    [ -f "$tmp/prefix/share/icons/hicolor/${s}x$s/apps/io.inboxsync.app.png" ] || fail "make install did not install the ${s}x$s icon"
  done
  [ -x "$tmp/prefix/bin/inboxsync" ] && [ -x "$tmp/prefix/bin/inboxsync-window" ] || fail "the installed programs are not executable"
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
  # inboxsync links no GUI toolkit; its ui verb runs the window program
  # installed beside it (here only its help: there is no display).
  if ldd "$tmp/prefix/bin/inboxsync" 2>/dev/null | grep -E 'lib(GL|X11)'; then
    fail "the installed inboxsync links GL or X11 libraries: the windows belong to inboxsync-window"
  fi
  help=$(HOME=$tmp/home "$tmp/prefix/bin/inboxsync" ui --help 2>&1) || fail "the installed inboxsync ui --help failed: $help"
  [[ "$help" == "Usage: inboxsync ui"* ]] || fail "the installed inboxsync ui --help says: $help"
  echo "installed: inboxsync links no GL or X11; inboxsync ui runs the installed inboxsync-window"

  step "make uninstall PREFIX=$tmp/prefix"
  make -s -C "$tmp/check/inboxsync" uninstall PREFIX="$tmp/prefix" >/dev/null 2>&1 || true
  left=$(find "$tmp/prefix" -type f)
  [ -z "$left" ] || fail "make uninstall left $left"

  step "make user-install HOME=$tmp/user"
  make -s -C "$tmp/check/inboxsync" user-install HOME="$tmp/user" || fail "make user-install"
  for f in bin/inboxsync bin/inboxsync-window share/applications/io.inboxsync.app.desktop share/icons/hicolor/16x16/apps/io.inboxsync.app.png; do
    [ -f "$tmp/user/.local/$f" ] || fail "make user-install did not install ~/.local/$f"
  done
  grep -qx "Exec=$tmp/user/.local/bin/inboxsync" "$tmp/user/.local/share/applications/io.inboxsync.app.desktop" ||
    fail "the user-installed desktop entry does not start ~/.local/bin/inboxsync"
  make -s -C "$tmp/check/inboxsync" user-uninstall HOME="$tmp/user" >/dev/null 2>&1 || true
  left=$(find "$tmp/user" -type f)
  [ -z "$left" ] || fail "make user-uninstall left $left"
fi

if want windows; then
  step "checking $zipfile"
  unzip -l "$zipfile"
  mkdir "$tmp/wincheck"
  unzip -q "$zipfile" -d "$tmp/wincheck" || fail "cannot unzip $zipfile"
  for p in inboxsync inboxsync-window; do
    exe=$tmp/wincheck/$p.exe
    [ -f "$exe" ] || fail "the zip has no $p.exe"
    kind=$(file -b "$exe")
    echo "$p.exe: $kind"
    [[ "$kind" == "PE32+ executable (GUI) x86-64"* ]] || fail "$p.exe is not a PE32+ GUI executable for x86-64: $kind"
    # The resource directory's types (its top-level entries): 0x3 icon, 0xe
    # icon group, 0x10 version, 0x18 manifest.
    rsrc=$(x86_64-w64-mingw32-objdump -p "$exe" | sed -n '/^The .rsrc Resource Directory section:/,/Resources start at/p')
    [ -n "$rsrc" ] || fail "$p.exe has no resource section"
    for t in "3:icon" "e:icon group" "10:version" "18:manifest"; do
      grep -Eq "^[0-9a-f]+   Entry: ID: 0x0*${t%%:*}," <<<"$rsrc" || fail "$p.exe has no ${t#*:} resource (type 0x${t%%:*})"
    done
    # The version resource's strings are UTF-16.
    strings -el "$exe" | grep -x "$version.[0-9]*" >/dev/null || fail "$p.exe's version resource does not say $version"
    if [ -n "$commit" ]; then
      strings -a "$exe" | grep -F "$commit" >/dev/null || fail "$p.exe is not stamped with commit $commit"
    fi
    echo "$p.exe: icon, icon group, version $version, manifest; stamped with commit ${commit:-?} and date $date"
  done
  # Only the window program links the GL driver. (objdump's output is
  # kept first: grep -q leaving a pipe early fails it under pipefail.)
  imports=$(x86_64-w64-mingw32-objdump -p "$tmp/wincheck/inboxsync.exe" | grep 'DLL Name:')
  grep -qi 'DLL Name: opengl32' <<<"$imports" && fail "inboxsync.exe imports opengl32.dll: the windows belong to inboxsync-window.exe"
  imports=$(x86_64-w64-mingw32-objdump -p "$tmp/wincheck/inboxsync-window.exe" | grep 'DLL Name:')
  grep -qi 'DLL Name: opengl32' <<<"$imports" || fail "inboxsync-window.exe does not import opengl32.dll"
  echo "only inboxsync-window.exe imports opengl32.dll"
  step "checking $msifile"
  shortcut=$(msiinfo export "$msifile" Shortcut) || fail "cannot read the MSI's Shortcut table"
  grep -q $'^StartMenuShortcut\tProgramMenuFolder\tInbox Sync\t.*\[INSTALLDIR\]inboxsync.exe' <<<"$shortcut" ||
    fail "the MSI has no Start-menu shortcut to inboxsync.exe: $shortcut"
  files=$(msiinfo export "$msifile" File) || fail "cannot read the MSI's File table"
  for p in inboxsync.exe inboxsync-window.exe; do grep -q $'\t'"$p"$'\t' <<<"$files" || fail "the MSI has no $p"; done
  echo "the MSI installs inboxsync.exe and inboxsync-window.exe with a Start-menu shortcut (installed under Wine by scripts/test-windows.sh)"
fi
step "packages OK"
