#!/bin/bash
# test_e2e_disk.sh: vmcrypt disks end to end in one boot (in the guest, run
# by tests/vm/run-all): a real pykmip-server on the loopback, vmcryptd, and
# vmcryptctl format/open/close/list/status/lock/unlock/rekey on an image
# file (loop device), with
#   - data written through vmcrypt read back through dm-crypt with the
#     recovery passphrase (plain cryptsetup) and the reverse;
#   - the emergency lock under a running fio with crc32c verification
#     (I/O held while locked, no verification error);
#   - a shallow rekey while open;
#   - the error cases: existing data, too small, busy, wrong DEK for the
#     digest, key missing on the KMS, --size on a block device; each with
#     its message and event;
#   - roles: a viewer lists but cannot open;
#   - unlock leaves alone what it did not lock (an open disk, a foreign
#     suspend with --all); lock drops an inactive table and its key;
#   - a dm device reached through an LVM-style link to dm-N: named
#     /dev/mapper/NAME in results, list and events;
#   - devices an open cut short left without a table: removed at start;
#   - a dm-crypt table's hex key never copied into vmcryptd's memory;
#   - 8 disks opened and closed 8 at a time (parallel requests).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
. tests/vm/e2e/lib.sh
[ -n "${VMCRYPT_E2E_TRACE:-}" ] && { PS4='+ ${SECONDS}s '; set -x; }

W=$(mktemp -d /tmp/e2e_disk.XXXXXX)
chmod 755 "$W"	# the viewer user must reach the image path
IMG=$W/disk.img
IMG2=$W/disk2.img
UUID=6f1c2a9e-3d4b-4c5d-9e8f-0a1b2c3d4e5f
NAME=e2e-web
E2E_DLOG=$W/vmcryptd.log

cleanup() {
	if [ "$TAP_FAILED" -gt 0 ] && [ -f "$E2E_DLOG" ]; then
		tap_diag "vmcryptd log (tail):"
		tail -n 15 "$E2E_DLOG" | sed 's/^/#   /'
	fi
	[ -n "${FIO_PID:-}" ] && kill "$FIO_PID" 2>/dev/null
	for n in $NAME recov e2e-manual lvdisk e2e-vg-lv e2e-half1 e2e-half2 e2e-other e2e-plaincrypt; do
		dmsetup resume "$n" >/dev/null 2>&1
		dmsetup remove "$n" >/dev/null 2>&1
	done
	e2e_daemon_stop
	e2e_kms_stop "$W/kms"
	userdel e2eviewer >/dev/null 2>&1
	groupdel vmcv >/dev/null 2>&1
	rm -rf "$W"
}
trap cleanup EXIT

e2e_init
init_rc=$?
if [ $init_rc = 1 ]; then
	tap_skip_all "vmcrypt is not built (make module agent)"
fi
if ! command -v pykmip-server >/dev/null; then
	tap_skip_all "pykmip-server not installed (scripts/install-deps)"
fi

tap_plan 44
if [ $init_rc != 0 ]; then
	tap_fail "load dm-mod, loop, dm-crypt and dm-vmcrypt" "$(dmesg | tail -n 5)"
	tap_done
fi

# --- setup: KMS, daemon with a viewer group, provider ---
groupadd vmcv 2>/dev/null
useradd -M -N -g vmcv e2eviewer 2>/dev/null
printf 'viewer_groups = vmcv\n' >"$W/vmcryptd.conf"
E2E_CONFIG=$W/vmcryptd.conf
if e2e_kms_start "$W/kms" && e2e_daemon_start "$W/state" &&
   e2e_provider_add kms1 >/dev/null; then
	tap_ok "setup: pykmip-server, vmcryptd, provider kms1"
else
	tap_fail "setup: pykmip-server, vmcryptd, provider kms1" "$(tail -n 5 "$E2E_DLOG")"
	tap_done
fi

# --- format with a recovery keyslot ---
printf 'e2e recovery passphrase' >"$W/pass"
out=$(ctl format "$IMG" --size 48M --vm-name "web 01" --vm-uuid $UUID \
	--recovery-passphrase-file "$W/pass" --json 2>&1)
kek1=$(printf '%s' "$out" | sed -n 's/.*"kek_id": *"\([^"]*\)".*/\1/p')
if [ -n "$kek1" ]; then tap_ok "format image file (key $kek1)"; else tap_fail "format image file" "$out"; fi

dump=$(cryptsetup luksDump "$IMG" 2>&1)
if printf '%s' "$dump" | grep -q 'Version:.*2' &&
   printf '%s' "$dump" | grep -q 'vmcrypt' &&
   printf '%s' "$dump" | grep -q 'sector: 4096'; then
	tap_ok "cryptsetup luksDump: LUKS2, vmcrypt token, 4096-byte sectors"
else
	tap_fail "cryptsetup luksDump: LUKS2, vmcrypt token, 4096-byte sectors" "$dump"
fi

out=$(ctl format "$IMG" --vm-name "web 01" --vm-uuid $UUID 2>&1)
rc=$?
case "$rc:$out" in
1:*"already holds a vmcrypt disk of VM 'web 01'"*) tap_ok "format refuses an existing vmcrypt disk" ;;
*) tap_fail "format refuses an existing vmcrypt disk" "exit $rc: $out" ;;
esac

truncate -s 8M "$W/small.img"
out=$(ctl format "$W/small.img" --vm-name "web 01" --vm-uuid $UUID 2>&1)
rc=$?
case "$rc:$out" in
1:*"device too small"*) tap_ok "format refuses a device that is too small" ;;
*) tap_fail "format refuses a device that is too small" "exit $rc: $out" ;;
esac

# --- open, write, read back ---
out=$(ctl open "$IMG" $NAME 2>&1)
if [ -b /dev/mapper/$NAME ]; then tap_ok "open as /dev/mapper/$NAME"; else tap_fail "open" "$out"; fi

out=$(ctl open "$IMG" other 2>&1)
rc=$?
case "$rc:$out" in
1:*"device busy"*"already open"*) tap_ok "second open of the same disk refused (busy)" ;;
*) tap_fail "second open of the same disk refused (busy)" "exit $rc: $out" ;;
esac

out=$(ctl format "$IMG" --force --vm-name "web 01" --vm-uuid $UUID 2>&1)
rc=$?
case "$rc:$out" in
1:*"device busy"*"attached to /dev/loop"*) tap_ok "format --force of an open disk refused (busy)" ;;
*) tap_fail "format --force of an open disk refused (busy)" "exit $rc: $out" ;;
esac

dd if=/dev/urandom of="$W/data" bs=1M count=8 status=none
dd if="$W/data" of=/dev/mapper/$NAME bs=1M oflag=direct status=none
want=$(sha256sum <"$W/data" | cut -d' ' -f1)
got=$(e2e_sum /dev/mapper/$NAME 8)
if [ "$want" = "$got" ]; then tap_ok "data written through vmcrypt reads back"; else tap_fail "data reads back" "$want != $got"; fi

# The disk holds ciphertext: the plaintext is not at the data offset.
dd if="$IMG" of="$W/raw" bs=1M skip=16 count=8 status=none
raw=$(sha256sum <"$W/raw" | cut -d' ' -f1)
if [ "$(stat -c %s "$W/raw")" = $((8 << 20)) ] && [ "$raw" != "$want" ] &&
   ! grep -qF "$(head -c 64 "$W/data" | od -An -tx1 | tr -d ' \n')" \
	<(od -An -tx1 -w64 -v "$W/raw" | tr -d ' '); then
	tap_ok "image holds ciphertext: the data's first 64 bytes are nowhere in its data area"
else
	tap_fail "image holds ciphertext" "read $(stat -c %s "$W/raw") bytes at 16 MiB; plaintext found?"
fi

st=$(ctl status $NAME --json 2>&1)
if printf '%s' "$st" | grep -q '"key_state": *"set"' &&
   printf '%s' "$st" | grep -q "\"kek_id\": *\"$kek1\"" &&
   printf '%s' "$st" | grep -q '"vm_name": *"web 01"'; then
	tap_ok "status: VM, key id, key state"
else
	tap_fail "status: VM, key id, key state" "$st"
fi

# --- roles: a viewer may list, not open ---
lst=$(setpriv --reuid=e2eviewer --regid=vmcv --init-groups "$E2E_BIN/vmcryptctl" --socket "$E2E_SOCK" list 2>&1)
op=$(setpriv --reuid=e2eviewer --regid=vmcv --init-groups "$E2E_BIN/vmcryptctl" --socket "$E2E_SOCK" open "$IMG" 2>&1)
case "$lst|$op" in
*"$NAME"*"|"*"permission denied"*"needs role operator"*"viewer"*) tap_ok "roles: viewer lists, cannot open" ;;
*) tap_fail "roles: viewer lists, cannot open" "list: $lst / open: $op" ;;
esac

# --- emergency lock under fio verify ---
fio --name=lockv --filename=/dev/mapper/$NAME --rw=randwrite --bs=4k \
	--size=16M --direct=1 --ioengine=libaio --iodepth=4 --time_based \
	--runtime=14 --verify=crc32c --verify_backlog=256 --verify_fatal=1 \
	--rate_iops=400 --output="$W/fio.out" >/dev/null 2>&1 &
FIO_PID=$!
sleep 4
lk=$(ctl lock $NAME 2>&1)
w1=$(ctl status $NAME --json | sed -n 's/.*"writes": *\([0-9]*\).*/\1/p')
sleep 3
w2=$(ctl status $NAME --json | sed -n 's/.*"writes": *\([0-9]*\).*/\1/p')
st=$(ctl status $NAME --json 2>&1)
alive=no; kill -0 $FIO_PID 2>/dev/null && alive=yes
if printf '%s' "$st" | grep -q '"state": *"locked"' &&
   printf '%s' "$st" | grep -q '"key_state": *"wiped"' &&
   [ -n "$w1" ] && [ "$w1" = "$w2" ] && [ $alive = yes ]; then
	tap_ok "lock: key wiped, I/O held (writes $w1 -> $w2), fio waiting"
else
	tap_fail "lock: key wiped, I/O held" "lock: $lk; writes $w1 -> $w2; fio alive $alive; $st"
fi
ul=$(ctl unlock $NAME 2>&1)
wait $FIO_PID
frc=$?
FIO_PID=
if [ $frc -eq 0 ] && ! grep -qi 'verify.*fail\|bad magic\|crc32c.*wanted' "$W/fio.out"; then
	tap_ok "unlock: fio resumes and finishes with no verification error"
else
	tap_fail "unlock: fio finishes cleanly" "unlock: $ul; fio rc $frc; $(tail -n 15 "$W/fio.out")"
fi

sleep 1
nw=$(e2e_event_count kernel.key_wiped)
nl=$(e2e_event_count disk.locked)
nu=$(e2e_event_count disk.unlocked)
if [ "$nw" -ge 1 ] && [ "$nl" -ge 1 ] && [ "$nu" -ge 1 ]; then
	tap_ok "events: disk.locked, kernel.key_wiped (netlink), disk.unlocked"
else
	tap_fail "events: lock/unlock and kernel key wipe" "locked $nl wiped $nw unlocked $nu"
fi

# --- unlock takes the header of the device that is open, never what the
# image's path names now
# (another disk renamed over the path: the loop device keeps the original,
# which a hard link keeps reachable for the tests that follow)
dd if="$W/data" of=/dev/mapper/$NAME bs=1M oflag=direct status=none
ctl lock $NAME >/dev/null 2>&1
ln "$IMG" "$W/disk.img.orig"
fo=$(ctl format "$W/other.img" --size 48M --vm-name other --vm-uuid 22222222-3333-4444-8555-666666666666 2>&1)
frc=$?
mv "$W/other.img" "$IMG"
ul=$(ctl unlock $NAME 2>&1)
got=$(e2e_sum /dev/mapper/$NAME 8)
mv "$W/disk.img.orig" "$IMG"
if [ $frc = 0 ] && [ "$got" = "$want" ]; then
	tap_ok "unlock after another disk replaced the image path: the open disk's key, data intact"
else
	tap_fail "unlock after the image path was replaced" "format rc $frc: $fo; unlock: $ul; data $got"
fi
# The device's own header now names another LUKS UUID: no key from it.
ctl lock $NAME >/dev/null 2>&1
luuid=$(cryptsetup luksUUID "$IMG")
cryptsetup luksUUID -q --uuid 0badc0de-1111-4222-8333-444455556666 "$IMG"
ul=$(ctl unlock $NAME 2>&1)
st=$(ctl status $NAME --json 2>&1)
cryptsetup luksUUID -q --uuid "$luuid" "$IMG"
case $ul in
*"holds LUKS UUID 0badc0de-1111-4222-8333-444455556666, but $NAME was opened from LUKS UUID $luuid"*)
	if printf '%s' "$st" | grep -q '"state": *"locked"' && ctl unlock $NAME >/dev/null 2>&1 &&
	   [ "$(e2e_sum /dev/mapper/$NAME 8)" = "$want" ]; then
		tap_ok "unlock refuses a header with another LUKS UUID; stays locked; unlocks once it is back"
	else
		tap_fail "unlock after a refused header" "$st"
	fi ;;
*) tap_fail "unlock refuses a header with another LUKS UUID" "$ul" ;;
esac

# --- unlock --all goes on past a disk it cannot unlock, and says which
# disks it did (e2e-manual: a vmcrypt table made by hand, no LUKS header)
truncate -s 32M "$W/manual.img"
mloop=$(losetup -f --show "$W/manual.img")
head -c 64 /dev/urandom | keyctl padd logon vmcrypt:e2e-manual @s >/dev/null
dmsetup create e2e-manual --uuid VMCRYPT-0123456789abcdef0123456789abcdef-e2e-manual \
	--table "0 $(blockdev --getsz "$mloop") vmcrypt aes-xts-plain64 :64:logon:vmcrypt:e2e-manual 0 $mloop 0 1 sector_size:4096"
lk=$(ctl lock --all 2>&1)
ul=$(ctl unlock --all 2>&1)
urc=$?
got=$(e2e_sum /dev/mapper/$NAME 8)
case $ul in
*"cannot read the vmcrypt token of $W/manual.img ($mloop)"*"; unlocked: $NAME; not unlocked: e2e-manual")
	if [ $urc = 1 ] && [ "$got" = "$want" ] && printf '%s' "$lk" | grep -q "Locked e2e-manual"; then
		tap_ok "unlock --all: one disk failing does not stop the others; the error names both sets"
	else
		tap_fail "unlock --all with one failing disk" "rc $urc; lock: $lk; data $got"
	fi ;;
*) tap_fail "unlock --all names what it unlocked and what not" "rc $urc: $ul" ;;
esac
dmsetup remove e2e-manual 2>/dev/null || { dmsetup resume e2e-manual; dmsetup remove e2e-manual; }
losetup -d "$mloop"

# --- unlock leaves alone what it did not lock: a disk that is open, and
# with --all one suspended by someone else with its key; named, it resumes
# that one (an unlock cut short leaves it so) ---
nu0=$(e2e_event_count disk.unlocked)
u1=$(ctl unlock $NAME 2>&1); u1rc=$?
dmsetup suspend $NAME
u2=$(ctl unlock --all 2>&1); u2rc=$?
st2=$(dmsetup info -c --noheadings -o attr $NAME 2>&1)
u3=$(ctl unlock $NAME 2>&1); u3rc=$?
st3=$(dmsetup info -c --noheadings -o attr $NAME 2>&1)
if [ "$u1rc:$u1" = "0:$NAME was not locked: left as it is" ] &&
   [ "$u2rc:$u2" = "0:$NAME was not locked: left as it is" ] &&
   [ "$st2" = L-sw ] &&
   [ "$u3rc:$u3" = "0:Unlocked $NAME" ] && [ "$st3" = L--w ] &&
   [ "$(e2e_event_count disk.unlocked)" = $((nu0 + 1)) ]; then
	tap_ok "unlock: an open disk is named, not touched; --all leaves a foreign suspend; by name resumes it"
else
	tap_fail "unlock of disks that are not locked" \
		"u1 $u1rc: $u1 | u2 $u2rc: $u2 | attr $st2 | u3 $u3rc: $u3 | attr $st3"
fi
dmsetup resume $NAME 2>/dev/null

# --- lock drops an inactive table (dmsetup load; vmcrypt never leaves
# one): a key message reaches only the live table, and a plain resume
# would swap the inactive one in with its own key ---
head -c 64 /dev/urandom | keyctl padd logon vmcrypt:e2e-inactive @s >/dev/null
dmsetup load $NAME --table "$(dmsetup table $NAME | sed 's/:64:logon:[^ ]*/:64:logon:vmcrypt:e2e-inactive/')"
ia0=$(dmsetup info -c --noheadings -o attr $NAME 2>&1)
l1=$(ctl lock $NAME 2>&1); l1rc=$?
ia1=$(dmsetup info -c --noheadings -o attr $NAME 2>&1)
u4=$(ctl unlock $NAME 2>&1)
ia2=$(dmsetup info -c --noheadings -o attr $NAME 2>&1)
got=$(e2e_sum /dev/mapper/$NAME 8)
if [ "$ia0" = LI-w ] && [ $l1rc = 0 ] && [ "$ia1" = L-sw ] && [ "$ia2" = L--w ] &&
   [ "$got" = "$want" ]; then
	tap_ok "lock drops an inactive table with its key; unlock resumes the disk's own table, data intact"
else
	tap_fail "lock drops an inactive table" "before $ia0 | lock $l1rc: $l1 -> $ia1 | unlock: $u4 -> $ia2 | data $got"
fi
dmsetup clear $NAME 2>/dev/null

# --- shallow rekey while open ---
dd if="$W/data" of=/dev/mapper/$NAME bs=1M oflag=direct status=none
out=$(ctl rekey --shallow "$IMG" --json 2>&1)
kek2=$(printf '%s' "$out" | sed -n 's/.*"kek_id": *"\([^"]*\)".*/\1/p')
got=$(e2e_sum /dev/mapper/$NAME 8)
tokkek=$(cryptsetup token export --token-id 0 "$IMG" 2>&1 |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["kek_id"])' 2>&1)
if [ -n "$kek2" ] && [ "$kek2" != "$kek1" ] && [ "$got" = "$want" ] &&
   [ "$tokkek" = "$kek2" ]; then
	tap_ok "shallow rekey while open: key $kek1 -> $kek2 in the token, data intact"
else
	tap_fail "shallow rekey while open" "$out; token's kek_id: $tokkek; data $got"
fi

out=$(ctl close $NAME 2>&1)
if [ ! -e /dev/mapper/$NAME ] && ! losetup -a | grep -q "$IMG"; then
	tap_ok "close removes the device and its loop device"
else
	tap_fail "close" "$out; $(losetup -a)"
fi

out=$(ctl open "$IMG" $NAME 2>&1)
got=$(e2e_sum /dev/mapper/$NAME 8 2>/dev/null)
st=$(ctl status $NAME --json 2>&1)
ctl close $NAME >/dev/null 2>&1
if [ "$got" = "$want" ] && printf '%s' "$st" | grep -q "\"kek_id\": *\"$kek2\""; then
	tap_ok "reopen with the new KEK ($kek2), data intact"
else
	tap_fail "reopen after rekey" "$out; status: $st; data $got"
fi

# --- recovery interop with plain cryptsetup, both directions ---
out=$(cryptsetup open --key-file "$W/pass" "$IMG" recov 2>&1)
got=$(e2e_sum /dev/mapper/recov 8 2>/dev/null)
tbl=$(dmsetup table recov 2>/dev/null)
tap_diag "dm-crypt table of the recovery open: $tbl"
if [ "$got" = "$want" ]; then
	tap_ok "cryptsetup open with the recovery passphrase reads vmcrypt's data"
else
	tap_fail "recovery interop (vmcrypt -> dm-crypt)" "$out; $got"
fi
dd if=/dev/urandom of="$W/data2" bs=1M count=4 status=none
dd if="$W/data2" of=/dev/mapper/recov bs=1M oflag=direct status=none
cryptsetup close recov
want2=$(sha256sum <"$W/data2" | cut -d' ' -f1)
ctl open "$IMG" $NAME >/dev/null 2>&1
got=$(e2e_sum /dev/mapper/$NAME 4 2>/dev/null)
ctl close $NAME >/dev/null 2>&1
if [ "$got" = "$want2" ]; then
	tap_ok "vmcrypt reads what dm-crypt wrote"
else
	tap_fail "recovery interop (dm-crypt -> vmcrypt)" "$got != $want2"
fi

# --- lock --all while an open waits for its KEK (vmcryptd restarted, so
# no KEK in memory, and the KMS stopped with SIGSTOP): once the KMS
# answers, the open loads no table. An emergency lock leaves no disk that
# an open still under way then opens unlocked.
kpg=${E2E_KMS_PGID:-${KMIP_PGID:-}}
if [ -n "$kpg" ] && e2e_daemon_stop && e2e_daemon_start "$W/state"; then
	kill -STOP -- "-$kpg"
	ctl open "$IMG" $NAME >"$W/lopen.out" 2>&1 &
	opid=$!
	sleep 3
	la=$(ctl lock --all 2>&1)
	kill -CONT -- "-$kpg"
	orc=0
	wait $opid || orc=$?
	if [ $orc = 1 ] && grep -q "a lock --all came in while this open was under way" "$W/lopen.out" &&
	   [ ! -e /dev/mapper/$NAME ] && ! losetup -a | grep -q "$IMG"; then
		tap_ok "lock --all while an open waits for its KEK: nothing opened, no loop device left"
	else
		tap_fail "lock --all while an open waits for its KEK" \
			"rc $orc: $(cat "$W/lopen.out"); lock --all: $la; $(ls /dev/mapper)"
	fi
	if out=$(ctl open "$IMG" $NAME 2>&1) && ctl close $NAME >/dev/null 2>&1; then
		tap_ok "...then the same open works"
	else
		tap_fail "...then the same open works" "$out"
	fi
else
	tap_fail "lock --all while an open waits for its KEK" "KMS pgid '$kpg'; $(tail -n 5 "$E2E_DLOG")"
	tap_fail "...then the same open works" "not run"
fi

# --- a lock while an unlock waits for its KEK (the same way): the lock has
# said "locked", so the unlock leaves the disk locked
if [ -n "$kpg" ] && ctl open "$IMG" $NAME >/dev/null 2>&1 && ctl lock $NAME >/dev/null 2>&1 &&
   e2e_daemon_stop && e2e_daemon_start "$W/state"; then
	kill -STOP -- "-$kpg"
	ctl unlock $NAME >"$W/unlock.out" 2>&1 &
	upid=$!
	sleep 3
	lk=$(ctl lock $NAME 2>&1)
	lrc=$?
	kill -CONT -- "-$kpg"
	urc=0
	wait $upid || urc=$?
	st=$(ctl status $NAME --json 2>&1)
	if [ $lrc = 0 ] && [ $urc = 1 ] &&
	   grep -q "a lock request came in while this unlock was under way: $NAME stays locked" "$W/unlock.out" &&
	   printf '%s' "$st" | grep -q '"state": *"locked"'; then
		tap_ok "a lock while an unlock waits for its KEK: the disk stays locked, the unlock says why"
	else
		tap_fail "a lock while an unlock waits for its KEK" \
			"lock rc $lrc: $lk; unlock rc $urc: $(cat "$W/unlock.out"); status: $st"
	fi
	if ctl unlock $NAME >/dev/null 2>&1 && [ "$(e2e_sum /dev/mapper/$NAME 4)" = "$want2" ] &&
	   ctl close $NAME >/dev/null 2>&1; then
		tap_ok "...then unlock works, data intact"
	else
		tap_fail "...then unlock works, data intact" "$(ctl status $NAME 2>&1)"
	fi
else
	tap_fail "a lock while an unlock waits for its KEK" "setup: $(tail -n 5 "$E2E_DLOG")"
	tap_fail "...then unlock works, data intact" "not run"
	ctl close $NAME >/dev/null 2>&1
fi

# --- a 512-byte-sector disk on a ram disk (block device path) ---
if modprobe brd rd_nr=1 rd_size=49152 2>/dev/null && [ -b /dev/ram0 ]; then
	out=$(ctl format /dev/ram0 --vm-name "web 01" --vm-uuid $UUID --sector-size 512 --json 2>&1)
	k=$(printf '%s' "$out" | sed -n 's/.*"kek_id": *"\([^"]*\)".*/\1/p')
	o=$(ctl open /dev/ram0 2>&1)
	dev=$(printf '%s' "$o" | sed -n 's/.* as \(\/dev\/mapper\/[^ ]*\) .*/\1/p')
	s=
	if [ -n "$dev" ] && [ -b "$dev" ]; then
		dd if="$W/data" of="$dev" bs=1M oflag=direct status=none
		s=$(e2e_sum "$dev" 8)
		ctl close "$(basename "$dev")" >/dev/null
	fi
	if [ "$k" = "$kek2" ] && [ "$s" = "$want" ] && [ "$dev" = "/dev/mapper/vmcrypt-web_01-0" ]; then
		tap_ok "ram disk, 512-byte sectors, same VM KEK $k, default name $dev"
	else
		tap_fail "ram disk with 512-byte sectors" "kek $k (want $kek2); $o; sum $s"
	fi
	out=$(ctl format /dev/ram0 --vm-name other --vm-uuid 11111111-2222-4333-8444-555555555555 2>&1)
	rc=$?
	case "$rc:$out" in
	1:*"already holds a vmcrypt disk"*) tap_ok "ram disk: format without --force refused" ;;
	*) tap_fail "ram disk: format without --force refused" "exit $rc: $out" ;;
	esac
	luuid=$(cryptsetup luksUUID /dev/ram0 2>&1)
	out=$(ctl format /dev/ram0 --size 48M --force --vm-name other \
		--vm-uuid 11111111-2222-4333-8444-555555555555 2>&1)
	rc=$?
	case "$rc:$out" in
	1:*"--size creates image files, and /dev/ram0 is not one"*)
		if [ -n "$luuid" ] && [ "$(cryptsetup luksUUID /dev/ram0 2>&1)" = "$luuid" ]; then
			tap_ok "ram disk: --size refused for a block device, even with --force; header kept"
		else
			tap_fail "ram disk: --size refused, header kept" "$(cryptsetup luksDump /dev/ram0 2>&1 | head -n 5)"
		fi ;;
	*) tap_fail "ram disk: --size refused for a block device" "exit $rc: $out" ;;
	esac
else
	tap_skip "ram disk, 512-byte sectors" "brd module not available"
	tap_skip "ram disk: format without --force refused" "brd module not available"
	tap_skip "ram disk: --size refused for a block device" "brd module not available"
fi

# --- an LV-like dm device through a /dev/VG/LV-style link to dm-N: shown
# by its dm name, never by the dm-N of this boot ---
truncate -s 48M "$W/lv.img"
lvloop=$(losetup -f --show "$W/lv.img")
dmsetup create e2e-vg-lv --table "0 $(blockdev --getsz "$lvloop") linear $lvloop 0"
lvdm=/dev/$(basename "$(readlink -f /dev/mapper/e2e-vg-lv)")
[ -b "$lvdm" ] || lvdm=/dev/dm-$(dmsetup info -c --noheadings -o minor e2e-vg-lv)
mkdir "$W/vg"
ln -s "$lvdm" "$W/vg/lv"
f=$(ctl format "$W/vg/lv" --vm-name "web 01" --vm-uuid $UUID --json 2>&1)
o=$(ctl open "$W/vg/lv" lvdisk --json 2>&1)
l=$(ctl list --json 2>&1)
c=$(ctl close lvdisk 2>&1)
ev=$(grep -E '"event":"disk\.(formatted|opened|closed)"' "$E2E_STATE/events.jsonl" | tail -n 3)
if printf '%s' "$f" | grep -q '"path": *"/dev/mapper/e2e-vg-lv"' &&
   printf '%s' "$o" | grep -q '"path": *"/dev/mapper/e2e-vg-lv"' &&
   [ "$(printf '%s\n' "$ev" | grep -c '"disk":"/dev/mapper/e2e-vg-lv"')" = 3 ]; then
	tap_ok "dm device through a link to $lvdm: format, open and close name /dev/mapper/e2e-vg-lv"
else
	tap_fail "dm device through a link: named by its dm name" "$f; $o; $c; events: $ev"
fi
lvent=$(printf '%s' "$l" | tr -d '\n' | grep -o '{[^{}]*"name": *"lvdisk"[^{}]*}')
if printf '%s' "$lvent" | grep -q '"path": *"/dev/mapper/e2e-vg-lv"' &&
   printf '%s' "$lvent" | grep -q '"backing_device": *"/dev/mapper/e2e-vg-lv"'; then
	tap_ok "list names the backing dm device /dev/mapper/e2e-vg-lv, not $lvdm"
else
	tap_fail "list names the backing dm device by its dm name" "$l"
fi
dmsetup remove e2e-vg-lv
losetup -d "$lvloop"

# --- a DEK that does not match the digest: token of another disk ---
ctl format "$IMG2" --size 48M --vm-name "web 01" --vm-uuid $UUID >/dev/null 2>&1
cp "$IMG" "$W/bad.img"
cryptsetup token export --token-id 0 "$IMG2" >"$W/tok2.json" 2>/dev/null
if cryptsetup token import --token-id 0 --token-replace --json-file "$W/tok2.json" "$W/bad.img" 2>/dev/null; then
	out=$(ctl open "$W/bad.img" badone 2>&1)
	rc=$?
	case "$rc:$out" in
	1:*"does not match its LUKS2 digest"*) tap_ok "DEK not matching the LUKS2 digest refused" ;;
	*) tap_fail "DEK not matching the LUKS2 digest refused" "exit $rc: $out" ;;
	esac
else
	tap_fail "DEK not matching the LUKS2 digest refused" "cryptsetup token import failed"
fi

# --- key missing on the KMS: a token naming a key the KMS never had ---
sed 's/"kek_id":"[^"]*"/"kek_id":"987654"/' "$W/tok2.json" >"$W/tok3.json"
cp "$IMG2" "$W/missing.img"
cryptsetup token import --token-id 0 --token-replace --json-file "$W/tok3.json" "$W/missing.img" 2>/dev/null
out=$(ctl open "$W/missing.img" miss 2>&1)
rc=$?
case "$rc:$out" in
1:*"is locked: key 987654 not found on provider kms1"*) tap_ok "key missing on the KMS: clear error" ;;
*) tap_fail "key missing on the KMS: clear error" "exit $rc: $out" ;;
esac
if [ "$(e2e_event_count key.missing)" -ge 1 ] &&
   grep '"event":"disk.open"' "$E2E_STATE/events.jsonl" | grep -q 'not found on provider'; then
	tap_ok "key missing: events key.missing and disk.open error"
else
	tap_fail "key missing: events" "$(tail -n 3 "$E2E_STATE/events.jsonl")"
fi

# --- parallel opens and closes: each request runs in its own daemon thread,
# and libdevmapper/libcryptsetup state is process-wide (a crypt_device
# freed in one thread used to close the dm control fd under another's
# table load: "Bad file descriptor", a few opens in a hundred failed) ---
PN=8
for i in $(seq $PN); do
	ctl format "$W/par$i.img" --size 48M --vm-name "par$((i % 2))" \
		--vm-uuid "$(printf '44444444-2222-4333-8444-%012d' $((i % 2)))" >/dev/null 2>&1 ||
		echo "format par$i failed" >>"$W/par.err"
done
for round in 1 2 3; do
	pids=
	for i in $(seq $PN); do
		ctl open "$W/par$i.img" "par$i" >"$W/par-open$i.out" 2>&1 ||
			echo "round $round: open par$i: $(cat "$W/par-open$i.out")" >>"$W/par.err" &
		pids="$pids $!"
	done
	# shellcheck disable=SC2086 # (not a bare wait: the daemon and KMS are children too)
	wait $pids
	for i in $(seq $PN); do
		[ "$(dmsetup info -c --noheadings -o attr "par$i" 2>/dev/null)" = L--w ] ||
			echo "round $round: par$i not active" >>"$W/par.err"
	done
	pids=
	for i in $(seq $PN); do
		ctl close "par$i" >"$W/par-close$i.out" 2>&1 ||
			echo "round $round: close par$i: $(cat "$W/par-close$i.out")" >>"$W/par.err" &
		pids="$pids $!"
	done
	# shellcheck disable=SC2086
	wait $pids
done
if [ ! -s "$W/par.err" ] && [ "$(dmsetup ls | grep -c '^par')" = 0 ]; then
	tap_ok "$PN disks opened and closed $PN at a time, 3 rounds"
else
	tap_fail "$PN disks opened and closed $PN at a time, 3 rounds" \
		"$(head -n 5 "$W/par.err" 2>/dev/null; dmsetup ls | grep '^par')"
fi

# --- another target's key: a plain dm-crypt table holds its key in hex,
# which the kernel hands to whoever reads the table. list, status, lock
# and unlock --all look at every dm device; none of them may leave that
# key in vmcryptd's memory (libdevmapper's freed ioctl buffer, a stack
# copy) ---
truncate -s 16M "$W/pc.img"
pcloop=$(losetup -f --show "$W/pc.img")
pckey=$(head -c 64 /dev/urandom | od -An -tx1 | tr -d ' \n')
dmsetup create e2e-plaincrypt --table "0 $(blockdev --getsz "$pcloop") crypt aes-xts-plain64 $pckey 0 $pcloop 0"
l=$(ctl list 2>&1)
st=$(ctl status e2e-plaincrypt 2>&1)
lk=$(ctl lock e2e-plaincrypt 2>&1)
ctl lock --all >/dev/null 2>&1
ctl unlock --all >/dev/null 2>&1
found=$(python3 tests/lib/memscan.py "$E2E_DPID" "${pckey:0:32}" "hex:${pckey:0:32}")
control=$(python3 tests/lib/memscan.py "$E2E_DPID" "$E2E_SOCK")
if [ "$found" = 0 ] && [ "${control:-0}" -gt 0 ] &&
   [ "$(dmsetup table e2e-plaincrypt --showkeys | grep -c "$pckey")" = 1 ]; then
	tap_ok "a dm-crypt table's key never reaches vmcryptd's memory (list, status, lock, lock/unlock --all)"
else
	tap_fail "a dm-crypt table's key never reaches vmcryptd's memory" \
		"hits: $found (socket path, which must be found: $control); list: $l; status: $st; lock: $lk"
fi
case "$st$lk" in
*"no open vmcrypt disk named 'e2e-plaincrypt'"*"no open vmcrypt disk named 'e2e-plaincrypt'"*)
	tap_ok "status and lock of a dm-crypt device: refused, named" ;;
*) tap_fail "status and lock of a dm-crypt device: refused, named" "status: $st; lock: $lk" ;;
esac
dmsetup remove e2e-plaincrypt
losetup -d "$pcloop"

# --- an open cut short (vmcryptd killed) between creating the device and
# resuming its table leaves a vmcrypt device without a live table, maybe
# with an inactive one holding the key: removed at the next start; a
# device that is not ours is left alone ---
head -c 64 /dev/urandom | keyctl padd logon vmcrypt:e2e-half2 @s >/dev/null
truncate -s 32M "$W/half.img"
hloop=$(losetup -f --show "$W/half.img")
dmsetup create e2e-half1 --notable --uuid VMCRYPT-00000000000000000000000000000001-e2e-half1
dmsetup create e2e-half2 --notable --uuid VMCRYPT-00000000000000000000000000000002-e2e-half2
dmsetup load e2e-half2 --table "0 $(blockdev --getsz "$hloop") vmcrypt aes-xts-plain64 :64:logon:vmcrypt:e2e-half2 0 $hloop 0 1 sector_size:4096"
dmsetup create e2e-other --notable
ns0=$(e2e_event_count disk.swept)
e2e_daemon_stop
e2e_daemon_start "$W/state"
if ! dmsetup info e2e-half1 >/dev/null 2>&1 && ! dmsetup info e2e-half2 >/dev/null 2>&1 &&
   dmsetup info e2e-other >/dev/null 2>&1 && [ "$(e2e_event_count disk.swept)" = $((ns0 + 2)) ] &&
   losetup -d "$hloop"; then
	tap_ok "devices an open cut short left without a table: removed at start (disk.swept), the loop device free; others kept"
else
	tap_fail "devices left without a table removed at start" \
		"$(dmsetup ls 2>&1 | tr '\n' ' '); swept $(e2e_event_count disk.swept)"
fi
dmsetup remove e2e-other 2>/dev/null

# --- not a vmcrypt disk ---
truncate -s 32M "$W/plain.img"
out=$(ctl open "$W/plain.img" 2>&1)
rc=$?
case "$rc:$out" in
1:*"is not a vmcrypt disk"*) tap_ok "open of a non-LUKS file refused clearly" ;;
*) tap_fail "open of a non-LUKS file refused clearly" "exit $rc: $out" ;;
esac

out=$(ctl list 2>&1)
if lj=$(ctl list --json) && [ "$(printf '%s' "$lj" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["disks"]))')" = 0 ]; then
	tap_ok "list is empty after close"
else
	tap_fail "list is empty after close" "$out"
fi

e2e_daemon_final
tap_done
