#!/bin/bash
# t0404: SIGQUIT reloads of lithos_tree with real containers, and
# lithos_switch.
# - one reload with unchanged (keep, 2 instances), changed (change: other
#   container config), removed (remove) and added (add) entries: unchanged
#   instances keep identical knot, init and process pids; the changed one
#   restarts with the new config; the removed one is stopped and its LXC
#   dir, state dir, cgroups and knot records are gone; the added one starts;
#   the tree keeps its pid;
# - ten SIGQUITs within 50 ms, ten more within half a second: the tree keeps running (same pid, one
#   --lock-fd on its command line) with exactly the configured containers,
#   unchanged pids;
# - a reload with a broken processes file changes nothing (the sandbox keeps
#   its last good configs, t0420 has more) and the tree logs why;
# - lithos_switch with an invalid file exits non-zero, leaves the installed
#   file and every container alone; with a valid one it installs it and
#   the tree applies it.
# Counts of running containers (lxc-ls, lithos_ps) after each step; nothing
# left behind at the end.
# TAP.  Needs root, LXC, busybox-static and python3.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/treetest.sh"
tt_init t0404

itest_image
itest_master
itest_sandbox_1000 s
for c in keep one two remove add; do
	tt_config $c <<EOF
kind: Daemon
user-id: 1000
group-id: 1000
executable: /bin/sleep
arguments: ["1000"]
environ: {MARK: "$c"}
kill-timeout: 2
EOF
done
entry() { # NAME CONFIG [INSTANCES]
	printf '%s:\n  kind: Daemon\n  image: t/v1\n  config: /config/%s.yaml\n  instances: %s\n' "$1" "$2" "${3:-1}"
}
v1() { entry keep keep 2; entry change one; entry remove remove; }
v2() { entry keep keep 2; entry change two; entry add add; }
v3() { entry keep keep 2; entry change two; }
NAMES="s.keep.0 s.keep.1 s.change.0 s.remove.0 s.add.0"
mark_of() { tr '\0' '\n' <"/proc/$1/environ" 2>/dev/null | sed -n 's/^MARK=//p'; }
# pids of an instance: "knot init app"
pids() { echo "$(tt_ps "$1" knot_pid) $(tt_init_pid "$2") $(tt_app_pid "$2")"; }
all_apps() { # every listed container runs its process
	local n
	for n in "$@"; do [ -n "$(tt_app_pid "$n")" ] || return 1; done
}
set_is() { # WANT-NAMES...: lxc-ls shows exactly these
	[ "$(tt_running | tr '\n' ' ')" = "$(printf '%s\n' "$@" | sort | tr '\n' ' ')" ]
}
cmdline() { tr '\0' ' ' <"/proc/$TREE/cmdline"; }

v1 | tt_processes s
tt_start_tree || bail_out "lithos_tree did not start"
tree0=$TREE
tt_wait_running 4 20 'all_apps s.keep.0 s.keep.1 s.change.0 s.remove.0'
ok $? "lxc-ls: 4 containers run (keep x2, change, remove)"
is "$(tt_ps_running)" 4 "lithos_ps: 4 instances running"
k0=$(pids s/keep.0 s.keep.0)
k1=$(pids s/keep.1 s.keep.1)
diag "keep.0 knot/init/app: $k0; keep.1: $k1"
c0=$(pids s/change.0 s.change.0)
is "$(mark_of "$(tt_app_pid s.change.0)")" one "change runs config one"
rm_knot=$(tt_ps s/remove.0 knot_pid)
rm_app=$(tt_app_pid s.remove.0)
ok $([ -d "$STATE_DIR/s.remove.0" ] && [ -n "$(tt_cgroup_dirs s.remove.0)" ] && echo 0 || echo 1) \
	"remove has a state dir and cgroups while it runs"

# ---- one reload: unchanged, changed, removed, added
v2 | tt_processes s
tt_quit
ok $? "SIGQUIT: the tree re-executed"
is "$TREE" "$tree0" "the tree kept its pid"
tt_wait_running 4 15 'set_is s.keep.0 s.keep.1 s.change.0 s.add.0 && all_apps s.keep.0 s.keep.1 s.change.0 s.add.0 && [ "$(mark_of "$(tt_app_pid s.change.0)")" = two ]'
ok $? "lxc-ls: keep x2, change and add run, remove does not"
is "$(tt_running | tr '\n' ' ')" "s.add.0 s.change.0 s.keep.0 s.keep.1 " "lxc-ls: exactly these 4"
is "$(pids s/keep.0 s.keep.0)" "$k0" "keep.0: same knot, init and process pids"
is "$(pids s/keep.1 s.keep.1)" "$k1" "keep.1: same knot, init and process pids"
ok $([ "$(pids s/change.0 s.change.0)" != "$c0" ] && echo 0 || echo 1) "change: new knot and container"
is "$(mark_of "$(tt_app_pid s.change.0)")" two "change: runs the new config"
tt_wait_gone 5 "$rm_app" "$rm_knot"
ok $? "remove: its process and knot are gone"
ok $([ ! -e "$LXCPATH/s.remove.0" ] && echo 0 || echo 1) "remove: its LXC dir is gone"
ok $([ ! -e "$STATE_DIR/s.remove.0" ] && echo 0 || echo 1) "remove: its state dir is gone"
is "$(tt_cgroup_dirs s.remove.0)" "" "remove: its cgroups are gone"
is "$(ls "$RUNDIR/knots" | grep -c '^s\.remove\.0\.')" 0 "remove: its knot records are gone"
is "$(tt_knot_pids s/remove.0)" "" "pgrep: no knot of remove"
is "$(tt_ps_summary | tr '\n' ' ')" "s/add.0 running s/change.0 running s/keep.0 running s/keep.1 running " \
	"lithos_ps: add, change, keep x2 running"
is "$(tt_ps s/keep.0 starts) $(tt_ps s/change.0 starts)" "1 2" "lithos_ps: keep started once, change twice"

# ---- ten reloads in one second
tt_log_mark ten
# ten within 50 ms, then ten more within half a second: some land while
# the tree re-executes
for i in 0 9 1 8 2 7 3 6 4 5; do
	kill -QUIT "$TREE" 2>/dev/null
	sleep "0.00$i"
done
for i in 0 9 1 8 2 7 3 6 4 5; do
	kill -QUIT "$TREE" 2>/dev/null
	sleep "0.0$i"
done
sleep 1.5
tt_tree_alive
ok $? "the tree survived twenty SIGQUITs in one second" || diag_file "$TREE_LOG" "tree log"
is "$(cat "$RUNDIR/master.pid" 2>/dev/null)" "$tree0" "the pid file still names it"
tt_wait_running 4 10 'set_is s.keep.0 s.keep.1 s.change.0 s.add.0'
ok $? "lxc-ls: exactly the 4 configured containers"
is "$(tt_ps_running)" 4 "lithos_ps: 4 running"
is "$(pids s/keep.0 s.keep.0)" "$k0" "keep.0: same pids after ten reloads"
is "$(pids s/keep.1 s.keep.1)" "$k1" "keep.1: same pids after ten reloads"
knots=$(pgrep -f "lithos_knot --name .* --master $MASTER( |\$)" | wc -l)
is "$knots" 4 "pgrep: 4 knots"
reloads=$(tt_status_reloads)
diag "status.json counts $reloads reloads"
ok $([ "$reloads" -ge 2 ] && echo 0 || echo 1) "the tree reloaded again"
cl=$(cmdline)
diag "tree command line: $cl"
is "$(printf '%s\n' $cl | grep -c -- '^--lock-fd$')" 1 "the command line has one --lock-fd after many reloads"
is "$(printf '%s\n' $cl | grep -c -- '^--reexec-state$')" 1 "and one --reexec-state"
unlike "$(tt_log_since ten)" '\[error\]' "no error logged"

# ---- an invalid reload
cp "$ETC/processes/s.yaml" "$T/good.yaml"
printf 'keep:\n  kind: Daemon\n  image: t/v1\n  config: [unclosed\n' >"$ETC/processes/s.yaml"
tt_log_mark invalid
r0=$(tt_status_reloads)
kill -QUIT "$TREE"
tt_wait_for 5 'tt_log_since invalid | grep -q "Sandbox s: .*keeps its last good configs"'
ok $? "the tree logs that the sandbox keeps its last good configs"
like "$(tt_log_since invalid)" "processes/s\.yaml:[0-9]+:[0-9]+: invalid YAML" "and says where the problem is (file:line:column)"
sleep 0.5
tt_tree_alive
ok $? "the tree still runs"
is "$(tt_status_reloads)" "$((r0 + 1))" "it re-executed once"
is "$(tt_running | tr '\n' ' ')" "s.add.0 s.change.0 s.keep.0 s.keep.1 " "lxc-ls: the same 4 containers"
is "$(pids s/keep.0 s.keep.0) $(pids s/add.0 s.add.0)" "$k0 $(pids s/add.0 s.add.0)" "keep.0 untouched"
is "$(pids s/keep.1 s.keep.1)" "$k1" "keep.1 untouched"
mv "$T/good.yaml" "$ETC/processes/s.yaml"

# ---- lithos_switch
printf 'keep:\n  kind: Daemon\n  image: t/v1\n  config: /config/keep.yaml\n  instances: 1\n  bogus-key: 1\n' >"$T/bad.yaml"
cp "$ETC/processes/s.yaml" "$T/installed.yaml"
a0=$(pids s/add.0 s.add.0)
r0=$(tt_status_reloads)
out=$("$LITHOS_SWITCH" --master "$MASTER" s "$T/bad.yaml" 2>&1)
rc=$?
ok $([ "$rc" -ne 0 ] && echo 0 || echo 1) "lithos_switch with an invalid file exits non-zero ($rc)"
like "$out" 'bogus-key' "and names the problem"
cmp -s "$ETC/processes/s.yaml" "$T/installed.yaml"
ok $? "the installed processes file is unchanged"
is "$(ls "$ETC/processes")" "s.yaml" "no temporary file left next to it"
sleep 0.5
is "$(tt_status_reloads)" "$r0" "the tree was not reloaded"
is "$(tt_running | tr '\n' ' ')" "s.add.0 s.change.0 s.keep.0 s.keep.1 " "lxc-ls: the same 4 containers"
is "$(pids s/keep.0 s.keep.0) $(pids s/add.0 s.add.0)" "$k0 $a0" "keep.0 and add untouched"

v3 >"$T/v3.yaml"
out=$("$LITHOS_SWITCH" --master "$MASTER" s "$T/v3.yaml" 2>&1)
is "$?" 0 "lithos_switch with a valid file exits 0" || diag "$out"
cmp -s "$ETC/processes/s.yaml" "$T/v3.yaml"
ok $? "the new file is installed"
tt_wait_running 3 10 'set_is s.keep.0 s.keep.1 s.change.0'
ok $? "lxc-ls: the tree applied it: keep x2 and change run, add is gone"
is "$(pids s/keep.0 s.keep.0)" "$k0" "keep.0 untouched by the switch"
is "$(pids s/keep.1 s.keep.1)" "$k1" "keep.1 untouched by the switch"
ok $([ ! -e "$LXCPATH/s.add.0" ] && [ ! -e "$STATE_DIR/s.add.0" ] && echo 0 || echo 1) "add: LXC dir and state dir gone"
is "$(tt_ps_summary | tr '\n' ' ')" "s/change.0 running s/keep.0 running s/keep.1 running " "lithos_ps: 3 running"

tt_stop_tree TERM
is "$rc" 0 "lithos_tree exits 0 on SIGTERM"
is "$(tt_nrunning)" 0 "lxc-ls: nothing runs after the tree stopped"
tt_check_clean "after SIGTERM" $NAMES
done_testing
