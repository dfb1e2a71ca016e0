#!/usr/bin/env bash
# The firmware install tree of certd for an ARM target; build.sh --target TARGET calls it
# after the host build (so dist/ and build/wasm/ are current).
#
#   scripts/target.sh tree TARGET      build/target/TARGET/ + build/target/certd-VERSION-TARGET.tar.gz
#   scripts/target.sh modules TARGET   only the target's node_modules (with dev packages, for
#                                      the QEMU test runs); prints the folder
#
# TARGET: linux-arm64 | linux-armv7. As root (the target's Debian chroot, scripts/chroot.sh).
#
# node_modules are installed by npm inside the target's chroot from package-lock.json
# (--ignore-scripts: no install script may download anything), then every native addon is
# built there: pkcs11js with node-gyp against Debian's Node headers (libnode-dev); zeromq
# keeps its bundled arm64 binary, and for armv7, where it ships none, its addon is compiled
# from the package's own sources against Debian's libzmq. The result is cached per
# lock file in .cache/target/ARCH-KEY/, so a second build needs neither npm nor a compiler.
#
# The tree is an overlay of the image's root file system:
#   usr/lib/certd/            package.json, dist/ (src, ipc, wasm; no tests or benchmarks),
#                             build/wasm/certd-core.wasm, node_modules/ (production only),
#                             BUILDINFO
#   usr/lib/certd/nginx-check the check certd-nginx.service runs before it starts or reloads
#   usr/lib/systemd/system/   keystored.service, certd.service, certd-nginx.service,
#                             certd-supplicant@.service, certd-p11-kit@.service (+ TPM0 drop-in)
#   usr/lib/sysusers.d/       certd.conf (users keystored and certd, groups certd-ipc for the
#                             socket and certd-dot1x for the supplicant's control socket)
#   usr/lib/tmpfiles.d/       certd.conf (/var/lib/certd-nginx, /var/lib/certd-dot1x)
#   usr/share/polkit-1/rules.d/50-certd.rules  certd may start/reload/restart those two, nothing else
#   etc/certd/                keystored.json (default: SOFTWARE0 alone), certd.json (https on),
#                             nginx/nginx.conf (the site), nginx/openssl.cnf (the token engine),
#                             p11-kit/*.example (token keys for nginx, off by default)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
REV=1   # bump to rebuild cached node_modules
CHROOT="bash $ROOT/scripts/chroot.sh"

say() { echo "target: $*" >&2; }
die() { echo "target: error: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

target_arch() { # TARGET -> Debian arch
  case "$1" in
    linux-arm64) echo arm64 ;;
    linux-armv7) echo armhf ;;
    *) die "unknown target '$1' (linux-arm64 | linux-armv7)" ;;
  esac
}
node_arch() { case "$1" in arm64) echo arm64 ;; armhf) echo arm ;; esac; }
multiarch() { case "$1" in arm64) echo aarch64-linux-gnu ;; armhf) echo arm-linux-gnueabihf ;; esac; }

# --- node_modules for the target, built in its chroot ------------------------------------
# Prints the folder holding node_modules (with dev packages).
modules() { # ARCH
  local arch=$1 t0 rootfs
  [ -f package-lock.json ] || die "no package-lock.json (run ./build.sh once)"
  rootfs=$($CHROOT ensure "$arch")
  local key
  key=$({ cat package-lock.json; echo "$REV"; cat "$rootfs/.certd-chroot-key"; sed -n '/^build_zeromq()/,/^}/p' "$0"; } | sha256sum | cut -c1-12)
  local dir=$ROOT/.cache/target/$arch-$key
  if [ -f "$dir/.done" ]; then echo "$dir"; return 0; fi
  t0=$(now)
  rm -rf "$dir"; mkdir -p "$dir"
  cp package.json package-lock.json "$dir/"
  say "$arch: npm ci in the chroot (scripts off)"
  $CHROOT run "$arch" --bind "$dir:/opt/mods" -- /bin/sh -c \
    'cd /opt/mods && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null' ||
    die "$arch: npm ci failed"
  say "$arch: npm ci took $(since "$t0") s"
  local t1; t1=$(now)
  $CHROOT run "$arch" --bind "$dir:/opt/mods" -- /bin/sh -c \
    'cd /opt/mods/node_modules/pkcs11js &&
     npm_config_nodedir=/usr node /usr/local/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js rebuild --nodedir=/usr -j 2 >/tmp/gyp.log 2>&1 ||
       { tail -30 /tmp/gyp.log; exit 1; }' || die "$arch: pkcs11js build failed"
  say "$arch: pkcs11js addon (node-gyp) took $(since "$t1") s"
  t1=$(now)
  build_zeromq "$arch" "$dir"
  say "$arch: zeromq addon took $(since "$t1") s"
  $CHROOT run "$arch" --bind "$dir:/opt/mods" -- /bin/sh -c \
    'cd /opt/mods && node -e "
       const z = require(\"zeromq\"), p = require(\"pkcs11js\"); require(\"msgpackr\");
       new z.Dealer().close();
       console.log(\"zeromq \" + z.version + \", pkcs11js ok, \" + process.arch + \" node \" + process.version);"' >&2 ||
    die "$arch: the native addons do not load"
  touch "$dir/.done"
  find "$ROOT/.cache/target" -maxdepth 1 -name "$arch-*" ! -name "$arch-$key" -exec rm -rf {} +
  say "$arch: node_modules ready in $(since "$t0") s"
  echo "$dir"
}

# zeromq 6.8 ships prebuilt addons for linux x64/arm64 only, and its own build (cmake-ts +
# vcpkg) downloads from outside the registries. armv7: compile the package's src/*.cc
# against Debian's libzmq (libzmq3-dev) with Node's N-API headers, and register the
# result in the package's manifest, where its loader looks (os/arch/libc must match).
build_zeromq() { # ARCH dir
  local arch=$1 dir=$2
  if [ "$arch" = arm64 ]; then
    say "arm64: zeromq keeps its bundled linux/arm64 glibc binary"
    return 0
  fi
  $CHROOT run "$arch" --bind "$dir:/opt/mods" -- /bin/bash -c '
    set -euo pipefail
    z=/opt/mods/node_modules/zeromq
    abi=$(node -p process.versions.modules)
    out=$z/build/linux/arm/node/glibc-$abi-Release
    obj=/tmp/zmq-obj; mkdir -p "$obj" "$out"
    flags="-O2 -fPIC -std=c++20 -fexceptions -DNAPI_CPP_EXCEPTIONS -DBUILDING_NODE_EXTENSION -DNODE_GYP_MODULE_NAME=addon"
    flags+=" -I$z/src -I/opt/mods/node_modules/node-addon-api -I/usr/include/node $(pkg-config --cflags libzmq)"
    # two at a time (two cores)
    (cd "$z/src" && ls *.cc | grep -v win_delay_load_hook) |
      xargs -P 2 -I{} g++ $flags -c "$z/src/{}" -o "$obj/{}.o" >/tmp/zmq-build.log 2>&1 ||
      { tail -40 /tmp/zmq-build.log; exit 1; }
    g++ -shared -o "$out/addon.node" "$obj"/*.o $(pkg-config --libs libzmq) -Wl,--as-needed >>/tmp/zmq-build.log 2>&1 ||
      { tail -20 /tmp/zmq-build.log; exit 1; }
    strip --strip-unneeded "$out/addon.node"
    node -e "
      const fs = require(\"fs\"), m = \"$z/build/manifest.json\";
      const man = JSON.parse(fs.readFileSync(m, \"utf8\"));
      const cfg = { name: \"\", cross: false, os: \"linux\", arch: \"arm\", runtime: \"node\", nodeAPI: \"node-addon-api\",
        runtimeVersion: process.versions.node, buildType: \"Release\", dev: false, projectName: \"addon\",
        abi: $abi, libc: \"glibc\", note: \"built by certd scripts/target.sh against Debian libzmq\" };
      man[JSON.stringify(cfg)] = \"linux/arm/node/glibc-$abi-Release/addon.node\";
      fs.writeFileSync(m, JSON.stringify(man));"
    echo "zeromq addon for armv7 linked against $(pkg-config --modversion libzmq)" >&2
  ' || die "armhf: zeromq addon build failed"
}

# --- the install tree ----------------------------------------------------------------------
# the kernel-facing sandbox both units share
unit_sandbox() {
  cat <<'EOF'
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
EOF
}

unit_keystored() {
  cat <<'EOF'
[Unit]
Description=certd key daemon (keystored): holds every private key of the certificate manager
Documentation=file:///usr/lib/certd/README.md
# PKCS#11 back-ends may need the TPM resource manager; ordering only, it is optional
After=local-fs.target tpm2-abrmd.service
Wants=local-fs.target

[Service]
Type=simple
# its own user: certd (another user) reaches only the socket, never the keys or the KEK
User=keystored
Group=keystored
EnvironmentFile=-/etc/default/certd
ExecStart=/usr/bin/node /usr/lib/certd/dist/src/keystored/main.js --config /etc/certd/keystored.json
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
RestartSec=2s
TimeoutStartSec=60s
# keys and KEK: /var/lib/certd/keystored (0700). The socket: /run/certd-keystored, which
# keystored gives to its socket_group certd-ipc (folder 0710, socket 0660)
StateDirectory=certd/keystored
StateDirectoryMode=0700
# /run/certd-service-keys: the key files keystored writes for nginx (www-data) in RAM;
# keystored makes the folder 0711 itself (files 0600 to their service's user)
RuntimeDirectory=certd-keystored certd-service-keys
RuntimeDirectoryMode=0710
UMask=0077
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateNetwork=yes
# a TPM or secure element needs its device: add it in a drop-in (DeviceAllow=/dev/tpmrm0 rw)
PrivateDevices=yes
EOF
  unit_sandbox
  cat <<'EOF'
# V8 needs writable+executable memory: MemoryDenyWriteExecute stays off
RestrictAddressFamilies=AF_UNIX
CapabilityBoundingSet=
AmbientCapabilities=
SystemCallArchitectures=native
SystemCallFilter=@system-service

[Install]
WantedBy=multi-user.target
EOF
}

unit_certd() {
  cat <<'EOF'
[Unit]
Description=certd certificate manager (HTTP APIs; keys stay in keystored)
Documentation=file:///usr/lib/certd/README.md
# keystored first; certd stops with it and, through PartOf=, restarts when it restarts
Requires=keystored.service
After=keystored.service network.target
PartOf=keystored.service

[Service]
Type=simple
User=certd
Group=certd
# keystore call limits were sized on an x86 host; a camera SoC runs the wasm core 4-10x
# slower (RSA-4096 keygen: 12 s there). /etc/default/certd may set another factor.
Environment=CERTD_KEYSTORE_TIME_SCALE=4
EnvironmentFile=-/etc/default/certd
ExecStart=/usr/bin/node /usr/lib/certd/dist/src/certd/main.js --config /etc/certd/certd.json
Restart=on-failure
RestartSec=2s
TimeoutStartSec=60s
StateDirectory=certd/store
StateDirectoryMode=0700
# nginx's include and chain files (read by www-data), the supplicant's config (tmpfiles.d)
ReadWritePaths=/var/lib/certd-nginx /var/lib/certd-dot1x
RuntimeDirectory=certd
RuntimeDirectoryMode=0700
# group-readable: those two folders are setgid to the service's group (certd's own data sits
# in 0700 folders, and certd holds no key); with 0077 nginx could not read the include
UMask=0027
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
EOF
  unit_sandbox
  cat <<'EOF'
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
# binding 80/443 as a non-root user
AmbientCapabilities=CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
SystemCallArchitectures=native
SystemCallFilter=@system-service

[Install]
WantedBy=multi-user.target
EOF
}

# keystored and certd as two users; certd-ipc opens keystored's socket to its members
# (keystored, which gives the socket to the group, and certd) and to no one else
sysusers() {
  cat <<'EOF'
g certd-ipc -
g certd-dot1x -
u keystored - "certd key daemon" /var/lib/certd/keystored
u certd - "certd certificate manager" /var/lib/certd
m keystored certd-ipc
m certd certd-ipc
m certd certd-dot1x
EOF
}

# folders certd writes for the services it drives: the services' users read them
tmpfiles() {
  cat <<'EOF'
d /var/lib/certd-nginx 2750 certd www-data -
d /var/lib/certd-dot1x 2750 certd certd-dot1x -
EOF
}

NGINX_CONF=/etc/certd/nginx/nginx.conf
NGINX_INCLUDE=/var/lib/certd-nginx/conf/tls.conf

# nginx for certd: master and workers as www-data (port 443 by capability, not root), so no
# directive certd could write runs as root; the check and `nginx -t` run as www-data, which
# can load the key keystored wrote for it, and certd (which cannot) only asks for a reload.
unit_nginx() {
  cat <<EOF
[Unit]
Description=nginx fronting certd's APIs on HTTPS with the https binding's certificate
Documentation=file:///usr/lib/certd/README.md
After=certd.service network.target
# Started by certd only (reload-or-restart, at its start and when it finds no master), never
# at boot by itself: the key files are on tmpfs and come back only when certd has keystored
# write them again, so an earlier start would fail its check and loop into the start limit.
ConditionPathExists=$NGINX_INCLUDE

[Service]
Type=forking
User=www-data
Group=www-data
PIDFile=/run/certd-nginx/nginx.pid
RuntimeDirectory=certd-nginx
RuntimeDirectoryMode=0755
ExecStartPre=/usr/lib/certd/nginx-check $NGINX_CONF $NGINX_INCLUDE
ExecStart=/usr/sbin/nginx -e stderr -c $NGINX_CONF
ExecReload=/usr/lib/certd/nginx-check $NGINX_CONF $NGINX_INCLUDE
ExecReload=/bin/kill -HUP \$MAINPID
KillMode=mixed
Restart=on-failure
RestartSec=2s
AmbientCapabilities=CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
EOF
  unit_sandbox
  cat <<'EOF'
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
SystemCallArchitectures=native
SystemCallFilter=@system-service
EOF
}

# The p11-kit server for nginx's token keys, one per keystored token (instance: the store id,
# e.g. TPM0): nginx's workers load p11-kit-client.so and reach the token only through it
# (never tpm2-pkcs11 in nginx: DESIGN.md). As keystored's user, which already opens the token
# with the module settings of /etc/default/certd; a TPM needs group tss and /dev/tpmrm0 (the
# TPM0 drop-in shipped beside). Socket keystored:www-data 0660 in a 0751 folder: root (nginx
# -t) and the workers connect (p11-kit makes it 0711, and libp11 hangs on EACCES), certd
# (others) may only see that it is there.
unit_p11kit() {
  cat <<'EOF'
[Unit]
Description=p11-kit server for nginx's token keys in keystored's token %i
Documentation=file:///usr/lib/certd/README.md
After=keystored.service tpm2-abrmd.service
Before=certd-nginx.service
ConditionPathExists=/etc/certd/p11-kit/%i.conf

[Service]
Type=simple
User=keystored
Group=www-data
EnvironmentFile=-/etc/default/certd
# MODULE (the store's module) and TOKEN (pkcs11:token=<its token_label>)
EnvironmentFile=/etc/certd/p11-kit/%i.conf
RuntimeDirectory=certd-p11-kit/%i
RuntimeDirectoryMode=0751
UMask=0007
ExecStart=/usr/bin/p11-kit server -f -n /run/certd-p11-kit/%i/p11-kit.sock --provider ${MODULE} ${TOKEN}
# $$: a literal $ for the shell (systemd expands $NAME itself)
ExecStartPost=/bin/sh -c 'for i in $$(seq 1 100); do [ -S "$$0" ] && exec chmod 0660 "$$0"; sleep 0.1; done; exit 1' /run/certd-p11-kit/%i/p11-kit.sock
Restart=on-failure
RestartSec=2s
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateNetwork=yes
DevicePolicy=closed
EOF
  unit_sandbox
  cat <<'EOF'
RestrictAddressFamilies=AF_UNIX
CapabilityBoundingSet=
SystemCallArchitectures=native
SystemCallFilter=@system-service
EOF
}

# what the TPM's instance adds: the TPM's group and its resource-manager device
unit_p11kit_tpm() {
  cat <<'EOF'
[Service]
SupplementaryGroups=tss
DeviceAllow=/dev/tpmrm0 rw
EOF
}

# To enable token keys for nginx (README, "The firmware install tree"): the server's
# settings, and nginx's drop-in giving its master the engine and that server's address.
p11kit_example() { # ARCH
  cat <<EOF
MODULE=/usr/lib/$(multiarch "$1")/pkcs11/libtpm2_pkcs11.so
TOKEN=pkcs11:token=TPM0
EOF
}
nginx_token_example() {
  cat <<'EOF'
# /etc/systemd/system/certd-nginx.service.d/token.conf: nginx loads token keys through the
# p11-kit server of one token (nginx holds one P11_KIT_SERVER_ADDRESS: one token at a time)
[Unit]
Wants=certd-p11-kit@TPM0.service
After=certd-p11-kit@TPM0.service
[Service]
Environment=OPENSSL_CONF=/etc/certd/nginx/openssl.cnf
Environment=P11_KIT_SERVER_ADDRESS=unix:path=/run/certd-p11-kit/TPM0/p11-kit.sock
EOF
}
openssl_conf() { # ARCH: the engine on p11-kit-client.so, as the https applier writes it
  node -e 'process.stdout.write(require(process.cwd() + "/dist/src/certd/appliers/nginx-token").opensslConf(process.argv[1]))' "/usr/lib/$(multiarch "$1")"
}

# The wired 802.1X supplicant on interface %I with the config certd's dot1x applier writes.
# Root (raw EAPOL frames) with group certd-dot1x, so that the control folder and socket it
# makes (0770, its group) open to certd (wpa_cli; a member) and to nobody else.
unit_supplicant() {
  cat <<'EOF'
[Unit]
Description=802.1X supplicant on %I with certd's dot1x binding
Documentation=file:///usr/lib/certd/README.md
# the key file (SOFTWARE0) is keystored's to write
After=keystored.service sys-subsystem-net-devices-%i.device
Wants=keystored.service
BindsTo=sys-subsystem-net-devices-%i.device
Before=network.target
Wants=network.target

[Service]
Type=simple
Group=certd-dot1x
UMask=0007
ExecStart=/usr/sbin/wpa_supplicant -c /var/lib/certd-dot1x/wpa_supplicant-%I.conf -D wired -i %I
Restart=on-failure
RestartSec=2s
# root, but only what a wired supplicant needs (a packet socket, the interface's flags and
# multicast membership), and nothing a module it loads could gain by exec
CapabilityBoundingSet=CAP_NET_RAW CAP_NET_ADMIN CAP_CHOWN CAP_FOWNER CAP_DAC_OVERRIDE
NoNewPrivileges=yes
ProtectHome=yes
PrivateTmp=yes
EOF
  unit_sandbox
  cat <<'EOF'

[Install]
WantedBy=multi-user.target
EOF
}

# certd (its own user) may start, reload and restart its nginx and its supplicant: nothing
# else, and no other user through this rule (ES5: polkit's interpreter)
polkit_rules() {
  cat <<'EOF'
polkit.addRule(function (action, subject) {
  if (action.id !== "org.freedesktop.systemd1.manage-units" || subject.user !== "certd") return polkit.Result.NOT_HANDLED;
  var unit = action.lookup("unit"), verb = action.lookup("verb");
  var ours = unit === "certd-nginx.service" || /^certd-supplicant@[A-Za-z0-9_.:-]+\.service$/.test(unit);
  if (ours && ["start", "reload", "restart", "reload-or-restart"].indexOf(verb) >= 0) return polkit.Result.YES;
  return polkit.Result.NOT_HANDLED;
});
EOF
}

# The site: what the https applier's siteConfig() makes for this prefix, with nginx's own
# files (pid, temporary bodies) in its unit's runtime folder and its errors in the journal.
site_config() {
  node -e '
    const { siteConfig } = require(process.cwd() + "/dist/src/certd/appliers/nginx-config");
    const text = siteConfig({ prefix: "/var/lib/certd-nginx", host: "0.0.0.0", port: 443, upstream: { host: "127.0.0.1", port: 8080 } })
      .replace(/^pid .*;$/m, "pid /run/certd-nginx/nginx.pid;")
      .replace(/^error_log .*;$/m, "error_log stderr;")
      .replace(/_temp_path \/var\/lib\/certd-nginx\/tmp\//g, "_temp_path /run/certd-nginx/")
      .replace(/^# Written by certd.*$/m, "# certd-nginx.service: shipped with certd (made by src/certd/appliers/nginx-config.ts); certd writes only the include.")
      // nginx reads the copy nginx-check checked (www-data'"'"'s), never certd'"'"'s include itself
      .replace("include /var/lib/certd-nginx/conf/tls.conf;", "include /run/certd-nginx/tls.conf;");
    // nothing of the site may stay in certd'"'"'s folder: nginx (www-data) reads and writes none of it
    const left = text.split("\n").filter((l) => l.includes("/var/lib/certd-nginx"));
    if (left.length) { console.error("site_config: still in /var/lib/certd-nginx: " + left.join(" | ")); process.exit(1); }
    process.stdout.write(text);'
}

default_keystored_config() {
  cat <<'EOF'
{
  "data_dir": "/var/lib/certd/keystored",
  "socket_dir": "/run/certd-keystored",
  "socket_group": "certd-ipc",
  "allowed_users": ["certd"],
  "stores": [
    { "kind": "software", "id": "SOFTWARE0" }
  ],
  "service_key_dir": "/run/certd-service-keys",
  "service_key_users": { "https": "www-data" }
}
EOF
}

# certd behind the camera's web server (which terminates TLS and proxies the API paths); token
# keys only through certd-p11-kit@ units (certd, as its user, must not open a token): TPM0's
# socket is named, so enabling that unit is all a TPM0 binding needs from certd's side
default_certd_config() {
  cat <<'EOF'
{
  "data_dir": "/var/lib/certd/store",
  "keystored_socket_dir": "/run/certd-keystored",
  "listen": { "host": "127.0.0.1", "port": 8080 },
  "https": {
    "prefix": "/var/lib/certd-nginx",
    "host": "0.0.0.0",
    "port": 443,
    "reload": ["/usr/bin/systemctl", "reload-or-restart", "certd-nginx.service"],
    "pid_file": "/run/certd-nginx/nginx.pid",
    "token_servers": [{ "token": "pkcs11:token=TPM0", "socket": "/run/certd-p11-kit/TPM0/p11-kit.sock" }]
  }
}
EOF
}

prune_modules() { # node_modules ARCH: drop what the target never loads
  local nm=$1 arch=$2 narch; narch=$(node_arch "$arch")
  # zeromq: only this arch's glibc addon; the C++ sources, cmake files and build scripts go
  local z=$nm/zeromq
  find "$z/build" -mindepth 1 -maxdepth 1 -type d ! -name linux -exec rm -rf {} +
  find "$z/build/linux" -mindepth 1 -maxdepth 1 -type d ! -name "$narch" -exec rm -rf {} +
  find "$z/build/linux/$narch/node" -mindepth 1 -maxdepth 1 -type d ! -name 'glibc-*' -exec rm -rf {} +
  node -e '
    const fs = require("fs"), m = process.argv[1], arch = process.argv[2];
    const man = JSON.parse(fs.readFileSync(m, "utf8")), out = {};
    for (const [k, v] of Object.entries(man)) {
      const c = JSON.parse(k);
      if (c.os === "linux" && c.arch === arch && c.libc === "glibc") out[k] = v;
    }
    if (!Object.keys(out).length) { console.error("no zeromq addon for linux/" + arch); process.exit(1); }
    fs.writeFileSync(m, JSON.stringify(out));' "$z/build/manifest.json" "$narch"
  rm -rf "$z/src" "$z/script" "$z/CMakeLists.txt" "$z/vcpkg.json" "$z/lib/ts3.7"
  # pkcs11js: the addon, not the objects and make files around it
  local p=$nm/pkcs11js
  find "$p/build" -mindepth 1 -maxdepth 1 ! -name Release -exec rm -rf {} +
  find "$p/build/Release" -mindepth 1 -maxdepth 1 ! -name pkcs11.node -exec rm -rf {} +
  rm -rf "$p/src" "$p/includes"
  # @wasmer/wasi: the CommonJS bundle its "main" names (the wasi runtime inlined); its Rust
  # sources, test modules and five other bundles are 6 MB the camera never loads
  local w=$nm/@wasmer/wasi
  find "$w" -mindepth 1 -maxdepth 1 ! -name dist ! -name package.json ! -name LICENSE -exec rm -rf {} +
  find "$w/dist" -mindepth 1 -maxdepth 1 ! -name "$(node -p 'require(process.argv[1]).main.replace(/^dist\//, "")' "$w/package.json")" -exec rm -rf {} +
  # build-time only (N-API headers), and source maps / type declarations
  rm -rf "$nm/node-addon-api"
  find "$nm" \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.md' ! -iname 'license*' \) -type f -delete
}

tree() { # TARGET
  local target=$1 arch t0 dir
  arch=$(target_arch "$target")
  t0=$(now)
  [ -f build/wasm/certd-core.wasm ] && [ -d dist/src ] || die "run the host build first (./build.sh)"
  dir=$(modules "$arch")
  local version; version=$(node -p 'require("./package.json").version')
  local out=$ROOT/build/target/$target app
  rm -rf "$out"; mkdir -p "$out"
  app=$out/usr/lib/certd
  mkdir -p "$app/dist" "$app/build/wasm" "$out/usr/lib/systemd/system" "$out/usr/lib/sysusers.d" "$out/usr/lib/tmpfiles.d" \
    "$out/usr/share/polkit-1/rules.d" "$out/etc/certd/nginx"
  # compiled JS, not tests or benchmarks; whatever else tsc put in dist/ comes along
  local d
  exec 7>build/.lock   # build.sh's lock: no tsc may rewrite dist/ while it is copied
  flock 7
  for d in dist/*; do
    case "$(basename "$d")" in test|bench) ;; *) cp -a "$d" "$app/dist/" ;; esac
  done
  find "$app/dist" -name '*.map' -delete
  cp build/wasm/certd-core.wasm "$app/build/wasm/"
  cp package.json README.md "$app/"
  local wasm_sha; wasm_sha=$(sha256sum "$app/build/wasm/certd-core.wasm" | cut -d' ' -f1)
  exec 7>&-
  # production node_modules: the cached full set, pruned by npm inside the chroot
  local stage=$ROOT/build/target/.stage-$arch
  rm -rf "$stage"; mkdir -p "$stage"
  cp -a "$dir/node_modules" "$dir/package.json" "$dir/package-lock.json" "$stage/"
  $CHROOT run "$arch" --bind "$stage:/opt/stage" -- /bin/sh -c \
    'cd /opt/stage && npm prune --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null' ||
    die "$arch: npm prune failed"
  prune_modules "$stage/node_modules" "$arch"
  mv "$stage/node_modules" "$app/node_modules"
  rm -rf "$stage"
  unit_keystored >"$out/usr/lib/systemd/system/keystored.service"
  unit_certd >"$out/usr/lib/systemd/system/certd.service"
  unit_nginx >"$out/usr/lib/systemd/system/certd-nginx.service"
  unit_supplicant >"$out/usr/lib/systemd/system/certd-supplicant@.service"
  unit_p11kit >"$out/usr/lib/systemd/system/certd-p11-kit@.service"
  mkdir -p "$out/usr/lib/systemd/system/certd-p11-kit@TPM0.service.d" "$out/etc/certd/p11-kit"
  unit_p11kit_tpm >"$out/usr/lib/systemd/system/certd-p11-kit@TPM0.service.d/tpm.conf"
  p11kit_example "$arch" >"$out/etc/certd/p11-kit/TPM0.conf.example"
  nginx_token_example >"$out/etc/certd/p11-kit/certd-nginx-token.conf.example"
  openssl_conf "$arch" >"$out/etc/certd/nginx/openssl.cnf"
  sysusers >"$out/usr/lib/sysusers.d/certd.conf"
  tmpfiles >"$out/usr/lib/tmpfiles.d/certd.conf"
  polkit_rules >"$out/usr/share/polkit-1/rules.d/50-certd.rules"
  install -m 0755 scripts/firmware/nginx-check "$app/nginx-check"
  site_config >"$out$NGINX_CONF"
  default_keystored_config >"$out/etc/certd/keystored.json"
  default_certd_config >"$out/etc/certd/certd.json"
  [ -f dist/src/certd/main.js ] || say "note: dist/src/certd/main.js is not built yet; certd.service names it all the same"
  {
    echo "name=certd"
    echo "version=$version"
    echo "target=$target"
    echo "debian_arch=$arch"
    echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo -dirty)"
    echo "built_in=Debian bookworm chroot, $(cat "$($CHROOT ensure "$arch")/etc/certd-node-version")"
    echo "wasm_sha256=$wasm_sha"
    echo "needs=nodejs (>= 18), $( [ "$arch" = armhf ] && echo 'libzmq5, ' )libc6 (glibc, bookworm or newer)"
  } >"$app/BUILDINFO"
  # smoke test: keystored from the tree starts in the chroot with a SOFTWARE0 config
  smoke "$arch" "$out"
  verify_units "$out"
  local tarball=$ROOT/build/target/certd-$version-$target.tar.gz
  tar -C "$out" --sort=name --owner=0 --group=0 --numeric-owner --mtime='@0' -cf - . | gzip -n -6 >"$tarball.part"
  mv "$tarball.part" "$tarball"
  say "$target: tree build/target/$target ($(du -sh --apparent-size "$out" | cut -f1); node_modules $(du -sh --apparent-size "$app/node_modules" | cut -f1)), tarball $(basename "$tarball") ($(du -h --apparent-size "$tarball" | cut -f1)) in $(since "$t0") s"
}

# The units as systemd reads them (on this host: the chroot has no systemd), their paths into
# /usr/lib/certd pointed at the tree; any complaint fails the build.
verify_units() { # tree
  local out=$1 d t0; t0=$(now)
  bash scripts/packages.sh nginx wpasupplicant systemd >&2
  d=$(mktemp -d)
  for u in "$out"/usr/lib/systemd/system/*.service; do
    sed -e "s|/usr/lib/certd/|$out/usr/lib/certd/|g" -e "s|/usr/bin/node |$(command -v node) |" "$u" >"$d/$(basename "$u")"
  done
  cp "$d/certd-supplicant@.service" "$d/certd-supplicant@eth0.service"
  cp "$d/certd-p11-kit@.service" "$d/certd-p11-kit@TPM0.service"
  cp -r "$out/usr/lib/systemd/system/certd-p11-kit@TPM0.service.d" "$d/"
  local said; said=$(cd "$d" && systemd-analyze verify keystored.service certd.service certd-nginx.service certd-supplicant@eth0.service certd-p11-kit@TPM0.service 2>&1) || true
  rm -rf "$d"
  [ -z "$said" ] || die "systemd-analyze verify: $said"
  say "units: systemd-analyze verify clean ($(since "$t0") s)"
}

smoke() { # ARCH tree: both daemons from the tree, as their units start them (users too), answer the API
  local arch=$1 out=$2 t0; t0=$(now)
  $CHROOT run "$arch" --bind "$out/usr/lib/certd:/usr/lib/certd" --bind "$out/etc/certd:/etc/certd" -- /bin/bash -c '
    set -euo pipefail
    # what systemd-sysusers makes from certd.conf (the chroot has no systemd)
    getent group certd-ipc >/dev/null || groupadd --system certd-ipc
    getent group certd-dot1x >/dev/null || groupadd --system certd-dot1x
    id keystored >/dev/null 2>&1 || useradd --system --no-create-home --user-group -G certd-ipc keystored
    id certd >/dev/null 2>&1 || useradd --system --no-create-home --user-group -G certd-ipc,certd-dot1x certd
    # what systemd makes from the units: state and runtime folders, umask 077, User=, Group=
    # with the groups of the user (initgroups, as setpriv --init-groups)
    rm -rf /var/lib/certd /run/certd-keystored /var/lib/certd-nginx /run/certd-service-keys /run/certd-nginx
    mkdir -p -m 0755 /var/lib/certd
    install -d -m 2750 -o certd -g www-data /var/lib/certd-nginx
    install -d -m 0710 -o keystored -g keystored /run/certd-service-keys
    install -d -m 0755 -o www-data -g www-data /run/certd-nginx
    install -d -m 0700 -o keystored -g keystored /var/lib/certd/keystored
    install -d -m 0700 -o certd -g certd /var/lib/certd/store
    install -d -m 0710 -o keystored -g keystored /run/certd-keystored
    umask 077   # keystored.service; certd.service has 027 (the folders it shares are setgid)
    # exec: a daemon started with & is then the pid that $! names
    as() { u=$1; shift; exec setpriv --reuid "$u" --regid "$u" --init-groups "$@"; }
    log=/tmp/smoke; mkdir -p $log
    wait_for() { # file pattern pid
      for i in $(seq 1 900); do grep -q "$2" "$1" && return 0; kill -0 "$3" 2>/dev/null || break; sleep 0.1; done
      cat "$1" >&2; return 1
    }
    as keystored node /usr/lib/certd/dist/src/keystored/main.js --config /etc/certd/keystored.json >$log/keystored 2>&1 & k=$!
    wait_for $log/keystored "\"msg\":\"ready\"" $k
    # certd reaches the socket, not the keys
    if (as certd ls /var/lib/certd/keystored) >/dev/null 2>&1; then echo "certd can read the folder of keystored" >&2; exit 1; fi
    (umask 027; as certd node /usr/lib/certd/dist/src/certd/main.js --config /etc/certd/certd.json) >$log/certd 2>&1 & c=$!
    wait_for $log/certd "password" $c
    pw=$(sed -n "s/.*password \"\([^\"]*\)\".*/\1/p" $log/certd)
    wait_for $log/certd "\"msg\":\"ready\"" $c
    body=$(curl -sS --fail --digest -u "admin:$pw" http://127.0.0.1:8080/config/rest/cert/v1/keystores)
    echo "$body" | grep -q "\"SOFTWARE0\"" || { echo "unexpected answer: $body" >&2; exit 1; }
    echo "keystores: $body"
    # The shipped site as certd-nginx.service runs it (www-data; here on a free port, not 443,
    # the chroot shares the host network): a key only www-data reads, an include as the https
    # applier writes it, the unit check (allowlist + nginx -t as www-data), then the API
    # through nginx on HTTPS. The chroot has no systemd: the reload certd asks for (systemctl) is
    # not exercised here, nor the polkit rule.
    # names as the applier and keystored make them: nginx-check takes no other
    key=/run/certd-service-keys/https+SOFTWARE0+test.pem tls=/var/lib/certd-nginx/tls chain=/var/lib/certd-nginx/tls/chain-0123456789abcdef0123456789abcdef.pem
    # the folders certd made (its applier, at start) are its, 0750, group www-data
    [ "$(stat -c %U:%G:%a /var/lib/certd-nginx/conf)" = certd:www-data:2750 ] || { stat /var/lib/certd-nginx/conf >&2; exit 1; }
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=camera -days 2 -keyout $key -out $chain 2>/dev/null
    chown www-data:www-data $key; chmod 0600 $key; chmod 0644 $chain
    if (as certd cat $key) >/dev/null 2>&1; then echo "certd can read the web server key file" >&2; exit 1; fi
    (as certd node -e "process.stdout.write(require(\"/usr/lib/certd/dist/src/certd/appliers/nginx-config\").tlsInclude({ chain: \"$chain\", key: \"$key\", settings: {} }))") >/var/lib/certd-nginx/conf/tls.conf
    chown certd /var/lib/certd-nginx/conf/tls.conf; chmod 0640 /var/lib/certd-nginx/conf/tls.conf
    port=$(node -e "const s = require(\"net\").createServer().listen(0, \"127.0.0.1\", () => { console.log(s.address().port); s.close(); })")
    sed "s/listen 0.0.0.0:443 ssl;/listen 127.0.0.1:$port ssl;/" /etc/certd/nginx/nginx.conf >/tmp/site.conf; chmod 0644 /tmp/site.conf
    grep -q "listen 127.0.0.1:$port ssl;" /tmp/site.conf
    (as www-data /usr/lib/certd/nginx-check /tmp/site.conf /var/lib/certd-nginx/conf/tls.conf)
    if (as certd /usr/lib/certd/nginx-check /tmp/site.conf /var/lib/certd-nginx/conf/tls.conf) >/dev/null 2>&1; then echo "nginx -t loaded the key as certd" >&2; exit 1; fi
    (as www-data /usr/sbin/nginx -e stderr -c /tmp/site.conf)
    over=$(curl -sS --fail -k --digest -u "admin:$pw" "https://127.0.0.1:$port/config/rest/cert/v1/keystores")
    [ "$over" = "$body" ] || { echo "through nginx: $over" >&2; exit 1; }
    echo "the same through the shipped site on HTTPS (nginx as www-data, pid $(cat /run/certd-nginx/nginx.pid))"
    cp /var/lib/certd-nginx/conf/tls.conf /tmp/tls.ok
    echo "location / { root /; }" >>/var/lib/certd-nginx/conf/tls.conf
    if (as www-data /usr/lib/certd/nginx-check /tmp/site.conf /var/lib/certd-nginx/conf/tls.conf) 2>/dev/null; then echo "nginx-check took a location" >&2; exit 1; fi
    kill -TERM "$(cat /run/certd-nginx/nginx.pid)"
    kill -TERM $c $k; wait $c $k || true
    rm -rf /var/lib/certd /run/certd-keystored /var/lib/certd-nginx /run/certd-service-keys /run/certd-nginx
  ' >&2 || die "$arch: keystored + certd from the tree did not serve the API"
  say "$arch: smoke test (keystored + certd from the tree, its config, an authenticated GET, the same through the shipped nginx site as www-data) passed in $(since "$t0") s"
}

case "${1:-}" in
  tree) [ $# -eq 2 ] || die "usage: tree TARGET"; tree "$2" ;;
  modules) [ $# -eq 2 ] || die "usage: modules TARGET"; modules "$(target_arch "$2")" ;;
  *) sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
