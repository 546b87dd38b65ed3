# daemon-common.sh: helpers for the host tests of vmcryptd/vmcryptctl
# (tests/host/test_daemon_*, test_provider_*, test_roles*). Sourced after
# tests/lib/tap.sh. Everything lives in one private temp dir; the EXIT
# trap stops every daemon, KMIP server and proxy started here (by pid or
# process group) and removes throwaway users and groups.
#
#   BIN=${VMCRYPT_BIN:-$O/bin}      where vmcryptd and vmcryptctl are (O: build)
#   h_setup                          make $T, install the cleanup trap
#   h_daemon_start NAME [CONFIG_LINES]   start vmcryptd NAME (own state
#                                    dir and socket), wait until it answers
#   h_daemon_stop NAME               SIGTERM and wait
#   h_daemon_final NAME              the same as a test case (exit 0, no
#                                    sanitizer report in its log)
#   h_ctl NAME ARGS...               vmcryptctl against daemon NAME
#   h_kms_start DIR [PORT]           scripts/kmip-test-server start (env in DIR/env)
#   h_kms_stop DIR                   stop it (kill its process group)
#   h_proxy_start NAME LPORT TPORT MODE   TCP proxy 127.0.0.1:LPORT ->
#                                    127.0.0.1:TPORT; MODE forward|blackhole
#   h_proxy_stop NAME
#   h_free_port                      an unused loopback port
#   h_events NAME                    path of daemon NAME's events.jsonl
#   h_secret_gone DESC NAME SECRET...  test case: SECRET nowhere in NAME's memory
#   h_daemons_final                  test case: stop every daemon; all exited 0,
#                                    no sanitizer report in any log
#   swtpm_track DIR / swtpm_kill_all  remember the swtpm of DIR (scripts/swtpm-test)
#                                    and kill every remembered one at exit

top=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${VMCRYPT_BIN:-$top/${O:-build}/bin}
case $BIN in /*) ;; *) BIN=$top/$BIN ;; esac
VMCRYPTD=$BIN/vmcryptd
VMCRYPTCTL=$BIN/vmcryptctl
PY=/usr/bin/python3
H_USERS=""
H_GROUPS=""

h_cleanup() {
	set +e
	for f in "$T"/*.dpid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		kill -TERM "$pid" 2>/dev/null
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$pid" 2>/dev/null
	done
	for f in "$T"/*.ppid; do
		[ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
	done
	for d in "$T"/kms*; do
		[ -f "$d/env" ] && h_kms_stop "$d"
		[ -f "$d/manual.pgid" ] && kill -KILL "-$(cat "$d/manual.pgid")" 2>/dev/null
	done
	for u in $H_USERS; do userdel "$u" 2>/dev/null; done
	for g in $H_GROUPS; do groupdel "$g" 2>/dev/null; done
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$T"
}

h_setup() {
	[ -x "$VMCRYPTD" ] && [ -x "$VMCRYPTCTL" ] ||
		tap_skip_all "vmcryptd/vmcryptctl not built in $BIN (run make)"
	T=$(mktemp -d "${TMPDIR:-/tmp}/vmcd-host.XXXXXX")
	chmod 755 "$T"	# other test users must reach the sockets
	trap h_cleanup EXIT
	trap 'exit 1' INT TERM
}

h_free_port() {
	$PY -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

h_events() {
	echo "$T/$1/state/events.jsonl"
}

# h_daemon_start NAME [CONFIG_TEXT]
h_daemon_start() {
	name=$1
	mkdir -p "$T/$name"
	chmod 755 "$T/$name"
	printf '%s\n' "${2:-}" >"$T/$name.conf"
	"$VMCRYPTD" --foreground --config "$T/$name.conf" \
		--state-dir "$T/$name/state" --socket "$T/$name/sock" \
		>>"$T/$name.log" 2>&1 &
	echo $! >"$T/$name.dpid"
	for _ in $(seq 1 100); do
		VMCRYPT_SOCKET=$T/$name/sock "$VMCRYPTCTL" ping >/dev/null 2>&1 && return 0
		kill -0 "$(cat "$T/$name.dpid")" 2>/dev/null || break
		sleep 0.1
	done
	echo "# vmcryptd $name did not start; log:"
	sed 's/^/# /' "$T/$name.log"
	return 1
}

H_STOP_ERR=
h_daemon_stop() {
	pid=$(cat "$T/$1.dpid")
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null
	h_rc=$?
	rm -f "$T/$1.dpid"
	[ $h_rc = 0 ] || H_STOP_ERR="$H_STOP_ERR vmcryptd $1 exited $h_rc;"
	return $h_rc
}

# h_sanitizer_report LOG...: print the first sanitizer report lines found
# in the logs (with context, as comments); 0 when there was one.
h_sanitizer_report() {
	h_rep=$(grep -h -E -A5 "Sanitizer|runtime error" "$@" 2>/dev/null | head -40)
	[ -n "$h_rep" ] || return 1
	printf '%s\n' "$h_rep" | sed 's/^/# /'
}

# h_daemons_final: one test case for every daemon of the test: stop those
# still running; every stop so far gave exit 0, and no log has a
# sanitizer report (ASan's leak check runs at exit).
h_daemons_final() {
	for f in "$T"/*.dpid; do
		[ -e "$f" ] && h_daemon_stop "$(basename "$f" .dpid)"
	done
	if h_sanitizer_report "$T"/*.log || [ -n "$H_STOP_ERR" ]; then
		tap_fail "every vmcryptd exited 0 on SIGTERM, no sanitizer report in their logs" "$H_STOP_ERR"
	else
		tap_ok "every vmcryptd exited 0 on SIGTERM, no sanitizer report in their logs"
	fi
}

# h_daemon_final NAME: stop NAME as a test case: SIGTERM must give exit
# 0 (and so must every stop since the last such case: restarts), and the
# log no sanitizer report (ASan's leak check runs at exit).
h_daemon_final() {
	if ! h_daemon_stop "$1"; then
		sed 's/^/# /' "$T/$1.log" | tail -n 30
		tap_fail "vmcryptd $1 exits cleanly on SIGTERM" "exit status $h_rc"
	elif [ -n "$H_STOP_ERR" ]; then
		# an earlier stop of this test (a restart) went wrong
		tap_fail "vmcryptd $1 exits cleanly on SIGTERM" "earlier:$H_STOP_ERR"
	elif h_sanitizer_report "$T/$1.log"; then
		tap_fail "vmcryptd $1 exits cleanly on SIGTERM" "sanitizer report"
	else
		tap_ok "vmcryptd $1 exits cleanly on SIGTERM"
	fi
	H_STOP_ERR=
}

# h_secret_gone DESC NAME SECRET...: a test case, ok when no SECRET (text,
# or hex:BYTES) is anywhere in daemon NAME's writable memory, freed memory
# included (tests/lib/memscan.py). The socket path, which must be there,
# shows that the scan read the daemon's memory.
h_secret_gone() {
	desc=$1 name=$2
	shift 2
	pid=$(cat "$T/$name.dpid")
	hits=$($PY "$top/tests/lib/memscan.py" "$pid" "$@" 2>&1)
	control=$($PY "$top/tests/lib/memscan.py" "$pid" "$T/$name/sock" 2>&1)
	if [ "$hits" = 0 ] && [ "$control" -gt 0 ] 2>/dev/null; then
		tap_ok "$desc"
	else
		tap_fail "$desc" "found $hits time(s); the socket path (must be found): $control"
	fi
}

h_ctl() {
	name=$1
	shift
	VMCRYPT_SOCKET=$T/$name/sock "$VMCRYPTCTL" "$@"
}

h_kms_start() {
	"$top/scripts/kmip-test-server" start "$@" >"$T/kms-start.log" 2>&1 || {
		sed 's/^/# /' "$T/kms-start.log"
		return 1
	}
}

# Stop a server started by h_kms_start: its whole process group. (By
# hand rather than "kmip-test-server stop": dash's kill takes no "--".)
h_kms_stop() {
	_pg=$(. "$1/env" && echo "$KMIP_PGID")
	case $_pg in '' | *[!0-9]*) return 1 ;; esac
	kill -TERM "-$_pg" 2>/dev/null
	for _ in $(seq 1 100); do
		kill -0 "-$_pg" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "-$_pg" 2>/dev/null
	rm -f "$1/env"
	return 0
}

# A TCP proxy: "forward" relays both ways to TPORT, "blackhole" accepts
# and never answers (a KMS that hangs).
h_proxy_start() {
	cat >"$T/proxy.py" <<'PYEOF'
import socket, sys, threading
lport, tport, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", lport))
ls.listen(16)
held = []
def pump(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
print("ready", flush=True)
while True:
    c, _ = ls.accept()
    print("accepted", flush=True)
    if mode == "blackhole":
        held.append(c)
        continue
    u = socket.create_connection(("127.0.0.1", tport))
    threading.Thread(target=pump, args=(c, u), daemon=True).start()
    threading.Thread(target=pump, args=(u, c), daemon=True).start()
PYEOF
	$PY "$T/proxy.py" "$2" "$3" "$4" >"$T/proxy-$1.out" 2>&1 &
	echo $! >"$T/$1.ppid"
	for _ in $(seq 1 50); do
		grep -q ready "$T/proxy-$1.out" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

h_proxy_stop() {
	pid=$(cat "$T/$1.ppid")
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -f "$T/$1.ppid"
	return 0
}

# h_expect_fail NAME PATTERN CMD...: CMD must exit 1 and print PATTERN
# (grep -E) on stderr. h_expect_status RC NAME PATTERN CMD...: the same
# with exit status RC (vmcryptctl: 3 no daemon, 4 refused, 5 no key server).
h_expect_fail() {
	h_expect_status 1 "$@"
}
h_expect_status() {
	_want=$1
	_n=$2
	_pat=$3
	shift 3
	_rc=0
	"$@" >"$T/out" 2>"$T/err" || _rc=$?
	if [ "$_rc" -eq 0 ]; then
		tap_fail "$_n" "succeeded but should have failed: $*"
		return 0
	fi
	if [ "$_rc" -ne "$_want" ]; then
		sed 's/^/# /' "$T/err"
		tap_fail "$_n" "exit status $_rc, expected $_want"
	elif grep -Eq -- "$_pat" "$T/err"; then
		tap_ok "$_n"
	else
		sed 's/^/# stderr: /' "$T/err"
		tap_fail "$_n" "stderr does not match '$_pat'"
	fi
}

# h_event_has NAME PYTHON_EXPR: 0 when some record r (a dict) of daemon
# NAME's event log satisfies the Python expression over r; 1 when none
# does; 2 when the log cannot be read or parsed. A record lacking a field
# the expression reads does not match.
h_event_has() {
	$PY - "$(h_events "$1")" "$2" <<'PYEOF'
import json, sys
path, expr = sys.argv[1], sys.argv[2]
try:
    recs = [json.loads(l) for l in open(path)]
except (OSError, ValueError) as e:
    print(f"# h_event_has: {path}: {e}")
    sys.exit(2)
def match(r):
    try:
        return eval(expr, {}, {"r": r})
    except (KeyError, TypeError, AttributeError):
        return False
sys.exit(0 if any(match(r) for r in recs) else 1)
PYEOF
}

# h_event_lacks NAME EXPR: the log was read and no record matches.
h_event_lacks() {
	h_event_has "$@"
	[ $? = 1 ]
}

# swtpm pids we started, killed at exit even if $T was removed under us.
SWTPM_PIDS=""
swtpm_track() {	# swtpm_track DIR: remember the pid of the swtpm of DIR
	SWTPM_PIDS="$SWTPM_PIDS $(. "$1/env" && echo "$SWTPM_PID")"
}
swtpm_kill_all() {
	for p in $SWTPM_PIDS; do
		grep -q swtpm "/proc/$p/cmdline" 2>/dev/null && kill "$p" 2>/dev/null
	done
	return 0
}
