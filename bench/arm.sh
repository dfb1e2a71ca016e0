#!/usr/bin/env bash
# The ARM benchmark (npm run bench:arm): dist/bench/arm-probe.js on this host, then the same
# compiled probe in the arm64 and armv7 Debian chroots under QEMU user-mode emulation
# (scripts/chroot.sh), with each target's own node_modules (scripts/target.sh modules).
# Prints a table of the wasm core's keygen/sign, keystored/certd start-up and idle RSS per
# column, with the ratio of each ARM column to the host, and writes
# bench/results/arm-<UTC time>.json.
#
#   bench/arm.sh [arm64|armv7|all]... [--quick]     default: all
#
# As root (chroots, mounts). Expects the host build (npm run bench:arm runs build.sh first).
# The probes' JSON and the staged trees stay in build/bench-arm/.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
say() { echo "bench-arm: $*" >&2; }

[ "$(id -u)" = 0 ] || { say "must run as root (chroots, mounts)"; exit 1; }
[ -f dist/bench/arm-probe.js ] && [ -f build/wasm/certd-core.wasm ] || { say "run ./build.sh first"; exit 1; }

arches=() probe_args=()
for a in "$@"; do
  case "$a" in
    --quick) probe_args+=(--quick) ;;
    all) arches+=(arm64 armv7) ;;
    arm64|linux-arm64) arches+=(arm64) ;;
    armv7|armhf|linux-armv7) arches+=(armv7) ;;
    *) say "unknown argument '$a' (arm64, armv7, all, --quick)"; exit 2 ;;
  esac
done
[ ${#arches[@]} -gt 0 ] || arches=(arm64 armv7)

started=$(date +%s)
out=$ROOT/build/bench-arm
mkdir -p "$out"
took=() columns=() failed=()
part() { # LABEL START: note how long a part took
  local s; s=$(since "$2")
  took+=(--took "$1=$s")
  say "$1: $s s"
}

t=$(now)
say "host probe ($(uname -m), node $(node --version))"
node dist/bench/arm-probe.js ${probe_args[@]+"${probe_args[@]}"} >"$out/host.json" || { say "the host probe failed"; exit 1; }
part "host probe" "$t"
columns+=("$(uname -m | tr _ -) host=$out/host.json")

for arch in "${arches[@]}"; do
  case "$arch" in arm64) deb=arm64 target=linux-arm64 ;; armv7) deb=armhf target=linux-armv7 ;; esac
  t=$(now)
  mods=$(bash scripts/target.sh modules "$target") || { failed+=("$arch: node_modules"); continue; }
  part "$arch chroot + node_modules" "$t"
  # what the probe loads: the compiled JS, the wasm module, package.json; node_modules are
  # the target's own, bound over the empty folder
  t=$(now)
  stage=$out/$arch
  rm -rf "$stage"; mkdir -p "$stage/build" "$stage/node_modules"
  cp -a dist "$stage/"
  cp -a build/wasm "$stage/build/"
  cp -a package.json "$stage/"
  part "$arch staging" "$t"
  t=$(now)
  say "$arch probe under QEMU"
  bash scripts/chroot.sh run "$deb" --bind "$stage:/opt/certd" --bind "$mods/node_modules:/opt/certd/node_modules" -- \
    node /opt/certd/dist/bench/arm-probe.js ${probe_args[@]+"${probe_args[@]}"} >"$out/$arch.json" ||
    { failed+=("$arch: probe"); continue; }
  part "$arch probe" "$t"
  columns+=("$arch QEMU=$out/$arch.json")
done

if [ ${#columns[@]} -gt 1 ]; then
  node dist/bench/arm-probe.js --report --started "$started" "${took[@]}" "${columns[@]}" || failed+=("report")
fi
for f in ${failed[@]+"${failed[@]}"}; do say "FAILED: $f"; done
[ ${#failed[@]} -eq 0 ]
