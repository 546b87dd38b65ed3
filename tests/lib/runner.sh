# shellcheck shell=bash
# runner.sh: merge the TAP of many test programs into one TAP stream (bash).
#
# Sourced by tests/vm/run-all (in the guest) and scripts/run-tests (on the
# host). Each program's "ok N name" / "not ok N name" lines are renumbered
# into one sequence and prefixed with the program's name; everything else it
# prints becomes a "# " comment, so that only real results are counted.
# A program that crashes, times out, exits non-zero without a failed case,
# prints no plan, runs fewer cases than planned, or reports nothing at all
# gets a failing case of its own. "1..0 # SKIP reason" (exit 4, kselftest's
# KSFT_SKIP) counts as one skipped case.
#
#   runner_init
#   runner_case ok|fail|skip NAME [REASON]
#   runner_program NAME TIMEOUT CMD...     (always returns 0)
#   runner_finish                          (prints plan + totals; 1 if failed)
#   runner_skips                           (prints "name: reason" per skip)
#
# Counters: RUNNER_N RUNNER_PASS RUNNER_FAIL RUNNER_SKIP.

runner_init() {
	RUNNER_N=0
	RUNNER_PASS=0
	RUNNER_FAIL=0
	RUNNER_SKIP=0
	RUNNER_TMP=$(mktemp -d "${TMPDIR:-/tmp}/runner.XXXXXX") || return 1
	# shellcheck disable=SC2064
	trap "rm -rf '$RUNNER_TMP'" EXIT
}

runner_case() {
	local st=$1 name=$2 reason=${3:-}
	RUNNER_N=$((RUNNER_N + 1))
	case "$st" in
	ok)
		RUNNER_PASS=$((RUNNER_PASS + 1))
		echo "ok $RUNNER_N $name" ;;
	skip)
		RUNNER_SKIP=$((RUNNER_SKIP + 1))
		echo "ok $RUNNER_N $name # SKIP ${reason:-no reason given}"
		echo "$name: ${reason:-no reason given}" >>"$RUNNER_TMP/skips" ;;
	*)
		RUNNER_FAIL=$((RUNNER_FAIL + 1))
		echo "not ok $RUNNER_N $name"
		[ -n "$reason" ] && printf '%s\n' "$reason" | sed 's/^/# /'
		;;
	esac
	return 0
}

# Renumbers one program's output; writes "cases pass fail skip plan skipall"
# to the summary file at the end.
_runner_awk='
function emit(line) { print line; fflush() }
BEGIN { n = 0; pass = 0; fail = 0; skip = 0; plan = -1; skipall = ""; last = "" }
{ sub(/\r$/, "") }
/^#  RUN +[^ ]+ \.\.\./ { last = $3 }
/^(not )?ok [0-9]+( |$)/ {
	bad = ($1 == "not")
	rest = $0
	sub(/^(not )?ok [0-9]+ ?/, "", rest)
	desc = rest; directive = ""
	if ((i = index(rest, "# ")) > 0 && rest ~ /# *(SKIP|skip|TODO|XFAIL|xfail)/) {
		desc = substr(rest, 1, i - 1); directive = substr(rest, i)
	}
	sub(/ +$/, "", desc); sub(/^- */, "", desc)
	if (desc == "" && last != "") desc = last
	n++; num = base + n
	out = (bad ? "not ok " : "ok ") num " " prog ": " desc
	if (directive != "") out = out " " directive
	if (bad) fail++
	else if (directive ~ /^# *(SKIP|skip)/) {
		skip++
		r = directive; sub(/^# *(SKIP|skip):? */, "", r)
		print prog ": " desc ": " r >> skipf
	} else pass++
	emit(out)
	last = ""
	next
}
/^1\.\.[0-9]+/ {
	plan = $1; sub(/^1\.\./, "", plan); plan += 0
	if (plan == 0 && (i = index($0, "SKIP")) > 0) {
		skipall = substr($0, i + 4); sub(/^:? */, "", skipall)
		if (skipall == "") skipall = "skipped"
	}
	emit("# " prog ": " $0)
	next
}
/^TAP version/ { next }
/^#/ { emit($0); next }
{ emit("# " $0) }
END { printf "%d %d %d %d %d\t%s\n", n, pass, fail, skip, plan, skipall > sumf }
'

# mawk (Debian's awk) reads pipes in big blocks unless -W interactive: the
# results would only show up at the end.
_runner_awk_cmd=(awk)
awk -W version 2>&1 | grep -q mawk && _runner_awk_cmd=(awk -W interactive)

runner_program() {
	local name=$1 tmo=$2
	shift 2
	local rcf=$RUNNER_TMP/rc sumf=$RUNNER_TMP/sum outf=$RUNNER_TMP/out t0 t1 tpid
	rm -f "$rcf" "$sumf"
	: >"$outf"
	echo "# ---- $name"
	t0=$(date +%s)
	# Output goes to a file that tail follows until the program is gone, so
	# that a daemon it leaves behind holding stdout cannot stall the run.
	timeout -k 10 "$tmo" "$@" </dev/null >"$outf" 2>&1 &
	tpid=$!
	tail -n +1 -s 0.2 -f --pid="$tpid" "$outf" |
		"${_runner_awk_cmd[@]}" -v prog="$name" -v base="$RUNNER_N" -v sumf="$sumf" \
		-v skipf="$RUNNER_TMP/skips" "$_runner_awk"
	wait "$tpid"
	echo $? >"$rcf"
	# timeout made the program a process group of its own: end what it
	# left running.
	if kill -0 -- "-$tpid" 2>/dev/null; then
		echo "# $name: left processes behind; terminating its process group"
		kill -TERM -- "-$tpid" 2>/dev/null
		sleep 1
		kill -KILL -- "-$tpid" 2>/dev/null
	fi
	t1=$(date +%s)
	local rc counts cases pass fail skip plan skipall
	rc=$(cat "$rcf" 2>/dev/null || echo 255)
	counts="0 0 0 0 -1" skipall=
	[ -s "$sumf" ] && IFS=$'\t' read -r counts skipall <"$sumf"
	read -r cases pass fail skip plan <<<"$counts"
	RUNNER_N=$((RUNNER_N + cases))
	RUNNER_PASS=$((RUNNER_PASS + pass))
	RUNNER_FAIL=$((RUNNER_FAIL + fail))
	RUNNER_SKIP=$((RUNNER_SKIP + skip))
	echo "# $name: exit $rc after $((t1 - t0)) s"

	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		runner_case fail "$name: finished in time" "timed out after $tmo s"
	elif [ "$rc" -eq 4 ] && [ "$cases" -eq 0 ] && [ -n "$skipall" ]; then
		runner_case skip "$name" "$skipall"
	elif [ "$rc" -gt 128 ]; then
		runner_case fail "$name: exited normally" "killed by signal $((rc - 128))"
	elif [ "$cases" -eq 0 ] && [ "$plan" -eq 0 ] && [ "$rc" -eq 0 ]; then
		: # "1..0": nothing to run yet
	elif [ "$cases" -eq 0 ]; then
		runner_case fail "$name: reported results" "no TAP results (exit status $rc)"
	elif [ "$plan" -lt 0 ]; then
		runner_case fail "$name: complete" "no TAP plan: the program stopped early (exit status $rc)"
	elif [ "$plan" -ne "$cases" ]; then
		runner_case fail "$name: complete" "planned $plan cases, ran $cases (exit status $rc)"
	elif [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
		runner_case fail "$name: exit status" "exit status $rc although no case failed"
	fi
	return 0
}

runner_skips() {
	[ -f "$RUNNER_TMP/skips" ] && cat "$RUNNER_TMP/skips"
	return 0
}

runner_finish() {
	echo "1..$RUNNER_N"
	echo "# Totals: pass:$RUNNER_PASS fail:$RUNNER_FAIL xfail:0 xpass:0 skip:$RUNNER_SKIP error:0"
	[ "$RUNNER_FAIL" -eq 0 ]
}
