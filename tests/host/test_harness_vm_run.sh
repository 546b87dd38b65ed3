#!/bin/bash
# test_harness_vm_run.sh: checks scripts/vm-run itself in five boots: exit
# status, output, cwd and environment, the guest's filesystems (read-only
# host root under a tmpfs overlay, writable checkout, tmpfs /tmp /run
# /dev/shm, devpts, debugfs), loopback-only network, module auto-loading
# through dm-mod/dm-crypt/loop, the session keyring, a timeout, a panic,
# and a swtpm state directory shared by two boots.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh

command -v qemu-system-x86_64 >/dev/null || tap_skip_all "qemu-system-x86_64 not installed (scripts/install-deps)"
ls /lib/modules/*/build >/dev/null 2>&1 || tap_skip_all "no kernel headers in /lib/modules (scripts/install-deps)"

top=$PWD
# In the checkout: the guest's /tmp is its own tmpfs.
work=$(mktemp -d "$top/build/harness-vm.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

cat >"$work/probe.sh" <<'PROBE'
#!/bin/sh
# Runs in the guest; prints "check <name> ok|fail <detail>".
c() { n=$1; shift; if "$@" >/dev/null 2>&1; then echo "check $n ok"; else echo "check $n fail"; fi; }
fstype() { [ "$(stat -f -c %T "$1")" = "$2" ]; }
echo "cwd=$PWD"
echo "probe=$VMCRYPT_HARNESS_PROBE"
c udev_disabled [ "$DM_DISABLE_UDEV" = 1 ]
c home_root [ "$HOME" = /root ]
c uid_root [ "$(id -u)" = 0 ]
c tmp_tmpfs fstype /tmp tmpfs
c run_tmpfs fstype /run tmpfs
c shm_tmpfs fstype /dev/shm tmpfs
c devpts fstype /dev/pts devpts
c debugfs fstype /sys/kernel/debug debugfs
c root_overlay fstype / overlayfs
c overlay_write touch /usr/vm-run-overlay-probe
c checkout_write sh -c 'echo from-guest > "$1/written"' sh "$1"
c only_lo [ "$(ls /sys/class/net)" = lo ]
c lo_up sh -c 'ip -o -4 addr show lo | grep -q "inet 127.0.0.1/8"'
c modprobe_path [ "$(cat /proc/sys/kernel/modprobe)" = /sbin/modprobe ]
c no_tpm [ ! -e /dev/tpm0 ]
c dm_autoload dmsetup create vmrun-probe --table "0 2048 zero"
c dm_node [ -b /dev/mapper/vmrun-probe ]
c crypt_autoload dmsetup create vmrun-crypt --table \
	"0 2048 crypt aes-xts-plain64 $(printf '%0128d' 0) 0 /dev/mapper/vmrun-probe 0"
c crypt_modules sh -c 'lsmod | grep -q "^dm_crypt " && lsmod | grep -q "^xts "'
dmsetup remove vmrun-crypt >/dev/null 2>&1
dmsetup remove vmrun-probe >/dev/null 2>&1
c loop_autoload sh -c 'truncate -s 1M /tmp/img && d=$(losetup -f --show /tmp/img) && losetup -d "$d"'
c session_keyring sh -c 'echo -n 0123456789abcdef | keyctl padd logon vmcrypt:probe @s && keyctl search @s logon vmcrypt:probe'
exit 7
PROBE
chmod +x "$work/probe.sh"

out=$(cd "$work" && VMCRYPT_HARNESS_PROBE='a b'\''c' "$top/scripts/vm-run" -- ./probe.sh "$work" 2>"$work/err")
rc=$?
if [ "$rc" -eq 7 ]; then
	tap_ok "exit status of the command is vm-run's"
else
	tap_fail "exit status of the command is vm-run's" "rc=$rc; $(tail -n 20 "$work/err")"
fi
if printf '%s\n' "$out" | grep -qxF "cwd=$work"; then
	tap_ok "command runs in the current directory"
else
	tap_fail "command runs in the current directory" "$out"
fi
if printf '%s\n' "$out" | grep -qxF "probe=a b'c"; then
	tap_ok "VMCRYPT_* environment passed through intact"
else
	tap_fail "VMCRYPT_* environment passed through intact" "$out"
fi
for n in udev_disabled home_root uid_root tmp_tmpfs run_tmpfs shm_tmpfs devpts debugfs \
	root_overlay overlay_write checkout_write only_lo lo_up modprobe_path no_tpm \
	dm_autoload dm_node crypt_autoload crypt_modules loop_autoload session_keyring; do
	if printf '%s\n' "$out" | grep -qx "check $n ok"; then
		tap_ok "guest: $n"
	else
		tap_fail "guest: $n" "$(printf '%s\n' "$out" | grep "check $n " || echo "no result")"
	fi
done
if [ "$(cat "$work/written" 2>/dev/null)" = from-guest ]; then
	tap_ok "guest writes to the checkout reach the host"
else
	tap_fail "guest writes to the checkout reach the host" "no $work/written"
fi
if [ ! -e /usr/vm-run-overlay-probe ]; then
	tap_ok "guest writes to the host root stay in the overlay"
else
	tap_fail "guest writes to the host root stay in the overlay" "/usr/vm-run-overlay-probe on the host"
fi

"$top/scripts/vm-run" --timeout 3 -- sleep 100 >/dev/null 2>"$work/err"
rc=$?
if [ "$rc" -eq 124 ] && grep -q 'vm-run: timed out after 3 s' "$work/err"; then
	tap_ok "timeout exits 124 with a message"
else
	tap_fail "timeout exits 124 with a message" "rc=$rc; $(tail -n 5 "$work/err")"
fi

"$top/scripts/vm-run" -- sh -c 'echo c >/proc/sysrq-trigger; sleep 30' >/dev/null 2>"$work/err"
rc=$?
if [ "$rc" -ne 0 ] && grep -q 'vm-run: guest panicked' "$work/err"; then
	tap_ok "guest panic exits non-zero with a message"
else
	tap_fail "guest panic exits non-zero with a message" "rc=$rc; $(tail -n 5 "$work/err")"
fi

tpm=$work/tpm
"$top/scripts/vm-run" --tpm-state "$tpm" -- sh -c \
	'[ -c /dev/tpmrm0 ] && tpm2_nvdefine 0x1500016 -C o -s 8 -a "ownerread|ownerwrite" >/dev/null &&
	 printf vmcrypt1 | tpm2_nvwrite 0x1500016 -C o -i -' >"$work/tpm1" 2>&1
rc1=$?
got=$("$top/scripts/vm-run" --tpm-state "$tpm" -- tpm2_nvread 0x1500016 -C o -s 8 2>"$work/err")
rc2=$?
if [ "$rc1" -eq 0 ] && [ "$rc2" -eq 0 ] && [ "$got" = vmcrypt1 ]; then
	tap_ok "--tpm-state: /dev/tpmrm0, and the TPM state survives a reboot"
else
	tap_fail "--tpm-state: /dev/tpmrm0, and the TPM state survives a reboot" \
		"rc=$rc1/$rc2 got '$got'; $(cat "$work/tpm1"; tail -n 5 "$work/err")"
fi
tap_done
