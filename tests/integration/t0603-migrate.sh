#!/bin/bash
# t0603: migration of a supervised daemon between two lithos hosts on one
# machine (tests/lib/criutest.sh: own master.yaml, runtime dir, lxc path,
# cgroup and lithos_tree each), the way docs/migration.md tells an operator
# to do it (ct_migrate: lithos_checkpoint on the source, images to the
# target, lithos_restore + lithos_switch on the target, lithos_switch
# without the entry on the source):
# - a -> b over ssh (a private sshd for b, 127.0.0.1 only): the counter
#   continues on b (same token, next request, memory intact), b's tree
#   supervises it (lithos_ps), a has nothing left (no container, lithos_ps
#   does not list it, its tree did not restart it);
# - b -> a through a shared directory: the same;
# - on a, killed later: a's tree restarts it (fresh);
# - failure paths leave the source instance running again (restored on the
#   source from the same images) and say why: the target refusing (its
#   sandbox is not migratable), the transfer failing midway (the tar stream
#   cut after 1 MB);
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
for h in a b; do
	ct_host $h
	ct_use $h
	ct_master
	ct_sandbox s <<EOF
allow-users: [0]
allow-groups: [0]
migratable: true
EOF
done
ct_sshd b || bail_out "sshd for host b"
ct_sshd a || bail_out "sshd for host a"
N=s.counter.0
ENTRY=$T/with-counter.yaml
EMPTY=$T/empty.yaml
echo "counter: {image: t/v1, config: /config/counter.yaml, instances: 1}" >"$ENTRY"
: >"$EMPTY"

ct_use a
tt_processes s <"$ENTRY"
tt_start_tree || bail_out "lithos_tree of a did not start"
ct_use b
tt_start_tree || bail_out "lithos_tree of b did not start"
ct_use a
tt_wait_running 1 20 '[ -n "$(tt_app_pid $N)" ]'
ok $? "a runs the counter"
s1=$(ct_ask a $N)
TOKEN=$(ct_field "$s1" token)
diag "on a: $s1"
ps_list() { ct_on "$1" tt_ps_summary | tr '\n' ' '; }

# ---- a -> b over ssh
ct_migrate a b s/counter.0 ssh "$EMPTY" "$ENTRY"
is "$MIG_RC" 0 "migrate a -> b over ssh" || diag "$MIG_OUT"
s2=$(ct_ask b $N)
diag "on b: $s2"
is "$(ct_field "$s2" token)" "$TOKEN" "b runs the same process (token)"
is "$(ct_field "$s2" requests)" 2 "the counter continues (2nd request)"
is "$(ct_field "$s2" memok)" 1 "its 10 MiB are intact"
is "$(ct_on b tt_ps s/counter.0 state)" running "b's lithos_ps: running"
is "$(ct_on a tt_running)" "" "a: no container left"
unlike "$(ps_list a)" "s/counter" "a's lithos_ps does not list it"
sleep 1
is "$(ct_on a tt_running)" "" "a's tree did not restart it"

# ---- b -> a through a shared directory
ct_migrate b a s/counter.0 shared "$EMPTY" "$ENTRY"
is "$MIG_RC" 0 "migrate b -> a through a shared directory" || diag "$MIG_OUT"
s3=$(ct_ask a $N)
diag "on a: $s3"
is "$(ct_field "$s3" token) $(ct_field "$s3" requests) $(ct_field "$s3" memok)" "$TOKEN 3 1" \
	"a runs the same process, 3rd request, memory intact"
is "$(ct_on b tt_running)" "" "b: no container left"
unlike "$(ps_list b)" "s/counter" "b's lithos_ps does not list it"

# ---- the target's tree supervises it
ct_use a
init=$(tt_init_pid $N)
kill -KILL "$(tt_app_pid $N)"
tt_wait_for 15 "[ -n \"\$(tt_app_pid $N)\" ] && [ \"\$(tt_init_pid $N)\" != \"$init\" ]"
ok $? "killed on a, a's tree restarts it"
s4=$(ct_ask a $N)
is "$(ct_field "$s4" requests)" 1 "fresh after the restart (1st request)"
TOKEN=$(ct_field "$s4" token)
s4=$(ct_ask a $N)

# ---- failure: the target refuses (its sandbox is not migratable)
ct_use b
sed -i '/^migratable:/d' "$ETC/sandboxes/s.yaml"
ct_migrate a b s/counter.0 ssh "$EMPTY" "$ENTRY"
is "$MIG_RC" 3 "b refuses the restore" || diag "$MIG_OUT"
like "$MIG_OUT" "migratable" "and says why" && diag "$MIG_OUT"
ct_on a "$LITHOS_RESTORE" -C "$T/a/etc/master.yaml" s/counter.0 "$(ls -d "$T"/a/ckpt.* | tail -n 1)" >"$T/back.out" 2>&1
is "$?" 0 "the source restores it from its own images" || diag_file "$T/back.out"
s5=$(ct_ask a $N)
is "$(ct_field "$s5" token) $(ct_field "$s5" requests)" "$TOKEN 3" "a runs it again: same process, counter continues"
is "$(ct_on b tt_running)" "" "b runs nothing"
ct_switch b s "$EMPTY" >/dev/null 2>&1
echo "migratable: true" >>"$T/b/etc/sandboxes/s.yaml"

# ---- failure: the transfer fails midway
rm -rf "$T"/a/ckpt.*
CT_MIG_TRANSFER='head -c 1000000 | ct_ssh b "mkdir -p \$MIG_DIR && tar -C \$MIG_DIR -xf -"'
ct_migrate a b s/counter.0 ssh "$EMPTY" "$ENTRY"
unset CT_MIG_TRANSFER
ok $([ "$MIG_RC" -ne 0 ] && echo 0 || echo 1) "a transfer cut after 1 MB fails (step $MIG_RC)" || diag "$MIG_OUT"
diag "$MIG_OUT"
ct_on a "$LITHOS_RESTORE" -C "$T/a/etc/master.yaml" s/counter.0 "$(ls -d "$T"/a/ckpt.* | tail -n 1)" >"$T/back.out" 2>&1
is "$?" 0 "the source restores it from its own images" || diag_file "$T/back.out"
s6=$(ct_ask a $N)
is "$(ct_field "$s6" token) $(ct_field "$s6" requests)" "$TOKEN 4" "a runs it again: same process, counter continues"
is "$(ct_on b tt_running)" "" "b runs nothing"

# ---- the end
ct_stop_all
ct_check_clean "both hosts stopped" $N
done_testing
