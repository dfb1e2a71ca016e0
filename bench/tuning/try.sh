#!/usr/bin/env bash
# Builds one tuning variant of the core, wasm and native, under build/try/<name>/:
#   bench/tuning/try.sh NAME 'SHARED_CFLAGS' 'WASM_CFLAGS' 'WASM_LDFLAGS' [OPT_LEVEL] [WASM_OPT_ARGS]
# SHARED_CFLAGS (e.g. config defines) go to both builds, so that the ratio compares like with like.
set -euo pipefail
cd "$(dirname "$0")/../.."
name=$1 shared=${2:-} wcflags=${3:-} wldflags=${4:-} opt=${5:--O3} wasmopt=${6:-}
. crypto-core/mbedtls.pin
M=build/mbedtls-${MBEDTLS_VERSION}
EXPORTS=$(grep -ho '\bcc_[a-z0-9_]*(' crypto-core/include/*.h | tr -d '(' | sort -u | sed 's/^/_/' | paste -sd, -)
out=build/try/$name
make -s -j2 -f bench/tuning/variant.mk MBEDTLS=$M OUT=$out/wasm KIND=wasm EXPORTS="$EXPORTS" \
  EXTRA_CFLAGS="$shared $wcflags" EXTRA_LDFLAGS="$wldflags" OPT_LEVEL="$opt" 2>&1 | grep -v 'warning\|^ *[0-9]* |\|^ *|\|note:\|generated' || true
make -s -j2 -f bench/tuning/variant.mk MBEDTLS=$M OUT=$out/native KIND=native \
  EXTRA_CFLAGS="$shared" OPT_LEVEL=-O3 2>&1 | grep -v 'warning' || true
if [ -n "$wasmopt" ]; then
  wasm-opt $wasmopt "$out/wasm/certd-core.wasm" -o "$out/wasm/certd-core.opt.wasm"
  mv "$out/wasm/certd-core.opt.wasm" "$out/wasm/certd-core.wasm"
fi
ls -la "$out/wasm/certd-core.wasm" "$out/native/libcertd-core.a"
# The native driver against this variant's library.
gcc -O2 -std=c99 -Icrypto-core/include -Ibuild/bench \
  -DBENCH_HAVE_CSR=$([ -f crypto-core/include/cc_x509write.h ] && echo 1 || echo 0) \
  -DBENCH_HAVE_P12=$([ -f crypto-core/include/cc_pkcs12.h ] && echo 1 || echo 0) \
  bench/native/core_bench.c "$out/native/libcertd-core.a" -o "$out/core_bench"
