#!/usr/bin/env bash
# Installs the Debian packages Inbox Sync needs for a purpose ("run",
# "test", "package": scripts/package.sh, which also cross-compiles for
# Windows, or "wine": scripts/test-windows.sh) when they are missing. As root it installs them; otherwise it
# prints the exact apt command and fails.
set -euo pipefail
purpose=${1:-test}
pkgs=(gcc pkg-config libgl1-mesa-dev xorg-dev dbus dbus-x11 gnome-keyring)
case "$purpose" in
  run) ;;
  test) pkgs+=(procps xvfb xdotool imagemagick x11-utils postgresql chromium) ;;
  package) pkgs+=(git make tar xz-utils file binutils gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64 desktop-file-utils zip unzip wixl msitools) ;;
  wine) pkgs+=(wine wine64 xvfb xdotool imagemagick gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64) ;;
  *) echo "usage: $0 run|test|package|wine" >&2; exit 2 ;;
esac
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing ${missing[*]} …" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "Missing Debian packages. Install them with:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
if ! command -v go >/dev/null; then
  echo "Go is not installed: install Go 1.26 or newer from https://go.dev/dl/ and put it on PATH." >&2
  exit 1
fi
go mod download
