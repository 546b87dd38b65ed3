#!/bin/bash
# test_harness_runner.sh: checks the test harness itself: tests/lib/tap.sh
# output and tests/lib/runner.sh's merging and failure rules (crash, timeout,
# missing or short plan, skip-all, no output, leftover processes), on small
# throw-away programs. Host only, a few seconds.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

prog() { # name body...
	local f=$tmp/$1
	shift
	printf '#!/bin/sh\n%s\n' "$*" >"$f"
	chmod +x "$f"
}

# tap.sh itself
top=$PWD
out=$(cd "$tmp" && sh -c '. '"$top"'/tests/lib/tap.sh; tap_ok a b; tap_skip c "why not"; tap_fail d "bad"; tap_check e false; tap_done' 2>&1)
rc=$?
exp='TAP version 13
ok 1 a b
ok 2 c # SKIP why not
not ok 3 d
# d: bad
not ok 4 e
# e: exit status 1: false
1..4
# Totals: pass:1 fail:2 xfail:0 xpass:0 skip:1 error:0'
if [ "$rc" -eq 1 ] && [ "$out" = "$exp" ]; then
	tap_ok "tap.sh prints kselftest-style TAP and exits 1 on failure"
else
	tap_fail "tap.sh prints kselftest-style TAP and exits 1 on failure" "rc=$rc, got:
$out"
fi
out=$(sh -c '. tests/lib/tap.sh; tap_plan 2; tap_ok x; tap_done' 2>&1)
rc=$?
case "$out" in
*"planned 2 cases but ran 1"*) [ "$rc" -eq 1 ] && tap_ok "tap.sh: short plan fails" || tap_fail "tap.sh: short plan fails" "rc=$rc" ;;
*) tap_fail "tap.sh: short plan fails" "$out" ;;
esac
sh -c '. tests/lib/tap.sh; tap_skip_all "nothing here"' >"$tmp/skipall" 2>&1
rc=$?
if [ "$rc" -eq 4 ] && grep -qx '1..0 # SKIP nothing here' "$tmp/skipall"; then
	tap_ok "tap.sh: skip-all prints a 1..0 SKIP plan and exits 4"
else
	tap_fail "tap.sh: skip-all prints a 1..0 SKIP plan and exits 4" "rc=$rc"
fi

# runner.sh: one scenario per program; expect the counters it ends with.
prog good 'echo "TAP version 13"; echo "1..2"; echo "ok 1 one"; echo "ok 2 two # SKIP no"; echo stray'
prog bad 'echo "1..2"; echo "ok 1 one"; echo "not ok 2 two"; exit 1'
prog short 'echo "1..3"; echo "ok 1 one"; exit 1'
prog noplan 'echo "ok 1 one"; exit 0'
prog crash 'echo "1..1"; echo "ok 1 a"; kill -SEGV $$'
prog hang 'echo "1..1"; echo "ok 1 a"; exec sleep 60'
prog silent 'exit 0'
prog skipall 'echo "1..0 # SKIP no device"; exit 4'
prog liar 'echo "1..1"; echo "ok 1 a"; exit 3'
prog empty 'echo "1..0"; exit 0'
prog daemon 'sleep 60 & echo $! >'"$tmp/daemon.pid"'; echo "1..1"; echo "ok 1 a"'

check_runner() { # name expected-"n pass fail skip" program...
	local name=$1 want=$2
	shift 2
	local got
	got=$(
		. tests/lib/runner.sh
		runner_init >/dev/null
		for p in "$@"; do runner_program "$p" 3 "$tmp/$p"; done >"$tmp/$name.out" 2>&1
		echo "$RUNNER_N $RUNNER_PASS $RUNNER_FAIL $RUNNER_SKIP"
	)
	if [ "$got" = "$want" ]; then
		tap_ok "runner: $name"
	else
		tap_fail "runner: $name" "want n/pass/fail/skip $want, got $got:
$(cat "$tmp/$name.out")"
	fi
}
check_runner "passes and skips counted" "2 1 0 1" good
check_runner "failed case counted once" "2 1 1 0" bad
check_runner "short plan is a failure" "2 1 1 0" short
check_runner "missing plan is a failure" "2 1 1 0" noplan
check_runner "crash is a failure" "2 1 1 0" crash
check_runner "timeout is a failure" "2 1 1 0" hang
check_runner "no output is a failure" "1 0 1 0" silent
check_runner "skip-all is one skip" "1 0 0 1" skipall
check_runner "non-zero exit without failed case fails" "2 1 1 0" liar
check_runner "empty plan contributes nothing" "0 0 0 0" empty
check_runner "renumbered across programs" "6 3 2 1" good bad noplan

if grep -qx 'ok 1 good: one' "$tmp/renumbered across programs.out" &&
	grep -qx 'not ok 4 bad: two' "$tmp/renumbered across programs.out" &&
	grep -qx '# stray' "$tmp/renumbered across programs.out"; then
	tap_ok "runner: prefixes program names, comments other output"
else
	tap_fail "runner: prefixes program names, comments other output" \
		"$(cat "$tmp/renumbered across programs.out")"
fi

start=$(date +%s)
check_runner "leftover process does not stall the run" "1 1 0 0" daemon
# Gone or a zombie (some PID 1s do not reap orphans).
alive() { [ -r "/proc/$1/stat" ] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat"; }
if [ $(($(date +%s) - start)) -lt 30 ] && [ -s "$tmp/daemon.pid" ] &&
	! alive "$(cat "$tmp/daemon.pid")"; then
	tap_ok "runner: leftover processes are ended"
else
	tap_fail "runner: leftover processes are ended" "took $(($(date +%s) - start)) s"
fi
tap_done
