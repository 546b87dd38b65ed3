#!/bin/bash
# boot3.sh (guest, third boot of tests/host/test_e2e_restart): persistence
# disabled and the KMS down: open is refused with a clear error and an
# event; once the KMS is back (same keys), open works.
set -u
cd "$(dirname "$0")/../../.." || exit 1
. tests/lib/tap.sh
. tests/vm/e2e/lib.sh
. tests/vm/e2e/restart-common.sh "$1"

cleanup() {
	e2e_daemon_stop
	e2e_kms_stop "$KMS"
}
trap cleanup EXIT

tap_plan 6
e2e_init || { tap_fail "load the modules, find vmcryptd" "e2e_init failed: see above"; tap_done; }
restart_restore || { tap_fail "restore" "brd or state"; tap_done; }
if e2e_daemon_start "$STATE" && ctl persistence disable >/dev/null; then
	tap_ok "vmcryptd restarted, persistence disabled, KMS down"
else
	tap_fail "vmcryptd restarted, persistence disabled" "$(tail -n 5 "$E2E_DLOG")"
fi

kek=$(head -n 1 "$D/keks")
out=$(ctl open "$IMG" d0 2>&1)
rc=$?
case "$rc:$out" in
0:*) tap_fail "open refused while the KMS is down" "it opened: $out"; ctl close d0 >/dev/null 2>&1 ;;
5:*"disk $IMG is locked: key $kek of provider kms1 is unavailable"*) tap_ok "open refused, exit 5 (retry later): $out" ;;
*) tap_fail "open refused with a clear error and exit 5" "rc $rc: $out" ;;
esac
if grep '"event":"disk.open"' "$STATE/events.jsonl" | grep '"result":"error"' | grep -q "is locked"; then
	tap_ok "event log: disk.open error recorded"
else
	tap_fail "event log: disk.open error recorded" "$(tail -n 3 "$STATE/events.jsonl")"
fi

if e2e_kms_restart "$KMS"; then
	out=$(restart_open_verify "$IMG" d0 "$(sed -n 's/^d0 //p' "$D/sums")" 2>&1)
	if [ $? -eq 0 ]; then tap_ok "KMS back: image file opens, data intact"; else tap_fail "KMS back: image file opens" "$out"; fi
	out=$(restart_open_verify /dev/ram0 d1 "$(sed -n 's/^d1 //p' "$D/sums")" 2>&1)
	if [ $? -eq 0 ]; then tap_ok "KMS back: ram disk opens, data intact"; else tap_fail "KMS back: ram disk opens" "$out"; fi
else
	tap_fail "KMS back: image file opens" "pykmip-server did not restart"
	tap_fail "KMS back: ram disk opens" "pykmip-server did not restart"
fi
e2e_daemon_final
tap_done
