#!/bin/bash
# t0607: lithos_migrate when the target's restore does not report in time
# (two hosts on one machine, --to local, images in a shared directory; the
# target's tree runs criu through a wrapper that sleeps before a restore):
# - the target never takes the request (its config lacks the entry, no
#   --target-processes): its lithos_restore withdraws the request (exit 5),
#   so the target cannot restore it any more; lithos_migrate restores here
#   (exit 1, same token, counter continues); when the entry is then added
#   on the target, its tree starts a fresh process (not the images);
# - the target's tree took the request but its restore is slower than
#   --timeout + 10 s: lithos_migrate does NOT restore here (exit 6), says
#   what to check, keeps the images and the target's config; the target's
#   restore then succeeds late and the process runs there, once: nothing
#   runs on the source at any point after the checkpoint;
# - nothing left behind.
# TAP.  Needs root, LXC, CRIU, busybox-static, python3, gcc -static.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/criutest.sh"
ct_init t0607
ct_need_criu
MIGRATE=$top_builddir/lithos_migrate
[ -x "$MIGRATE" ] || bail_out "$MIGRATE not built"

ct_counter_config counter 1
ENTRY=$T/with.yaml
EMPTY=$T/empty.yaml
echo "counter: {image: t/v1, config: /config/counter.yaml, instances: 1}" >"$ENTRY"
: >"$EMPTY"
N=s.counter.0
ct_migratable_hosts a b
# b's criu: sleeps $(cat $T/slow) seconds before a restore
mkdir -p "$T/slowcriu"
REAL_CRIU=$(command -v criu)
cat >"$T/slowcriu/criu" <<SH
#!/bin/sh
for a in "\$@"; do
	[ "\$a" = restore ] && sleep "\$(cat $T/slow 2>/dev/null || echo 0)"
done
exec $REAL_CRIU "\$@"
SH
chmod 0755 "$T/slowcriu/criu"
echo 0 >"$T/slow"
ct_use a
tt_processes s <"$ENTRY"
tt_start_tree || bail_out "tree of a"
ct_use b
tt_processes s <"$EMPTY"
PATH=$T/slowcriu:$PATH tt_start_tree || bail_out "tree of b"
ct_use a
tt_wait_running 1 20 '[ -n "$(tt_app_pid $N)" ]'
ok $? "a runs the counter"
s0=$(ct_ask a $N)
TOKEN=$(ct_field "$s0" token)
REQ=$(ct_field "$s0" requests)

# migrate TIMEOUT [OPTIONS]: lithos_migrate a -> b; $rc, $out, $secs
migrate() {
	local t0=${EPOCHREALTIME/./} tmo=$1
	shift
	"$MIGRATE" -C "$T/a/etc/master.yaml" --to local --target-master "$T/b/etc/master.yaml" \
		--shared-dir "$T/shared" --timeout "$tmo" "$@" s/counter.0 >"$T/out" 2>&1
	rc=$?
	secs=$(((${EPOCHREALTIME/./} - t0) / 1000000))
	out=$(cat "$T/out")
}

# ---- b never takes the request: withdrawn, restored here
migrate 2
is "$rc" 1 "request not taken by b: exit 1"
diag "$out"
like "$out" 'request was withdrawn' "it passes on b's reason (withdrawn)"
like "$out" 's/counter\.0 runs here again' "it says the instance runs here again"
s1=$(ct_ask a $N)
REQ=$((REQ + 1))
is "$(ct_field "$s1" token) $(ct_field "$s1" requests)" "$TOKEN $REQ" "a runs the same process, counter continues"
ct_on b tt_processes s <"$ENTRY"
ct_on b tt_quit
ok $? "b's config gets the entry afterwards"
is "$(ls "$T/b/run/knots" 2>/dev/null | grep -c "^$N\.restore$")" 0 "no restore request left on b"
sb=$(ct_ask b $N)
isnt_tok=$(ct_field "$sb" token)
ok $([ -n "$isnt_tok" ] && [ "$isnt_tok" != "$TOKEN" ] && echo 0 || echo 1) \
	"b's tree does not restore the withdrawn request: it starts a fresh process (token $isnt_tok)"
is "$(ct_field "$(ct_ask a $N)" token)" "$TOKEN" "a still runs the migrated process"
REQ=$((REQ + 1))
ct_on b tt_processes s <"$EMPTY"
ct_on b tt_quit
tt_wait_for 10 '[ -z "$(ct_on b tt_init_pid $N)" ]'
is "$(ct_on b tt_init_pid $N)" "" "b stops its fresh one when the entry leaves"
is "$(ls -A "$T/shared")" "" "the images were removed"

# ---- b takes the request, its restore is slow: state unknown, not restored here
echo 16 >"$T/slow"
migrate 2 --target-processes "$ENTRY" --source-processes "$EMPTY"
is "$rc" 6 "slow restore on b: exit 6"
diag "$out"
diag "lithos_migrate took $secs s"
like "$out" 'reported no result within 2 s \+ 10 s' "it says b did not report"
like "$out" 'NOT restored here' "it says the instance is not restored here"
like "$out" "lithos_restore -C $T/a/etc/master.yaml s/counter.0 $T/shared/" "it names the command to restore here"
is "$(ct_on a tt_init_pid $N)" "" "nothing runs on a"
is "$(ct_on a tt_ps s/counter.0 state)" checkpointed "lithos_ps on a: checkpointed"
ok $([ -n "$(ls -A "$T/shared")" ] && echo 0 || echo 1) "the images are kept"
ok $(cmp -s "$ENTRY" "$T/b/etc/processes/s.yaml" && echo 0 || echo 1) "b keeps the config with the entry"
tt_wait_for 20 '[ -n "$(ct_on b tt_init_pid $N)" ]'
ok $? "b's slow restore succeeds later"
s2=$(ct_ask b $N)
diag "on b: $s2"
is "$(ct_field "$s2" token) $(ct_field "$s2" requests)" "$TOKEN $((REQ + 1))" \
	"b runs the same process, counter continues"
is "$(ct_on a tt_init_pid $N)" "" "still nothing runs on a: the process runs once"
is "$(ct_on b tt_ps s/counter.0 state)" running "lithos_ps on b: running"

# what the operator does then: the entry leaves a, the images go
ct_on a "$LITHOS_SWITCH" --master "$T/a/etc/master.yaml" s "$EMPTY" >/dev/null
ok $? "lithos_switch of a's config without the entry"
rm -rf "$T/shared"
tt_wait_for 10 '[ -z "$(ct_on a tt_ps_summary)" ]'
is "$(ct_on a tt_ps_summary)" "" "lithos_ps on a lists nothing"

ct_stop_all
ct_check_clean "both hosts stopped" $N
done_testing
