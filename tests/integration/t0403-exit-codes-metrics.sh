#!/bin/bash
# t0403: normal-exit-codes, and the metrics files of a real lithos_tree read
# back by the independent reader tests/integration/cantal_reader.py (cantal
# files in --strict mode, and the Prometheus file).
# - "ok42" exits 42 with normal-exit-codes [42]: every death counted, no
#   failure; "bad1" exits 1: every death is a failure; "steady" runs on.
#   Checked in the cantal files, the Prometheus file, lithos_ps --json,
#   status.json (last_exit) and the tree log;
# - chapter-6 names and kinds of the files the tree writes;
# - counters survive SIGQUIT reloads: while instances die and restart (no
#   counter goes back) and, once everything is steady, exactly (the same
#   values), with master.restarts counting the reloads; the file stays a
#   multiple of 4096 bytes;
# - counts of running containers after each step; nothing left behind.
# TAP.  Needs root, LXC, busybox-static and python3.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/treetest.sh"
tt_init t0403

itest_image
itest_master
itest_sandbox_1000 s
tt_config ok42 <<'EOF'
kind: Daemon
user-id: 1000
group-id: 1000
executable: /bin/sh
arguments: [-c, "sleep 0.3; exit 42"]
normal-exit-codes: [42]
restart-timeout: 0.5
EOF
tt_config bad1 <<'EOF'
kind: Daemon
user-id: 1000
group-id: 1000
executable: /bin/sh
arguments: [-c, "sleep 0.3; exit 1"]
normal-exit-codes: [42]
restart-timeout: 0.5
EOF
tt_config steady <<'EOF'
kind: Daemon
user-id: 1000
group-id: 1000
executable: /bin/sleep
arguments: ["1000"]
EOF
entry() { printf '%s:\n  kind: Daemon\n  image: t/v1\n  config: /config/%s.yaml\n' "$1" "$1"; }
all() { { entry ok42; entry bad1; entry steady; } | tt_processes s; }
NAMES="s.ok42.0 s.bad1.0 s.steady.0"
M=$RUNDIR/metrics/lithos

# one snapshot of the cantal files as shell assignments: m_GROUP_METRIC=VALUE
# (dots of group names as _)
snapshot() { # PREFIX
	tt_metrics | awk -F '\t' -v p="$1" '{ g = $2; gsub(/[.]/, "_", g); print p "_" g "_" $3 "=" $4 }'
}

all
tt_start_tree || bail_out "lithos_tree did not start"
tt_wait_for 15 '[ -n "$(tt_app_pid s.steady.0)" ]'
ok $? "steady runs"
steady_init=$(tt_init_pid s.steady.0)
is "$(tt_running | grep -c steady)" 1 "lxc-ls: one steady container"
tt_wait_for 20 '[ "$(tt_metric processes.s.ok42 deaths)" -ge 3 ] && [ "$(tt_metric processes.s.bad1 deaths)" -ge 3 ]'
ok $? "ok42 and bad1 died 3 times each (cantal files)"

# ---- the files as written
tt_metrics >"$T/m1" 2>"$T/m1.err"
ok $? "the cantal reader accepts the tree's files (--strict)" || diag_file "$T/m1.err"
size=$(stat -c %s "$M.values")
is "$((size % 4096))" 0 "values file: a multiple of 4096 bytes ($size)"
is "$(cut -f1-3 "$T/m1")" "$(printf '%s\n' \
	"counter	master	restarts" "level	master	sandboxes" "level	master	containers" \
	"level	master	queue" "counter	containers	started" "counter	containers	deaths" \
	"counter	containers	failures" "level	containers	running" "level	containers	unknown" \
	"counter	processes.s.ok42	started" "counter	processes.s.ok42	deaths" \
	"counter	processes.s.ok42	failures" "level	processes.s.ok42	running" \
	"counter	processes.s.bad1	started" "counter	processes.s.bad1	deaths" \
	"counter	processes.s.bad1	failures" "level	processes.s.bad1	running" \
	"counter	processes.s.steady	started" "counter	processes.s.steady	deaths" \
	"counter	processes.s.steady	failures" "level	processes.s.steady	running")" \
	"chapter-6 names and kinds, in the order of the files"
grep -Fxq 'counter 8: {"group":"processes.s.ok42","metric":"failures"}' "$M.meta"
ok $? "meta line of processes.s.ok42 failures, exact"

eval "$(snapshot a)"
diag "ok42: started $a_processes_s_ok42_started deaths $a_processes_s_ok42_deaths failures $a_processes_s_ok42_failures"
diag "bad1: started $a_processes_s_bad1_started deaths $a_processes_s_bad1_deaths failures $a_processes_s_bad1_failures"
is "$a_processes_s_ok42_failures" 0 "cantal: exit 42 with normal-exit-codes [42] is no failure"
ok $([ "$a_processes_s_ok42_deaths" -ge 3 ] && echo 0 || echo 1) "cantal: but its deaths count ($a_processes_s_ok42_deaths)"
is "$a_processes_s_bad1_failures" "$a_processes_s_bad1_deaths" "cantal: every exit 1 is a failure"
is "$a_containers_failures" "$((a_processes_s_ok42_failures + a_processes_s_bad1_failures + a_processes_s_steady_failures))" \
	"cantal: containers.failures is the sum of the processes' failures"
is "$a_containers_deaths" "$((a_processes_s_ok42_deaths + a_processes_s_bad1_deaths + a_processes_s_steady_deaths))" \
	"cantal: containers.deaths is the sum of the processes' deaths"
is "$a_containers_started" "$((a_processes_s_ok42_started + a_processes_s_bad1_started + a_processes_s_steady_started))" \
	"cantal: containers.started is the sum of the processes' starts"
ok $([ $((a_processes_s_ok42_started - a_processes_s_ok42_deaths)) -ge 0 ] &&
	[ $((a_processes_s_ok42_started - a_processes_s_ok42_deaths)) -le 1 ] && echo 0 || echo 1) \
	"cantal: ok42 started = deaths or deaths + 1"
is "$a_processes_s_steady_started $a_processes_s_steady_deaths $a_processes_s_steady_running" "1 0 1" \
	"cantal: steady started once, never died, running"
is "$a_master_sandboxes $a_master_containers" "1 3" "cantal: master.sandboxes 1, master.containers 3"

"$PYTHON" "$CANTAL_READER" --prom "$M.prom" >"$T/p1" 2>"$T/p1.err"
ok $? "the reader accepts the Prometheus file" || diag_file "$T/p1.err"
prom() { awk -F '\t' -v n="$1" -v l="$2" '$2 == n && $3 == l { print $4 }' "$T/p1"; }
L42='{"process":"ok42","sandbox":"s"}'
L1='{"process":"bad1","sandbox":"s"}'
is "$(prom lithos_processes_failures_total "$L42")" 0 "Prometheus: ok42 has no failure"
ok $([ "$(prom lithos_processes_deaths_total "$L42")" -ge 3 ] && echo 0 || echo 1) "Prometheus: ok42 deaths counted"
is "$(prom lithos_processes_failures_total "$L1")" "$(prom lithos_processes_deaths_total "$L1")" \
	"Prometheus: bad1 failures = deaths"
ok $([ "$(prom lithos_processes_failures_total "$L1")" -ge 3 ] && echo 0 || echo 1) "Prometheus: bad1 failures counted"
is "$(grep -c "^counter" "$T/p1") $(grep -c "^gauge" "$T/p1")" "13 8" "Prometheus: 13 counters and 8 gauges"

is "$(tt_ps s/ok42.0 failures)" 0 "lithos_ps: ok42 has no failure"
ok $([ "$(tt_ps s/bad1.0 failures)" -ge 3 ] && echo 0 || echo 1) "lithos_ps: bad1 failures counted"
lastexit() {
	"$PYTHON" -c 'import json,sys
for i in json.load(open(sys.argv[1]))["instances"]:
    if i["name"] == sys.argv[2]: print(i["last_exit"])' "$RUNDIR/status.json" "$1"
}
is "$(lastexit s/ok42.0) $(lastexit s/bad1.0)" "42 1" "status.json: last exit codes 42 and 1"
like "$(cat "$TREE_LOG")" 's/ok42\.0 exited with 42 after [0-9.]+s$' "tree log: ok42 exited with 42, not a failure"
unlike "$(cat "$TREE_LOG")" 's/ok42\.0 exited with 42 .*failure' "tree log: no ok42 death logged as failure"
like "$(cat "$TREE_LOG")" 's/bad1\.0 exited with 1 after [0-9.]+s \(failure\)' "tree log: bad1's exit 1 is a failure"

# ---- counters survive a reload while instances come and go
eval "$(snapshot b)"
tt_quit
ok $? "SIGQUIT reload 1 done (tree pid $TREE kept)"
eval "$(snapshot c)"
back=
for v in $(set | sed -n 's/^b_\([a-z0-9_]*\)=.*/\1/p'); do
	case $v in *_running | *_queue | master_*) continue ;; esac
	bv=b_$v cv=c_$v
	[ "${!cv:-0}" -ge "${!bv}" ] || back="$back $v:${!bv}->${!cv:-none}"
done
is "$back" "" "no counter went back over the reload"
is "$c_master_restarts" $((b_master_restarts + 1)) "master.restarts counts the reload"
is "$(tt_init_pid s.steady.0)" "$steady_init" "steady kept its container"

# ---- only steady: then counters must not move at all over a reload
entry steady | tt_processes s
tt_quit
ok $? "SIGQUIT reload 2 (ok42 and bad1 removed)"
tt_wait_running 1 10
ok $? "lxc-ls: only steady runs"
is "$(tt_running)" s.steady.0 "lxc-ls: steady is the one"
eval "$(snapshot d)"
tt_quit
ok $? "SIGQUIT reload 3 (nothing changed)"
eval "$(snapshot e)"
is "$e_containers_started $e_containers_deaths $e_containers_failures" \
	"$d_containers_started $d_containers_deaths $d_containers_failures" \
	"containers started/deaths/failures identical over the reload"
ok $([ "$d_containers_failures" -ge 3 ] && [ "$d_containers_deaths" -ge 6 ] && echo 0 || echo 1) \
	"and they still hold the deaths and failures from before ($d_containers_deaths, $d_containers_failures)"
is "$e_processes_s_steady_started $e_processes_s_steady_deaths $e_processes_s_steady_failures $e_processes_s_steady_running" \
	"1 0 0 1" "processes.s.steady identical over three reloads"
is "$e_master_restarts" $((b_master_restarts + 3)) "master.restarts is 3"
is "$e_master_containers $e_containers_running $e_master_queue" "1 1 0" "levels: 1 wanted, 1 running, queue 0"
is "$(($(stat -c %s "$M.values") % 4096))" 0 "values file still a multiple of 4096 bytes"
is "$(tt_init_pid s.steady.0)" "$steady_init" "steady kept its container over three reloads"
tt_prom lithos_containers_started_total '{}' >"$T/ps"
is "$(cat "$T/ps")" "$e_containers_started" "Prometheus file agrees with the cantal files after the reloads"

tt_stop_tree TERM
is "$rc" 0 "lithos_tree exits 0 on SIGTERM"
is "$(tt_nrunning)" 0 "lxc-ls: nothing runs after the tree stopped"
tt_check_clean "after SIGTERM" $NAMES
done_testing
