#!/bin/sh
# persistence-vm-guest.sh: the guest side of test_persistence_vm.sh (run by
# scripts/vm-run with a swtpm as /dev/tpmrm0). Not a test by itself: each
# step records what it saw in DIR (in the checkout, shared with the host),
# and the host-side test judges it.
#
#   persistence-vm-guest.sh first DIR    native provider + persistence, KEKs
#   persistence-vm-guest.sh second DIR   after the "reboot": same KEKs? Then
#                                        PCR 7 is extended (as a changed boot
#                                        chain would measure) and the daemon
#                                        started again (step "third")
set -u
phase=$1
dir=$2
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${VMCRYPT_BIN:-$top/build/bin}
case $bin in /*) ;; *) bin=$top/$bin ;; esac
export VMCRYPT_SOCKET=/run/vmcrypt-test.sock
ctl() { "$bin/vmcryptctl" "$@"; }
fp() { ctl key fetch "$1" --json | sed -n 's/.*"fingerprint": *"\([0-9a-f]*\)".*/\1/p'; }
ids="native:nkp:6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d native:nkp:0f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f"

# step NAME: start vmcryptd (defaults: tpm_tcti = device:/dev/tpmrm0), do
# the step's work, record fingerprints and status, stop it.
step() {
	s=$1
	: >"$dir/$s.conf"
	start=$(date +%s%N)
	"$bin/vmcryptd" -f -c "$dir/$s.conf" -s "$dir/state" -S "$VMCRYPT_SOCKET" \
		>"$dir/$s.log" 2>&1 &
	pid=$!
	for _ in $(seq 1 400); do
		ctl ping >/dev/null 2>&1 && break
		sleep 0.05
	done
	echo "ready_ms=$((($(date +%s%N) - start) / 1000000))" >"$dir/$s.timing"
	if [ "$s" = first ]; then
		ctl provider add nkp --native >>"$dir/$s.out" 2>&1
		printf 'vm persistence test passphrase\n' >"$dir/pass"
		ctl provider backup nkp --out "$dir/nkp.p12" --passphrase-file "$dir/pass" \
			>>"$dir/$s.out" 2>&1
		ctl persistence enable --pcrs 7 >>"$dir/$s.out" 2>&1
	fi
	: >"$dir/$s.fps"
	for id in $ids; do
		echo "$id $(fp "$id")" >>"$dir/$s.fps"
	done
	ctl persistence status --json >"$dir/$s.status" 2>&1
	ctl provider show nkp --json >"$dir/$s.provider" 2>&1
	kill "$pid"
	wait "$pid"
	echo "daemon_exit=$?" >>"$dir/$s.timing"
}

[ -c /dev/tpmrm0 ] && echo "tpmrm0=yes" >"$dir/$phase.tpm" || echo "tpmrm0=no" >"$dir/$phase.tpm"
mkdir -p "$dir/state"
chmod 700 "$dir/state"
step "$phase"
if [ "$phase" = second ]; then
	tpm2_pcrextend -T device:/dev/tpmrm0 \
		"7:sha256=0000000000000000000000000000000000000000000000000000000000000001" \
		>>"$dir/third.out" 2>&1
	step third
fi
