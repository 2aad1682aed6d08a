#!/bin/bash
# t0406: SIGKILL of one lithos_knot (the monitor of one instance) while the
# tree runs: its container does not survive unsupervised.
# - "victim" (restart-timeout 6, so the gap before its restart can be
#   looked at): its init and process die at once, its cgroups (container
#   and monitor) and its state dir are removed, lxc-ls no longer lists it,
#   lithos_ps shows it restarting, the tree logs it; after restart-timeout
#   it runs again in a new container with exactly one knot;
# - "other" (restart-timeout 0) in the same sandbox is not disturbed; its
#   knot killed in turn, it is restarted at once and its new cgroup holds
#   none of the old processes;
# - counts of running containers after each step; nothing left behind.
# TAP.  Needs root, LXC, busybox-static and python3.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/treetest.sh"
tt_init t0406

itest_image
itest_master
itest_sandbox_1000 s
tt_config victim <<'EOF'
kind: Daemon
user-id: 1000
group-id: 1000
executable: /bin/sleep
arguments: ["1000"]
restart-timeout: 6
EOF
tt_config other <<'EOF'
kind: Daemon
user-id: 1000
group-id: 1000
executable: /bin/sleep
arguments: ["1000"]
restart-timeout: 0
EOF
tt_processes s <<'EOF'
victim:
  kind: Daemon
  image: t/v1
  config: /config/victim.yaml
other:
  kind: Daemon
  image: t/v1
  config: /config/other.yaml
EOF
NAMES="s.victim.0 s.other.0"
all_apps() { local n; for n in "$@"; do [ -n "$(tt_app_pid "$n")" ] || return 1; done; }
cg_procs() { # LXCNAME: every pid in the container's cgroups, all hierarchies
	local d
	for d in $(tt_cgroup_dirs "$1"); do
		find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null
	done | sort -un
}

tt_start_tree || bail_out "lithos_tree did not start"
tt_wait_running 2 20 "all_apps $NAMES"
ok $? "lxc-ls: victim and other run"
is "$(tt_ps_running)" 2 "lithos_ps: 2 running"
v_init=$(tt_init_pid s.victim.0)
v_app=$(tt_app_pid s.victim.0)
v_knot=$(tt_knot_pids s/victim.0)
o_init=$(tt_init_pid s.other.0)
is "$(tt_ps s/victim.0 knot_pid)" "$v_knot" "pgrep -f 'lithos_knot --name s/victim.0' finds the knot lithos_ps shows"
ok $([ -n "$(tt_cgroup_dirs s.victim.0)" ] && echo 0 || echo 1) "victim has cgroup dirs"
ok $([ -d "$STATE_DIR/s.victim.0" ] && echo 0 || echo 1) "victim has a state dir"

# ---- SIGKILL the victim's knot
tt_log_mark kill-knot
t0=$(tt_now)
kill -KILL "$v_knot"
tt_wait_gone 5 "$v_app" "$v_init"
ok $? "the victim's process and container init die with their knot"
diag "gone $(echo "$(tt_now) - $t0" | bc) s after the knot"
tt_wait_for 5 '[ -z "$(tt_cgroup_dirs s.victim.0)" ]'
ok $? "the victim's cgroup dirs (container and monitor) are removed" || tt_cgroup_dirs s.victim.0 | diag
tt_wait_for 5 '[ ! -e "$STATE_DIR/s.victim.0" ]'
ok $? "the victim's state dir (made by its knot before the start) is removed by the tree" ||
	ls -la "$STATE_DIR" | diag
is "$(tt_running | tr '\n' ' ')" "s.other.0 " "lxc-ls: only other runs while victim waits for its restart"
is "$(tt_ps s/victim.0 state)" restarting "lithos_ps: victim restarting"
is "$(tt_ps_running)" 1 "lithos_ps: 1 running"
is "$(tt_knot_pids s/victim.0)" "" "pgrep: no knot of victim"
like "$(tt_log_since kill-knot)" 's/victim\.0 exited with 137 .*\(failure\)' "the tree logs the death of the victim's knot"
like "$(tt_log_since kill-knot)" "Killing the container of s\.victim\.0 \(init pid $v_init\): its knot is gone" \
	"and that it killed the container"
is "$(tt_init_pid s.other.0)" "$o_init" "other is not disturbed"
el=$(echo "$(tt_now) - $t0" | bc)
tt_float "$el < 4"
ok $? "that was before the victim's restart-timeout ran out (${el} s of 6)"

tt_wait_for 10 '[ -n "$(tt_app_pid s.victim.0)" ]'
ok $? "victim runs again after its restart-timeout"
is "$(tt_knot_pids s/victim.0 | wc -w)" 1 "pgrep: exactly one knot of victim"
ok $([ "$(tt_init_pid s.victim.0)" != "$v_init" ] && echo 0 || echo 1) "in a new container"
is "$(tt_nrunning)" 2 "lxc-ls: 2 containers"
is "$(tt_ps_running)" 2 "lithos_ps: 2 running"
is "$(tt_ps s/victim.0 starts) $(tt_ps s/victim.0 failures)" "2 1" "lithos_ps: victim started twice, one failure"

# ---- the other's knot: restarted at once, new cgroup without old pids
o_app=$(tt_app_pid s.other.0)
o_knot=$(tt_ps s/other.0 knot_pid)
old="$o_knot $o_init $o_app"
kill -KILL "$o_knot"
tt_wait_gone 5 "$o_app" "$o_init"
ok $? "other's container dies with its knot"
tt_wait_for 10 '[ -n "$(tt_app_pid s.other.0)" ] && [ "$(tt_init_pid s.other.0)" != "$o_init" ]'
ok $? "other is restarted at once (restart-timeout 0)"
procs=$(cg_procs s.other.0)
ok $([ -n "$procs" ] && echo 0 || echo 1) "other's new cgroup holds its processes ($(echo $procs))"
stale=
for p in $old; do printf '%s\n' $procs | grep -qx "$p" && stale="$stale $p"; done
is "$stale" "" "none of the old knot/init/process pids is in the new cgroup"
is "$(tt_nrunning)" 2 "lxc-ls: 2 containers"
is "$(pgrep -f "lithos_knot --name .* --master $MASTER( |\$)" | wc -l)" 2 "pgrep: 2 knots"

tt_stop_tree TERM
is "$rc" 0 "lithos_tree exits 0 on SIGTERM"
is "$(tt_nrunning)" 0 "lxc-ls: nothing runs after the tree stopped"
tt_check_clean "after SIGTERM" $NAMES
done_testing
