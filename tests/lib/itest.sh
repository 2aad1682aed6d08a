# tests/lib/itest.sh: shared helpers of the integration tests that start
# real containers through real liblxc (tests/integration/t03NN-*.sh).
# Sourced by bash scripts; output is TAP.
#
#   . "$top_srcdir/tests/lib/itest.sh"
#   itest_init t0301-identity      # root? lxc? busybox? built? else "1..0 # SKIP"
#   itest_image                    # busybox image t/v1 below $T/images (once)
#   itest_master                   # $T/etc/master.yaml (own lxc-path, cgroup-name, dirs)
#   itest_sandbox s <<EOF ...      # $T/etc/sandboxes/s.yaml, image-dir prepended
#   itest_command s c <<EOF ...    # Command entry c of sandbox s + /config/c.yaml in the image
#   run_cmd s c ARGS...            # lithos_cmd; $rc, $T/out, $T/err
#   start_cmd s c && wait_app sleep   # background; $CPID $LXCNAME $INITPID $APPPID
#   ok/is/like/unlike ... ; check_no_leftovers "what"; done_testing
#
# Everything a script creates lives in its scratch dir $T (/tmp/lithos-SCRIPT.XXXXXX),
# its LXC path $LXCPATH=$T/lxc and its cgroup $CGNAME; the EXIT trap stops what
# is still running, removes the cgroup dirs, bridges registered with
# itest_cleanup_bridge, liblxc's lock dirs of the LXC paths below $T (the
# empty ones; never their shared parents such as /run/lxc/lock/tmp) and the
# scratch dir (never crossing a mount point).

top_srcdir=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
LITHOS_CMD=$top_builddir/lithos_cmd
LITHOS_LXCCONF=$top_builddir/lithos_lxcconf
BUILD_IMAGE=$top_srcdir/tests/lib/build-image.sh
# the hook of this build, whatever is installed
export LITHOS_HOOK=${LITHOS_HOOK:-$top_builddir/lithos_hook}
export LITHOS_INIT=${LITHOS_INIT:-$top_builddir/lithos_init}
export LITHOS_TEMPLATES_DIR=${LITHOS_TEMPLATES_DIR:-$top_srcdir/templates}
# where liblxc keeps its lock files (RUNTIME_PATH/lxc/lock/LXCPATH/.NAME);
# t0300 points it elsewhere to check itest_cleanup
ITEST_LXC_LOCK_ROOT=${ITEST_LXC_LOCK_ROOT:-/run/lxc/lock}

# ---------------------------------------------------------------- TAP
. "$top_srcdir/tests/lib/tap.sh"

# ---------------------------------------------------------------- setup
# itest_init NAME: checks what the tests need, makes the scratch dir $T.
itest_init() {
	ITEST_NAME=$1
	[ "$(id -u)" -eq 0 ] || skip_all "needs root (real LXC containers)"
	command -v lxc-execute >/dev/null 2>&1 || skip_all "lxc-execute missing (apt-get install lxc)"
	[ "$(dpkg-query -W -f='${db:Status-Status}' busybox-static 2>/dev/null)" = installed ] ||
		skip_all "busybox-static is not installed (scripts/install-deps.sh installs it)"
	[ -x "$BUILD_IMAGE" ] || skip_all "$BUILD_IMAGE is missing"
	local p
	for p in "$LITHOS_CMD" "$LITHOS_LXCCONF" "$LITHOS_HOOK" "$LITHOS_INIT"; do
		[ -x "$p" ] || bail_out "$p was not built (make)"
	done
	T=$(mktemp -d "/tmp/lithos-$ITEST_NAME.XXXXXX") || bail_out "mktemp failed"
	chmod 0755 "$T"
	LXCPATH=$T/lxc
	CGNAME=lithos-it.$ITEST_NAME.$$
	IMAGES=$T/images
	ETC=$T/etc
	STATE_DIR=$T/run/state
	STDIO_LOG_DIR=$T/log/stderr
	ITEST_PIDS=
	ITEST_BRIDGES=
	ITEST_EXTRA_CLEANUP=
	trap itest_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	mkdir -p "$ETC/sandboxes" "$ETC/processes"
	export TERM=${TERM:-dumb}
}

itest_cleanup() {
	local rc=$? p d br i
	# lithos_cmd still running (a failed test): SIGTERM lets it clean up
	for p in $ITEST_PIDS; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $ITEST_PIDS; do
		for i in $(seq 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	[ -n "$ITEST_EXTRA_CLEANUP" ] && eval "$ITEST_EXTRA_CLEANUP"
	for br in $ITEST_BRIDGES; do
		ip link delete "$br" type bridge 2>/dev/null
	done
	# cgroups LXC created below our cgroup-name (deepest first)
	for d in /sys/fs/cgroup/*/"$CGNAME" /sys/fs/cgroup/"$CGNAME"; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	# liblxc's lock dirs of our LXC paths (all below $T: one per host of
	# criutest.sh), when empty, and LOCKROOT$T itself; not a dir above it:
	# LOCKROOT/tmp is every concurrent run's, and removed while another
	# run's liblxc creates its lock dir below it, that run's start fails.
	# A lock file left behind keeps its dirs (a leak stays visible).
	[ -n "${T:-}" ] && [ -d "$ITEST_LXC_LOCK_ROOT$T" ] &&
		find "$ITEST_LXC_LOCK_ROOT$T" -depth -type d -empty -delete 2>/dev/null
	if [ -n "${T:-}" ] && [ -d "$T" ]; then
		# a mount the product leaked must not make rm descend into a host dir
		grep -F " $T" /proc/self/mountinfo | awk '{print $5}' | sort -r |
			while read -r m; do umount -l "$m" 2>/dev/null; done
		rm -rf --one-file-system "$T"
	fi
	exit $rc
}

# itest_image [NAME]: the busybox image NAME (default t/v1) below $IMAGES
itest_image() {
	local img=$IMAGES/${1:-t/v1}
	if [ ! -x "$img/bin/busybox" ]; then
		"$BUILD_IMAGE" "$img" >"$T/build-image.log" 2>&1 || {
			cat "$T/build-image.log" | diag
			bail_out "tests/lib/build-image.sh failed"
		}
	fi
	mkdir -p "$img/config"
}

# itest_master [YAML-LINES]: master.yaml with this script's own dirs; extra
# lines (arguments) are appended.  ITEST_LXC_PATH=default leaves lxc-path
# out; ITEST_CGROUP_NAME overrides cgroup-name (e.g. null), ITEST_DEVFS_DIR
# devfs-dir.
itest_master() {
	{
		echo "sandboxes-dir: ./sandboxes"
		echo "processes-dir: ./processes"
		echo "runtime-dir: $T/run"
		echo "default-log-dir: $T/log"
		echo "devfs-dir: ${ITEST_DEVFS_DIR:-$T/no-devfs}"
		[ "${ITEST_LXC_PATH:-}" = default ] || echo "lxc-path: $LXCPATH"
		echo "cgroup-name: ${ITEST_CGROUP_NAME:-$CGNAME}"
		echo "cgroup-controllers: [name, cpu, cpuacct, memory]"
		[ $# -gt 0 ] && printf '%s\n' "$@"
	} >"$ETC/master.yaml"
	MASTER=$ETC/master.yaml
}

# itest_sandbox NAME [IMAGE-DIR] <<YAML: the sandbox, after image-dir lines
itest_sandbox() {
	{
		echo "image-dir: ${2:-$IMAGES}"
		echo "image-dir-levels: 2"
		cat
	} >"$ETC/sandboxes/$1.yaml"
	: >>"$ETC/processes/$1.yaml"
}

# itest_syslog_listen PYTHON SOCKET OUT: a unix datagram socket at SOCKET
# (mode 0666, for a container's user too) whose messages are appended to
# OUT, one per line, for 120 s; LPID is its pid (killed at the cleanup)
itest_syslog_listen() {
	rm -f "$3" "$3.ready"
	"$1" - "$2" "$3" <<'PYEOF' &
import os, socket, sys, time
path, out = sys.argv[1:3]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
s.settimeout(0.2)
open(out + ".ready", "w").write("1")
deadline = time.time() + 120
while time.time() < deadline:
    try:
        data = s.recv(65536)
    except socket.timeout:
        continue
    with open(out, "a") as f:
        f.write(data.decode(errors="replace").rstrip("\n") + "\n")
PYEOF
	LPID=$!
	ITEST_PIDS="$ITEST_PIDS $LPID"
	for _ in $(seq 100); do [ -e "$3.ready" ] && return 0; sleep 0.05; done
	bail_out "the syslog listener at $2 did not start"
}

# itest_sandbox_1000 NAME: the sandbox most tests use, its processes
# allowed uid and gid 1000 only (itest_sandbox with those two keys)
itest_sandbox_1000() {
	printf 'allow-users: [1000]\nallow-groups: [1000]\n' | itest_sandbox "$1"
}

# itest_command SANDBOX NAME [ENTRY-YAML] <<YAML: a Command entry NAME of
# SANDBOX (image ${IMAGE:-t/v1}, config /config/SANDBOX.NAME.yaml) and that config,
# read from stdin, inside the image.  ENTRY-YAML: extra keys of the entry,
# one per line, e.g. "ip-addresses: [10.231.7.10]".
itest_command() {
	local img=${IMAGE:-t/v1}
	{
		echo "$2:"
		echo "  kind: Command"
		echo "  image: $img"
		echo "  config: /config/$1.$2.yaml"
		[ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/  /'
	} >>"$ETC/processes/$1.yaml"
	mkdir -p "$IMAGES/$img/config"
	cat >"$IMAGES/$img/config/$1.$2.yaml"
}

# run_cmd SANDBOX NAME [ARGS...]: lithos_cmd with stdin from $RUN_STDIN
# (default /dev/null); stdout in $T/out and $out, stderr in $T/err and
# $err, exit code in $rc, the instance's LXC name in $RUN_LXCNAME
run_cmd() {
	local pid
	"$LITHOS_CMD" --master "$MASTER" "$@" <"${RUN_STDIN:-/dev/null}" >"$T/out" 2>"$T/err" &
	pid=$!
	RUN_LXCNAME=$1.cmd.$2.$pid
	wait "$pid"
	rc=$?
	out=$(tr -d '\0' <"$T/out")
	err=$(tr -d '\0' <"$T/err")
}

# start_cmd SANDBOX NAME [ARGS...]: lithos_cmd in the background; sets
# CPID (lithos_cmd's pid) and LXCNAME (SANDBOX.cmd.NAME.CPID).
start_cmd() {
	"$LITHOS_CMD" --master "$MASTER" "$@" </dev/null >"$T/bg.out" 2>"$T/bg.err" &
	CPID=$!
	ITEST_PIDS="$ITEST_PIDS $CPID"
	LXCNAME=$1.cmd.$2.$CPID
}

# wait_app COMM [LXCPATH]: waits (10 s) until the container LXCNAME runs and
# its init's child has exec'd COMM; sets INITPID and APPPID.
wait_app() {
	local i path=${2:-$LXCPATH} c
	INITPID= APPPID=
	for i in $(seq 200); do
		if ! kill -0 "$CPID" 2>/dev/null; then
			diag "lithos_cmd $CPID exited early"
			diag_file "$T/bg.err" "lithos_cmd stderr"
			return 1
		fi
		INITPID=$(lxc-info -n "$LXCNAME" -P "$path" -p -H 2>/dev/null)
		if [ -n "$INITPID" ]; then
			for c in $(cat "/proc/$INITPID/task/$INITPID/children" 2>/dev/null); do
				if [ "$(cat "/proc/$c/comm" 2>/dev/null)" = "$1" ]; then
					APPPID=$c
					return 0
				fi
			done
		fi
		sleep 0.05
	done
	diag "container $LXCNAME: no process $1 after 10 s (init: ${INITPID:-none})"
	return 1
}

# stop_cmd [SIGNAL]: signal lithos_cmd and wait for it; exit code in $rc
stop_cmd() {
	kill -"${1:-TERM}" "$CPID" 2>/dev/null
	wait "$CPID"
	rc=$?
	ITEST_PIDS=$(printf '%s\n' $ITEST_PIDS | grep -vx "$CPID" | tr '\n' ' ')
}

# wait_cmd: wait for the background lithos_cmd (at most 30 s); $rc
wait_cmd() {
	local i
	for i in $(seq 300); do
		kill -0 "$CPID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$CPID" 2>/dev/null && { diag "lithos_cmd $CPID still runs after 30 s"; kill -KILL "$CPID"; }
	wait "$CPID"
	rc=$?
	ITEST_PIDS=$(printf '%s\n' $ITEST_PIDS | grep -vx "$CPID" | tr '\n' ' ')
}

# stdio_log SANDBOX: the sandbox's stdio log
stdio_log() {
	cat "$STDIO_LOG_DIR/$1.log" 2>/dev/null
}

# veth_name LXCNAME: the host veth name the translator gives the instance
# (lith + FNV-1a of the LXC name, as translator/lxcconf.c)
veth_name() {
	local s=$1 h=2166136261 i c
	for ((i = 0; i < ${#s}; i++)); do
		printf -v c '%d' "'${s:i:1}"
		h=$(((h ^ c) * 16777619 & 0xffffffff))
	done
	printf 'lith%08x\n' "$h"
}

# mount_line MOUNTINFO-TEXT MOUNTPOINT: "MOUNT-OPTIONS FSTYPE SUPER-OPTIONS"
# of the last mount at MOUNTPOINT (the visible one)
mount_line() {
	printf '%s\n' "$1" | awk -v mp="$2" '
		$5 == mp { for (i = 7; $i != "-"; i++); line = $6 " " $(i + 1) " " $(i + 3) }
		END { print line }'
}
# has_opts "OPT,OPT" OPTIONS...: every OPT is in the comma list
has_opts() {
	local want=$1 have=",$2," o
	for o in ${want//,/ }; do
		case $have in *,"$o",*) ;; *) return 1 ;; esac
	done
}

# itest_bridge PREFIX NET16 FIRST: a bridge of the test's own (no uplink,
# no NAT) named PREFIX<pid> on the first free NET16.N.0/24 with N from
# FIRST + (pid mod 100); sets BR and NET (NET16.N), host address NET.1;
# removed by the EXIT trap.
itest_bridge() {
	local prefix=$1 net16=$2 first=$3 i c ip
	ip=$(command -v ip) || skip_all "ip (iproute2) is missing"
	BR=$prefix$$
	BR=${BR:0:15}
	NET=
	for i in $(seq 0 99); do
		c=$(((($$ + i) % 100) + first))
		if ! "$ip" -4 addr show | grep -q "inet ${net16//./\\.}\.$c\."; then
			NET=$net16.$c
			break
		fi
	done
	[ -n "$NET" ] || bail_out "no free $net16.N.0/24 for the test bridge"
	ITEST_BRIDGES="${ITEST_BRIDGES:+$ITEST_BRIDGES }$BR"
	"$ip" link add "$BR" type bridge || bail_out "cannot create bridge $BR"
	"$ip" addr add "$NET.1/24" dev "$BR" &&
		"$ip" link set "$BR" up || bail_out "cannot configure bridge $BR"
}

# leftovers [LXCNAME...]: prints what the runs left behind: entries in
# $LXCPATH and liblxc's lock files of them, state dirs, host mounts mentioning $T, cgroup dirs below
# $CGNAME, and the veths of the given instances; empty when clean.
leftovers() {
	local n d
	[ -d "$LXCPATH" ] && ls -A "$LXCPATH" | sed 's|^|lxc dir: |'
	[ -d "$STATE_DIR" ] && ls -A "$STATE_DIR" | sed 's|^|state dir: |'
	# commands' container dirs (linked from the LXC path)
	[ -d "$T/run/lxc" ] && ls -A "$T/run/lxc" | sed 's|^|command dir: |'
	# liblxc's per-container lock files (RUNTIME_PATH/lxc/lock/LXCPATH/.NAME)
	[ -d "$ITEST_LXC_LOCK_ROOT$LXCPATH" ] && ls -A "$ITEST_LXC_LOCK_ROOT$LXCPATH" | sed 's|^|lxc lock file: |'
	grep -F "$T" /proc/self/mountinfo | awk '{print "mount: " $5}'
	for d in /sys/fs/cgroup/*/"$CGNAME" /sys/fs/cgroup/"$CGNAME"; do
		[ -d "$d" ] && find "$d" -mindepth 1 -type d | sed 's|^|cgroup: |'
	done
	for n in "$@"; do
		ip link show "$(veth_name "$n")" >/dev/null 2>&1 && echo "veth: $(veth_name "$n") of $n"
	done
	ps -eo pid=,args= | grep -F -- "--master $MASTER" | grep -v grep | sed 's|^|process: |'
}
check_no_leftovers() { # DESCRIPTION [LXCNAME...]
	local what=$1
	shift
	local l
	l=$(leftovers "$@")
	is "$l" "" "nothing left behind: $what"
}
