#!/bin/bash
# t0412: what lithos_tree carries across a reload (tree.state), and a state
# file of an older tree.  Entries: a (3 plain Daemon instances), r (1,
# restart-process-only: its deaths come over the events fifo).
# - a reload: same knots, inits and processes; r's in-place restart after
#   it is still counted (the events fifo carried over);
# - SIGKILL of the tree, a new tree adopts all 4 (pidfds), then a reload:
#   an adopted knot killed after the reload is seen (its pidfd carried
#   over), its container replaced; r still counted;
# - a knot that dies while the tree re-executes: the tree is killed, then
#   started as if re-executed (--reexec-state) with a state file in the
#   current format whose pidfds (opened by python before the knot of a.1 is
#   killed) are inherited: a.1 runs again in a new container, the others
#   run on untouched;
# - a state file of an older tree (format 1: no pidfd or fifo recorded)
#   naming a dead knot (a.2) and, for a.0, the pid of an unrelated process
#   (a reused pid; a.0's real knot killed): both are seen as gone and run
#   again in new containers, the unrelated process is not touched, a.1 and
#   r are adopted (same inits), r's in-place restarts still counted;
# - an upgrade in place: the tree's executable replaced (renamed over)
#   while it runs, then a reload re-executes the new file (the format 2
#   state written by it carries everything over);
# - SIGTERM stops everything, nothing left behind.
# TAP.  Needs root, LXC, busybox-static and python3 (os.pidfd_open).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/treetest.sh"
tt_init t0412

"$PYTHON" -c 'import os; os.pidfd_open' 2>/dev/null || skip_all "python3 without os.pidfd_open (3.9+)"
# the tree runs from a copy that the test replaces (upgrade in place)
mkdir -p "$T/bin"
cp "$LITHOS_TREE" "$T/bin/lithos_tree"
LITHOS_TREE=$T/bin/lithos_tree

itest_image
itest_master
itest_sandbox_1000 s
tt_config a <<'EOF'
kind: Daemon
user-id: 1000
group-id: 1000
executable: /bin/sleep
arguments: ["1000"]
kill-timeout: 2
restart-timeout: 0
EOF
tt_config r <<'EOF'
kind: Daemon
user-id: 1000
group-id: 1000
executable: /bin/sleep
arguments: ["1001"]
restart-process-only: true
kill-timeout: 2
restart-timeout: 0
EOF
tt_processes s <<'EOF'
a:
  kind: Daemon
  image: t/v1
  config: /config/a.yaml
  instances: 3
r:
  kind: Daemon
  image: t/v1
  config: /config/r.yaml
EOF
NAMES="s.a.0 s.a.1 s.a.2 s.r.0"
inits() { local n; for n in "$@"; do printf '%s ' "$(tt_init_pid "$n")"; done; }
apps() { local n; for n in "$@"; do printf '%s ' "$(tt_app_pid "$n")"; done; }
all_apps() { local n; for n in "$@"; do [ -n "$(tt_app_pid "$n")" ] || return 1; done; }
knots() { local n; for n in s/a.0 s/a.1 s/a.2 s/r.0; do printf '%s ' "$(tt_knot_pids $n)"; done; }
nknots() { pgrep -f "lithos_knot --name .* --master $MASTER( |\$)" | wc -l; }
is_knot() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q "lithos_knot --name $2 "; }
# r's process killed: restarted in place (same init), lithos_ps counts it
rpo_restart() { # WHAT
	local init app starts
	init=$(tt_init_pid s.r.0)
	app=$(tt_app_pid s.r.0)
	starts=$(tt_ps s/r.0 starts)
	kill -KILL "$app"
	tt_wait_for 10 '[ "$(tt_ps s/r.0 starts)" = $((starts + 1)) ] && [ -n "$(tt_app_pid s.r.0)" ] && [ "$(tt_app_pid s.r.0)" != "$app" ]'
	ok $? "$1: r's process killed, restarted in place and counted (starts $starts -> $(tt_ps s/r.0 starts))" ||
		diag_file "$TREE_LOG" "tree log"
	is "$(tt_init_pid s.r.0)" "$init" "$1: r runs on in the same container"
}

# restate.py FORMAT KILL DECOY TREE-ARGV...: the tree is dead; write the
# state file a tree re-executing itself would have written for the knots
# in runtime-dir/knots (format 2: with pidfds and fifo fds, inherited;
# format 1: without), kill the knots of the instances in KILL (lxc names,
# comma-separated, after opening their pidfds), name the pid DECOY=LXC:PID
# for that instance, then exec the tree with --reexec-state
cat >"$T/restate.py" <<'PYEOF'
import os, select, signal, sys
fmt, kill, decoy = sys.argv[1], sys.argv[2].split(","), sys.argv[3]
argv = sys.argv[4:]
knots = os.path.join(os.environ["RUNDIR"], "knots")
decoys = dict([decoy.split(":")]) if decoy != "-" else {}
lines = ["lithos-tree-state %s" % fmt, "reloads 7"]
for f in sorted(os.listdir(knots)):
    if not f.endswith(".pid"):
        continue
    lxc = f[:-4]
    pid, h, name = open(os.path.join(knots, f)).read().split()
    pid = int(pid)
    pfd = os.pidfd_open(pid)
    if lxc in kill:
        os.kill(pid, signal.SIGKILL)
        p = select.poll()
        p.register(pfd, select.POLLIN)
        if not p.poll(10000):
            sys.exit("knot %d did not die" % pid)
    ev = -1
    if fmt == "2":
        os.set_inheritable(pfd, True)
        fifo = os.path.join(knots, lxc + ".events")
        if os.path.exists(fifo):
            ev = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
            os.set_inheritable(ev, True)
    else:
        os.close(pfd)
        pfd = -1
    sb, rest = name.split("/", 1)
    proc = rest.rsplit(".", 1)[0]
    pid = int(decoys.get(lxc, pid))
    line = "child %s %s %s %s %s 0 %d 0 0.0 0.0 0.0 2.0 1 0 0 0 0 0 inputs -" % (lxc, name, sb, proc, h, pid)
    if fmt == "2":
        line += " fds %d %d" % (pfd, ev)
    lines.append(line)
path = os.path.join(os.environ["RUNDIR"], "test.state")
with open(path, "w") as f:
    f.write("\n".join(lines) + "\n")
os.execv(argv[0], argv + ["--reexec-state", path])
PYEOF
# tt_start_tree, through restate.py
start_restated() { # FORMAT KILL DECOY
	local i
	rm -f "$RUNDIR/status.json"
	echo "==== tree started by the test (state format $1) at $(date -u +%H:%M:%S.%N)" >>"$TREE_LOG"
	RUNDIR=$RUNDIR env --default-signal=INT,QUIT "$PYTHON" "$T/restate.py" "$1" "$2" "$3" \
		"$LITHOS_TREE" -C "$MASTER" --log-stderr --log-level debug </dev/null >>"$TREE_LOG" 2>&1 &
	TREE=$!
	TREE_PIDS="$TREE_PIDS $TREE"
	for i in $(seq 300); do
		kill -0 "$TREE" 2>/dev/null || { diag_file "$TREE_LOG" "tree log"; return 1; }
		[ "$(cat "$RUNDIR/master.pid" 2>/dev/null)" = "$TREE" ] && [ -s "$RUNDIR/status.json" ] &&
			return 0
		sleep 0.05
	done
	return 1
}

# ---- start, reload
tt_start_tree || bail_out "lithos_tree did not start"
tt_wait_running 4 20 "all_apps $NAMES"
ok $? "lxc-ls: 4 containers run"
I0=$(inits $NAMES)
A0=$(apps $NAMES)
K0=$(knots)
tt_log_mark reload1
tt_quit || bail_out "reload failed"
is "$(knots) / $(inits $NAMES) / $(apps $NAMES)" "$K0 / $I0 / $A0" "reload: same knots, inits and processes"
unlike "$(tt_log_since reload1)" 'is gone' "reload: no knot reported gone"
is "$(tt_ps_running)" 4 "lithos_ps: 4 running after the reload"
rpo_restart "after a reload"

# ---- crash, adoption, reload: the pidfds of adopted knots carried over
tt_kill_tree
tt_start_tree || bail_out "second lithos_tree did not start"
tt_wait_for 10 '[ "$(grep -c "Adopted s/" "$TREE_LOG")" -ge 4 ]'
ok $? "the new tree adopted the 4 instances"
I1=$(inits $NAMES)
K1=$(knots)
tt_quit || bail_out "reload of the adopting tree failed"
is "$(inits $NAMES) / $(knots)" "$I1 / $K1" "adopted, then reloaded: same inits and knots"
tt_log_mark kill-adopted
knot=$(tt_knot_pids s/a.0)
init=$(tt_init_pid s.a.0)
kill -KILL "$knot"
tt_wait_for 10 '[ -n "$(tt_app_pid s.a.0)" ] && [ "$(tt_init_pid s.a.0)" != "$init" ]'
ok $? "an adopted knot killed after a reload: seen, a.0 runs in a new container" ||
	diag_file "$TREE_LOG" "tree log"
like "$(tt_log_since kill-adopted)" 's/a\.0 exited with' "the tree logged a.0's end"
is "$(tt_knot_pids s/a.0 | wc -w)" 1 "one knot for a.0"
rpo_restart "adopted, then reloaded"

# ---- a knot that dies while the tree re-executes (state format 2)
I2=$(inits $NAMES)
K2=$(knots)
old_a1=$(tt_knot_pids s/a.1)
tt_kill_tree
tt_log_mark restate2
start_restated 2 s.a.1 - || bail_out "the tree did not start with a format 2 state"
tt_wait_for 15 '[ -n "$(tt_app_pid s.a.1)" ] && [ "$(tt_init_pid s.a.1)" != "$(echo $I2 | cut -d" " -f2)" ]'
ok $? "format 2, a.1's knot died meanwhile: a.1 runs again in a new container" ||
	diag_file "$TREE_LOG" "tree log"
is "$(inits s.a.0 s.a.2 s.r.0)" "$(echo "$I2" | cut -d' ' -f1,3,4) " "the others run on in their containers"
is "$(tt_knot_pids s/a.0) $(tt_knot_pids s/a.2) $(tt_knot_pids s/r.0)" "$(echo "$K2" | cut -d' ' -f1,3,4)" "with the same knots"
like "$(tt_log_since restate2)" 'Reloaded \(pid [0-9]+\); 4 instances carried over' "the tree took the 4 instances from the state file"
unlike "$(tt_log_since restate2)" 'Adopted' "and adopted nothing by the knot records"
is "$(nknots)" 4 "pgrep: 4 knots"
tt_wait_gone 5 "$old_a1"
ok $? "the killed knot is gone"
rpo_restart "format 2 state"

# ---- a state file of an older tree: dead knot, reused pid
I3=$(inits $NAMES)
sleep 1000 &
DECOY=$!
tt_kill_tree
# a.0's knot is killed and its pid "reused" by the decoy; a.2's knot killed
tt_log_mark restate1
start_restated 1 s.a.0,s.a.2 "s.a.0:$DECOY" || bail_out "the tree did not start with a format 1 state"
tt_wait_for 15 'all_apps $NAMES && [ "$(tt_init_pid s.a.0)" != "$(echo $I3 | cut -d" " -f1)" ] && [ "$(tt_init_pid s.a.2)" != "$(echo $I3 | cut -d" " -f3)" ]'
ok $? "format 1: a.0 (pid reused) and a.2 (knot dead) run again in new containers" ||
	diag_file "$TREE_LOG" "tree log"
is "$(inits s.a.1 s.r.0)" "$(echo "$I3" | cut -d' ' -f2,4) " "a.1 and r adopted: same inits"
like "$(tt_log_since restate1)" 's/a\.0: its knot \(pid [0-9]+\) is gone' "the tree logs a.0's knot gone"
like "$(tt_log_since restate1)" 's/a\.2: its knot \(pid [0-9]+\) is gone' "and a.2's"
ok $(kill -0 "$DECOY" 2>/dev/null && echo 0 || echo 1) "the process with a.0's old pid was not touched"
k=$(tt_ps s/a.0 knot_pid)
ok $(is_knot "$k" s/a.0 && echo 0 || echo 1) "lithos_ps: a.0's knot pid ($k) is a.0's knot, not the decoy ($DECOY)"
is "$(nknots)" 4 "pgrep: 4 knots"
is "$(tt_ps_running)" 4 "lithos_ps: 4 running"
rpo_restart "format 1 state"
kill "$DECOY"
wait "$DECOY" 2>/dev/null

# ---- upgrade in place: the executable renamed over, then a reload
I4=$(inits $NAMES)
cp "$T/bin/lithos_tree" "$T/bin/lithos_tree.new"
mv -f "$T/bin/lithos_tree.new" "$T/bin/lithos_tree"
tt_log_mark upgrade
tt_quit
ok $? "after the executable was replaced, a reload re-executes it" || diag_file "$TREE_LOG" "tree log"
unlike "$(tt_log_since upgrade)" 'Reload failed' "no failed reload"
ok $(readlink "/proc/$TREE/exe" | grep -q deleted && echo 1 || echo 0) "the tree runs the new file"
is "$(inits $NAMES)" "$I4" "the instances run on untouched"

# ---- stop
tt_stop_tree
is "$rc" 0 "lithos_tree exits 0 on SIGTERM"
is "$(tt_nrunning)" 0 "lxc-ls: nothing runs"
tt_check_clean "t0412" $NAMES
done_testing
