#!/bin/bash
# boot1.sh (guest, first boot of tests/host/test_e2e_restart): KMS up,
# vmcryptd with a KMIP provider and persistence enabled; two disks of one
# VM (an image file on a loop device, a ram disk) formatted, opened,
# filled with random data, checksummed, closed; everything saved for the
# next boots.
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

tap_plan 8
e2e_init || { tap_fail "load the modules, find vmcryptd" "e2e_init failed: see above"; tap_done; }
restart_restore || { tap_fail "restore" "brd"; tap_done; }

if e2e_kms_start "$KMS" && e2e_daemon_start "$STATE" && e2e_provider_add kms1 >/dev/null; then
	tap_ok "KMS, vmcryptd, provider kms1"
else
	tap_fail "KMS, vmcryptd, provider kms1" "$(tail -n 5 "$E2E_DLOG" 2>/dev/null)"
	tap_done	# nothing else can work (and the plan count fails the run)
fi
tap_check "persistence enable (TPM)" ctl persistence enable

ok=1
for dev in "$IMG" /dev/ram0; do
	if [ "$dev" = "$IMG" ]; then sz="--size 48M"; else sz=; fi
	# shellcheck disable=SC2086
	out=$(ctl format "$dev" $sz --vm-name $VM_NAME --vm-uuid $VM_UUID --json 2>&1) ||
		{ ok=0; tap_diag "$out"; }
	printf '%s\n' "$out" | sed -n 's/.*"kek_id": *"\([^"]*\)".*/\1/p' >>"$D/keks"
done
if [ $ok = 1 ] && [ "$(sort -u "$D/keks" | wc -l)" = 1 ]; then
	tap_ok "format image file and ram disk with the VM's one KEK $(head -n 1 "$D/keks")"
else
	tap_fail "format image file and ram disk" "keks: $(cat "$D/keks" 2>/dev/null)"
fi

ok=1
: >"$D/sums"
for pair in "$IMG:d0" "/dev/ram0:d1"; do
	dev=${pair%:*}; name=${pair#*:}
	out=$(ctl open "$dev" "$name" 2>&1) || { ok=0; tap_diag "$out"; continue; }
	dd if=/dev/urandom of=/tmp/data bs=1M count=8 status=none
	dd if=/tmp/data of="/dev/mapper/$name" bs=1M oflag=direct status=none
	want=$(sha256sum </tmp/data | cut -d' ' -f1)
	[ "$(e2e_sum "/dev/mapper/$name" 8)" = "$want" ] || ok=0
	echo "$name $want" >>"$D/sums"
done
if [ $ok = 1 ]; then tap_ok "open both, write random data, read back"; else tap_fail "open both and write" "see above"; fi

tap_check "close both" sh -c "'$E2E_BIN/vmcryptctl' --socket '$E2E_SOCK' close d0 && '$E2E_BIN/vmcryptctl' --socket '$E2E_SOCK' close d1"

tap_check "persistence status lists the KEK" sh -c \
	"'$E2E_BIN/vmcryptctl' --socket '$E2E_SOCK' persistence status --keys | grep -q -- '$(head -n 1 "$D/keks")'"

e2e_daemon_final
e2e_kms_stop "$KMS"
# Save what a real host keeps across a restart.
if dd if=/dev/ram0 of="$D/ram0.save" bs=1M status=none && restart_save &&
   cp "$IMG" "$D/disk0.img" &&
   rm -rf "$D/kms" && cp -a "$KMS" "$D/kms"; then
	tap_ok "state, ram disk and KMS database saved for the next boot"
else
	tap_fail "save for the next boot" "copy failed"
fi
tap_done
