#!/bin/bash
# t0401: restart-timeout of lithos_tree with real containers.
# - "fast" (/bin/true, restart-timeout 1) dies at once: it is restarted
#   about once per second and not faster (lithos_ps --json starts over 3 s,
#   and every gap between two "Started" lines of the tree log), without
#   pegging the tree's CPU;
# - "slow" (sleep, restart-timeout 3) killed after running longer than its
#   restart-timeout is restarted at once; killed again right after that
#   restart, it waits until restart-timeout after its last start;
# - a second lithos_tree on the same master config refuses to start;
# - stdio-log-dir: the sandbox's log path is opened again at each start
#   (reference): moved away, it is made anew (root's, 0640) by fast's next
#   start, which writes there;
# - the counts of running containers (lxc-ls, lithos_ps) after each step,
#   and nothing left behind after SIGTERM.
# TAP.  Needs root, LXC, busybox-static and python3.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/treetest.sh"
tt_init t0401

itest_image
itest_master
itest_sandbox_1000 s
tt_config fast <<'EOF'
kind: Daemon
user-id: 1000
group-id: 1000
executable: /bin/true
restart-timeout: 1
EOF
tt_config slow <<'EOF'
kind: Daemon
user-id: 1000
group-id: 1000
executable: /bin/sleep
arguments: ["1000"]
restart-timeout: 3
kill-timeout: 2
EOF
tt_processes s <<'EOF'
fast:
  kind: Daemon
  image: t/v1
  config: /config/fast.yaml
slow:
  kind: Daemon
  image: t/v1
  config: /config/slow.yaml
EOF
NAMES="s.fast.0 s.slow.0"

tt_start_tree || bail_out "lithos_tree did not start"
ok 0 "lithos_tree started (pid $TREE)"
tt_wait_running 1 15 '[ "$(tt_running | grep -v fast)" = s.slow.0 ]'
ok $? "slow runs in its container"
SLOW_T0=$(tt_now)
is "$(tt_ps_summary | grep slow)" "s/slow.0 running" "lithos_ps: slow running"

# ---- a second tree on the same master config refuses
out=$("$LITHOS_TREE" -C "$MASTER" --log-stderr 2>&1 </dev/null)
rc=$?
is "$rc" 1 "a second lithos_tree exits 1"
like "$out" "another lithos_tree runs .*\(pid $TREE\)" "and says which tree runs"
is "$(cat "$RUNDIR/master.pid")" "$TREE" "the pid file still names the first tree"

# ---- fast: about once per second, not faster
tt_wait_for 10 '[ "$(tt_ps s/fast.0 starts)" -ge 2 ]'
ok $? "fast was restarted (lithos_ps starts >= 2)"
cpu0=$(tt_cpu_secs "$TREE")
s0=$(tt_ps s/fast.0 starts)
tt_log_mark fast-window
sleep 3
s1=$(tt_ps s/fast.0 starts)
cpu1=$(tt_cpu_secs "$TREE")
d=$((s1 - s0))
diag "fast: $d starts in 3 s (starts $s0 -> $s1); tree CPU $cpu0 -> $cpu1 s"
ok $([ "$d" -ge 2 ] && [ "$d" -le 4 ] && echo 0 || echo 1) "fast: 2 to 4 starts in 3 s (got $d): about one per second"
gaps=$(tt_log_times 'Started s/fast\.0 ' | awk 'NR > 1 { printf "%.3f\n", $1 - prev } { prev = $1 }')
min=$(printf '%s\n' $gaps | sort -g | head -1)
diag "fast: gaps between starts: $(echo $gaps)"
ok $([ -n "$min" ] && tt_float "$min >= 0.95" && echo 0 || echo 1) \
	"fast: never two starts less than restart-timeout (1 s) apart (shortest gap ${min:-none})"
ok $(tt_float "$cpu1 - $cpu0 < 0.5" && echo 0 || echo 1) \
	"the tree used less than 0.5 s CPU in those 3 s ($(echo "$cpu1 - $cpu0" | bc) s)"
fd=$(tt_ps_json | "$PYTHON" -c '
import json, sys
i = [i for i in json.load(sys.stdin)["instances"] if i["name"] == "s/fast.0"][0]
print(i["failures"], i["starts"] - (1 if i["state"] == "running" else 0))')
is "${fd% *}" "${fd#* }" \
	"fast: every death is a failure (exit 0 is not in normal-exit-codes): failures = deaths" ||
	tt_ps_json | diag

# ---- slow: ran longer than restart-timeout -> restarts at once
is "$(tt_running | grep -v fast)" "s.slow.0" "lxc-ls: slow is the only long-running container"
is "$(tt_ps_summary | grep slow)" "s/slow.0 running" "lithos_ps: slow running"
now=$(tt_now)
left=$(echo "3.5 - ($now - $SLOW_T0)" | bc)
tt_float "$left > 0" && sleep "$left"
app=$(tt_app_pid s.slow.0)
init0=$(tt_init_pid s.slow.0)
ok $([ -n "$app" ] && echo 0 || echo 1) "slow: its process is pid $app on the host"
t0=$(tt_now)
kill -KILL "$app"
tt_wait_for 10 '[ -n "$(tt_init_pid s.slow.0)" ] && [ "$(tt_init_pid s.slow.0)" != "$init0" ] && [ -n "$(tt_app_pid s.slow.0)" ]'
ok $? "slow: a new container after its process was killed"
t1=$(tt_now)
dt=$(echo "$t1 - $t0" | bc)
diag "slow: restarted $dt s after its death (restart-timeout 3, ran 3.5 s)"
ok $(tt_float "$dt < 1.5" && echo 0 || echo 1) "slow: restarted at once (< 1.5 s, not after restart-timeout 3 s)"
is "$(tt_ps s/slow.0 starts)" 2 "lithos_ps: slow started twice"
is "$(tt_ps s/slow.0 failures)" 1 "lithos_ps: the SIGKILL is one failure"

# ---- slow killed right after its restart: waits for restart-timeout
init1=$(tt_init_pid s.slow.0)
app=$(tt_app_pid s.slow.0)
t0=$(tt_now)
kill -KILL "$app"
tt_wait_for 10 '[ "$(tt_ps s/slow.0 state)" = restarting ]'
ok $? "slow: lithos_ps shows it restarting"
is "$(tt_running | grep -v fast)" "" "lxc-ls: slow does not run while it waits"
tt_wait_for 10 '[ -n "$(tt_init_pid s.slow.0)" ] && [ "$(tt_init_pid s.slow.0)" != "$init1" ] && [ -n "$(tt_app_pid s.slow.0)" ]'
ok $? "slow: restarted after the wait"
st=$(tt_log_times 'Started s/slow\.0 ' | tail -2)
gap=$(printf '%s\n' $st | awk 'NR == 1 { a = $1 } NR == 2 { printf "%.3f", $1 - a }')
diag "slow: last two starts $gap s apart"
ok $(tt_float "$gap >= 2.9 && $gap < 4.5" && echo 0 || echo 1) \
	"slow: a process that ran shorter than restart-timeout restarts restart-timeout (3 s) after its last start (got $gap s)"
is "$(tt_running | grep -v fast)" "s.slow.0" "lxc-ls: slow runs again, once"
is "$(tt_knot_pids s/slow.0 | wc -w)" 1 "pgrep -f 'lithos_knot --name s/slow.0' finds one knot"

# ---- stdio-log-dir: opened again at each start
mv "$STDIO_LOG_DIR/s.log" "$T/s.log.rotated"
tt_wait_for 10 'grep -q "s/fast\.0" "$STDIO_LOG_DIR/s.log" 2>/dev/null'
ok $? "the stdio log moved away: fast's next start made stdio-log-dir/s.log again and wrote there" ||
	ls -l "$STDIO_LOG_DIR" | diag
is "$(stat -c '%u:%g %a' "$STDIO_LOG_DIR/s.log" 2>&1)" "0:0 640" "the new stdio log is root's, mode 0640"

# ---- stop
tt_stop_tree TERM
is "$rc" 0 "lithos_tree exits 0 on SIGTERM"
is "$(tt_nrunning)" 0 "lxc-ls: no container runs after the tree stopped"
tt_check_clean "after SIGTERM" $NAMES
grep -E '\[(error)\]' "$TREE_LOG" | diag
done_testing
