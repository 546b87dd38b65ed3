#!/bin/sh
# test_persistence.sh: key persistence end to end on the host with a real
# swtpm (TCP on 127.0.0.1) and a real pykmip-server:
#   enable refused without a TPM; enable bound to PCRs 7,16; KEKs from the
#   KMS go into the sealed cache; daemon, KMS and TPM "reboot" (swtpm
#   restarted on the same state: same seeds, PCRs reset) with the KMS down:
#   every KEK is served from the cache, same fingerprints, one event per
#   use; manual recovery of the sealed key and of the cache with tpm2-tools
#   and Python as in Documentation/persistence.rst; a changed PCR: cache
#   refused with the PCR error, kept aside, fallback to the KMS once it is
#   back; each file corrupted in turn; a provider removed while the cache
#   is unavailable (its KEKs erased at the next load); disable, and what an
#   unfinished disable or enable leaves (wiped at the next start); KEKs
#   held before enable are cached at once; a KMS that refuses a key is
#   final, the cache stands in only when it is down; modes (never readable
#   by non-root users).
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
. tests/host/daemon-common.sh
command -v swtpm >/dev/null || tap_skip_all "swtpm not installed (scripts/install-deps)"
command -v tpm2_unseal >/dev/null || tap_skip_all "tpm2-tools not installed (scripts/install-deps)"
command -v pykmip-server >/dev/null || tap_skip_all "pykmip-server not installed (scripts/install-deps)"
h_setup
trap 'scripts/swtpm-test stop "$T/tpm" >/dev/null 2>&1; swtpm_kill_all; h_cleanup' EXIT

N=12
fp_of() {	# fp_of DAEMON ID [ARGS] -> fingerprint on stdout
	_d=$1
	shift
	h_ctl "$_d" key fetch "$@" --json 2>>"$T/fetch.err" |
		$PY -c 'import json,sys; print(json.load(sys.stdin)["fingerprint"])'
}
status_json() {
	h_ctl d persistence status --json
}
jfield() {	# jfield FIELD < json
	$PY -c 'import json,sys; v=json.load(sys.stdin).get(sys.argv[1]); print("" if v is None else (json.dumps(v) if isinstance(v,(list,dict,bool)) else v))' "$1"
}
kms_restart() {	# same certificates and database: the KMS "is back"
	setsid pykmip-server -f "$KMIP_DIR/server.conf" -l "$KMIP_DIR/server.log" \
		</dev/null >>"$KMIP_DIR/server.out" 2>&1 &
	echo $! >"$KMIP_DIR/manual.pgid"
	for _ in $(seq 1 120); do
		h_ctl d provider test kms1 >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	return 1
}
nonroot() {	# run as nobody
	setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}

scripts/swtpm-test start "$T/tpm" >/dev/null || { tap_fail "start swtpm"; tap_done; }
swtpm_track "$T/tpm"
. "$T/tpm/env"
export TPM2TOOLS_TCTI
h_kms_start "$T/kms1" || { tap_fail "start pykmip-server"; tap_done; }
. "$T/kms1/env"
h_daemon_start d "tpm_tcti = $TPM_TCTI" || { tap_fail "start vmcryptd"; tap_done; }

# --- no TPM: enable refused, nothing created
h_daemon_start notpm "tpm_tcti = swtpm:host=127.0.0.1,port=$(h_free_port)" ||
	{ tap_fail "start vmcryptd without TPM"; tap_done; }
h_expect_fail "enable refused without a TPM" "cannot enable persistence: no TPM" \
	h_ctl notpm persistence enable
[ ! -e "$T/notpm/state/persist" ] && tap_ok "refused enable created nothing" ||
	tap_fail "refused enable created nothing"
h_event_has notpm 'r["event"] == "persist.enable_failed" and r["result"] == "error"' &&
	tap_ok "refusal is an event" || tap_fail "refusal is an event"
h_daemon_stop notpm

# --- enable, bad arguments
h_expect_fail "bad PCR list refused" "invalid PCR list '7,24'" h_ctl d persistence enable --pcrs 7,24
h_ctl d persistence enable --pcrs 7,16 >"$T/out" 2>&1 && grep -q "enabled, bound to PCRs sha256:7,16" "$T/out" &&
	tap_ok "persistence enable --pcrs 7,16" || tap_fail "persistence enable" "$(cat "$T/out")"
h_expect_fail "second enable refused" "already enabled" h_ctl d persistence enable
[ "$(status_json | jfield state)" = active ] && [ "$(status_json | jfield pcrs)" = "7,16" ] &&
	tap_ok "status: active, pcrs 7,16" || tap_fail "status" "$(status_json)"

# --- KEKs from the KMS go into the cache
h_ctl d provider add kms1 --kmip "127.0.0.1:$KMIP_PORT" --ca "$KMIP_CA" --cert "$KMIP_CERT" \
	--key "$KMIP_KEY" >/dev/null 2>"$T/err" || tap_fail "add kmip provider" "$(cat "$T/err")"
: >"$T/ids"
ok=1
for i in $(seq 1 $N); do
	u=$(printf '11111111-2222-4333-8444-%012d' "$i")
	id=$(h_ctl d key create --vm-name "vm$i" --vm-uuid "$u" 2>>"$T/err") || ok=0
	echo "$id $(fp_of d "$id")" >>"$T/ids"
done
[ $ok = 1 ] && [ "$(wc -l <"$T/ids")" = $N ] && tap_ok "$N KEKs created on the KMS" ||
	tap_fail "$N KEKs created" "$(cat "$T/err")"
[ "$(status_json | jfield keys_cached)" = $N ] && tap_ok "all $N KEKs in the persisted cache" ||
	tap_fail "KEKs in the persisted cache" "$(status_json)"

# --- modes: never readable by others
P=$T/d/state/persist
modes=$(stat -c '%a %n' "$P" "$P"/* | sed "s|$P|P|g" | tr '\n' ' ')
[ "$modes" = "700 P 600 P/cache 600 P/key.pcrs 600 P/key.priv 600 P/key.pub " ] &&
	tap_ok "persist dir 0700, files 0600" || tap_fail "modes" "$modes"
chmod 755 "$T/d" "$T/d/state" 2>/dev/null
if nonroot cat "$P/cache" >/dev/null 2>&1 || nonroot ls "$P" >/dev/null 2>&1; then
	tap_fail "persist files not readable by a non-root user"
else
	tap_ok "persist files not readable by a non-root user"
fi

# --- "host reboot" with the KMS down
h_daemon_stop d
h_kms_stop "$T/kms1"
scripts/swtpm-test restart "$T/tpm" >/dev/null || tap_fail "swtpm restart"
swtpm_track "$T/tpm"
. "$T/tpm/env"
start=$(date +%s%N)
h_daemon_start d "tpm_tcti = $TPM_TCTI" || { tap_fail "restart vmcryptd"; tap_done; }
echo "# vmcryptd ready with $N persisted KEKs in $((($(date +%s%N) - start) / 1000000)) ms (KMS down)"
bad=0
while read -r id fp; do
	[ "$(fp_of d "$id")" = "$fp" ] || { bad=$((bad + 1)); echo "# $id: wrong or missing"; }
done <"$T/ids"
[ $bad = 0 ] && tap_ok "KMS down after restart: all $N KEKs served, same fingerprints" ||
	{ sed 's/^/# /' "$T/fetch.err"; tap_fail "KEKs served from the cache" "$bad bad"; }
n=$($PY -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["event"]=="key.persisted_used"))' "$(h_events d)")
[ "$n" = $N ] && tap_ok "each use of a persisted key is an event ($n)" || tap_fail "persisted_used events" "$n"
h_event_has d 'r["event"] == "persist.loaded" and r["result"] == "ok"' &&
	tap_ok "persist.loaded event" || tap_fail "persist.loaded event"

# --- manual recovery as documented (tpm2-tools + the cache format)
if (cd "$T" && rm -f key.bin &&
	tpm2_createprimary -Q -C o -g sha256 -G ecc256:null:aes128cfb \
		-a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|decrypt|noda' \
		-c primary.ctx && tpm2_flushcontext -t &&
	tpm2_load -Q -C primary.ctx -u "$P/key.pub" -r "$P/key.priv" -c key.ctx &&
	tpm2_flushcontext -t &&
	tpm2_unseal -c key.ctx -p "pcr:$(cat "$P/key.pcrs")" -o key.bin &&
	tpm2_flushcontext -t) >"$T/out" 2>&1; then
	tap_ok "persistence key recovered by hand with tpm2-tools"
else
	sed 's/^/# /' "$T/out"
	tap_fail "persistence key recovered by hand with tpm2-tools"
fi
$PY - "$T/key.bin" "$P/cache" "$T/ids" <<'PYEOF' >"$T/out" 2>&1 &&
import struct, sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
key = open(sys.argv[1], "rb").read()
f = open(sys.argv[2], "rb").read()
magic, ver, flags, hlen, gen, nonce, n = struct.unpack(">8sHHIQ12sI", f[:40])
assert magic == b"VMCKEKC\0" and ver == 1 and flags == 0 and hlen == 40
assert len(f) == 40 + n + 16
pt = AESGCM(key).decrypt(nonce, f[40:], f[:40])
(count,) = struct.unpack(">I", pt[:4]); off = 4; ids = set()
for _ in range(count):
    pl = pt[off]; prov = pt[off + 1:off + 1 + pl].decode(); off += 1 + pl
    (il,) = struct.unpack(">H", pt[off:off + 2]); kid = pt[off + 2:off + 2 + il].decode(); off += 2 + il
    (kl,) = struct.unpack(">H", pt[off:off + 2]); off += 2 + kl + 8
    assert prov == "kms1" and kl == 32
    ids.add(kid)
assert off == len(pt)
want = {l.split()[0] for l in open(sys.argv[3])}
assert ids == want, (ids, want)
print("cache decrypted by hand:", count, "entries")
PYEOF
	tap_ok "cache decrypted and parsed by hand per the documented format" ||
	{ sed 's/^/# /' "$T/out"; tap_fail "cache decrypted by hand"; }
# The unsealed persistence key is in vmcryptd's heap and anonymous memory
# exactly once, in its locked buffer: not in tpm2-tss's command buffer,
# where ESYS decrypts the Unseal response (that copy lived until the TPM
# context was freed, and then in freed heap). The main thread's stack,
# where the unseal ran, is left out: tpm2-tss and OpenSSL leave copies in
# their frames there (the ASan build's deeper frames keep them longest).
pk="hex:$(od -An -tx1 "$T/key.bin" | tr -d ' \n')"
n=$($PY "$top/tests/lib/memscan.py" --skip-main-stack "$(cat "$T/d.dpid")" "$pk" 2>&1)
echo "# persistence key copies in vmcryptd's memory, main stack included: $($PY "$top/tests/lib/memscan.py" "$(cat "$T/d.dpid")" "$pk" 2>&1)"
[ "$n" = 1 ] && tap_ok "the persistence key is in vmcryptd's heap once, in its locked buffer" ||
	tap_fail "the persistence key is in vmcryptd's heap once" "found $n time(s)"
[ -f "$T/key.bin" ] && shred -u "$T/key.bin"

# --- a bound PCR changes: refused, kept aside, fallback to the KMS when back
h_daemon_stop d
tpm2_pcrextend "16:sha256=$(printf '%064d' 1)" || tap_fail "tpm2_pcrextend"
h_daemon_start d "tpm_tcti = $TPM_TCTI" || { tap_fail "start vmcryptd after PCR change"; tap_done; }
s=$(status_json)
echo "$s" | jfield error | grep -q "PCR values differ" && [ "$(echo "$s" | jfield state)" = off ] &&
	tap_ok "PCR change: cache refused with the PCR error" || tap_fail "PCR error in status" "$s"
aside=$(ls -d "$T"/d/state/persist.pcr-mismatch.* 2>/dev/null | head -n 1)
[ -n "$aside" ] && [ -f "$aside/cache" ] && [ -f "$aside/key.priv" ] && [ ! -e "$P" ] &&
	tap_ok "old files kept aside ($(basename "$aside")), not deleted" || tap_fail "set aside"
h_event_has d 'r["event"] == "persist.pcr_mismatch" and r["result"] == "error"' &&
	tap_ok "PCR mismatch is an event" || tap_fail "PCR mismatch event"
id1=$(head -n 1 "$T/ids" | cut -d' ' -f1)
fp1=$(head -n 1 "$T/ids" | cut -d' ' -f2)
h_expect_status 5 "KMS down and cache unusable: clear error, exit 5" "cannot|unavailable|refused|connect" \
	h_ctl d key fetch "$id1"
kms_restart || tap_fail "restart pykmip-server on the same database"
[ "$(fp_of d "$id1")" = "$fp1" ] && tap_ok "fallback to the KMS once it is back" ||
	tap_fail "fallback to the KMS" "$(cat "$T/fetch.err")"

# --- each file corrupted in turn (persistence re-enabled each time)
for f in cache key.pub key.priv key.pcrs; do
	for how in flip truncate; do
		h_ctl d persistence enable --pcrs 16 >/dev/null 2>"$T/err" || tap_fail "re-enable" "$(cat "$T/err")"
		h_ctl d key create --vm-name "c" --vm-uuid 33333333-2222-4333-8444-000000000001 >/dev/null 2>&1
		h_daemon_stop d
		sz=$(stat -c %s "$P/$f")
		case $how in
		flip) $PY -c 'import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 0x10
open(p, "wb").write(b)' "$P/$f" ;;
		truncate) truncate -s $((sz / 2)) "$P/$f" ;;
		esac
		h_daemon_start d "tpm_tcti = $TPM_TCTI" || { tap_fail "start with corrupt $f"; continue; }
		s=$(status_json)
		n_aside=$(ls -d "$T"/d/state/persist.corrupt.* "$T"/d/state/persist.pcr-mismatch.* 2>/dev/null | wc -l)
		if [ "$(echo "$s" | jfield state)" = off ] && echo "$s" | jfield error | grep -Eq "corrupt|truncated|PCR" &&
			[ ! -e "$P" ] && [ "$(fp_of d "$id1")" = "$fp1" ]; then
			tap_ok "$f ($how): refused, set aside ($n_aside kept), keys from the KMS"
		else
			tap_fail "$f ($how)" "$s"
		fi
	done
done
h_event_has d 'r["event"] == "persist.corrupt" and r["result"] == "error"' &&
	tap_ok "corruption is an event" || tap_fail "corruption event"
pgrep -f "vmcryptd.*$T/d/state" >/dev/null && tap_ok "daemon never crashed" || tap_fail "daemon alive"

# --- a provider removed while the cache is unavailable: reported, then its
# KEKs are erased when the cache next loads
h_ctl d persistence enable >/dev/null 2>"$T/err" || tap_fail "re-enable" "$(cat "$T/err")"
h_ctl d key create --vm-name r --vm-uuid 44444444-2222-4333-8444-000000000001 >/dev/null 2>&1
n_before=$(status_json | jfield keys_cached)
h_daemon_stop d
scripts/swtpm-test stop "$T/tpm" >/dev/null
h_daemon_start d "tpm_tcti = $TPM_TCTI" || { tap_fail "start vmcryptd without its TPM"; tap_done; }
[ "$(status_json | jfield state)" = unavailable ] || tap_fail "TPM down: cache unavailable" "$(status_json)"
h_expect_fail "provider remove reports the cached KEKs it could not erase" \
	"provider 'kms1' was removed, but its KEKs could not be erased from the persisted key cache" \
	h_ctl d provider remove kms1
h_event_has d 'r["event"] == "provider.removed" and r["result"] == "error"' &&
	tap_ok "...and the event says error" || tap_fail "provider.removed error event"
h_daemon_stop d
scripts/swtpm-test restart "$T/tpm" >/dev/null || tap_fail "swtpm restart"
swtpm_track "$T/tpm"
. "$T/tpm/env"
h_daemon_start d "tpm_tcti = $TPM_TCTI" || { tap_fail "restart vmcryptd"; tap_done; }
[ "${n_before:-0}" -gt 0 ] && [ "$(status_json | jfield state)" = active ] &&
	[ "$(status_json | jfield keys_cached)" = 0 ] &&
	h_event_has d "r['event'] == 'persist.pruned' and r['detail'].startswith('$n_before cached KEK(s)')" &&
	tap_ok "the removed provider's $n_before cached KEK(s) erased when the cache loads" ||
	tap_fail "cached KEKs of a removed provider erased" "before $n_before: $(status_json)"

# --- disable wipes
h_ctl d persistence disable >"$T/out" 2>&1 && [ ! -e "$P" ] && [ "$(status_json | jfield enabled)" = false ] &&
	tap_ok "disable wipes the cache and the sealed key" || tap_fail "disable" "$(cat "$T/out")"
h_expect_fail "disable when off refused" "not enabled" h_ctl d persistence disable
h_event_has d 'r["event"] == "persist.disabled"' && tap_ok "disable is an event" || tap_fail "disable event"

# --- a disable that cannot finish its wipe says so; the next start finishes it
h_ctl d persistence enable >/dev/null 2>"$T/err" || tap_fail "re-enable" "$(cat "$T/err")"
mkdir "$P/not-ours"
h_expect_fail "disable reports what it could not wipe" \
	"persistence is disabled, but wiping $T/d/state/.persist.disabling-[0-9-]+ failed: Directory not empty; vmcryptd wipes it when it next starts" \
	h_ctl d persistence disable
left=$(ls -d "$T"/d/state/.persist.disabling-* 2>/dev/null)
[ "$(status_json | jfield enabled)" = false ] && [ -n "$left" ] && [ "$(ls -A "$left")" = not-ours ] &&
	tap_ok "...persistence is off, the sealed key and the cache already shredded" ||
	tap_fail "disable with leftovers" "$(status_json); left: $left: $(ls -A "$left" 2>&1)"
rmdir "$left/not-ours" 2>/dev/null
# A crash in the middle of an enable leaves a temporary directory too.
mkdir -m 700 "$T/d/state/.persist.new-Xy12Ab" && echo sealed >"$T/d/state/.persist.new-Xy12Ab/key.priv"
h_daemon_stop d
h_daemon_start d "tpm_tcti = $TPM_TCTI" || { tap_fail "restart vmcryptd"; tap_done; }
set -- "$T"/d/state/.persist.*
[ ! -e "$1" ] &&
	h_event_has d "r['event'] == 'persist.swept' and r['detail'] == '2 leftovers of an interrupted enable, disable or cache write'" &&
	tap_ok "the next start wipes what an interrupted enable and disable left" ||
	tap_fail "sweep at start" "$(ls -A "$T/d/state")"

# --- keys held before persistence is enabled are cached at once; a KMS
# that refuses the key is final, one that is down is not
# (scripts/kmip/hostile-server.py: "valid" serves key 1, "get-denied"
# answers Get with Permission Denied, on the same port)
scripts/kmip/make-certs "$T/hpki" >"$T/hcerts.log" 2>&1 || tap_fail "make-certs" "$(tail -3 "$T/hcerts.log")"
hk_start() {	# hk_start MODE [PORT]
	rm -f "$T/hk.port"
	$PY scripts/kmip/hostile-server.py --mode "$1" --dir "$T/hpki" --port "${2:-0}" \
		--port-file "$T/hk.port" --parent $$ >>"$T/hk.log" 2>&1 &
	echo $! >"$T/hk.pid"
	for _ in $(seq 1 100); do [ -s "$T/hk.port" ] && return 0; sleep 0.1; done
	return 1
}
hk_stop() {
	kill "$(cat "$T/hk.pid")" 2>/dev/null
	wait "$(cat "$T/hk.pid")" 2>/dev/null
}
if hk_start valid; then
	HKPORT=$(cat "$T/hk.port")
	h_ctl d provider add hk --kmip "127.0.0.1:$HKPORT" --ca "$T/hpki/ca.crt" \
		--cert "$T/hpki/client.crt" --key "$T/hpki/client.key" >/dev/null 2>"$T/err" ||
		tap_fail "add provider hk" "$(cat "$T/err")"
	hfp=$(fp_of d 1 --provider hk)
	h_ctl d persistence enable >"$T/out" 2>&1
	[ -n "$hfp" ] && grep -q "1 KEK(s) held in memory added to the cache" "$T/out" &&
		[ "$(status_json | jfield keys_cached)" = 1 ] &&
		tap_ok "enable caches the KEKs already held in memory" ||
		tap_fail "enable caches the KEKs held" "fp '$hfp'; $(cat "$T/out"); $(status_json)"
	h_daemon_stop d
	hk_stop
	hk_start get-denied "$HKPORT" || tap_fail "hostile server get-denied"
	h_daemon_start d "tpm_tcti = $TPM_TCTI" || { tap_fail "restart vmcryptd"; tap_done; }
	h_expect_status 4 "a KMS that refuses the key: refused (exit 4), the cache does not override it" \
		"[Pp]ermission [Dd]enied|permission denied" h_ctl d key fetch 1 --provider hk
	h_event_has d 'r["event"] == "key.refused" and r["result"] == "error"' &&
		h_event_lacks d 'r["event"] == "key.persisted_used" and r.get("provider") == "hk"' &&
		tap_ok "...event key.refused, no key.persisted_used" || tap_fail "key.refused event"
	hk_stop
	[ "$(fp_of d 1 --provider hk)" = "$hfp" ] &&
		h_event_has d 'r["event"] == "key.persisted_used" and r.get("provider") == "hk"' &&
		tap_ok "the same KMS down: the key comes from the cache" ||
		tap_fail "KMS down: persisted key used" "$(tail -3 "$T/fetch.err")"
else
	tap_fail "hostile server valid" "$(tail -3 "$T/hk.log")"
fi

h_daemons_final
tap_done
