#!/bin/bash
# t0611: lithos_migrate between two lithos hosts on one machine (own master
# config, runtime dir, lxc path, cgroup name and lithos_tree each; host
# network; images in a shared directory, --to local), real CRIU:
# - the target refusing (its sandbox is not migratable): lithos_migrate
#   exits 1, says which step failed and that the instance runs on the source
#   again, restored from the same images (same token, counter continues);
#   nothing runs on the target and its tree does not start the instance
#   fresh; the target's processes config is put back byte for byte (the one
#   --target-processes replaced; and when it had none: none again), its
#   lithos_ps lists nothing, no checkpoint marker or container dir of the
#   instance is left there; the images of the failed attempt are removed;
# - after the target's sandbox became migratable: the move succeeds, the
#   entry is installed on the target (--target-processes) and removed on
#   the source (--source-processes); the counter continues on the target
#   (same token), its tree lists it running, the source has nothing left
#   (the cgroup2 directory CRIU makes on b with a's path goes when the
#   process ends);
# - back b -> a over ssh (a private sshd for a, --ssh, --target-bin,
#   --dir/--target-dir): the same checks, images removed on both sides;
# - usage errors; nothing left behind.
# TAP.  Needs root, LXC, CRIU, busybox-static, python3, gcc -static.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/criutest.sh"
ct_init t0611
ct_need_criu
MIGRATE=$top_builddir/lithos_migrate
[ -x "$MIGRATE" ] || bail_out "$MIGRATE not built"

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
sandbox() { # MIGRATABLE
	{
		echo "allow-users: [0]"
		echo "allow-groups: [0]"
		[ "$1" = yes ] && echo "migratable: true"
	} | ct_sandbox s
}
ENTRY=$T/with.yaml
EMPTY=$T/empty.yaml
echo "counter: {image: t/v1, config: /config/counter.yaml, instances: 1}" >"$ENTRY"
: >"$EMPTY"
N=s.counter.0
for h in a b; do
	ct_host $h
	ct_use $h
	ct_master
done
ct_use a
sandbox yes
tt_processes s <"$ENTRY"
tt_start_tree || bail_out "tree of a"
ct_use b
sandbox no
B_OWN=$T/b-own.yaml
printf '# b: its own processes config, no entries\n\n' >"$B_OWN"
tt_processes s <"$B_OWN"
tt_start_tree || bail_out "tree of b"

ask() { # HOST
	local p
	p=$(ct_on "$1" tt_init_pid $N)
	[ -n "$p" ] || { echo "ERROR not running on $1"; return; }
	ct_ask_unix "/proc/$p/root/run/c.sock"
}
ct_use a
tt_wait_for 20 '[ "$(ask a | cut -c1-8)" = counterd ]'
ok $? "a runs the counter"
s1=$(ask a)
tok=$(ct_field "$s1" token)
diag "on a: $s1"

out=$("$MIGRATE" -C "$T/a/etc/master.yaml" s/counter.0 2>&1)
is "$?" 2 "no --to: usage error"

# ---- the target refuses: its sandbox is not migratable
# refused WHAT: a migration a -> b that b's restore refuses, with b's
# processes config as it is; b must be as before afterwards
refused() {
	local r0 out rc s2
	r0=$(ct_field "$(ask a)" requests)
	out=$("$MIGRATE" -C "$T/a/etc/master.yaml" --to local --target-master "$T/b/etc/master.yaml" \
		--shared-dir "$T/shared" --target-processes "$ENTRY" --source-processes "$EMPTY" s/counter.0 2>&1)
	rc=$?
	is "$rc" 1 "$1: exit 1"
	diag "$out"
	like "$out" 'the restore on the target failed; restoring it here' "$1: it says which step failed"
	like "$out" 'not migratable on this host' "$1: it passes on the target's reason"
	like "$out" 's/counter\.0 runs here again' "$1: it says the instance runs here again"
	s2=$(ask a)
	is "$(ct_field "$s2" token)" "$tok" "$1: a runs the same process again (token)"
	is "$(ct_field "$s2" requests)" "$((r0 + 1))" "$1: a: the request counter continued"
	is "$(ct_on b tt_init_pid $N)" "" "$1: nothing runs on b"
	tt_wait_for 10 '[ -z "$(ct_on b tt_ps_summary)" ]'
	is "$(ct_on b tt_ps_summary)" "" "$1: b's lithos_ps lists nothing (its tree applied its old config)"
	sleep 1.5
	is "$(ct_on b tt_init_pid $N)" "" "$1: b's tree did not start it fresh either"
	is "$(ls "$T/b/run/knots" | grep -F "$N." | grep -v '\.\(log\|status\)$')" "" \
		"$1: no checkpoint marker, request or result of it on b"
	is "$(ls -A "$T/b/lxc" | grep -F "$N")" "" "$1: no container dir of it on b"
	is "$(ct_on a tt_ps s/counter.0 state)" running "$1: lithos_ps on a: running"
	is "$(ls -A "$T/shared")" "" "$1: the images were removed"
}
refused "target refusing"
ok $(cmp -s "$B_OWN" "$T/b/etc/processes/s.yaml" && echo 0 || echo 1) \
	"target refusing: b's processes config is byte for byte the one it had"
ls -A "$T/b/run/knots" | diag
rm -f "$T/b/etc/processes/s.yaml"
ct_on b tt_quit
refused "target refusing, b without a processes config"
ok $([ ! -e "$T/b/etc/processes/s.yaml" ] && echo 0 || echo 1) \
	"target without a config: b has none again afterwards"

# ---- b becomes migratable; the move succeeds
ct_use b
sandbox yes
tt_processes s <"$EMPTY"
tt_quit
ok $? "b reloaded with a migratable sandbox"
ct_use a
r1=$(ct_field "$(ask a)" requests)
out=$("$MIGRATE" -C "$T/a/etc/master.yaml" --to local --target-master "$T/b/etc/master.yaml" \
	--shared-dir "$T/shared" --target-processes "$ENTRY" --source-processes "$EMPTY" s/counter.0 2>&1)
ok $? "lithos_migrate a -> b" || diag "$out"
like "$out" '^migrated s/counter\.0 to local: dump [0-9]+ ms, transfer [0-9]+ ms, restore [0-9]+ ms, total [0-9]+ ms$' \
	"it reports the times"
diag "$out"
s3=$(ask b)
diag "on b: $s3"
is "$(ct_field "$s3" token)" "$tok" "b runs the same process (token)"
is "$(ct_field "$s3" requests)" "$((r1 + 1))" "b: the request counter continued"
is "$(ct_on b tt_ps s/counter.0 state)" running "lithos_ps on b: running"
is "$(ct_on a tt_init_pid $N)" "" "nothing runs on a"
is "$(ct_on a tt_ps_summary)" "" "lithos_ps on a lists nothing"
is "$(cat "$T/a/etc/processes/s.yaml")" "" "a's processes config has no entry any more"
is "$(ls -A "$T/shared")" "" "the images were removed"

cg2=$(sed -n 's/^0:://p' "/proc/$(ct_on b tt_init_pid $N)/cgroup")
diag "b: cgroup2 path of the restored process: $cg2 (CRIU keeps the source's; removed at its end)"
# ---- back b -> a over ssh (a private sshd for a on 127.0.0.1)
if "$INSTALL_SSHD" --print >/dev/null 2>&1 && getent passwd sshd >/dev/null; then
	ct_sshd a || bail_out "sshd for host a"
	ct_use b
	r2=$(ct_field "$(ask b)" requests)
	out=$("$MIGRATE" -C "$T/b/etc/master.yaml" --to ct-a --ssh "$CT_SSH_BIN/ssh" \
		--target-master "$T/a/etc/master.yaml" --target-bin "$top_builddir" \
		--dir "$T/b/out" --target-dir "$T/a/in" \
		--target-processes "$ENTRY" --source-processes "$EMPTY" s/counter.0 2>&1)
	ok $? "lithos_migrate b -> a over ssh" || diag "$out"
	like "$out" '^migrated s/counter\.0 to ct-a: ' "it reports the move"
	diag "$out"
	s4=$(ask a)
	is "$(ct_field "$s4" token)" "$tok" "a runs the same process again (token)"
	is "$(ct_field "$s4" requests)" "$((r2 + 1))" "a: the request counter continued"
	is "$(ct_on b tt_init_pid $N)" "" "nothing runs on b"
	is "$(ls -A "$T/b/out") $(ls -A "$T/a/in")" " " "the images were removed on both sides"
	ct_stop_sshd a
else
	skip "lithos_migrate over ssh" "no sshd (tests/lib/install-sshd.sh)"
fi

for h in a b; do
	ct_use $h
	tt_stop_tree
	is "$rc" 0 "tree of $h stops"
done
ct_check_clean "after both trees stopped" $N
done_testing
