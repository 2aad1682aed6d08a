#!/bin/bash
# tests/bench/start-latency.sh [RUNS]
#
# Benchmark (not a test) of the start-to-exit latency of /bin/true through
# lithos_cmd against lxc-execute on the same image (issue 3), in two modes:
#
#   host     host network, no user namespace
#   bridged  user namespace (0 -> 100000, 65536 ids) + a veth on a bridge
#            this script creates (private address, no uplink, no NAT) and
#            removes at the end
#
# Four variants per mode (five with BENCH_BASELINE), interleaved in one
# loop (the order rotates every round), RUNS timed runs each (default 30)
# after BENCH_WARMUP (3) rounds:
#
#   cmd     lithos_cmd --master M SANDBOX true
#   base    the same with the lithos_cmd and lithos_hook of another build
#           (BENCH_BASELINE=DIR, e.g. a build of the previous commit): before
#           and after a change in one interleaved run
#   exact   lxc-execute with lithos's exact config: the output of
#           `lithos_lxcconf --master M SANDBOX true`, only the instance name
#           (which holds lithos_lxcconf's pid) replaced by a fixed one.  Its
#           state dir (resolv.conf, hosts; lithos_cmd makes it in process
#           before each start) is made once beforehand by running
#           `lithos_hook ... pre-start` by hand.  Hooks the config keeps
#           (mount, start-host) stay; these two configs have none.
#   start   lxc-start -F with that same config (and container dir) and
#           lithos_init as pid 1 (`/dev/.lithos-init -- /bin/true`), as
#           lithos_cmd runs it: cmd - start is lithos_cmd's own work
#           (configs, fresh instance dir and state dir, cleanup), start -
#           exact what lithos_init costs against LXC's init
#   nohook  the same config minus everything lithos-specific: also without
#           the two bind mounts of resolv.conf and hosts.  Security
#           template, cgroup dir and limits, LXC log stay.
#   equiv   lxc-execute with a hand-written config that gives the container
#           what lithos's does, written as an operator would without
#           lithos: image read-only, autodev with /dev/pts, no tty/console,
#           no_new_privs, the same dropped capabilities, seccomp profile
#           (templates/lithos.seccomp) and device allow list, nofile 1024,
#           read-only binds of resolv.conf and hosts, proc:mixed + sys:ro,
#           uid/gid 1000, cwd /, PATH, the same network and id map; LXC's
#           default cgroup, no log file, LXC's own init.  The baseline of
#           issue 3's goal ("an equivalent hand-written config").
#   min     lxc-execute with a minimal config: the equiv config without
#           the protections (no seccomp, capabilities, device list,
#           no_new_privs, /dev/pts, binds or nofile): a lower bound.
#
# Wall time is measured by bash (EPOCHREALTIME) around each command, output
# to /dev/null, stdin from /dev/null.  Reported: median, p90, min, max and the
# ratios cmd/equiv, cmd/min and cmd/exact; user+sys CPU of each start (bash
# `times`: the client, hooks and container processes).  The goal of issue 3
# is cmd/equiv <= 1.15.
#
# Environment: BENCH_RUNS (30), BENCH_WARMUP (3), BENCH_MODES ("host
# bridged"), BENCH_STATE_TMPFS (1: the runtime dir with the state dirs on a
# tmpfs of its own, as /run is; 0: on /tmp's filesystem), BENCH_LOCK_TMPFS
# (1: liblxc's lock files of the bench's LXC path on a tmpfs where /run is
# not one; 0: where they are), BENCH_LXC_TMPFS
# (0; 1: the LXC path on a tmpfs too, for every variant), BENCH_BUILDDIR (where lithos_* were built; default the repo
# root; the binaries and templates are copied first, so a concurrent rebuild
# does not disturb a run), BENCH_NET (10.251.77: the bridge's /24),
# BENCH_BRIDGE (lbench0), BENCH_KEEP=1 keeps the temp dir, BENCH_HOOK_TIMES=1
# wraps lithos_hook to log the time spent in each hook (adds a bash per
# hook: use it to profile, not for the figures), BENCH_TIMELINE=N adds N
# strace-traced starts per variant after the timing and prints the median
# length of each phase of a start (tests/bench/timeline.awk).  Needs root, lxc,
# busybox-static and root:100000:65536 in /etc/subuid and /etc/subgid.
set -eu
. "$(dirname "$0")/lib.sh"

RUNS=${1:-${BENCH_RUNS:-30}}
WARMUP=${BENCH_WARMUP:-3}
MODES=${BENCH_MODES:-host bridged}
NET=${BENCH_NET:-10.251.77}
BR=${BENCH_BRIDGE:-lbench0}
VARIANTS="cmd equiv exact start nohook min"
if [ -n "${BENCH_BASELINE:-}" ]; then
	for p in lithos_cmd lithos_hook; do
		[ -x "$BENCH_BASELINE/$p" ] || bench_die "BENCH_BASELINE: $BENCH_BASELINE/$p is missing"
	done
	VARIANTS="cmd base equiv exact start nohook min"
fi

[ "$(id -u)" -eq 0 ] || bench_die "must run as root"
command -v lxc-execute >/dev/null || bench_die "lxc-execute is missing (apt-get install lxc)"
case " $MODES " in *" bridged "*)
	grep -q '^root:100000:65536' /etc/subuid && grep -q '^root:100000:65536' /etc/subgid ||
		bench_die "bridged mode needs root:100000:65536 in /etc/subuid and /etc/subgid (scripts/prepare-host.sh)"
	ip link show "$BR" >/dev/null 2>&1 && bench_die "a link named $BR exists already; set BENCH_BRIDGE"
	ip -4 route show | grep -q "^$NET\." && bench_die "$NET.0/24 is routed already; set BENCH_NET"
	;;
esac

T=$(mktemp -d /tmp/lithos-bench-start.XXXXXX)
chmod 0755 "$T"
mkdir -p "$T/run"
# the runtime dir (state dirs, knots) on a tmpfs of its own, as /run is on a
# usual host (lithos's state-dir default /run/lithos/state is documented as
# a tmpfs); BENCH_STATE_TMPFS=0 leaves it on /tmp's filesystem
made_tmpfs=0
if [ "${BENCH_STATE_TMPFS:-1}" = 1 ]; then
	mount -t tmpfs -o size=64m,mode=0755 lithos-bench "$T/run" && made_tmpfs=1
fi
# BENCH_LXC_TMPFS=1: the LXC path too (every variant's container dirs):
# shows what the file creates and removals of lithos_cmd's fresh instance
# dir cost on the LXC path's filesystem
made_lxc_tmpfs=0
if [ "${BENCH_LXC_TMPFS:-0}" = 1 ]; then
	mkdir -p "$T/lxc"
	mount -t tmpfs -o size=64m,mode=0755 lithos-bench-lxc "$T/lxc" && made_lxc_tmpfs=1
fi
# liblxc's lock files of the bench's containers (/run/lxc/lock/LXCPATH/.NAME)
# on a tmpfs, as /run is on a usual host: on the VM these figures come from
# /run is on the root ext4, where each lithos_cmd run (a new container name)
# pays a file create and removal that lxc-execute of a fixed name does not
# (BENCH_LOCK_TMPFS=0 leaves them where they are)
made_lock_tmpfs=0
if [ "${BENCH_LOCK_TMPFS:-1}" = 1 ] && [ "$(stat -f -c %T /run)" != tmpfs ]; then
	mkdir -p "/run/lxc/lock$T/lxc"
	mount -t tmpfs -o size=4m,mode=0755 lithos-bench-lock "/run/lxc/lock$T/lxc" && made_lock_tmpfs=1
fi
made_bridge=0
cleanup() {
	set +e
	# containers of this run still alive (only after an interruption)
	for n in $(lxc-ls -P "$T/lxc" --running 2>/dev/null); do lxc-stop -P "$T/lxc" -n "$n" -k; done
	if [ "$made_bridge" = 1 ]; then
		for l in $(ip -o link show master "$BR" 2>/dev/null | awk -F': ' '{ print $2 }' | cut -d@ -f1); do
			ip link delete "$l"
		done
		ip link delete "$BR"
	fi
	# the cgroup parent lithos made for this run's instances, in every
	# hierarchy (LXC removes the instances' own cgroups)
	for d in /sys/fs/cgroup/*/lithos-bench-start.slice /sys/fs/cgroup/lithos-bench-start.slice; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	[ "$made_tmpfs" = 1 ] && umount "$T/run"
	[ "$made_lxc_tmpfs" = 1 ] && umount "$T/lxc"
	if [ "$made_lock_tmpfs" = 1 ]; then
		umount "/run/lxc/lock$T/lxc"
		rmdir -p "/run/lxc/lock$T/lxc" 2>/dev/null
	fi
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		bench_note "kept $T"
	else
		rm -rf --one-file-system "$T"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_snapshot_bins "$T/bin" lithos_cmd lithos_hook lithos_lxcconf lithos_init
BASE_ENV="LITHOS_HOOK=$T/base/lithos_hook"
if [ -n "${BENCH_BASELINE:-}" ]; then
	mkdir -p "$T/base"
	cp "$BENCH_BASELINE/lithos_cmd" "$BENCH_BASELINE/lithos_hook" "$T/base/"
	# a build with lithos_init (pid 1 of the containers) or one without
	if [ -x "$BENCH_BASELINE/lithos_init" ]; then
		cp "$BENCH_BASELINE/lithos_init" "$T/base/"
		BASE_ENV="$BASE_ENV LITHOS_INIT=$T/base/lithos_init"
	fi
fi
if [ "${BENCH_HOOK_TIMES:-0}" = 1 ]; then
	cat >"$T/bin/hook-timer" <<EOF
#!/bin/bash
t0=\$EPOCHREALTIME
"$T/bin/lithos_hook" "\$@"
rc=\$?
echo "\$3 \$t0 \$EPOCHREALTIME" >>"$T/hook-times"
exit \$rc
EOF
	chmod 0755 "$T/bin/hook-timer"
	export LITHOS_HOOK=$T/bin/hook-timer
fi

# ----------------------------------------------------------- installation ---
IMGROOT=$T/images/bench/v1
"$BENCH_TOP/tests/lib/build-image.sh" "$IMGROOT" >/dev/null
cat >"$IMGROOT/config/true.yaml" <<'EOF'
kind: Command
user-id: 1000
group-id: 1000
executable: /bin/true
environ: {PATH: /bin}
EOF
# what the sanity check runs once inside each variant: uid, id map, address
PROBE='echo "uid=$(id -u) map=$(head -n1 /proc/self/uid_map | tr -s " " | sed "s/^ //")"; ip -4 -o addr show eth0 2>/dev/null | sed "s/.*inet \([^ ]*\).*/addr=\1/"; echo "prot=$(grep -E "^(NoNewPrivs|Seccomp|CapBnd):" /proc/self/status | tr -s " \t" " " | tr "\n" " ")nofile=$(ulimit -n) pts=$(ls /dev/pts | grep -c ptmx) ro=$(grep -c " / [^ ]* ro," /proc/self/mountinfo)"'
cat >"$IMGROOT/config/probe.yaml" <<EOF
kind: Command
user-id: 1000
group-id: 1000
executable: /bin/sh
arguments: [-c, '$PROBE']
environ: {PATH: /bin}
EOF
M=$T/etc/master.yaml
mkdir -p "$T/etc/sandboxes" "$T/etc/processes"
cat >"$M" <<EOF
sandboxes-dir: ./sandboxes
processes-dir: ./processes
runtime-dir: $T/run
default-log-dir: $T/log
devfs-dir: $T/dev
cgroup-name: lithos-bench-start.slice
lxc-path: $T/lxc
EOF
cat >"$T/etc/sandboxes/host.yaml" <<EOF
image-dir: $T/images
image-dir-levels: 2
allow-users: [1000]
allow-groups: [1000]
EOF
cat >"$T/etc/processes/host.yaml" <<EOF
true: {kind: Command, image: bench/v1, config: /config/true.yaml}
probe: {kind: Command, image: bench/v1, config: /config/probe.yaml}
EOF
cat >"$T/etc/sandboxes/bridged.yaml" <<EOF
image-dir: $T/images
image-dir-levels: 2
uid-map: [{inside: 0, outside: 100000, count: 65536}]
gid-map: [{inside: 0, outside: 100000, count: 65536}]
allow-users: [1000]
allow-groups: [1000]
bridged-network:
  bridge: $BR
  network: $NET.0/24
  default-gateway: $NET.1
EOF
cat >"$T/etc/processes/bridged.yaml" <<EOF
true: {kind: Command, image: bench/v1, config: /config/true.yaml, ip-addresses: [$NET.10]}
probe: {kind: Command, image: bench/v1, config: /config/probe.yaml, ip-addresses: [$NET.11]}
EOF

case " $MODES " in *" bridged "*)
	ip link add "$BR" type bridge
	made_bridge=1
	ip addr add "$NET.1/24" dev "$BR"
	ip link set "$BR" up
	;;
esac

# lxc-execute configs: exact (lithos's), nohook, min; fixed names
make_confs() { # MODE
	local mode=$1 name
	"$T/bin/lithos_lxcconf" --master "$M" "$mode" true >"$T/$mode.lithos.conf"
	name=$(sed -n 's|^#lithos\.state-dir = .*/\([^/]*\)$|\1|p' "$T/$mode.lithos.conf")
	[ -n "$name" ] || bench_die "no #lithos.state-dir in the lithos_lxcconf output"
	name=$(printf '%s' "$name" | sed 's/[.]/\\./g') # a regex for sed
	mkdir -p "$T/lxc/lbx-exact-$mode" "$T/lxc/lbx-nohook-$mode" "$T/lxc/lbx-min-$mode" \
		"$T/lxc/lbx-equiv-$mode"
	sed "s|$name|lbx-exact-$mode|g" "$T/$mode.lithos.conf" >"$T/lxc/lbx-exact-$mode/config"
	# the state dir with resolv.conf and hosts, made once by hand
	LXC_CONFIG_FILE=$T/lxc/lbx-exact-$mode/config "$T/bin/lithos_hook" "lbx-exact-$mode" lxc pre-start ||
		bench_die "lithos_hook pre-start for the exact variant failed"
	sed -e "s|$name|lbx-nohook-$mode|g" -e '/^lxc\.hook\./d' -e '/^#lithos\./d' \
		-e '/^lxc\.mount\.entry = .*\/\(resolv\.conf\|hosts\) etc\//d' \
		"$T/$mode.lithos.conf" >"$T/lxc/lbx-nohook-$mode/config"
	local state=$T/run/state/lbx-exact-$mode cgv=1
	[ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] && cgv=2
	{
		echo "# hand-written equivalent of what lithos's $mode container gets"
		echo "lxc.rootfs.path = dir:$IMGROOT"
		echo "lxc.rootfs.options = ro"
		echo "lxc.tty.max = 0"
		echo "lxc.pty.max = 1024"
		echo "lxc.console.path = none"
		echo "lxc.autodev = 1"
		echo "lxc.no_new_privs = 1"
		echo "lxc.cap.drop = mac_admin mac_override sys_time sys_module sys_rawio sys_boot syslog"
		echo "lxc.seccomp.profile = $T/bin/templates/lithos.seccomp"
		if [ "$cgv" = 2 ]; then k=lxc.cgroup2.devices; else k=lxc.cgroup.devices; fi
		echo "$k.deny = a"
		for d in "c 1:3" "c 1:5" "c 1:7" "c 1:8" "c 1:9" "c 5:0" "c 5:2" "c 136:*"; do
			echo "$k.allow = $d rwm"
		done
		echo "lxc.mount.auto = proc:mixed sys:ro"
		echo "lxc.mount.entry = $state/resolv.conf etc/resolv.conf none bind,ro,nosuid,noexec,nodev 0 0"
		echo "lxc.mount.entry = $state/hosts etc/hosts none bind,ro,nosuid,noexec,nodev 0 0"
		echo "lxc.init.uid = 1000"
		echo "lxc.init.gid = 1000"
		echo "lxc.init.cwd = /"
		echo "lxc.prlimit.nofile = 1024"
		echo "lxc.environment = PATH=/bin"
		if [ "$mode" = bridged ]; then
			echo "lxc.idmap = u 0 100000 65536"
			echo "lxc.idmap = g 0 100000 65536"
			echo "lxc.net.0.type = veth"
			echo "lxc.net.0.link = $BR"
			echo "lxc.net.0.name = eth0"
			echo "lxc.net.0.flags = up"
			echo "lxc.net.0.ipv4.address = $NET.21/24 $NET.255"
			echo "lxc.net.0.ipv4.gateway = $NET.1"
		else
			echo "lxc.net.0.type = none"
		fi
	} >"$T/lxc/lbx-equiv-$mode/config"
	{
		echo "# minimal hand-written equivalent of lithos's $mode config"
		echo "lxc.rootfs.path = dir:$IMGROOT"
		echo "lxc.rootfs.options = ro"
		echo "lxc.tty.max = 0"
		echo "lxc.console.path = none"
		echo "lxc.autodev = 1"
		echo "lxc.init.uid = 1000"
		echo "lxc.init.gid = 1000"
		echo "lxc.init.cwd = /"
		echo "lxc.environment = PATH=/bin"
		if [ "$mode" = bridged ]; then
			echo "lxc.idmap = u 0 100000 65536"
			echo "lxc.idmap = g 0 100000 65536"
			echo "lxc.mount.auto = proc:mixed sys:ro"
			echo "lxc.net.0.type = veth"
			echo "lxc.net.0.link = $BR"
			echo "lxc.net.0.name = eth0"
			echo "lxc.net.0.flags = up"
			echo "lxc.net.0.ipv4.address = $NET.20/24 $NET.255"
			echo "lxc.net.0.ipv4.gateway = $NET.1"
		else
			echo "lxc.mount.auto = proc:mixed sys:ro"
			echo "lxc.net.0.type = none"
		fi
	} >"$T/lxc/lbx-min-$mode/config"
}

# one start: VARIANT MODE [COMMAND...] (default /bin/true)
start() {
	local v=$1 mode=$2
	shift 2
	case $v in
	cmd) "$T/bin/lithos_cmd" --master "$M" "$mode" "${@:-true}" ;;
	# the variables exported in the subshell bash forks for the command
	# anyway: no exec of env(1), which cost the variant ~1 ms per start
	base) (export $BASE_ENV; exec "$T/base/lithos_cmd" --master "$M" "$mode" "${@:-true}") ;;
	start) lxc-start -F -P "$T/lxc" -n "lbx-exact-$mode" -- /dev/.lithos-init -- "${@:-/bin/true}" ;;
	*) lxc-execute -P "$T/lxc" -n "lbx-$v-$mode" -- "${@:-/bin/true}" ;;
	esac
}

# ------------------------------------------- sanity: what runs is equivalent ---
for mode in $MODES; do
	make_confs "$mode"
	for v in $VARIANTS; do
		if [ "$v" = cmd ] || [ "$v" = base ]; then
			rm -f "$T/log/stderr/$mode.log"
			start cmd "$mode" probe </dev/null >/dev/null 2>"$T/err" ||
				{ cat "$T/err" >&2; bench_die "lithos_cmd ($v) $mode probe failed"; }
			out=$(grep -E '^(uid|addr|prot)=' "$T/log/stderr/$mode.log")
		else
			out=$(start "$v" "$mode" /bin/sh -c "$PROBE" </dev/null 2>"$T/err") ||
				{ cat "$T/err" >&2; bench_die "lxc-execute $v $mode probe failed"; }
		fi
		uidline=$(printf '%s\n' "$out" | grep '^uid=' || true)
		# the equivalent config must give what lithos gives
		prot=$(printf '%s\n' "$out" | grep '^prot=' || true)
		case $v in
		cmd) cmdprot=$prot ;;
		equiv | exact)
			[ "$prot" = "$cmdprot" ] ||
				bench_die "$v $mode: protections differ from lithos_cmd's: '$prot' vs '$cmdprot'"
			;;
		esac
		case $mode in
		host) want="uid=1000 map=0 0 4294967295" ;;
		bridged) want="uid=1000 map=0 100000 65536" ;;
		esac
		[ "$uidline" = "$want" ] || bench_die "$v $mode: expected '$want' inside, got '$out'"
		if [ "$mode" = bridged ]; then
			printf '%s\n' "$out" | grep -q "^addr=$NET\.[0-9]*/24$" ||
				bench_die "$v $mode: expected an address in $NET.0/24 on eth0, got '$out'"
		fi
		start "$v" "$mode" </dev/null >/dev/null 2>"$T/err" ||
			{ cat "$T/err" >&2; bench_die "$v $mode: /bin/true failed"; }
	done
done
bench_note "sanity ok (uid, id map and eth0 address inside each variant); timing $RUNS runs per variant after $WARMUP warm-up rounds"

# ---------------------------------------------------------------- timing ---
load0=$(cut -d' ' -f1-3 /proc/loadavg)
for mode in $MODES; do
	set -- $VARIANTS
	nv=$#
	for r in $(seq 1 $((WARMUP + RUNS))); do
		# rotate the order: round r starts with variant r mod nv
		order=
		for k in $(seq 0 $((nv - 1))); do
			i=$(((r + k) % nv + 1))
			order="$order ${!i}"
		done
		for v in $order; do
			bench_child_cpu_ms "$T/times"
			c0=$CPU_MS
			t0=$EPOCHREALTIME
			start "$v" "$mode" </dev/null >/dev/null 2>"$T/err" && rc=0 || rc=$?
			t1=$EPOCHREALTIME
			bench_child_cpu_ms "$T/times"
			[ "$rc" = 0 ] || { cat "$T/err" >&2; bench_die "$v $mode exited $rc"; }
			if [ "$r" -gt "$WARMUP" ]; then
				awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }' >>"$T/$mode.$v.ms"
				echo $((CPU_MS - c0)) >>"$T/$mode.$v.cpu"
			fi
		done
	done
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)

# leftovers: nothing may survive a run
left=$(lxc-ls -P "$T/lxc" --running 2>/dev/null || true)
[ -z "$left" ] || bench_note "warning: still running: $left"
stale=$(ls "$T/run/state" 2>/dev/null | grep -v '^lbx-exact-' || true)
[ -z "$stale" ] || bench_note "warning: state dirs left: $stale"

# ---------------------------------------------------------------- report ---
label() {
	case $1 in
	cmd) echo "lithos_cmd" ;;
	base) echo "lithos_cmd of BENCH_BASELINE" ;;
	exact) echo "lxc-execute, lithos's exact config" ;;
	start) echo "lxc-start -F, lithos's exact config, lithos_init as pid 1" ;;
	nohook) echo "lxc-execute, lithos's config without the resolv.conf/hosts binds" ;;
	equiv) echo "lxc-execute, hand-written equivalent config" ;;
	min) echo "lxc-execute, minimal config" ;;
	esac
}
echo "# start-to-exit latency of /bin/true, ms ($RUNS interleaved runs per variant after $WARMUP warm-up rounds)"
echo "# $(bench_machine)"
echo "# load average before/after: $load0 / $load1"
echo "# runtime dir (state dirs): $(stat -f -c %T "$T/run"); lxc path: $(stat -f -c %T "$T/lxc"); liblxc's lock dir: $(stat -f -c %T "/run/lxc/lock$T/lxc" 2>/dev/null || echo none)"
for mode in $MODES; do
	echo
	case $mode in
	host) echo "## host network, no user namespace" ;;
	bridged) echo "## user namespace + veth on bridge $BR ($NET.0/24, no uplink)" ;;
	esac
	echo
	echo "| variant | median | p90 | min | max | median / equivalent | median / minimal | CPU median (user+sys) |"
	echo "|---|---|---|---|---|---|---|---|"
	mmin=$(bench_median "$T/$mode.min.ms")
	meq=$(bench_median "$T/$mode.equiv.ms")
	for v in $VARIANTS; do
		read -r n med p90 lo hi < <(bench_stats "$T/$mode.$v.ms")
		echo "| $(label "$v") | $med | $p90 | $lo | $hi | $(bench_ratio "$med" "$meq") | $(bench_ratio "$med" "$mmin") | $(bench_median "$T/$mode.$v.cpu") |"
	done
	mc=$(bench_median "$T/$mode.cmd.ms")
	me=$(bench_median "$T/$mode.exact.ms")
	mn=$(bench_median "$T/$mode.nohook.ms")
	ms=$(bench_median "$T/$mode.start.ms")
	r=$(bench_ratio "$mc" "$meq")
	diff() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a - b }'; }
	echo
	echo "$mode: lithos_cmd/lxc-execute equivalent = ${r}x (goal <= 1.15x: $(awk -v r="$r" 'BEGIN { print (r <= 1.15) ? "met" : "NOT met" }'));" \
		"lithos_cmd/lxc-execute minimal = $(bench_ratio "$mc" "$mmin")x;" \
		"lithos_cmd/lxc-execute exact = $(bench_ratio "$mc" "$me")x."
	if [ -n "${BENCH_BASELINE:-}" ]; then
		ma=$(bench_median "$T/$mode.base.ms")
		echo "$mode: baseline lithos_cmd/lxc-execute equivalent = $(bench_ratio "$ma" "$meq")x;" \
			"lithos_cmd/baseline = $(bench_ratio "$mc" "$ma")x, $(diff "$mc" "$ma") ms" \
			"[$(diff "$(bench_median "$T/$mode.cmd.cpu")" "$(bench_median "$T/$mode.base.cpu")") ms CPU]."
	fi
	echo "Differences of medians, ms (CPU ms in brackets):" \
		"lithos_cmd itself (cmd - start) $(diff "$mc" "$ms") [$(diff "$(bench_median "$T/$mode.cmd.cpu")" "$(bench_median "$T/$mode.start.cpu")")];" \
		"lithos_init against LXC's init (start - exact) $(diff "$ms" "$me") [$(diff "$(bench_median "$T/$mode.start.cpu")" "$(bench_median "$T/$mode.exact.cpu")")];" \
		"resolv.conf+hosts binds (exact - nohook) $(diff "$me" "$mn") [$(diff "$(bench_median "$T/$mode.exact.cpu")" "$(bench_median "$T/$mode.nohook.cpu")")];" \
		"rest of lithos's config vs minimal (nohook - min) $(diff "$mn" "$mmin") [$(diff "$(bench_median "$T/$mode.nohook.cpu")" "$(bench_median "$T/$mode.min.cpu")")]"
done
if [ "${BENCH_TIMELINE:-0}" -gt 0 ] && command -v strace >/dev/null; then
	echo
	echo "## where the time goes: phases from strace timelines (BENCH_TIMELINE=$BENCH_TIMELINE traced runs per variant, medians, ms; tracing adds to every phase)"
	echo "(columns: see tests/bench/timeline.awk)"
	for mode in $MODES; do
		echo
		echo "$mode:"
		echo
		echo "| variant | before | pre-start hook | to clone3 | clone3 to exec | /bin/true | teardown | post-stop hook | after | total | newuidmap + newgidmap runs |"
		echo "|---|---|---|---|---|---|---|---|---|---|---|"
		for v in $VARIANTS; do
			: >"$T/tl.$v"
			for r in $(seq 1 "$BENCH_TIMELINE"); do
				strace -f --seccomp-bpf -ttt -s 256 -e trace=execve,clone,clone3,exit_group,wait4 \
					-o "$T/trace" bash -c 'exec "$@"' - $(
						case $v in
						cmd) echo "$T/bin/lithos_cmd --master $M $mode true" ;;
						base) echo "env $BASE_ENV $T/base/lithos_cmd --master $M $mode true" ;;
						start) echo "lxc-start -F -P $T/lxc -n lbx-exact-$mode -- /dev/.lithos-init -- /bin/true" ;;
						*) echo "lxc-execute -P $T/lxc -n lbx-$v-$mode -- /bin/true" ;;
						esac
					) </dev/null >/dev/null 2>&1 || bench_die "traced $v $mode failed"
				# drop bash's own execve line: the trace starts at the client
				sed -i '1d' "$T/trace"
				awk -f "$(dirname "$0")/timeline.awk" "$T/trace" >>"$T/tl.$v"
			done
			row="| $(label "$v")"
			for col in 1 2 3 4 5 6 7 8 9 10; do
				cut -f"$col" "$T/tl.$v" | grep -v '^-$' >"$T/col" || true
				if [ -s "$T/col" ]; then row="$row | $(bench_median "$T/col")"; else row="$row | -"; fi
			done
			echo "$row |"
		done
	done
fi
if [ -s "$T/hook-times" ]; then
	echo
	echo "hook wall time (BENCH_HOOK_TIMES=1, includes the bash wrapper), median ms per hook type:"
	for h in $(awk '{ print $1 }' "$T/hook-times" | sort -u); do
		awk -v h="$h" '$1 == h { printf "%.3f\n", ($3 - $2) * 1000 }' "$T/hook-times" >"$T/hk.ms"
		echo "  $h: $(bench_median "$T/hk.ms") (n=$(wc -l <"$T/hk.ms"))"
	done
fi
