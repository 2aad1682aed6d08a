#!/bin/bash
# tests/bench/criu-migrate.sh [RUNS]
#
# Benchmark (not a test) of CRIU checkpoint, restore and migration of a
# daemon with 10 MiB and 200 MiB of dirty memory (issue 6).  Two "hosts" on
# this machine: two LXC paths A and B (as tests/lib/criutest.sh), the
# images in a directory both see (the shared-directory mode: no copy).
#
# The daemon is tests/lib/counterd.c (static, in the busybox test image):
# --mem N MiB written at start, --interval 10 (ms) and --dirty PAGES per tick
# so that 10% of its memory is re-written every second (so a pre-dump has
# something left for the final dump).  It runs as pid 1 of the container, as
# lithos runs a migratable daemon, and serves its state on a unix socket
# (as when it was written with criu 4.1.1, which cannot dump TCP sockets on
# Linux >= 6.16; criu >= 4.2 can: docs/criu-notes.md).
#
# Variants, interleaved in one loop, RUNS runs each (default 5):
#
#   lxc      liblxc's own tool on a container with the config a migratable
#            lithos daemon gets (no console, no ttys, autodev, empty
#            network, tmpfs /run, process as pid 1):
#            checkpoint = `lxc-checkpoint -s -D DIR` on A (freeze, dump, stop)
#            restore    = `lxc-checkpoint -r -D DIR` on B (until it runs)
#            freeze     = the longest gap counterd saw between two wake-ups
#                         (maxgap_ms, wall clock): process stopped on A to
#                         process running on B, read from the process itself
#   lxc-shm  the same with the images on a tmpfs (/dev/shm) instead of the
#            scratch dir's file system (ext4 here)
#   lxc-pre  the same with one pre-dump first (`lxc-checkpoint -p`, the
#            daemon keeps running 1 s, then the final dump with
#            --predump-dir): freeze with pre-dumps
#   lithos   lithos_checkpoint on A (the tree leaves the instance alone),
#            then lithos_restore on A (its tree restores it at once: the
#            entry is there): wall times of both, freeze as above (no
#            move: checkpoint and restore through lithos, same host)
#   lithos-mig  lithos_migrate --to local --shared-dir: the dump and restore
#            times it reports, freeze as above, and its total wall time
#   lithos-ssh  the same over ssh (a private sshd for B on 127.0.0.1,
#            tests/lib/criutest.sh): the images are copied (tar | ssh)
#            during the freeze; its transfer time is reported too
#
# Each run checks that the restored daemon is the same process (token),
# its request counter continued and its memory is intact (memok=1); a run
# that fails is reported with the reason and not counted.
#
# Environment: BENCH_RUNS (5), BENCH_SIZES ("10 200"), BENCH_VARIANTS
# ("lxc lxc-shm lxc-pre lithos lithos-mig lithos-ssh"), BENCH_BUILDDIR, BENCH_KEEP=1 keeps the scratch dir.
# Needs root, LXC, CRIU (scripts/install-criu.sh: the test wrapper with
# CRIU_FAULT=130 is used, as by the tests), busybox-static, gcc, python3.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

RUNS=${1:-${BENCH_RUNS:-5}}
SIZES=${BENCH_SIZES:-10 200}
VARIANTS=${BENCH_VARIANTS:-lxc lxc-shm lxc-pre lithos lithos-mig lithos-ssh}

[ "$(id -u)" -eq 0 ] || bench_die "must run as root"
command -v lxc-checkpoint >/dev/null || bench_die "lxc-checkpoint missing (apt-get install lxc)"
command -v gcc >/dev/null || bench_die "gcc missing"

# the two-host harness of the tests: scratch dir $T, image t/v1 with
# counterd, hosts with their own trees (lithos variant), EXIT trap
top_srcdir=$BENCH_TOP
top_builddir=$BENCH_BUILDDIR
. "$BENCH_TOP/tests/lib/criutest.sh"
ct_init bench-criu >/dev/null
criu_test_env >/dev/null
CT_CRIU_TEST_BIN=$CRIU_TEST_BIN
CT_PATH0=$CRIU_TEST_BIN:$CT_PATH0
B=$T/bench
mkdir -p "$B"
CG=lithos-bench-criu.$$
bench_cleanup() {
	local h n d
	for h in a b; do
		for n in $(lxc-ls -P "$B/$h" --running -1 2>/dev/null); do
			lxc-stop -P "$B/$h" -n "$n" -k >/dev/null 2>&1
		done
	done
	for d in /sys/fs/cgroup/*/"$CG" /sys/fs/cgroup/"$CG"; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		cp -a "$B" "/tmp/lithos-bench-criu.kept.$$" && bench_note "kept /tmp/lithos-bench-criu.kept.$$"
	fi
	return 0
}
ITEST_EXTRA_CLEANUP="bench_cleanup; $ITEST_EXTRA_CLEANUP"
# lxc-shm: the images on a tmpfs instead of $T's file system
SHM=/dev/shm/lithos-bench-criu.$$
mkdir -p "$SHM"
ITEST_EXTRA_CLEANUP="rm -rf $SHM; $ITEST_EXTRA_CLEANUP"
ln -s "$IMAGES/t/v1" "$B/img"

# lithos commands, if this build has them
HAVE_LITHOS=
if [ -x "$BENCH_BUILDDIR/lithos_checkpoint" ] && [ -x "$BENCH_BUILDDIR/lithos_restore" ]; then
	HAVE_LITHOS=1
fi

# config NAME MIB: the container NAME on both hosts
config() {
	local name=$1 mib=$2 h pages dirty
	pages=$((mib * 256))
	dirty=$((pages / 1000)) # per 10 ms tick: 10% per second
	[ "$dirty" -ge 1 ] || dirty=1
	for h in a b; do
		mkdir -p "$B/$h/$name"
		cat >"$B/$h/$name/config" <<EOF
lxc.uts.name = $name
lxc.rootfs.path = dir:$IMAGES/t/v1
lxc.rootfs.options = ro
lxc.mount.auto = proc:mixed sys:ro
lxc.mount.entry = tmpfs run tmpfs rw,nosuid,nodev,size=1m 0 0
lxc.autodev = 1
lxc.tty.max = 0
lxc.pty.max = 0
lxc.console.path = none
lxc.net.0.type = empty
lxc.cgroup.dir = $CG/$h.$name
lxc.init.cmd = /bin/counterd --unix /run/c.sock --interval 10 --mem $mib --dirty $dirty
lxc.log.level = warn
EOF
	done
}

ask() { # HOST NAME: counterd's status line
	local p
	p=$(lxc-info -P "$B/$1" -n "$2" -p -H 2>/dev/null)
	[ -n "$p" ] || { echo "ERROR not running"; return; }
	"$PYTHON" - "/proc/$p/root/run/c.sock" <<'EOF'
import socket, sys, time
for _ in range(200):
    try:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(sys.argv[1])
        print(s.recv(512).decode().strip())
        break
    except OSError as e:
        err = e
        time.sleep(0.05)
else:
    print("ERROR %s" % err)
EOF
}
field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
now() { echo "${EPOCHREALTIME/./}"; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f\n", (b - a) / 1000 }'; }

# start NAME: on A, until the daemon answered twice
start() {
	lxc-start -P "$B/a" -n "$1" -d -o "$B/$1.start.log" || return 1
	S1=$(ask a "$1")
	sleep 0.3
	S1=$(ask a "$1")
	case $S1 in ERROR*) return 1 ;; esac
}
# verify NAME: the daemon on B is the one of A, requests+1, memory intact
verify() {
	S2=$(ask b "$1")
	[ "$(field "$S2" token)" = "$(field "$S1" token)" ] &&
		[ "$(field "$S2" requests)" = $(($(field "$S1" requests) + 1)) ] &&
		[ "$(field "$S2" memok)" = 1 ]
}
stop_b() {
	lxc-stop -P "$B/b" -n "$1" -k >/dev/null 2>&1
	lxc-stop -P "$B/a" -n "$1" -k >/dev/null 2>&1
	rm -rf "$B/img-$1" "$SHM/img-$1"
}

fail() { # VARIANT SIZE WHY
	echo "$1 $2 $3" >>"$B/failures"
	bench_note "run failed: $1 ${2}MiB: $3"
	case $1 in lithos*) tail -n 6 "$T/a/tree.log" "$T/b/tree.log" 2>/dev/null | sed 's/^/    /' >&2 ;; esac
}

run_lxc() { # SIZE PRE(0/1) [shm]
	local size=$1 pre=$2 name=c$1 v=lxc d t0 t1 t2
	[ "$pre" = 1 ] && v=lxc-pre
	d=$B/img-$name
	if [ "${3:-}" = shm ]; then
		v=lxc-shm
		d=$SHM/img-$name
	fi
	rm -rf "$d"
	mkdir -p "$d"
	start "$name" || { fail $v "$size" "start: $S1"; stop_b "$name"; return; }
	if [ "$pre" = 1 ]; then
		if ! lxc-checkpoint -P "$B/a" -n "$name" -p -D "$d/pre" >"$B/pre.out" 2>&1; then
			fail $v "$size" "pre-dump: $(grep -h -E 'Error|BUG' "$d/pre/"*.log 2>/dev/null | grep -v RLIMIT | head -n 2 | tr '\n' ' ')"
			stop_b "$name"
			return
		fi
		sleep 1
		S1=$(ask a "$name")
		t0=$(now)
		lxc-checkpoint -P "$B/a" -n "$name" -s -D "$d/final" --predump-dir=../pre >"$B/dump.out" 2>&1
	else
		t0=$(now)
		lxc-checkpoint -P "$B/a" -n "$name" -s -D "$d/final" >"$B/dump.out" 2>&1
	fi
	local rc=$?
	t1=$(now)
	if [ $rc -ne 0 ]; then
		fail $v "$size" "dump: $(grep -h Error "$d/final/dump.log" 2>/dev/null | grep -v -E 'RLIMIT|iptables' | head -n 2 | tr '\n' ' ')"
		stop_b "$name"
		return
	fi
	lxc-checkpoint -P "$B/b" -n "$name" -r -D "$d/final" >"$B/restore.out" 2>&1
	rc=$?
	t2=$(now)
	if [ $rc -ne 0 ]; then
		fail $v "$size" "restore: $(grep -h Error "$d/final/restore.log" 2>/dev/null | grep -v -E 'RLIMIT|iptables' | head -n 2 | tr '\n' ' ')"
		stop_b "$name"
		return
	fi
	if verify "$name"; then
		ms "$t0" "$t1" >>"$B/$v.$size.checkpoint"
		ms "$t1" "$t2" >>"$B/$v.$size.restore"
		field "$S2" maxgap_ms >>"$B/$v.$size.freeze"
		du -sm "$d/final" | awk '{print $1}' >>"$B/$v.$size.mb"
	else
		fail $v "$size" "verify: before '$S1' after '$S2'"
	fi
	stop_b "$name"
}

# ---- the lithos variant: hosts a and b (own master, lxc path, tree), the
# migratable sandbox s on both; the instance s/cSIZE.0 starts on a (switch),
# checkpoint = lithos_checkpoint on a (wall), restore = lithos_restore on b
# queued, then lithos_switch gives b the entry, until lithos_restore returns
# (wall; the time lithos_restore reports itself is kept too), freeze =
# counterd's maxgap_ms; then b and a drop the entry again
lithos_setup() {
	local h size pages dirty
	for size in $SIZES; do
		pages=$((size * 256))
		dirty=$((pages / 1000))
		[ "$dirty" -ge 1 ] || dirty=1
		tt_config "c$size" <<YAML
kind: Daemon
user-id: 0
group-id: 0
executable: /bin/counterd
arguments: [--unix, /run/c.sock, --interval, "10", --mem, "$size", --dirty, "$dirty"]
memory-limit: $((size + 64))Mi
volumes:
  /run: !Tmpfs {size: 1Mi, mode: 0o1777}
restart-timeout: 0
YAML
		echo "c$size: {image: t/v1, config: /config/c$size.yaml, instances: 1}" >"$T/entry.$size"
	done
	: >"$T/empty.yaml"
	ct_migratable_hosts a b
	for h in a b; do
		ct_use $h
		tt_start_tree >/dev/null || bench_die "lithos_tree of $h did not start"
	done
}
run_lithos() { # SIZE
	local size=$1 v=lithos n=s.c$1.0 d t0 t1 t2 r
	d=$B/lithos-img.$size.$RANDOM
	ct_switch a s "$T/entry.$size" >/dev/null 2>&1
	ct_use a
	if ! tt_wait_running 1 60 "[ -n \"\$(tt_app_pid $n)\" ]"; then
		fail $v "$size" "start on a"
		ct_switch a s "$T/empty.yaml" >/dev/null 2>&1
		return
	fi
	S1=$(ct_ask a "$n")
	sleep 0.3
	S1=$(ct_ask a "$n")
	t0=$(now)
	"$BENCH_BUILDDIR/lithos_checkpoint" -C "$T/a/etc/master.yaml" "s/c$size.0" "$d" >"$B/lck.out" 2>&1
	r=$?
	t1=$(now)
	if [ $r -ne 0 ]; then
		fail $v "$size" "lithos_checkpoint exit $r: $(tail -n 1 "$B/lck.out")"
		ct_switch a s "$T/empty.yaml" >/dev/null 2>&1
		return
	fi
	"$BENCH_BUILDDIR/lithos_restore" -C "$T/a/etc/master.yaml" "s/c$size.0" "$d" >"$B/lrs.out" 2>&1
	r=$?
	t2=$(now)
	S2=$(ct_ask a "$n")
	if [ $r -ne 0 ]; then
		fail $v "$size" "lithos_restore exit $r: $(tail -n 1 "$B/lrs.out")"
	elif [ "$(field "$S2" token)" = "$(field "$S1" token)" ] &&
		[ "$(field "$S2" requests)" = $(($(field "$S1" requests) + 1)) ] &&
		[ "$(field "$S2" memok)" = 1 ]; then
		ms "$t0" "$t1" >>"$B/$v.$size.checkpoint"
		ms "$t1" "$t2" >>"$B/$v.$size.restore"
		field "$S2" maxgap_ms >>"$B/$v.$size.freeze"
		du -sm "$d" | awk '{print $1}' >>"$B/$v.$size.mb"
	else
		fail $v "$size" "verify: before '$S1' after '$S2'"
	fi
	ct_switch a s "$T/empty.yaml" >/dev/null 2>&1
	ct_use a
	tt_wait_running 0 30
	rm -rf "$d"
}

# lithos-mig: the same move in one command, lithos_migrate --to local
# --shared-dir (target's master, processes with and without the entry);
# checkpoint/restore columns: the dump and restore times lithos_migrate
# reports, freeze as above, plus its total
run_lithos_mig() { # SIZE [ssh]
	local size=$1 v=lithos-mig n=s.c$1.0 t0 t1 r
	local how=(--to local --shared-dir "$B/shared")
	if [ "${2:-}" = ssh ]; then
		v=lithos-ssh
		how=(--to ct-b --ssh "/usr/bin/ssh -F $T/ssh/config" --target-bin "$BENCH_BUILDDIR"
			--dir "$B/out" --target-dir "$B/in")
	fi
	ct_switch a s "$T/entry.$size" >/dev/null 2>&1
	ct_use a
	if ! tt_wait_running 1 60 "[ -n \"\$(tt_app_pid $n)\" ]"; then
		fail $v "$size" "start on a"
		ct_switch a s "$T/empty.yaml" >/dev/null 2>&1
		return
	fi
	S1=$(ct_ask a "$n")
	sleep 0.3
	S1=$(ct_ask a "$n")
	mkdir -p "$B/shared"
	t0=$(now)
	"$BENCH_BUILDDIR/lithos_migrate" -C "$T/a/etc/master.yaml" "${how[@]}" --target-master "$T/b/etc/master.yaml" \
		--target-processes "$T/entry.$size" --source-processes "$T/empty.yaml" \
		"s/c$size.0" >"$B/lmig.out" 2>&1
	r=$?
	t1=$(now)
	S2=$(ct_ask b "$n")
	if [ $r -ne 0 ]; then
		fail $v "$size" "lithos_migrate exit $r: $(tail -n 1 "$B/lmig.out")"
	elif [ "$(field "$S2" token)" = "$(field "$S1" token)" ] &&
		[ "$(field "$S2" requests)" = $(($(field "$S1" requests) + 1)) ] &&
		[ "$(field "$S2" memok)" = 1 ]; then
		sed -n 's/.*: dump \([0-9.]*\) ms.*/\1/p' "$B/lmig.out" | tail -n 1 >>"$B/$v.$size.checkpoint"
		sed -n 's/.* restore \([0-9.]*\) ms.*/\1/p' "$B/lmig.out" | tail -n 1 >>"$B/$v.$size.restore"
		field "$S2" maxgap_ms >>"$B/$v.$size.freeze"
		ms "$t0" "$t1" >>"$B/$v.$size.total"
		sed -n 's/.* transfer \([0-9.]*\) ms.*/\1/p' "$B/lmig.out" | tail -n 1 >>"$B/$v.$size.transfer"
	else
		fail $v "$size" "verify: before '$S1' after '$S2'"
	fi
	ct_switch b s "$T/empty.yaml" >/dev/null 2>&1
	ct_switch a s "$T/empty.yaml" >/dev/null 2>&1
	ct_use b
	tt_wait_running 0 30
	rm -rf "$B/shared" "$B/out" "$B/in"
}

[ -n "$HAVE_LITHOS" ] && case " $VARIANTS " in *" lithos"*) lithos_setup ;; esac
case " $VARIANTS " in *" lithos-ssh "*) ct_sshd b >/dev/null || bench_die "no sshd for host b (tests/lib/install-sshd.sh)" ;; esac
bench_note "$(bench_machine)"
bench_note "criu: $("$CRIU_TEST_BIN/criu" --version 2>/dev/null | head -n 1); soft-dirty: $("$CRIU_TEST_BIN/criu" check --feature mem_dirty_track >/dev/null 2>&1 && echo yes || echo no)"
for size in $SIZES; do
	config "c$size" "$size"
done
for r in $(seq "$RUNS"); do
	for size in $SIZES; do
		for v in $VARIANTS; do
			case $v in
			lxc) run_lxc "$size" 0 ;;
			lxc-pre) run_lxc "$size" 1 ;;
			lxc-shm) run_lxc "$size" 0 shm ;;
			lithos) [ -n "$HAVE_LITHOS" ] && run_lithos "$size" ;;
			lithos-mig) [ -n "$HAVE_LITHOS" ] && [ -x "$BENCH_BUILDDIR/lithos_migrate" ] && run_lithos_mig "$size" ;;
			lithos-ssh) [ -n "$HAVE_LITHOS" ] && [ -x "$BENCH_BUILDDIR/lithos_migrate" ] && run_lithos_mig "$size" ssh ;;
			esac
		done
	done
	bench_note "round $r/$RUNS done"
done

printf '\n%-10s %5s %4s | %-26s | %-26s | %-26s | %-9s | %-26s | %s\n' variant MiB n "checkpoint ms med (min-max)" \
	"restore ms med (min-max)" "freeze ms med (min-max)" "images MB" "total ms med (min-max)" "transfer ms"
stat_cell() { # FILE
	[ -s "$1" ] || { echo "-"; return; }
	bench_stats "$1" | awk '{ printf "%.0f (%.0f-%.0f)", $2, $4, $5 }'
}
for size in $SIZES; do
	for v in $VARIANTS; do
		f=$B/$v.$size
		n=$(cat "$f.checkpoint" 2>/dev/null | grep -c .)
		printf '%-10s %5s %4s | %-26s | %-26s | %-26s | %-9s | %-26s | %s\n' "$v" "$size" "$n" "$(stat_cell "$f.checkpoint")" \
			"$(stat_cell "$f.restore")" "$(stat_cell "$f.freeze")" "$(stat_cell "$f.mb" | cut -d' ' -f1)" \
			"$(stat_cell "$f.total")" "$(stat_cell "$f.transfer")"
	done
done
if [ -s "$B/failures" ]; then
	echo
	echo "failed runs (not counted):"
	sort "$B/failures" | uniq -c | sed 's/^/  /'
fi
