#!/bin/bash
# t0603: migration of a supervised daemon between two lithos hosts on one
# machine (tests/lib/criutest.sh: own master.yaml, runtime dir, lxc path,
# cgroup and lithos_tree each), the way docs/migration.md tells an operator
# to do it (ct_migrate: lithos_checkpoint on the source, images to the
# target, lithos_restore + lithos_switch on the target, lithos_switch
# without the entry on the source):
# - s/counter.0 a -> b over ssh (a private sshd for b, 127.0.0.1 only):
#   the counter continues on b (same token, next request, memory intact),
#   b's tree supervises it (lithos_ps), a has nothing left (no container,
#   lithos_ps does not list it, its tree did not restart it);
# - s/other.0 a -> b through a shared directory: the same;
# - on b, s/counter.0 killed later: b's tree restarts it (fresh);
# - failure paths b -> a leave the source instance running again (restored
#   on the source from the same images) and say why: the target refusing
#   (it already runs s/third.0; s/third.0 started on b), the transfer
#   failing midway (the tar stream cut after 1 MB);
# - a target whose sandbox is not migratable refuses, saying so, and the
#   source restores it;
# - s/other.0 back b -> a, to the host it ran on before;
# - nothing left behind on either host.
# TAP.  Needs root, LXC, CRIU (scripts/install-criu.sh), busybox-static,
# python3, gcc -static, sshd (tests/lib/install-sshd.sh).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/criutest.sh"
ct_init t0603
ct_need_commands
ct_need_criu

ct_counter_config counter 10
ct_counter_config other 1
ct_counter_config third 1
ct_migratable_hosts a b
ct_sshd b || bail_out "sshd for host b"
ct_sshd a || bail_out "sshd for host a"
N=s.counter.0
O=s.other.0
proc_line() { echo "$1: {image: t/v1, config: /config/$1.yaml, instances: 1}"; }
proc_line counter >"$T/c.yaml"
proc_line other >"$T/o.yaml"
cat "$T/c.yaml" "$T/o.yaml" >"$T/co.yaml"
proc_line third >"$T/t.yaml"
cat "$T/c.yaml" "$T/o.yaml" "$T/t.yaml" >"$T/cot.yaml"
cat "$T/o.yaml" "$T/t.yaml" >"$T/ot.yaml"
: >"$T/none.yaml"
ps_list() { ct_on "$1" tt_ps_summary | tr '\n' ' '; }
mig_diag() { # HOST
	diag "$MIG_OUT"
	diag_file "$MIG_DIR/restore.log"
	diag_file "$T/$1/tree.log"
}

ct_use a
tt_processes s <"$T/co.yaml"
tt_start_tree || bail_out "lithos_tree of a did not start"
ct_use b
tt_processes s <"$T/t.yaml"
tt_start_tree || bail_out "lithos_tree of b did not start"
tt_wait_running 1 20 '[ -n "$(tt_app_pid s.third.0)" ]'
ok $? "b runs third"
ct_use a
tt_wait_running 2 20 '[ -n "$(tt_app_pid $N)" ] && [ -n "$(tt_app_pid $O)" ]'
ok $? "a runs counter and other"
s1=$(ct_ask a $N)
o1=$(ct_ask a $O)
TOKEN=$(ct_field "$s1" token)
OTOKEN=$(ct_field "$o1" token)
diag "on a: $s1"

# ---- counter: a -> b over ssh
cat "$T/c.yaml" "$T/t.yaml" >"$T/ct.yaml"
ct_migrate a b s/counter.0 ssh "$T/o.yaml" "$T/ct.yaml"
is "$MIG_RC" 0 "migrate s/counter.0 a -> b over ssh" || mig_diag b
s2=$(ct_ask b $N)
diag "on b: $s2"
is "$(ct_field "$s2" token)" "$TOKEN" "b runs the same process (token)"
is "$(ct_field "$s2" requests)" 2 "the counter continues (2nd request)"
is "$(ct_field "$s2" memok)" 1 "its 10 MiB are intact"
is "$(ct_on b tt_ps s/counter.0 state)" running "b's lithos_ps: running"
is "$(ct_on a tt_running)" "$O" "a: only other runs"
unlike "$(ps_list a)" "s/counter" "a's lithos_ps does not list counter"
sleep 1
is "$(ct_on a tt_running)" "$O" "a's tree did not restart counter"

# ---- other: a -> b through a shared directory
ct_migrate a b s/other.0 shared "$T/none.yaml" "$T/cot.yaml"
is "$MIG_RC" 0 "migrate s/other.0 a -> b through a shared directory" || mig_diag b
o2=$(ct_ask b $O)
is "$(ct_field "$o2" token) $(ct_field "$o2" requests) $(ct_field "$o2" memok)" "$OTOKEN 2 1" \
	"b runs the same other, 2nd request, memory intact"
is "$(ct_on a tt_running)" "" "a: no container left"
is "$(ps_list a)" "" "a's lithos_ps lists nothing"
is "$(ct_on b tt_running | tr '\n' ' ')" "$N $O s.third.0 " "b runs counter, other and third"

# ---- the target's tree supervises what it restored
ct_use b
init=$(tt_init_pid $N)
kill -KILL "$(tt_app_pid $N)"
tt_wait_for 15 "[ -n \"\$(tt_app_pid $N)\" ] && [ \"\$(tt_init_pid $N)\" != \"$init\" ]"
ok $? "counter killed on b, b's tree restarts it"
s3=$(ct_ask b $N)
is "$(ct_field "$s3" requests)" 1 "fresh after the restart (1st request)"
TOKEN=$(ct_field "$s3" token)
is "$(ct_field "$(ct_ask b $O)" token)" "$OTOKEN" "other runs on, untouched"

# ---- failure: the target refuses (a already runs an instance s/third.0)
T3=$(ct_field "$(ct_ask b s.third.0)" token)
ct_switch a s "$T/t.yaml" >/dev/null 2>&1
ct_use a
tt_wait_running 1 20 '[ -n "$(tt_app_pid s.third.0)" ]'
A3=$(ct_field "$(ct_ask a s.third.0)" token)
ct_migrate b a s/third.0 ssh "$T/co.yaml" "$T/t.yaml"
is "$MIG_RC" 3 "a refuses the restore" || mig_diag a
like "$MIG_OUT" "lithos_restore: .*running" "lithos_restore says the instance already runs there" && diag "$MIG_OUT"
is "$(ct_field "$(ct_ask a s.third.0)" token)" "$A3" "a's own s/third.0 runs on, untouched"
ct_on b "$LITHOS_RESTORE" -C "$T/b/etc/master.yaml" s/third.0 "$MIG_SRC_DIR" >"$T/back.out" 2>&1
is "$?" 0 "the source b restores it from its own images" || diag_file "$T/back.out"
t4=$(ct_ask b s.third.0)
is "$(ct_field "$t4" token) $(ct_field "$t4" requests)" "$T3 2" "b runs it again: same process, counter continues"
ct_switch a s "$T/none.yaml" >/dev/null 2>&1
ct_use a
tt_wait_running 0 20
ok $? "a's own s/third.0 removed again"

# ---- failure: the transfer fails midway
CT_MIG_TRANSFER='head -c 1000000 | ct_ssh a "mkdir -p $MIG_DIR && tar -C $MIG_DIR -xf -"'
ct_migrate b a s/counter.0 ssh "$T/o.yaml" "$T/c.yaml"
unset CT_MIG_TRANSFER
is "$MIG_RC" 2 "a transfer cut after 1 MB fails at the transfer" || diag "$MIG_OUT"
like "$MIG_OUT" "tar: " "and tar says why" && diag "$MIG_OUT"
is "$(ct_on a tt_running)" "" "a runs nothing"
ct_on b "$LITHOS_RESTORE" -C "$T/b/etc/master.yaml" s/counter.0 "$MIG_SRC_DIR" >"$T/back.out" 2>&1
is "$?" 0 "the source b restores it from its own images" || diag_file "$T/back.out"
s5=$(ct_ask b $N)
is "$(ct_field "$s5" token) $(ct_field "$s5" requests)" "$TOKEN 2" "b runs it again: same process, counter continues"

# ---- other goes back to a, where it ran before
ct_migrate b a s/other.0 shared "$T/ct.yaml" "$T/o.yaml"
is "$MIG_RC" 0 "s/other.0 back b -> a (shared dir), to the host it ran on before" || mig_diag a
o3=$(ct_ask a $O)
is "$(ct_field "$o3" token) $(ct_field "$o3" requests)" "$OTOKEN 4" "a runs the same other again (4th request)"

# ---- a target whose sandbox is not migratable refuses
ct_use b
T3=$(ct_field "$(ct_ask b s.third.0)" token)
sed -i '/^migratable:/d' "$T/a/etc/sandboxes/s.yaml"
ct_migrate b a s/third.0 ssh "$T/c.yaml" "$T/ot.yaml"
is "$MIG_RC" 3 "a target sandbox without migratable: true refuses the restore" || mig_diag a
like "$MIG_OUT" "lithos_restore: .*migratable" "and says so" && diag "$MIG_OUT"
# (a's other is restarted by the reloads: its sandbox changed)
tt_wait_for 15 '[ "$(ct_on a tt_running)" = "$O" ]'
ok $? "a runs only other" || ct_on a tt_running | diag
ct_on b "$LITHOS_RESTORE" -C "$T/b/etc/master.yaml" s/third.0 "$MIG_SRC_DIR" >"$T/back.out" 2>&1
is "$?" 0 "the source b restores it from its own images" || diag_file "$T/back.out"
t5=$(ct_ask b s.third.0)
is "$(ct_field "$t5" token) $(ct_field "$t5" requests)" "$T3 4" "b runs it again: same process, counter continues"

# ---- the end
ct_stop_all
ct_check_clean "both hosts stopped" $N $O s.third.0
done_testing
