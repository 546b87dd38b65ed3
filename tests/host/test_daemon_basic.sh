#!/bin/sh
# test_daemon_basic.sh: vmcryptd lifecycle and control protocol, no KMS:
# start/ping, file modes, bad config refused with FILE:LINE, a second
# daemon on the same socket refused, protocol version and size caps,
# unknown ops, connection caps (global, per user, slots kept for role
# holders), out of descriptors on accept, CLI exit codes and messages,
# --help everywhere, sd_notify READY=1, SIGHUP reload, SIGTERM clean
# shutdown.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
. tests/host/daemon-common.sh
h_setup

# --- start, ping, modes
if h_daemon_start d1 "log_level = debug"; then tap_ok "daemon starts and answers ping"; else tap_fail "daemon starts and answers ping"; tap_done; fi
out=$(h_ctl d1 ping --json)
echo "$out" | $PY -c 'import json,sys; r=json.load(sys.stdin); sys.exit(0 if r["version"]==1 and r["role"]=="admin" and r["user"]=="root" else 1)' &&
	tap_ok "ping reports protocol 1, user root, role admin" || tap_fail "ping reports protocol 1, user root, role admin" "$out"
[ "$(stat -c %a "$T/d1/state")" = 700 ] && tap_ok "state dir is 0700" || tap_fail "state dir is 0700" "$(stat -c %a "$T/d1/state")"
[ "$(stat -c %a "$T/d1/sock")" = 666 ] && tap_ok "socket is 0666 (authorisation by SO_PEERCRED)" || tap_fail "socket is 0666" "$(stat -c %a "$T/d1/sock")"
[ "$(stat -c %a "$(h_events d1)")" = 600 ] && tap_ok "events.jsonl is 0600" || tap_fail "events.jsonl is 0600"
h_event_has d1 'r["event"]=="daemon.started" and r["result"]=="ok"' && tap_ok "daemon.started event" || tap_fail "daemon.started event"

# --- a second daemon on the same socket
if "$VMCRYPTD" --foreground --config /dev/null --state-dir "$T/d1b" --socket "$T/d1/sock" >"$T/second.log" 2>&1; then
	tap_fail "second vmcryptd on the same socket refused" "it started"
else
	grep -q "another vmcryptd is already serving $T/d1/sock" "$T/second.log" &&
		tap_ok "second vmcryptd on the same socket refused" ||
		tap_fail "second vmcryptd on the same socket refused" "$(cat "$T/second.log")"
fi
h_ctl d1 ping >/dev/null && tap_ok "first daemon unaffected by the refused second" || tap_fail "first daemon unaffected by the refused second"

# --- bad configuration
printf 'log_level = info\n# fine\nmax_clients = lots\n' >"$T/bad.conf"
if "$VMCRYPTD" --foreground --config "$T/bad.conf" --state-dir "$T/bad" --socket "$T/bad.sock" >"$T/bad.log" 2>&1; then
	tap_fail "bad config line refused with FILE:LINE" "daemon started"
else
	grep -q "$T/bad.conf:3: max_clients: 'lots' is not an integer (range 1..1024)" "$T/bad.log" &&
		[ ! -e "$T/bad.sock" ] &&
		tap_ok "bad config line refused with FILE:LINE" ||
		tap_fail "bad config line refused with FILE:LINE" "$(cat "$T/bad.log")"
fi
if "$VMCRYPTD" --foreground --config "$T/missing.conf" --state-dir "$T/bad" --socket "$T/bad.sock" >"$T/bad.log" 2>&1; then
	tap_fail "missing explicit config refused" "daemon started"
else
	grep -q "$T/missing.conf: No such file or directory" "$T/bad.log" &&
		tap_ok "missing explicit config refused" || tap_fail "missing explicit config refused" "$(cat "$T/bad.log")"
fi
"$VMCRYPTD" --bogus >/dev/null 2>&1; [ $? -eq 2 ] && tap_ok "vmcryptd usage error exits 2" || tap_fail "vmcryptd usage error exits 2"

# --- a damaged providers.json: vmcryptd does not start, and says why
: >"$T/empty.conf"
pj_kmip() {	# pj_kmip NAME: one kmip provider entry
	printf '{"name":"%s","type":"kmip","config":{"servers":["127.0.0.1:5696"],"ca":"/c","cert":"/c","key":"/k"}}' "$1"
}
bad_providers() {	# bad_providers DESC LOG_TEXT JSON
	rm -rf "$T/pj"
	mkdir "$T/pj" && mkdir -m 700 "$T/pj/state"
	printf '%s\n' "$3" >"$T/pj/state/providers.json"
	chmod 600 "$T/pj/state/providers.json"
	if timeout 20 "$VMCRYPTD" --foreground --config "$T/empty.conf" --state-dir "$T/pj/state" \
		--socket "$T/pj/sock" >"$T/pj.log" 2>&1; then
		tap_fail "$1" "daemon started"
	else
		grep -qF -- "$2" "$T/pj.log" && [ ! -e "$T/pj/sock" ] && tap_ok "$1" ||
			tap_fail "$1" "$(tail -n 3 "$T/pj.log")"
	fi
}
bad_providers "providers.json: a name that is a path refused" \
	"providers.json: provider entry 0: the name is not a valid provider name" \
	"{\"version\":1,\"default\":\"../../etc\",\"providers\":[$(pj_kmip ../../etc)]}"
bad_providers "providers.json: a name listed twice refused" \
	"providers.json: provider entry 1: the name is listed twice" \
	"{\"version\":1,\"default\":\"a\",\"providers\":[$(pj_kmip a),$(pj_kmip a)]}"
bad_providers "providers.json: a default that is not a provider refused" \
	"providers.json: the default provider is not one of the providers" \
	"{\"version\":1,\"default\":\"b\",\"providers\":[$(pj_kmip a)]}"
many=$(pj_kmip p1)
for i in $(seq 2 65); do many="$many,$(pj_kmip "p$i")"; done
bad_providers "providers.json: more providers than the limit refused, not cut short" \
	"providers.json: 65 providers, more than the limit of 64" \
	"{\"version\":1,\"default\":\"p1\",\"providers\":[$many]}"

# --- a damaged vms.json: vmcryptd does not start (it would forget which
# KEK each VM has), the log names the entry and the member, and the file
# is left as it was
VU0=0f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f
VU1=564d2f1e-0d3c-4b5a-9e8f-1a2b3c4d5e6f
vm_entry() {	# vm_entry UUID NAME KEK_ID_JSON: one entry of vms.json
	printf '{"vm_uuid":"%s","vm_name":"%s","provider":"kms1","kek_id":%s,"created":"2026-11-24T06:31:29.022Z"}' \
		"$1" "$2" "$3"
}
bad_vms() {	# bad_vms DESC LOG_TEXT JSON
	rm -rf "$T/vj"
	mkdir -p -m 700 "$T/vj/state"
	printf '%s\n' "$3" >"$T/vj/state/vms.json"
	chmod 600 "$T/vj/state/vms.json"
	cp "$T/vj/state/vms.json" "$T/vj.orig"
	if timeout 20 "$VMCRYPTD" --foreground --config "$T/empty.conf" --state-dir "$T/vj/state" \
		--socket "$T/vj/sock" >"$T/vj.log" 2>&1; then
		tap_fail "$1" "daemon started"
	else
		grep -qF -- "$2" "$T/vj.log" && [ ! -e "$T/vj/sock" ] &&
			cmp -s "$T/vj.orig" "$T/vj/state/vms.json" && tap_ok "$1" ||
			tap_fail "$1" "$(tail -n 3 "$T/vj.log")"
	fi
}
bad_vms "vms.json: a control character in a kek_id refused, entry and member named" \
	"vms.json: not a valid VM map: entry 1 (VM $VU1): kek_id has a control character" \
	"{\"version\":1,\"vms\":[$(vm_entry $VU0 db '"42"'),$(vm_entry $VU1 web '"43\u001b[2J"')]}"
long_id=$(printf '"%0300d"' 0)
bad_vms "vms.json: a 300-byte kek_id refused, entry and member named" \
	"vms.json: not a valid VM map: entry 0 (VM $VU0): kek_id is longer than 255 bytes (300)" \
	"{\"version\":1,\"vms\":[$(vm_entry $VU0 db "$long_id")]}"
bad_vms "vms.json: a VM name a request could not give refused" \
	"vms.json: not a valid VM map: entry 0 (VM $VU0): vm_name is not a valid VM name" \
	"{\"version\":1,\"vms\":[$(vm_entry $VU0 -db '"42"')]}"
bad_vms "vms.json: a VM listed twice refused" \
	"vms.json: not a valid VM map: entries 0 and 1 are both for VM $VU0" \
	"{\"version\":1,\"vms\":[$(vm_entry $VU0 db '"42"'),$(vm_entry $VU0 db '"43"')]}"
# a valid map (as vmcryptd writes it) still loads, in order, unchanged
mkdir -p -m 700 "$T/vm/state"
printf '{\n  "version":1,\n  "vms":[\n    %s,\n    %s\n  ]\n}' "$(vm_entry $VU0 db.prod-2 '"native:weak:'$VU0'"')" \
	"$(vm_entry $VU1 'web 1' '"42"')" >"$T/vm/state/vms.json"
chmod 600 "$T/vm/state/vms.json"
cp "$T/vm/state/vms.json" "$T/vm.orig"
if h_daemon_start vm; then
	out=$(h_ctl vm key list --json)
	echo "$out" | $PY -c 'import json,sys; v=json.load(sys.stdin)["vms"]
sys.exit(0 if [(x["vm_uuid"], x["vm_name"], x["provider"], x["kek_id"]) for x in v] ==
	[(sys.argv[1], "db.prod-2", "kms1", "native:weak:" + sys.argv[1]), (sys.argv[2], "web 1", "kms1", "42")] else 1)' "$VU0" "$VU1" &&
		cmp -s "$T/vm.orig" "$T/vm/state/vms.json" && grep -q "2 VM(s) in the VM map" "$T/vm.log" &&
		tap_ok "vms.json: a valid map loads, listed in file order" ||
		tap_fail "vms.json: a valid map loads, listed in file order" "$out"
	h_daemon_final vm
else
	tap_fail "vms.json: a valid map loads, listed in file order" "daemon did not start"
fi

# the Python control-socket client of the cases below (imported by their
# scripts, which live next to it in $T)
cat >"$T/vmcclient.py" <<'PYEOF'
import json, socket, struct
def connect(path):
    s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(path); return s
def recvn(s, n):
    d = b""
    while len(d) < n:
        c = s.recv(n - len(d))
        if not c:
            return None
        d += c
    return d
def call(s):
    """ping on s; the answer, or None if the daemon closed without one"""
    b = json.dumps({"version": 1, "op": "ping"}).encode()
    try:
        s.sendall(struct.pack(">I", len(b)) + b)
    except OSError:
        pass	# a refused client may be closed already; its answer is queued
    try:
        h = recvn(s, 4)
        d = h and recvn(s, struct.unpack(">I", h)[0])
    except OSError:
        return None
    return json.loads(d) if d else None
PYEOF

# --- raw protocol: version, size cap, garbage, unknown op
cat >"$T/raw.py" <<'PYEOF'
import json, socket, struct, sys
from vmcclient import recvn
path, case = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(path)
def send(obj=None, raw=None, length=None):
    b = raw if raw is not None else json.dumps(obj).encode()
    s.sendall(struct.pack(">I", len(b) if length is None else length) + b)
def recv():
    h = recvn(s, 4)
    d = h and recvn(s, struct.unpack(">I", h)[0])
    return json.loads(d) if d else None
def closed():
    try:
        return s.recv(1) == b""
    except OSError:
        return True
if case == "version":
    send({"version": 2, "op": "ping"})
    r = recv()
    ok = r and not r["ok"] and "version 2 is not supported" in r["error"] and closed()
elif case == "toobig":
    send(length=70000, raw=b"")
    r = recv()
    ok = r and not r["ok"] and "too large" in r["error"] and closed()
elif case == "garbage":
    send(raw=b"this is not json")
    r = recv()
    ok = r and not r["ok"] and "not valid JSON" in r["error"] and closed()
elif case == "unknown":
    send({"version": 1, "op": "no.such-op"})
    r = recv()
    ok = r and not r["ok"] and "unknown operation 'no.such-op'" in r["error"]
    send({"version": 1, "op": "ping"})
    r = recv()
    ok = ok and r and r["ok"]
elif case == "pipeline":
    for i in range(50):
        send({"version": 1, "op": "ping"})
    ok = all(recv()["ok"] for i in range(50))
    r = "50 pings answered in order"
elif case == "badargs":
    send({"version": 1, "op": "provider.show", "args": {"name": 5}})
    r = recv()
    ok = r and not r["ok"] and "argument 'name' must be a string" in r["error"]
elif case == "unknownarg":
    # a newer client's argument is refused, never ignored
    send({"version": 1, "op": "disk.list", "args": {"name": "x", "dry_run": True}})
    r = recv()
    ok = r and not r["ok"] and r["errno"] == 22 and \
        "operation 'disk.list' has no argument 'dry_run' (is vmcryptctl newer than this vmcryptd?)" in r["error"]
    # arguments of an operation that takes none
    send({"version": 1, "op": "ping", "args": {"verbose": 1}})
    r2 = recv()
    ok = ok and r2 and not r2["ok"] and "operation 'ping' has no argument 'verbose'" in r2["error"]
    # a name with a terminal escape is not echoed
    send({"version": 1, "op": "disk.status", "args": {"\x1b[2Jname": "x"}})
    r3 = recv()
    ok = ok and r3 and not r3["ok"] and "\x1b" not in r3["error"] and \
        "operation 'disk.status' was sent an argument it does not have" in r3["error"]
    # provider.add: the members of the other provider type are not taken
    send({"version": 1, "op": "provider.add",
          "args": {"name": "n1", "type": "native", "allow_no_tpm": True, "servers": ["127.0.0.1:1"]}})
    r4 = recv()
    ok = ok and r4 and not r4["ok"] and "a provider of type 'native' has no argument 'servers'" in r4["error"]
    send({"version": 1, "op": "provider.add",
          "args": {"name": "k1", "type": "kmip", "allow_no_tpm": True}})
    r5 = recv()
    ok = ok and r5 and not r5["ok"] and "a provider of type 'kmip' has no argument 'allow_no_tpm'" in r5["error"]
    # the connection still serves
    send({"version": 1, "op": "ping"})
    r6 = recv()
    ok = ok and r6 and r6["ok"]
    r = [r, r2, r3, r4, r5, r6]
elif case == "emptypcrs":
    # "" would mean no PCR binding at all, silently
    send({"version": 1, "op": "persistence.enable", "args": {"pcrs": ""}})
    r = recv()
    ok = r and not r["ok"] and "empty PCR list" in r["error"]
print(r)
sys.exit(0 if ok else 1)
PYEOF
for c in version toobig garbage unknown pipeline badargs unknownarg emptypcrs; do
	tap_check "protocol: $c" $PY "$T/raw.py" "$T/d1/sock" "$c"
done

# --- a silent client does not block others
$PY -c 'import socket,sys,time
s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.send(b"\0\0")
open(sys.argv[2], "w").close(); time.sleep(10)' "$T/d1/sock" "$T/stalled" &
slow=$!
for _ in $(seq 1 100); do [ -e "$T/stalled" ] && break; sleep 0.05; done
start=$(date +%s%N)
h_ctl d1 ping >/dev/null
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
# answered while the stalled client still holds its half-sent request
if kill -0 $slow 2>/dev/null; then pending=yes; else pending=no; fi
kill $slow 2>/dev/null; wait $slow 2>/dev/null
[ $rc = 0 ] && [ "$pending" = yes ] && tap_ok "a stalled client does not block ping (${ms} ms)" ||
	tap_fail "a stalled client does not block ping" "exit $rc, ${ms} ms; stalled client still there: $pending"

# --- connection cap and idle timeout
if h_daemon_start d2 "max_clients = 2
client_timeout_ms = 700"; then
	cat >"$T/cap.py" <<'PYEOF'
import sys, time
from vmcclient import call, connect
path, case = sys.argv[1], sys.argv[2]
def conn():
    return connect(path)
if case == "cap":
    a, b = conn(), conn()
    ok = call(a)["ok"] and call(b)["ok"]
    r = call(conn())
    ok = ok and r is not None and not r["ok"] and "too many clients" in r["error"]
    a.close(); b.close(); time.sleep(0.3)
    ok = ok and call(conn())["ok"]
elif case == "idle":
    s = conn(); time.sleep(1.5)
    r = call(s)
    ok = r is None and call(conn())["ok"]
sys.exit(0 if ok else 1)
PYEOF
	tap_check "max_clients: the client over the cap is told, others served" $PY "$T/cap.py" "$T/d2/sock" cap
	tap_check "client_timeout_ms: an idle connection is dropped" $PY "$T/cap.py" "$T/d2/sock" idle
	h_daemon_final d2
else
	tap_fail "start second daemon"
fi

# --- per-user cap and the slots kept for role holders (max_clients_per_user)
if [ "$(id -u)" != 0 ] || ! command -v useradd >/dev/null; then
	for c in "per-user cap" "refusal logged once" "root exempt" "released on close" \
		 "reserve for role holders" "released on idle timeout" "SIGHUP applies it"; do
		tap_skip "max_clients_per_user: $c" "needs root and useradd (throwaway users)"
	done
else
	sfx=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
	PG=vmcpg$sfx PN1=vmcp1$sfx PN2=vmcp2$sfx PN3=vmcp3$sfx PV=vmcpv$sfx
	groupadd "$PG" && H_GROUPS="$H_GROUPS $PG"
	for u in $PN1 $PN2 $PN3; do
		useradd -M -N -g users -s /usr/sbin/nologin "$u" && H_USERS="$H_USERS $u"
	done
	useradd -M -N -g users -G "$PG" -s /usr/sbin/nologin "$PV" && H_USERS="$H_USERS $PV"
	# 8 slots, 3 per user; role-less users leave 8/4 = 2 slots free.
	D3CONF="max_clients = 8
max_clients_per_user = 3
client_timeout_ms = 4000
viewer_groups = $PG"
	if id "$PV" >/dev/null 2>&1 && h_daemon_start d3 "$D3CONF"; then
		cat >"$T/peruser.py" <<'PYEOF'
# Connections as other users: a forked child takes the user's uid and gid,
# connects (SO_PEERCRED is the connecting process's) and hands the socket
# back over SCM_RIGHTS, so one process can hold everyone's connections.
import errno, os, pwd, socket, sys, time
from vmcclient import call, connect
path, case, n1, n2, n3, v = sys.argv[1:7]
def conn(user=None):
    if user is None:
        return connect(path)
    pw = pwd.getpwnam(user)
    a, b = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        try:
            a.close()
            os.setgroups([]); os.setgid(pw.pw_gid); os.setuid(pw.pw_uid)
            s = socket.socket(socket.AF_UNIX); s.connect(path)
            socket.send_fds(b, [b"x"], [s.fileno()])
            os._exit(0)
        except BaseException:
            os._exit(1)
    b.close()
    _, fds, _, _ = socket.recv_fds(a, 1, 1)
    os.waitpid(pid, 0); a.close()
    if not fds:
        raise RuntimeError("cannot connect as " + user)
    s = socket.socket(fileno=fds[0]); s.settimeout(5)
    return s
def closed(s):
    try:
        return s.recv(1) == b""
    except OSError:
        return True
fails = []
def check(what, cond, got=None):
    if not cond:
        fails.append(what + ("" if got is None else ": got %r" % (got,)))
def served(user, n):
    out = []
    for i in range(n):
        s = conn(user); r = call(s)
        check("%s connection %d served" % (user or "root", i + 1), r and r["ok"], r)
        out.append(s)
    return out
def refused(user, text):
    s = conn(user); r = call(s)
    check("%s refused with EBUSY and %r" % (user or "root", text),
          r and not r["ok"] and r["errno"] == errno.EBUSY and text in r["error"], r)
    check("%s's refused connection closed" % (user or "root"), closed(s))
    s.close()
time.sleep(0.5)	# connections of the previous case are released
held = []
if case == "cap":
    held += served(n1, 3)
    for i in range(6):
        refused(n1, "too many connections from user %s (max_clients_per_user = 3)" % n1)
    held += served(n2, 1)	# another user is not affected
elif case == "root":
    held += served(n1, 3)
    held += served(None, 4)	# uid 0 is not capped per user
elif case == "release":
    held += served(n1, 3)
    held.pop(0).close(); time.sleep(0.3)
    held += served(n1, 1)
    for s in held:
        s.close()
    held = []; time.sleep(0.3)
    held += served(n1, 3)
elif case == "reserve":
    held += served(n1, 3) + served(n2, 3)	# 6 of 8: role-less users are done
    refused(n3, "the last 2 of max_clients = 8 connections are kept for users with a vmcrypt role, and user %s has none" % n3)
    vs = served(v, 2)				# a viewer takes the kept slots
    refused(None, "vmcryptd is serving too many clients (max_clients = 8)")
    held.pop(0).close(); time.sleep(0.3)	# 7 open: still no room for role-less
    refused(n3, "are kept for users with a vmcrypt role")
    for s in vs:
        s.close()
    time.sleep(0.3)				# 5 open: 2 stay free after n3's
    held += served(n3, 1)
elif case == "idle":
    held += served(n1, 3)
    time.sleep(5)				# client_timeout_ms = 4000 drops them
    held += served(n1, 3)
elif case == "hup":
    held += served(n1, 1)
    refused(n1, "too many connections from user %s (max_clients_per_user = 1)" % n1)
for f in fails:
    print(f)
sys.exit(1 if fails else 0)
PYEOF
		pu() { $PY "$T/peruser.py" "$T/d3/sock" "$1" "$PN1" "$PN2" "$PN3" "$PV"; }
		tap_check "max_clients_per_user: a user's connection over the cap gets EBUSY naming the cap; other users served" pu cap
		n=$(grep -c "refusing a client (uid $(id -u "$PN1"), pid [0-9]*): too many connections from user $PN1 (max_clients_per_user = 3)" "$T/d3.log")
		[ "$n" -eq 1 ] && tap_ok "max_clients_per_user: 6 refusals in a row are logged once" ||
			tap_fail "max_clients_per_user: refusals logged once" "$n log lines"
		tap_check "max_clients_per_user: root is exempt" pu root
		tap_check "max_clients_per_user: a closed connection is given back" pu release
		tap_check "max_clients_per_user: role-less users leave max_clients/4 slots to role holders" pu reserve
		tap_check "max_clients_per_user: a connection dropped for idleness is given back" pu idle
		printf '%s\n' "$D3CONF" "max_clients_per_user = 1" >"$T/d3.conf"
		kill -HUP "$(cat "$T/d3.dpid")"
		sleep 0.5
		tap_check "max_clients_per_user: SIGHUP applies a new value" pu hup
		h_daemon_final d3
	else
		tap_fail "start a daemon with max_clients_per_user"
	fi
fi

# --- CLI exit codes and messages
VMCRYPT_SOCKET=$T/nowhere "$VMCRYPTCTL" ping 2>"$T/err"
rc=$?
[ $rc -eq 3 ] && grep -qx "vmcryptctl: cannot reach vmcryptd at $T/nowhere: No such file or directory" "$T/err" &&
	tap_ok "CLI: daemon not running -> exit 3 and one-line reason" || tap_fail "CLI: daemon not running" "rc=$rc $(cat "$T/err")"
"$VMCRYPTCTL" --socket "$T/d1/sock" ping >/dev/null && tap_ok "CLI: --socket" || tap_fail "CLI: --socket"
# A daemon that is there but does not answer in time, or does not even
# accept the connection (its accept queue full): not "not reachable" (3),
# a failure (1) that says so. The stand-in writes "ready" once it listens.
$PY - "$T/silent.sock" "$T/full.sock" "$T/standin.ready" <<'PYEOF' &
import socket, sys, time
silent = socket.socket(socket.AF_UNIX)
silent.bind(sys.argv[1]); silent.listen(4)
full = socket.socket(socket.AF_UNIX)
full.bind(sys.argv[2]); full.listen(0)
pending = []
while True:	# fill the accept queue of the one that never accepts
    c = socket.socket(socket.AF_UNIX); c.setblocking(False)
    try:
        c.connect(sys.argv[2])
    except BlockingIOError:
        break
    pending.append(c)
open(sys.argv[3], "w").write("ready\n")
c, _ = silent.accept()
c.recv(65536)
time.sleep(30)
PYEOF
standin_pid=$!
for _ in $(seq 1 50); do [ -s "$T/standin.ready" ] && break; sleep 0.1; done
"$VMCRYPTCTL" --socket "$T/silent.sock" --timeout 1 ping 2>"$T/err"
rc=$?
[ $rc -eq 1 ] && grep -qx "vmcryptctl: no reply from vmcryptd at $T/silent.sock within 1 s; the request may still complete: see 'vmcryptctl events'" "$T/err" &&
	tap_ok "CLI: --timeout 1 against a daemon that does not answer -> exit 1, says so" ||
	tap_fail "CLI: --timeout against a silent daemon" "rc=$rc $(cat "$T/err")"
"$VMCRYPTCTL" --socket "$T/full.sock" --timeout 1 ping 2>"$T/err"
rc=$?
[ $rc -eq 1 ] && grep -qx "vmcryptctl: vmcryptd at $T/full.sock did not accept the connection within 1 s" "$T/err" &&
	tap_ok "CLI: --timeout bounds the connect to a daemon that does not accept -> exit 1, says so" ||
	tap_fail "CLI: --timeout against a full accept queue" "rc=$rc $(cat "$T/err")"
kill "$standin_pid" 2>/dev/null; wait "$standin_pid" 2>/dev/null
bad=""
for t in 0 -1 1x "" 86401 99999999999999999999; do
	"$VMCRYPTCTL" --socket "$T/d1/sock" --timeout "$t" ping >/dev/null 2>"$T/err"
	rc=$?
	[ $rc -eq 2 ] && grep -q "^vmcryptctl: --timeout '$t': must be a whole number of seconds from 1 to 86400$" "$T/err" || bad="$bad '$t'($rc)"
done
[ -z "$bad" ] && tap_ok "CLI: --timeout out of range or not a number -> exit 2, range named" || tap_fail "CLI: bad --timeout" "$bad"
"$VMCRYPTCTL" --socket "$T/d1/sock" --timeout 86400 ping >/dev/null && tap_ok "CLI: --timeout 86400 accepted" || tap_fail "CLI: --timeout 86400"
"$VMCRYPTCTL" nosuchcmd 2>/dev/null; [ $? -eq 2 ] && tap_ok "CLI: unknown command exits 2" || tap_fail "CLI: unknown command exits 2"
h_ctl d1 key create --vm-name x 2>/dev/null; [ $? -eq 2 ] && tap_ok "CLI: missing option exits 2" || tap_fail "CLI: missing option exits 2"
# options that would be ignored, or mean something else than they say
h_ctl d1 provider add k --kmip 127.0.0.1:5696 --ca x --cert x --key x --allow-no-tpm 2>"$T/err"
rc=$?
[ $rc -eq 2 ] && grep -q "^vmcryptctl provider add: --allow-no-tpm is for --native" "$T/err" &&
	tap_ok "CLI: --allow-no-tpm with --kmip refused (exit 2)" || tap_fail "CLI: --allow-no-tpm with --kmip" "rc=$rc $(cat "$T/err")"
h_ctl d1 events --format csv --json 2>"$T/err"
rc=$?
[ $rc -eq 2 ] && grep -q "^vmcryptctl events: --json and --format csv contradict each other" "$T/err" &&
	tap_ok "CLI: events --format csv --json refused (exit 2)" || tap_fail "CLI: events csv+json" "rc=$rc $(cat "$T/err")"
h_ctl d1 persistence enable --pcrs "" 2>"$T/err"
rc=$?
[ $rc -eq 2 ] && grep -q "^vmcryptctl persistence enable: --pcrs needs a PCR list such as 0,7 (leave it out for no PCR binding)" "$T/err" &&
	tap_ok "CLI: persistence enable --pcrs '' refused (exit 2), not taken as no binding" ||
	tap_fail "CLI: --pcrs ''" "rc=$rc $(cat "$T/err")"
bad=""
for c in ping "provider add" "provider list" "provider show" "provider test" "provider set-default" "provider remove" \
	 "key create" "key show" "key list" "key fetch" events provider key; do
	# shellcheck disable=SC2086
	"$VMCRYPTCTL" $c --help >"$T/help" 2>&1 && grep -q "Usage: vmcryptctl" "$T/help" || bad="$bad [$c]"
done
[ -z "$bad" ] && tap_ok "every command has --help" || tap_fail "every command has --help" "$bad"

# --- errors from the daemon are one clear line
h_expect_fail "provider show of unknown name" "^vmcryptctl: no provider named 'nope'$" h_ctl d1 provider show nope
h_expect_fail "key create without any provider" "no key provider is configured" \
	h_ctl d1 key create --vm-name vm1 --vm-uuid 564d2f1e-0d3c-4b5a-9e8f-1a2b3c4d5e6f
h_expect_fail "invalid VM UUID refused" "invalid VM UUID 'not-a-uuid'" \
	h_ctl d1 key create --vm-name vm1 --vm-uuid not-a-uuid
h_expect_fail "invalid VM name refused" "invalid VM name" \
	h_ctl d1 key create --vm-name '-bad' --vm-uuid 564d2f1e-0d3c-4b5a-9e8f-1a2b3c4d5e6f
h_expect_fail "invalid provider name refused" "invalid provider name 'a/b'" \
	h_ctl d1 provider add 'a/b' --native
h_expect_fail "events --since with a bad time" "invalid time 'yesterday'" h_ctl d1 events --since yesterday

# --- events export formats
h_ctl d1 events --format json | $PY -c 'import json,sys; e=json.load(sys.stdin); sys.exit(0 if isinstance(e,list) and e and all("time" in r and "event" in r for r in e) else 1)' &&
	tap_ok "events --format json is a JSON array of records" || tap_fail "events --format json"
h_ctl d1 events --format csv | $PY -c 'import csv,sys
rows=list(csv.reader(sys.stdin))
ok = rows[0][:4]==["time","event","uid","user"] and len(rows)>1 and all(len(r)==len(rows[0]) for r in rows)
sys.exit(0 if ok else 1)' && tap_ok "events --format csv has a header and equal columns" || tap_fail "events --format csv"
n_all=$(h_ctl d1 events --format json | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))')
n_future=$(h_ctl d1 events --format json --since 2099-01-01 | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$n_all" -gt 0 ] && [ "$n_future" -eq 0 ] && tap_ok "events --since filters ($n_all -> $n_future)" || tap_fail "events --since filters" "$n_all -> $n_future"

# --- SIGHUP reload: a bad file keeps the old config, a good one applies
echo "max_clients = nope" >"$T/d1.conf"
kill -HUP "$(cat "$T/d1.dpid")"
sleep 0.5
grep -q "reload failed, keeping the old configuration: $T/d1.conf:1:" "$T/d1.log" && h_ctl d1 ping >/dev/null &&
	tap_ok "SIGHUP with a bad config keeps the old one" || tap_fail "SIGHUP with a bad config keeps the old one" "$(tail -3 "$T/d1.log")"
echo "log_level = info" >"$T/d1.conf"
kill -HUP "$(cat "$T/d1.dpid")"
sleep 0.5
h_event_has d1 'r["event"]=="daemon.reloaded"' && tap_ok "SIGHUP reloads the config" || tap_fail "SIGHUP reloads the config"

# --- disk format never touches the daemon's own state directory
ev_size=$(stat -c %s "$T/d1/state/events.jsonl")
ev_sum=$(head -c "$ev_size" "$T/d1/state/events.jsonl" | md5sum)
h_expect_fail "format refuses a file in the state directory" \
	"$T/d1/state/events.jsonl is inside vmcryptd's state directory $T/d1/state: refusing to format it" \
	h_ctl d1 format "$T/d1/state/events.jsonl" --force --vm-name web --vm-uuid 11111111-2222-4333-8444-555555555555
ln -s "$T/d1/state" "$T/statelink"
h_expect_fail "format refuses a new image in it, even through a symlink" \
	"$T/d1/state/new.img is inside vmcryptd's state directory" \
	h_ctl d1 format "$T/statelink/new.img" --size 48M --vm-name web --vm-uuid 11111111-2222-4333-8444-555555555555
# vmcryptctl resolves a path before it sends it: the daemon's own check
# must hold for a path that still goes through the symlink (another client)
cat >"$T/fmtraw.py" <<'PYEOF'
import json, struct, sys
from vmcclient import connect, recvn
s = connect(sys.argv[1])
args = {"path": sys.argv[2], "vm_name": "web", "sector_size": 4096,
        "vm_uuid": "11111111-2222-4333-8444-555555555555", "force": True}
if len(sys.argv) > 3:
    args["size"] = int(sys.argv[3])
b = json.dumps({"version": 1, "op": "disk.format", "args": args}).encode()
s.sendall(struct.pack(">I", len(b)) + b)
h = recvn(s, 4)
r = json.loads(recvn(s, struct.unpack(">I", h)[0]))
print(r.get("error", "ok"))
sys.exit(0 if not r["ok"] and "inside vmcryptd's state directory" in r["error"] else 1)
PYEOF
bad=""
for a in "$T/statelink/events.jsonl" "$T/statelink/new.img 50331648" "$T/statelink/../state/new.img 50331648"; do
	# shellcheck disable=SC2086
	PYTHONPATH=$T $PY "$T/fmtraw.py" "$T/d1/sock" $a >"$T/out" 2>&1 || bad="$bad [$a: $(cat "$T/out")]"
done
[ -z "$bad" ] && tap_ok "daemon refuses a path through a symlink into its state directory (sent unresolved)" ||
	tap_fail "daemon-side state directory check" "$bad"
[ ! -e "$T/d1/state/new.img" ] && [ "$(head -c "$ev_size" "$T/d1/state/events.jsonl" | md5sum)" = "$ev_sum" ] &&
	tap_ok "...nothing created, the event log untouched" || tap_fail "refused format changed the state directory"

# --- start-up errors reach stderr without --foreground; clear messages
# (vmcryptd logs to syslog then, so until it is ready its errors are
# copied to stderr; an admin starting it by hand sees why it exited)
nofg() {	# nofg ARGS...: vmcryptd without --foreground, not under journald
	env -u JOURNAL_STREAM timeout 20 "$VMCRYPTD" "$@"
}
h_expect_fail "without --foreground: a second vmcryptd on the socket says why on stderr" \
	"^vmcryptd: error: another vmcryptd is already serving $T/d1/sock$" \
	nofg --config "$T/empty.conf" --state-dir "$T/nofg1" --socket "$T/d1/sock"
h_ctl d1 ping >/dev/null && tap_ok "...the first daemon is unaffected" || tap_fail "...the first daemon is unaffected"
mkdir -p "$T/nofg2/state/events.jsonl"
chmod 700 "$T/nofg2/state"
h_expect_fail "without --foreground: an event log it cannot open is named on stderr" \
	"^vmcryptd: error: cannot open the event log $T/nofg2/state/events.jsonl: " \
	nofg --config "$T/empty.conf" --state-dir "$T/nofg2/state" --socket "$T/nofg2/sock"
printf 'max_clients = 5000\n' >"$T/range.conf"
h_expect_fail "config: an integer out of range names the key, the value and the range" \
	"^vmcryptd: error: bad configuration: $T/range.conf:1: max_clients: 5000 is out of range 1..1024$" \
	nofg --config "$T/range.conf" --state-dir "$T/nofg3" --socket "$T/nofg3.sock"
printf 'log_level = info\n' >"$T/open.conf"
chmod 666 "$T/open.conf"
h_expect_fail "config: a file others may write is refused, naming only that condition" \
	"^vmcryptd: error: bad configuration: $T/open.conf: refused: writable by group/others \(mode 0666\)$" \
	nofg --config "$T/open.conf" --state-dir "$T/nofg3" --socket "$T/nofg3.sock"
if [ "$(id -u)" = 0 ]; then
	mkdir -p "$T/nofg4/state"
	chmod 755 "$T/nofg4/state"
	chown 1 "$T/nofg4/state"
	h_expect_fail "state directory of another user: its owner, its mode and who must own it" \
		"^vmcryptd: error: state directory $T/nofg4/state: owned by uid 1 \(mode 0755\), but vmcryptd runs as uid 0: it must be owned by uid 0, mode 0700$" \
		nofg --config "$T/empty.conf" --state-dir "$T/nofg4/state" --socket "$T/nofg4/sock"
else
	tap_skip "state directory of another user: its owner, its mode and who must own it" "needs root (chown)"
fi

# --- a new socket directory is 0755 whatever the umask (systemd: UMask=0077)
(umask 077 && exec "$VMCRYPTD" --foreground --config "$T/empty.conf" --state-dir "$T/um/state" \
	--socket "$T/umsock/run/sock" >"$T/um.log" 2>&1) &
echo $! >"$T/um.dpid"
for _ in $(seq 1 100); do
	VMCRYPT_SOCKET=$T/umsock/run/sock "$VMCRYPTCTL" ping >/dev/null 2>&1 && break
	sleep 0.1
done
m=$(stat -c %a "$T/umsock" "$T/umsock/run" 2>&1 | tr '\n' ' ')
[ "$m" = "755 755 " ] && tap_ok "socket directories made under umask 077 are 0755" ||
	tap_fail "socket directories made under umask 077 are 0755" "modes: $m; $(tail -n 3 "$T/um.log")"
h_daemon_final um

# --- open of a file too small for a LUKS2 header says so (no dm needed)
head -c 100 /dev/zero >"$T/tiny.img"
h_expect_fail "open of a 100-byte file: too small for a LUKS2 header" \
	"^vmcryptctl: $T/tiny.img is not a vmcrypt disk: 100 bytes is too small for a LUKS2 header" \
	h_ctl d1 open "$T/tiny.img"
# device names device-mapper would refuse later, with a misleading error
h_expect_fail "open as 'control': refused, /dev/mapper/control named" \
	"invalid device name 'control': /dev/mapper/control is device-mapper's control node" \
	h_ctl d1 open "$T/tiny.img" control
long=$(printf '%087d' 0)
h_expect_fail "open with an 87-character name: refused (the dm UUID holds 86)" \
	"invalid device name '$long': use 1-86 characters" h_ctl d1 open "$T/tiny.img" "$long"
h_expect_fail "an 86-character name passes the name check" \
	"is not a vmcrypt disk: 100 bytes is too small" h_ctl d1 open "$T/tiny.img" "${long#0}"

# --- events: damaged lines of the log are skipped with a warning, exit 0;
# provider test/show print what the daemon reports (native: no TPM here)
if h_daemon_start ev "tpm_tcti = device:/nonexistent/tpmrm0"; then
	printf 'not json\n{"event":"no time"}\n' >>"$(h_events ev)"
	rc=0
	h_ctl ev events --format json >"$T/out" 2>"$T/err" || rc=$?
	[ $rc -eq 0 ] && grep -qx "vmcryptctl: warning: 2 damaged lines in the event log were skipped" "$T/err" &&
		$PY -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1])) else 1)' "$T/out" &&
		tap_ok "events: damaged lines skipped with a warning on stderr, exit 0" ||
		tap_fail "events: damaged lines skipped with a warning on stderr, exit 0" "rc=$rc $(cat "$T/err")"
	h_ctl ev provider add nat --native --allow-no-tpm >/dev/null 2>&1
	chmod 644 "$T/ev/state/native/nat/kdk.raw"
	rc=0
	h_ctl ev provider test nat >"$T/out" 2>"$T/err" || rc=$?
	[ $rc -eq 1 ] && grep -qx "nat: FAILED  storage=file (NOT secure) backed_up=no" "$T/out" &&
		grep -qx "vmcryptctl: provider nat: $T/ev/state/native/nat/kdk.raw is accessible by others; refusing to use it" "$T/err" &&
		tap_ok "provider test (native): FAILED line and the daemon's reason, exit 1" ||
		tap_fail "provider test (native): FAILED line and the daemon's reason, exit 1" "rc=$rc $(cat "$T/out" "$T/err")"
	chmod 600 "$T/ev/state/native/nat/kdk.raw"
	rc=0
	h_ctl ev provider test nat >"$T/out" 2>"$T/err" || rc=$?
	[ $rc -eq 0 ] && grep -Eqx "nat: OK  storage=file \(NOT secure\) backed_up=no kdk_fingerprint=[0-9a-f]+" "$T/out" &&
		[ ! -s "$T/err" ] &&
		tap_ok "provider test (native): an OK line with storage and fingerprint, exit 0" ||
		tap_fail "provider test (native): an OK line with storage and fingerprint, exit 0" "rc=$rc $(cat "$T/out" "$T/err")"
	if command -v openssl >/dev/null; then
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=t \
			-keyout "$T/tk.pem" -out "$T/tc.pem" >/dev/null 2>&1
		chmod 600 "$T/tk.pem"
		kp=$(h_free_port)	# nobody listens: the server fails
		h_ctl ev provider add dead --kmip "127.0.0.1:$kp" --ca "$T/tc.pem" --cert "$T/tc.pem" --key "$T/tk.pem" >/dev/null
		h_ctl ev key create --provider dead --vm-name x --vm-uuid 564d2f1e-0d3c-4b5a-9e8f-1a2b3c4d5e6f >/dev/null 2>&1
		h_ctl ev provider show dead >"$T/out" 2>&1
		grep -Eq "^  server 127.0.0.1:$kp  failed [0-9]+s ago \(connect 127.0.0.1:$kp: Connection refused\)$" "$T/out" &&
			tap_ok "provider show: a failed server says how long ago it failed" ||
			tap_fail "provider show: a failed server says how long ago it failed" "$(cat "$T/out")"
	else
		tap_skip "provider show: a failed server says how long ago it failed" "no openssl command"
	fi
	h_daemon_final ev
else
	tap_fail "start daemon ev"
fi

# --- SIGTERM: clean exit 0, socket removed
if h_daemon_stop d1; then
	[ ! -e "$T/d1/sock" ] && h_event_has d1 'r["event"]=="daemon.stopped"' &&
		! grep -Eq "Sanitizer|runtime error" "$T/d1.log" &&
		tap_ok "SIGTERM: exit 0, socket removed, daemon.stopped event" ||
		tap_fail "SIGTERM: socket removed and event" "$(ls "$T/d1")"
else
	tap_fail "SIGTERM: exit 0" "exit status $h_rc"
fi

# --- out of file descriptors: clients wait in the backlog, the daemon lives
if h_daemon_start d4 ""; then
	pid=$(cat "$T/d4.dpid")
	nfd=$(ls /proc/"$pid"/fd | wc -l)
	cat >"$T/emfile.py" <<'PYEOF'
import sys, time
from vmcclient import call, connect
path = sys.argv[1]
held = [connect(path) for _ in range(8)]	# 2 accepted, then EMFILE
time.sleep(1.5)
for s in held:
    s.close()
r = call(connect(path))
sys.exit(0 if r and r["ok"] else 1)
PYEOF
	if prlimit --pid "$pid" --nofile=$((nfd + 2)):; then
		tap_check "EMFILE on accept: clients wait, served once others leave" \
			$PY "$T/emfile.py" "$T/d4/sock"
		n=$(grep -c "accept: Too many open files: new clients wait until others disconnect" "$T/d4.log")
		[ "$n" = 1 ] && tap_ok "EMFILE on accept: one warning, not one per attempt" ||
			tap_fail "EMFILE on accept: one warning, not one per attempt" "$n warnings"
		prlimit --pid "$pid" --nofile=1024:
	else
		tap_fail "prlimit on vmcryptd" "cannot lower its RLIMIT_NOFILE"
	fi
	h_daemon_final d4
else
	tap_fail "start daemon d4"
fi

# --- sd_notify: READY=1 arrives on $NOTIFY_SOCKET once the socket answers
cat >"$T/notify.py" <<'PYEOF'
import os, socket, subprocess, sys, time
vmcryptd, tdir = sys.argv[1], sys.argv[2]
ns = os.path.join(tdir, "notify.sock")
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(ns)
s.settimeout(15)
env = dict(os.environ, NOTIFY_SOCKET=ns)
p = subprocess.Popen([vmcryptd, "--foreground", "--config", "/dev/null",
                      "--state-dir", tdir + "/n/state", "--socket", tdir + "/n.sock"],
                     env=env, stderr=subprocess.DEVNULL)
ok = False
try:
    msg = s.recv(4096).decode()
    c = socket.socket(socket.AF_UNIX)
    c.connect(tdir + "/n.sock")	# must already accept
    ok = "READY=1" in msg
    p.terminate()
    msg2 = s.recv(4096).decode()
    ok = ok and "STOPPING=1" in msg2 and p.wait(10) == 0
finally:
    if p.poll() is None:
        p.kill()
sys.exit(0 if ok else 1)
PYEOF
tap_check "sd_notify READY=1 when serving, STOPPING=1 on SIGTERM" $PY "$T/notify.py" "$VMCRYPTD" "$T"

tap_done
