#!/bin/bash
# test_bench_report.sh: tests/bench/report, the benchmark's arithmetic, on
# made-up raw results whose answers are known: ratios of the medians, the
# per-round ratios, CPU time per I/O and the cipher's share from perf's
# sample counts (VMCRYPT_BENCH_PROFILE=1), the flag on a profile that is
# nearly all idle, and n/a where a device or workload did not run. No VM:
# the report is plain Python over files. Host only, a second.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
raw=$tmp/raw
mkdir -p "$raw"

# Two rounds of 4k-randread-qd1 on dm-crypt-nowq (100k, 100k IOPS) and
# vmcrypt (110k, 90k); default dm-crypt in round 1 only, its profile 95%
# idle. perf: 1000 samples of 250 us per run, 10000 I/Os per run (0.025 us
# of CPU per sample per I/O); the cipher (xts_crypt with its callees) 30%.
python3 - "$raw" <<'EOF'
import json, os, sys
raw = sys.argv[1]
with open(os.path.join(raw, "meta.txt"), "w") as f:
    f.write("kernel test\nvcpus 2\nrounds 2\nruntime 5\nramp 0\n"
            "profile_period_ns 250000\nclocksource tsc\n")
with open(os.path.join(raw, "tcrypt.txt"), "w") as f:
    f.write("tsc_mhz 1000\nenc 100000 xts-aes-aesni\ndec 100000 xts-aes-aesni\n")

def fio(r, dev, iops):
    job = {"read": {"iops": iops, "bw_bytes": iops * 4096, "total_ios": 10000,
                    "clat_ns": {"percentile": {"99.000000": 20000}},
                    "lat_ns": {"percentile": {"99.000000": 100000}}},
           "write": {"iops": 0, "bw_bytes": 0, "total_ios": 0}}
    with open(os.path.join(raw, f"{r}.4k-randread-qd1.{dev}.json"), "w") as f:
        json.dump({"jobs": [job]}, f)

def perf(r, dev, halt, cipher=300):
    rest = 1000 - halt - cipher
    rows = [(100.0, 0.0, 0, "entry_SYSCALL_64"),
            (cipher / 10, 0.0, 0, "xts_crypt"),
            (cipher / 10, cipher / 10, cipher, "aesni_xts_decrypt"),
            (halt / 10, halt / 10, halt, "native_safe_halt"),
            (rest / 10, rest / 10, rest, "fio_gettime")]
    with open(os.path.join(raw, f"{r}.4k-randread-qd1.{dev}.perf.txt"), "w") as f:
        for c, s, n, sym in rows:
            f.write(f"    {c:.2f}%    {s:.2f}%  {n:10d}  [k] {sym}\n")

for r, iops in ((1, 110000), (2, 90000)):
    fio(r, "vmcrypt", iops)
    perf(r, "vmcrypt", 500)
    fio(r, "dm-crypt-nowq", 100000)
    perf(r, "dm-crypt-nowq", 400)
fio(1, "dm-crypt", 20000)
perf(1, "dm-crypt", 950, cipher=30)
EOF

tap_check "report: runs on the made-up results" \
	tests/bench/report "$raw" "$tmp/out"
j=$tmp/out/results.json

# check NAME PYTHON-EXPRESSION (w: the workload's results)
check() {
	tap_check "$1" python3 -c "
import json, sys
w = json.load(open('$j'))['workloads']['4k-randread-qd1']
ok = $2
print('got:', json.dumps(w, sort_keys=True)[:2000])
sys.exit(0 if ok else 1)"
}
near() { echo "abs(($1) - ($2)) < 1e-9"; }

check "ratio of the medians: vmcrypt 100k / dm-crypt-nowq 100k" \
	"$(near "w['ratios']['vmcrypt/dm-crypt-nowq']" 1.0)"
check "per-round ratios 1.1 and 0.9: median 1.0, ahead in 1 of 2" \
	"$(near "w['paired_ratios']['vmcrypt/dm-crypt-nowq']['median']" 1.0) and \
w['paired_ratios']['vmcrypt/dm-crypt-nowq']['at_least_1'] == 1 and \
$(near "w['paired_ratios']['vmcrypt/dm-crypt-nowq']['min']" 0.9)"
check "per-round ratio over the one round dm-crypt ran: 110k / 20k" \
	"$(near "w['paired_ratios']['vmcrypt/dm-crypt']['median']" 5.5) and \
len(w['paired_ratios']['vmcrypt/dm-crypt']['samples']) == 1"
check "cpu per I/O: vmcrypt busy 500 samples = 12.5 us, cipher 300 = 7.5 us" \
	"$(near "w['devices']['vmcrypt']['cpu_per_io']['busy_us']['median']" 12.5) and \
$(near "w['devices']['vmcrypt']['cpu_per_io']['cipher_us']['median']" 7.5)"
check "cpu per I/O: dm-crypt-nowq busy 15 us, the rest 1.0 cipher units" \
	"$(near "w['devices']['dm-crypt-nowq']['cpu_per_io']['busy_us']['median']" 15.0) and \
$(near "w['devices']['dm-crypt-nowq']['cpu_per_io']['rest_per_cipher']['median']" 1.0)"
check "cpu ratio: (1 + 1.0) / (1 + 5 / 7.5) = 1.2" \
	"$(near "w['ratios']['vmcrypt/dm-crypt-nowq (cpu per io)']" 1.2)"
check "the raw device did not run: no raw entry, vmcrypt/raw n/a" \
	"'raw' not in w['devices'] and w['ratios']['vmcrypt/raw'] is None"
tap_check "table: the per-round and cpu rows" \
	grep -q '^4k-randread-qd1 .*1.00 (0.90-1.10), 1 of 2 >= 1' "$tmp/out/table.rst"
tap_check "table: the cpu ratio column" \
	grep -q '^4k-randread-qd1 .* 12 / 8 / 0.67 .*1.20$' "$tmp/out/table.rst"
tap_check "table: the 95%-idle profile is flagged" \
	grep -q 'profile SUSPECT.*1.4k-randread-qd1.dm-crypt (5% busy)' "$tmp/out/table.rst"
tap_check "table: workloads that did not run are n/a" \
	grep -q '^1m-write-qd16 .*n/a' "$tmp/out/table.rst"
tap_check "table: the footer names the guest's clocksource" \
	grep -q ', TCG, clocksource tsc$' "$tmp/out/table.rst"

tap_done
