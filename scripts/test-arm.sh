#!/usr/bin/env bash
# The test suites under QEMU user-mode emulation, in Debian bookworm chroots (npm run test:arm).
#
#   scripts/test-arm.sh [arm64|armv7|all]...    default: all (arm64 full, armv7 full)
#
# Expects the host build (npm run test:arm runs build.sh first): the TypeScript is compiled
# on the host and only the compiled JS runs in the chroot, with the target's own
# node_modules (scripts/target.sh modules: npm + native addons built in that chroot), the
# same wasm module, the openssl fixtures made on the host, and the key-store simulators
# (swtpm, tpm2-abrmd, tpm2-pkcs11, SoftHSM2) from the chroot's Debian packages. Each suite
# file runs through the project's own test/run.sh inside the chroot.
#
# Environment:
#   CERTD_ARM_SUITES_armv7 / CERTD_ARM_SUITES_arm64
#       space-separated suite files (paths under dist/test, e.g. "core/keys.test.js") to run
#       instead of every suite on that arch; empty or unset: all of them
#   CERTD_TEST_TIME_SCALE   how much longer the tests' own time limits are (default: 6 on
#                           arm64, 10 on armv7)
#   CERTD_CHROOT_CACHE      where the rootfs tarballs are kept (scripts/chroot.sh)
#
# Prints how long each part took and ends with one line "arm: N passed, N failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
CHROOT="bash $ROOT/scripts/chroot.sh"

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
say() { echo "test-arm: $*"; }

[ "$(id -u)" = 0 ] || { echo "test-arm: must run as root (chroots, mounts)" >&2; exit 1; }
[ -d dist/test ] && [ -f build/wasm/certd-core.wasm ] || { echo "test-arm: run ./build.sh first" >&2; exit 1; }

arches=()
for a in "${@:-all}"; do
  case "$a" in
    all) arches+=(arm64 armv7) ;;
    arm64|linux-arm64) arches+=(arm64) ;;
    armv7|armhf|linux-armv7) arches+=(armv7) ;;
    *) echo "test-arm: unknown arch '$a' (arm64, armv7, all)" >&2; exit 2 ;;
  esac
done

T_ALL=$(now)
t=$(now)
bash test/fixtures/make.sh || exit 1
say "fixtures (host openssl) $(since "$t") s"

total_p=0 total_f=0 summary=()
for arch in "${arches[@]}"; do
  case "$arch" in arm64) deb=arm64 target=linux-arm64 scale_default=6 ;; armv7) deb=armhf target=linux-armv7 scale_default=10 ;; esac
  t_arch=$(now)
  echo "==== $arch ($target) ===="
  t=$(now)
  rootfs=$($CHROOT ensure "$deb") || { summary+=("$arch: chroot failed"); total_f=$((total_f + 1)); continue; }
  t_chroot=$(since "$t")
  say "$arch: chroot ready in $t_chroot s"
  t=$(now)
  mods=$(bash scripts/target.sh modules "$target") || { summary+=("$arch: node_modules failed"); total_f=$((total_f + 1)); continue; }
  t_mods=$(since "$t")
  say "$arch: node_modules ready in $t_mods s"

  # the staged project: compiled JS, the wasm module, the test runner, fixtures, simulators
  t=$(now)
  stage=$ROOT/build/arm/$arch
  rm -rf "$stage"; mkdir -p "$stage/build" "$stage/test/fixtures" "$stage/scripts" "$stage/node_modules"
  cp -a dist "$stage/"
  cp -a build/wasm "$stage/build/"
  cp -a package.json "$stage/"
  cp -a test/run.sh "$stage/test/"
  cp -a test/fixtures/make.sh test/fixtures/parts test/fixtures/out "$stage/test/fixtures/"
  cp -a scripts/simulators.sh scripts/packages.sh scripts/firmware "$stage/scripts/"
  var=CERTD_ARM_SUITES_$arch
  suites=$(echo ${!var:-})   # one line, whatever the spacing
  if [ -n "$suites" ]; then  # a named subset: the other suite files are not staged
    keep=$(mktemp)
    for s in $suites; do
      [ -f "dist/test/$s" ] || { echo "test-arm: no suite dist/test/$s" >&2; exit 2; }
      echo "$stage/dist/test/$s" >>"$keep"
    done
    find "$stage/dist/test" -name '*.test.js' | grep -vxF -f "$keep" | xargs -r rm -f
    rm -f "$keep"
    say "$arch: subset: $suites"
  fi
  # qemu-user cannot load seccomp filters, and swtpm installs one by default
  if [ ! -e "$rootfs/usr/bin/swtpm.distrib" ]; then
    mv "$rootfs/usr/bin/swtpm" "$rootfs/usr/bin/swtpm.distrib"
    printf '#!/bin/sh\n# certd test-arm.sh: no seccomp under qemu-user\nexec /usr/bin/swtpm.distrib "$@" --seccomp action=none\n' >"$rootfs/usr/bin/swtpm"
    chmod 755 "$rootfs/usr/bin/swtpm"
  fi
  say "$arch: staged in $(since "$t") s"

  scale=${CERTD_TEST_TIME_SCALE:-$scale_default}
  log=$ROOT/build/arm/$arch.log
  t=$(now)
  $CHROOT run "$deb" --bind "$stage:/opt/certd" --bind "$mods/node_modules:/opt/certd/node_modules" -- \
    /usr/bin/env CERTD_TEST_TIME_SCALE="$scale" SIM_TIMEOUT=$((30 * scale / 2)) \
    /bin/bash -c 'cd /opt/certd && echo "node $(node --version) $(node -p process.arch), $(uname -m) under QEMU; time scale $CERTD_TEST_TIME_SCALE" && bash test/run.sh' 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  t_tests=$(since "$t")
  line=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -1)
  p=$(echo "$line" | awk '{print $1}') f=$(echo "$line" | awk '{print $3}')
  p=${p:-0} f=${f:-0}
  [ "$rc" = 0 ] || [ "$f" != 0 ] || f=1   # the runner failed without a count
  total_p=$((total_p + p)) total_f=$((total_f + f))
  summary+=("$arch: ${p} passed, ${f} failed; chroot $t_chroot s, node_modules $t_mods s, tests $t_tests s, all $(since "$t_arch") s${suites:+ (subset: $suites)}")
done

echo "==== ARM summary ===="
for s in "${summary[@]}"; do echo "  $s"; done
echo "  total $(since "$T_ALL") s"
echo "arm: $total_p passed, $total_f failed"
[ "$total_f" = 0 ] && [ "$total_p" -gt 0 ]
