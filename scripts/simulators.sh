#!/usr/bin/env bash
# Development/CI key-store simulators for keystored, all from Debian bookworm packages:
#   TPM0 = tpm2-pkcs11 -> tpm2-abrmd (on a PRIVATE D-Bus bus) -> swtpm (TCP on 127.0.0.1)
#   SE0  = a SoftHSM2 token
#
# Usage: scripts/simulators.sh start|stop [--clean]|restart-tpm [--power-loss]|status [DIR]
#        (DIR defaults to <repo>/.sim; a relative DIR is taken from the caller's cwd)
#   start        Install missing Debian packages (as root; otherwise print the apt-get line
#                and exit 1), then start swtpm, dbus-daemon and tpm2-abrmd and initialise
#                both tokens with fresh random PINs. If the simulators recorded in DIR are
#                all running already, it prints so and exits 0 without starting anything
#                (no duplicates; PINs and keys are kept). Otherwise whatever is left of them
#                is stopped and DIR is wiped and made anew (DIR must be empty, missing, or a
#                folder this script made: it holds a .certd-sim marker).
#   stop         Stop exactly the processes recorded in DIR/pids (TERM, then KILL after a
#                bounded wait); never by name. Idempotent. Keeps DIR (logs, keys) unless
#                --clean is given, which removes DIR.
#   restart-tpm  TPM reset / power cycle: TPM2_Shutdown(CLEAR) through the broker, then swtpm
#                is stopped and started again on the same state and ports (startup-clear).
#                tpm2-abrmd is kept: its swtpm TCTI reconnects by itself (it is restarted
#                only if it does not answer afterwards). Persistent objects (the tpm2-pkcs11
#                primary key) and the token store survive, so keys stay usable from new
#                PKCS#11 sessions; a client's loaded keys/sessions from before are gone.
#                --power-loss skips TPM2_Shutdown: each such restart raises the TPM's DA
#                lockout counter, and after 3 the token's C_Login fails (CKR_PIN_LOCKED)
#                for 1000 s; use it sparingly.
#   status       Print each recorded process and a health check; exit 0 when all run and
#                answer, 3 when nothing runs, 1 when only some do.
#
# Files in DIR (mode 0600 where secret): env (sourceable: one `export NAME='value'` a line),
# tpm0.pin, se0.pin (the PIN alone, no newline), pids ("name pid starttime" a line),
# *.log, swtpm-state/, tpm2-pkcs11/ (token store), softhsm2/ (token dir), softhsm2.conf,
# dbus.conf. Timeouts: SIM_TIMEOUT (seconds each piece may take to answer, default 30).
set -euo pipefail
umask 077

PKGS=(swtpm swtpm-tools tpm2-abrmd libtss2-tcti-tabrmd0 libtpm2-pkcs11-1 libtpm2-pkcs11-tools
      tpm2-tools softhsm2 dbus)
# tpm2-pkcs11 sits in the multiarch folder of this Debian's architecture (ARM runs: test-arm.sh)
case "$(dpkg --print-architecture 2>/dev/null || true)" in
  arm64) MULTIARCH=aarch64-linux-gnu ;;
  armhf) MULTIARCH=arm-linux-gnueabihf ;;
  *) MULTIARCH=x86_64-linux-gnu ;;
esac
TPM0_MODULE=/usr/lib/$MULTIARCH/pkcs11/libtpm2_pkcs11.so
SE0_MODULE=/usr/lib/softhsm/libsofthsm2.so
TABRMD_NAME=com.intel.tss2.Tabrmd
TABRMD_TCTI="tabrmd:bus_name=$TABRMD_NAME,bus_type=session"
TIMEOUT=${SIM_TIMEOUT:-30}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ME="simulators"

say() { echo "$ME: $*"; }
die() { echo "$ME: error: $*" >&2; exit 1; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
secs() { local ms=$(( $(now_ms) - $1 )); printf '%d.%01d' $((ms / 1000)) $(( (ms % 1000) / 100 )); }

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//'; }

# ---------------------------------------------------------------- arguments
CMD=${1:-}
[ -n "$CMD" ] || { usage >&2; exit 2; }
shift
CLEAN=0 POWER_LOSS=0 DIR_ARG=""
for a in "$@"; do
  case "$a" in
    --clean) CLEAN=1 ;;
    --power-loss) POWER_LOSS=1 ;;
    -*) die "unknown option $a" ;;
    *) [ -z "$DIR_ARG" ] || die "more than one DIR given"; DIR_ARG=$a ;;
  esac
done
DIR=${DIR_ARG:-$ROOT/.sim}
case "$DIR" in /*) ;; *) DIR=$PWD/$DIR ;; esac
DIR=${DIR%/}
[ -n "$DIR" ] && [ "$DIR" != "/" ] || die "refusing DIR '/'"
# swtpm's option syntax (commas), D-Bus addresses and the XML bus config take DIR verbatim
case "$DIR" in *[!A-Za-z0-9_./@+:-]*) die "DIR '$DIR' has characters other than A-Za-z0-9_./@+:-" ;; esac
MARK="$DIR/.certd-sim"
PIDS="$DIR/pids"

# ---------------------------------------------------------------- process records
# A record is "name pid starttime"; starttime (field 22 of /proc/PID/stat) guards against
# a recycled PID: a process whose start time differs is not ours and is never signalled.
starttime() { [ -r "/proc/$1/stat" ] && sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $20}'; }
procstate() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $1}'; }
is_ours() { # pid starttime -> alive (not a zombie) and the same process we started
  local st; st=$(starttime "$1" || true)
  [ -n "$st" ] && [ "$st" = "$2" ] && [ "$(procstate "$1")" != Z ]
}
record() { # name pid
  local st; st=$(starttime "$2" || true)
  [ -n "$st" ] || return 1
  echo "$1 $2 $st" >>"$PIDS"
}
records() { [ -f "$PIDS" ] && cat "$PIDS" || true; }
rec_pid() { records | awk -v n="$1" '$1 == n {p = $2} END {print p}'; }

stop_one() { # name pid starttime
  local name=$1 pid=$2 st=$3 i
  is_ours "$pid" "$st" || return 0
  # a process we made a group leader (tpm2-abrmd via setsid) is signalled with its group,
  # so that nothing it forked can outlive it
  local target=$pid
  [ "$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{print $3}')" = "$pid" ] && target="-$pid"
  kill -TERM -- "$target" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do is_ours "$pid" "$st" || return 0; sleep 0.1; done
  echo "$ME: $name ($pid) ignored TERM for 5 s, sending KILL" >&2
  kill -KILL -- "$target" 2>/dev/null || true
  for ((i = 0; i < 30; i++)); do is_ours "$pid" "$st" || return 0; sleep 0.1; done
  echo "$ME: warning: $name ($pid) still alive after KILL" >&2
  return 1
}
stop_named() { # stop and forget the records of one name
  local name=$1 n p s rc=0
  while read -r n p s; do [ "$n" = "$name" ] && { stop_one "$n" "$p" "$s" || rc=1; }; done < <(records)
  if [ -f "$PIDS" ]; then
    awk -v n="$name" '$1 != n' "$PIDS" >"$PIDS.tmp" && mv "$PIDS.tmp" "$PIDS"
  fi
  return $rc
}
stop_all() { # reverse start order: clients of the bus and TPM first
  local rc=0
  stop_named tpm2-abrmd || rc=1
  stop_named dbus-daemon || rc=1
  stop_named swtpm || rc=1
  # anything else recorded (should not happen), newest first
  local n p s
  while read -r n p s; do stop_one "$n" "$p" "$s" || rc=1; done < <(records | tac)
  rm -f "$PIDS" "$PIDS.tmp"
  return $rc
}
count_alive() { local n p s c=0; while read -r n p s; do is_ours "$p" "$s" && c=$((c + 1)); done < <(records); echo $c; }
count_recs() { records | grep -c . || true; }

tail_log() { [ -f "$1" ] && { echo "---- last lines of $1:" >&2; tail -n 20 "$1" >&2; } || true; }
fail_piece() { # piece log message
  echo "$ME: error: $1 failed: $3" >&2
  tail_log "$2"
  exit 1
}
wait_for() { # piece log pid check-command...: poll until check succeeds, the pid dies, or TIMEOUT
  local piece=$1 log=$2 pid=$3; shift 3
  local deadline=$(( $(date +%s) + TIMEOUT )) out
  while :; do
    if out=$("$@" 2>&1); then return 0; fi
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then fail_piece "$piece" "$log" "process $pid exited"; fi
    [ "$(date +%s)" -lt "$deadline" ] ||
      fail_piece "$piece" "$log" "not ready after ${TIMEOUT}s; the check ($1) said: $(echo "$out" | tail -n 3)"
    sleep 0.1
  done
}

wait_quiet() { # pid check-command...: like wait_for, but returns 1 instead of failing
  local pid=$1; shift
  local deadline=$(( $(date +%s) + TIMEOUT ))
  while :; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    kill -0 "$pid" 2>/dev/null || return 1
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

# ---------------------------------------------------------------- packages
ensure_packages() { bash "$ROOT/scripts/packages.sh" "${PKGS[@]}" "$@" || exit 1; }

# ---------------------------------------------------------------- helpers for start
# Two free consecutive TCP ports on 127.0.0.1 (the tss2 swtpm TCTI that tpm2-abrmd uses
# always takes the control channel at server port + 1).
free_port_pair() {
  if command -v node >/dev/null 2>&1; then
    node -e '
      const net = require("net");
      function attempt(n) {
        if (n > 100) process.exit(1);
        const a = net.createServer();
        a.once("error", () => attempt(n + 1));
        a.listen(0, "127.0.0.1", () => {
          const p = a.address().port;
          if (p >= 65535) return a.close(() => attempt(n + 1));
          const b = net.createServer();
          b.once("error", () => a.close(() => attempt(n + 1)));
          b.listen(p + 1, "127.0.0.1", () => { process.stdout.write(String(p) + "\n"); b.close(); a.close(); });
        });
      }
      attempt(0);'
  else
    python3 -c '
import socket
for _ in range(100):
    a = socket.socket(); a.bind(("127.0.0.1", 0)); p = a.getsockname()[1]
    b = socket.socket()
    try:
        b.bind(("127.0.0.1", p + 1)); print(p); break
    except OSError: pass
    finally: b.close(); a.close()'
  fi
}

rand_pin() { od -An -tx1 -N12 /dev/urandom | tr -d ' \n'; }
write_secret() { # file content (no newline)
  (umask 077; printf '%s' "$2" >"$1.tmp"); chmod 600 "$1.tmp"; mv "$1.tmp" "$1"
}
q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }  # single-quote for sh

start_swtpm() { # server-port ctrl-port; returns 1 if it could not bind
  local srv=$1 ctl=$2 pidf="$DIR/swtpm.pid"
  rm -f "$pidf"
  if ! swtpm socket --tpm2 \
      --tpmstate dir="$DIR/swtpm-state" \
      --server type=tcp,port="$srv",bindaddr=127.0.0.1 \
      --ctrl type=tcp,port="$ctl",bindaddr=127.0.0.1 \
      --flags not-need-init,startup-clear \
      --log file="$DIR/swtpm.log",level=1 \
      --pid file="$pidf" --daemon </dev/null >>"$DIR/swtpm.log" 2>&1 9<&-; then
    return 1
  fi
  local i
  for ((i = 0; i < 50; i++)); do [ -s "$pidf" ] && break; sleep 0.1; done
  [ -s "$pidf" ] || fail_piece swtpm "$DIR/swtpm.log" "wrote no pid file"
  local pid; pid=$(cat "$pidf")
  record swtpm "$pid" || fail_piece swtpm "$DIR/swtpm.log" "process $pid exited at once"
  wait_for swtpm "$DIR/swtpm.log" "$pid" swtpm_ioctl --tcp "127.0.0.1:$ctl" -c
}

start_abrmd() {
  echo "---- start $(date -Is)" >>"$DIR/tpm2-abrmd.log"
  # setsid: no controlling terminal; in a non-interactive shell the background child is
  # not a group leader, so setsid execs in place and $! is tpm2-abrmd itself.
  DBUS_SESSION_BUS_ADDRESS=$BUS setsid tpm2-abrmd --session --allow-root --flush-all \
    --dbus-name="$TABRMD_NAME" --logger=stdout \
    --tcti="swtpm:host=127.0.0.1,port=$SWTPM_PORT" \
    </dev/null >>"$DIR/tpm2-abrmd.log" 2>&1 9<&- &
  local pid=$!
  sleep 0.05
  record tpm2-abrmd "$pid" || fail_piece tpm2-abrmd "$DIR/tpm2-abrmd.log" "process $pid exited at once"
  wait_for tpm2-abrmd "$DIR/tpm2-abrmd.log" "$pid" \
    env DBUS_SESSION_BUS_ADDRESS="$BUS" tpm2_getcap -T "$TABRMD_TCTI" properties-fixed
}

load_env() { # sets BUS, SWTPM_PORT, SWTPM_CTRL_PORT from DIR/env
  [ -f "$DIR/env" ] || die "no $DIR/env: simulators were never started there"
  BUS=$(set +u; . "$DIR/env"; echo "$DBUS_SESSION_BUS_ADDRESS")
  SWTPM_PORT=$(set +u; . "$DIR/env"; echo "$CERTD_SWTPM_PORT")
  SWTPM_CTRL_PORT=$(set +u; . "$DIR/env"; echo "$CERTD_SWTPM_CTRL_PORT")
}

lock_dir() { # serialise commands on one DIR; fd 9 is closed in every daemon we start
  exec 9<"$DIR"
  flock -w 120 9 || die "another simulators.sh holds $DIR for over 120 s"
}

# ---------------------------------------------------------------- commands
cmd_start() {
  local t0 t_install=""; t0=$(now_ms)
  ensure_packages
  [ "$(( $(now_ms) - t0 ))" -lt 1000 ] || t_install="; package install $(secs "$t0") s"
  t0=$(now_ms)
  mkdir -p "$DIR"
  lock_dir
  if [ -f "$MARK" ] && [ -f "$DIR/env" ] && [ "$(count_recs)" -ge 3 ] &&
     [ "$(count_alive)" = "$(count_recs)" ]; then
    say "already running in $DIR (pids: $(records | awk '{printf "%s%s", s, $2; s=" "}')); nothing started"
    return 0
  fi
  if [ -n "$(ls -A "$DIR")" ] && [ ! -f "$MARK" ]; then
    die "$DIR is not empty and was not made by this script; refusing to wipe it"
  fi
  stop_all >/dev/null 2>&1 || true   # leftovers of a half-dead run
  find "$DIR" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
  : >"$MARK"
  mkdir -p "$DIR/swtpm-state" "$DIR/tpm2-pkcs11" "$DIR/softhsm2/tokens"

  STARTING=1
  trap 'rc=$?; if [ "${STARTING:-0}" = 1 ]; then echo "$ME: start failed; stopping what it started" >&2; stop_all >/dev/null 2>&1 || true; fi; exit $rc' EXIT
  trap 'exit 130' INT TERM HUP

  # swtpm (retry with new ports if another process took them meanwhile)
  local try
  for try in 1 2 3 4 5; do
    SWTPM_PORT=$(free_port_pair) || die "could not find two free consecutive ports on 127.0.0.1"
    SWTPM_CTRL_PORT=$((SWTPM_PORT + 1))
    start_swtpm "$SWTPM_PORT" "$SWTPM_CTRL_PORT" && break
    [ "$try" = 5 ] && fail_piece swtpm "$DIR/swtpm.log" "could not start (ports taken?)"
  done

  # private D-Bus bus: only the broker's name may be owned; root (and the bus's own
  # user, which is dbus-daemon's default) may connect. No service activation.
  local sock="$DIR/dbus.sock" listen
  if [ ${#sock} -lt 100 ]; then listen="unix:path=$sock"; else listen="unix:dir=/tmp"; fi
  cat >"$DIR/dbus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>$listen</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="root"/>
    <!-- a bus config with no receive rule drops every reply, even the bus's own -->
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
    <deny own="*"/>
    <allow own="$TABRMD_NAME"/>
  </policy>
</busconfig>
EOF
  rm -f "$DIR/dbus.address" "$DIR/dbus.pid"
  dbus-daemon --config-file="$DIR/dbus.conf" --fork --nosyslog \
    --print-address=3 --print-pid=4 3>"$DIR/dbus.address" 4>"$DIR/dbus.pid" \
    </dev/null >>"$DIR/dbus-daemon.log" 2>&1 9<&- ||
    fail_piece dbus-daemon "$DIR/dbus-daemon.log" "dbus-daemon exited with an error"
  local i dpid
  for ((i = 0; i < 10 * TIMEOUT; i++)); do  # the forked daemon prints them once it listens
    [ -s "$DIR/dbus.pid" ] && [ -s "$DIR/dbus.address" ] && break; sleep 0.1
  done
  dpid=$(head -n1 "$DIR/dbus.pid")
  BUS=$(head -n1 "$DIR/dbus.address")
  [ -n "$dpid" ] && [ -n "$BUS" ] || fail_piece dbus-daemon "$DIR/dbus-daemon.log" "printed no pid/address"
  record dbus-daemon "$dpid" || fail_piece dbus-daemon "$DIR/dbus-daemon.log" "process $dpid exited at once"
  wait_for dbus-daemon "$DIR/dbus-daemon.log" "$dpid" \
    dbus-send --bus="$BUS" --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.GetId

  start_abrmd
  local t_daemons; t_daemons=$(secs "$t0")

  # tokens
  local t1; t1=$(now_ms)
  local tpm_pin tpm_so se_pin se_so
  tpm_pin=$(rand_pin) tpm_so=$(rand_pin) se_pin=$(rand_pin) se_so=$(rand_pin)
  write_secret "$DIR/tpm0.pin" "$tpm_pin"
  write_secret "$DIR/se0.pin" "$se_pin"
  local out pid
  out=$(DBUS_SESSION_BUS_ADDRESS=$BUS TPM2TOOLS_TCTI=$TABRMD_TCTI TPM2_PKCS11_TCTI=$TABRMD_TCTI \
        tpm2_ptool init --path="$DIR/tpm2-pkcs11" 2>>"$DIR/tpm2_ptool.log") ||
    fail_piece "tpm2_ptool init" "$DIR/tpm2_ptool.log" "exit $?"
  echo "$out" >>"$DIR/tpm2_ptool.log"
  pid=$(echo "$out" | awk '/^id:/ {print $2}')
  [ -n "$pid" ] || fail_piece "tpm2_ptool init" "$DIR/tpm2_ptool.log" "printed no primary id"
  DBUS_SESSION_BUS_ADDRESS=$BUS TPM2TOOLS_TCTI=$TABRMD_TCTI TPM2_PKCS11_TCTI=$TABRMD_TCTI \
    tpm2_ptool addtoken --path="$DIR/tpm2-pkcs11" --pid="$pid" --label=TPM0 \
      --userpin="$tpm_pin" --sopin="$tpm_so" >>"$DIR/tpm2_ptool.log" 2>&1 ||
    fail_piece "tpm2_ptool addtoken" "$DIR/tpm2_ptool.log" "exit $?"

  cat >"$DIR/softhsm2.conf" <<EOF
directories.tokendir = $DIR/softhsm2/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
EOF
  SOFTHSM2_CONF="$DIR/softhsm2.conf" softhsm2-util --init-token --free --label SE0 \
    --pin "$se_pin" --so-pin "$se_so" >>"$DIR/softhsm2-util.log" 2>&1 </dev/null ||
    fail_piece "softhsm2-util --init-token" "$DIR/softhsm2-util.log" "exit $?"
  local t_tokens; t_tokens=$(secs "$t1")

  {
    echo "# certd key-store simulators, written by scripts/simulators.sh start $(date -Is)"
    echo "export CERTD_SIM_DIR=$(q "$DIR")"
    echo "export DBUS_SESSION_BUS_ADDRESS=$(q "$BUS")"
    echo "export TPM2_PKCS11_STORE=$(q "$DIR/tpm2-pkcs11")"
    echo "export TPM2_PKCS11_TCTI=$(q "$TABRMD_TCTI")"
    echo "export TPM2_PKCS11_LOG_LEVEL=0"
    echo "export TPM2TOOLS_TCTI=$(q "$TABRMD_TCTI")"
    echo "export SOFTHSM2_CONF=$(q "$DIR/softhsm2.conf")"
    echo "export CERTD_TPM0_MODULE=$(q "$TPM0_MODULE")"
    echo "export CERTD_TPM0_TOKEN=TPM0"
    echo "export CERTD_TPM0_PIN_FILE=$(q "$DIR/tpm0.pin")"
    echo "export CERTD_SE0_MODULE=$(q "$SE0_MODULE")"
    echo "export CERTD_SE0_TOKEN=SE0"
    echo "export CERTD_SE0_PIN_FILE=$(q "$DIR/se0.pin")"
    echo "export CERTD_SWTPM_PORT=$SWTPM_PORT"
    echo "export CERTD_SWTPM_CTRL_PORT=$SWTPM_CTRL_PORT"
  } >"$DIR/env.tmp"
  chmod 600 "$DIR/env.tmp"; mv "$DIR/env.tmp" "$DIR/env"
  STARTING=0
  trap - EXIT INT TERM HUP
  say "started in $DIR in $(secs "$t0") s (daemons $t_daemons s, tokens $t_tokens s$t_install); swtpm on 127.0.0.1:$SWTPM_PORT/$SWTPM_CTRL_PORT; source $DIR/env"
}

cmd_stop() {
  if [ ! -d "$DIR" ]; then say "nothing to stop in $DIR"; return 0; fi
  lock_dir
  local n; n=$(count_alive)
  local rc=0
  stop_all || rc=1
  local removed=""
  if [ "$CLEAN" = 1 ]; then
    if [ -f "$MARK" ] || [ -z "$(ls -A "$DIR")" ]; then rm -rf "$DIR"; removed=", removed it"
    else echo "$ME: warning: $DIR has no .certd-sim marker; not removing it" >&2; fi
  fi
  say "stopped $n process(es) in $DIR$removed"
  return $rc
}

cmd_restart_tpm() {
  [ -d "$DIR" ] || die "no $DIR"
  lock_dir
  load_env
  local t0; t0=$(now_ms)
  local spid; spid=$(rec_pid swtpm)
  [ -n "$spid" ] || die "swtpm is not recorded in $PIDS: run start first"
  if [ "$POWER_LOSS" = 0 ]; then
    # orderly shutdown, as a rebooting camera does; skipping it counts as a DA failure
    DBUS_SESSION_BUS_ADDRESS=$BUS tpm2_shutdown -T "$TABRMD_TCTI" >>"$DIR/tpm2-abrmd.log" 2>&1 ||
      echo "$ME: warning: TPM2_Shutdown failed (see $DIR/tpm2-abrmd.log); restarting anyway" >&2
  fi
  STARTING=1
  trap 'rc=$?; if [ "${STARTING:-0}" = 1 ]; then echo "$ME: restart-tpm failed; stopping all simulators" >&2; stop_all >/dev/null 2>&1 || true; fi; exit $rc' EXIT
  stop_named swtpm
  echo "---- restart $(date -Is)" >>"$DIR/swtpm.log"
  local try
  for try in $(seq 1 30); do  # the ports were just freed; retry briefly if still bound
    start_swtpm "$SWTPM_PORT" "$SWTPM_CTRL_PORT" && break
    [ "$try" = 30 ] && fail_piece swtpm "$DIR/swtpm.log" "could not start again on ports $SWTPM_PORT/$SWTPM_CTRL_PORT"
    sleep 0.2
  done
  # tpm2-abrmd's swtpm TCTI reconnects by itself: keep the broker (and the D-Bus
  # connections of its clients) when it answers; restart it only if it does not.
  local apid abrmd="kept"; apid=$(rec_pid tpm2-abrmd)
  if [ -z "$apid" ] || ! TIMEOUT=5 wait_quiet "$apid" \
       env DBUS_SESSION_BUS_ADDRESS="$BUS" tpm2_getcap -T "$TABRMD_TCTI" properties-fixed; then
    echo "$ME: tpm2-abrmd does not answer after the TPM restart; restarting it" >&2
    stop_named tpm2-abrmd
    start_abrmd
    abrmd="restarted"
  fi
  STARTING=0
  trap - EXIT
  local lockout=""
  if [ "$POWER_LOSS" = 1 ]; then
    lockout=$(DBUS_SESSION_BUS_ADDRESS=$BUS tpm2_getcap -T "$TABRMD_TCTI" properties-variable 2>/dev/null |
              awk '/TPM2_PT_LOCKOUT_COUNTER/ {print $2}')
    lockout=", power loss: DA lockout counter now ${lockout:-?} (the TPM locks at 3)"
  fi
  say "TPM restarted in $(secs "$t0") s (swtpm restarted, tpm2-abrmd $abrmd$lockout)"
}

cmd_status() {
  if [ ! -f "$PIDS" ]; then say "not running in $DIR"; return 3; fi
  local n p s alive=0 total=0
  while read -r n p s; do
    total=$((total + 1))
    if is_ours "$p" "$s"; then alive=$((alive + 1)); echo "  $n $p running"; else echo "  $n $p gone"; fi
  done < <(records)
  if [ "$alive" = 0 ]; then say "not running in $DIR"; return 3; fi
  local ok=1
  if [ -f "$DIR/env" ]; then
    load_env
    if DBUS_SESSION_BUS_ADDRESS=$BUS tpm2_getcap -T "$TABRMD_TCTI" properties-fixed >/dev/null 2>&1; then
      echo "  TPM (swtpm 127.0.0.1:$SWTPM_PORT via tpm2-abrmd) answers"
    else echo "  TPM does not answer through tpm2-abrmd"; ok=0; fi
    if SOFTHSM2_CONF="$DIR/softhsm2.conf" softhsm2-util --show-slots 2>/dev/null | grep -q 'Label: *SE0'; then
      echo "  SoftHSM2 token SE0 present"
    else echo "  SoftHSM2 token SE0 missing"; ok=0; fi
  else ok=0; echo "  no $DIR/env: start did not finish"; fi
  if [ "$alive" = "$total" ] && [ "$ok" = 1 ]; then say "running in $DIR; source $DIR/env"; return 0; fi
  say "partly running in $DIR ($alive of $total processes)"; return 1
}

case "$CMD" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  restart-tpm) cmd_restart_tpm ;;
  status) cmd_status ;;
  -h|--help|help) usage ;;
  *) usage >&2; exit 2 ;;
esac
