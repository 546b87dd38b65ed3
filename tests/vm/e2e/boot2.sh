#!/bin/bash
# boot2.sh (guest, second boot of tests/host/test_e2e_restart): same TPM,
# the KMS is NOT started. Both disks must open from the TPM-sealed
# persisted KEK and hold the data written in boot 1.
set -u
cd "$(dirname "$0")/../../.." || exit 1
. tests/lib/tap.sh
. tests/vm/e2e/lib.sh
. tests/vm/e2e/restart-common.sh "$1"

trap e2e_daemon_stop EXIT

tap_plan 5
e2e_init || { tap_fail "load the modules, find vmcryptd" "e2e_init failed: see above"; tap_done; }
restart_restore || { tap_fail "restore" "brd or state"; tap_done; }
if e2e_daemon_start "$STATE"; then tap_ok "vmcryptd restarted, KMS down"; else tap_fail "vmcryptd restarted" "$(tail -n 5 "$E2E_DLOG")"; fi

out=$(restart_open_verify "$IMG" d0 "$(sed -n 's/^d0 //p' "$D/sums")" 2>&1)
if [ $? -eq 0 ]; then tap_ok "image file opens from the persisted key, data intact"; else tap_fail "image file opens from the persisted key" "$out"; fi
out=$(restart_open_verify /dev/ram0 d1 "$(sed -n 's/^d1 //p' "$D/sums")" 2>&1)
if [ $? -eq 0 ]; then tap_ok "ram disk opens from the persisted key, data intact"; else tap_fail "ram disk opens from the persisted key" "$out"; fi

if [ "$(e2e_event_count key.persisted_used)" -ge 1 ]; then
	tap_ok "event log: key.persisted_used"
else
	tap_fail "event log: key.persisted_used" "$(tail -n 4 "$STATE/events.jsonl")"
fi
e2e_daemon_final
restart_save
tap_done
