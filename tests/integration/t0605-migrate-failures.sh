#!/bin/bash
# t0605: lithos_migrate's failure paths leave the source instance running
# and say why (two hosts on one machine, tests/lib/criutest.sh; sshd of b
# on 127.0.0.1):
# - criu missing here (a PATH without criu): exit 3, nothing done, the
#   instance runs on untouched (same process, no restart);
# - the target unreachable (ssh to a port nobody listens on): the move
#   fails, the instance runs here again from its images (same token, the
#   counter continues), it says so;
# - the transfer failing midway (an ssh whose stdin is cut after 1 MB, so
#   the image stream breaks): the same;
# - after all that a real move a -> b over ssh still works;
# - nothing runs twice at any point, nothing left behind.
# TAP.  Needs root, LXC, CRIU (scripts/install-criu.sh), busybox-static,
# python3, gcc -static, sshd (tests/lib/install-sshd.sh).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/criutest.sh"
ct_init t0605
ct_need_commands
ct_need_criu
MIGRATE=$top_builddir/lithos_migrate
[ -x "$MIGRATE" ] || skip_all "lithos_migrate is not built in this tree"

ct_counter_config counter 10
ct_migratable_hosts a b
ct_sshd b || bail_out "sshd for host b"
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
s0=$(ct_ask a $N)
TOKEN=$(ct_field "$s0" token)
REQ=1

# migrate [SSH-COMMAND]: lithos_migrate a -> b over ssh; $rc, $out
migrate() {
	"$MIGRATE" -C "$T/a/etc/master.yaml" --to ct-b --ssh "${1:-/usr/bin/ssh -F $T/ssh/config}" \
		--target-master "$T/b/etc/master.yaml" --target-bin "$top_builddir" \
		--target-processes "$ENTRY" --source-processes "$EMPTY" \
		--dir "$T/a/out" --target-dir "$T/b/in" s/counter.0 >"$T/out" 2>&1
	rc=$?
	out=$(cat "$T/out")
}
# still_here WHAT: the same process runs on a, the counter went on by one,
# nothing runs on b
still_here() {
	local s
	REQ=$((REQ + 1))
	s=$(ct_ask a $N)
	is "$(ct_field "$s" token) $(ct_field "$s" requests) $(ct_field "$s" memok)" "$TOKEN $REQ 1" \
		"$1: the same process runs on a, counter continues, memory intact"
	is "$(ct_on b tt_running)" "" "$1: nothing runs on b"
}

# ---- criu missing here
init0=$(tt_init_pid $N)
mkdir -p "$T/nocriu"
PATH=$T/nocriu:/usr/bin:/bin migrate
is "$rc" 3 "criu missing: exit 3"
like "$out" "criu" "criu missing: it says so" && diag "$out"
is "$(tt_init_pid $N)" "$init0" "criu missing: the container was not touched"
still_here "criu missing"

# ---- the target unreachable
printf '#!/bin/sh\nexec /usr/bin/ssh -F %s -o Port=1 "$@"\n' "$T/ssh/config" >"$T/ssh-nowhere"
chmod 0755 "$T/ssh-nowhere"
migrate "$T/ssh-nowhere"
ok $([ "$rc" -eq 1 ] && echo 0 || echo 1) "target unreachable: exit 1 (got $rc)"
like "$out" "runs here again" "target unreachable: it says the instance runs here again" && diag "$out"
still_here "target unreachable"

# ---- the transfer cut midway
printf '#!/bin/sh\nhead -c 1000000 | /usr/bin/ssh -F %s "$@"\n' "$T/ssh/config" >"$T/ssh-cut"
chmod 0755 "$T/ssh-cut"
migrate "$T/ssh-cut"
ok $([ "$rc" -eq 1 ] && echo 0 || echo 1) "transfer cut after 1 MB: exit 1 (got $rc)"
like "$out" "runs here again" "transfer cut: it says the instance runs here again" && diag "$out"
still_here "transfer cut"
is "$(ct_on b tt_ps_summary)" "" "transfer cut: b's lithos_ps lists nothing"

# ---- and a real move still works
migrate
is "$rc" 0 "then lithos_migrate a -> b over ssh works" || diag "$out"
s1=$(ct_ask b $N)
is "$(ct_field "$s1" token) $(ct_field "$s1" requests)" "$TOKEN $((REQ + 1))" "b runs the same process, counter continues"
is "$(ct_on a tt_running)" "" "a runs nothing"

ct_stop_all
ct_check_clean "both hosts stopped" $N
done_testing
