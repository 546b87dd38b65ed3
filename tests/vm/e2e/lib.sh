# lib.sh: helpers for the end-to-end disk tests, run INSIDE the QEMU guest
# (tests/vm/test_e2e_*.sh, tests/vm/e2e/boot*.sh) and by scripts/demo.
# Sourced with bash from the checkout root.
#
#   e2e_init                 paths, modules (dm-mod, loop, brd, dm-vmcrypt);
#                            1: not built, 2: a module does not load
#   e2e_daemon_start STATE   vmcryptd on $E2E_SOCK with state dir STATE
#   e2e_daemon_stop          SIGTERM; a non-zero exit is remembered
#   e2e_daemon_final         test case: every vmcryptd stopped exited 0, and
#                            the log has no sanitizer report
#   e2e_kms_start DIR        fresh pykmip-server (scripts/kmip-test-server)
#   e2e_kms_restart DIR      pykmip-server again on DIR's config, keys and DB
#   e2e_kms_stop DIR
#   ctl ARGS...              vmcryptctl on the test daemon
#   e2e_event_count EVENT    number of records of EVENT in the event log
#
# VMCRYPT_O selects the build directory (default build): $VMCRYPT_O/bin has
# vmcryptd and vmcryptctl, kernel/dm-vmcrypt.ko is the module.

E2E_ROOT=$(pwd)
E2E_O=${VMCRYPT_O:-build}
case "$E2E_O" in /*) ;; *) E2E_O=$E2E_ROOT/$E2E_O ;; esac
E2E_BIN=$E2E_O/bin
E2E_SOCK=/run/vmcrypt-e2e/control
E2E_STATE=
E2E_DPID=
export DM_DISABLE_UDEV=1

e2e_init() {
	[ -x "$E2E_BIN/vmcryptd" ] && [ -x "$E2E_BIN/vmcryptctl" ] || {
		echo "e2e: $E2E_BIN/vmcryptd or vmcryptctl missing (make agent)" >&2
		return 1
	}
	[ -f "$E2E_ROOT/kernel/dm-vmcrypt.ko" ] || {
		echo "e2e: kernel/dm-vmcrypt.ko missing (make module)" >&2
		return 1
	}
	modprobe dm-mod && modprobe loop && modprobe dm-crypt || return 2
	if ! grep -q '^dm_vmcrypt ' /proc/modules; then
		insmod "$E2E_ROOT/kernel/dm-vmcrypt.ko" || return 2
	fi
	mkdir -p /run/vmcrypt-e2e
}

ctl() {
	"$E2E_BIN/vmcryptctl" --socket "$E2E_SOCK" "$@"
}

# vmcryptd in the background; waits until it answers ping.
e2e_daemon_start() {
	E2E_STATE=$1
	mkdir -p "$(dirname "$E2E_STATE")"
	"$E2E_BIN/vmcryptd" --foreground --state-dir "$E2E_STATE" \
		--socket "$E2E_SOCK" --config "${E2E_CONFIG:-/dev/null}" \
		2>>"${E2E_DLOG:-/tmp/vmcryptd.log}" &
	E2E_DPID=$!
	local i
	for i in $(seq 100); do
		ctl ping >/dev/null 2>&1 && return 0
		kill -0 "$E2E_DPID" 2>/dev/null || break
		sleep 0.2
	done
	echo "e2e: vmcryptd did not start; log:" >&2
	tail -n 20 "${E2E_DLOG:-/tmp/vmcryptd.log}" >&2
	return 1
}

E2E_DSTOP_ERR=
e2e_daemon_stop() {
	local rc
	[ -n "$E2E_DPID" ] || return 0
	kill -TERM "$E2E_DPID" 2>/dev/null
	wait "$E2E_DPID" 2>/dev/null
	rc=$?
	[ $rc = 0 ] || E2E_DSTOP_ERR="$E2E_DSTOP_ERR vmcryptd $E2E_DPID exited $rc;"
	E2E_DPID=
	return $rc
}

# The test agent is built with ASan and UBSan, whose leak check runs at
# exit: stop the daemon and look at how every stop went.
e2e_daemon_final() {
	local log=${E2E_DLOG:-/tmp/vmcryptd.log} rep
	e2e_daemon_stop
	rep=$(grep -E -m 3 "Sanitizer|runtime error" "$log" 2>/dev/null)
	if [ -z "$E2E_DSTOP_ERR" ] && [ -z "$rep" ]; then
		tap_ok "vmcryptd exits 0 on SIGTERM, no sanitizer report in its log"
	else
		tap_fail "vmcryptd exits 0 on SIGTERM, no sanitizer report in its log" \
			"$E2E_DSTOP_ERR $rep"
	fi
}

e2e_kms_start() {
	local dir=$1
	mkdir -p "$dir"
	if "$E2E_ROOT/scripts/kmip-test-server" start "$dir" >/dev/null 2>"$dir.start.err"; then
		# shellcheck disable=SC1091
		. "$dir/env"
		return 0
	fi
	# Under TCG on a busy machine PyKMIP can take longer than the script's
	# start timeout: start the same configuration again, with more patience.
	[ -f "$dir/server.conf" ] || { cat "$dir.start.err" >&2; return 1; }
	e2e_kms_restart "$dir" || { cat "$dir.start.err" >&2; return 1; }
	KMIP_HOST=127.0.0.1
	KMIP_PORT=$(sed -n 's/^port=//p' "$dir/server.conf")
	KMIP_CA=$dir/ca.crt
	KMIP_CERT=$dir/client.crt
	KMIP_KEY=$dir/client.key
	export KMIP_HOST KMIP_PORT KMIP_CA KMIP_CERT KMIP_KEY
}

# The same server (certificates, configuration, key database) again, as
# when a KMS that was down comes back.
e2e_kms_restart() {
	local dir=$1 port i
	port=$(sed -n 's/^port=//p' "$dir/server.conf")
	setsid pykmip-server -f "$dir/server.conf" -l "$dir/server.log" \
		</dev/null >>"$dir/server.out" 2>&1 &
	E2E_KMS_PGID=$!
	disown "$E2E_KMS_PGID" 2>/dev/null	# no "Killed" notice when we stop it
	for i in $(seq 240); do
		kill -0 "$E2E_KMS_PGID" 2>/dev/null || break
		if timeout 2 openssl s_client -connect "127.0.0.1:$port" \
			-CAfile "$dir/ca.crt" -cert "$dir/client.crt" \
			-key "$dir/client.key" -verify_return_error -brief \
			</dev/null >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.5
	done
	echo "e2e: pykmip-server did not come back on port $port" >&2
	return 1
}

e2e_kms_stop() {
	if [ -n "${E2E_KMS_PGID:-}" ]; then
		kill -TERM -- "-$E2E_KMS_PGID" 2>/dev/null
		sleep 1
		kill -KILL -- "-$E2E_KMS_PGID" 2>/dev/null
		E2E_KMS_PGID=
	fi
	[ -f "$1/env" ] && "$E2E_ROOT/scripts/kmip-test-server" stop "$1" >/dev/null
	return 0
}

e2e_provider_add() {
	ctl provider add "$1" --kmip "$KMIP_HOST:$KMIP_PORT" --ca "$KMIP_CA" \
		--cert "$KMIP_CERT" --key "$KMIP_KEY"
}

e2e_event_count() {
	grep -c "\"event\":\"$1\"" "$E2E_STATE/events.jsonl" 2>/dev/null || true
}

# Checksum of the first $2 MiB of $1, read with O_DIRECT.
e2e_sum() {
	dd if="$1" bs=1M count="$2" iflag=direct status=none | sha256sum | cut -d' ' -f1
}
