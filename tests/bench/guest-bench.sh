#!/bin/bash
# guest-bench.sh: the guest half of `make bench` (scripts/bench runs it with
# scripts/vm-run). On one brd ram disk it sets up dm-crypt (default), dm-crypt
# without workqueues and, if kernel/dm-vmcrypt.ko loads, vmcrypt, all with one
# 512-bit key and 4096-byte sectors; measures the in-kernel xts(aes) speed
# with tcrypt; then runs every fio workload on every device, devices
# alternating within each round, with a share of the tcrypt runs before each
# round, and of the concurrent xts(aes) speed (tests/bench/xts_speed). Raw
# results go to OUTDIR (fio JSON, one file per run; tcrypt.txt;
# xts_speed.txt; meta.txt); tests/bench/report turns them into
# the table and results.json. Figures only: nothing here asserts a speed.
#
#   tests/bench/guest-bench.sh OUTDIR
#
# VMCRYPT_BENCH_ROUNDS (4: one Williams square of four devices),
# VMCRYPT_BENCH_RUNTIME (5 s), VMCRYPT_BENCH_RAMP (2 s),
# VMCRYPT_BENCH_SIZE_MB (256), VMCRYPT_BENCH_TCRYPT_RUNS (15),
# VMCRYPT_BENCH_WORKLOADS (all; a space-separated subset of the names below,
# for quick A/B runs while working on the data path), VMCRYPT_BENCH_PROFILE
# (1: every fio run under `perf record -a -g` on the cpu-clock event, no
# ramp, with perf's per-symbol sample counts next to fio's JSON; the report
# then adds what each I/O cost in CPU time and how much of it was the
# cipher. Sampling slows every device: a profiled run's throughput is not
# the benchmark's).
set -euo pipefail

out=$1
rounds=${VMCRYPT_BENCH_ROUNDS:-4}
runtime=${VMCRYPT_BENCH_RUNTIME:-5}
ramp=${VMCRYPT_BENCH_RAMP:-2}
size_mb=${VMCRYPT_BENCH_SIZE_MB:-256}
tcrypt_runs=${VMCRYPT_BENCH_TCRYPT_RUNS:-15}
profile=${VMCRYPT_BENCH_PROFILE:-0}
# one cpu-clock sample per 250 us of CPU time (the event counts ns)
profile_period=250000
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$out"
rm -f "$out"/*.json "$out"/*.perf.txt "$out"/perf.err "$out"/tcrypt.txt \
	"$out"/xts_speed.txt "$out"/meta.txt
case $profile in
0 | 1) ;;
*) echo "bench: VMCRYPT_BENCH_PROFILE must be 0 or 1, not '$profile'"; exit 2 ;;
esac
if [ "$profile" = 1 ]; then
	command -v perf >/dev/null ||
		{ echo "bench: VMCRYPT_BENCH_PROFILE=1 needs perf (apt-get install linux-perf)"; exit 2; }
	# the recording is the whole fio run: no ramp, so that fio's I/O count
	# covers the same time as the samples
	ramp=0
	echo 0 >/proc/sys/kernel/kptr_restrict
	echo -1 >/proc/sys/kernel/perf_event_paranoid
fi

say() { echo "bench: $*"; }
keyf=$(mktemp)
devs=()
cleanup() {
	for d in bench-vmcrypt bench-crypt-nowq bench-crypt; do
		dmsetup remove "$d" 2>/dev/null || true
	done
	keyctl purge -s logon vmcrypt:bench >/dev/null 2>&1 || true
	[ -n "${keyf:-}" ] && shred -u "$keyf" 2>/dev/null
	rmmod brd 2>/dev/null || true
}
trap cleanup EXIT

{
	echo "kernel $(uname -r)"
	echo "vcpus $(nproc)"
	echo "mem_mb $(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo)"
	echo "cpu_model $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
	echo "fio $(fio --version)"
	echo "clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
	echo "rounds $rounds"
	echo "runtime $runtime"
	echo "ramp $ramp"
	echo "size_mb $size_mb"
	[ "$profile" = 0 ] || echo "profile_period_ns $profile_period"
} >"$out/meta.txt"

# --- ceiling: tcrypt. Linux 6.1 has no mode that times xts(aes) alone, and
# sec=1 would time every AES mode (~10 min); sec=0 gives cycles per
# operation (averaged over 8 runs after 4 warm-ups) for every mode in a
# second. The runs are spread over the rounds (a share before each), so
# that the ceiling is measured under the same host conditions as the fio
# runs it is compared with; the report takes the median of all.
tsc=$(dmesg | sed -n 's/.*Refined TSC clocksource calibration: \([0-9.]*\) MHz.*/\1/p' | tail -n 1)
[ -n "$tsc" ] || tsc=$(dmesg | sed -n 's/.*tsc: Detected \([0-9.]*\) MHz processor.*/\1/p' | tail -n 1)
echo "tsc_mhz ${tsc:-0}" >>"$out/tcrypt.txt"
tcrypt_done=0
tcrypt_share() {
	for _ in $(seq "$1"); do
		tcrypt_done=$((tcrypt_done + 1))
		echo "bench: tcrypt run $tcrypt_done" >/dev/kmsg
		modprobe tcrypt mode=500 sec=0 2>/dev/null || true # always -EAGAIN
		dmesg | awk -v mark="bench: tcrypt run $tcrypt_done" '
			index($0, mark) { on = 1; next }
			!on { next }
			/testing speed of .*xts\(aes\)/ {
				drv = $0; sub(/.*xts\(aes\) \(/, "", drv); sub(/\).*/, "", drv)
				dir = ($0 ~ /encryption/) ? "enc" : "dec"; x = 1; next }
			/testing speed/ { x = 0; next }
			x && /512 bit key, 4096 byte blocks/ {
				c = $0; sub(/.* in /, "", c); sub(/ cycles.*/, "", c)
				print dir, c, drv }' >>"$out/tcrypt.txt"
	done
}

# --- second ceiling: tests/bench/xts_speed (built by scripts/bench), the
# same cipher on every vCPU at once; loading it measures and prints, then
# fails with -EAGAIN on purpose. One run (2 s per direction) per round.
xts_ko=$root/tests/bench/xts_speed/xts_speed.ko
xts_done=0
xts_share() {
	[ -f "$xts_ko" ] || return 0
	xts_done=$((xts_done + 1))
	echo "bench: xts_speed run $xts_done" >/dev/kmsg
	insmod "$xts_ko" ms=2000 2>/dev/null || true # always -EAGAIN
	dmesg | awk -v mark="bench: xts_speed run $xts_done" '
		index($0, mark) { on = 1; next }
		on && /xts_speed: (enc|dec) all / {
			sub(/.*xts_speed: /, ""); print $1, $3, $5 }' >>"$out/xts_speed.txt"
}
[ -f "$xts_ko" ] || say "tests/bench/xts_speed/xts_speed.ko not built: no concurrent ceiling"

# --- devices
sectors=$((size_mb * 1024 * 1024 / 512))
modprobe brd rd_nr=1 rd_size=$((size_mb * 1024)) max_part=0
[ -b /dev/ram0 ] || { say "no /dev/ram0"; exit 1; }
# Allocate every page of the ram disk so that no device reads holes.
dd if=/dev/zero of=/dev/ram0 bs=1M count="$size_mb" oflag=direct status=none
head -c 64 /dev/urandom >"$keyf"
hex=$(od -An -vtx1 "$keyf" | tr -d ' \n')
dev_raw=/dev/ram0
dmsetup create bench-crypt --table \
	"0 $sectors crypt aes-xts-plain64 $hex 0 /dev/ram0 0 1 sector_size:4096"
dmsetup create bench-crypt-nowq --table \
	"0 $sectors crypt aes-xts-plain64 $hex 0 /dev/ram0 0 3 sector_size:4096 no_read_workqueue no_write_workqueue"
unset hex
devs=("raw:$dev_raw" "dm-crypt:/dev/mapper/bench-crypt" "dm-crypt-nowq:/dev/mapper/bench-crypt-nowq")

vmcrypt_note=
ko=$root/kernel/dm-vmcrypt.ko
if [ ! -f "$ko" ]; then
	vmcrypt_note="kernel/dm-vmcrypt.ko not built"
elif ! lsmod | grep -q '^dm_vmcrypt ' && ! insmod "$ko" 2>"$out/insmod.err"; then
	vmcrypt_note="insmod kernel/dm-vmcrypt.ko failed: $(cat "$out/insmod.err")"
else
	keyctl padd logon vmcrypt:bench @s <"$keyf" >/dev/null
	if dmsetup create bench-vmcrypt --table \
		"0 $sectors vmcrypt aes-xts-plain64 :64:logon:vmcrypt:bench 0 /dev/ram0 0 1 sector_size:4096" \
		2>"$out/vmcrypt.err"; then
		devs+=("vmcrypt:/dev/mapper/bench-vmcrypt")
	else
		vmcrypt_note="vmcrypt table load failed: $(cat "$out/vmcrypt.err")"
	fi
fi
if [ -n "$vmcrypt_note" ]; then
	say "SKIPPING the vmcrypt column: $vmcrypt_note"
	echo "vmcrypt_skipped $vmcrypt_note" >>"$out/meta.txt"
fi
shred -u "$keyf"
keyf=

# --- fio
workloads=(
	"4k-randread-qd1:--rw=randread --bs=4k --iodepth=1 --numjobs=1"
	"4k-randwrite-qd1:--rw=randwrite --bs=4k --iodepth=1 --numjobs=1"
	"4k-randread-qd32:--rw=randread --bs=4k --iodepth=16 --numjobs=2"
	"4k-randwrite-qd32:--rw=randwrite --bs=4k --iodepth=16 --numjobs=2"
	"1m-read-qd16:--rw=read --bs=1M --iodepth=16 --numjobs=1"
	"1m-write-qd16:--rw=write --bs=1M --iodepth=16 --numjobs=1"
)
if [ -n "${VMCRYPT_BENCH_WORKLOADS:-}" ]; then
	picked=()
	for w in "${workloads[@]}"; do
		case " $VMCRYPT_BENCH_WORKLOADS " in *" ${w%%:*} "*) picked+=("$w") ;; esac
	done
	[ ${#picked[@]} -gt 0 ] || { say "VMCRYPT_BENCH_WORKLOADS names no workload"; exit 2; }
	workloads=("${picked[@]}")
fi
ndev=${#devs[@]}
# The device order of each round: a Williams square. Round 1 runs devices
# 0, 1, n-1, 2, n-2, ... and round r adds r-1 to each index (mod n). Over
# n rounds (n even) every device runs once in every position and right
# after every other device once, so neither going first nor the device
# that ran just before favours anyone (in one boot, of two devices run
# back to back, the second measured 5-10% faster on 4k QD1). A plain
# rotation kept every device's predecessor the same in most rounds.
order=(0)
lo=1
hi=$((ndev - 1))
while [ ${#order[@]} -lt "$ndev" ]; do
	order+=("$lo")
	lo=$((lo + 1))
	[ ${#order[@]} -lt "$ndev" ] || break
	order+=("$hi")
	hi=$((hi - 1))
done
tcrypt_per_round=$(((tcrypt_runs + rounds - 1) / rounds))
for r in $(seq "$rounds"); do
	say "round $r/$rounds: tcrypt, $tcrypt_per_round runs of mode=500 sec=0"
	tcrypt_share "$tcrypt_per_round"
	xts_share
	for w in "${workloads[@]}"; do
		wname=${w%%:*}
		# shellcheck disable=SC2206
		wargs=(${w#*:})
		for k in $(seq 0 $((ndev - 1))); do
			d=${devs[$(((order[k] + r - 1) % ndev))]}
			dname=${d%%:*}
			dpath=${d#*:}
			say "round $r/$rounds $wname $dname"
			run=(fio --name="$wname" --filename="$dpath" --ioengine=libaio --direct=1
				--time_based --runtime="$runtime" --ramp_time="$ramp"
				--group_reporting --randrepeat=0 --norandommap
				--lat_percentiles=1
				"${wargs[@]}" --output-format=json
				--output="$out/$r.$wname.$dname.json")
			if [ "$profile" = 0 ]; then
				"${run[@]}" >/dev/null
				continue
			fi
			if ! perf record -q -a -g -e cpu-clock -c "$profile_period" \
				-o /tmp/bench.perf.data -- "${run[@]}" >/dev/null 2>"$out/perf.err"; then
				say "perf record failed: $(cat "$out/perf.err")"
				exit 1
			fi
			# samples per symbol: alone (self) and with its callees
			perf report -i /tmp/bench.perf.data --stdio --children -n \
				--sort sym -g none --percent-limit 0 2>/dev/null |
				grep -v '^#' | grep -v '^$' \
				>"$out/$r.$wname.$dname.perf.txt"
			rm -f /tmp/bench.perf.data
		done
	done
done
grep -q '^enc' "$out/tcrypt.txt" || say "tcrypt gave no xts(aes) result"
say "done"
