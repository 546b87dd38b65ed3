#!/bin/sh
# test_provider_kmip.sh: the kmip key provider and key commands through
# vmcryptctl + vmcryptd against a real pykmip-server on 127.0.0.1:
# provider add (path checks)/list/show/test/set-default/remove, key
# create/show/list/fetch, custom attributes stored as Application Specific
# Information, wrong CA, another owner's certificate, a KEK revoked on the
# KMS, a server started after the provider was added, and the event log
# records.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
. tests/host/daemon-common.sh
command -v pykmip-server >/dev/null || tap_skip_all "pykmip-server not installed (scripts/install-deps)"
h_setup

UUID1=564d2f1e-0d3c-4b5a-9e8f-1a2b3c4d5e6f
UUID2=0e6c3a52-75f1-4c1e-8d4f-2b9a6c0d1e3f

h_kms_start "$T/kms1" || { tap_fail "start pykmip-server"; tap_done; }
. "$T/kms1/env"
h_daemon_start d "kmip_timeout_ms = 5000" || { tap_fail "start vmcryptd"; tap_done; }

# --- provider add: file checks first (nothing is added on refusal)
cp "$KMIP_KEY" "$T/key644"; chmod 644 "$T/key644"
h_expect_fail "key file readable by others refused" \
	"private key file $T/key644 is readable by others \(mode 0644\): refusing it" \
	h_ctl d provider add p0 --kmip "127.0.0.1:$KMIP_PORT" --ca "$KMIP_CA" --cert "$KMIP_CERT" --key "$T/key644"
cp "$KMIP_CA" "$T/ca666"; chmod 666 "$T/ca666"
h_expect_fail "CA file writable by others refused (it decides which server is trusted)" \
	"CA file $T/ca666 is writable by others \(mode 0666\): refusing it; run 'chmod go-w $T/ca666'" \
	h_ctl d provider add p0 --kmip "127.0.0.1:$KMIP_PORT" --ca "$T/ca666" --cert "$KMIP_CERT" --key "$KMIP_KEY"
cp "$KMIP_CA" "$T/ca-nobody"; chown 65534 "$T/ca-nobody"
h_expect_fail "CA file owned by another user refused" \
	"CA file $T/ca-nobody belongs to uid 65534, neither root nor the user vmcryptd runs as" \
	h_ctl d provider add p0 --kmip "127.0.0.1:$KMIP_PORT" --ca "$T/ca-nobody" --cert "$KMIP_CERT" --key "$KMIP_KEY"
h_expect_fail "missing CA file refused" "CA file $T/nope.crt is not readable by vmcryptd: No such file" \
	h_ctl d provider add p0 --kmip "127.0.0.1:$KMIP_PORT" --ca "$T/nope.crt" --cert "$KMIP_CERT" --key "$KMIP_KEY"
h_expect_fail "bad server spec refused" "invalid server '127.0.0.1:99999'" \
	h_ctl d provider add p0 --kmip "127.0.0.1:99999" --ca "$KMIP_CA" --cert "$KMIP_CERT" --key "$KMIP_KEY"
h_expect_fail "mismatched cert and key refused" "TLS credentials refused" \
	h_ctl d provider add p0 --kmip "127.0.0.1:$KMIP_PORT" --ca "$KMIP_CA" --cert "$KMIP_OTHER_CERT" --key "$KMIP_KEY"
n=$(h_ctl d provider list --json | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["providers"]))')
[ "$n" = 0 ] && tap_ok "refused adds changed nothing" || tap_fail "refused adds changed nothing" "$n providers"

# relative paths are stored absolute
(cd "$KMIP_DIR" && h_ctl d provider add kms1 --kmip "127.0.0.1:$KMIP_PORT" --ca ca.crt --cert client.crt --key client.key) >"$T/out" 2>&1
grep -qx "provider kms1 added (default)" "$T/out" && tap_ok "first provider added is the default" || tap_fail "first provider added is the default" "$(cat "$T/out")"
h_ctl d provider show kms1 --json >"$T/show.json"
$PY - "$T/show.json" "$KMIP_DIR" <<'PYEOF' && tap_ok "provider show: absolute paths, server list, default" || tap_fail "provider show"
import json, sys
p = json.load(open(sys.argv[1])); d = sys.argv[2]
ok = p["ca"] == d + "/ca.crt" and p["cert"] == d + "/client.crt" and p["key"] == d + "/client.key"
ok = ok and p["default"] is True and p["type"] == "kmip" and len(p["servers"]) == 1
sys.exit(0 if ok else 1)
PYEOF
grep -q "\"$KMIP_DIR/ca.crt\"" "$T/d/state/providers.json" && [ "$(stat -c %a "$T/d/state/providers.json")" = 600 ] &&
	tap_ok "providers.json persisted 0600" || tap_fail "providers.json persisted 0600"
h_expect_fail "duplicate provider name refused" "a provider named 'kms1' already exists" \
	h_ctl d provider add kms1 --kmip "127.0.0.1:$KMIP_PORT" --ca "$KMIP_CA" --cert "$KMIP_CERT" --key "$KMIP_KEY"

# --- provider test
h_ctl d provider test kms1 >"$T/out" 2>&1 && grep -q "127.0.0.1:$KMIP_PORT: OK  reachable=yes tls=yes kmip=1.[0-4] vendor=\"PyKMIP" "$T/out" &&
	tap_ok "provider test: reachable, TLS, KMIP version, vendor" || tap_fail "provider test" "$(cat "$T/out")"

# --- key create / show / list / fetch
ID=$(h_ctl d key create --vm-name "web 1" --vm-uuid "$UUID1" 2>"$T/err")
[ -n "$ID" ] && tap_ok "key create prints the new key id ($ID)" || tap_fail "key create" "$(cat "$T/err")"
h_ctl d key show "$ID" --json >"$T/attrs.json" 2>"$T/err"
$PY - "$T/attrs.json" "$UUID1" <<'PYEOF' && tap_ok "key show: AES-256, Active, vmcrypt attributes" || { sed 's/^/# /' "$T/attrs.json" "$T/err"; tap_fail "key show attributes"; }
import json, sys
r = json.load(open(sys.argv[1])); u = sys.argv[2]
a = {}
for x in r["attributes"]:
    a.setdefault(x["name"], []).append(x["value"])
want = {"x-Vendor": "vmcrypt", "x-Product": "vmcrypt", "x-Product_Version": "0.1",
        "x-Component": "Virtual Machine", "x-Name": "web 1", "x-Identifier": u}
asi = set(a.get("Application Specific Information", []))
xs = {k: a.get(k, [None])[0] for k in want}
# Either as x- attributes or (PyKMIP) as ASI namespace=data.
ok = all(xs[k] == v or ("%s=%s" % (k, v)) in asi for k, v in want.items())
ok = ok and a["Cryptographic Algorithm"] == ["AES"] and a["Cryptographic Length"] == ["256"]
ok = ok and a["State"] == ["Active"]
sys.exit(0 if ok else 1)
PYEOF
h_event_has d "r['event']=='key.attributes_as_asi' and r['key_id']=='$ID' and 'x-Vendor' in r['detail']" &&
	tap_ok "event log says the x- attributes went to ASI" || tap_fail "event key.attributes_as_asi"
h_event_has d "r['event']=='key.created' and r['key_id']=='$ID' and r['vm_uuid']=='$UUID1' and r['vm_name']=='web 1' and r['provider']=='kms1' and r['user']=='root' and r['uid']==0 and r['op']=='key.create' and r['result']=='ok'" &&
	tap_ok "key.created event has every field" || tap_fail "key.created event fields"
h_ctl d key list --json | $PY -c "import json,sys; v=json.load(sys.stdin)['vms']; sys.exit(0 if any(x['vm_uuid']=='$UUID1' and x['kek_id']=='$ID' and x['provider']=='kms1' for x in v) else 1)" &&
	tap_ok "key list: VM bound to its KEK" || tap_fail "key list"
grep -q "\"$ID\"" "$T/d/state/vms.json" && tap_ok "VM map persisted in vms.json" || tap_fail "VM map persisted"
fp1=$(h_ctl d key fetch "$ID" --json | $PY -c 'import json,sys; r=json.load(sys.stdin); print(r["fingerprint"] if r["length"]==256 else "")')
fp2=$(h_ctl d key fetch "$ID" --no-cache --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["fingerprint"])')
[ -n "$fp1" ] && [ "$fp1" = "$fp2" ] && tap_ok "key fetch: cached and KMS copies agree ($fp1)" || tap_fail "key fetch fingerprints" "$fp1 / $fp2"
h_event_has d "r['event']=='key.fetched' and r['key_id']=='$ID'" && tap_ok "key.fetched event" || tap_fail "key.fetched event"
ID2=$(h_ctl d key create --vm-name web1 --vm-uuid "$UUID1")
[ -n "$ID2" ] && [ "$ID2" != "$ID" ] && h_ctl d key list --json | $PY -c "import json,sys; v=json.load(sys.stdin)['vms']; sys.exit(0 if [x['kek_id'] for x in v if x['vm_uuid']=='$UUID1']==['$ID2'] else 1)" &&
	tap_ok "second key create for a VM makes the new KEK current" || tap_fail "rebind VM"
grep -rq "$(h_ctl d key fetch "$ID" --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["fingerprint"])')" "$T/d.log" "$(h_events d)" &&
	tap_fail "fingerprints are not logged" || tap_ok "fingerprints are not logged"

h_expect_fail "key show of a missing key: clear error" "key 99999 not found on provider kms1" h_ctl d key show 99999
h_event_has d "r['event']=='key.missing' and r['key_id']=='99999'" && tap_ok "key.missing event" || tap_fail "key.missing event"
h_expect_fail "key fetch of a missing key: clear error" "key 99999 not found on provider kms1" h_ctl d key fetch 99999
h_expect_fail "key create on unknown provider" "no provider named 'zz'" h_ctl d key create --provider zz --vm-name a --vm-uuid "$UUID2"

# --- another owner's certificate: the key is not theirs
h_ctl d provider add other --kmip "127.0.0.1:$KMIP_PORT" --ca "$KMIP_CA" --cert "$KMIP_OTHER_CERT" --key "$KMIP_OTHER_KEY" >/dev/null 2>&1 &&
	tap_ok "second provider with another owner's certificate added" || tap_fail "add provider other"
h_expect_status 4 "key show with another owner's certificate fails (refused, exit 4)" "provider other|not found on provider other" \
	h_ctl d key show "$ID" --provider other
h_expect_status 4 "key fetch with another owner's certificate fails (refused, exit 4)" "provider other" \
	h_ctl d key fetch "$ID" --provider other --no-cache
h_ctl d provider list | grep -q "^kms1 (default)" && tap_ok "the second provider is not the default" || tap_fail "default unchanged"

# --- wrong CA: the server certificate does not verify
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/badca.key" -out "$T/badca.crt" -days 1 -subj "/CN=wrong CA" 2>/dev/null
h_ctl d provider add wrongca --kmip "127.0.0.1:$KMIP_PORT" --ca "$T/badca.crt" --cert "$KMIP_CERT" --key "$KMIP_KEY" >/dev/null 2>&1 &&
	tap_ok "provider with a wrong CA can be added (no network at add)" || tap_fail "add wrongca"
if h_ctl d provider test wrongca >"$T/out" 2>"$T/err"; then
	tap_fail "provider test with a wrong CA fails" "$(cat "$T/out")"
else
	grep -q "tls=no" "$T/out" && grep -qi "certif\|verify\|handshake" "$T/out" &&
		tap_ok "provider test with a wrong CA fails (tls=no, certificate error)" ||
		tap_fail "provider test with a wrong CA" "$(cat "$T/out" "$T/err")"
fi
h_expect_fail "key create with a wrong CA refused clearly" "no KMS server of provider wrongca gave a usable answer: 127.0.0.1:$KMIP_PORT: .*(certificate|verify|handshake)" \
	h_ctl d key create --provider wrongca --vm-name v --vm-uuid "$UUID2"
h_event_has d "r['event']=='kms.unreachable' and r['provider']=='wrongca' and r['server']=='127.0.0.1:$KMIP_PORT' and r['error']" &&
	tap_ok "kms.unreachable event names the server and the reason" || tap_fail "kms.unreachable event"

# --- set-default / remove
h_ctl d provider set-default other >/dev/null && h_ctl d provider list --json | $PY -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["default"]=="other" else 1)' &&
	tap_ok "provider set-default" || tap_fail "provider set-default"
h_expect_fail "set-default of unknown provider" "no provider named 'nope'" h_ctl d provider set-default nope
h_ctl d provider remove other >"$T/out" 2>&1 && grep -q "default provider is now kms1" "$T/out" &&
	tap_ok "removing the default makes the next one default" || tap_fail "provider remove default" "$(cat "$T/out")"
h_ctl d provider remove wrongca >/dev/null && h_ctl d provider list --json | $PY -c 'import json,sys; r=json.load(sys.stdin); sys.exit(0 if [p["name"] for p in r["providers"]]==["kms1"] and r["default"]=="kms1" else 1)' &&
	tap_ok "provider remove" || tap_fail "provider remove"
for e in provider.added provider.default provider.removed; do
	h_event_has d "r['event']=='$e' and r['result']=='ok' and r['provider']" || { tap_fail "event $e"; continue; }
	tap_ok "event $e recorded"
done

# --- credentials that become unusable later: a clear error, not "no such key"
cp "$KMIP_KEY" "$T/later.key"; chmod 600 "$T/later.key"
h_ctl d provider add later --kmip "127.0.0.1:$KMIP_PORT" --ca "$KMIP_CA" --cert "$KMIP_CERT" --key "$T/later.key" >/dev/null
chmod 644 "$T/later.key"
h_expect_fail "key file made readable by others after add: refused with the file named" \
	"provider later: cannot use its TLS credentials: .*later.key" h_ctl d key show "$ID" --provider later
h_event_lacks d "r['event']=='key.missing' and r['provider']=='later'" &&
	tap_ok "no key.missing event for a credential problem" ||
	tap_fail "no key.missing event for a credential problem"
# Regression: create_kek read its stage name (NULL) when no server was ever
# contacted, and the daemon died on this request.
h_expect_fail "key create with an unusable key file: refused with the file named" \
	"provider later: cannot use its TLS credentials: .*later.key" \
	h_ctl d key create --provider later --vm-name later --vm-uuid "$UUID2"
h_ctl d ping >/dev/null 2>&1 && tap_ok "vmcryptd still answers after that key create" ||
	tap_fail "vmcryptd still answers after that key create"
h_ctl d provider remove later >/dev/null

# --- a KEK revoked on the KMS: PyKMIP still serves its Get (KMIP allows a
# Deactivated key to decrypt), vmcryptd refuses it as the KMS's decision
RV=$(h_ctl d key create --vm-name revoked --vm-uuid 7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6)
h_ctl d key fetch "$RV" --no-cache >/dev/null 2>"$T/err" && tap_ok "key fetch before the revoke" ||
	tap_fail "key fetch before the revoke" "$(cat "$T/err")"
$PY - "$RV" >"$T/revoke.log" 2>&1 <<'PYEOF' && tap_ok "KEK revoked on the KMS with PyKMIP's client" || tap_fail "revoke with PyKMIP" "$(tail -5 "$T/revoke.log")"
import os, sys
from kmip import enums
from kmip.pie.client import ProxyKmipClient
e = os.environ
c = ProxyKmipClient(hostname=e["KMIP_HOST"], port=int(e["KMIP_PORT"]), cert=e["KMIP_CERT"],
                    key=e["KMIP_KEY"], ca=e["KMIP_CA"], config_file="/dev/null",
                    kmip_version=enums.KMIPVersion.KMIP_1_4)
with c:
    c.revoke(enums.RevocationReasonCode.CESSATION_OF_OPERATION, sys.argv[1])
    assert c.get_attributes(sys.argv[1], ["State"])[1][0].attribute_value.value == enums.State.DEACTIVATED
    c.get(sys.argv[1])  # the KMS itself still hands it out
PYEOF
h_expect_status 4 "key fetch of a revoked KEK: refused (exit 4), the state named" \
	"key $RV on provider kms1 is Deactivated on the KMS, not Active: it was revoked or destroyed" \
	h_ctl d key fetch "$RV" --no-cache
h_event_has d "r['event']=='key.refused' and r['key_id']=='$RV'" && tap_ok "...event key.refused" ||
	tap_fail "key.refused event for the revoked KEK"

# --- restart: providers, default and VM map survive; KEK comes from the KMS
h_daemon_stop d && h_daemon_start d "kmip_timeout_ms = 5000" &&
	fp3=$(h_ctl d key fetch "$ID" --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["fingerprint"])') &&
	[ "$fp3" = "$fp1" ] && h_ctl d key list | grep -q "$ID2" &&
	tap_ok "after restart: provider, VM map and keys are back" || tap_fail "restart keeps state"
# held in memory before the restart, the revoked KEK is now asked for again
h_expect_status 4 "after restart: the revoked KEK is refused" \
	"key $RV on provider kms1 is Deactivated on the KMS" h_ctl d key fetch "$RV"

# --- a server started after the provider was added
h_kms_start "$T/kms2" || tap_fail "start second pykmip-server"
. "$T/kms2/env"
h_kms_stop "$T/kms2"
h_ctl d provider add late --kmip "127.0.0.1:$KMIP_PORT" --ca "$KMIP_CA" --cert "$KMIP_CERT" --key "$KMIP_KEY" >/dev/null &&
	tap_ok "provider added while its server is down" || tap_fail "add provider late"
h_expect_status 5 "key create while the server is down: unreachable, exit 5" "no KMS server of provider late gave a usable answer: 127.0.0.1:$KMIP_PORT: .*(refused|Connection)" \
	h_ctl d key create --provider late --vm-name late --vm-uuid "$UUID2"
# --- a server name that does not resolve: counted as unreachable (exit 5,
# retry later: DNS may not be up yet at boot), the resolver's answer named
h_ctl d provider add nodns --kmip "kms.invalid:$KMIP_PORT" --ca "$KMIP_CA" --cert "$KMIP_CERT" --key "$KMIP_KEY" >/dev/null &&
	tap_ok "provider added with a server name that does not resolve" || tap_fail "add provider nodns"
h_expect_status 5 "key create on a server name that does not resolve: exit 5, the name and the resolver's answer named" \
	"no KMS server of provider nodns gave a usable answer: kms.invalid:$KMIP_PORT: resolve kms.invalid: [A-Za-z]" \
	h_ctl d key create --provider nodns --vm-name nodns --vm-uuid 6a0f9c1e-3b7d-4e2a-9c58-1d4b7e0a2f93
h_ctl d provider remove nodns >/dev/null
# same certificates, same config: start the server by hand now
(cd "$T/kms2" && setsid pykmip-server -f "$T/kms2/server.conf" -l "$T/kms2/server.log" </dev/null >"$T/kms2/server.out" 2>&1 & echo $! >"$T/kms2/manual.pgid")
ok=""
for _ in $(seq 1 120); do
	if h_ctl d provider test late >/dev/null 2>&1; then ok=1; break; fi
	sleep 0.5
done
if [ -n "$ok" ] && LID=$(h_ctl d key create --provider late --vm-name late --vm-uuid "$UUID2" 2>"$T/err") && [ -n "$LID" ]; then
	tap_ok "server started after the provider was added: key create works"
else
	tap_fail "server started later" "$(cat "$T/err" 2>/dev/null)"
fi

h_daemon_final d
tap_done
