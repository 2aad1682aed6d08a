#!/bin/bash
# t0610: lithos_checkpoint and lithos_restore on one host, real containers
# run by lithos_tree, real CRIU (the test wrapper of scripts/install-criu.sh).
# - s/counter.0 (sandbox s, migratable: true) runs counterd, whose token
#   and counters live only in its memory (unix socket on a !Tmpfs /run);
# - failure paths leave it running and say why: criu missing (a PATH
#   without criu: exit 3), a non-migratable instance n/counter.0 (exit 4),
#   a pre-dump on this kernel (no memory dirty tracking: exit 3), a
#   restore of a running instance (exit 4);
# - --leave-running: images written, the same process runs on;
# - a stopping checkpoint: the container is gone, the tree does not restart
#   it and counts no death or failure;
# - lithos_restore: the tree's knot restores it: same token, the request
#   counter continues, ticks did not restart, the tree shows it running and
#   supervises it: a reload and a new tree after a tree crash (adoption)
#   leave it running; killed later, it is restarted (fresh: a new token);
# - the daemon runs as root: these VMs lack CAP_SYS_RESOURCE in the
#   bounding set, so CRIU cannot read the rlimits of another user's
#   process here (docs/criu-notes.md);
# - nothing is left behind after the tree stops.
# TAP.  Needs root, LXC, CRIU, busybox-static, python3, gcc -static.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/criutest.sh"
ct_init t0610
ct_need_criu
CHECKPOINT=$top_builddir/lithos_checkpoint
RESTORE=$top_builddir/lithos_restore
[ -x "$CHECKPOINT" ] && [ -x "$RESTORE" ] || bail_out "lithos_checkpoint/lithos_restore not built"

ct_host a
ct_use a
ct_master
for sb in s n; do
	{
		echo "allow-users: [0]"
		echo "allow-groups: [0]"
		[ "$sb" = s ] && echo "migratable: true"
	} | ct_sandbox "$sb"
done
tt_config counter <<'EOF'
kind: Daemon
user-id: 0
group-id: 0
executable: /bin/counterd
arguments: [--unix, /run/c.sock, --interval, "50"]
volumes:
  /run: !Tmpfs {size: 1Mi, mode: 0o1777}
restart-timeout: 1
EOF
for sb in s n; do
	printf 'counter:\n  kind: Daemon\n  image: t/v1\n  config: /config/counter.yaml\n' | tt_processes "$sb"
done
NAMES="s.counter.0 n.counter.0"

ask() { # LXCNAME: one status line of counterd in that container
	local p
	p=$(tt_init_pid "$1")
	[ -n "$p" ] || { echo "ERROR $1 not running"; return; }
	ct_ask_unix "/proc/$p/root/run/c.sock"
}
wait_answer() { # LXCNAME
	WA_NAME=$1
	tt_wait_for 15 '[ "$(ask "$WA_NAME" | cut -c1-8)" = counterd ]'
}

tt_start_tree || bail_out "lithos_tree did not start"
tt_wait_running 2 20
ok $? "both counters run" || diag_file "$TREE_LOG"
wait_answer s.counter.0
ok $? "s/counter.0 answers" || diag_file "$STDIO_LOG_DIR/s.log"
wait_answer n.counter.0
a1=$(ask s.counter.0)
tok=$(ct_field "$a1" token)
init1=$(tt_init_pid s.counter.0)
diag "s/counter.0: $a1 (init $init1)"

# ---- failures leave it running and say why
out=$(env PATH=/usr/bin:/bin "$CHECKPOINT" -C "$MASTER" s/counter.0 "$T/ck-nocriu" 2>&1)
is "$?" 3 "criu missing: lithos_checkpoint exits 3"
like "$out" 'criu is not installed: no criu on PATH' "criu missing: it says so"
is "$(tt_init_pid s.counter.0)" "$init1" "criu missing: the instance runs on (same init)"

out=$("$CHECKPOINT" -C "$MASTER" n/counter.0 "$T/ck-n" 2>&1)
is "$?" 4 "non-migratable instance: exit 4"
like "$out" 'n/counter\.0 cannot be checkpointed: its sandbox n is not migratable' \
	"non-migratable instance: it says so"
ok $([ -n "$(tt_init_pid n.counter.0)" ] && [ ! -e "$T/ck-n/inventory.img" ] && echo 0 || echo 1) \
	"non-migratable instance: runs on, no images"

out=$("$CHECKPOINT" -C "$MASTER" --pre-dump s/counter.0 "$T/ck-pre" 2>&1)
rc=$?
if criu check --feature mem_dirty_track >/dev/null 2>&1; then
	is "$rc" 0 "pre-dump works on this kernel (memory dirty tracking)"
else
	is "$rc" 3 "pre-dump without the kernel's dirty tracking: exit 3"
	like "$out" 'pre-dumps need memory dirty tracking' "pre-dump: it says why"
fi
is "$(tt_init_pid s.counter.0)" "$init1" "after the pre-dump attempt the instance runs on"

out=$("$CHECKPOINT" -C "$MASTER" s/counter.0 2>&1)
is "$?" 2 "no DIR: usage error"

# ---- --leave-running
out=$("$CHECKPOINT" -C "$MASTER" --leave-running s/counter.0 "$T/ck1" 2>&1)
ok $? "checkpoint --leave-running" || diag "$out"
like "$out" '^checkpointed s/counter\.0 to .*/ck1 in [0-9]+ ms \(left running\)$' "it reports the dump"
ok $([ -e "$T/ck1/inventory.img" ] && echo 0 || echo 1) "images written"
is "$(tt_init_pid s.counter.0)" "$init1" "left running: same init"
a2=$(ask s.counter.0)
is "$(ct_field "$a2" token)" "$tok" "left running: same process (token)"

# ---- a stopping checkpoint, then the restore by the tree
r_before=$(ct_field "$(ask s.counter.0)" requests)
ticks_before=$(ct_field "$(ask s.counter.0)" ticks)
r_before=$((r_before + 1))
out=$("$CHECKPOINT" -C "$MASTER" s/counter.0 "$T/ck2" 2>&1)
ok $? "checkpoint (stop)" || diag "$out"
like "$out" '\(stopped\)$' "it reports the stop"
diag "$out"
tt_wait_for 10 '[ -z "$(tt_init_pid s.counter.0)" ]'
ok $? "the container is gone"
sleep 2.5
is "$(tt_init_pid s.counter.0)" "" "the tree did not restart it (restart-timeout 1 s, waited 2.5 s)"
like "$(cat "$TREE_LOG")" 's/counter\.0 was checkpointed to .*/ck2 and stopped' "the tree logs the checkpoint"
is "$(tt_ps s/counter.0 state)" checkpointed "lithos_ps: checkpointed"
is "$(tt_metric containers failures)" 0 "metrics: no failure"
is "$(tt_metric containers deaths)" 0 "metrics: no death"

out=$("$RESTORE" -C "$MASTER" s/counter.0 "$T/ck2" 2>&1)
ok $? "lithos_restore" || { diag "$out"; diag_file "$TREE_LOG"; diag_file "$STDIO_LOG_DIR/s.log"; }
like "$out" '^restored s/counter\.0 from .*/ck2 in [0-9]+ ms \(init pid [0-9]+\)$' "it reports the restore"
diag "$out"
a3=$(ask s.counter.0)
diag "restored: $a3"
is "$(ct_field "$a3" token)" "$tok" "restored: the same process image (token)"
is "$(ct_field "$a3" requests)" "$((r_before + 1))" "restored: the request counter continues"
ok $([ "$(ct_field "$a3" ticks)" -ge "$ticks_before" ] && echo 0 || echo 1) \
	"restored: ticks continue from $ticks_before (got $(ct_field "$a3" ticks))"
is "$(tt_ps s/counter.0 state)" running "lithos_ps: running"
out=$("$RESTORE" -C "$MASTER" s/counter.0 "$T/ck2" 2>&1)
is "$?" 4 "restore of a running instance: exit 4"
like "$out" 'already running' "it says so"

# ---- supervised like any other: reload, adoption after a tree crash
init3=$(tt_init_pid s.counter.0)
tt_quit
ok $? "reload (SIGQUIT) with the restored instance"
is "$(tt_init_pid s.counter.0)" "$init3" "reload: the restored instance runs on (same init)"
is "$(ct_field "$(ask s.counter.0)" token)" "$tok" "reload: same process"
tt_kill_tree
tt_start_tree || bail_out "lithos_tree did not start again"
tt_wait_for 10 '[ "$(tt_ps s/counter.0 state)" = running ]'
ok $? "a new tree adopts the restored instance (lithos_ps: running)"
is "$(tt_init_pid s.counter.0)" "$init3" "adopted: same init"
is "$(ct_field "$(ask s.counter.0)" token)" "$tok" "adopted: same process"

# ---- killed, the tree starts it again (fresh)
kill -KILL "$init3"
tt_wait_for 15 '[ -n "$(tt_init_pid s.counter.0)" ] && [ "$(tt_init_pid s.counter.0)" != "$init3" ]'
ok $? "killed after the restore, the tree starts it again"
wait_answer s.counter.0
a4=$(ask s.counter.0)
ok $([ -n "$(ct_field "$a4" token)" ] && [ "$(ct_field "$a4" token)" != "$tok" ] && echo 0 || echo 1) \
	"the restart is a fresh start (new token)"
is "$(tt_metric containers failures)" 1 "metrics: the kill is one failure"

tt_stop_tree
is "$rc" 0 "lithos_tree stops"
tt_check_clean "after the tree stopped" $NAMES
done_testing
