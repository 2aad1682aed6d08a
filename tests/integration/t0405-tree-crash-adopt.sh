#!/bin/bash
# t0405: lithos_tree killed with SIGKILL, then a new tree.
# - while no tree runs the containers and their knots keep running (same
#   init and process pids), lithos_ps says no tree runs;
# - the new tree adopts the instances whose config is unchanged (same init
#   pids, no second container or knot for any instance), restarts the one
#   changed meanwhile with its new config, and stops and cleans one removed
#   meanwhile;
# - adopted instances are supervised: their process killed -> restarted;
#   their knot killed -> container killed and restarted;
# - SIGTERM stops the adopted instances too; nothing left behind;
# - an adopted knot is signalled through its pidfd, not its pid: with the
#   tree's first signal held back (strace -e inject=...:delay_enter), the
#   knot it targets is killed and its pid given to a decoy (ns_last_pid);
#   the decoy must survive the signal meant for the dead knot.
# Counts of running containers (lxc-ls, lithos_ps, pgrep) after each step.
# TAP.  Needs root, LXC, busybox-static and python3.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/treetest.sh"
tt_init t0405

itest_image
itest_master
itest_sandbox_1000 s
for c in a b one two; do
	tt_config $c <<EOF
kind: Daemon
user-id: 1000
group-id: 1000
executable: /bin/sleep
arguments: ["1000"]
environ: {MARK: "$c"}
kill-timeout: 2
restart-timeout: 1
EOF
done
entry() { printf '%s:\n  kind: Daemon\n  image: t/v1\n  config: /config/%s.yaml\n  instances: %s\n' "$1" "$2" "${3:-1}"; }
NAMES="s.a.0 s.a.1 s.b.0 s.c.0"
mark_of() { tr '\0' '\n' <"/proc/$1/environ" 2>/dev/null | sed -n 's/^MARK=//p'; }
inits() { local n; for n in "$@"; do printf '%s ' "$(tt_init_pid "$n")"; done; }
apps() { local n; for n in "$@"; do printf '%s ' "$(tt_app_pid "$n")"; done; }
all_apps() { local n; for n in "$@"; do [ -n "$(tt_app_pid "$n")" ] || return 1; done; }
nknots() { pgrep -f "lithos_knot --name .* --master $MASTER( |\$)" | wc -l; }
ps_tree_running() { tt_ps_json | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["tree_running"])'; }

{ entry a a 2; entry b b; entry c one; } | tt_processes s
tt_start_tree || bail_out "lithos_tree did not start"
tt_wait_running 4 20 "all_apps $NAMES"
ok $? "lxc-ls: 4 containers run"
is "$(tt_ps_running)" 4 "lithos_ps: 4 running"
is "$(nknots)" 4 "pgrep: 4 knots"
I0=$(inits $NAMES)
A0=$(apps $NAMES)
knots0=$(pgrep -f "lithos_knot --name .* --master $MASTER( |\$)" | sort -n | tr '\n' ' ')

# ---- SIGKILL the tree: everything runs on
tt_kill_tree
sleep 1
is "$(tt_nrunning)" 4 "lxc-ls: 4 containers still run without a tree"
is "$(inits $NAMES)" "$I0" "same container inits"
is "$(apps $NAMES)" "$A0" "same processes"
is "$(pgrep -f "lithos_knot --name .* --master $MASTER( |\$)" | sort -n | tr '\n' ' ')" "$knots0" "same knots"
is "$(ps_tree_running)" False "lithos_ps: no tree runs"

# ---- meanwhile: c changes, b is removed (checked in the next round)
{ entry a a 2; entry b b; entry c two; } | tt_processes s
tt_start_tree || bail_out "second lithos_tree did not start"
tt_wait_running 4 20 "all_apps $NAMES && [ \"\$(mark_of \"\$(tt_app_pid s.c.0)\")\" = two ]"
ok $? "lxc-ls: 4 containers, c with its new config"
is "$(inits s.a.0 s.a.1 s.b.0)" "$(echo "$I0" | cut -d' ' -f1-3) " "a.0, a.1, b.0 adopted: same inits"
ok $([ "$(tt_init_pid s.c.0)" != "$(echo "$I0" | cut -d' ' -f4)" ] && echo 0 || echo 1) "c.0 (changed) runs in a new container"
is "$(mark_of "$(tt_app_pid s.c.0)")" two "c.0 runs the new config"
is "$(nknots)" 4 "pgrep: 4 knots, one per instance"
for n in s/a.0 s/a.1 s/b.0 s/c.0; do
	is "$(tt_knot_pids $n | wc -w)" 1 "pgrep -f 'lithos_knot --name $n': exactly one"
done
is "$(tt_ps_running)" 4 "lithos_ps: 4 running"
is "$(tt_running | tr '\n' ' ')" "s.a.0 s.a.1 s.b.0 s.c.0 " "lxc-ls: no duplicate"
like "$(cat "$TREE_LOG")" 'Adopted s/a\.0 \(knot pid [0-9]+\)' "the tree logs the adoption of a.0"

# ---- adopted instances are supervised
tt_log_mark kill-app
app=$(tt_app_pid s.a.0)
init=$(tt_init_pid s.a.0)
kill -KILL "$app"
tt_wait_for 10 '[ -n "$(tt_app_pid s.a.0)" ] && [ "$(tt_init_pid s.a.0)" != "$init" ]'
ok $? "adopted a.0 whose process was killed runs again in a new container"
like "$(tt_log_since kill-app)" 's/a\.0 exited with 137' "the tree saw its death (exit 137)"
is "$(tt_nrunning)" 4 "lxc-ls: 4 containers"
is "$(tt_knot_pids s/a.0 | wc -w)" 1 "one knot for a.0"

tt_log_mark kill-knot
knot=$(tt_ps s/a.1 knot_pid)
init=$(tt_init_pid s.a.1)
app=$(tt_app_pid s.a.1)
kill -KILL "$knot"
tt_wait_gone 10 "$app" "$init"
ok $? "adopted a.1 whose knot was killed: its container is killed"
tt_wait_for 10 '[ -n "$(tt_app_pid s.a.1)" ] && [ "$(tt_init_pid s.a.1)" != "$init" ]'
ok $? "and it runs again in a new container"
is "$(tt_knot_pids s/a.1 | wc -w)" 1 "one knot for a.1"
is "$(tt_nrunning)" 4 "lxc-ls: 4 containers"
is "$(tt_ps_running)" 4 "lithos_ps: 4 running"

# ---- SIGKILL again; b removed meanwhile
I1=$(inits s.a.0 s.a.1 s.c.0)
b_app=$(tt_app_pid s.b.0)
tt_kill_tree
{ entry a a 2; entry c two; } | tt_processes s
sleep 0.5
is "$(tt_nrunning)" 4 "lxc-ls: 4 containers run without a tree"
tt_start_tree || bail_out "third lithos_tree did not start"
tt_wait_running 3 15 'all_apps s.a.0 s.a.1 s.c.0'
ok $? "lxc-ls: 3 containers after the restart without b"
is "$(tt_running | tr '\n' ' ')" "s.a.0 s.a.1 s.c.0 " "lxc-ls: a.0, a.1, c.0"
is "$(inits s.a.0 s.a.1 s.c.0)" "$I1" "a.0, a.1 and c.0 adopted"
tt_wait_gone 5 "$b_app"
ok $? "b's process is gone"
tt_wait_for 5 '[ ! -e "$LXCPATH/s.b.0" ] && [ ! -e "$STATE_DIR/s.b.0" ] && [ -z "$(tt_cgroup_dirs s.b.0)" ]'
ok $? "b's LXC dir, state dir and cgroups are gone"
is "$(nknots)" 3 "pgrep: 3 knots"
is "$(tt_ps_summary | tr '\n' ' ')" "s/a.0 running s/a.1 running s/c.0 running " "lithos_ps: a.0, a.1, c.0 running"

# ---- SIGTERM with the first signal held back 4 s, the pid of its target
# reused meanwhile.  The init records go aside so that the tree signals the
# knots themselves (the SIGTERM goes to the container's init otherwise).
# decoy_at PID: a sleep with exactly that pid (0 on success)
decoy_at() {
	"$PYTHON" - "$1" <<'PYEOF'
import os, sys
want = int(sys.argv[1])
# the pid counter goes back to where it was after the decoy: left at the
# decoy's pid, the shell's next forks would walk up through the pids of
# this run, the tree's among them once it has exited, and bash forgets a
# background job's status when a new child of its own takes the same pid
# (wait then says 127)
with open("/proc/sys/kernel/ns_last_pid") as f:
    last = int(f.read())
def restore():
    with open("/proc/sys/kernel/ns_last_pid", "w") as f:
        f.write(str(last))
for _ in range(500):
    with open("/proc/sys/kernel/ns_last_pid", "w") as f:
        f.write(str(want - 1))
    pid = os.fork()
    if pid == 0:
        if os.getpid() == want:
            fd = os.open("/dev/null", os.O_RDWR)
            for i in (0, 1, 2):
                os.dup2(fd, i)
            os.execvp("sleep", ["sleep", "120"])
        os._exit(0)
    if pid == want:
        restore()
        sys.exit(0)
    os.waitpid(pid, 0)
restore()
sys.exit(1)
PYEOF
}
# the target of the signal the tree is held in: the pid of kill(), the
# process of pidfd_send_signal()'s pidfd
held_target() {
	local nr a0 a1
	read -r nr a0 a1 _ 2>/dev/null <"/proc/$TREE/syscall" || return 1
	case $nr in
	62) echo "$((a0)) $((a1)) kill" ;;
	424) echo "$(awk '$1 == "Pid:" { print $2 }' "/proc/$TREE/fdinfo/$((a0))") $((a1)) pidfd" ;;
	*) return 1 ;;
	esac
}
if ! command -v strace >/dev/null; then
	for d in "the tree is held in a signal to a knot" "the decoy with the dead knot's pid survives the signal"; do
		skip "$d" "strace is not installed"
	done
elif ! [ -w /proc/sys/kernel/ns_last_pid ]; then
	for d in "the tree is held in a signal to a knot" "the decoy with the dead knot's pid survives the signal"; do
		skip "$d" "/proc/sys/kernel/ns_last_pid is not writable (not the initial pid namespace)"
	done
else
	for f in "$RUNDIR"/knots/*.init; do mv "$f" "$f.aside"; done
	strace -p "$TREE" -o "$T/strace.log" -e trace=kill,pidfd_send_signal \
		-e inject=kill,pidfd_send_signal:delay_enter=4000000:when=1 2>"$T/strace.err" &
	STRACE=$!
	tt_wait_for 5 'grep -qx "TracerPid:[[:space:]]*$STRACE" "/proc/$TREE/status"' ||
		diag "strace did not attach to the tree"
	kill -TERM "$TREE"
	tt_wait_for 5 'held_target >/dev/null'
	read -r victim sig how < <(held_target)
	for f in "$RUNDIR"/knots/*.init.aside; do mv "$f" "${f%.aside}"; done
	ok $([ -n "${victim:-}" ] && [ "${sig:-}" = 15 ] && pgrep -f "lithos_knot --name .* --master $MASTER( |\$)" | grep -qx "$victim" && echo 0 || echo 1) \
		"the tree is held in a signal to a knot (SIGTERM to pid ${victim:-?} by ${how:-?})"
	decoy=
	if [ -n "${victim:-}" ]; then
		kill -KILL "$victim"
		tt_wait_for 3 '[ ! -e "/proc/$victim" ]' && decoy_at "$victim" && decoy=$victim
	fi
	[ -n "$decoy" ] || diag "no decoy with pid ${victim:-?}: it was not freed or was taken by another process"
	# the held signal goes now; the tree stops the others and sees the
	# killed knot's death through its pidfd
	tt_wait_for 8 '! held_target >/dev/null'
	sleep 0.5
	ok $([ -n "$decoy" ] && [ "$(awk '{print $3}' "/proc/$decoy/stat" 2>/dev/null)" = S ] &&
		[ "$(tr '\0' ' ' <"/proc/$decoy/cmdline" 2>/dev/null)" = "sleep 120 " ] && echo 0 || echo 1) \
		"the decoy with the dead knot's pid survives the signal"
	diag_file "$T/strace.log" "strace"
	[ -n "$decoy" ] && kill -KILL "$decoy" 2>/dev/null
fi

tt_stop_tree TERM
[ -n "${STRACE:-}" ] && wait "$STRACE" 2>/dev/null
is "$rc" 0 "lithos_tree exits 0 on SIGTERM"
is "$(tt_nrunning)" 0 "lxc-ls: the adopted containers were stopped"
tt_check_clean "after SIGTERM" $NAMES
done_testing
