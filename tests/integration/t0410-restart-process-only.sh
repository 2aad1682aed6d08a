#!/bin/bash
# t0410: restart-process-only with lithos_tree and real containers.
# "rpo" counts its runs in a file on a !Tmpfs volume, prints its pid and
# @{lithos:pid}, and exits 7 on its first two runs, then sleeps:
# - it is restarted inside the same container: the container's init pid
#   does not change, the tree starts one knot, the file on the tmpfs
#   survives (runs 1, 2, 3);
# - @{lithos:pid} is the process's exact pid at every start;
# - restart-timeout (1 s) is respected between in-container starts;
# - each death and start shows like a container's: metrics (started 3,
#   deaths 2, failures 2), lithos_ps (starts 3, restarts 2), the start and
#   exit lines in the sandbox's stdio log and the tree log;
# - its first run (version 1) leaves a process behind (sleep 999 &), which
#   stays in the container as init's first child: lithos_ps's
#   pid_in_container is the current process's pid nevertheless (run 3's),
#   also in the tree that adopts it after a crash, and run 4's after that,
#   also after a reload; the same for the tests' tt_app_pid;
# - SIGKILL of the tree: a new tree adopts the container, and a death after
#   that is still restarted in place and counted by the new tree;
# - a reload with a changed config replaces the whole container (new init,
#   tmpfs empty again);
# - SIGTERM to the tree stops it within its kill-timeout, nothing left.
# TAP.  Needs root, LXC, busybox-static and python3.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/treetest.sh"
tt_init t0410

itest_image
itest_master
itest_sandbox_1000 s
rpo_config() { # VERSION
	tt_config rpo <<EOF
kind: Daemon
user-id: 1000
group-id: 1000
executable: /bin/sh
arguments:
  - -c
  - |
    n=\$(cat /tmp/count 2>/dev/null || echo 0)
    n=\$((n + 1))
    echo \$n >/tmp/count
    echo "rpo run \$n version \$VERSION pid \$\$ lithos-pid \$MY_PID"
    if [ \$n -eq 1 ] && [ "\$VERSION" = 1 ]; then sleep 999 & fi
    [ \$n -ge 3 ] && exec sleep 1000
    exit 7
restart-process-only: true
restart-timeout: 1
kill-timeout: 3
environ: {PATH: /bin, MY_PID: "@{lithos:pid}", VERSION: "$1"}
volumes:
  /tmp: !Tmpfs {size: 1Mi, mode: 0o1777}
EOF
}
rpo_config 1
tt_processes s <<'EOF'
rpo:
  kind: Daemon
  image: t/v1
  config: /config/rpo.yaml
EOF
N=s.rpo.0
LOG=$STDIO_LOG_DIR/s.log
runs() { grep -E "^rpo run [0-9]+ version $1 " "$LOG" 2>/dev/null; }
run_pid() { runs 1 | awk -v n="$1" '$3 == n { print $7 }'; } # in the container
ns_pid() { awk '/^NSpid:/ { print $NF }' "/proc/$1/status" 2>/dev/null; }
kids() { local i; i=$(tt_init_pid $N); cat "/proc/$i/task/$i/children" 2>/dev/null; }
# host pid of the child of the container's init numbered $1 inside
kid_inside() { local c; for c in $(kids); do [ "$(ns_pid "$c")" = "$1" ] && echo "$c"; done; }

tt_start_tree || bail_out "lithos_tree did not start"
ok 0 "lithos_tree started (pid $TREE)"
tt_wait_for 10 '[ -n "$(tt_init_pid $N)" ]'
ok $? "the container runs"
init0=$(tt_init_pid $N)
tt_wait_for 15 '[ "$(runs 1 | wc -l)" -ge 3 ] && [ "$(cat /proc/$(tt_app_pid $N)/comm 2>/dev/null)" = sleep ]'
ok $? "three runs, the third one sleeps" || diag_file "$LOG" "stdio log"

is "$(tt_init_pid $N)" "$init0" "the container's init pid is unchanged after two in-container restarts"
is "$(grep -c "Started s/rpo.0 (knot pid" "$TREE_LOG")" 1 "the tree started one knot"
is "$(runs 1 | awk '{print $3}' | tr '\n' ' ')" "1 2 3 " "the count on the !Tmpfs volume survived the restarts (runs 1 2 3)"
bad=$(runs 1 | awk '$7 != $9')
is "$bad" "" "@{lithos:pid} is the process's exact pid at every start"
is "$(runs 1 | awk '{print $7}' | sort -u | wc -l)" 3 "three different pids for three starts"
is "$(lxc-attach -P "$LXCPATH" -n $N -- /bin/cat /tmp/count 2>&1)" 3 "lxc-attach: /tmp/count is 3 in the running container"
# what run 1 left behind is init's first child, the current process after it
p3=$(run_pid 3)
first=$(kids | awk '{ print $1 }')
leftover=$(ns_pid "$first")
ok $([ -n "$leftover" ] && [ "$leftover" != "$p3" ] && [ "$(cat /proc/$first/comm)" = sleep ] && echo 0 || echo 1) \
	"run 1 left a process behind (pid $leftover inside), listed first among init's children ($(kids))"
is "$(tt_ps s/rpo.0 pid_in_container)" "$p3" "lithos_ps: pid_in_container is the current process (run 3's pid $p3), not the leftover"
is "$(ns_pid "$(tt_app_pid $N)")" "$p3" "tt_app_pid (the tests' helper, from status.json's main_pid): run 3's process, not the leftover"

# restart-timeout: each start at least 1 s after the previous one
times=$(tt_log_times 'Started s/rpo\.0 \(knot|Restarted s/rpo\.0 in its container')
is "$(printf '%s\n' "$times" | grep -c .)" 3 "tree log: one start and two in-container restarts" ||
	diag_file "$TREE_LOG" "tree log"
gaps=$(printf '%s\n' "$times" | awk 'NR > 1 { printf "%.3f\n", $1 - prev } { prev = $1 }')
min=$(printf '%s\n' $gaps | sort -g | head -1)
diag "gaps between starts: $(echo $gaps)"
tt_float "${min:-0} >= 0.9"
ok $? "restart-timeout 1 s respected between in-container starts (shortest gap ${min:-none} s)"

# counted like a container's death and start
is "$(tt_metric processes.s.rpo started)" 3 "metrics: processes.s.rpo started 3"
is "$(tt_metric processes.s.rpo deaths)" 2 "metrics: deaths 2"
is "$(tt_metric processes.s.rpo failures)" 2 "metrics: failures 2 (exit 7 is not a normal exit code)"
is "$(tt_metric processes.s.rpo running)" 1 "metrics: running 1"
is "$(tt_ps s/rpo.0 starts) $(tt_ps s/rpo.0 restarts) $(tt_ps s/rpo.0 failures)" "3 2 2" "lithos_ps: starts 3, restarts 2, failures 2"
is "$(grep -c '\[lithos\] s/rpo.0: starting /bin/sh$' "$LOG")" 3 "stdio log: three 'starting' lines"
is "$(grep -c '\[lithos\] s/rpo.0: exited with 7$' "$LOG")" 2 "stdio log: two 'exited with 7' lines"

# ---- SIGKILL of the tree, adoption, a death after that
tt_kill_tree
tt_start_tree || bail_out "second lithos_tree did not start"
tt_wait_for 10 'grep -q "Adopted s/rpo.0" "$TREE_LOG"'
ok $? "the new tree adopted s/rpo.0"
is "$(tt_init_pid $N)" "$init0" "adopted: same container"
is "$(tt_ps s/rpo.0 pid_in_container)" "$p3" "lithos_ps after the adoption: pid_in_container is still run 3's ($p3)"
app=$(kid_inside "$p3")
kill -KILL "$app"
tt_wait_for 10 '[ "$(runs 1 | wc -l)" -ge 4 ] && [ -n "$(kid_inside "$(run_pid 4)")" ]'
ok $? "after adoption the killed process was restarted (run 4)"
is "$(tt_init_pid $N)" "$init0" "still the same container"
tt_wait_for 5 '[ "$(tt_ps s/rpo.0 pid_in_container)" = "$(run_pid 4)" ]'
ok $? "lithos_ps: pid_in_container is run 4's ($(run_pid 4); leftover $leftover)"
is "$(tt_app_pid $N)" "$(kid_inside "$(run_pid 4)")" "tt_app_pid after the adoption: run 4's process"
tt_quit || bail_out "reload failed"
is "$(tt_init_pid $N) $(tt_ps s/rpo.0 pid_in_container)" "$init0 $(run_pid 4)" "a reload changing nothing: same container, pid_in_container still run 4's"
tt_wait_for 5 'grep -q "s/rpo.0: exited with 137$" "$LOG"'
ok $? "the adopting tree wrote the death (137) into the stdio log"
tt_wait_for 5 '[ "$(tt_ps s/rpo.0 failures)" = 1 ]'
ok $? "the adopting tree counted it (lithos_ps failures 1, counters start anew after a crash)"

# ---- a changed config: the whole container is replaced
rpo_config 2
tt_quit || bail_out "reload failed"
tt_wait_for 20 '[ -n "$(tt_init_pid $N)" ] && [ "$(tt_init_pid $N)" != "$init0" ] && [ "$(runs 2 | wc -l)" -ge 1 ]'
ok $? "reload with a changed config: a new container (init $init0 -> $(tt_init_pid $N))" || diag_file "$TREE_LOG" "tree log"
is "$(runs 2 | head -1 | awk '{print $3}')" 1 "the new container's tmpfs is fresh (run 1 again)"
tt_wait_for 15 '[ "$(runs 2 | wc -l)" -ge 3 ]'
ok $? "and it restarts in place there too"

# ---- stop
tt_stop_tree
is "$rc" 0 "lithos_tree exits 0 on SIGTERM"
tt_float "$TREE_STOP_SECS < 3"
ok $? "the sleeping process stopped at SIGTERM, within kill-timeout (${TREE_STOP_SECS}s)"
tt_check_clean "t0410" $N
done_testing
