#!/usr/bin/env bash
# The one build entry of certd: checks (and, as root, installs) the tools, fetches and
# verifies the pinned mbedTLS source, builds the crypto core to its WASI module (and the
# native library the benchmark compares it with), installs npm packages and runs tsc.
# Incremental: with nothing changed it only checks and returns.
#
#   ./build.sh            build for this machine
#   ./build.sh --native   also build the native core library (used by npm run bench)
#   ./build.sh --target linux-arm64|linux-armv7
#                         then the firmware install tree build/target/TARGET/ and its tarball
#                         (scripts/target.sh; needs root: it works in a Debian chroot under QEMU)
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
NATIVE=0
TARGETS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --native) NATIVE=1 ;;
    --target) [ $# -ge 2 ] || { echo "build.sh: --target needs linux-arm64 or linux-armv7" >&2; exit 2; }
              TARGETS+=("$2"); shift ;;
    --target=*) TARGETS+=("${1#--target=}") ;;
    *) echo "build.sh: unknown argument '$1' (known: --native, --target TARGET)" >&2; exit 2 ;;
  esac
  shift
done
for t in ${TARGETS[@]+"${TARGETS[@]}"}; do
  case "$t" in linux-arm64|linux-armv7) ;; *) echo "build.sh: unknown target '$t' (linux-arm64, linux-armv7)" >&2; exit 2 ;; esac
done

say() { printf 'build: %s\n' "$*" >&2; }

# One build at a time in this tree (parallel test runs and benchmarks share build/).
mkdir -p build
exec 9>build/.lock
flock 9

# --- tools ---------------------------------------------------------------------------
# command -> Debian package that provides it (curl and python3 with requests: the
# authentication interop tests, test/certd/auth-compat.test.ts)
declare -A TOOL_PKG=(
  [emcc]=emscripten [openssl]=openssl [gcc]=gcc [make]=make [ar]=binutils
  [bzip2]=bzip2 [sha256sum]=coreutils [node]=nodejs [npm]=npm [curl]=curl [python3]=python3
)
missing=()
for tool in "${!TOOL_PKG[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${TOOL_PKG[$tool]}")
done
python3 -c 'import requests' >/dev/null 2>&1 || missing+=(python3-requests)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing ${missing[*]} from Debian"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
  else
    echo "build.sh: missing tools; as root run: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

# --- mbedTLS source -------------------------------------------------------------------
# shellcheck source=crypto-core/mbedtls.pin
. crypto-core/mbedtls.pin
CACHE=$ROOT/.cache/mbedtls
TARBALL=$CACHE/mbedtls_${MBEDTLS_VERSION}.orig.tar.bz2
MBEDTLS_SRC=$ROOT/build/mbedtls-${MBEDTLS_VERSION}

fetch_mbedtls() {
  # apt-get source through a private sources file and lists folder: the machine's own
  # apt configuration is left as it was.
  local tmp
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  mkdir -p "$tmp/lists/partial" "$tmp/dl"
  cat >"$tmp/src.sources" <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: ${MBEDTLS_DEB_SUITE}
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  local opts=(-q -o "Dir::Etc::sourcelist=$tmp/src.sources" -o Dir::Etc::sourceparts=-
              -o "Dir::State::Lists=$tmp/lists" -o APT::Sandbox::User=root)
  say "fetching mbedTLS ${MBEDTLS_VERSION} from Debian ${MBEDTLS_DEB_SUITE} sources"
  apt-get "${opts[@]}" update >/dev/null
  (cd "$tmp/dl" && apt-get "${opts[@]}" source --download-only mbedtls >/dev/null 2>&1)
  local got=$tmp/dl/mbedtls_${MBEDTLS_VERSION}.orig.tar.bz2
  if [ ! -f "$got" ]; then
    echo "build.sh: Debian ${MBEDTLS_DEB_SUITE} no longer serves mbedtls ${MBEDTLS_VERSION}; found: $(ls "$tmp/dl")" >&2
    exit 1
  fi
  mkdir -p "$CACHE"
  mv "$got" "$TARBALL.part" && mv "$TARBALL.part" "$TARBALL"
}

[ -f "$TARBALL" ] || fetch_mbedtls
echo "${MBEDTLS_ORIG_SHA256}  ${TARBALL}" | sha256sum -c --quiet - >/dev/null 2>&1 || {
  echo "build.sh: $TARBALL does not match the pinned sha256 in crypto-core/mbedtls.pin; refusing it" >&2
  exit 1
}
if [ ! -f "$MBEDTLS_SRC/.verified" ]; then
  rm -rf "$MBEDTLS_SRC"
  mkdir -p build
  tar -xjf "$TARBALL" -C build
  touch "$MBEDTLS_SRC/.verified"
fi

# --- crypto core ------------------------------------------------------------------------
JOBS=$(nproc 2>/dev/null || echo 2)
# The module exports every cc_ function its headers declare, and nothing else.
EXPORTS=$(grep -ho '\bcc_[a-z0-9_]*(' crypto-core/include/*.h | tr -d '(' | sort -u | sed 's/^/_/' | paste -sd, -)
make -s -j"$JOBS" -f crypto-core/core.mk MBEDTLS="$MBEDTLS_SRC" OUT=build/wasm KIND=wasm EXPORTS="$EXPORTS"
if [ "$NATIVE" = 1 ]; then
  make -s -j"$JOBS" -f crypto-core/core.mk MBEDTLS="$MBEDTLS_SRC" OUT=build/native KIND=native
fi

# --- npm packages and TypeScript ----------------------------------------------------------
if [ ! -d node_modules ] || [ package.json -nt node_modules/.package-lock.json ] \
   || { [ -f package-lock.json ] && [ package-lock.json -nt node_modules/.package-lock.json ]; }; then
  say "installing npm packages"
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund >/dev/null; else npm install --no-audit --no-fund >/dev/null; fi
fi
npx --no-install tsc -p tsconfig.json
# The certificates page's static files go beside the compiled API modules (api/ui-page.ts).
mkdir -p dist/src/certd/ui && cp src/certd/ui/index.html src/certd/ui/app.js src/certd/ui/app.css dist/src/certd/ui/
# Request schemas become validator code now, not at every start of certd.
node dist/src/common/compile-schemas.js
say "ready: build/wasm/certd-core.wasm, dist/"

# --- firmware install trees (scripts/target.sh) ---------------------------------------------
# The lock is let go first: a target takes minutes, mostly in its chroot; target.sh takes it
# again only while it copies dist/ and the wasm module.
[ ${#TARGETS[@]} -eq 0 ] || exec 9>&-
for t in ${TARGETS[@]+"${TARGETS[@]}"}; do
  bash scripts/target.sh tree "$t"
done
