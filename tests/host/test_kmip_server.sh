#!/bin/sh
# test_kmip_server.sh: scripts/kmip-test-server, which other tests rely on:
# start writes a usable env, fresh certificates with the right names and
# extended key usages, private keys mode 0600; the server accepts the
# client certificate over TLS 1.2 on 127.0.0.1 only and refuses a client
# without one; a second start on the same directory is refused; bad
# arguments are refused; stop kills the whole process group and removes
# env; stop with nothing running fails cleanly.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
command -v pykmip-server >/dev/null || tap_skip_all "pykmip-server not installed (scripts/install-deps)"
PY=/usr/bin/python3

T=$(mktemp -d "${TMPDIR:-/tmp}/test-kmip-server.XXXXXX")
cleanup() {
	[ -f "$T/srv/env" ] && scripts/kmip-test-server stop "$T/srv" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

if scripts/kmip-test-server start "$T/srv" >"$T/out" 2>&1; then
	tap_ok "start"
else
	tap_fail "start" "$(cat "$T/out")"
	tap_done
fi

# env: every variable set, files present
if (
	. "$T/srv/env"
	for v in KMIP_HOST KMIP_PORT KMIP_CA KMIP_CERT KMIP_KEY KMIP_OTHER_CERT \
		KMIP_OTHER_KEY KMIP_PGID KMIP_DIR KMIP_LOG; do
		eval "val=\${$v:-}"
		[ -n "$val" ] || { echo "$v empty"; exit 1; }
	done
	for f in "$KMIP_CA" "$KMIP_CERT" "$KMIP_KEY" "$KMIP_OTHER_CERT" "$KMIP_OTHER_KEY"; do
		[ -s "$f" ] || { echo "$f missing"; exit 1; }
	done
	[ "$KMIP_HOST" = 127.0.0.1 ] || { echo "host $KMIP_HOST"; exit 1; }
) >"$T/out" 2>&1; then
	tap_ok "env complete"
else
	tap_fail "env complete" "$(cat "$T/out")"
fi
. "$T/srv/env"

bad=""
for k in "$T"/srv/*.key; do
	m=$(stat -c %a "$k")
	[ "$m" = 600 ] || bad="$bad $k:$m"
done
[ -z "$bad" ] && tap_ok "private keys mode 0600" || tap_fail "private keys mode 0600" "$bad"

san=$(openssl x509 -in "$T/srv/server.crt" -noout -ext subjectAltName 2>/dev/null)
echo "$san" | grep -q "IP Address:127.0.0.1" && echo "$san" | grep -q "DNS:localhost" &&
	tap_ok "server certificate names 127.0.0.1 and localhost" ||
	tap_fail "server certificate names 127.0.0.1 and localhost" "$san"
openssl verify -CAfile "$KMIP_CA" -purpose sslclient "$KMIP_CERT" "$KMIP_OTHER_CERT" >"$T/out" 2>&1 &&
	tap_ok "client certificates verify for clientAuth" ||
	tap_fail "client certificates verify for clientAuth" "$(cat "$T/out")"
cn1=$(openssl x509 -in "$KMIP_CERT" -noout -subject -nameopt multiline | sed -n 's/ *commonName *= *//p')
cn2=$(openssl x509 -in "$KMIP_OTHER_CERT" -noout -subject -nameopt multiline | sed -n 's/ *commonName *= *//p')
[ "$cn1" = vmcryptd ] && [ "$cn2" = other-owner ] &&
	tap_ok "client CNs are two different owners" ||
	tap_fail "client CNs are two different owners" "$cn1 / $cn2"

# bound to loopback only
if $PY - "$KMIP_PORT" <<'PYEOF' >"$T/out" 2>&1; then
import socket, sys
port = int(sys.argv[1])
listen = open("/proc/net/tcp").read().splitlines()[1:]
mine = [l.split() for l in listen if int(l.split()[1].split(":")[1], 16) == port
        and l.split()[3] == "0A"]
assert mine, "no listener on port %d" % port
for l in mine:
    assert l[1].split(":")[0] == "0100007F", "listening on %s" % l[1]
PYEOF
	tap_ok "listens on 127.0.0.1 only"
else
	tap_fail "listens on 127.0.0.1 only" "$(cat "$T/out")"
fi

# TLS: with the client certificate yes (TLS 1.2), without no
if $PY - "$T/srv" "$KMIP_PORT" <<'PYEOF' >"$T/out" 2>&1; then
import socket, ssl, sys
d, port = sys.argv[1], int(sys.argv[2])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(d + "/ca.crt")
ctx.load_cert_chain(d + "/client.crt", d + "/client.key")
with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
    with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
        assert t.version() == "TLSv1.2", t.version()
ctx2 = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx2.load_verify_locations(d + "/ca.crt")
try:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        with ctx2.wrap_socket(s, server_hostname="127.0.0.1") as t:
            t.settimeout(10)
            t.send(b"\x42\x00\x78\x01\x00\x00\x00\x00")
            if t.recv(1):
                raise SystemExit("served a client without certificate")
except (ssl.SSLError, ConnectionError, socket.timeout):
    pass
PYEOF
	tap_ok "TLS 1.2 with client cert; refused without"
else
	tap_fail "TLS 1.2 with client cert; refused without" "$(cat "$T/out")"
fi

scripts/kmip-test-server status "$T/srv" >/dev/null 2>&1 &&
	tap_ok "status: running" || tap_fail "status: running" ""
if scripts/kmip-test-server start "$T/srv" >"$T/out" 2>&1; then
	tap_fail "second start on the same directory refused" "$(cat "$T/out")"
else
	grep -q "already running" "$T/out" && tap_ok "second start on the same directory refused" ||
		tap_fail "second start on the same directory refused" "$(cat "$T/out")"
fi
scripts/kmip-test-server start "$T/bad" 99999 >"$T/out" 2>&1
[ $? = 1 ] && grep -q "invalid port" "$T/out" && [ ! -f "$T/bad/env" ] &&
	tap_ok "invalid port refused" || tap_fail "invalid port refused" "$(cat "$T/out")"
scripts/kmip-test-server frobnicate "$T/srv" >/dev/null 2>&1
[ $? = 2 ] && tap_ok "unknown command is a usage error" || tap_fail "unknown command is a usage error" ""

pgid=$KMIP_PGID
n=$(ps -e -o pgid= | awk -v g="$pgid" '$1 == g' | wc -l)
if scripts/kmip-test-server stop "$T/srv" >"$T/out" 2>&1; then
	left=$(ps -e -o pgid= | awk -v g="$pgid" '$1 == g' | wc -l)
	[ "$left" = 0 ] && [ ! -f "$T/srv/env" ] &&
		tap_ok "stop kills the process group ($n processes) and removes env" ||
		tap_fail "stop kills the process group and removes env" "$left left"
else
	tap_fail "stop" "$(cat "$T/out")"
fi
scripts/kmip-test-server stop "$T/srv" >"$T/out" 2>&1
[ $? = 1 ] && grep -q "no server running" "$T/out" &&
	tap_ok "stop without a server fails cleanly" ||
	tap_fail "stop without a server fails cleanly" "$(cat "$T/out")"
scripts/kmip-test-server status "$T/srv" >/dev/null 2>&1 &&
	tap_fail "status: stopped" "" || tap_ok "status: stopped"
tap_done
