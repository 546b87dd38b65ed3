#!/bin/sh
# test_provider_failover.sh: one kmip provider = one cluster. The cluster
# here is one real pykmip-server reached through two addresses: a TCP
# proxy on 127.0.0.1 (the "first server") and the server's own port (the
# "second"), so both hold the same keys. Checks: the first healthy server
# is used; with the first stopped, requests fail over and the event log
# says so; with the first accepting TCP but never answering, the daemon
# fails over within its timeout while other clients are served; with the
# first answering General Failure, likewise; with a
# server name whose DNS never answers, likewise; with all servers down,
# one clear error naming each.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
. tests/host/daemon-common.sh
command -v pykmip-server >/dev/null || tap_skip_all "pykmip-server not installed (scripts/install-deps)"
h_setup

UUID=7d1f0c2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f
TMO=3000	# kmip_timeout_ms: a hung server costs at most this per try

h_kms_start "$T/kms1" || { tap_fail "start pykmip-server"; tap_done; }
. "$T/kms1/env"
PX=$(h_free_port)
h_proxy_start px "$PX" "$KMIP_PORT" forward || { tap_fail "start proxy"; tap_done; }
h_daemon_start d "kmip_timeout_ms = $TMO
kmip_connect_timeout_ms = $TMO
kmip_retry_after_s = 0" || { tap_fail "start vmcryptd"; tap_done; }

A=127.0.0.1:$PX
B=127.0.0.1:$KMIP_PORT
h_ctl d provider add c --kmip "$A,$B" --ca "$KMIP_CA" --cert "$KMIP_CERT" --key "$KMIP_KEY" >/dev/null &&
	tap_ok "provider with two servers added" || tap_fail "provider add"
h_ctl d provider test c >"$T/out" 2>&1 && [ "$(grep -c ": OK " "$T/out")" = 2 ] &&
	tap_ok "provider test: both servers OK" || tap_fail "provider test both" "$(cat "$T/out")"

ID=$(h_ctl d key create --vm-name fo --vm-uuid "$UUID" 2>"$T/err")
[ -n "$ID" ] && tap_ok "key created through the first server" || tap_fail "key create" "$(cat "$T/err")"
h_event_lacks d "r['event'] in ('kms.unreachable','kms.failover')" &&
	tap_ok "no failover while the first server is healthy" || tap_fail "no failover while the first server is healthy"
FP=$(h_ctl d key fetch "$ID" --no-cache --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["fingerprint"])')

# --- first server stopped
h_proxy_stop px
out=$(h_ctl d key fetch "$ID" --no-cache --json 2>"$T/err" | $PY -c 'import json,sys; print(json.load(sys.stdin)["fingerprint"])')
[ -n "$out" ] && [ "$out" = "$FP" ] && tap_ok "first server stopped: key fetched from the second" ||
	tap_fail "failover on stopped server" "$(cat "$T/err")"
h_event_has d "r['event']=='kms.unreachable' and r['server']=='$A' and r['provider']=='c' and 'refused' in r['error'].lower()" &&
	tap_ok "event: first server unreachable (connection refused)" || tap_fail "kms.unreachable event for stopped server"
h_event_has d "r['event']=='kms.failover' and r['server']=='$B' and '$A' in r['detail'] and r['result']=='ok'" &&
	tap_ok "event: failover from the first to the second server" || tap_fail "kms.failover event"
ID2=$(h_ctl d key create --vm-name fo2 --vm-uuid 11111111-2222-4333-8444-555555555555 2>"$T/err")
[ -n "$ID2" ] && tap_ok "key create fails over too" || tap_fail "key create failover" "$(cat "$T/err")"
h_ctl d provider show c | grep -q "server $A  failed" && tap_ok "provider show marks the stopped server failed" ||
	tap_fail "provider show health" "$(h_ctl d provider show c)"

# --- first server hangs (accepts TCP, never answers)
h_proxy_start px "$PX" "$KMIP_PORT" blackhole || tap_fail "start blackhole"
# a parallel client must not wait for the hung KMS
( h_ctl d key fetch "$ID" --no-cache --json >"$T/hung.json" 2>"$T/hung.err"; echo $? >"$T/hung.rc" ) &
bg=$!
# wait until the daemon is connected to the hung server
for _ in $(seq 1 100); do
	grep -q accepted "$T/proxy-px.out" && break
	sleep 0.05
done
s=$(date +%s%N)
h_ctl d ping >/dev/null && h_ctl d provider list >/dev/null
served=$?
ping_ms=$(( ($(date +%s%N) - s) / 1000000 ))
# served while the hung request was still waiting for its timeout
if [ ! -e "$T/hung.rc" ]; then pending=yes; else pending=no; fi
wait $bg
[ $served = 0 ] && [ "$pending" = yes ] && tap_ok "other clients served while a KMS hangs (${ping_ms} ms)" ||
	tap_fail "other clients served while a KMS hangs" "exit $served, ${ping_ms} ms, hung request done: $pending"
s=$(date +%s%N)
out=$(h_ctl d key fetch "$ID" --no-cache --json 2>"$T/err" | $PY -c 'import json,sys; print(json.load(sys.stdin)["fingerprint"])')
ms=$(( ($(date +%s%N) - s) / 1000000 ))
[ "$(cat "$T/hung.rc")" = 0 ] && [ "$out" = "$FP" ] && tap_ok "hung first server: key fetched from the second" ||
	tap_fail "failover on hung server" "$(cat "$T/hung.err" "$T/err")"
# one timeout (TMO) for the hung server plus the real request
[ "$ms" -ge $((TMO - 200)) ] && [ "$ms" -lt $((TMO + 4000)) ] && tap_ok "failover within the timeout (${ms} ms, timeout ${TMO} ms)" ||
	tap_fail "failover within the timeout" "${ms} ms"
h_event_has d "r['event']=='kms.unreachable' and r['server']=='$A' and 'tim' in r['error'].lower()" &&
	tap_ok "event: first server unreachable (timed out)" || tap_fail "kms.unreachable timeout event"

# --- a server that answers General Failure to everything (PyKMIP's answer
# to an internal error): not a decision about the key, the next server of
# the cluster is asked (scripts/kmip/hostile-server.py, with the test
# server's certificates, so one provider reaches both)
rm -f "$T/hg.port"
$PY scripts/kmip/hostile-server.py --mode general-failure --dir "$KMIP_DIR" \
	--port-file "$T/hg.port" --parent $$ >"$T/hg.log" 2>&1 &
hg=$!
for _ in $(seq 1 100); do [ -s "$T/hg.port" ] && break; sleep 0.1; done
G=127.0.0.1:$(cat "$T/hg.port")
h_ctl d provider add g --kmip "$G,$B" --ca "$KMIP_CA" --cert "$KMIP_CERT" --key "$KMIP_KEY" >/dev/null 2>"$T/err" ||
	tap_fail "add provider g" "$(cat "$T/err")"
out=$(h_ctl d key fetch "$ID" --provider g --no-cache --json 2>"$T/err" | $PY -c 'import json,sys; print(json.load(sys.stdin)["fingerprint"])')
[ "$out" = "$FP" ] && tap_ok "first server answers General Failure: key fetched from the second" ||
	tap_fail "failover on General Failure" "$(cat "$T/err")"
h_event_has d "r['event']=='kms.unreachable' and r['server']=='$G' and 'General Failure' in r['error']" &&
	h_event_has d "r['event']=='kms.failover' and r['provider']=='g' and r['server']=='$B'" &&
	tap_ok "events: the General Failure named, failover to the second" || tap_fail "General Failure events"
h_ctl d provider remove g >/dev/null
kill "$hg" 2>/dev/null
wait "$hg" 2>/dev/null

# --- retry_after: a failed server is tried last for a while
h_daemon_stop d
h_daemon_start d "kmip_timeout_ms = $TMO
kmip_connect_timeout_ms = $TMO
kmip_retry_after_s = 300" || tap_fail "restart vmcryptd"
h_ctl d key fetch "$ID" --no-cache >/dev/null 2>&1
s=$(date +%s%N)
h_ctl d key fetch "$ID" --no-cache >"$T/out" 2>&1
rc=$?
ms=$(( ($(date +%s%N) - s) / 1000000 ))
[ $rc = 0 ] && [ "$ms" -lt "$TMO" ] && tap_ok "a recently failed server is skipped (${ms} ms)" ||
	tap_fail "failed server skipped" "exit $rc, ${ms} ms: $(cat "$T/out")"

h_ctl d key fetch "$ID" >/dev/null 2>&1	# through the memory cache

# --- a server name whose DNS never answers: the connect timeout holds.
# The daemon runs in its own mount namespace whose /etc/resolv.conf names
# a DNS server on 127.0.0.1 that swallows every query (glibc alone would
# wait 30 s here: timeout:30 attempts:1).
dns_case() {
	unshare -m true 2>/dev/null || { echo "cannot create a mount namespace (unshare -m)"; return 1; }
	printf 'nameserver 127.0.0.1\noptions timeout:30 attempts:1\n' >"$T/resolv.conf"
	cat >"$T/dns-blackhole.py" <<'PYEOF'
import socket, sys, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    u.bind(("127.0.0.1", 53)); t.bind(("127.0.0.1", 53)); t.listen(8)
except OSError as e:
    print("cannot listen on 127.0.0.1:53: %s" % e, flush=True); sys.exit(1)
print("ready", flush=True)
while True:
    time.sleep(60)
PYEOF
	$PY "$T/dns-blackhole.py" >"$T/dns.out" 2>&1 &
	echo $! >"$T/dns.pid"
	for _ in $(seq 1 100); do
		grep -q . "$T/dns.out" && break
		sleep 0.05
	done
	grep -qx ready "$T/dns.out" || { cat "$T/dns.out"; return 1; }
	cat >"$T/vmcryptd-ns" <<EOF2
#!/bin/sh
exec unshare -m sh -c 'mount --bind "\$0" /etc/resolv.conf && exec "\$@"' "$T/resolv.conf" "$VMCRYPTD" "\$@"
EOF2
	chmod +x "$T/vmcryptd-ns"
	return 0
}
if why=$(dns_case); then
	real_vmcryptd=$VMCRYPTD
	VMCRYPTD=$T/vmcryptd-ns
	# retry_after: key create makes several requests; only the first
	# tries the silent name, the others skip the failed server
	h_daemon_start dns "kmip_timeout_ms = $TMO
kmip_connect_timeout_ms = $TMO
kmip_retry_after_s = 300" || tap_fail "start vmcryptd with the silent DNS"
	VMCRYPTD=$real_vmcryptd
	N=kms.vmcrypt.test:$KMIP_PORT
	h_ctl dns provider add c --kmip "$N,$B" --ca "$KMIP_CA" --cert "$KMIP_CERT" --key "$KMIP_KEY" >/dev/null ||
		tap_fail "provider add with a server name"
	s=$(date +%s%N)
	ID3=$(h_ctl dns key create --vm-name dns --vm-uuid 33333333-2222-4333-8444-555555555555 2>"$T/err")
	ms=$(( ($(date +%s%N) - s) / 1000000 ))
	[ -n "$ID3" ] && [ "$ms" -ge $((TMO - 200)) ] && [ "$ms" -lt $((TMO + 4000)) ] &&
		tap_ok "silent DNS: failover within the connect timeout (${ms} ms, timeout ${TMO} ms)" ||
		tap_fail "silent DNS: failover within the connect timeout" "${ms} ms; $(cat "$T/err")"
	h_event_has dns "r['event']=='kms.unreachable' and r['server']=='$N' and 'resolve kms.vmcrypt.test: timed out' in r['error']" &&
		tap_ok "event: server name not resolved in time" || tap_fail "kms.unreachable event for the silent DNS"
	h_daemon_final dns
else
	tap_skip "silent DNS: failover within the connect timeout" "$why"
	tap_skip "event: server name not resolved in time" "$why"
fi
[ -f "$T/dns.pid" ] && kill "$(cat "$T/dns.pid")" 2>/dev/null

# --- everything down
h_proxy_stop px
h_kms_stop "$T/kms1"
h_expect_status 5 "all servers down: one error naming each, exit 5" \
	"no KMS server of provider c gave a usable answer: 127.0.0.1:[0-9]+: .*; 127.0.0.1:[0-9]+: " \
	h_ctl d key fetch "$ID" --no-cache
h_expect_status 5 "all servers down, uncached key: unavailable" "no KMS server of provider c gave a usable answer" \
	h_ctl d key create --vm-name x --vm-uuid 22222222-2222-4333-8444-555555555555
h_event_has d "r['event']=='key.create_failed' and r['result']=='error'" && tap_ok "key.create_failed event" || tap_fail "key.create_failed event"
# the memory cache still serves a KEK obtained before (no KMS needed)
h_ctl d key fetch "$ID" --json 2>/dev/null | grep -q "$FP" && tap_ok "cached KEK still usable with the KMS down" ||
	tap_fail "cached KEK with KMS down"

h_daemon_final d
tap_done
