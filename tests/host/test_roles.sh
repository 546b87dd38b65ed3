#!/bin/sh
# test_roles.sh: authorisation by SO_PEERCRED against roles mapped from
# Unix groups. Creates throwaway groups and users (removed at exit), runs
# vmcryptctl as each with setpriv, and checks what each role may do, the
# exact refusal text, the "request.refused" events, uid 0 = admin, and a
# role change applied by SIGHUP. Needs root and a real KMS for key ops.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
. tests/host/daemon-common.sh
[ "$(id -u)" = 0 ] || tap_skip_all "needs root (useradd/groupadd)"
command -v useradd >/dev/null && command -v setpriv >/dev/null || tap_skip_all "needs useradd and setpriv"
command -v pykmip-server >/dev/null || tap_skip_all "pykmip-server not installed (scripts/install-deps)"
h_setup

sfx=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
GA=vmca$sfx GO=vmco$sfx GV=vmcv$sfx
UA=vmua$sfx UO=vmuo$sfx UV=vmuv$sfx UN=vmun$sfx
for g in $GA $GO $GV; do groupadd "$g" && H_GROUPS="$H_GROUPS $g"; done
useradd -M -N -g users -G "$GA" -s /usr/sbin/nologin "$UA" && H_USERS="$H_USERS $UA"
useradd -M -N -g users -G "$GO" -s /usr/sbin/nologin "$UO" && H_USERS="$H_USERS $UO"
useradd -M -N -g users -G "$GV" -s /usr/sbin/nologin "$UV" && H_USERS="$H_USERS $UV"
useradd -M -N -g users -s /usr/sbin/nologin "$UN" && H_USERS="$H_USERS $UN"
id "$UN" >/dev/null 2>&1 || { tap_fail "create test users"; tap_done; }

CONF="admin_groups = $GA
operator_groups = $GO
viewer_groups = $GV"
h_kms_start "$T/kms1" || { tap_fail "start pykmip-server"; tap_done; }
. "$T/kms1/env"
h_daemon_start d "$CONF" || { tap_fail "start vmcryptd"; tap_done; }
h_ctl d provider add kms --kmip "127.0.0.1:$KMIP_PORT" --ca "$KMIP_CA" --cert "$KMIP_CERT" --key "$KMIP_KEY" >/dev/null ||
	tap_fail "root adds a provider"
UUID=3c9b2a10-4d5e-4f60-8a7b-9c0d1e2f3a4b
KID=$(h_ctl d key create --vm-name roles --vm-uuid "$UUID")

as() {
	_u=$1
	shift
	setpriv --reuid="$_u" --regid="$(id -g "$_u")" --init-groups \
		env VMCRYPT_SOCKET="$T/d/sock" "$VMCRYPTCTL" "$@"
}

# ping tells each user their role
for pair in "$UA:admin" "$UO:operator" "$UV:viewer" "$UN:none"; do
	u=${pair%%:*} want=${pair#*:}
	got=$(as "$u" ping --json 2>&1 | $PY -c 'import json,sys; print(json.load(sys.stdin)["role"])' 2>&1)
	[ "$got" = "$want" ] && tap_ok "ping: $u has role $want" || tap_fail "role of $u" "got '$got'"
done

# viewer: reads, never a key
as "$UV" provider list >/dev/null 2>&1 && tap_ok "viewer: provider list" || tap_fail "viewer: provider list"
as "$UV" events --format json >/dev/null 2>&1 && tap_ok "viewer: events" || tap_fail "viewer: events"
as "$UV" key list >/dev/null 2>&1 && tap_ok "viewer: key list" || tap_fail "viewer: key list"
h_expect_status 4 "viewer: key create refused with the exact reason" \
	"^vmcryptctl: permission denied: operation 'key.create' needs role operator; user $UV has role viewer$" \
	as "$UV" key create --vm-name v --vm-uuid "$UUID"
h_expect_status 4 "viewer: key fetch refused" "permission denied: operation 'key.fetch' needs role operator; user $UV has role viewer" \
	as "$UV" key fetch "$KID"
h_expect_status 4 "viewer: provider add refused" "permission denied: operation 'provider.add' needs role admin; user $UV has role viewer" \
	as "$UV" provider add x --kmip 127.0.0.1:1 --ca "$KMIP_CA" --cert "$KMIP_CERT" --key "$KMIP_KEY"

# operator: keys yes, providers no
KO=$(as "$UO" key create --vm-name opvm --vm-uuid 5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d 2>"$T/err")
[ -n "$KO" ] && tap_ok "operator: key create" || tap_fail "operator: key create" "$(cat "$T/err")"
as "$UO" key fetch "$KID" >/dev/null 2>&1 && tap_ok "operator: key fetch" || tap_fail "operator: key fetch"
h_expect_status 4 "operator: provider remove refused" "permission denied: operation 'provider.remove' needs role admin; user $UO has role operator" \
	as "$UO" provider remove kms
h_expect_status 4 "operator: provider test refused" "needs role admin; user $UO has role operator" as "$UO" provider test kms

# admin by group, and root
as "$UA" provider set-default kms >/dev/null 2>&1 && tap_ok "admin group: provider set-default" || tap_fail "admin: set-default"
h_ctl d provider test kms >/dev/null 2>&1 && tap_ok "uid 0 is admin" || tap_fail "uid 0 admin"

# no role: only ping
as "$UN" ping >/dev/null 2>&1 && tap_ok "no role: ping allowed" || tap_fail "no role: ping"
h_expect_status 4 "no role: provider list refused" "permission denied: operation 'provider.list' needs role viewer; user $UN has no vmcrypt role" \
	as "$UN" provider list
h_expect_status 4 "no role: events refused" "needs role viewer; user $UN has no vmcrypt role" as "$UN" events

# every refusal is an event with who and what
h_event_has d "r['event']=='request.refused' and r['user']=='$UV' and r['op']=='key.create' and r['result']=='refused' and r['uid']==$(id -u "$UV") and 'needs role operator' in r['error']" &&
	tap_ok "refusal recorded: uid, user, op, reason" || tap_fail "request.refused event"
h_event_has d "r['event']=='key.created' and r['user']=='$UO' and r['key_id']=='$KO'" &&
	tap_ok "operator's key creation recorded under their name" || tap_fail "key.created by operator"

# A refused request's passphrase is wiped like a served one's: the role
# check runs before any handler, the version check before the role check.
printf 'operator tried this passphrase\n' >"$T/opass"
chown "$UO" "$T/opass"
chmod 600 "$T/opass"
h_expect_status 4 "operator: provider backup refused" \
	"permission denied: operation 'provider.backup' needs role admin; user $UO has role operator" \
	as "$UO" provider backup kms --out "/tmp/vmcrypt-never-$sfx.p12" --passphrase-file "$T/opass"
$PY -c 'import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
b = json.dumps({"version": 2, "op": "provider.backup",
                "args": {"name": "kms", "passphrase": "sent with version two"}}).encode()
s.sendall(struct.pack(">I", len(b)) + b)
h = s.recv(4); d = s.recv(struct.unpack(">I", h)[0])
sys.exit(0 if b"version 2 is not supported" in d else 1)' "$T/d/sock" &&
	tap_ok "a request of another protocol version refused" ||
	tap_fail "a request of another protocol version refused"
h_secret_gone "passphrases of refused requests wiped from vmcryptd's memory" d \
	"operator tried this passphrase" "sent with version two"

# SIGHUP: make the viewer group operators; takes effect without restart
printf '%s\n' "admin_groups = $GA" "operator_groups = $GO, $GV" >"$T/d.conf"
kill -HUP "$(cat "$T/d.dpid")"
sleep 0.5
got=$(as "$UV" ping --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["role"])')
[ "$got" = operator ] && as "$UV" key fetch "$KID" >/dev/null 2>&1 &&
	tap_ok "SIGHUP applies new role mapping" || tap_fail "SIGHUP role change" "role $got"

h_daemon_final d
tap_done
