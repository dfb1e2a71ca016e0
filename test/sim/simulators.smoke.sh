#!/usr/bin/env bash
# Smoke test of scripts/simulators.sh: start the simulators in a temp dir, list both tokens,
# make 5 EC P-256 keys in each token in ONE PKCS#11 session and sign with all of them while
# they are all loaded (more than swtpm's 3 transient slots: proves tpm2-abrmd virtualises
# them), restart the TPM and sign again with the same keys, stop, check that nothing of ours
# is left, then start once more in the same dir (a clean fresh start) and stop with --clean.
# Needs no package beyond those simulators.sh installs: the PKCS#11 client is python3 ctypes
# (python3 is on every machine of this project) and signatures are verified with node.
# Prints "smoke: N passed, N failed" last; exits non-zero on any failure.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SIM="$ROOT/scripts/simulators.sh"
T=$(mktemp -d /tmp/certd-sim-smoke.XXXXXX)
D="$T/sim"
KEYS=${SMOKE_KEYS:-5}
passed=0 failed=0

cleanup() {
  local rc=$?
  if [ -f "$D/pids" ]; then bash "$SIM" stop --clean "$D" >/dev/null 2>&1 || true; fi
  rm -rf "$T"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

ok() { passed=$((passed + 1)); echo "  ok   $*"; }
bad() { failed=$((failed + 1)); echo "  FAIL $*"; }
check() { # description command...
  local what=$1; shift
  local out
  if out=$("$@" 2>&1); then ok "$what"; else bad "$what"; echo "$out" | tail -n 20 | sed 's/^/       /'; fi
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
secs() { local ms=$(( $(now_ms) - $1 )); printf '%d.%01d' $((ms / 1000)) $(( (ms % 1000) / 100 )); }

# ---------------------------------------------------------------- PKCS#11 client (python3 ctypes)
cat >"$T/p11.py" <<'PY'
import ctypes as C, hashlib, json, sys
UL = C.c_ulong
class Attr(C.Structure): _fields_ = [("type", UL), ("pValue", C.c_void_p), ("ulValueLen", UL)]
class Mech(C.Structure): _fields_ = [("mechanism", UL), ("pParameter", C.c_void_p), ("ulParameterLen", UL)]
PUL, PA, PM, VP = C.POINTER(UL), C.POINTER(Attr), C.POINTER(Mech), C.c_void_p
SIGS = {
  "C_Initialize": [VP], "C_Finalize": [VP],
  "C_GetSlotList": [C.c_ubyte, PUL, PUL], "C_GetTokenInfo": [UL, VP],
  "C_OpenSession": [UL, UL, VP, VP, PUL], "C_CloseSession": [UL],
  "C_Login": [UL, UL, C.c_char_p, UL], "C_Logout": [UL],
  "C_GenerateKeyPair": [UL, PM, PA, UL, PA, UL, PUL, PUL],
  "C_GetAttributeValue": [UL, UL, PA, UL],
  "C_FindObjectsInit": [UL, PA, UL], "C_FindObjects": [UL, PUL, UL, PUL], "C_FindObjectsFinal": [UL],
  "C_SignInit": [UL, PM, UL], "C_Sign": [UL, C.c_char_p, UL, C.c_char_p, PUL],
}
CKA_CLASS, CKA_TOKEN, CKA_PRIVATE, CKA_LABEL, CKA_ID = 0x0, 0x1, 0x2, 0x3, 0x102
CKA_KEY_TYPE, CKA_SENSITIVE, CKA_SIGN, CKA_VERIFY, CKA_EC_PARAMS, CKA_EC_POINT = 0x100, 0x103, 0x108, 0x10A, 0x180, 0x181
CKO_PUBLIC_KEY, CKO_PRIVATE_KEY, CKK_EC = 2, 3, 3
CKM_EC_KEY_PAIR_GEN, CKM_ECDSA = 0x1040, 0x1041
CKF_RW_SESSION, CKF_SERIAL_SESSION, CKU_USER, CKF_TOKEN_INITIALIZED = 2, 4, 1, 0x400
P256 = bytes.fromhex("06082a8648ce3d030107")

class P11Error(Exception):
    def __init__(self, fn, rv): super().__init__("%s failed: rv=0x%x" % (fn, rv)); self.rv = rv

class Module:
    def __init__(self, path):
        self.lib = C.CDLL(path)
        for n, a in SIGS.items():
            f = getattr(self.lib, n); f.argtypes = a; f.restype = UL
        self.call("C_Initialize", None)
    def call(self, fn, *a):
        rv = getattr(self.lib, fn)(*a)
        if rv: raise P11Error(fn, rv)
    def finalize(self): self.call("C_Finalize", None)
    def tokens(self):
        n = UL(0); self.call("C_GetSlotList", 1, None, C.byref(n))
        ids = (UL * max(n.value, 1))(); self.call("C_GetSlotList", 1, ids, C.byref(n))
        out = []
        for s in ids[:n.value]:
            info = C.create_string_buffer(512); self.call("C_GetTokenInfo", s, info)
            flags = UL.from_buffer(info, 96).value
            if flags & CKF_TOKEN_INITIALIZED:
                out.append((s, info.raw[:32].decode().rstrip(" \0")))
        return out
    def session(self, label, pin):
        slots = [s for s, l in self.tokens() if l == label]
        if not slots: raise SystemExit("no token labelled %r" % label)
        h = UL(0)
        self.call("C_OpenSession", slots[0], CKF_SERIAL_SESSION | CKF_RW_SESSION, None, None, C.byref(h))
        self.call("C_Login", h.value, CKU_USER, pin, len(pin))
        return h.value

def template(pairs):
    keep, arr = [], (Attr * len(pairs))()
    for i, (t, v) in enumerate(pairs):
        if isinstance(v, bool): b = bytes([1 if v else 0])
        elif isinstance(v, int): b = bytes(UL(v))
        else: b = v
        buf = C.create_string_buffer(b, len(b)); keep.append(buf)
        arr[i].type, arr[i].pValue, arr[i].ulValueLen = t, C.cast(buf, C.c_void_p), len(b)
    return arr, keep

def get_attr(m, h, obj, t):
    a = (Attr * 1)(); a[0].type = t
    m.call("C_GetAttributeValue", h, obj, a, 1)
    buf = C.create_string_buffer(a[0].ulValueLen); a[0].pValue = C.cast(buf, C.c_void_p)
    m.call("C_GetAttributeValue", h, obj, a, 1)
    return buf.raw[:a[0].ulValueLen]

def find(m, h, pairs):
    arr, keep = template(pairs)
    m.call("C_FindObjectsInit", h, arr, len(pairs))
    objs, n, out = (UL * 64)(), UL(0), []
    while True:
        m.call("C_FindObjects", h, objs, 64, C.byref(n))
        if not n.value: break
        out += objs[:n.value]
    m.call("C_FindObjectsFinal", h)
    return out

def sign(m, h, key, msg):
    mech = Mech(CKM_ECDSA, None, 0)
    m.call("C_SignInit", h, C.byref(mech), key)
    digest = hashlib.sha256(msg).digest()
    sig, n = C.create_string_buffer(256), UL(256)
    m.call("C_Sign", h, digest, len(digest), sig, C.byref(n))
    return sig.raw[:n.value]

def point(raw):  # CKA_EC_POINT: DER OCTET STRING around 04|X|Y (or the bare point)
    if len(raw) == 67 and raw[0] == 4 and raw[1] == 65: raw = raw[2:]
    assert len(raw) == 65 and raw[0] == 4, raw.hex()
    return raw.hex()

def main():
    cmd, module = sys.argv[1], sys.argv[2]
    m = Module(module)
    if cmd == "list":
        for s, l in m.tokens(): print(l)
        m.finalize(); return
    label, pin = sys.argv[3], open(sys.argv[4], "rb").read().strip()
    prefix, out = sys.argv[5], sys.argv[6]
    h = m.session(label, pin)
    keys = []  # (label, private handle, public handle)
    if cmd == "gen":
        for i in range(int(sys.argv[7])):
            kl = ("%s-%d" % (prefix, i)).encode(); kid = kl
            pub, kp = template([(CKA_TOKEN, True), (CKA_VERIFY, True), (CKA_EC_PARAMS, P256),
                                (CKA_LABEL, kl), (CKA_ID, kid)])
            prv, kv = template([(CKA_TOKEN, True), (CKA_PRIVATE, True), (CKA_SENSITIVE, True),
                                (CKA_SIGN, True), (CKA_LABEL, kl), (CKA_ID, kid)])
            hpub, hprv = UL(0), UL(0)
            mech = Mech(CKM_EC_KEY_PAIR_GEN, None, 0)
            m.call("C_GenerateKeyPair", h, C.byref(mech), pub, 5, prv, 6, C.byref(hpub), C.byref(hprv))
            keys.append((kl.decode(), hprv.value, hpub.value))
    elif cmd == "sign":
        for prv in find(m, h, [(CKA_CLASS, CKO_PRIVATE_KEY)]):
            kl = get_attr(m, h, prv, CKA_LABEL).decode()
            if not kl.startswith(prefix + "-"): continue
            pubs = find(m, h, [(CKA_CLASS, CKO_PUBLIC_KEY), (CKA_ID, get_attr(m, h, prv, CKA_ID))])
            keys.append((kl, prv, pubs[0]))
    else:
        raise SystemExit("unknown command " + cmd)
    # sign with every key in the same session: all of them are loaded in the TPM at once
    res = []
    for kl, prv, pub in sorted(keys):
        msg = ("certd smoke " + kl).encode()
        res.append({"label": kl, "point": point(get_attr(m, h, pub, CKA_EC_POINT)),
                    "msg": msg.hex(), "sig": sign(m, h, prv, msg).hex()})
    m.call("C_Logout", h); m.call("C_CloseSession", h); m.finalize()
    json.dump(res, open(out, "w"))
    print(len(res))

main()
PY

# ---------------------------------------------------------------- verifier (node crypto)
cat >"$T/verify.js" <<'JS'
// verify.js RESULT.json N [REFERENCE.json]: N signatures, all valid, and (with a reference)
// made by exactly the keys of the reference.
const crypto = require("crypto"), fs = require("fs");
const [file, n, ref] = process.argv.slice(2);
const res = JSON.parse(fs.readFileSync(file, "utf8"));
const b64u = (b) => b.toString("base64url");
if (res.length !== Number(n)) throw new Error(`expected ${n} signatures, got ${res.length}`);
for (const r of res) {
  const p = Buffer.from(r.point, "hex");
  const key = crypto.createPublicKey({ format: "jwk", key: { kty: "EC", crv: "P-256",
    x: b64u(p.subarray(1, 33)), y: b64u(p.subarray(33, 65)) } });
  const ok = crypto.verify("sha256", Buffer.from(r.msg, "hex"),
    { key, dsaEncoding: "ieee-p1363" }, Buffer.from(r.sig, "hex"));
  if (!ok) throw new Error(`bad signature by ${r.label}`);
}
if (ref) {
  const a = JSON.parse(fs.readFileSync(ref, "utf8")).map((r) => r.label + r.point).sort();
  const b = res.map((r) => r.label + r.point).sort();
  if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error("not the same keys as before");
}
JS

p11() { python3 "$T/p11.py" "$@"; }
tokens_are() { # module expected-label
  local got; got=$(p11 list "$1")
  echo "tokens: $got"
  echo "$got" | grep -qx "$2"
}
gen_sign() { # module token pinfile prefix out n
  p11 gen "$1" "$2" "$3" "$4" "$5" "$6" >/dev/null && node "$T/verify.js" "$5" "$6"
}
sign_again() { # module token pinfile prefix out n ref
  p11 sign "$1" "$2" "$3" "$4" "$5" >/dev/null && node "$T/verify.js" "$5" "$6" "$7"
}
none_left() { # pids-copy: none of the recorded processes alive, and no process names our dir
  local n p s left=""
  while read -r n p s; do  # same pid and start time, and not a zombie waiting to be reaped
    local st; st=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $1, $20}' || true)
    [ -n "$st" ] && [ "${st#* }" = "$s" ] && [ "${st%% *}" != Z ] && left+=" $n:$p"
  done <"$1"
  local named; named=$(ps -eo pid=,args= | grep -F "$D" | grep -v -e grep -e simulators.smoke || true)
  [ -z "$left" ] && [ -z "$named" ] || { echo "left running:$left $named"; return 1; }
}
same_pids() { cmp -s "$1" "$D/pids"; }

echo "simulators smoke test in $D"
t0=$(now_ms)
out=$(bash "$SIM" start "$D" 2>&1) || { echo "$out"; bad "start"; echo "smoke: $passed passed, $failed failed"; exit 1; }
echo "$out"
ok "start (wall $(secs "$t0") s)"
# shellcheck disable=SC1091
. "$D/env"
cp "$D/pids" "$T/pids.1"
check "second start starts nothing" bash -c "bash '$SIM' start '$D' | grep -q 'already running'"
check "pids unchanged by the second start" same_pids "$T/pids.1"
check "status" bash "$SIM" status "$D"
check "env and pin files are 0600" bash -c "[ \$(stat -c %a '$D/env' '$D/tpm0.pin' '$D/se0.pin' | sort -u) = 600 ]"
check "TPM0 module lists token TPM0" tokens_are "$CERTD_TPM0_MODULE" "$CERTD_TPM0_TOKEN"
check "SE0 module lists token SE0" tokens_are "$CERTD_SE0_MODULE" "$CERTD_SE0_TOKEN"
t1=$(now_ms)
check "TPM0: $KEYS P-256 keys in one session, all signing" \
  gen_sign "$CERTD_TPM0_MODULE" "$CERTD_TPM0_TOKEN" "$CERTD_TPM0_PIN_FILE" tpm "$T/tpm.json" "$KEYS"
echo "       TPM0 keygen+sign: $(secs "$t1") s"
t1=$(now_ms)
check "SE0: $KEYS P-256 keys in one session, all signing" \
  gen_sign "$CERTD_SE0_MODULE" "$CERTD_SE0_TOKEN" "$CERTD_SE0_PIN_FILE" se "$T/se.json" "$KEYS"
echo "       SE0 keygen+sign: $(secs "$t1") s"
check "TPM0: $((KEYS * 2)) keys in one session (second batch)" \
  gen_sign "$CERTD_TPM0_MODULE" "$CERTD_TPM0_TOKEN" "$CERTD_TPM0_PIN_FILE" tpm2nd "$T/tpm2nd.json" "$((KEYS * 2))"

t1=$(now_ms)
check "restart-tpm" bash "$SIM" restart-tpm "$D"
echo "       restart-tpm: $(secs "$t1") s"
check "status after restart-tpm" bash "$SIM" status "$D"
check "TPM0 keys still sign after restart-tpm (same keys)" \
  sign_again "$CERTD_TPM0_MODULE" "$CERTD_TPM0_TOKEN" "$CERTD_TPM0_PIN_FILE" tpm "$T/tpm.after.json" "$KEYS" "$T/tpm.json"
check "SE0 keys still sign (same keys)" \
  sign_again "$CERTD_SE0_MODULE" "$CERTD_SE0_TOKEN" "$CERTD_SE0_PIN_FILE" se "$T/se.after.json" "$KEYS" "$T/se.json"

cp "$D/pids" "$T/pids.2"
check "stop" bash "$SIM" stop "$D"
check "no process of ours left after stop" none_left "$T/pids.2"
check "stop again is a no-op" bash "$SIM" stop "$D"
check "status says stopped (exit 3)" bash -c "bash '$SIM' status '$D' >/dev/null; [ \$? = 3 ]"
check "logs kept after stop" test -s "$D/tpm2_ptool.log"

# a second, fresh start in the same dir: new ports and PINs, old keys gone
old_pin=$(cat "$D/tpm0.pin")
t0=$(now_ms)
check "start again in the same dir" bash "$SIM" start "$D"
echo "       second start: $(secs "$t0") s"
. "$D/env"
check "fresh PINs" bash -c "[ \"\$(cat '$D/tpm0.pin')\" != '$old_pin' ]"
check "fresh TPM0 token has no old keys, makes new ones" \
  bash -c "python3 '$T/p11.py' sign '$CERTD_TPM0_MODULE' TPM0 '$CERTD_TPM0_PIN_FILE' tpm '$T/x.json' | grep -qx 0 &&
           python3 '$T/p11.py' gen '$CERTD_TPM0_MODULE' TPM0 '$CERTD_TPM0_PIN_FILE' tpm '$T/y.json' 1 >/dev/null &&
           node '$T/verify.js' '$T/y.json' 1"
cp "$D/pids" "$T/pids.3"
check "stop --clean" bash "$SIM" stop --clean "$D"
check "no process of ours left, dir removed" bash -c "! test -e '$D'" 
check "no process of ours left after the second stop" none_left "$T/pids.3"

echo "smoke: $passed passed, $failed failed"
[ "$failed" = 0 ]
