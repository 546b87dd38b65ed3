# shellcheck shell=sh
# tap.sh: TAP 13 helpers for vmcrypt's shell tests, sourced (". tests/lib/tap.sh").
#
# Output is the same format the kselftest harness prints, so that
# tests/vm/run-all and scripts/run-tests count shell and C tests alike:
#
#   TAP version 13                 (printed when this file is sourced)
#   1..N                           (tap_plan N, or by tap_done when no plan)
#   ok N name
#   not ok N name                  (+ "# reason" lines)
#   ok N name # SKIP reason
#   # Totals: pass:P fail:F xfail:0 xpass:0 skip:S error:0
#
# Functions:
#   tap_plan N             announce N cases (optional; else the plan trails)
#   tap_ok NAME...         a passed case (all arguments form the name)
#   tap_fail NAME REASON   a failed case; REASON is printed as a diagnostic
#   tap_skip NAME REASON   a skipped case (never counted as a pass)
#   tap_check NAME CMD...  run CMD; ok if it exits 0, else not ok with its
#                          exit status and (as "# " lines) its output
#   tap_diag TEXT...       a "# " comment line
#   tap_skip_all REASON    nothing can run here: "1..0 # SKIP REASON", exit 4
#   tap_done               print plan and totals; exit 1 if any case failed
#                          or the count differs from the plan, else 0
#
# Works under "set -e" and "set -u"; needs only POSIX sh.

TAP_N=0
TAP_PASS=0
TAP_FAILED=0
TAP_SKIPPED=0
TAP_PLANNED=

echo "TAP version 13"

tap_plan() {
	TAP_PLANNED=$1
	echo "1..$1"
}

tap_diag() {
	# Each line of the text becomes its own comment line.
	printf '%s\n' "$*" | sed 's/^/# /'
}

tap_ok() {
	TAP_N=$((TAP_N + 1))
	TAP_PASS=$((TAP_PASS + 1))
	echo "ok $TAP_N $*"
}

tap_fail() {
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N $1"
	if [ $# -gt 1 ] && [ -n "$2" ]; then
		tap_diag "$1: $2"
	fi
}

tap_skip() {
	TAP_N=$((TAP_N + 1))
	TAP_SKIPPED=$((TAP_SKIPPED + 1))
	echo "ok $TAP_N $1 # SKIP ${2:-no reason given}"
}

tap_check() {
	_tap_name=$1
	shift
	_tap_out=$(mktemp "${TMPDIR:-/tmp}/tap.XXXXXX") || {
		tap_fail "$_tap_name" "mktemp failed"
		return 0
	}
	if "$@" >"$_tap_out" 2>&1; then
		tap_ok "$_tap_name"
	else
		_tap_rc=$?
		sed 's/^/# /' "$_tap_out"
		tap_fail "$_tap_name" "exit status $_tap_rc: $*"
	fi
	rm -f "$_tap_out"
	return 0
}

tap_skip_all() {
	echo "1..0 # SKIP $*"
	exit 4
}

tap_done() {
	_tap_rc=0
	if [ -z "$TAP_PLANNED" ]; then
		echo "1..$TAP_N"
	elif [ "$TAP_PLANNED" -ne "$TAP_N" ]; then
		echo "# planned $TAP_PLANNED cases but ran $TAP_N"
		_tap_rc=1
	fi
	echo "# Totals: pass:$TAP_PASS fail:$TAP_FAILED xfail:0 xpass:0 skip:$TAP_SKIPPED error:0"
	[ "$TAP_FAILED" -eq 0 ] || _tap_rc=1
	exit $_tap_rc
}
