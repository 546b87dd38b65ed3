#!/bin/sh
# test_provider_kmip_hostile.sh: vmcryptd's kmip provider against a KMS
# that answers Create with something vmcryptd must not use
# (scripts/kmip/hostile-server.py on 127.0.0.1): a key id holding an
# escape sequence, which a LUKS token could not hold, and an AES-128 key;
# or that reads a Create and closes without answering. key create (and so disk format, which creates its KEK the same way)
# fails with a message naming the fault, binds nothing to the VM, echoes
# no control character, and does not send the Create again. Key ids from
# clients follow the same rule.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
. tests/host/daemon-common.sh
h_setup

UUID=7d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d
ESC=$(printf '\033')

scripts/kmip/make-certs "$T/pki" >"$T/certs.log" 2>&1 ||
	{ sed 's/^/# /' "$T/certs.log"; tap_fail "make-certs"; tap_done; }
h_daemon_start d "kmip_timeout_ms = 3000" || { tap_fail "start vmcryptd"; tap_done; }

# hostile MODE: start the server in MODE, add it as provider MODE
hostile() {
	$PY scripts/kmip/hostile-server.py --mode "$1" --dir "$T/pki" \
		--port-file "$T/$1.port" --op-log "$T/$1.ops" --parent $$ \
		>"$T/$1.log" 2>&1 &
	echo $! >"$T/$1.ppid"
	for _ in $(seq 1 200); do [ -s "$T/$1.port" ] && break; sleep 0.1; done
	[ -s "$T/$1.port" ] || { sed 's/^/# /' "$T/$1.log"; return 1; }
	h_ctl d provider add "$1" --kmip "127.0.0.1:$(cat "$T/$1.port")" \
		--ca "$T/pki/ca.crt" --cert "$T/pki/client.crt" \
		--key "$T/pki/client.key" >"$T/out" 2>&1 ||
		{ sed 's/^/# /' "$T/out"; return 1; }
	: >"$T/$1.ops"	# only what key create sends
}

# nothing_bound MODE: no KEK bound to the VM, and the server got one
# Create (operation 1): no second attempt with other attributes
nothing_bound() {
	n=$(h_ctl d key list --json | $PY -c "import json,sys; print(sum(1 for v in json.load(sys.stdin)['vms'] if v['vm_uuid']=='$UUID'))")
	[ "$n" = 0 ] && tap_ok "$1: nothing bound to the VM" ||
		tap_fail "$1: nothing bound to the VM" "$n bindings"
	c=$(grep -cx 1 "$T/$1.ops")
	[ "$c" = 1 ] && tap_ok "$1: one Create sent, not retried" ||
		tap_fail "$1: one Create sent, not retried" "$c Creates: $(tr '\n' ' ' <"$T/$1.ops")"
}

if hostile create-bad-uid; then
	h_expect_fail "key id with an escape sequence refused" \
		"the Unique Identifier in the response has a control character" \
		h_ctl d key create --provider create-bad-uid --vm-name web --vm-uuid "$UUID"
	grep -q "$ESC" "$T/err" "$T/out" && tap_fail "no escape sequence echoed to the client" ||
		tap_ok "no escape sequence echoed to the client"
	grep -q "$ESC" "$(h_events d)" "$T/d.log" && tap_fail "no escape sequence in the event log or the log" ||
		tap_ok "no escape sequence in the event log or the log"
	nothing_bound create-bad-uid
else
	tap_fail "hostile server create-bad-uid"
fi

if hostile create-short-key; then
	h_expect_fail "AES-128 key from Create refused" \
		"provider create-short-key created key 7 of 128 bits, not an AES-256 KEK: it is not used" \
		h_ctl d key create --provider create-short-key --vm-name web --vm-uuid "$UUID"
	nothing_bound create-short-key
	h_event_has d "r.get('op')=='key.create' and r['result']=='error' and r.get('provider')=='create-short-key'" &&
		tap_ok "create-short-key: the failure is in the event log" ||
		tap_fail "create-short-key: the failure is in the event log"
else
	tap_fail "hostile server create-short-key"
fi

# a Create the server read but never answered may have created a key:
# vmcryptd must not send it again (an orphan key on the KMS)
if hostile create-lost; then
	h_expect_status 5 "Create whose answer is lost: key create fails, exit 5" \
		"no KMS server of provider create-lost gave a usable answer: 127.0.0.1:[0-9]+: " \
		h_ctl d key create --provider create-lost --vm-name web --vm-uuid "$UUID"
	nothing_bound create-lost
else
	tap_fail "hostile server create-lost"
fi

# the same rule for the key ids clients send
h_expect_fail "client key id with a tab refused" \
	"invalid key id: use 1-255 printable characters" \
	h_ctl d key show "$(printf 'a\tb')" --provider create-short-key
h_expect_fail "client key id of 256 bytes refused" \
	"invalid key id: use 1-255 printable characters" \
	h_ctl d key show "$(printf '%0256d' 0)" --provider create-short-key

h_daemon_final d
tap_done
