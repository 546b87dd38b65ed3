# restart-common.sh: shared by boot1.sh, boot2.sh and boot3.sh, the three
# guest boots of tests/host/test_e2e_restart. Sourced after lib.sh and
# tap.sh, with $1 = the shared directory in the checkout (it survives the
# reboots; the guest's /tmp, /var and /dev/ram0 do not).
#
# What survives a "host restart" here, as on a real host:
#   - the TPM (vm-run --tpm-state: same swtpm state in every boot);
#   - vmcryptd's state dir: /var/lib/vmcrypt is saved to $D/state at the
#     end of a boot and restored at the start of the next;
#   - the image file: it lives in the guest at /var/lib/vmcrypt-images/
#     (libcryptsetup cannot write LUKS2 headers through the 9p share of the
#     checkout) and is saved to / restored from $D/disk0.img;
#   - the ram disk /dev/ram0: its contents are saved to $D/ram0.save and
#     restored into a fresh brd device in the next boot;
#   - the KMS's certificates, configuration and key database (/tmp/kms,
#     saved to $D/kms); whether the KMS runs is up to each boot.

D=$1
VM_NAME=db01
VM_UUID=2b7e1516-28ae-4d2a-a6f7-15880926cf4f
STATE=/var/lib/vmcrypt
KMS=/tmp/kms
IMG=/var/lib/vmcrypt-images/disk0.img
E2E_DLOG=$D/vmcryptd-boot.log

restart_restore() {
	mkdir -p "$STATE" && chmod 700 "$STATE"
	[ -d "$D/state" ] && cp -a "$D/state/." "$STATE/"
	mkdir -p "$(dirname "$IMG")"
	if [ -f "$D/disk0.img" ]; then
		cp "$D/disk0.img" "$IMG" || return 1
	fi
	[ -d "$D/kms" ] && { mkdir -p "$KMS"; cp -a "$D/kms/." "$KMS/"; rm -f "$KMS/env"; }
	modprobe brd rd_nr=1 rd_size=49152 || return 1
	if [ -f "$D/ram0.save" ]; then
		dd if="$D/ram0.save" of=/dev/ram0 bs=1M status=none || return 1
	fi
	return 0
}

restart_save() {
	rm -rf "$D/state.new" && cp -a "$STATE" "$D/state.new" &&
		rm -rf "$D/state" && mv "$D/state.new" "$D/state"
}

# Open disk $1 as $2, compare the first 8 MiB with the recorded sum $3.
restart_open_verify() {
	local path=$1 name=$2 want=$3 out got
	out=$(ctl open "$path" "$name" 2>&1) || { echo "$out"; return 1; }
	got=$(e2e_sum "/dev/mapper/$name" 8)
	ctl close "$name" >/dev/null 2>&1
	[ "$got" = "$want" ] || { echo "data differs: $got != $want"; return 1; }
	echo "$out"
}
