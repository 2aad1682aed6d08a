#!/bin/bash
# t0413: whom lithos_switch and lithos_restore signal.  lithos_switch
# installs the config, then sends SIGQUIT to the process named by
# RUNTIME/master.pid only if that process holds the lock on the file (a
# running lithos_tree does), through a pidfd opened before that check (a
# pid reused after it gets nothing); lithos_restore sends SIGUSR1 the same
# way (tree_signal in supervisor/treesignal.c), with --discard and after leaving
# a restore request.  Stand-ins (python3, no tree, no container) hold or do
# not hold the lock:
# - no pid file: exit 3, "no pid";
# - the pid file names a live process and nobody holds the lock (a stale
#   file whose pid was reused): exit 3, that process is not signalled;
# - the lock is held by another process than the one the file names (a
#   new tree that has locked the file but not yet written its pid, the old
#   pid reused): exit 3, neither is signalled; lithos_restore --discard
#   signals neither either, and a restore says no tree runs (exit 4) and
#   leaves no request (the old code sent SIGUSR1 to the named process);
# - the file names the lock holder: exit 0, "sent SIGQUIT to lithos_tree
#   (pid N)", and that process gets SIGQUIT; lithos_restore --discard and
#   a restore (--no-wait) send it SIGUSR1, the restore after writing its
#   request.
# - a restore whose signal fails after the request is written (the
#   "tree" ends during lithos_restore's `criu check`): exit 4, the request
#   withdrawn and the instance's checkpoint marker (NAME.away) left as it
#   was (it was removed, and the tree could later start the instance
#   fresh while its checkpoint lives elsewhere).
# - a restore that gets no result in --timeout (the "tree" never takes the
#   request): exit 5, the request withdrawn and the marker put back.
# lithos_ps says the tree runs only in the last case.
# The last case again with the runtime directory on btrfs (a loop image):
# there fstat's st_dev of master.pid (the subvolume's anonymous device)
# is not the device /proc/locks prints (the superblock's), and a check
# that wanted both equal took the tree for a stale pid file; skipped
# without mkfs.btrfs (btrfs-progs), btrfs or loop devices.
# The restore points need a working criu (lithos_restore checks it before
# it signals); they are skipped without one.
# The real tree's reload through lithos_switch: t0404, t0603, t0607.
# TAP.  Needs root (itest_init), python3.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/itest.sh"
itest_init t0413
LITHOS_SWITCH=$top_builddir/lithos_switch
PY=/usr/bin/python3
[ -x "$PY" ] || skip_all "python3 is needed for the stand-in processes"

itest_image
itest_master
itest_sandbox_1000 s
itest_command s c <<'EOF'
kind: Command
user-id: 1000
group-id: 1000
executable: /bin/true
EOF
cp "$ETC/processes/s.yaml" "$T/new.yaml"
mkdir -p "$T/run"
PIDFILE=$T/run/master.pid

# standin NAME [lock] [write]: a process that writes "quit" to $T/NAME.got
# on SIGQUIT (and exits) and a line "usr1" to $T/NAME.usr1 on each SIGUSR1;
# with lock it takes the exclusive flock on
# $PIDFILE itself, with write it also writes its pid there.  Sets SPID once
# it is ready.
standin() {
	rm -f "$T/$1.ready" "$T/$1.got" "$T/$1.usr1"
	"$PY" - "$T/$1" "$PIDFILE" "${2:-}" "${3:-}" <<'PYEOF' &
import fcntl, os, signal, sys, time
base, pidfile, lock, write = sys.argv[1:5]
def quit(sig, frame):
    open(base + ".got", "w").write("quit\n")
    sys.exit(0)
def usr1(sig, frame):
    with open(base + ".usr1", "a") as f:
        f.write("usr1\n")
signal.signal(signal.SIGQUIT, quit)
signal.signal(signal.SIGUSR1, usr1)
if lock:
    fd = os.open(pidfile, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    if write:
        os.ftruncate(fd, 0)
        os.write(fd, b"%d\n" % os.getpid())
open(base + ".ready", "w").write("1")
deadline = time.time() + 60
while time.time() < deadline:
    time.sleep(0.05)
PYEOF
	SPID=$!
	ITEST_PIDS="$ITEST_PIDS $SPID"
	for i in $(seq 100); do [ -e "$T/$1.ready" ] && return 0; sleep 0.05; done
	bail_out "the stand-in $1 did not start"
}
switch() {
	out=$("$LITHOS_SWITCH" --master "$MASTER" s "$T/new.yaml" 2>"$T/err")
	rc=$?
	err=$(cat "$T/err")
}
alive() { kill -0 "$1" 2>/dev/null; }
usr1s() { [ -e "$T/$1.usr1" ] && wc -l <"$T/$1.usr1" || echo 0; }

# lithos_restore of a fake checkpoint (inventory.img and the lithos-checkpoint
# file are all it reads before it signals); it needs a working criu
LITHOS_RESTORE=$top_builddir/lithos_restore
CRIU_BIN=${LITHOS_CRIU_PREFIX:-/opt/lithos-criu}/test-bin
if [ -x "$CRIU_BIN/criu" ] && timeout 30 "$CRIU_BIN/criu" check >/dev/null 2>&1; then
	export PATH=$CRIU_BIN:$PATH
	CRIU_WHY=
else
	CRIU_WHY="no working criu ($CRIU_BIN/criu check)"
fi
mkdir -p "$T/ckpt"
: >"$T/ckpt/inventory.img"
printf 'instance s/x.0\nkind final\n' >"$T/ckpt/lithos-checkpoint"
REQ=$T/run/knots/s.x.0.restore
restore() {
	rout=$("$LITHOS_RESTORE" -C "$MASTER" "$@" 2>"$T/rerr")
	rrc=$?
	rerr=$(cat "$T/rerr")
}

# ---- no pid file
switch
is "$rc" 3 "no pid file: exit 3"
like "$err" "no lithos_tree to signal \($(re "$PIDFILE")\): no pid$" "it says there is no pid" || diag "$err"

# the sandbox's config-file names the processes config lithos_switch
# installs: processes-dir/other.yaml, not processes-dir/o.yaml
printf 'config-file: other.yaml\nallow-users: [1000]\nallow-groups: [1000]\n' | itest_sandbox o
printf 'c:\n  kind: Command\n  image: t/v1\n  config: /config/s.c.yaml\n' >"$T/new-o.yaml"
"$LITHOS_SWITCH" --master "$MASTER" o "$T/new-o.yaml" >"$T/out" 2>"$T/err"
is "$?" 3 "sandbox with config-file: other.yaml, no pid file: exit 3" || diag_file "$T/err"
is "$(cat "$ETC/processes/other.yaml" 2>&1)" "$(cat "$T/new-o.yaml")" \
	"config-file: other.yaml: lithos_switch installed processes-dir/other.yaml"
is "$(wc -c <"$ETC/processes/o.yaml")" 0 "config-file: other.yaml: processes-dir/o.yaml left as it was (empty)"

# ---- stale: the file names a live process, nobody holds the lock
standin victim
V=$SPID
echo "$V" >"$PIDFILE"
switch
is "$rc" 3 "a stale pid file naming a live process: exit 3"
like "$err" "pid $V does not hold its lock: a stale pid file" "it says the pid file is stale" || diag "$err"
sleep 0.3
ok "$(alive "$V" && [ ! -e "$T/victim.got" ]; echo $?)" "that process got no SIGQUIT"
like "$("$top_builddir/lithos_ps" -C "$MASTER" --json)" "^\{\"tree_pid\":$V,\"tree_running\":false," \
	"lithos_ps: a stale pid file naming a live process: the tree does not run"

# ---- the lock is another process's than the one named
standin holder lock
H=$SPID
echo "$V" >"$PIDFILE"
switch
is "$rc" 3 "the lock held by another process than the named one: exit 3"
like "$err" "pid $V does not hold its lock" "it says the named pid does not hold the lock" || diag "$err"
sleep 0.3
ok "$(alive "$V" && [ ! -e "$T/victim.got" ] && alive "$H" && [ ! -e "$T/holder.got" ]; echo $?)" \
	"neither the named process nor the lock holder got SIGQUIT"
restore --discard s/x.0
is "$rrc" 0 "lithos_restore --discard, the lock another process's: exit 0" || diag "$rerr"
if [ -z "$CRIU_WHY" ]; then
	restore --no-wait s/x.0 "$T/ckpt"
	is "$rrc" 4 "lithos_restore, the lock another process's: exit 4" || diag "$rout" "$rerr"
	like "$rerr" "no lithos_tree runs" "it says no tree runs" || diag "$rerr"
	ok "$([ ! -e "$REQ" ]; echo $?)" "it left no restore request"
else
	for d in "restore: exit 4" "it says no tree runs" "it left no restore request"; do
		skip "lithos_restore, the lock another process's: $d" "$CRIU_WHY"
	done
fi
sleep 0.3
is "$(usr1s victim) $(usr1s holder)" "0 0" "neither the named process nor the lock holder got SIGUSR1"
ok "$(alive "$V" && alive "$H"; echo $?)" "both still run"
kill "$H" "$V"
wait "$H" "$V" 2>/dev/null

# ---- a "tree": holds the lock and wrote its pid
standin tree lock write
TP=$SPID
is "$(cat "$PIDFILE")" "$TP" "the stand-in tree wrote its pid"
like "$("$top_builddir/lithos_ps" -C "$MASTER" --json)" "^\{\"tree_pid\":$TP,\"tree_running\":true," \
	"lithos_ps: the file names the lock holder: the tree runs"
switch
is "$rc" 0 "the file names the lock holder: exit 0" || diag "$err"
like "$out" "^sent SIGQUIT to lithos_tree \(pid $TP\)$" "it says whom it signalled"
for i in $(seq 50); do [ -e "$T/tree.got" ] && break; sleep 0.1; done
is "$(cat "$T/tree.got" 2>/dev/null)" "quit" "the lock holder got SIGQUIT"
wait "$TP" 2>/dev/null

# ---- lithos_restore and a "tree"
standin tree lock write
TP=$SPID
restore --discard s/x.0
is "$rrc" 0 "lithos_restore --discard, the file naming the lock holder: exit 0" || diag "$rerr"
for i in $(seq 50); do [ "$(usr1s tree)" -ge 1 ] && break; sleep 0.1; done
is "$(usr1s tree)" 1 "the lock holder got SIGUSR1"
if [ -z "$CRIU_WHY" ]; then
	restore --no-wait s/x.0 "$T/ckpt"
	is "$rrc" 0 "lithos_restore --no-wait, the file naming the lock holder: exit 0" || diag "$rerr"
	like "$rout" "^queued restore of s/x\.0 from $(re "$T/ckpt") \(lithos_tree $TP " "it says it queued the request for that tree"
	is "$(cat "$REQ" 2>/dev/null)" "$T/ckpt" "the request names the checkpoint"
	for i in $(seq 50); do [ "$(usr1s tree)" -ge 2 ] && break; sleep 0.1; done
	is "$(usr1s tree)" 2 "the lock holder got SIGUSR1 again"
else
	for d in "exit 0" "it says it queued the request" "the request names the checkpoint" "SIGUSR1 again"; do
		skip "lithos_restore --no-wait, the file naming the lock holder: $d" "$CRIU_WHY"
	done
fi
ok "$(alive "$TP" && [ ! -e "$T/tree.got" ]; echo $?)" "it still runs (no SIGQUIT)"
kill "$TP"
wait "$TP" 2>/dev/null

# ---- a restore whose signal fails after the request is written: a criu
# ---- that kills the "tree" at `criu check` (after the first check that a
# ---- tree runs, before the request)
AWAY=$T/run/knots/s.x.0.away
if [ -z "$CRIU_WHY" ]; then
	rm -f "$REQ"
	printf '%s\n' "$T/elsewhere" >"$AWAY"
	standin tree lock write
	TP=$SPID
	mkdir -p "$T/killcriu"
	cat >"$T/killcriu/criu" <<EOF
#!/bin/sh
[ "\$1" = check ] && kill -KILL $TP
exec "$CRIU_BIN/criu" "\$@"
EOF
	chmod +x "$T/killcriu/criu"
	PATH=$T/killcriu:$PATH restore --no-wait s/x.0 "$T/ckpt"
	wait "$TP" 2>/dev/null
	is "$rrc" 4 "lithos_restore, the tree gone before the signal: exit 4" || diag "$rout" "$rerr"
	like "$rerr" "cannot signal lithos_tree" "it says it cannot signal the tree" || diag "$rerr"
	ok "$([ ! -e "$REQ" ]; echo $?)" "it withdrew its restore request"
	is "$(cat "$AWAY" 2>/dev/null)" "$T/elsewhere" "the checkpoint marker (away) is left as it was"
	rm -f "$AWAY"
else
	for d in "exit 4" "it says it cannot signal the tree" "it withdrew its restore request" \
		"the checkpoint marker (away) is left as it was"; do
		skip "lithos_restore, the tree gone before the signal: $d" "$CRIU_WHY"
	done
fi

# ---- a restore that times out: the "tree" never takes the request
if [ -z "$CRIU_WHY" ]; then
	rm -f "$REQ"
	printf '%s\n' "$T/elsewhere" >"$AWAY"
	standin tree lock write
	TP=$SPID
	restore --timeout 1 s/x.0 "$T/ckpt"
	is "$rrc" 5 "lithos_restore, no result within --timeout 1: exit 5" || diag "$rout" "$rerr"
	like "$rerr" "no result after 1 s; the request was withdrawn" "it says it withdrew the request" || diag "$rerr"
	ok "$([ ! -e "$REQ" ]; echo $?)" "the request is gone"
	is "$(cat "$AWAY" 2>/dev/null)" "$T/elsewhere" "the checkpoint marker (away) is put back as it was"
	kill "$TP"
	wait "$TP" 2>/dev/null
	rm -f "$AWAY"
else
	for d in "exit 5" "it says it withdrew the request" "the request is gone" \
		"the checkpoint marker (away) is put back as it was"; do
		skip "lithos_restore, no result within --timeout 1: $d" "$CRIU_WHY"
	done
fi

# ---- a "tree" whose runtime directory is on btrfs
BTRFS_WHY=
if ! command -v mkfs.btrfs >/dev/null; then
	BTRFS_WHY="no mkfs.btrfs (btrfs-progs)"
elif ! truncate -s 128M "$T/btrfs.img" || ! mkfs.btrfs -q -f "$T/btrfs.img" >/dev/null 2>&1; then
	BTRFS_WHY="mkfs.btrfs of a 128M image failed"
elif ! mount -o loop -t btrfs "$T/btrfs.img" "$T/run" 2>"$T/merr"; then
	BTRFS_WHY="cannot mount a btrfs loop image: $(cat "$T/merr")"
fi
if [ -z "$BTRFS_WHY" ]; then
	standin tree lock write
	TP=$SPID
	fdev=$("$PY" -c 'import os, sys; d = os.stat(sys.argv[1]).st_dev; print("%02x:%02x" % (os.major(d), os.minor(d)))' "$PIDFILE")
	ldev=$(awk -v p="$TP" '$2 == "FLOCK" && $5 == p { split($6, a, ":"); print a[1] ":" a[2] }' /proc/locks)
	ok "$([ -n "$ldev" ] && [ "$fdev" != "$ldev" ]; echo $?)" \
		"btrfs: master.pid's st_dev ($fdev) is not the device of its lock in /proc/locks ($ldev)"
	like "$("$top_builddir/lithos_ps" -C "$MASTER" --json)" "^\{\"tree_pid\":$TP,\"tree_running\":true," \
		"lithos_ps, btrfs: the file names the lock holder: the tree runs"
	switch
	is "$rc" 0 "btrfs: the file names the lock holder: exit 0" || diag "$err"
	for i in $(seq 50); do [ -e "$T/tree.got" ] && break; sleep 0.1; done
	is "$(cat "$T/tree.got" 2>/dev/null)" "quit" "btrfs: the lock holder got SIGQUIT"
	wait "$TP" 2>/dev/null
	umount "$T/run"
else
	for d in "st_dev is not the lock's device" "lithos_ps: the tree runs" "exit 0" "the lock holder got SIGQUIT"; do
		skip "btrfs: $d" "$BTRFS_WHY"
	done
fi
rm -f "$T/btrfs.img"

cmp -s "$ETC/processes/s.yaml" "$T/new.yaml"
ok $? "the config was installed every time"
done_testing
