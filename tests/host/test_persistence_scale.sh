#!/bin/sh
# test_persistence_scale.sh: measures how long vmcryptd takes, with the
# KMS down, to start and have N (default 200 in the suite; the figure in
# the issue note is VMCRYPT_PERSIST_N=1000) persisted
# KEKs usable: N KEKs are created on a real pykmip-server with persistence
# on, then the daemon, the KMS and the swtpm are stopped, swtpm is started
# again on the same state (a reboot) and the daemon restarted without the
# KMS. Reported: daemon start to ready, the unseal+load time from the
# persist.loaded event, and the time to fetch all N KEKs over one control
# connection (every fingerprint must match the one seen before).
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
. tests/host/daemon-common.sh
command -v swtpm >/dev/null || tap_skip_all "swtpm not installed (scripts/install-deps)"
command -v pykmip-server >/dev/null || tap_skip_all "pykmip-server not installed (scripts/install-deps)"
h_setup
trap 'scripts/swtpm-test stop "$T/tpm" >/dev/null 2>&1; swtpm_kill_all; h_cleanup' EXIT
N=${VMCRYPT_PERSIST_N:-200}

# One connection, many requests: the daemon's cost, not process start-up.
cat >"$T/client.py" <<'PYEOF'
import json, socket, struct, sys
sock, op, infile, outfile = sys.argv[1:5]
s = socket.socket(socket.AF_UNIX); s.connect(sock)
def call(o, args):
    b = json.dumps({"version": 1, "op": o, "args": args}).encode()
    s.sendall(struct.pack(">I", len(b)) + b)
    def rd(n):
        d = b""
        while len(d) < n:
            c = s.recv(n - len(d))
            if not c: raise SystemExit("connection closed")
            d += c
        return d
    (n,) = struct.unpack(">I", rd(4))
    return json.loads(rd(n))
out = open(outfile, "w")
for line in open(infile):
    a = json.loads(line)
    r = call(op, a)
    if not r.get("ok"):
        print("error:", r.get("error"), file=sys.stderr); sys.exit(1)
    res = r["result"]
    out.write("%s %s\n" % (res.get("id", ""), res.get("fingerprint", "")))
PYEOF

scripts/swtpm-test start "$T/tpm" >/dev/null || { tap_fail "start swtpm"; tap_done; }
swtpm_track "$T/tpm"
TCTI=$(. "$T/tpm/env" && echo "$TPM_TCTI")
h_kms_start "$T/kms1" || { tap_fail "start pykmip-server"; tap_done; }
. "$T/kms1/env"
h_daemon_start d "tpm_tcti = $TCTI" || { tap_fail "start vmcryptd"; tap_done; }
h_ctl d provider add kms1 --kmip "127.0.0.1:$KMIP_PORT" --ca "$KMIP_CA" --cert "$KMIP_CERT" \
	--key "$KMIP_KEY" >/dev/null || { tap_fail "add provider"; tap_done; }
h_ctl d persistence enable --pcrs 7 >/dev/null || { tap_fail "enable persistence"; tap_done; }

$PY -c 'import json,sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"vm_name": "vm%d" % i, "vm_uuid": "aaaaaaaa-bbbb-4ccc-8ddd-%012d" % i}))' "$N" >"$T/create.in"
t0=$(date +%s%N)
$PY "$T/client.py" "$T/d/sock" key.create "$T/create.in" "$T/created" 2>"$T/err" ||
	{ tap_fail "create $N KEKs" "$(cat "$T/err")"; tap_done; }
echo "# created $N KEKs on pykmip-server in $((($(date +%s%N) - t0) / 1000000)) ms (persistence on)"
$PY -c 'import json,sys
for l in open(sys.argv[1]): print(json.dumps({"id": l.split()[0]}))' "$T/created" >"$T/fetch.in"
$PY "$T/client.py" "$T/d/sock" key.fetch "$T/fetch.in" "$T/before" 2>"$T/err" ||
	{ tap_fail "fingerprints before" "$(cat "$T/err")"; tap_done; }
n=$(h_ctl d persistence status --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["keys_cached"])')
[ "$n" = "$N" ] && tap_ok "$N KEKs in the persisted cache" || tap_fail "cache count" "$n"
echo "# cache file: $(stat -c %s "$T/d/state/persist/cache") bytes for $N KEKs"

h_daemon_stop d
h_kms_stop "$T/kms1"
scripts/swtpm-test restart "$T/tpm" >/dev/null || tap_fail "swtpm restart"
swtpm_track "$T/tpm"
TCTI=$(. "$T/tpm/env" && echo "$TPM_TCTI")
t0=$(date +%s%N)
h_daemon_start d "tpm_tcti = $TCTI" || { tap_fail "restart vmcryptd"; tap_done; }
t1=$(date +%s%N)
$PY "$T/client.py" "$T/d/sock" key.fetch "$T/fetch.in" "$T/after" 2>"$T/err" ||
	{ tap_fail "fetch all with the KMS down" "$(cat "$T/err")"; tap_done; }
t2=$(date +%s%N)
load=$($PY -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["event"] == "persist.loaded": d = r["detail"]
print(d)' "$(h_events d)")
echo "# KMS down: vmcryptd start to ready $((($t1 - $t0) / 1000000)) ms ($load);" \
	"all $N KEKs fetched in $((($t2 - $t1) / 1000000)) ms; start to all usable $((($t2 - $t0) / 1000000)) ms"
cmp -s "$T/before" "$T/after" && tap_ok "KMS down: all $N KEKs usable after restart, same fingerprints" ||
	tap_fail "fingerprints after restart" "$(diff "$T/before" "$T/after" | head -5)"
h_daemons_final
tap_done
