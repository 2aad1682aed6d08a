# tests/lib/treetest.sh: helpers of the lithos_tree integration tests
# (tests/integration/t04NN-*.sh, t0401 and up), on top of tests/lib/itest.sh
# (TAP, scratch dir $T, own lxc-path $LXCPATH and cgroup $CGNAME, cleanup).
# Sourced by bash scripts:
#
#   . "$top_srcdir/tests/lib/treetest.sh"
#   tt_init t0401-throttle          # itest_init + tree binaries + python3
#   itest_image; itest_master; itest_sandbox s <<EOF ... EOF
#   tt_config worker <<EOF ...      # /config/worker.yaml in image t/v1 (Daemon)
#   tt_processes s <<EOF ...        # the whole processes file of sandbox s
#   tt_start_tree                   # lithos_tree in the background: $TREE
#   tt_wait_running 3               # lxc-ls counts 3 running containers
#   tt_ps NAME FIELD                # a field of lithos_ps --json for instance NAME
#   tt_stop_tree                    # SIGTERM, wait; $rc, $TREE_STOP_SECS
#   tt_check_clean "what"           # nothing left behind (ok/not ok)
#
# Every tree runs with --log-stderr --log-level debug into $TREE_LOG unless
# TT_TREE_ARGS says otherwise.  The EXIT trap (itest_cleanup, extended with
# tt_cleanup) stops trees, knots and containers the script left running.

top_srcdir=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
. "$top_srcdir/tests/lib/itest.sh"

LITHOS_TREE=$top_builddir/lithos_tree
LITHOS_PS=$top_builddir/lithos_ps
LITHOS_SWITCH=$top_builddir/lithos_switch
export LITHOS_KNOT=${LITHOS_KNOT:-$top_builddir/lithos_knot}
CANTAL_READER=$top_srcdir/tests/integration/cantal_reader.py
unset CANTAL_PATH LITHOS_PROMETHEUS_FILE

# tt_init NAME
tt_init() {
	local p
	for p in /usr/bin/python3 python3; do
		if "$p" -c 'import json, socket' >/dev/null 2>&1; then
			PYTHON=$p
			break
		fi
	done
	itest_init "$1"
	[ -n "${PYTHON:-}" ] || skip_all "python3 is needed to read lithos_ps --json and the metrics"
	for p in "$LITHOS_TREE" "$LITHOS_PS" "$LITHOS_SWITCH" "$LITHOS_KNOT"; do
		[ -x "$p" ] || bail_out "$p was not built (make)"
	done
	TREE=
	TREE_PIDS=
	TREE_LOG=$T/tree.log
	RUNDIR=$T/run
	ITEST_EXTRA_CLEANUP="tt_cleanup${ITEST_EXTRA_CLEANUP:+; $ITEST_EXTRA_CLEANUP}"
}

# tt_config NAME <<YAML: /config/NAME.yaml in image ${IMAGE:-t/v1}
tt_config() {
	local img=$IMAGES/${IMAGE:-t/v1}
	mkdir -p "$img/config"
	cat >"$img/config/$1.yaml"
}

# tt_processes SANDBOX <<YAML: the whole processes file of SANDBOX
tt_processes() {
	cat >"$ETC/processes/$1.yaml.tmp" && mv -f "$ETC/processes/$1.yaml.tmp" "$ETC/processes/$1.yaml"
}

# tt_start_tree: starts lithos_tree -C $MASTER; waits (10 s) until it wrote
# its pid file and status.json.  $TREE is its pid.
tt_start_tree() {
	local i
	rm -f "$RUNDIR/status.json"
	echo "==== tree started by the test at $(date -u +%H:%M:%S.%N)" >>"$TREE_LOG"
	# default dispositions as under systemd: bash starts background jobs
	# with SIGINT and SIGQUIT ignored, which would hide signal races
	# shellcheck disable=SC2086
	env --default-signal=INT,QUIT "$LITHOS_TREE" -C "$MASTER" ${TT_TREE_ARGS:---log-stderr --log-level debug} \
		</dev/null >>"$TREE_LOG" 2>&1 &
	TREE=$!
	TREE_PIDS="$TREE_PIDS $TREE"
	for i in $(seq 200); do
		if ! kill -0 "$TREE" 2>/dev/null; then
			diag "lithos_tree $TREE exited at start"
			diag_file "$TREE_LOG" "tree log"
			return 1
		fi
		[ "$(cat "$RUNDIR/master.pid" 2>/dev/null)" = "$TREE" ] && [ -s "$RUNDIR/status.json" ] &&
			return 0
		sleep 0.05
	done
	diag "lithos_tree $TREE: no pid file/status after 10 s"
	return 1
}

# tt_stop_tree [SIGNAL]: signal the tree (TERM) and wait for it (60 s);
# exit code in $rc, seconds it took in $TREE_STOP_SECS
tt_stop_tree() {
	local sig=${1:-TERM} t0 i
	[ -n "$TREE" ] || return 0
	t0=$(date +%s.%N)
	kill -"$sig" "$TREE" 2>/dev/null
	for i in $(seq 600); do
		kill -0 "$TREE" 2>/dev/null || break
		# a zombie child counts as gone
		[ "$(awk '{print $3}' "/proc/$TREE/stat" 2>/dev/null)" = Z ] && break
		sleep 0.1
	done
	if kill -0 "$TREE" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$TREE/stat" 2>/dev/null)" != Z ]; then
		diag "lithos_tree $TREE still runs 60 s after SIG$sig; killing it"
		kill -KILL "$TREE"
	fi
	wait "$TREE"
	rc=$?
	TREE_STOP_SECS=$(echo "$(date +%s.%N) - $t0" | bc)
	TREE_PIDS=$(printf '%s\n' $TREE_PIDS | grep -vx "$TREE" | tr '\n' ' ')
	TREE=
}

# tt_kill_tree: SIGKILL the tree (its containers and knots run on)
tt_kill_tree() {
	kill -KILL "$TREE"
	wait "$TREE" 2>/dev/null
	TREE_PIDS=$(printf '%s\n' $TREE_PIDS | grep -vx "$TREE" | tr '\n' ' ')
	TREE=
}

# tt_tree_alive: the tree $TREE runs (and is not a zombie)
tt_tree_alive() {
	[ -n "$TREE" ] && kill -0 "$TREE" 2>/dev/null &&
		[ "$(awk '{print $3}' "/proc/$TREE/stat" 2>/dev/null)" != Z ]
}

# tt_quit: SIGQUIT to the tree, then wait until it has re-executed and
# reconciled (status.json rewritten with a higher reload count, 10 s)
tt_quit() {
	local before i now
	before=$(tt_status_reloads)
	kill -QUIT "$TREE"
	for i in $(seq 200); do
		now=$(tt_status_reloads)
		[ -n "$now" ] && [ "$now" -gt "${before:-0}" ] && return 0
		tt_tree_alive || return 1
		sleep 0.05
	done
	return 1
}
tt_status_reloads() {
	"$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["reloads"])' \
		"$RUNDIR/status.json" 2>/dev/null
}

# tt_running: the names of the running containers below $LXCPATH, sorted
tt_running() {
	lxc-ls -P "$LXCPATH" --running -1 2>/dev/null | sort
}
tt_nrunning() {
	tt_running | grep -c .
}

# tt_wait_running N [SECONDS] [CONDITION-COMMAND]: waits until exactly N
# containers run (and CONDITION-COMMAND succeeds); 0 when reached
tt_wait_running() {
	local want=$1 cond=${3:-true}
	local end=$((${EPOCHREALTIME/./} + ${2:-15} * 1000000))
	while :; do
		[ "$(tt_nrunning)" -eq "$want" ] && eval "$cond" && return 0
		[ "${EPOCHREALTIME/./}" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# tt_wait_for SECONDS COMMAND: waits until COMMAND succeeds (0) or times out
tt_wait_for() {
	local end=$((${EPOCHREALTIME/./} + $1 * 1000000))
	shift
	while :; do
		eval "$*" && return 0
		[ "${EPOCHREALTIME/./}" -lt "$end" ] || return 1
		sleep 0.05
	done
}

# tt_ps_json: lithos_ps --json (stdout)
tt_ps_json() {
	"$LITHOS_PS" -C "$MASTER" --json 2>>"$T/ps.err"
}

# tt_ps NAME FIELD: FIELD of instance NAME (SANDBOX/PROC.N) in lithos_ps --json
tt_ps() {
	tt_ps_json | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
for i in d["instances"]:
    if i["name"] == sys.argv[1]:
        print(i[sys.argv[2]])
        break
' "$1" "$2"
}

# tt_ps_summary: one "NAME STATE" line per instance lithos_ps lists, sorted
tt_ps_summary() {
	tt_ps_json | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
for i in sorted(d["instances"], key=lambda i: i["name"] + " " + i["container"]):
    print(i["name"], i["state"])
'
}
# tt_ps_running: how many instances lithos_ps shows running with a live init
tt_ps_running() {
	tt_ps_json | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
print(sum(1 for i in d["instances"] if i["state"] == "running" and i["init_pid"] > 0))
'
}

# tt_knot_pids NAME: pids of the knots of instance NAME (SANDBOX/PROC.N)
tt_knot_pids() {
	local re
	re=$(printf '%s' "$1" | sed 's/[.]/\\./g')
	pgrep -f "lithos_knot --name $re --master $MASTER( |\$)" | sort -n | tr '\n' ' ' | sed 's/ $//'
	echo
}

# tt_init_pid LXCNAME: host pid of the container's init ("" if not running)
tt_init_pid() {
	lxc-info -P "$LXCPATH" -n "$1" -p -H 2>/dev/null
}

# tt_main_pid LXCNAME: the tree's main_pid of the instance in status.json
# (> 0: the process's pid in its container after a restart in place; -1:
# the process is down; 0: not restarted in place); "" if not listed.  The
# tree writes one flat object per instance, so no JSON parser (a python per
# call would slow the polling loops down).
tt_main_pid() {
	local re
	re=$(printf '%s' "$1" | sed 's/[.]/\\./g')
	grep -o "\"lxc_name\":\"$re\"[^}]*\"main_pid\":-\{0,1\}[0-9]*" "$RUNDIR/status.json" 2>/dev/null |
		sed -n '1s/.*"main_pid"://p'
}

# tt_app_pid LXCNAME: host pid of the process: the child of the container's
# init whose pid in the container is the tree's main_pid (after a restart
# in place what an earlier run left behind can be init's first child), else
# init's first child; nothing (1) while the process is down (main_pid -1)
tt_app_pid() {
	local init main kids k ns
	init=$(tt_init_pid "$1")
	[ -n "$init" ] || return 1
	kids=()
	read -r -a kids 2>/dev/null <"/proc/$init/task/$init/children" || true
	main=$(tt_main_pid "$1")
	case $main in
	-*) return 1 ;;
	'' | 0)
		echo "${kids[0]:-}"
		[ -n "${kids[0]:-}" ]
		return
		;;
	esac
	for k in "${kids[@]}"; do
		ns=$(awk '/^NSpid:/ { print $NF }' "/proc/$k/status" 2>/dev/null)
		[ "$ns" = "$main" ] && { echo "$k"; return 0; }
	done
	return 1
}

# tt_wait_app LXCNAME [SECONDS]: waits until the container runs its process;
# prints its host pid
tt_wait_app() {
	local i p
	for i in $(seq $((${2:-10} * 20))); do
		p=$(tt_app_pid "$1")
		[ -n "$p" ] && { echo "$p"; return 0; }
		sleep 0.05
	done
	return 1
}

# tt_log_since MARK: the tree log after the line containing MARK (a string
# the test wrote with tt_log_mark)
tt_log_mark() {
	echo "==== test mark: $1" >>"$TREE_LOG"
}
tt_log_since() {
	awk -v m="==== test mark: $1" 'f; index($0, m) == 1 { f = 1 }' "$TREE_LOG"
}

# tt_metrics: the cantal files read by the independent reader:
# KIND<TAB>GROUP<TAB>METRIC<TAB>VALUE lines
tt_metrics() {
	"$PYTHON" "$CANTAL_READER" --strict "$RUNDIR/metrics/lithos"
}
# tt_metric GROUP METRIC: one value from the cantal files
tt_metric() {
	tt_metrics | awk -F '\t' -v g="$1" -v m="$2" '$2 == g && $3 == m { print $4 }'
}
# tt_metric_of SNAPSHOT GROUP METRIC: one value from SNAPSHOT, an output of
# tt_metrics (values read together come from one moment of the tree)
tt_metric_of() {
	printf '%s\n' "$1" | awk -F '\t' -v g="$2" -v m="$3" '$2 == g && $3 == m { print $4 }'
}
# tt_prom NAME LABELS-JSON: one sample of the Prometheus file
tt_prom() {
	"$PYTHON" "$CANTAL_READER" --prom "$RUNDIR/metrics/lithos.prom" |
		awk -F '\t' -v n="$1" -v l="$2" '$2 == n && $3 == l { print $4 }'
}

# tt_cgroup_dirs LXCNAME: the cgroup dirs of the container (and monitor)
tt_cgroup_dirs() {
	local d
	for d in /sys/fs/cgroup/*/"$CGNAME/$1" /sys/fs/cgroup/*/"$CGNAME/$1.monitor" \
		/sys/fs/cgroup/"$CGNAME/$1" /sys/fs/cgroup/"$CGNAME/$1.monitor"; do
		[ -d "$d" ] && echo "$d"
	done
}

# tt_leftovers LXCNAME...: itest's leftovers plus what a tree may leave: its
# processes, the knot records, containers still running, the pid file
tt_leftovers() {
	leftovers "$@"
	ps -eo pid=,args= | grep -F -- "lithos_tree -C $MASTER" | grep -v grep | sed 's|^|process: |'
	tt_running | sed 's|^|running container: |'
	[ -d "$RUNDIR/knots" ] && ls -A "$RUNDIR/knots" | sed 's|^|knot record: |'
	[ -e "$RUNDIR/master.pid" ] && echo "pid file: $RUNDIR/master.pid"
	ip -o link show type veth 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' |
		while read -r v; do
			for n in "$@"; do
				[ "$v" = "$(veth_name "$n")" ] && echo "veth: $v of $n"
			done
		done
}
# tt_check_clean DESCRIPTION LXCNAME...: ok when nothing is left behind
tt_check_clean() {
	local what=$1
	shift
	is "$(tt_leftovers "$@")" "" "nothing left behind: $what"
}

# tt_cleanup (EXIT): what a failed script may leave running
tt_cleanup() {
	local p n i
	for p in $TREE_PIDS; do
		kill -TERM "$p" 2>/dev/null
	done
	for i in $(seq 100); do
		n=0
		for p in $TREE_PIDS; do
			kill -0 "$p" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != Z ] && n=1
		done
		[ $n -eq 0 ] && break
		sleep 0.1
	done
	for p in $TREE_PIDS; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	# containers first, while their monitors (the knots) still answer LXC
	if [ -d "$LXCPATH" ]; then
		for n in $(lxc-ls -P "$LXCPATH" --running -1 2>/dev/null); do
			lxc-stop -P "$LXCPATH" -n "$n" -k >/dev/null 2>&1
		done
	fi
	for p in $(pgrep -f "lithos_knot --name .* --master $MASTER( |\$)"); do
		kill -KILL "$p" 2>/dev/null
	done
	# whatever still runs in our cgroups (containers whose knot died)
	for i in 1 2 3 4 5 6 7 8 9 10; do
		n=$(find /sys/fs/cgroup/*/"$CGNAME" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u)
		[ -z "$n" ] && break
		kill -KILL $n 2>/dev/null
		sleep 0.2
	done
	[ -n "${TT_EXTRA_CLEANUP:-}" ] && eval "$TT_EXTRA_CLEANUP"
	return 0
}

# tt_sockopts PID FD: "reuseaddr=R reuseport=P nonblock=N listening=L
# addr=HOST:PORT ino=INODE" of the socket at FD of process PID, taken with
# pidfd_getfd (Linux >= 5.6, root); "ERROR ..." when it cannot
tt_sockopts() {
	"$PYTHON" - "$1" "$2" <<'PYEOF'
import ctypes, fcntl, os, socket, sys
pid, tfd = int(sys.argv[1]), int(sys.argv[2])
libc = ctypes.CDLL(None, use_errno=True)
try:
    pfd = os.pidfd_open(pid)
except OSError as e:
    print("ERROR pidfd_open: %s" % e)
    sys.exit(0)
fd = libc.syscall(438, pfd, tfd, 0)  # pidfd_getfd
if fd < 0:
    print("ERROR pidfd_getfd: %s" % os.strerror(ctypes.get_errno()))
    sys.exit(0)
nb = 1 if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK else 0
s = socket.socket(fileno=fd)
g = lambda o: 1 if s.getsockopt(socket.SOL_SOCKET, o) else 0
host, port = s.getsockname()[:2]
print("reuseaddr=%d reuseport=%d nonblock=%d listening=%d addr=%s:%d ino=%d" % (
    g(socket.SO_REUSEADDR), g(socket.SO_REUSEPORT), nb, g(socket.SO_ACCEPTCONN),
    host, port, os.fstat(fd).st_ino))
PYEOF
}
# tt_field "K1=V1 K2=V2 ..." K: the value of K
tt_field() {
	printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# tt_float_cmp "A OP B": bc comparison, 0 when true
tt_float() {
	[ "$(echo "$1" | bc -l)" = 1 ]
}

# tt_log_times ERE [MARK]: epoch seconds (ms precision) of the tree log lines
# matching ERE (after the test mark MARK, if given), one per line
tt_log_times() {
	{ if [ -n "${2:-}" ]; then tt_log_since "$2"; else cat "$TREE_LOG"; fi; } |
		grep -E -- "$1" | "$PYTHON" -c '
import sys, datetime
for line in sys.stdin:
    ts = line[1:line.index("]")]
    d = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    print("%.3f" % d.timestamp())
'
}

# tt_cpu_secs PID: user+system CPU seconds the process used so far
tt_cpu_secs() {
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%.2f\n", ($12 + $13) / hz }' "/proc/$1/stat"
}

# tt_now: epoch seconds with ns
tt_now() {
	date +%s.%N
}

# tt_wait_gone SECONDS PID...: waits until every PID is gone (zombies of
# other parents count as gone); 0 when they are
tt_wait_gone() {
	local secs=$1 i p alive
	shift
	for i in $(seq $((secs * 50))); do
		alive=
		for p in "$@"; do
			if kill -0 "$p" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != Z ]; then
				alive=1
			fi
		done
		[ -z "$alive" ] && return 0
		sleep 0.02
	done
	return 1
}

# tt_build_server DEST: a tiny static server for the images (busybox has
# nothing that accepts on an inherited socket), built here with gcc -static:
#   tt_srv accept [FD]  accept on FD (default 3) forever; answer each
#                       connection with "LITHOS_NAME pid=PID\n" and close
#   tt_srv systemd      the sd_listen_fds protocol: LISTEN_PID must be our
#                       pid and LISTEN_FDS >= 1 (else exit 2 with a message);
#                       serve fd 3, answering "LITHOS_NAME pid=PID
#                       listen_pid=.. fds=N names=NAMES\n"
# Returns 1 (with a diagnostic) when no static binary can be built.
tt_build_server() {
	local dest=$1
	cat >"$T/tt_srv.c" <<'CEOF'
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int serve(int fd, const char *extra)
{
	const char *name = getenv("LITHOS_NAME");
	char line[512];
	int n = snprintf(line, sizeof(line), "%s pid=%d%s\n", name ? name : "?", (int)getpid(), extra);
	for (;;) {
		int c = accept(fd, NULL, NULL);
		if (c < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
				struct pollfd p = { fd, POLLIN, 0 };
				poll(&p, 1, -1);
				continue;
			}
			fprintf(stderr, "tt_srv: accept on fd %d: %s\n", fd, strerror(errno));
			return 1;
		}
		if (write(c, line, (size_t)n) < 0)
			fprintf(stderr, "tt_srv: write: %s\n", strerror(errno));
		close(c);
	}
}

int main(int argc, char **argv)
{
	setvbuf(stderr, NULL, _IONBF, 0);
	if (argc >= 2 && !strcmp(argv[1], "accept"))
		return serve(argc >= 3 ? atoi(argv[2]) : 3, "");
	if (argc >= 2 && !strcmp(argv[1], "systemd")) {
		const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
		const char *names = getenv("LISTEN_FDNAMES");
		if (!pid || atoi(pid) != (int)getpid() || !fds || atoi(fds) < 1) {
			fprintf(stderr, "tt_srv: not socket-activated: LISTEN_PID=%s (we are %d) LISTEN_FDS=%s\n",
				pid ? pid : "(unset)", (int)getpid(), fds ? fds : "(unset)");
			return 2;
		}
		char extra[256];
		snprintf(extra, sizeof(extra), " listen_pid=%s fds=%s names=%s", pid, fds,
			 names ? names : "(unset)");
		return serve(3, extra);
	}
	fprintf(stderr, "usage: tt_srv accept [FD] | tt_srv systemd\n");
	return 2;
}
CEOF
	if ! gcc -static -O2 -o "$dest" "$T/tt_srv.c" >"$T/tt_srv.log" 2>&1; then
		diag "gcc -static failed:"
		diag_file "$T/tt_srv.log"
		return 1
	fi
	chmod 0755 "$dest"
}

# tt_connect PORT [COUNT]: COUNT (1) connections to 127.0.0.1:PORT, one
# answer line (or "ERROR ...") per connection
tt_connect() {
	"$PYTHON" - "$1" "${2:-1}" <<'PYEOF'
import socket, sys
port, count = int(sys.argv[1]), int(sys.argv[2])
for _ in range(count):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.settimeout(5)
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(512)
                if not chunk:
                    break
                data += chunk
            print(data.decode().strip() or "ERROR empty answer")
    except OSError as e:
        print("ERROR %s" % e)
PYEOF
}
