#!/bin/bash
# t0402: kill-timeout of lithos_tree with real containers.
# - "stubborn" ignores SIGTERM (trap '' TERM), kill-timeout 3: removed from
#   the processes file (SIGQUIT) it dies only after 3 s, and the tree logs
#   that it killed it; changed (new config) it is likewise stopped after
#   3 s and then started with the new config; at tree shutdown (SIGTERM)
#   the tree waits for it the same 3 s and then exits;
# - a reload (SIGQUIT) 1.5 s into stubborn's kill wait neither restarts
#   the wait nor sends a second SIGTERM (lithos 0.18.4): it dies 3 s after
#   the first reload, having got one SIGTERM; meanwhile the metrics count
#   it as containers.unknown (chapter 6), not running;
# - "polite" (sleep, dies on SIGTERM), kill-timeout 3: dies at once in each
#   of these cases;
# - deaths after our SIGTERM are not failures: lithos_ps and the metrics
#   (cantal reader and Prometheus file) count deaths but no failure.
# Counts of running containers after each step; nothing left behind.
# TAP.  Needs root, LXC, busybox-static and python3.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/treetest.sh"
tt_init t0402

itest_image
itest_master
itest_sandbox_1000 s
for v in 1 2; do
	tt_config stubborn$v <<EOF
kind: Daemon
user-id: 1000
group-id: 1000
executable: /bin/sh
arguments: [-c, "trap 'echo stubborn got TERM' TERM; echo stubborn up; while :; do sleep 0.1; done"]
environ: {PATH: /bin, VERSION: "v$v"}
kill-timeout: 3
restart-timeout: 0
EOF
done
tt_config polite <<'EOF'
kind: Daemon
user-id: 1000
group-id: 1000
executable: /bin/sleep
arguments: ["1000"]
kill-timeout: 3
restart-timeout: 0
EOF
procs() { # procs [stubborn-config] [polite]: the processes file
	{
		[ -n "${1:-}" ] && printf 'stubborn:\n  kind: Daemon\n  image: t/v1\n  config: /config/%s.yaml\n' "$1"
		[ -n "${2:-}" ] && printf 'polite:\n  kind: Daemon\n  image: t/v1\n  config: /config/polite.yaml\n'
	} | tt_processes s
}
NAMES="s.stubborn.0 s.polite.0"
env_of() { tr '\0' '\n' <"/proc/$1/environ" 2>/dev/null | grep '^VERSION='; }

procs stubborn1 polite
tt_start_tree || bail_out "lithos_tree did not start"
tt_wait_running 2 15 '[ -n "$(tt_app_pid s.stubborn.0)" ] && [ -n "$(tt_app_pid s.polite.0)" ]'
ok $? "lxc-ls: stubborn and polite run"
is "$(tt_ps_running)" 2 "lithos_ps: 2 instances running"
# the shell must have set its trap before we signal it
tt_wait_for 10 'grep -q "stubborn up" "$STDIO_LOG_DIR/s.log"'
ok $? "stubborn wrote to the stdio log (its trap is set)"

# ---- a changed stubborn: stopped after kill-timeout, started with the new config
app=$(tt_app_pid s.stubborn.0)
init0=$(tt_init_pid s.stubborn.0)
polite_init=$(tt_init_pid s.polite.0)
is "$(env_of "$app")" "VERSION=v1" "stubborn runs config v1"
procs stubborn2 polite
tt_log_mark change
t0=$(tt_now)
tt_quit
ok $? "reload with a changed stubborn"
tt_wait_gone 10 "$app"
dt=$(echo "$(tt_now) - $t0" | bc)
diag "changed stubborn died $dt s after SIGQUIT"
ok $(tt_float "$dt >= 2.9 && $dt < 5" && echo 0 || echo 1) \
	"changed stubborn died only after its kill-timeout of 3 s (got $dt s)"
tt_wait_for 10 '[ -n "$(tt_app_pid s.stubborn.0)" ] && [ "$(tt_init_pid s.stubborn.0)" != "$init0" ]'
ok $? "changed stubborn started again"
is "$(env_of "$(tt_app_pid s.stubborn.0)")" "VERSION=v2" "with the new config v2"
like "$(tt_log_since change)" 'Killing s/stubborn\.0: still alive 3\.0s after SIGTERM' \
	"the tree logs that it killed stubborn after 3 s"
is "$(tt_init_pid s.polite.0)" "$polite_init" "polite (unchanged) kept running in the same container"
is "$(tt_nrunning)" 2 "lxc-ls: 2 containers run"

# ---- removal: stubborn after kill-timeout, polite at once
tt_wait_for 10 '[ "$(grep -c "stubborn up" "$STDIO_LOG_DIR/s.log")" -ge 2 ]'
app=$(tt_app_pid s.stubborn.0)
procs "" polite
tt_log_mark remove-stubborn
t0=$(tt_now)
tt_quit
ok $? "reload without stubborn"
tt_wait_gone 10 "$app"
dt=$(echo "$(tt_now) - $t0" | bc)
diag "removed stubborn died $dt s after SIGQUIT"
ok $(tt_float "$dt >= 2.9 && $dt < 5" && echo 0 || echo 1) \
	"removed stubborn died only after its kill-timeout of 3 s (got $dt s)"
like "$(tt_log_since remove-stubborn)" 'Killing s/stubborn\.0: still alive 3\.0s after SIGTERM' \
	"the tree logs that it killed the removed stubborn"
tt_wait_running 1 10
ok $? "lxc-ls: only polite runs"
is "$(tt_running)" "s.polite.0" "lxc-ls: polite is the one"

app=$(tt_app_pid s.polite.0)
procs "" ""
t0=$(tt_now)
tt_quit
ok $? "reload without polite"
tt_wait_gone 10 "$app"
dt=$(echo "$(tt_now) - $t0" | bc)
diag "removed polite died $dt s after SIGQUIT"
ok $(tt_float "$dt < 1" && echo 0 || echo 1) "polite died at once on SIGTERM (got $dt s)"
tt_wait_running 0 10
ok $? "lxc-ls: nothing runs"
is "$(tt_ps_summary)" "" "lithos_ps lists no instance"
is "$(tt_metric containers deaths)" 3 "metrics: 3 deaths (stubborn twice, polite once)"
is "$(tt_metric containers failures)" 0 "metrics: deaths after our SIGTERM are not failures"
is "$(tt_leftovers $NAMES | grep -v -e '^process: .*lithos_tree -C' -e '^pid file: ')" "" \
	"removed instances left nothing behind while the tree runs"

# ---- a reload during the kill wait: the wait goes on, no second SIGTERM
procs stubborn1 ""
tt_quit
ok $? "reload with stubborn alone"
tt_wait_for 15 '[ "$(grep -c "stubborn up" "$STDIO_LOG_DIR/s.log")" -ge 3 ]'
ok $? "stubborn runs again (its trap is set)"
app=$(tt_app_pid s.stubborn.0)
terms0=$(grep -c "stubborn got TERM" "$STDIO_LOG_DIR/s.log")
procs "" ""
tt_log_mark reload-in-wait
t0=$(tt_now)
tt_quit
ok $? "reload without stubborn"
# the three levels from one snapshot, taken in the kill wait (stubborn is
# containers.unknown only then): three reads, each a python start, could
# straddle its death and mix two moments
snap=
tt_wait_for 2 'snap=$(tt_metrics) && [ "$(tt_metric_of "$snap" containers unknown)" = 1 ]'
is "$(tt_metric_of "$snap" containers unknown) $(tt_metric_of "$snap" containers running) $(tt_metric_of "$snap" master queue)" "1 0 1" \
	"metrics in the kill wait: stubborn, no longer configured, is containers.unknown, not running, and in the queue"
# the second reload lands in the middle of the 3 s wait, 1.5 s after the
# first (the sleep only places it there; what is asserted is when stubborn dies)
rest=$(echo "1.5 - ($(tt_now) - $t0)" | bc -l)
tt_float "$rest > 0" && sleep "$rest"
diag "second reload $(echo "$(tt_now) - $t0" | bc) s after the first"
tt_quit
ok $? "a second reload 1.5 s into the kill wait"
tt_wait_gone 10 "$app"
dt=$(echo "$(tt_now) - $t0" | bc)
diag "stubborn died $dt s after the first SIGQUIT, with a second one 1.5 s in"
ok $(tt_float "$dt >= 2.9 && $dt < 4.4" && echo 0 || echo 1) \
	"the reload in the kill wait did not restart it: stubborn died 3 s after the first SIGQUIT (got $dt s; a restarted wait gives >= 4.5)"
tt_wait_for 5 '[ "$(grep -c "stubborn got TERM" "$STDIO_LOG_DIR/s.log")" -gt "$terms0" ]'
is "$(($(grep -c "stubborn got TERM" "$STDIO_LOG_DIR/s.log") - terms0))" 1 \
	"stubborn got exactly one SIGTERM across the two reloads"
like "$(tt_log_since reload-in-wait)" 'Killing s/stubborn\.0: still alive 3\.0s after SIGTERM' \
	"the tree logs that it killed stubborn after 3 s"
is "$(tt_log_since reload-in-wait | grep -c 'Stopping s/stubborn\.0')" 1 "the tree logs one stop of stubborn (SIGTERM once)"
tt_wait_for 5 '[ "$(tt_metric containers unknown)" = 0 ]'
ok $? "metrics: containers.unknown back to 0 once stubborn is dead"
tt_wait_running 0 10
ok $? "lxc-ls: nothing runs"

# ---- tree shutdown waits for the kill-timeout
procs stubborn1 polite
tt_quit
ok $? "reload with both again"
tt_wait_running 2 15 '[ -n "$(tt_app_pid s.stubborn.0)" ] && [ -n "$(tt_app_pid s.polite.0)" ]'
ok $? "lxc-ls: both run again"
tt_wait_for 10 '[ "$(grep -c "stubborn up" "$STDIO_LOG_DIR/s.log")" -ge 4 ]'
f0=$(tt_ps s/stubborn.0 failures)
tt_log_mark shutdown
tt_stop_tree TERM
is "$rc" 0 "lithos_tree exits 0 on SIGTERM"
diag "the tree took $TREE_STOP_SECS s to stop"
ok $(tt_float "$TREE_STOP_SECS >= 2.9 && $TREE_STOP_SECS < 6" && echo 0 || echo 1) \
	"the tree stopped after stubborn's kill-timeout of 3 s (got $TREE_STOP_SECS s)"
like "$(tt_log_since shutdown)" 'Killing s/stubborn\.0: still alive 3\.0s after SIGTERM' \
	"the tree logs that it killed stubborn at shutdown"
is "$f0" 0 "lithos_ps showed no failure of stubborn"
is "$(tt_nrunning)" 0 "lxc-ls: nothing runs after the tree stopped"
is "$(tt_metric containers deaths)" 6 "metrics after the stop: 6 deaths"
is "$(tt_metric containers failures)" 0 "metrics after the stop: no failure"
is "$(tt_prom lithos_containers_failures_total '{}')" 0 "Prometheus file: no failure"
is "$(tt_prom lithos_containers_deaths_total '{}')" 6 "Prometheus file: 6 deaths"
like "$(stdio_log s)" '\[lithos\] s/stubborn\.0: exited with 137' "the stdio log has stubborn's death (SIGKILL)"
like "$(stdio_log s)" '\[lithos\] s/polite\.0: exited with 143' "the stdio log has polite's death (SIGTERM)"
tt_check_clean "after SIGTERM" $NAMES
done_testing
