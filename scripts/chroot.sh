#!/usr/bin/env bash
# Debian bookworm chroots for the ARM targets, run under QEMU user-mode emulation.
#
#   scripts/chroot.sh ensure ARCH          make (or restore from the cached tarball) the rootfs;
#                                          prints its path on stdout
#   scripts/chroot.sh run ARCH [--bind HOST:GUEST]... [--] CMD...
#                                          run CMD in the chroot (ensures it first)
#   scripts/chroot.sh clean ARCH           remove the unpacked rootfs (keeps the tarball)
#
# ARCH: arm64 | armhf (also accepted: linux-arm64, linux-armv7, armv7).
#
# As root. Needs Debian's qemu-user-static and debootstrap (installed when missing) and
# binfmt_misc, which is mounted and registered from /usr/lib/binfmt.d/ when it is not.
# The rootfs (minbase + Node 18 + the tool chain node-gyp needs + libzmq3-dev + the
# key-store simulators + npm 10 from the npm registry) lives in
# .cache/chroot/ARCH/root; a tarball of it, .cache/chroot/bookworm-ARCH-KEY.tar.zst, is made
# once and restored in seconds afterwards. KEY is a hash of everything below that shapes the
# rootfs, so a change of the package list makes a new one. CERTD_CHROOT_CACHE moves the
# cache folder (e.g. to keep it across fresh clones).
#
# `run` enters private mount and PID namespaces (unshare): /proc, /dev, /sys, /tmp and the
# binds exist only for that run, nothing stays mounted on the host, and every process the
# command leaves behind is killed when it ends.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${CERTD_CHROOT_CACHE:-$ROOT/.cache/chroot}
SUITE=bookworm
MIRROR=http://deb.debian.org/debian
SECURITY=http://deb.debian.org/debian-security
NPM_VERSION=10.9.2
# What the chroot holds beside minbase: Node and headers for node-gyp, the build tools,
# Debian's libzmq for the armv7 zeromq addon, openssl (the tests' oracle), the simulators,
# and the web server with its token engine (the tree's check runs `nginx -t` on its site;
# the nginx suites run here).
PKGS=(nodejs libnode-dev g++ make python3 libzmq3-dev pkg-config openssl ca-certificates curl
      swtpm swtpm-tools tpm2-abrmd libtss2-tcti-tabrmd0 libtpm2-pkcs11-1 libtpm2-pkcs11-tools
      tpm2-tools softhsm2 dbus procps nginx p11-kit libengine-pkcs11-openssl)
REV=1   # bump to force new rootfs tarballs

say() { echo "chroot: $*" >&2; }
die() { echo "chroot: error: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

arch_of() {
  case "$1" in
    arm64|aarch64|linux-arm64) echo arm64 ;;
    armhf|armv7|arm|linux-armv7) echo armhf ;;
    *) die "unknown ARCH '$1' (arm64 | armhf)" ;;
  esac
}
qemu_of() { case "$1" in arm64) echo aarch64 ;; armhf) echo arm ;; esac; }

need_root() { [ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot, mounts)"; }

host_tools() {
  local missing=()
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  [ -e /usr/libexec/qemu-binfmt/aarch64-binfmt-P ] || missing+=(qemu-user-static)
  command -v zstd >/dev/null || missing+=(zstd)
  command -v unshare >/dev/null || missing+=(util-linux)
  [ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || missing+=(debian-archive-keyring)
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]} from Debian"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

binfmt() { # ARCH: make sure the kernel runs that arch's binaries through qemu
  local q; q=$(qemu_of "$1")
  local bm=/proc/sys/fs/binfmt_misc
  [ -e "$bm/register" ] || mount binfmt_misc -t binfmt_misc "$bm" || die "cannot mount binfmt_misc"
  [ "$(cat "$bm/status")" = enabled ] || echo 1 >"$bm/status"
  if [ ! -e "$bm/qemu-$q" ]; then
    local conf=/usr/lib/binfmt.d/qemu-$q.conf
    [ -f "$conf" ] || die "no $conf (qemu-user-static)"
    # the F flag opens the interpreter now: it need not exist inside the chroot
    tr -d '\n' <"$conf" >"$bm/register" || die "cannot register qemu-$q with binfmt_misc"
  fi
  grep -q '^enabled' "$bm/qemu-$q" || echo 1 >"$bm/qemu-$q"
}

key_of() { # ARCH
  { printf '%s\n' "$1" "$SUITE" "$MIRROR" "$NPM_VERSION" "$REV" "${PKGS[@]}"; } | sha256sum | cut -c1-12
}

# Enter the chroot: private mount + PID namespaces; binds given as HOST:GUEST.
enter() { # rootfs binds-string cmd...
  local rootfs=$1 binds=$2; shift 2
  cp /etc/resolv.conf "$rootfs/etc/resolv.conf" 2>/dev/null || true
  # npm in the chroot reaches the registry as the host's npm does: same registry, the
  # host's CA bundle (bound read-only; it may hold a local TLS proxy's CA), same proxies
  local ca=/etc/ssl/certs/ca-certificates.crt extra=()
  if [ -f "$ca" ]; then
    binds="$ca:/etc/ssl/certs/host-ca-certificates.crt;$binds"
    extra+=(npm_config_cafile=/etc/ssl/certs/host-ca-certificates.crt NODE_EXTRA_CA_CERTS=/etc/ssl/certs/host-ca-certificates.crt)
  fi
  extra+=(npm_config_update_notifier=false)
  local reg; reg=$(npm config get registry 2>/dev/null || true)
  [ -z "$reg" ] || extra+=("npm_config_registry=$reg")
  local v
  for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
    [ -z "${!v:-}" ] || extra+=("$v=${!v}")
  done
  # shellcheck disable=SC2016
  unshare --mount --pid --fork --propagation private -- bash -c '
    set -e
    r=$1 binds=$2; shift 2
    mount -t proc proc "$r/proc"
    mount --rbind /dev "$r/dev"
    mount -t sysfs sysfs "$r/sys" 2>/dev/null || mount --rbind /sys "$r/sys"
    mount -t tmpfs -o mode=1777 tmpfs "$r/tmp"
    mkdir -p "$r/run"; mount -t tmpfs -o mode=755 tmpfs "$r/run"
    mkdir -p "$r/dev/shm"; mount -t tmpfs -o mode=1777 tmpfs "$r/dev/shm" 2>/dev/null || true
    IFS=";"
    for b in $binds; do
      [ -n "$b" ] || continue
      src=${b%%:*} dst=${b#*:}
      if [ -d "$src" ]; then mkdir -p "$r$dst"; else mkdir -p "$(dirname "$r$dst")"; [ -e "$r$dst" ] || : >"$r$dst"; fi
      mount --bind "$src" "$r$dst"
    done
    unset IFS
    exec chroot "$r" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      LANG=C.UTF-8 TERM=dumb CI="${CI:-}" "$@"
  ' chroot-enter "$rootfs" "$binds" ${extra[@]+"${extra[@]}"} "$@"
}

make_rootfs() { # ARCH dir tarball
  local arch=$1 dir=$2 tarball=$3 t0 t1
  t0=$(now)
  local tmp=$dir.new
  rm -rf --one-file-system "$tmp"
  mkdir -p "$tmp"
  say "debootstrap $SUITE $arch (minbase) into $tmp"
  debootstrap --arch="$arch" --variant=minbase --include=ca-certificates \
    --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
    "$SUITE" "$tmp" "$MIRROR" >"$CACHE/debootstrap-$arch.log" 2>&1 ||
    { tail -20 "$CACHE/debootstrap-$arch.log" >&2; die "debootstrap failed (log: $CACHE/debootstrap-$arch.log)"; }
  say "debootstrap took $(since "$t0") s"
  t1=$(now)
  cat >"$tmp/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY $SUITE-security main
EOF
  # no docs or man pages: smaller tarball, faster dpkg under emulation
  cat >"$tmp/etc/dpkg/dpkg.cfg.d/01-nodoc" <<'EOF'
path-exclude /usr/share/doc/*
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$tmp/etc/apt/apt.conf.d/01-norecommends"
  # apt-get update, again when a mirror is mid-sync; if only the security suite stays broken
  # (seen: a stale Packages.xz of bookworm-security/armhf), go on without it and say so
  cat >"$tmp/usr/local/sbin/certd-apt-update" <<'EOF'
#!/bin/sh
log=/var/log/certd-apt-update.log
for i in 1 2 3; do
  apt-get -q update >$log 2>&1 && ! grep -q '^E:' $log && exit 0
  echo "chroot: apt-get update failed (mirror sync?); again in 20 s" >&2; sleep 20
done
if grep '^E:' $log | grep -qv -e debian-security -e 'Some index files failed'; then cat $log >&2; exit 1; fi
echo "chroot: WARNING: bookworm-security does not download from this mirror; going on without it" >&2
sed -i '/debian-security/s/^/# broken at build time: /' /etc/apt/sources.list
apt-get -q update >$log 2>&1 && ! grep -q '^E:' $log || { cat $log >&2; exit 1; }
EOF
  chmod 755 "$tmp/usr/local/sbin/certd-apt-update"
  enter "$tmp" "" /bin/sh -c "certd-apt-update && DEBIAN_FRONTEND=noninteractive apt-get -q -y install ${PKGS[*]} >/var/log/certd-apt.log 2>&1 || { tail -30 /var/log/certd-apt.log; exit 1; }; apt-get clean; rm -rf /var/lib/apt/lists/*" ||
    die "apt-get install in the $arch chroot failed"
  say "packages took $(since "$t1") s"
  # npm 10 from the npm registry, unpacked by the host's npm (Debian's npm is 400+ packages)
  t1=$(now)
  local npmtgz=$CACHE/npm-$NPM_VERSION.tgz
  if [ ! -f "$npmtgz" ]; then
    (cd "$CACHE" && npm pack --silent "npm@$NPM_VERSION" >/dev/null) || die "cannot fetch npm@$NPM_VERSION"
  fi
  mkdir -p "$tmp/usr/local/lib/node_modules/npm" "$tmp/usr/local/bin"
  tar -xzf "$npmtgz" -C "$tmp/usr/local/lib/node_modules/npm" --strip-components=1
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$tmp/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$tmp/usr/local/bin/npx"
  enter "$tmp" "" /bin/sh -c 'node --version >/etc/certd-node-version && npm --version >/etc/certd-npm-version' ||
    die "node/npm do not start in the $arch chroot"
  say "node $(cat "$tmp/etc/certd-node-version"), npm $(cat "$tmp/etc/certd-npm-version") ($(since "$t1") s)"
  t1=$(now)
  tar -C "$tmp" --numeric-owner -cf - . | zstd -q -T0 -3 -o "$tarball.part"
  mv "$tarball.part" "$tarball"
  say "cached $(du -h "$tarball" | cut -f1) $tarball ($(since "$t1") s)"
  rm -rf --one-file-system "$dir"
  mv "$tmp" "$dir"
  say "rootfs $arch made in $(since "$t0") s"
}

cmd_ensure() { # ARCH -> prints the rootfs path
  local arch; arch=$(arch_of "$1")
  need_root
  host_tools
  binfmt "$arch"
  mkdir -p "$CACHE"
  exec 8>"$CACHE/$arch.lock"
  flock 8
  local key; key=$(key_of "$arch")
  local dir=$CACHE/$arch tarball=$CACHE/bookworm-$arch-$key.tar.zst
  local rootfs=$dir/root
  if [ -f "$rootfs/.certd-chroot-key" ] && [ "$(cat "$rootfs/.certd-chroot-key")" = "$key" ]; then
    echo "$rootfs"; return 0
  fi
  local t0; t0=$(now)
  rm -rf --one-file-system "$rootfs"
  mkdir -p "$dir"
  if [ -f "$tarball" ]; then
    mkdir -p "$rootfs.new"
    zstd -q -d -c "$tarball" | tar -C "$rootfs.new" --numeric-owner -xf -
    mv "$rootfs.new" "$rootfs"
    say "rootfs $arch restored from $(basename "$tarball") in $(since "$t0") s"
  else
    make_rootfs "$arch" "$rootfs" "$tarball"
  fi
  echo "$key" >"$rootfs/.certd-chroot-key"
  # older tarballs of this arch are dead weight
  find "$CACHE" -maxdepth 1 -name "bookworm-$arch-*.tar.zst" ! -name "$(basename "$tarball")" -delete
  echo "$rootfs"
}

cmd_run() { # ARCH [--bind H:G]... [--] CMD...
  local arch; arch=$(arch_of "$1"); shift
  local binds=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --bind) binds+="$2;"; shift 2 ;;
      --) shift; break ;;
      *) break ;;
    esac
  done
  [ $# -gt 0 ] || die "run: no command"
  local rootfs; rootfs=$(cmd_ensure "$arch")
  exec 8>&-
  enter "$rootfs" "$binds" "$@"
}

cmd_clean() {
  local arch; arch=$(arch_of "$1")
  need_root
  rm -rf --one-file-system "$CACHE/$arch"
  say "removed $CACHE/$arch (tarballs kept)"
}

case "${1:-}" in
  ensure) [ $# -eq 2 ] || die "usage: ensure ARCH"; cmd_ensure "$2" ;;
  run) [ $# -ge 3 ] || die "usage: run ARCH [--bind HOST:GUEST]... [--] CMD..."; shift; cmd_run "$@" ;;
  clean) [ $# -eq 2 ] || die "usage: clean ARCH"; cmd_clean "$2" ;;
  *) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
