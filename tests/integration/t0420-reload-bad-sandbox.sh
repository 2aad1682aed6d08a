#!/bin/bash
# t0420: configs with problems at a start and at SIGQUIT reloads of
# lithos_tree, with real containers in three sandboxes a, b and c.
# - cold start, sandbox c's config invalid and entry b/z's container config
#   missing: a and b/y start, c is skipped, z is skipped, the log names each
#   problem as FILE:LINE:COL;
# - reload, b's processes file broken: b keeps its configs of the cold start
#   (y runs untouched, z still skipped);
# - reload, a's processes file broken, b/y changed, c fixed: a keeps its
#   last good configs (same pids), b/y restarts with the new config, c
#   starts; only the changed and new instances are compiled;
# - while a is on its last good configs, its process is killed: it restarts
#   with those configs (the knot does not read the broken file);
# - reload, b/y changed again and entry b/v added with a container config
#   that is missing: the whole sandbox b keeps its last good configs (y
#   untouched, v not started), a and c untouched;
# - a container config changed in place inside the image (same path) is
#   seen: c/w restarts with it; one broken in place keeps c on its last good
#   config, and a kill of c/w restarts it with that one;
# - everything fixed: all applied;
# - the tree is SIGKILLed and a broken: the next tree keeps a on the last
#   good configs the crashed tree left in runtime-dir/good (adopted, same
#   pids); a clean stop removes them;
# - a broken master config: reload refused;
# - lithos_ps reads status.json (an old instances.tsv is removed at start);
# - the kept configs (one memfd per sandbox in the tree) reach no knot,
#   container init or process.
# Counts of running containers (lxc-ls, lithos_ps) after each step; nothing
# left behind at the end.
# TAP.  Needs root, LXC, busybox-static and python3.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/treetest.sh"
tt_init t0420

itest_image
itest_master
for sb in a b c; do
	itest_sandbox $sb <<'EOF'
allow-users: [1000]
allow-groups: [1000]
EOF
done
conf() { # NAME MARK
	tt_config "$1" <<EOF
kind: Daemon
user-id: 1000
group-id: 1000
executable: /bin/sleep
arguments: ["1000"]
environ: {MARK: "$2"}
kill-timeout: 2
restart-timeout: 0
EOF
}
conf x x1
conf y1 y1
conf y2 y2
conf y3 y3
conf w w1
entry() { # NAME CONFIG [INSTANCES]
	printf '%s:\n  kind: Daemon\n  image: t/v1\n  config: /config/%s.yaml\n  instances: %s\n' "$1" "$2" "${3:-1}"
}
NAMES="a.x.0 a.x.1 b.y.0 b.z.0 b.v.0 c.w.0"
mark_of() { tr '\0' '\n' <"/proc/$1/environ" 2>/dev/null | sed -n 's/^MARK=//p'; }
mark() { mark_of "$(tt_app_pid "$1")"; }
pids() { echo "$(tt_init_pid "$1") $(tt_app_pid "$1")"; }
all_apps() {
	local n
	for n in "$@"; do [ -n "$(tt_app_pid "$n")" ] || return 1; done
}
set_is() { [ "$(tt_running | tr '\n' ' ')" = "$(printf '%s\n' "$@" | sort | tr '\n' ' ')" ]; }
compiled() { tt_log_since "$1" | sed -n 's/.*Configs want \([0-9]*\) instances; \([0-9]*\) compiled.*/\1 \2/p' | tail -n1; }

# ---- cold start: c's sandbox config invalid, b/z's container config missing
entry x x 2 | tt_processes a
{ entry y y1; entry z missing; } | tt_processes b
entry w w | tt_processes c
printf 'image-dir: %s\nimage-dir-levels: 2\nallow-users: [1000\n' "$IMAGES" >"$ETC/sandboxes/c.yaml"
mkdir -p "$RUNDIR"
printf 'x/y.0\tx.y.0\tx\ty\trunning\t1\t0\t1\t0\t0\t0\n' >"$RUNDIR/instances.tsv"
tt_log_mark cold
tt_start_tree || bail_out "lithos_tree did not start"
ok $([ ! -e "$RUNDIR/instances.tsv" ] && echo 0 || echo 1) "the instances.tsv of an older tree is removed (status.json is lithos_ps's source)"
tt_wait_running 3 20 'all_apps a.x.0 a.x.1 b.y.0'
ok $? "cold start: 3 containers run (a/x x2, b/y)"
sleep 1
is "$(tt_running | tr '\n' ' ')" "a.x.0 a.x.1 b.y.0 " "lxc-ls: exactly a/x x2 and b/y; c and b/z skipped"
is "$(tt_ps_running)" 3 "lithos_ps: 3 running"
log=$(tt_log_since cold)
like "$log" 'sandboxes/c\.yaml:[0-9]+:[0-9]+: ' "the log names c's problem as FILE:LINE:COL"
like "$log" 'Sandbox c: 1 problem .*skipped, nothing of it runs' "c is skipped"
like "$log" 'processes/b\.yaml:[0-9]+:[0-9]+: config /config/missing\.yaml' "the log names b/z's missing container config with FILE:LINE:COL"
like "$log" 'Sandbox b: 1 problem .*its 1 valid process entry run' "b runs its valid entry"
ax0=$(pids a.x.0)
ax1=$(pids a.x.1)
by=$(pids b.y.0)

# ---- reload: b broken; its last good configs are those of the cold start,
# ---- with z's problem: y runs on untouched, z still not
cp "$ETC/processes/b.yaml" "$T/b.cold"
printf 'y: [unclosed\n' >"$ETC/processes/b.yaml"
tt_log_mark r0
tt_quit
ok $? "reload 0: the tree re-executed"
sleep 1
is "$(tt_running | tr '\n' ' ')" "a.x.0 a.x.1 b.y.0 " "reload 0: lxc-ls: the same 3 containers"
is "$(pids b.y.0) / $(pids a.x.0)" "$by / $ax0" "reload 0: b/y and a untouched"
like "$(tt_log_since r0)" 'Sandbox b: .*problems of their own .*as before' "the log says b's last good configs had a problem of their own"
mv "$T/b.cold" "$ETC/processes/b.yaml"

# ---- reload: a broken, b/y changed (and z dropped), c fixed
cp "$ETC/processes/a.yaml" "$T/a.good"
printf 'x:\n  kind: Daemon\n  image: t/v1\n  config: [unclosed\n' >"$ETC/processes/a.yaml"
entry y y2 | tt_processes b
itest_sandbox_1000 c
entry w w | tt_processes c
tt_log_mark r1
tt_quit
ok $? "reload 1: the tree re-executed"
tt_wait_running 4 20 'set_is a.x.0 a.x.1 b.y.0 c.w.0 && all_apps a.x.0 a.x.1 b.y.0 c.w.0 && [ "$(mark b.y.0)" = y2 ]'
ok $? "reload 1: lxc-ls: a/x x2, b/y (new config) and c/w run"
is "$(tt_ps_running)" 4 "lithos_ps: 4 running"
is "$(pids a.x.0) / $(pids a.x.1)" "$ax0 / $ax1" "a (broken processes file): both instances untouched"
is "$(mark a.x.0)" x1 "a/x still runs its config"
ok $([ "$(pids b.y.0)" != "$by" ] && echo 0 || echo 1) "b/y restarted"
is "$(mark b.y.0)" y2 "b/y runs its new config"
log=$(tt_log_since r1)
like "$log" 'processes/a\.yaml:[0-9]+:[0-9]+: invalid YAML' "the log names a's problem as FILE:LINE:COL"
like "$log" 'Sandbox a: 1 problem .*keeps its last good configs' "the log says a keeps its last good configs"
is "$(compiled r1)" "4 2" "only b/y and c/w were compiled (4 wanted)"
cw=$(pids c.w.0)
by=$(pids b.y.0)

# the kept configs (a memfd the knot reads) reach no container
memfds() { # PID...: fds that are a lithos-sources memfd
	local p
	for p in "$@"; do ls -l "/proc/$p/fd" 2>/dev/null; done | grep -c 'memfd:lithos-sources'
}
is "$(memfds "$(tt_init_pid a.x.0)" "$(tt_app_pid a.x.0)" "$(tt_ps a/x.0 knot_pid)" "$(tt_init_pid b.y.0)" "$(tt_app_pid b.y.0)")" 0 \
	"no knot, container init or process holds the memfd of the kept configs"
is "$(memfds "$TREE")" 3 "the tree holds one per sandbox (a, b, c)"

# ---- a restart while a runs on its last good configs
old_app=$(tt_app_pid a.x.0)
kill -KILL "$old_app"
tt_wait_for 15 '[ -n "$(tt_app_pid a.x.0)" ] && [ "$(tt_app_pid a.x.0)" != "$old_app" ]'
ok $? "a/x.0 restarted after its process was killed"
is "$(mark a.x.0)" x1 "with its last good config (the knot did not read the broken file)"
is "$(tt_nrunning)" 4 "lxc-ls: 4 running"
ax0=$(pids a.x.0)

# ---- reload: b/y changed and a bad entry added: all of b keeps its configs
{ entry y y3; entry v missing; } | tt_processes b
tt_log_mark r2
tt_quit
ok $? "reload 2: the tree re-executed"
sleep 1.5
is "$(tt_running | tr '\n' ' ')" "a.x.0 a.x.1 b.y.0 c.w.0 " "lxc-ls: the same 4 containers; b/v not started"
is "$(pids b.y.0)" "$by" "b/y untouched: its sandbox keeps its last good configs"
is "$(mark b.y.0)" y2 "b/y runs its last good config"
is "$(pids a.x.0) / $(pids a.x.1) / $(pids c.w.0)" "$ax0 / $ax1 / $cw" "a and c untouched"
like "$(tt_log_since r2)" 'processes/b\.yaml:[0-9]+:[0-9]+: config /config/missing\.yaml' "the log names b/v's problem"
is "$(compiled r2)" "4 0" "nothing was compiled"

# ---- a container config changed in place, then broken in place
conf w w2
tt_log_mark r3
tt_quit
ok $? "reload 3: the tree re-executed"
tt_wait_running 4 20 '[ "$(mark c.w.0)" = w2 ]'
ok $? "c/w restarted with its changed container config (same path in the image)"
is "$(compiled r3)" "4 1" "only c/w was compiled"
is "$(pids a.x.0) / $(pids a.x.1) / $(pids b.y.0)" "$ax0 / $ax1 / $by" "the others untouched"
cw=$(pids c.w.0)
printf 'kind: Daemon\nexecutable: /bin/sleep\nbogus-key: 1\n' >"$IMAGES/t/v1/config/w.yaml"
tt_log_mark r4
tt_quit
ok $? "reload 4: the tree re-executed"
sleep 1
is "$(pids c.w.0)" "$cw" "c/w untouched: its container config broke in place"
like "$(tt_log_since r4)" 'config/w\.yaml:[0-9]+:[0-9]+: .*bogus-key' "the log names the problem in the image's config"
old_app=$(tt_app_pid c.w.0)
kill -KILL "$old_app"
tt_wait_for 15 '[ -n "$(tt_app_pid c.w.0)" ] && [ "$(tt_app_pid c.w.0)" != "$old_app" ]'
ok $? "c/w restarted after its process was killed"
is "$(mark c.w.0)" w2 "with its last good container config"
is "$(tt_nrunning)" 4 "lxc-ls: 4 running"

# ---- everything fixed
conf w w2
mv "$T/a.good" "$ETC/processes/a.yaml"
{ entry y y3; entry v w; } | tt_processes b
ax0=$(pids a.x.0)
cw=$(pids c.w.0)
tt_log_mark r5
tt_quit
ok $? "reload 5: the tree re-executed"
tt_wait_running 5 20 'all_apps a.x.0 a.x.1 b.y.0 b.v.0 c.w.0 && [ "$(mark b.y.0)" = y3 ]'
ok $? "lxc-ls: 5 run, b/y on its new config, b/v started"
is "$(tt_ps_running)" 5 "lithos_ps: 5 running"
is "$(pids a.x.0) / $(pids a.x.1) / $(pids c.w.0)" "$ax0 / $ax1 / $cw" "a and c untouched"
unlike "$(tt_log_since r5)" '\[error\]' "no error logged"

# ---- the tree crashes; a new tree finds a broken: it keeps the last good
# ---- configs the crashed tree left in runtime-dir/good and adopts a
ax0=$(pids a.x.0)
ax1=$(pids a.x.1)
ok $([ -s "$RUNDIR/good/a.sources" ] && echo 0 || echo 1) "the tree keeps a copy of a's last good configs in runtime-dir/good"
tt_kill_tree
cp "$ETC/processes/a.yaml" "$T/a.good"
printf 'x:\n  kind: Daemon\n  image: t/v1\n  config: [unclosed\n' >"$ETC/processes/a.yaml"
tt_log_mark crash
tt_start_tree || bail_out "the second lithos_tree did not start"
sleep 1.5
is "$(tt_running | tr '\n' ' ')" "a.x.0 a.x.1 b.v.0 b.y.0 c.w.0 " "after the crash: lxc-ls: the same 5 containers"
is "$(pids a.x.0) / $(pids a.x.1)" "$ax0 / $ax1" "a's instances adopted untouched"
is "$(tt_ps_running)" 5 "lithos_ps: 5 running"
like "$(tt_log_since crash)" 'Sandbox a: 1 problem .*keeps its last good configs' "the new tree keeps a on the last good configs of the crashed one"
mv "$T/a.good" "$ETC/processes/a.yaml"
tt_quit
ok $? "reload after the crash: the tree re-executed"

# ---- a broken master config: nothing changes
cp "$MASTER" "$T/master.good"
echo "bogus-master-key: 1" >>"$MASTER"
{ entry y y1; entry v w; } | tt_processes b
by=$(pids b.y.0)
r0=$(tt_status_reloads)
tt_log_mark r6
kill -QUIT "$TREE"
tt_wait_for 5 'tt_log_since r6 | grep -q "Reload refused"'
ok $? "broken master config: the reload is refused"
like "$(tt_log_since r6)" 'master\.yaml:[0-9]+:[0-9]+: .*bogus-master-key' "and the log names the problem"
sleep 0.5
is "$(tt_status_reloads)" "$r0" "the tree did not re-execute"
is "$(pids b.y.0) $(tt_nrunning)" "$by 5" "b/y untouched, 5 running"
cp "$T/master.good" "$MASTER"

tt_stop_tree TERM
is "$rc" 0 "lithos_tree exits 0 on SIGTERM"
ok $([ ! -e "$RUNDIR/good" ] && echo 0 || echo 1) "a clean stop removes runtime-dir/good (the next start is a cold one)"
is "$(tt_nrunning)" 0 "lxc-ls: nothing runs after the tree stopped"
tt_check_clean "after SIGTERM" $NAMES
done_testing
