#!/usr/bin/env bash
# Makes sure the system tools the tests need are present. On Debian as root it installs what is
# missing; elsewhere it stops with one line that says what to install.
# Usage: scripts/require-tools.sh chromium [ffmpeg ...]
set -euo pipefail

declare -A BIN=([chromium]=chromium [ffmpeg]=ffmpeg [wrk]=wrk [nginx]=nginx)
declare -A PKG=([chromium]=chromium [ffmpeg]=ffmpeg [wrk]=wrk [nginx]=nginx-light)

missing=()
for tool in "$@"; do
  command -v "${BIN[$tool]:-$tool}" >/dev/null 2>&1 || missing+=("$tool")
done
[ ${#missing[@]} -eq 0 ] && exit 0

pkgs=()
for tool in "${missing[@]}"; do pkgs+=("${PKG[$tool]:-$tool}"); done

if [ -f /etc/debian_version ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing ${pkgs[*]} (Debian packages) for the tests..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  exit 0
fi
echo "The tests need ${missing[*]}: install ${pkgs[*]} with your system's package manager (Debian: sudo apt-get install ${pkgs[*]})." >&2
exit 1
