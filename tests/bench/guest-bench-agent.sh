#!/bin/bash
# guest-bench-agent.sh: the guest half of `make bench-agent` (scripts/
# bench-agent runs it with scripts/vm-run --tpm-state). How long vmcryptd
# takes to open many disks of many VMs, the way an admin does it
# (`vmcryptctl open` per disk):
#
#   online   daemon just started, memory cache empty, persistence off: every
#            VM's KEK comes from the KMS (pykmip-server on the loopback);
#   cached   the same daemon again: every KEK is in its memory cache;
#   offline  persistence on and fed, KMS stopped, daemon restarted (its
#            start, which unseals the cache with the TPM, is timed apart):
#            every KEK comes from the TPM-sealed persisted cache; the event
#            log must show key.persisted_used for every VM and no
#            key.fetched, or the run fails.
#
# Each open pass runs sequentially (one disk after the other) and, unless
# disabled, with one opener per VM in parallel; a pass ends when every
# /dev/mapper device exists and dmsetup shows it active with a live table.
# After every pass one 4 KiB pattern per VM, written at setup, is read back
# through the vmcrypt device (O_DIRECT) and compared. Closing is not timed.
# Then a profile of one cached and one offline pass: CLI round trip,
# perf of the daemon, strace timelines of one open, the LUKS2 digest cost.
#
#   tests/bench/guest-bench-agent.sh OUTDIR
#
# Writes OUTDIR/samples.tsv (scenario, mode, round, milliseconds),
# OUTDIR/opens.tsv (pass, VM, disk, milliseconds of one open),
# OUTDIR/meta.txt, OUTDIR/profile.txt, OUTDIR/strace-open-*.txt and the
# daemon's log. Knobs (environment):
#   VMCRYPT_BENCH_AGENT_VMS (10)       VMs
#   VMCRYPT_BENCH_AGENT_DISKS (10)     disks per VM
#   VMCRYPT_BENCH_AGENT_ROUNDS (3)     rounds of every scenario
#   VMCRYPT_BENCH_AGENT_SIZE (17M)     image size (17M is format's minimum)
#   VMCRYPT_BENCH_AGENT_PARALLEL (1)   0: sequential column only
#   VMCRYPT_BENCH_AGENT_PROFILE (1)    0: no profile
# Figures only: nothing here asserts a time.
set -euo pipefail

out=$1
nvms=${VMCRYPT_BENCH_AGENT_VMS:-10}
ndisks=${VMCRYPT_BENCH_AGENT_DISKS:-10}
rounds=${VMCRYPT_BENCH_AGENT_ROUNDS:-3}
size=${VMCRYPT_BENCH_AGENT_SIZE:-17M}
parallel=${VMCRYPT_BENCH_AGENT_PARALLEL:-1}
profile=${VMCRYPT_BENCH_AGENT_PROFILE:-1}
for v in nvms ndisks rounds; do
	case "${!v}" in
	''|*[!0-9]*|0) echo "bench-agent: $v must be a positive number" >&2; exit 2 ;;
	esac
done
if [ "$nvms" -gt 99 ] || [ "$ndisks" -gt 99 ]; then
	echo "bench-agent: at most 99 VMs and 99 disks per VM" >&2
	exit 2
fi

cd "$(dirname "$0")/../.."
# shellcheck source=tests/vm/e2e/lib.sh
. tests/vm/e2e/lib.sh

W=/tmp/bench-agent
STATE=$W/state
KMS=$W/kms
IMG=$W/img
E2E_DLOG=$W/vmcryptd.log
mkdir -p "$out" "$IMG"
rm -f "$out/samples.tsv" "$out/opens.tsv" "$out/meta.txt" "$out/profile.txt" "$out/vmcryptd.log" "$out"/strace-*.txt
ndev=$((nvms * ndisks))

say() { echo "bench-agent: $*"; }
die() {
	echo "bench-agent: FAILED: $*" >&2
	exit 1
}

vm_name() { printf 'bench-vm%02d' "$1"; }
vm_uuid() { printf '5b1a9e70-0000-4000-8000-%012d' "$1"; }
img() { printf '%s/vm%02d-d%02d.img' "$IMG" "$1" "$2"; }
dev() { printf 'ba-v%02d-d%02d' "$1" "$2"; }

# Every ba-* device, whatever state it is in.
our_devs() {
	dmsetup info -c --noheadings -o name 2>/dev/null | grep '^ba-v' || true
}

cleanup() {
	local rc=$? n
	set +e
	if [ $rc -ne 0 ] && [ -f "$E2E_DLOG" ]; then
		echo "bench-agent: vmcryptd log (tail):" >&2
		tail -n 20 "$E2E_DLOG" >&2
	fi
	[ -f "$E2E_DLOG" ] && cp "$E2E_DLOG" "$out/vmcryptd.log"
	for n in $(our_devs); do
		dmsetup resume "$n" >/dev/null 2>&1
		dmsetup remove "$n" >/dev/null 2>&1
	done
	e2e_daemon_stop
	e2e_kms_stop "$KMS" >/dev/null 2>&1
	rm -rf "$W"
	exit $rc
}
trap cleanup EXIT

# Times: ${EPOCHREALTIME/./} is microseconds, read without a fork. The
# guest runs no NTP or other clock adjustment, so it does not step.

# vmcryptd in the background (E2E_DPID for lib.sh's stop); returns once it
# answers ping, polled without a sleep so that the start can be timed.
daemon_start() {
	"$E2E_BIN/vmcryptd" --foreground --state-dir "$STATE" \
		--socket "$E2E_SOCK" --config /dev/null 2>>"$E2E_DLOG" &
	E2E_DPID=$!
	E2E_STATE=$STATE
	local i
	for i in $(seq 3000); do
		ctl ping >/dev/null 2>&1 && return 0
		kill -0 "$E2E_DPID" 2>/dev/null || break
		[ "$i" -gt 100 ] && sleep 0.05
	done
	die "vmcryptd did not start (log: $(tail -n 5 "$E2E_DLOG"))"
}

daemon_restart() {
	e2e_daemon_stop || true
	daemon_start
}

# One sample: scenario mode round ms.
sample() {
	printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$out/samples.tsv"
	say "$(printf '%-22s %-4s round %s: %7.1f s (%s ms/disk)' "$1" "$2" "$3" \
		"$(awk -v m="$4" 'BEGIN { printf "%.1f", m / 1000 }')" \
		"$(awk -v m="$4" -v n="$ndev" 'BEGIN { printf "%.0f", m / n }')")"
}

# Every device present, active (not suspended), with a live table.
check_all_active() {
	local n
	n=$(dmsetup info -c --noheadings -o name,suspended,tables_loaded \
		--separator ' ' 2>/dev/null | awk '$1 ~ /^ba-v/ && $2 == "Active" && $3 ~ /Live/' | wc -l)
	[ "$n" -eq "$ndev" ] || die "$n of $ndev devices active after the open pass: $(our_devs | wc -l) exist"
}

# VM: open its disks one after the other; each open's ms goes to opens.tsv
# (tag, VM, disk, ms) for the breakdown (first disk of a VM: KEK lookup).
open_vm() {
	local v=$1 k o t0 t1
	for k in $(seq 0 $((ndisks - 1))); do
		t0=${EPOCHREALTIME/./}
		o=$(ctl open "$(img "$v" "$k")" "$(dev "$v" "$k")" 2>&1) ||
			{ echo "open $(img "$v" "$k"): $o"; return 1; }
		t1=${EPOCHREALTIME/./}
		printf '%s\t%s\t%s\t%s\n' "$tag" "$v" "$k" $(((t1 - t0) / 1000)) >>"$out/opens.tsv"
	done
}

# Run FUNC VM for every VM at once (output to stderr); die with WHAT
# once all have ended if any failed.
each_vm_parallel() {
	local fn=$1 what=$2 v pids=() bad=0 p
	for v in $(seq 1 "$nvms"); do
		"$fn" "$v" >&2 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p" || bad=1
	done
	[ $bad = 0 ] || die "$what"
}

# Open every disk, sequentially or one opener per VM; prints ms.
open_all() {
	local mode=$1 t0 t1 v
	t0=${EPOCHREALTIME/./}
	if [ "$mode" = seq ]; then
		for v in $(seq 1 "$nvms"); do
			open_vm "$v" >&2 || die "sequential open pass"
		done
	else
		each_vm_parallel open_vm "parallel open pass"
	fi
	check_all_active
	t1=${EPOCHREALTIME/./}
	echo $(((t1 - t0) / 1000))
}

# The pattern of each VM reads back through its first disk.
verify_data() {
	local v got
	for v in $(seq 1 "$nvms"); do
		got=$(dd if="/dev/mapper/$(dev "$v" 0)" bs=4096 count=1 iflag=direct status=none | sha256sum)
		[ "${got%% *}" = "${want[$v]}" ] || die "VM $v: data read back through $(dev "$v" 0) differs"
	done
}

close_vm() {
	local v=$1 k o
	for k in $(seq 0 $((ndisks - 1))); do
		o=$(ctl close "$(dev "$v" "$k")" 2>&1) || { echo "close $(dev "$v" "$k"): $o"; return 1; }
	done
}

close_all() {
	each_vm_parallel close_vm "closing the disks"
	[ -z "$(our_devs)" ] || die "devices left after close: $(our_devs | tr '\n' ' ')"
}

# open + check + verify + close; records the sample.
tag=setup
pass() {
	local scen=$1 mode=$2 round=$3 ms
	tag=$scen-$mode-$round
	ms=$(open_all "$mode")
	verify_data
	close_all
	sample "$scen" "$mode" "$round" "$ms"
}

modes=seq
[ "$parallel" = 1 ] && modes="seq par"

{
	echo "kernel $(uname -r)"
	echo "vcpus $(nproc)"
	echo "mem_mb $(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo)"
	echo "vms $nvms"
	echo "disks_per_vm $ndisks"
	echo "rounds $rounds"
	echo "image_size $size"
	echo "modes $modes"
	echo "cryptsetup $(cryptsetup --version)"
} >"$out/meta.txt"

# --- setup (not timed) ---
e2e_init || die "setup: modules or binaries (make module agent)"
command -v pykmip-server >/dev/null || die "setup: pykmip-server not installed (scripts/install-deps)"
[ -c /dev/tpmrm0 ] || die "setup: no TPM in the guest (run through scripts/bench-agent)"
say "setup: pykmip-server (slow under TCG), vmcryptd, $ndev images of $size"
e2e_kms_start "$KMS" || die "setup: pykmip-server did not start"
mkdir -p "$STATE" && chmod 700 "$STATE"
daemon_start
e2e_provider_add kms1 >/dev/null || die "setup: provider add"

t0=${EPOCHREALTIME/./}
for v in $(seq 1 "$nvms"); do
	for k in $(seq 0 $((ndisks - 1))); do
		o=$(ctl format "$(img "$v" "$k")" --size "$size" --vm-name "$(vm_name "$v")" \
			--vm-uuid "$(vm_uuid "$v")" 2>&1) || die "format $(img "$v" "$k"): $o"
	done
done
t1=${EPOCHREALTIME/./}
say "setup: formatted $ndev disks in $(((t1 - t0) / 1000)) ms ($(((t1 - t0) / 1000 / ndev)) ms/disk)"
echo "format_ms $(((t1 - t0) / 1000))" >>"$out/meta.txt"
[ "$(e2e_event_count key.created)" -eq "$nvms" ] ||
	die "setup: $(e2e_event_count key.created) KEKs created on the KMS, expected one per VM ($nvms)"
digest_iter=$(cryptsetup luksDump "$(img 1 0)" | awk '/^Digests:/ { d = 1 } d && /Iterations:/ { print $2; exit }')
echo "digest_iterations $digest_iter" >>"$out/meta.txt"

declare -a want
for v in $(seq 1 "$nvms"); do
	o=$(ctl open "$(img "$v" 0)" "$(dev "$v" 0)" 2>&1) || die "setup: open $(img "$v" 0): $o"
	head -c 4096 /dev/urandom >"$W/pattern"
	dd if="$W/pattern" of="/dev/mapper/$(dev "$v" 0)" bs=4096 count=1 oflag=direct status=none ||
		die "setup: write the pattern of VM $v"
	want[v]=$(sha256sum <"$W/pattern" | cut -d' ' -f1)
	ctl close "$(dev "$v" 0)" >/dev/null || die "setup: close $(dev "$v" 0)"
done
rm -f "$W/pattern"

# --- 1 and 2: online without cached keys, then cached (persistence off) ---
for r in $(seq 1 "$rounds"); do
	for m in $modes; do
		daemon_restart
		f0=$(e2e_event_count key.fetched)
		pass online "$m" "$r"
		f1=$(e2e_event_count key.fetched)
		[ $((f1 - f0)) -ge "$nvms" ] ||
			die "online pass fetched $((f1 - f0)) keys from the KMS, expected $nvms"
		pass cached "$m" "$r"
		[ "$(e2e_event_count key.fetched)" -eq "$f1" ] ||
			die "cached pass fetched keys from the KMS: the cache was not used"
	done
done

# --- 3: offline from the persisted cache ---
ctl persistence enable >/dev/null || die "persistence enable"
daemon_restart
# Feed the cache: every KEK obtained from the KMS is sealed into it.
tag=online-persist-seq-1
ms=$(open_all seq)
verify_data
close_all
sample online-persist seq 1 "$ms"
n=$(ctl persistence status --json | sed -n 's/.*"keys_cached": *\([0-9]*\).*/\1/p')
[ "${n:-0}" -ge "$nvms" ] || die "persisted cache holds ${n:-0} keys, expected $nvms"
e2e_kms_stop "$KMS" >/dev/null 2>&1 || true
say "KMS stopped; $n keys in the persisted cache"

for r in $(seq 1 "$rounds"); do
	for m in $modes; do
		e2e_daemon_stop || true
		u0=$(e2e_event_count key.persisted_used)
		f0=$(e2e_event_count key.fetched)
		t0=${EPOCHREALTIME/./}
		daemon_start
		t1=${EPOCHREALTIME/./}
		tag=offline-open-$m-$r
		ms=$(open_all "$m")
		t2=${EPOCHREALTIME/./}
		verify_data
		u1=$(e2e_event_count key.persisted_used)
		f1=$(e2e_event_count key.fetched)
		if [ $((u1 - u0)) -lt "$nvms" ] || [ "$f1" -ne "$f0" ]; then
			die "offline pass: $((u1 - u0)) key.persisted_used and $((f1 - f0)) key.fetched events, expected >= $nvms and 0: the figure would not be what it claims"
		fi
		close_all
		sample offline-start "$m" "$r" $(((t1 - t0) / 1000))
		sample offline-open "$m" "$r" "$ms"
		sample offline-start-open "$m" "$r" $(((t2 - t0) / 1000))
	done
done

# --- profile: where the time of one open goes ---
# Mean wall time in ms of N runs of a command.
mean_ms() {
	local n=$1 t0 t1
	shift
	t0=${EPOCHREALTIME/./}
	for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 || true; done
	t1=${EPOCHREALTIME/./}
	echo $(((t1 - t0) / 1000 / n))
}

# strace -f -tt -T of the daemon around one open of disk (1, 0), to FILE.
trace_open() {
	local f=$1 sp
	strace -f -tt -T -qq -o "$f" -p "$E2E_DPID" &
	sp=$!
	sleep 2
	ctl open "$(img 1 0)" "$(dev 1 0)" >/dev/null || die "profile: open under strace"
	sleep 0.5
	kill -INT "$sp"
	wait "$sp" || true
	ctl close "$(dev 1 0)" >/dev/null || die "profile: close"
}

if [ "$profile" = 1 ]; then
	say "profile"
	tag=profile
	{
		# Client side: a fork+exec of nothing, of the CLI, a full round trip.
		echo "exec_true_ms $(mean_ms 20 /bin/true)"
		echo "cli_exec_ms $(mean_ms 20 "$E2E_BIN/vmcryptctl" --help)"
		echo "cli_ping_ms $(mean_ms 20 ctl ping)"
		echo "dmsetup_info_ms $(mean_ms 10 dmsetup info -c --noheadings)"
		# The LUKS2 digest check (PBKDF2-SHA256, iterations fixed at format).
		bm=$(cryptsetup benchmark --pbkdf pbkdf2 --hash sha256 2>/dev/null |
			awk '/^PBKDF2-sha256/ { print $2; exit }')
		echo "pbkdf2_sha256_per_s ${bm:-0}"
		if [ -n "$bm" ] && [ "$bm" -gt 0 ]; then
			echo "digest_verify_ms $(awk -v i="$digest_iter" -v b="$bm" 'BEGIN { printf "%.0f", i * 1000 / b }')"
		fi
		echo "luks_dump_ms $(mean_ms 10 cryptsetup luksDump "$(img 1 1)")"
		# One cached pass (keys in the daemon's memory) under perf: where
		# the daemon's CPU time goes.
		ms=$(open_all seq)
		close_all
		echo "cached_pass_ms $ms"
		perf record -q -e cpu-clock -F 250 -g -o "$W/perf.data" -p "$E2E_DPID" >/dev/null 2>&1 &
		pp=$!
		# perf starts slowly under TCG; a SIGINT before it is set up
		# would lose the data.
		for _ in $(seq 60); do
			[ -s "$W/perf.data" ] && break
			sleep 0.5
		done
		sleep 2
		ms=$(open_all seq)
		kill -INT "$pp"
		wait "$pp" || true
		close_all
		echo "cached_pass_ms_under_perf $ms"
		echo "perf report of vmcryptd during that pass (self time by library):"
		perf report -q -i "$W/perf.data" --stdio --no-children -g none --sort dso 2>/dev/null | grep -v '^$' | head -n 12
		echo "perf report (self time by symbol):"
		perf report -q -i "$W/perf.data" --stdio --no-children -g none --sort dso,sym 2>/dev/null |
			grep -v '^$' | head -n 25
		# Syscall timelines of one cached and one uncached offline open.
		trace_open "$out/strace-open-cached.txt"
		e2e_daemon_stop || true
		daemon_start
		trace_open "$out/strace-open-offline.txt"
		echo "strace timelines: strace-open-cached.txt, strace-open-offline.txt"
	} >"$out/profile.txt" 2>&1 || say "profile failed (figures above stand)"
fi

e2e_daemon_stop || true
say "done"
