#!/usr/bin/env bash
# Installs the Debian packages named on the command line that are not installed yet.
# Every script that needs a Debian tool (simulators, nginx, hostapd, pebble, chromium…)
# calls this, so a fresh Debian machine gets them from `npm test` / `npm start` alone.
# As root: apt-get update + install (waits up to 5 min for another apt to finish).
# Otherwise: prints the apt-get line to run and exits 1.
# Usage: scripts/packages.sh PKG...
set -euo pipefail
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
line="apt-get update && apt-get install -y -q --no-install-recommends ${missing[*]}"
if [ "$(id -u)" != 0 ]; then
  echo "packages: missing Debian packages: ${missing[*]}; as root run:" >&2
  echo "  $line" >&2
  exit 1
fi
echo "packages: installing missing Debian packages: ${missing[*]}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -q &&
       DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q \
         --no-install-recommends "${missing[@]}"; } </dev/null >"$log" 2>&1; then
  echo "---- last lines of the apt-get log:" >&2; tail -n 20 "$log" >&2
  echo "packages: error: could not install: ${missing[*]} (tried: $line)" >&2
  exit 1
fi
