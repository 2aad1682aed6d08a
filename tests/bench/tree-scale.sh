#!/bin/bash
# tests/bench/tree-scale.sh [N...]
#
# Benchmark (not a test) of lithos_tree with many small instances (issue 4,
# "Benchmarks"), default N = 200 and 500.  For each N, one tree runs N
# instances of `/bin/sleep 100000` (busybox image from tests/lib/
# build-image.sh, host network, no user namespace, uid 1000) in one sandbox:
# N/10 - 1 Daemon entries e00, e01, ... of `instances: 10`, plus the entries
# rt0 (restart-timeout 0) and rt1 (restart-timeout 1) of 5 instances each.
#
# Measured, per N, in this order:
#  1. start: wall time from exec of lithos_tree until all N containers run
#     their process (polled every BENCH_POLL s: the container cgroups, in the
#     pids hierarchy below cgroup-name, holding init + process), then checked
#     once with lxc-ls --running and ps (every knot has init and sleep);
#     times at 10/50/90 %, the tree's first/last "Started" log lines.
#  2. memory once all run (after BENCH_SETTLE s): the tree's RSS, peak RSS
#     and PSS; per instance the knot (LXC monitor) + the container's init,
#     PSS / USS (private) / RSS from /proc/PID/smaps_rollup (the process
#     itself apart); kernel memory (Slab+Percpu+KernelStack+PageTables of
#     /proc/meminfo) delta / N.  Side by side: BENCH_BASELINE (10) plain
#     `lxc-execute -- /bin/sleep` containers with a minimal config, started
#     before the tree (monitor = lxc-execute + init).
#  3. idle CPU: utime+stime of the tree (and of all knots+inits) over
#     BENCH_IDLE s (60) with nothing happening; the tree's context switches.
#  4. reloads: one no-op SIGQUIT (processes file rewritten unchanged), then
#     BENCH_RELOADS (5) SIGQUITs that each change one e-entry's config
#     (/config/sleep.yaml -> /config/sleep-b.yaml, other arguments).  Timed
#     from kill -QUIT until the 10 changed instances run the new process
#     (new knot, its init, `sleep 100001` exec'd); knot and init pids of
#     all N compared before/after (must differ for exactly the 10).  From the
#     tree log (ms stamps): signal received -> re-executed -> last SIGTERM
#     sent to a changed instance (the tree's reconcile) -> last restart.
#  5. crash-to-restart: SIGKILL of the process (sleep) of an rt0/rt1
#     instance, timed until the new init runs (its start-host record) and
#     until the new process runs.  "old": the process ran longer than its
#     restart-timeout (the first round: since the start); "young": killed again as soon as its restart runs (ran < 1 s, so rt1
#     must wait out the rest of its restart-timeout).  BENCH_CRASHES (8)
#     rounds, rt0 and rt1 interleaved.
#  6. stop: SIGTERM to the tree, time until it exits; then nothing may be
#     left (lxc-ls, cgroups below cgroup-name, knots, state dirs, mounts).
#
# Medians (p90, min, max) are printed as markdown on stdout, progress on
# stderr; on a shared machine run it as `nice -n -15 tests/bench/tree-scale.sh`
# (the tree, knots and containers inherit it).  Environment:
# BENCH_RUNTIME_FS (tmpfs: runtime-dir on a tmpfs this script mounts, as the
# default /run/lithos is on a systemd host; disk: on the disk of the temp
# dir, like /run on this machine), BENCH_POLL
# (0.1), BENCH_SETTLE (5), BENCH_IDLE (60), BENCH_RELOADS (5), BENCH_CRASHES
# (8), BENCH_BASELINE (10), BENCH_BUILDDIR (where lithos_* were built;
# copied first), BENCH_KEEP=1 keeps the temp dir, BENCH_PERF=1 records
# `perf record -a --call-graph dwarf` during the reloads and
# writes the tree's flat profile to the temp dir (use with BENCH_KEEP=1;
# perf adds to every figure measured meanwhile), BENCH_STRACE=1 adds two
# reloads after the timed ones (nothing changed; entry BENCH_RELOADS+1
# changed) under `strace -p` of the tree and counts its system calls.  Needs root, lxc,
# busybox-static, python3 (log stamps) and ~4 free pids per instance.
set -eu
. "$(dirname "$0")/lib.sh"

COUNTS=${*:-${BENCH_COUNTS:-200 500}}
POLL=${BENCH_POLL:-0.1}
SETTLE=${BENCH_SETTLE:-5}
IDLE=${BENCH_IDLE:-60}
RELOADS=${BENCH_RELOADS:-5}
CRASHES=${BENCH_CRASHES:-8}
BASELINE=${BENCH_BASELINE:-10}
HZ=$(getconf CLK_TCK)

[ "$(id -u)" -eq 0 ] || bench_die "must run as root"
command -v lxc-execute >/dev/null || bench_die "lxc-execute is missing (apt-get install lxc)"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || bench_die "python3 is missing"
for n in $COUNTS; do
	[ $((n % 10)) -eq 0 ] && [ "$n" -ge 20 ] || bench_die "N=$n: a multiple of 10, at least 20"
	[ $((n / 10 - 1)) -gt "$RELOADS" ] || bench_die "N=$n: needs more than BENCH_RELOADS=$RELOADS e-entries"
done

# ------------------------------------------------------------- limits ---
maxn=0
for n in $COUNTS; do [ "$n" -gt "$maxn" ] && maxn=$n; done
nproc_now=$(ps -e --no-headers | wc -l)
pid_max=$(cat /proc/sys/kernel/pid_max)
ulimit_u=$(ulimit -u)
# per instance: knot, init, process (+ a hook or `ip` for a moment)
need=$((maxn * 4 + nproc_now + 100))
[ "$need" -lt "$pid_max" ] || bench_die "N=$maxn needs ~$need pids; kernel.pid_max is $pid_max"
[ "$ulimit_u" = unlimited ] || [ "$need" -lt "$ulimit_u" ] || bench_die "N=$maxn needs ~$need processes; ulimit -u is $ulimit_u"
LIMITS="pid_max $pid_max, ulimit -u $ulimit_u, ulimit -n $(ulimit -n), threads-max $(cat /proc/sys/kernel/threads-max), inotify instances/watches $(cat /proc/sys/fs/inotify/max_user_instances)/$(cat /proc/sys/fs/inotify/max_user_watches), processes before: $nproc_now"

T=$(mktemp -d /tmp/lithos-bench-tree.XXXXXX)
chmod 0755 "$T"
CG=lithos-bench-tree.$$
TREE=
BASE_PIDS=
cleanup() {
	set +e
	if [ -n "$TREE" ] && kill -0 "$TREE" 2>/dev/null; then
		kill -TERM "$TREE"
		for _ in $(seq 600); do kill -0 "$TREE" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$TREE" 2>/dev/null
	fi
	for p in $(pgrep -f "^$T/bin/lithos_knot "); do kill -KILL "$p"; done
	for p in $BASE_PIDS; do kill -KILL "$p" 2>/dev/null; done
	for d in "$T"/n*/lxc "$T/blxc"; do
		[ -d "$d" ] || continue
		for n in $(lxc-ls -P "$d" --running -1 2>/dev/null); do lxc-stop -P "$d" -n "$n" -k; done
	done
	for d in /sys/fs/cgroup/*/"$CG" /sys/fs/cgroup/"$CG"; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	grep -F " $T" /proc/self/mountinfo | awk '{ print $5 }' | sort -r | while read -r m; do umount -l "$m"; done
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		bench_note "kept $T"
	else
		rm -rf --one-file-system "$T"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_snapshot_bins "$T/bin" lithos_tree lithos_knot lithos_hook lithos_ps
export LITHOS_KNOT=$T/bin/lithos_knot
unset CANTAL_PATH LITHOS_PROMETHEUS_FILE

# sleeping without a fork: read with a timeout on a pipe nobody writes
exec {SLEEPFD}<> <(:)
nap() { read -r -t "$1" -u "$SLEEPFD" _ || true; }
now() { echo "${EPOCHREALTIME/./}"; } # microseconds
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f\n", (b - a) / 1000 }'; }
# first child of PID (builtin reads only), empty if none
child_of() {
	local k=()
	read -r -a k 2>/dev/null <"/proc/$1/task/$1/children" || true
	echo "${k[0]:-}"
}
comm_of() { local c=; read -r c 2>/dev/null <"/proc/$1/comm" || true; echo "$c"; }
# the same without a subshell, for the polling loops: results in globals
now_v() { NOW=${EPOCHREALTIME/./}; }
child_v() { # PID -> CHILD
	local k=()
	read -r -a k 2>/dev/null <"/proc/$1/task/$1/children" || true
	CHILD=${k[0]:-}
}
comm_v() { COMM=; read -r COMM 2>/dev/null <"/proc/$1/comm" || true; }
cpu_ticks() { # PID...: utime+stime summed
	local p s=0 f
	for p in "$@"; do
		f=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		f=${f##*) }
		set -- $f
		s=$((s + ${12} + ${13}))
	done
	echo "$s"
}
# PID... -> "pid rss pss pss_anon uss" per pid (kB)
mem_of() {
	local p files=()
	for p in "$@"; do files+=("/proc/$p/smaps_rollup"); done
	awk '
		FNR == 1 { if (pid != "") print pid, rss, pss, pa, uss; split(FILENAME, a, "/"); pid = a[3]; rss = pss = pa = uss = 0 }
		$1 == "Rss:" { rss = $2 } $1 == "Pss:" { pss = $2 } $1 == "Pss_Anon:" { pa = $2 }
		$1 == "Private_Clean:" || $1 == "Private_Dirty:" { uss += $2 }
		END { if (pid != "") print pid, rss, pss, pa, uss }' "${files[@]}" 2>/dev/null
}
kmem_kb() {
	awk '$1 == "Slab:" || $1 == "Percpu:" || $1 == "KernelStack:" || $1 == "PageTables:" { s += $2 } END { print s }' /proc/meminfo
}
# stats of column COL of FILE: "median p90 min max"
col_stats() { awk -v c="$2" '{ print $c }' "$1" >"$T/col.tmp"; bench_stats "$T/col.tmp" | cut -d' ' -f2-; }
col_sum() { awk -v c="$2" '{ s += $c } END { print s + 0 }' "$1"; }

# runtime-dir: on a tmpfs, as lithos's default /run/lithos is on a systemd
# host (BENCH_RUNTIME_FS=tmpfs, the default), or on the disk of $T
# (BENCH_RUNTIME_FS=disk; / is ext4 here, and so is /run on this machine)
RUNTIME_FS=${BENCH_RUNTIME_FS:-tmpfs}
case $RUNTIME_FS in
tmpfs)
	RTBASE=$T/rt
	mkdir -p "$RTBASE"
	mount -t tmpfs -o size=512m,mode=0755 lithos-bench-tree "$RTBASE"
	;;
disk) RTBASE=$T ;;
*) bench_die "BENCH_RUNTIME_FS: tmpfs or disk" ;;
esac
RTFS_DESC="runtime-dir on $(findmnt -n -o FSTYPE -T "$RTBASE"), lxc-path and logs on $(findmnt -n -o FSTYPE -T "$T")"

# ---------------------------------------------------------------- image ---
IMG=$T/images/b/v1
"$BENCH_TOP/tests/lib/build-image.sh" "$IMG" >/dev/null
daemon_conf() { # ARG [RESTART-TIMEOUT]
	printf 'kind: Daemon\nuser-id: 1000\ngroup-id: 1000\nexecutable: /bin/sleep\narguments: ["%s"]\nrestart-timeout: %s\nkill-timeout: 5\n' \
		"$1" "${2:-1}"
}
daemon_conf 100000 >"$IMG/config/sleep.yaml"
daemon_conf 100001 >"$IMG/config/sleep-b.yaml"
daemon_conf 100000 0 >"$IMG/config/rt0.yaml"
daemon_conf 100000 1 >"$IMG/config/rt1.yaml"
mkdir -p "$T/no-devfs"

# --------------------------------------------------- baseline: lxc-execute ---
# BASELINE plain lxc-execute containers (host network, no user namespace,
# minimal config): the monitor (lxc-execute) + init of each, as DESIGN.md
BL=$T/blxc
mkdir -p "$BL"
base_conf() {
	echo "lxc.rootfs.path = dir:$IMG"
	echo "lxc.rootfs.options = ro"
	echo "lxc.tty.max = 0"
	echo "lxc.console.path = none"
	echo "lxc.autodev = 1"
	echo "lxc.init.uid = 1000"
	echo "lxc.init.gid = 1000"
	echo "lxc.init.cwd = /"
	echo "lxc.environment = PATH=/bin"
	echo "lxc.mount.auto = proc:mixed sys:ro"
	echo "lxc.net.0.type = none"
	echo "lxc.cgroup.dir.container = $CG/base.$1"
	echo "lxc.cgroup.dir.monitor = $CG/base.$1.monitor"
}
bkmem0=$(kmem_kb)
for i in $(seq 1 "$BASELINE"); do
	mkdir -p "$BL/base$i"
	base_conf "$i" >"$BL/base$i/config"
	lxc-execute -P "$BL" -n "base$i" -- /bin/sleep 100000 </dev/null >/dev/null 2>"$T/base$i.err" &
	BASE_PIDS="$BASE_PIDS $!"
done
bdeadline=$((SECONDS + 120))
while :; do
	ok=0
	for p in $BASE_PIDS; do
		i=$(child_of "$p")
		[ -n "$i" ] && [ "$(comm_of "$(child_of "$i")")" = sleep ] && ok=$((ok + 1))
	done
	[ "$ok" -eq "$BASELINE" ] && break
	[ "$SECONDS" -lt "$bdeadline" ] || break
	nap 0.2
done
[ "$ok" -eq "$BASELINE" ] || bench_die "baseline: only $ok of $BASELINE lxc-execute containers run"
nap "$SETTLE"
bkmem1=$(kmem_kb)
: >"$T/base.mem"
for p in $BASE_PIDS; do
	i=$(child_of "$p")
	a=$(child_of "$i")
	# monitor, init, process: "mon_pss init_pss mon_uss init_uss mon_rss init_rss app_pss"
	mem_of "$p" "$i" "$a" | awk '{ r[NR] = $2; p[NR] = $3; u[NR] = $5 }
		END { print p[1] + p[2], u[1] + u[2], r[1] + r[2], p[1], p[2], p[3] }' >>"$T/base.mem"
done
for p in $BASE_PIDS; do kill -TERM "$p" 2>/dev/null; done
for p in $BASE_PIDS; do wait "$p" 2>/dev/null || true; done
BASE_PIDS=

# -------------------------------------------------------------- per N ---
setup_n() { # N -> D, M, LXC, RUN, LOG
	local n=$1 e
	D=$T/n$n
	M=$D/etc/master.yaml
	LXC=$D/lxc
	RUN=$RTBASE/n$n/run
	LOG=$D/tree.log
	NE=$((n / 10 - 1))
	mkdir -p "$D/etc/sandboxes" "$D/etc/processes"
	cat >"$M" <<EOF
sandboxes-dir: ./sandboxes
processes-dir: ./processes
runtime-dir: $RUN
default-log-dir: $D/log
devfs-dir: $T/no-devfs
lxc-path: $LXC
cgroup-name: $CG
EOF
	cat >"$D/etc/sandboxes/s.yaml" <<EOF
image-dir: $T/images
image-dir-levels: 2
allow-users: [1000]
allow-groups: [1000]
EOF
	CHANGED=" "
	write_processes
}
ename() { printf 'e%02d' "$1"; }
write_processes() { # the entries in $CHANGED run sleep-b
	local e c f=$D/etc/processes/s.yaml
	{
		for e in $(seq 0 $((NE - 1))); do
			c="sleep"
			case $CHANGED in *" $(ename "$e") "*) c=sleep-b ;; esac
			printf '%s:\n  kind: Daemon\n  image: b/v1\n  config: /config/%s.yaml\n  instances: 10\n' "$(ename "$e")" "$c"
		done
		printf 'rt0:\n  kind: Daemon\n  image: b/v1\n  config: /config/rt0.yaml\n  instances: 5\n'
		printf 'rt1:\n  kind: Daemon\n  image: b/v1\n  config: /config/rt1.yaml\n  instances: 5\n'
	} >"$f.tmp"
	mv -f "$f.tmp" "$f"
}
# containers whose cgroup (pids hierarchy) holds init + process
n_running() {
	awk 'FNR == 2 && FILENAME !~ /\.monitor\// { n++ } END { print n + 0 }' \
		/sys/fs/cgroup/pids/"$CG"/s.*/cgroup.procs 2>/dev/null || echo 0
}
# processes running under a knot of ours: "knot init app" per line (ps)
ps_triples() {
	ps -e -o pid=,ppid=,comm=,args= | awk -v k="$T/bin/lithos_knot" '
		{ pid[NR] = $1; pp[NR] = $2; cm[NR] = $3; if ($4 == k) knot[$1] = 1 }
		END {
			for (i = 1; i <= NR; i++) if (pp[i] in knot) init[pid[i]] = pp[i]
			for (i = 1; i <= NR; i++) if ((pp[i] in init) && cm[i] == "sleep") print init[pp[i]], pp[i], pid[i]
		}'
}
# status.json -> "lxc_name knot_pid" sorted
knot_map() {
	"$PY" -c 'import json, sys
for i in json.load(open(sys.argv[1]))["instances"]: print(i["lxc_name"], i["knot_pid"])' "$RUN/status.json" | sort
}
init_map() { # "lxc_name init_pid" from the start-host records
	local f p
	for f in "$RUN"/knots/*.init; do
		read -r p _ 2>/dev/null <"$f" || continue
		f=${f##*/}
		echo "${f%.init} $p"
	done | sort
}
# the reload count in status.json (builtin read of its first bytes)
status_reloads_v() { # -> SR
	local h=
	SR=
	read -r -N 1024 h 2>/dev/null <"$RUN/status.json" || true
	[[ $h =~ \"reloads\":([0-9]+) ]] && SR=${BASH_REMATCH[1]}
	return 0
}
log_mark() { echo "==== mark $1" >>"$LOG"; }
# strace_reload ENTRY-INDEX LABEL: one reload (0: nothing changed, else
# entry ENTRY-INDEX switched) with `strace -tt -p` on the tree (not its
# children) until it is applied and 0.5 s more; the system calls counted
# from the trace: all of them, and those from the execve to the "Reloaded"
# log line (the new image reading its state); appended to STRACE_SAY
strace_reload() {
	local ent= f=$D/strace.$2 sp r0 t0
	if [ "$1" -gt 0 ]; then
		ent=$(ename "$1")
		CHANGED="$CHANGED$ent "
	fi
	status_reloads_v
	r0=$SR
	write_processes
	strace -tt -s 160 -o "$f" -p "$TREE" 2>/dev/null &
	sp=$!
	now_v
	t0=$NOW
	until grep -q '^TracerPid:[[:space:]]*[1-9]' "/proc/$TREE/status"; do
		[ $((NOW - t0)) -lt 10000000 ] || bench_die "strace did not attach"
		nap 0.01
		now_v
	done
	kill -QUIT "$TREE"
	while :; do
		status_reloads_v
		OKC=10
		[ -n "$ent" ] && okc_v "$ent"
		[ "${SR:-0}" -gt "$r0" ] && [ "$OKC" -eq 10 ] && break
		now_v
		[ $((NOW - t0)) -lt 60000000 ] || bench_die "traced reload $2: not applied after 60 s"
		nap 0.01
	done
	nap 0.5
	kill -INT "$sp"
	wait "$sp" || true
	STRACE_SAY="$STRACE_SAY$(awk -v what="$2" '
		/resumed>|^[0-9:.]+ (\+\+\+|---)/ { next }
		{ name = $2; sub(/\(.*/, "", name); all++; tot[name]++ }
		!inexec && name == "execve" { inexec = 1 }
		inexec == 1 { ex++; exn[name]++ }
		inexec == 1 && /Reloaded \(pid/ { inexec = 2 }
		function top(a, n,   k, out, best, bk, i) {
			out = ""
			for (i = 0; i < 6; i++) {
				best = 0
				for (k in a) if (a[k] > best) { best = a[k]; bk = k }
				if (!best) break
				out = out (out ? ", " : "") bk " " best
				delete a[bk]
			}
			return out
		}
		END { printf "| %s | %d (%s) | %d (%s) |\n", what, all, top(tot), ex, top(exn) }' "$f")
"
}
# epoch seconds (ms) of the log lines after mark MARK matching ERE: "t line"
log_times() { # MARK ERE
	awk -v m="==== mark $1" 'f; $0 == m { f = 1 }' "$LOG" | grep -E -- "$2" | "$PY" -c '
import sys, datetime
for line in sys.stdin:
    ts = line[1:line.index("]")]
    d = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    print("%d %s" % (round(d.timestamp() * 1e6), line.rstrip()))
'
}
first_us() { awk 'NR == 1 { print $1 }'; }
last_us() { awk '{ l = $1 } END { print l }'; }

# APP = the process (sleep) of the container LXCNAME, found from its
# start-host record: the child of its init whose pid in the container is
# the one the tree reports (status.json's main_pid, kept beside it in
# knots/LXCNAME.main, read here without a fork) after a restart in place,
# else init's first child; empty if it does not run
app_v() {
	local ip= main= k key v
	local kids=()
	APP=
	read -r ip _ 2>/dev/null <"$RUN/knots/$1.init" || true
	[ -n "$ip" ] || return 0
	read -r main 2>/dev/null <"$RUN/knots/$1.main" || true
	if [ -z "$main" ]; then
		child_v "$ip"
	else
		CHILD=
		read -r -a kids 2>/dev/null <"/proc/$ip/task/$ip/children" || true
		for k in "${kids[@]}"; do
			while read -r key v; do
				[ "$key" = NSpid: ] || continue
				[ "${v##*[[:space:]]}" = "$main" ] && CHILD=$k
				break
			done 2>/dev/null <"/proc/$k/status"
			[ -n "$CHILD" ] && break
		done
	fi
	[ -n "$CHILD" ] || return 0
	comm_v "$CHILD"
	[ "$COMM" = sleep ] && APP=$CHILD
	return 0
}

# OKC = how many of the 10 instances of entry ENT run the changed config's
# process (sleep 100001), counted up to the first one that does not
okc_v() {
	local k args
	OKC=0
	for k in 0 1 2 3 4 5 6 7 8 9; do
		app_v "s.$1.$k"
		[ -n "$APP" ] || return 0
		args=()
		mapfile -d '' args 2>/dev/null <"/proc/$APP/cmdline" || return 0
		[ "${args[1]:-}" = 100001 ] || return 0
		OKC=$((OKC + 1))
	done
}

REPORT=$T/report.md
: >"$REPORT"
say() { echo "$*" >>"$REPORT"; }

load0=$(cut -d' ' -f1-3 /proc/loadavg)
for N in $COUNTS; do
	setup_n "$N"
	bench_note "N=$N: starting the tree"
	kmem0=$(kmem_kb)
	procs0=$(ps -e --no-headers | wc -l)
	: >"$D/start.samples"
	t0=$(now)
	env --default-signal=INT,QUIT "$T/bin/lithos_tree" -C "$M" --log-stderr --log-level info \
		</dev/null >>"$LOG" 2>&1 &
	TREE=$!
	log_mark start
	deadline=$((t0 + 600000000))
	while :; do
		c=$(n_running)
		t=$(now)
		echo "$t $c" >>"$D/start.samples"
		[ "$c" -ge "$N" ] && break
		kill -0 "$TREE" 2>/dev/null || bench_die "N=$N: the tree exited; see $LOG"
		[ "$t" -lt "$deadline" ] || bench_die "N=$N: only $c of $N run after 600 s"
		nap "$POLL"
	done
	t_all=$t
	start_ticks=$(cpu_ticks "$TREE")
	lxcls_t0=$(now)
	n_lxcls=$(lxc-ls -P "$LXC" --running -1 | grep -c . || true)
	lxcls_ms=$(ms "$lxcls_t0" "$(now)")
	ps_t0=$(now)
	"$T/bin/lithos_ps" -C "$M" --json >"$D/ps.json"
	ps_ms=$(ms "$ps_t0" "$(now)")
	n_ps=$("$PY" -c 'import json,sys; print(sum(1 for i in json.load(open(sys.argv[1]))["instances"] if i["state"] == "running"))' "$D/ps.json")
	n_triples=$(ps_triples | grep -c . || true)
	[ "$n_lxcls" -eq "$N" ] && [ "$n_triples" -eq "$N" ] ||
		bench_note "warning: N=$N: lxc-ls shows $n_lxcls running, ps $n_triples knot/init/sleep triples"
	at_pct() { awk -v n="$N" -v p="$1" -v t0="$t0" '$2 >= n * p / 100 { printf "%.2f\n", ($1 - t0) / 1e6; exit }' "$D/start.samples"; }
	st_first=$(log_times start '\] Started s/' | first_us)
	st_last=$(log_times start '\] Started s/' | last_us)
	t_tree_up=$(log_times start '\] Started \(pid' | first_us)

	# ---- memory
	nap "$SETTLE"
	ps_triples >"$D/triples"
	TREE_KB=$(awk '$1 == "VmRSS:" { r = $2 } $1 == "VmHWM:" { h = $2 } END { print r, h }' "/proc/$TREE/status")
	TREE_PSS=$(mem_of "$TREE" | awk '{ print $3 }')
	kmem1=$(kmem_kb)
	procs1=$(ps -e --no-headers | wc -l)
	# CPU of the starts: knot and init, each with the children it waited
	# for (hooks), user+sys, mean over the N instances (tick-sampled)
	startcpu=$(while read -r k i a; do
		for p in "$k" "$i"; do
			f=$(cat "/proc/$p/stat" 2>/dev/null) || continue
			f=${f##*) }
			set -- $f
			echo "$p ${12} ${13} ${14} ${15}"
		done
	done <"$D/triples" | awk -v hz="$HZ" -v n="$N" 'NR % 2 == 1 { k += $2 + $3 + $4 + $5 } NR % 2 == 0 { i += $2 + $3 + $4 + $5 }
		END { printf "%.1f / %.1f", k * 1000 / hz / n, i * 1000 / hz / n }')
	# per instance "knot+init pss, uss, rss, knot pss, init pss, app pss"
	: >"$D/inst.mem"
	while read -r k i a; do
		mem_of "$k" "$i" "$a" | awk '{ r[NR] = $2; p[NR] = $3; u[NR] = $5 }
			END { print p[1] + p[2], u[1] + u[2], r[1] + r[2], p[1], p[2], p[3] }' >>"$D/inst.mem"
	done <"$D/triples"

	# ---- idle CPU
	bench_note "N=$N: all run after $(ms "$t0" "$t_all") ms; idle CPU over $IDLE s"
	knots=$(awk '{ print $1, $2 }' "$D/triples" | tr '\n' ' ')
	cs0=$(awk '/^voluntary_ctxt_switches/ { v = $2 } /^nonvoluntary_ctxt_switches/ { n = $2 } END { print v + n }' "/proc/$TREE/status")
	tk0=$(cpu_ticks "$TREE")
	kk0=$(cpu_ticks $knots)
	i0=$(now)
	sleep "$IDLE"
	tk1=$(cpu_ticks "$TREE")
	kk1=$(cpu_ticks $knots)
	i1=$(now)
	cs1=$(awk '/^voluntary_ctxt_switches/ { v = $2 } /^nonvoluntary_ctxt_switches/ { n = $2 } END { print v + n }' "/proc/$TREE/status")
	idle_s=$(awk -v a="$i0" -v b="$i1" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')
	tree_pct=$(awk -v t=$((tk1 - tk0)) -v hz="$HZ" -v s="$idle_s" 'BEGIN { printf "%.3f", t / hz / s * 100 }')
	knots_pct=$(awk -v t=$((kk1 - kk0)) -v hz="$HZ" -v s="$idle_s" 'BEGIN { printf "%.3f", t / hz / s * 100 }')

	# ---- reloads
	# system-wide with DWARF call chains: follows the tree across its exec
	PERF=
	if [ "${BENCH_PERF:-0}" = 1 ] && command -v perf >/dev/null; then
		perf record -q -a -F 499 --call-graph dwarf,8192 -o "$D/perf.data" >/dev/null 2>&1 &
		PERF=$!
		sleep 1
	fi
	: >"$D/reloads"
	for r in $(seq 0 "$RELOADS"); do
		if [ "$r" -gt 0 ]; then
			ent=$(ename "$r")
			CHANGED="$CHANGED$ent "
		else
			ent=
		fi
		knot_map >"$D/knots.before"
		init_map >"$D/inits.before"
		status_reloads_v
		reloads0=$SR
		write_processes
		log_mark "reload$r"
		rt0=$(cpu_ticks "$TREE")
		now_v
		ts=$NOW
		kill -QUIT "$TREE"
		# until the changed instances run the new process
		tdone=
		tstat=
		while :; do
			if [ -z "$tstat" ]; then
				status_reloads_v
				now_v
				[ "${SR:-0}" -gt "$reloads0" ] && tstat=$NOW
			fi
			if [ -z "$ent" ]; then
				[ -n "$tstat" ] && { tdone=$tstat; break; }
			else
				okc_v "$ent"
				now_v
				[ "$OKC" -eq 10 ] && [ -n "$tstat" ] && { tdone=$NOW; break; }
			fi
			[ $((NOW - ts)) -lt 60000000 ] || bench_die "N=$N reload $r: not applied after 60 s"
			nap 0.002
		done
		rticks=$(($(cpu_ticks "$TREE") - rt0))
		nap 1
		knot_map >"$D/knots.after"
		init_map >"$D/inits.after"
		# instances whose knot or init changed
		touched=$(join "$D/knots.before" "$D/knots.after" | awk '$2 != $3 { print $1 }' | sort)
		itouched=$(join "$D/inits.before" "$D/inits.after" | awk '$2 != $3 { print $1 }' | sort)
		want=
		[ -z "$ent" ] || want=$(for k in 0 1 2 3 4 5 6 7 8 9; do echo "s.$ent.$k"; done | sort)
		n_touched=$(printf '%s\n' "$touched" | grep -c . || true)
		exact=no
		[ "$touched" = "$want" ] && [ "$itouched" = "$want" ] && exact=yes
		nrun=$(n_running)
		# tree log: signal received, re-executed, last SIGTERM (reconcile),
		# last death and last start of a changed instance
		l_sig=$(log_times "reload$r" 'Reloading configs' | first_us)
		l_exec=$(log_times "reload$r" 'Reloaded \(pid' | first_us)
		l_term=$(log_times "reload$r" '\] Stopping s/' | last_us)
		l_died=$(log_times "reload$r" '\] s/.* exited with' | last_us)
		l_start=$(log_times "reload$r" '\] Started s/' | last_us)
		# the no-op reload stops nothing: its reconcile ends with the new status.json
		if [ -z "$l_term" ]; then
			x1=- x2=-
		else
			x1=$(ms "$l_exec" "$l_term") x2=$(ms "$l_sig" "$l_term")
		fi
		echo "$r ${ent:--} $(ms "$ts" "$tdone") $(ms "$ts" "$tstat") $(ms "$l_sig" "$l_exec") $x1 $x2 \
$([ -n "$l_died" ] && ms "$l_term" "$l_died" || echo -) $([ -n "$l_start" ] && ms "$l_died" "$l_start" || echo -) \
$([ -n "$l_start" ] && ms "$l_start" "$tdone" || echo -) $n_touched $exact $nrun $((rticks * 1000 / HZ))" >>"$D/reloads"
		bench_note "N=$N reload $r (${ent:-no-op}): $(tail -n1 "$D/reloads")"
	done
	if [ -n "$PERF" ]; then
		kill -INT "$PERF"
		wait "$PERF" || true
		perf report -i "$D/perf.data" --pid "$TREE" --percentage relative --no-children --sort dso,sym --stdio -g none \
			--percent-limit 0.5 2>/dev/null | grep -v '^$' >"$D/perf.txt" || true
		bench_note "perf report: $D/perf.txt"
	fi
	# two more reloads, traced (BENCH_STRACE=1): a no-op one and one that
	# changes entry RELOADS+1; not in the timings above
	STRACE_SAY=
	if [ "${BENCH_STRACE:-0}" = 1 ] && command -v strace >/dev/null; then
		strace_reload 0 noop
		[ "$NE" -gt $((RELOADS + 1)) ] && strace_reload $((RELOADS + 1)) entry
	fi

	# ---- crash to restart
	: >"$D/crash"
	for round in $(seq 1 "$CRASHES"); do
		for rt in 0 1; do
			inst="s.rt$rt.$(((round - 1) % 5))"
			for kind in old young; do
				ipf="$RUN/knots/$inst.init"
				app_v "$inst"
				a=$APP
				ip0=
				read -r ip0 _ 2>/dev/null <"$ipf" || true
				[ -n "$a" ] || bench_die "$inst: no process to kill"
				now_v
				tk=$NOW
				kill -KILL "$a"
				t_init=
				t_app=
				while :; do
					now_v
					t=$NOW
					if [ -z "$t_init" ]; then
						ip=
						read -r ip _ 2>/dev/null <"$ipf" || true
						[ -n "$ip" ] && [ "$ip" != "$ip0" ] && [ -d "/proc/$ip" ] && t_init=$t
					fi
					if [ -n "$t_init" ]; then
						app_v "$inst"
						[ -n "$APP" ] && { t_app=$t; break; }
					fi
					[ $((t - tk)) -lt 30000000 ] || bench_die "$inst: not restarted 30 s after the kill"
					nap 0.002
				done
				echo "$rt $kind $(ms "$tk" "$t_init") $(ms "$tk" "$t_app")" >>"$D/crash"
			done
			# let rt1's young restart age past its timeout before its next round
		done
	done
	nap 1.5

	# ---- stop
	bench_note "N=$N: stopping the tree"
	log_mark stop
	ts=$(now)
	sk0=$(cpu_ticks "$TREE")
	kill -TERM "$TREE"
	# the tree's CPU while it stops: last reading before it exits
	sk1=$sk0
	while :; do
		st=$(cat "/proc/$TREE/stat" 2>/dev/null) || break
		st=${st##*) }
		set -- $st
		[ "$1" = Z ] && break
		sk1=$((${12} + ${13}))
		nap 0.02
	done
	wait "$TREE" && rc=0 || rc=$?
	stop_ms=$(ms "$ts" "$(now)")
	stop_cpu=$(((sk1 - sk0) * 1000 / HZ))
	TREE=
	left=$(
		lxc-ls -P "$LXC" -1 2>/dev/null | sed 's/^/container: /'
		for d in /sys/fs/cgroup/*/"$CG"; do
			[ -d "$d" ] && find "$d" -mindepth 1 -type d ! -name 'base.*' | sed 's|^|cgroup: |'
		done
		pgrep -f "^$T/bin/lithos_knot " | sed 's/^/knot: /'
		[ -d "$RUN/state" ] && ls -A "$RUN/state" | sed 's/^/state dir: /'
		ls -A "$RUN/knots" 2>/dev/null | sed 's/^/knot record: /'
		grep -F " $D" /proc/self/mountinfo | awk '{ print "mount: " $5 }'
		grep -F " $RUN" /proc/self/mountinfo | awk '{ print "mount: " $5 }'
	)
	nleft=$(printf '%s\n' "$left" | grep -c . || true)
	[ "$nleft" -eq 0 ] || printf '%s\n' "$left" | head -n 20 >&2

	# ---- report for this N
	read -r tree_rss tree_hwm <<<"$TREE_KB"
	say ""
	say "### N = $N ($NE entries x 10 + rt0 x 5 + rt1 x 5), tree exit code $rc"
	say ""
	say "| figure | value |"
	say "|---|---|"
	say "| start: exec of lithos_tree -> all $N run (cgroups: init + process) | $(ms "$t0" "$t_all") ms |"
	say "| ... 10 % / 50 % / 90 % running | $(at_pct 10) / $(at_pct 50) / $(at_pct 90) s |"
	say "| tree CPU (user+sys) from exec until all run | $((start_ticks * 1000 / HZ)) ms |"
	say "| ... tree's log: exec -> \"Started (pid)\" / first / last \"Started s/...\" (knot forked) | $(ms "$t0" "$t_tree_up") / $(ms "$t0" "$st_first") / $(ms "$t0" "$st_last") ms |"
	say "| CPU per instance start (user+sys, mean): knot / container init, each incl. the children it reaped (hooks) | $startcpu ms |"
	say "| lxc-ls --running / lithos_ps --json running / ps knot+init+sleep | $n_lxcls ($lxcls_ms ms) / $n_ps ($ps_ms ms) / $n_triples |"
	say "| tree RSS / peak RSS (VmHWM) / PSS | $tree_rss / $tree_hwm / $TREE_PSS kB |"
	read -r pm p9 pl ph < <(col_stats "$D/inst.mem" 1)
	say "| per instance knot+init PSS: median (p90, min-max) | $pm kB ($p9, $pl-$ph) |"
	say "| per instance knot+init PSS: sum / N | $(awk -v s="$(col_sum "$D/inst.mem" 1)" -v n="$N" 'BEGIN { printf "%.0f", s / n }') kB |"
	say "| per instance knot+init USS (private) median / RSS median | $(col_stats "$D/inst.mem" 2 | cut -d' ' -f1) / $(col_stats "$D/inst.mem" 3 | cut -d' ' -f1) kB |"
	say "| ... knot PSS / init PSS / process (sleep) PSS, medians | $(col_stats "$D/inst.mem" 4 | cut -d' ' -f1) / $(col_stats "$D/inst.mem" 5 | cut -d' ' -f1) / $(col_stats "$D/inst.mem" 6 | cut -d' ' -f1) kB |"
	say "| kernel memory (Slab+Percpu+KernelStack+PageTables) delta / N | $(awk -v a="$kmem0" -v b="$kmem1" -v n="$N" 'BEGIN { printf "%.0f", (b - a) / n }') kB |"
	say "| processes on the host before / with the $N instances | $procs0 / $procs1 |"
	say "| idle CPU over $idle_s s: tree / all knots+inits | $tree_pct % / $knots_pct % of a core ($((tk1 - tk0)) / $((kk1 - kk0)) ticks of 1/$HZ s); tree context switches: $((cs1 - cs0)) |"
	say "| SIGTERM -> tree exited (stops all $N) | $stop_ms ms (tree CPU >= $stop_cpu ms); left behind: $nleft |"
	say ""
	say "Reloads (SIGQUIT; r0 = nothing changed; ms; \"reconcile\" = tree log from \"Reloading configs\" to the last SIGTERM to a changed instance):"
	say ""
	say "| reload | entry | signal -> changed instances run again | signal -> new image wrote status.json | got signal -> re-executed | re-executed -> last SIGTERM | reconcile (got signal -> last SIGTERM) | last SIGTERM -> last death | last death -> last start | last start -> process runs | touched | exactly the entry | running after | tree CPU (signal -> all run again) |"
	say "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
	while read -r r ent tot st a b c d e f nt ex nr cpu; do
		say "| r$r | $ent | $tot | $st | $a | $b | $c | $d | $e | $f | $nt | $ex | $nr | $cpu |"
	done <"$D/reloads"
	awk 'NR > 1' "$D/reloads" >"$D/reloads.changed"
	say ""
	say "Reloads changing one entry, medians of $RELOADS: signal -> running again $(col_stats "$D/reloads.changed" 3 | cut -d' ' -f1) ms, signal -> new status.json $(col_stats "$D/reloads.changed" 4 | cut -d' ' -f1) ms, tree reconcile (log) $(col_stats "$D/reloads.changed" 7 | cut -d' ' -f1) ms (got signal -> re-executed $(col_stats "$D/reloads.changed" 5 | cut -d' ' -f1), re-executed -> last SIGTERM $(col_stats "$D/reloads.changed" 6 | cut -d' ' -f1)); tree CPU per reload $(col_stats "$D/reloads.changed" 14 | cut -d' ' -f1) ms; no-op reload: signal -> new status.json $(awk 'NR == 1 { print $4 }' "$D/reloads") ms, tree CPU $(awk 'NR == 1 { print $14 }' "$D/reloads") ms."
	if [ -n "$STRACE_SAY" ]; then
		say ""
		say "System calls of the tree (strace -tt -p, the tree alone, BENCH_STRACE=1; two more reloads after the timed ones):"
		say ""
		say "| reload | all, signal -> applied + 0.5 s (top) | execve -> \"Reloaded\" log line (top) |"
		say "|---|---|---|"
		printf '%s' "$STRACE_SAY" >>"$REPORT"
	fi
	say ""
	say "Crash to restart (SIGKILL of the process; ms; $CRASHES rounds each):"
	say ""
	say "| restart-timeout | process killed | kill -> new init runs: median (p90, min-max) | kill -> new process runs: median (p90, min-max) |"
	say "|---|---|---|---|"
	for rt in 0 1; do
		for kind in old young; do
			awk -v rt="$rt" -v k="$kind" '$1 == rt && $2 == k' "$D/crash" >"$D/crash.sel"
			read -r a1 a2 a3 a4 < <(col_stats "$D/crash.sel" 3)
			read -r b1 b2 b3 b4 < <(col_stats "$D/crash.sel" 4)
			case $kind in old) kd="ran > restart-timeout (>= 5 s)" ;; young) kd="ran < 1 s (just restarted)" ;; esac
			say "| $rt | $kd | $a1 ($a2, $a3-$a4) | $b1 ($b2, $b3-$b4) |"
		done
	done
	rm -rf --one-file-system "$LXC"
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)

read -r bm b9 bl bh < <(col_stats "$T/base.mem" 1)
{
	echo "# lithos_tree with many small instances ($(date -u +%Y-%m-%d))"
	echo "# $(bench_machine)"
	echo "# limits: $LIMITS"
	echo "# load average before/after: $load0 / $load1"
	echo "# $RTFS_DESC"
	echo
	echo "Baseline: $BASELINE plain lxc-execute containers (minimal config, host network, no user namespace, /bin/sleep), monitor + init:"
	echo "PSS median $bm kB (p90 $b9, $bl-$bh), sum / $BASELINE $(awk -v s="$(col_sum "$T/base.mem" 1)" -v n="$BASELINE" 'BEGIN { printf "%.0f", s / n }') kB;" \
		"USS median $(col_stats "$T/base.mem" 2 | cut -d' ' -f1) kB; RSS median $(col_stats "$T/base.mem" 3 | cut -d' ' -f1) kB;" \
		"monitor / init / process PSS medians $(col_stats "$T/base.mem" 4 | cut -d' ' -f1) / $(col_stats "$T/base.mem" 5 | cut -d' ' -f1) / $(col_stats "$T/base.mem" 6 | cut -d' ' -f1) kB;" \
		"kernel memory (Slab+Percpu+KernelStack+PageTables) delta / $BASELINE $(awk -v a="$bkmem0" -v b="$bkmem1" -v n="$BASELINE" 'BEGIN { printf "%.0f", (b - a) / n }') kB (few containers: noisy)"
	cat "$REPORT"
}
