#!/bin/bash
# tests/bench/check-50x20.sh [RUNS]
#
# Benchmark (not a test) of lithos_check over a generated installation of
# 50 sandboxes x 20 processes (issue 2).  Every process entry points at one
# of eight container configs inside small busybox images (tests/lib/
# build-image.sh) that differ in volumes, variables, tcp-ports, kinds,
# limits and user namespaces; a fifth of the sandboxes use a bridged network.
#
# The installation is asserted VALID (lithos_check exits 0 and prints
# nothing) before anything is timed.  Then, interleaved in one loop, RUNS
# times each (default 15, after one warm-up round):
#   A  lithos_check -C master.yaml           (the 50x20 installation)
#   B  lithos_check -C empty.yaml            (empty master: process floor)
#   C  cat of every config file A reads      (reading the bytes, no parsing)
#   D  lithos_check --check-container with the container config of every
#      process entry, 1000 paths (40 distinct files): the share of A spent
#      reading, parsing and checking container configs one entry at a time
# Wall time is measured around each command (bash EPOCHREALTIME), user+sys
# CPU time with bash's `times` (1 ms resolution), peak RSS with
# /usr/bin/time -v (package "time"); all three include /usr/bin/time itself.
#
# Environment: BENCH_SANDBOXES (50), BENCH_PROCS (20), BENCH_RUNS (15),
# BENCH_BUILDDIR (where lithos_check was built; default the repo root),
# BENCH_KEEP=1 keeps the generated installation.  Needs root (the image is
# root-owned) and busybox-static.
set -eu
. "$(dirname "$0")/lib.sh"

NS=${BENCH_SANDBOXES:-50}
NP=${BENCH_PROCS:-20}
RUNS=${1:-${BENCH_RUNS:-15}}
NIMG=5 # image versions app/v1..v5

[ "$(id -u)" -eq 0 ] || bench_die "must run as root (tests/lib/build-image.sh builds a root-owned image)"
if [ ! -x /usr/bin/time ]; then
	bench_note "installing GNU time (/usr/bin/time)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends time >/dev/null ||
		bench_die "/usr/bin/time is missing (apt-get install time)"
fi

T=$(mktemp -d /tmp/lithos-bench-check.XXXXXX)
chmod 0755 "$T"
cleanup() { [ "${BENCH_KEEP:-0}" = 1 ] && bench_note "kept $T" || rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_snapshot_bins "$T/bin" lithos_check
CHECK=$T/bin/lithos_check

# ---------------------------------------------------------------- images ---
IMG=$T/images
"$BENCH_TOP/tests/lib/build-image.sh" "$IMG/app/v1" >/dev/null
for v in $(seq 2 $NIMG); do cp -a "$IMG/app/v1" "$IMG/app/v$v"; done

# Eight container configs, the same in every image version.
write_configs() { # DIR
	mkdir -p "$1"
	cat >"$1/c0.yaml" <<'EOF'
# minimal daemon
kind: Daemon
user-id: 1000
group-id: 1000
executable: /bin/sleep
arguments: ["3600"]
EOF
	cat >"$1/c1.yaml" <<'EOF'
# every volume kind, limits
user-id: 1001
group-id: 1001
executable: /bin/sh
arguments: [-c, "exec sleep 3600"]
environ: {PATH: /bin, HOME: /tmp, LANG: C}
workdir: /tmp
memory-limit: 64Mi
fileno-limit: 1ki
cpu-shares: 512
volumes:
  /tmp: !Tmpfs {size: 16Mi, mode: 0o1777}
  /state: !Statedir {}
  /run: !Statedir {path: /run, mode: 0o750, user: 1001, group: 1001}
  /srv: !Readonly /shared
  /data: !Persistent {path: /data, mkdir: true, mode: 0o700, user: 1001, group: 1001}
EOF
	cat >"$1/c2.yaml" <<'EOF'
# variables of three types, an explicit tcp port
variables:
  port: !TcpPort
  greeting: !Name
  mode: !Choice [fast, slow]
user-id: 1002
group-id: 1002
executable: /bin/sh
arguments: [-c, "echo @{greeting} @{mode} @{lithos:name}; exec sleep 3600"]
environ:
  PATH: /bin
  PORT_FD: "3"
  MODE: "@{mode}"
tcp-ports:
  "@{port}": {fd: 3, host: 0.0.0.0, listen-backlog: 128, reuse-addr: true}
volumes:
  /tmp: !Tmpfs {size: 1Mi}
EOF
	cat >"$1/c3.yaml" <<'EOF'
# systemd socket activation of two ports
variables:
  web: !TcpPort {activation: systemd}
  admin: !TcpPort {activation: systemd}
user-id: 1003
group-id: 1003
executable: /bin/sleep
arguments: ["3600", "--config=@{lithos:config_filename}"]
environ:
  MY_PID: "@{lithos:pid}"
restart-timeout: 2
kill-timeout: 5
EOF
	cat >"$1/c4.yaml" <<'EOF'
# dotted names, a larger environment, read-only volumes
variables:
  domain: !DottedName
  port: !TcpPort
user-id: 1004
group-id: 1004
executable: /bin/sh
arguments: [-c, "exec sleep 3600", "@{domain}"]
environ:
  PATH: /bin:/usr/bin
  HOME: /tmp
  LANG: C.UTF-8
  DOMAIN: "@{domain}"
  LISTEN: "0.0.0.0:@{port}"
  A1: one
  A2: two
  A3: three
  A4: four
tcp-ports:
  "@{port}": {fd: 0, reuse-port: true}
volumes:
  /srv: !Readonly /shared
  /mnt: !Readonly /shared/sub
  /tmp: !Tmpfs {size: 100Mi, mode: 0o700}
EOF
	cat >"$1/c5.yaml" <<'EOF'
# a command
kind: Command
user-id: 1005
group-id: 1005
executable: /bin/true
environ: {PATH: /bin}
volumes:
  /data: !Persistent /data
EOF
	cat >"$1/c6.yaml" <<'EOF'
# a command or a daemon, interactive
kind: CommandOrDaemon
interactive: true
user-id: 1006
group-id: 1006
executable: /bin/sh
volumes:
  /tmp: !Tmpfs {size: 4Mi}
  /state: !Statedir {}
EOF
	cat >"$1/c7.yaml" <<'EOF'
# resolv.conf and hosts options
user-id: 1007
group-id: 1007
executable: /bin/sleep
arguments: ["3600"]
resolv-conf: {copy-from-host: false}
hosts-file: {copy-from-host: true, mount: false, localhost: true}
stdout-stderr-file: /data/out.log
volumes:
  /tmp: !Tmpfs {size: 1Mi}
  /data: !Persistent {path: /data/c7, mkdir: true}
EOF
}
for v in $(seq 1 $NIMG); do write_configs "$IMG/app/v$v/config"; done
NCONF=8

# ------------------------------------------------- master and sandboxes ---
E=$T/etc
mkdir -p "$E/sandboxes" "$E/processes" "$T/shared/sub" "$T/data"
cat >"$E/master.yaml" <<EOF
sandboxes-dir: ./sandboxes
processes-dir: ./processes
runtime-dir: $T/run
default-log-dir: $T/log
devfs-dir: $T/dev
cgroup-name: lithos-bench.slice
lxc-path: $T/lxc
EOF
: >"$T/empty.yaml"

for i in $(seq 0 $((NS - 1))); do
	s=$(printf 's%02d' "$i")
	pbase=$((10000 + i * 50))
	bridged=$((i % 5 == 4))
	{
		echo "# sandbox $s (generated)"
		echo "image-dir: $IMG"
		echo "image-dir-levels: 2"
		echo "allow-users: [1000-1999]"
		echo "allow-groups: [1000-1999]"
		case $((i % 5)) in
		1 | 3 | 4)
			echo "uid-map: [{inside: 0, outside: 100000, count: 65536}]"
			echo "gid-map: [{inside: 0, outside: 100000, count: 65536}]"
			echo "default-user: 1000"
			echo "default-group: 1000"
			;;
		esac
		echo "allow-tcp-ports: [$pbase-$((pbase + 49))]"
		echo "readonly-paths:"
		echo "  /shared: $T/shared"
		echo "writable-paths:"
		echo "  /data: $T/data/$s"
		if [ "$bridged" = 1 ]; then
			echo "bridged-network:"
			echo "  bridge: lbbench0"
			echo "  network: 10.$((100 + i)).0.0/16"
			echo "  default-gateway: 10.$((100 + i)).0.1"
			echo "  after-setup-command: [/usr/bin/arping, -U, -c1, '@{container_ip}']"
		fi
		echo "additional-hosts: {db.local: 127.0.0.1, cache.local: 127.0.0.2}"
	} >"$E/sandboxes/$s.yaml"

	{
		echo "# processes of $s (generated)"
		for j in $(seq 0 $((NP - 1))); do
			c=$((j % NCONF))
			inst=$((1 + j % 3))
			port=$((pbase + j * 2))
			img=app/v$((1 + (i + j) % NIMG))
			echo "$IMG/$img/config/c$c.yaml" >>"$T/entry-configs.list"
			printf 'p%02d:\n' "$j"
			echo "  image: $img"
			echo "  config: /config/c$c.yaml"
			case $c in
			5 | 6)
				echo "  kind: Command"
				inst=1
				;;
			*) echo "  instances: $inst" ;;
			esac
			case $c in
			2) echo "  variables: {port: $port, greeting: hello-$j, mode: $([ $((j % 2)) = 0 ] && echo fast || echo slow)}" ;;
			3) echo "  variables: {web: $port, admin: $((port + 1))}" ;;
			4) echo "  variables: {domain: p$j.$s.example.org, port: $port}" ;;
			esac
			if [ "$bridged" = 1 ] && [ "$c" != 6 ]; then
				printf '  ip-addresses: ['
				for k in $(seq 1 $inst); do
					[ "$k" = 1 ] || printf ', '
					printf '10.%d.%d.%d' $((100 + i)) "$j" "$k"
				done
				echo ']'
			fi
		done
	} >"$E/processes/$s.yaml"
done

# every file lithos_check reads for the installation (for the cat baseline)
FILES=$T/files.list
{
	echo "$E/master.yaml"
	ls "$E"/sandboxes/*.yaml "$E"/processes/*.yaml
	for v in $(seq 1 $NIMG); do ls "$IMG/app/v$v/config/"*.yaml; done
} >"$FILES"
nfiles=$(wc -l <"$FILES")
nbytes=$(xargs cat <"$FILES" | wc -c)
nentries=$((NS * NP))
ninst=$(cat "$E"/processes/*.yaml | awk '/^  instances:/ { n += $2 } /^  kind: Command/ { n++ } END { print n }')

# ----------------------------------------------------- valid, or nothing ---
out=$("$CHECK" -C "$E/master.yaml" 2>&1) && rc=0 || rc=$?
if [ "$rc" -ne 0 ] || [ -n "$out" ]; then
	printf '%s\n' "$out" | head -n 40 >&2
	bench_die "the generated installation is not valid (lithos_check exit $rc); nothing timed"
fi
out=$("$CHECK" -C "$T/empty.yaml" 2>&1) && rc=0 || rc=$?
[ "$rc" -eq 0 ] || bench_die "lithos_check -C empty.yaml exits $rc: $out"
bench_note "installation valid: $NS sandboxes x $NP processes ($nentries entries), $nfiles files, $nbytes bytes; timing $RUNS runs each"

# ---------------------------------------------------------------- timing ---
# run NAME CMD...: one timed run, appends wall ms to $T/NAME.ms, peak RSS
# (KiB) to $T/NAME.rss, user+sys CPU ms to $T/NAME.cpu
run() {
	local name=$1 t0 t1 c0
	shift
	bench_child_cpu_ms "$T/times"
	c0=$CPU_MS
	t0=$EPOCHREALTIME
	/usr/bin/time -v -o "$T/time.out" "$@" >/dev/null 2>"$T/run.err" || {
		cat "$T/run.err" >&2
		bench_die "$name failed"
	}
	t1=$EPOCHREALTIME
	bench_child_cpu_ms "$T/times"
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }' >>"$T/$name.ms"
	echo $((CPU_MS - c0)) >>"$T/$name.cpu"
	awk -F': ' '/Maximum resident set size/ { print $2 }' "$T/time.out" >>"$T/$name.rss"
}
mapfile -t ALLFILES <"$FILES"
mapfile -t ENTRYCONFS <"$T/entry-configs.list"
out=$("$CHECK" --check-container "${ENTRYCONFS[@]}" 2>&1) && rc=0 || rc=$?
[ "$rc" -eq 0 ] || bench_die "lithos_check --check-container on the entries' configs exits $rc: $(printf '%s\n' "$out" | head -n 5)"

load0=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq 0 "$RUNS"); do
	# rotate the order so no command always runs right after another
	case $((r % 4)) in
	0) order="A B C D" ;;
	1) order="B C D A" ;;
	2) order="C D A B" ;;
	3) order="D A B C" ;;
	esac
	for x in $order; do
		case $x in
		A) run check "$CHECK" -C "$E/master.yaml" ;;
		B) run empty "$CHECK" -C "$T/empty.yaml" ;;
		C) run cat cat "${ALLFILES[@]}" ;;
		D) run cc "$CHECK" --check-container "${ENTRYCONFS[@]}" ;;
		esac
	done
	if [ "$r" = 0 ]; then # warm-up round: discard
		rm -f "$T"/*.ms "$T"/*.rss "$T"/*.cpu
	fi
done

load1=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- report ---
row() { # NAME LABEL
	local st
	st=$(bench_stats "$T/$1.ms")
	printf '| %s | %s | %s | %s | %s | %s |\n' "$2" \
		"$(echo "$st" | awk '{ print $2 }')" "$(echo "$st" | awk '{ print $3 }')" \
		"$(bench_median "$T/$1.cpu")" \
		"$(bench_median "$T/$1.rss" | cut -d. -f1)" "$(sort -n "$T/$1.rss" | tail -n1)"
}
echo "# lithos_check over $NS sandboxes x $NP processes ($nentries process entries, $ninst instances, $nfiles files, $nbytes bytes)"
echo "# $(bench_machine)"
echo "# $RUNS interleaved runs each after one warm-up round; wall ms around /usr/bin/time -v"
echo "# load average before/after: $load0 / $load1"
echo
echo "| command | wall median ms | wall p90 ms | user+sys median ms | peak RSS median KiB | peak RSS max KiB |"
echo "|---|---|---|---|---|---|"
row check "lithos_check -C master.yaml (${NS}x${NP})"
row empty "lithos_check -C empty.yaml (empty master)"
row cat "cat of the $nfiles config files ($nbytes bytes)"
row cc "lithos_check --check-container, the $nentries entries' container configs"
echo
mc=$(bench_median "$T/check.ms")
me=$(bench_median "$T/empty.ms")
echo "ratio check/empty: $(bench_ratio "$mc" "$me")x;" \
	"time above the empty master: $(awk -v a="$mc" -v b="$me" 'BEGIN { printf "%.2f", a - b }') ms" \
	"= $(awk -v a="$mc" -v b="$me" -v n="$nentries" 'BEGIN { printf "%.1f", (a - b) * 1000 / n }') us per process entry;" \
	"RSS above the empty master: $(($(bench_median "$T/check.rss" | cut -d. -f1) - $(bench_median "$T/empty.rss" | cut -d. -f1))) KiB"
mcc=$(bench_median "$T/cc.ms")
echo "container configs one entry at a time (--check-container over the $nentries entries' configs, minus the empty master):" \
	"$(awk -v a="$mcc" -v b="$me" 'BEGIN { printf "%.2f", a - b }') ms wall," \
	"$(awk -v a="$mcc" -v b="$me" -v c="$mc" 'BEGIN { printf "%.0f", 100 * (a - b) / (c - b) }')% of the time above the empty master;" \
	"CPU $(awk -v a="$(bench_median "$T/cc.cpu")" -v b="$(bench_median "$T/empty.cpu")" 'BEGIN { printf "%.0f", a - b }') of" \
	"$(awk -v a="$(bench_median "$T/check.cpu")" -v b="$(bench_median "$T/empty.cpu")" 'BEGIN { printf "%.0f", a - b }') ms"
