#!/bin/sh
# test_persistence_vm.sh: persistence and the native provider on a real
# kernel TPM stack: two boots of the QEMU guest (scripts/vm-run) with the
# same swtpm state as /dev/tpmrm0 (TCTI default device:/dev/tpmrm0, kernel
# resource manager). Boot 1: native provider, backup, persistence bound to
# PCR 7, KEKs derived (and cached). Boot 2 (a host reboot: same TPM, PCRs
# reset): same KEK fingerprints, the cache unsealed with all keys; then
# something else is measured into PCR 7 (a changed boot chain) and vmcryptd
# started again ("third"): the cache is refused with the PCR error and kept
# aside, the native provider (not PCR-bound) still derives the same KEKs.
# The guest side is tests/host/persistence-vm-guest.sh.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
[ -x scripts/vm-run ] || tap_skip_all "scripts/vm-run missing"
command -v swtpm >/dev/null || tap_skip_all "swtpm not installed (scripts/install-deps)"
ls /boot/vmlinuz-* >/dev/null 2>&1 || tap_skip_all "no kernel image for the guest (scripts/install-deps)"
top=$(pwd)
BIN=${VMCRYPT_BIN:-build/bin}
case $BIN in /*) ;; *) BIN=$top/$BIN ;; esac
[ -x "$BIN/vmcryptd" ] || tap_skip_all "vmcryptd not built in $BIN"
# Shared with the guest: it must be inside the checkout (the guest's /tmp
# is its own).
D=$(mktemp -d "$top/build/persist-vm.XXXXXX") || tap_skip_all "cannot create a dir in build/"
trap '[ -n "${KEEP_TMP:-}" ] || rm -rf "$D"' EXIT
PY=/usr/bin/python3

boot() {
	VMCRYPT_BIN=$BIN scripts/vm-run --tpm-state "$D/tpm" --timeout 300 -- \
		"$top/tests/host/persistence-vm-guest.sh" "$1" "$D" >"$D/vm-$1.log" 2>&1
}
jget() { $PY -c 'import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2]); print(json.dumps(v) if isinstance(v,bool) else v)' "$@"; }

for p in first second; do
	if boot $p; then
		tap_ok "boot $p: guest ran (vmcryptd $(grep -o 'ready_ms=[0-9]*' "$D/$p.timing" 2>/dev/null))"
	else
		sed 's/^/# /' "$D/vm-$p.log" | tail -20
		tap_fail "boot $p: guest ran"
		tap_done
	fi
done
grep -q tpmrm0=yes "$D/first.tpm" && tap_ok "guest has /dev/tpmrm0" || tap_fail "/dev/tpmrm0 in the guest"
[ "$(jget "$D/first.provider" key_storage)" = tpm ] && [ "$(jget "$D/first.provider" backed_up)" = true ] &&
	tap_ok "boot 1: native KDK sealed via /dev/tpmrm0, backed up" ||
	{ sed 's/^/# /' "$D/first.out" "$D/first.log"; tap_fail "boot 1 native provider"; }
n1=$(awk 'NF == 2' "$D/first.fps" | wc -l)
[ "$n1" = 2 ] && [ "$(jget "$D/first.status" keys_cached)" = 2 ] &&
	tap_ok "boot 1: 2 KEKs derived and cached" || tap_fail "boot 1 KEKs" "$(cat "$D/first.fps" "$D/first.status")"
cmp -s "$D/first.fps" "$D/second.fps" && tap_ok "boot 2: same KEK fingerprints after the reboot" ||
	tap_fail "boot 2 fingerprints" "$(cat "$D/second.fps")"
[ "$(jget "$D/second.status" state)" = active ] && [ "$(jget "$D/second.status" keys_cached)" = 2 ] &&
	tap_ok "boot 2: cache unsealed after the reboot (PCR 7 back to its value)" ||
	tap_fail "boot 2 cache" "$(cat "$D/second.status")"
jget "$D/third.status" error | grep -q "PCR values differ" && [ "$(jget "$D/third.status" state)" = off ] &&
	ls -d "$D"/state/persist.pcr-mismatch.* >/dev/null 2>&1 &&
	tap_ok "PCR 7 changed: cache refused with the PCR error, kept aside" ||
	tap_fail "PCR 7 changed" "$(cat "$D/third.status")"
cmp -s "$D/first.fps" "$D/third.fps" && tap_ok "after the PCR change the native provider still derives the same KEKs" ||
	tap_fail "fingerprints after the PCR change" "$(cat "$D/third.fps")"
grep -h "daemon_exit=0" "$D"/*.timing | wc -l | grep -qx 3 &&
	! grep -Eq "Sanitizer|runtime error" "$D"/first.log "$D"/second.log "$D"/third.log &&
	tap_ok "daemon exited 0 each time, no sanitizer report in its logs" ||
	tap_fail "daemon exit" "$(cat "$D"/*.timing; grep -Eh -m 3 "Sanitizer|runtime error" "$D"/*.log)"
tap_done
