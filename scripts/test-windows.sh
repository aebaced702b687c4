#!/usr/bin/env bash
# Runs the Windows build under Wine (Debian's wine64, 8.0), headless on
# Xvfb, in a throwaway WINEPREFIX, and fails if any step fails:
#
#   1. cross-builds inboxsync.exe and inboxsync-window.exe (test build,
#      -tags testprovider) with MinGW-w64;
#   2. makes a fresh prefix and gives it bcryptprimitives.dll's ProcessPrng,
#      which Go ≥ 1.22 programs need at start and Wine 8 lacks: a stand-in
#      compiled here from C with MinGW-w64 (RtlGenRandom underneath);
#   3. runs the unit tests of the packages with Windows code (named pipe
#      and peer check, Credential Manager, Run key, paths, console) as
#      Windows programs under Wine;
#   4. runs internal/winetest: the agent, the CLI, accounts against the
#      scripted mailbox and the Gmail emulator over loopback, the
#      Credential Manager, the paths, the Run value, a SIGKILL mid-sync and
#      the restart, the windows (captures in $INBOXSYNC_SHOTS/windows-*.png);
#   5. installs the MSI (scripts/package.sh builds it) with msiexec and
#      uninstalls it, checking the Start-menu shortcut and the uninstall
#      entry, when build/dist holds one.
#
# Each step prints the time it took. Run as root it installs what it needs
# (scripts/deps.sh wine).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh wine

total_start=$SECONDS
step_start=$SECONDS
step() { # step NAME: ends the previous step (printing its time), starts NAME
  local now=$SECONDS
  if [ -n "${step_name:-}" ]; then printf '== wine: %s: ok (%ds)\n' "$step_name" $((now - step_start)) >&2; fi
  step_name=$1
  step_start=$now
  [ -z "$1" ] || printf '== wine: %s …\n' "$1" >&2
}
trap 'rc=$?; if [ $rc -ne 0 ] && [ -n "${step_name:-}" ]; then printf "== wine: %s: FAILED (%ds)\n" "$step_name" $((SECONDS - step_start)) >&2; fi' EXIT

mingw=x86_64-w64-mingw32-gcc
win=(env CGO_ENABLED=1 CC="$mingw" GOOS=windows GOARCH=amd64)
out=build/windows-amd64/wine
mkdir -p "$out"

step "cross-build inboxsync.exe and inboxsync-window.exe (-tags testprovider)"
"${win[@]}" go build -tags testprovider -o "$out/" ./cmd/inboxsync ./cmd/inboxsync-window

step "a fresh WINEPREFIX with ProcessPrng"
work=$(mktemp -d /tmp/inboxsync-wine.XXXXXX)
export WINEPREFIX=$work/prefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
cleanup() { wineserver -k 2>/dev/null || true; rm -rf "$work"; }
trap 'rc=$?; cleanup; if [ $rc -ne 0 ] && [ -n "${step_name:-}" ]; then printf "== wine: %s: FAILED (%ds)\n" "$step_name" $((SECONDS - step_start)) >&2; fi' EXIT
unset DISPLAY # the windows get their own Xvfb in internal/winetest
wine wineboot --init >/dev/null 2>&1
wineserver -w
# One persistent wineserver: one that a wine command starts would inherit
# that command's output pipes and hold them open.
wineserver -p
cat >"$work/bcryptprimitives.c" <<'C'
#include <windows.h>
/* advapi32's RtlGenRandom. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);
/* ProcessPrng fills data with random bytes; Windows 10+ has it in
   bcryptprimitives.dll, Wine 8 does not. It never fails on Windows. */
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, n)) return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
C
printf 'LIBRARY bcryptprimitives.dll\nEXPORTS\nProcessPrng\n' >"$work/bcryptprimitives.def"
"$mingw" -shared -O2 -o "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" \
  "$work/bcryptprimitives.c" "$work/bcryptprimitives.def" -ladvapi32
wine "$out/inboxsync.exe" version

# The unit tests of the packages with Windows-only code, as Windows
# programs: the named pipe and its peer checks, Credential Manager, the
# Run key. (Tests that end with t.TempDir() cannot pass under Wine 8: its
# cleanup, os.RemoveAll, fails there with "Invalid function"; those are
# left out of internal/autostart.)
unit() { # unit PKG [go test flags…]
  local pkg=$1 name
  shift
  name=$(basename "$pkg")
  step "go test ./$pkg $* as a Windows program"
  "${win[@]}" go test -c -o "$work/$name.test.exe" "./$pkg"
  if ! (cd "$pkg" && wine "$work/$name.test.exe" -test.count=1 -test.timeout=5m -test.v "$@") >"$work/$name.log" 2>&1; then
    cat "$work/$name.log" >&2
    exit 1
  fi
  grep -c '^--- PASS' "$work/$name.log" | sed 's/^/   tests passed: /' >&2
  grep -E '^--- SKIP' "$work/$name.log" >&2 || true
}
unit sync/control
unit sync/secret/keyring
unit internal/autostart -test.run 'RunKey|WindowsCommandLine|ExecQuote|AutostartEntry'

step "internal/winetest: the programs end to end"
export INBOXSYNC_SHOTS=${INBOXSYNC_SHOTS:-$PWD/build/screenshots}
mkdir -p "$INBOXSYNC_SHOTS"
go vet -tags wine ./internal/winetest/
INBOXSYNC_WINE_BIN=$PWD/$out go test -tags wine -count=1 -v -timeout 15m ./internal/winetest/ >&2

step "the MSI: install, run, uninstall with msiexec"
# The one scripts/package.sh built (CI runs it first), else built now.
msi=$(compgen -G 'build/dist/inboxsync-*-windows-amd64.msi' | tail -1 || true)
if [ -z "$msi" ]; then
  scripts/package.sh --os windows >/dev/null
  msi=$(compgen -G 'build/dist/inboxsync-*-windows-amd64.msi' | tail -1)
fi
users=$WINEPREFIX/drive_c/users/$(id -un)
installed="$users/AppData/Local/Programs/Inbox Sync"
lnk="$users/AppData/Roaming/Microsoft/Windows/Start Menu/Programs/Inbox Sync.lnk"
uninstall_entry() {
  wine reg query 'HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall' /s 2>/dev/null | grep -q 'DisplayName *REG_SZ *Inbox Sync' ||
    wine reg query 'HKCU\Software\Microsoft\Windows\CurrentVersion\Uninstall' /s 2>/dev/null | grep -q 'DisplayName *REG_SZ *Inbox Sync'
}
wine msiexec /i "$(winepath -w "$msi")" /qn
for f in inboxsync.exe inboxsync-window.exe; do
  [ -f "$installed/$f" ] || { echo "the MSI did not install $installed/$f" >&2; exit 1; }
done
[ -f "$lnk" ] || { echo "the MSI made no Start-menu shortcut ($lnk)" >&2; exit 1; }
uninstall_entry || { echo "the MSI made no uninstall entry (DisplayName Inbox Sync)" >&2; exit 1; }
version=$(wine "$installed/inboxsync.exe" version --json) || { echo "the installed inboxsync.exe does not run" >&2; exit 1; }
grep -q '"version"' <<<"$version" || { echo "the installed inboxsync.exe version printed: $version" >&2; exit 1; }
echo "   installed: $installed (inboxsync.exe, inboxsync-window.exe), Start menu: Inbox Sync.lnk, uninstall entry; installed version: $(tr -d '\n ' <<<"$version")" >&2
wine msiexec /x "$(winepath -w "$msi")" /qn
[ ! -e "$installed/inboxsync.exe" ] && [ ! -e "$lnk" ] || { echo "msiexec /x left files behind" >&2; exit 1; }
uninstall_entry && { echo "msiexec /x left the uninstall entry" >&2; exit 1; }
echo "   uninstalled: no file, shortcut or uninstall entry left" >&2

step ""
printf '== wine: all steps passed in %ds; window captures: %s/windows-*.png\n' $((SECONDS - total_start)) "$INBOXSYNC_SHOTS" >&2
