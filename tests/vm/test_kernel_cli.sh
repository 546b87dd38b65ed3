#!/bin/sh
# test_kernel_cli.sh - `vmcryptctl kernel` against the real module in the
# guest: features/stats output (text and --json), monitor printing events
# as JSON lines, --help, exit codes 0/1/2, and the one-line reason when the
# module is not loaded or the caller lacks CAP_NET_ADMIN.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh

out=${VMCRYPT_O:-build}
ctl=$out/bin/vmcryptctl
name=vmct_cli
tmp=$(mktemp -d) || exit 1
mon=

cleanup() {
	[ -n "$mon" ] && kill "$mon" 2>/dev/null
	dmsetup remove --retry $name >/dev/null 2>&1
	[ -n "${key:-}" ] && keyctl invalidate "$key" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

[ -x "$ctl" ] || tap_skip_all "$ctl not built (make -f agent/agent.mk O=$out)"
ko=${VMCRYPT_KO:-kernel/dm-vmcrypt.ko}
[ -f "$ko" ] || tap_skip_all "$ko not built (make module)"

modprobe -q dm-mod
[ -e /dev/ram0 ] || modprobe brd rd_nr=1 rd_size=65536

# not loaded: exit 1 and a one-line reason
if [ -d /sys/module/dm_vmcrypt ] && ! rmmod dm_vmcrypt 2>/dev/null; then
	tap_skip "module not loaded: exit 1" "dm_vmcrypt is in use"
else
	"$ctl" kernel features >"$tmp/o" 2>"$tmp/e"
	rc=$?
	if [ $rc -eq 1 ] && [ "$(wc -l <"$tmp/e")" -eq 1 ] &&
	   grep -q "module is not loaded" "$tmp/e"; then
		tap_ok "module not loaded: exit 1"
	else
		tap_fail "module not loaded: exit 1" "rc=$rc: $(cat "$tmp/e")"
	fi
fi
[ -d /sys/module/dm_vmcrypt ] || insmod "$ko" || tap_skip_all "insmod $ko failed"

tap_check "--help exits 0" "$ctl" kernel --help
tap_check "features --help exits 0" "$ctl" kernel features --help
for args in "" "bogus" "features extra" "stats a b" "features --bogus" "monitor --json"; do
	# shellcheck disable=SC2086
	"$ctl" kernel $args >/dev/null 2>&1
	rc=$?
	if [ $rc -eq 2 ]; then tap_ok "usage error '$args': exit 2"
	else tap_fail "usage error '$args': exit 2" "rc=$rc"; fi
done

tap_check "features" sh -c "'$ctl' kernel features | grep -q 'aes-xts-plain64'"
tap_check "features --json" sh -c "'$ctl' kernel features --json | grep -q '\"version\":\"1.0.0\"'"

# monitor in the background while a device comes and goes
"$ctl" kernel monitor >"$tmp/mon" 2>"$tmp/mon.err" &
mon=$!
sleep 2
key=$(head -c 32 /dev/urandom | keyctl padd logon "vmct$$:cli" @s)
table="0 8192 vmcrypt aes-xts-plain64 :32:logon:vmct$$:cli 0 /dev/ram0 0"
tap_check "create device" dmsetup create $name --table "$table"
dd if=/dev/zero of=/dev/mapper/$name bs=4096 count=3 oflag=direct 2>/dev/null
tap_check "stats NAME" sh -c "'$ctl' kernel stats $name | grep -q 'writes: *3 (12288 bytes)'"
tap_check "stats --json NAME" sh -c "'$ctl' kernel stats --json $name | grep -q '\"write_bytes\":12288'"
tap_check "stats --json lists the device" sh -c "'$ctl' kernel stats --json | grep -q '\"name\":\"$name\"'"
# a reloaded table waiting for its resume: listed too, as inactive
tap_check "reload a table of half the length" dmsetup reload $name --table "0 4096 ${table#0 8192 }"
"$ctl" kernel stats >"$tmp/st" 2>&1
if [ "$(grep -c "^$name:" "$tmp/st")" -eq 2 ] && [ "$(grep -c 'table: *inactive' "$tmp/st")" -eq 1 ] &&
   sed -n '/table: *inactive/,/layout/p' "$tmp/st" | grep -q 'length 4096 sectors'; then
	tap_ok "stats: the reloaded table is listed as inactive"
else
	tap_fail "stats: the reloaded table is listed as inactive" "$(cat "$tmp/st")"
fi
"$ctl" kernel stats --json >"$tmp/st.json" 2>&1
if python3 -c 'import json, sys
mine = [(d["length"], d["live"]) for d in json.load(open(sys.argv[1])) if d["name"] == sys.argv[2]]
sys.exit(sorted(mine) != [(4096, False), (8192, True)])' "$tmp/st.json" $name; then
	tap_ok "stats --json: one live table, one inactive"
else
	tap_fail "stats --json: one live table, one inactive" "$(cat "$tmp/st.json")"
fi
tap_check "stats NAME: the live table" sh -c "'$ctl' kernel stats $name | grep -q 'length 8192 sectors'"
tap_check "discard the reloaded table" dmsetup clear $name
"$ctl" kernel stats vmct-no-such-dev >/dev/null 2>"$tmp/e"
rc=$?
if [ $rc -eq 1 ] && grep -q "no vmcrypt device" "$tmp/e"; then tap_ok "stats unknown NAME: exit 1"
else tap_fail "stats unknown NAME: exit 1" "rc=$rc $(cat "$tmp/e")"; fi

dmsetup suspend $name && dmsetup message $name 0 key wipe &&
	dmsetup message $name 0 key set ":32:logon:vmct$$:cli" && dmsetup resume $name
dmsetup remove $name
sleep 1
kill -INT "$mon"
wait "$mon"
rc=$?
mon=
if [ $rc -eq 0 ]; then tap_ok "monitor exits 0 on SIGINT"
else tap_fail "monitor exits 0 on SIGINT" "rc=$rc $(cat "$tmp/mon.err")"; fi
events=$(grep "\"device\":\"$name\"" "$tmp/mon" | sed -n 's/.*"event":"\([a-z_]*\)".*/\1/p' | tr '\n' ' ')
# created and removed follow table instances: the reload and the clear too
if [ "$events" = "device_created device_created device_removed key_wiped key_set device_removed " ]; then
	tap_ok "monitor prints the events as JSON lines"
else
	tap_fail "monitor prints the events as JSON lines" "got: $events; $(cat "$tmp/mon")"
fi

# without CAP_NET_ADMIN: exit 1, one line naming the capability
setpriv --reuid=65534 --regid=65534 --clear-groups "$ctl" kernel features >/dev/null 2>"$tmp/e"
rc=$?
if [ $rc -eq 1 ] && grep -q "CAP_NET_ADMIN" "$tmp/e"; then tap_ok "unprivileged: exit 1"
else tap_fail "unprivileged: exit 1" "rc=$rc $(cat "$tmp/e")"; fi

tap_done
