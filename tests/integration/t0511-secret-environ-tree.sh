#!/bin/bash
# t0511: secret-environ of daemons under lithos_tree (decrypted by the
# knots), with real containers.
# - good daemons see their decrypted values: secret-environ in the empty
#   namespace, a namespace of the process's extra-secrets-namespaces, and a
#   relative secret-environ-file;
# - bad entries next to them (wrong key, namespace not allowed, a bad name
#   in a secret-environ-file, a sandbox whose key file is 0644) do not
#   start, the tree log says which variable and why, never the value; the
#   good ones and the tree run on;
# - nothing leaks while they run and after SIGTERM: no plaintext in the LXC
#   path (lxc.conf, lxc.log), runtime/state dir, stdio logs, config log,
#   tree log; not in the knots' or the tree's cmdline or environ (only the
#   containers' processes carry it); lithos_ps (--json) and lithos_lxcconf
#   print none.
# TAP.  Needs root, LXC, busybox-static, python3, ssh-keygen.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/treetest.sh"
. "$top_srcdir/tests/lib/secrettest.sh"
tt_init t0511
st_init

itest_image
IMG=$IMAGES/t/v1
CONFIG_LOG=$T/configlog
itest_master "config-log-dir: $CONFIG_LOG"
mkdir -p "$T/data"
chmod 1777 "$T/data"

st_key k1
st_key k2
cp "$KEYS/k1" "$KEYS/k1-0644" && chmod 0644 "$KEYS/k1-0644"

P_G=$(st_plain good)
P_X=$(st_plain extra-ns)
P_F=$(st_plain from-file)
P_BAD=$(st_plain refused)
V_G=$(st_enc k1 "" "$P_G")
V_X=$(st_enc k1 extra "$P_X")
V_F=$(st_enc k1 "" "$P_F")
V_BAD_K2=$(st_enc k2 "" "$P_BAD")
V_BAD_NS=$(st_enc k1 extra "$P_BAD")
V_BAD=$(st_enc k1 "" "$P_BAD")

for sb in s:k1 s0644:k1-0644; do
	itest_sandbox "${sb%%:*}" <<EOF
allow-users: [1000]
allow-groups: [1000]
writable-paths: {/data: $T/data}
secrets-private-key: $KEYS/${sb#*:}
EOF
done

# daemon NAME VAR: writes \$VAR to /data/NAME.out, then sleeps; the rest of
# its config (secret-environ...) from stdin
daemon() {
	{
		cat <<EOF
kind: Daemon
user-id: 1000
group-id: 1000
executable: /bin/sh
arguments: [-c, 'printf "%s\n" "\$$2" >/data/$1.out; exec sleep 1000']
environ: {PATH: /bin}
restart-timeout: 1
volumes:
  /data: !Persistent /data
EOF
		cat
	} | tt_config "$1"
}
daemon good SECRET_G <<EOF
secret-environ:
  SECRET_G: "$V_G"
EOF
daemon extra SECRET_X <<EOF
secret-environ:
  SECRET_X: ["$V_BAD_K2", "$V_X"]
EOF
daemon file SECRET_F <<EOF
secret-environ-file: file-secrets.yaml
EOF
cat >"$IMG/config/file-secrets.yaml" <<EOF
SECRET_F: "$V_F"
EOF
daemon wrongkey SECRET_BAD <<EOF
secret-environ:
  SECRET_OK: "$V_G"
  SECRET_BAD: "$V_BAD_K2"
EOF
daemon badns SECRET_BAD <<EOF
secret-environ:
  SECRET_BAD: "$V_BAD_NS"
EOF
daemon badname SECRET_BAD <<EOF
secret-environ-file: /config/bad-name.yaml
EOF
cat >"$IMG/config/bad-name.yaml" <<EOF
"": "$V_BAD"
EOF
daemon keymode SECRET_BAD <<EOF
secret-environ:
  SECRET_BAD: "$V_BAD"
EOF

entry() { # NAME [EXTRA-LINE]
	printf '%s:\n  kind: Daemon\n  image: t/v1\n  config: /config/%s.yaml\n' "$1" "$1"
	[ -n "${2:-}" ] && printf '  %s\n' "$2"
	return 0
}
{
	entry good
	entry extra "extra-secrets-namespaces: [extra]"
	entry file
	entry wrongkey
	entry badns
	entry badname
} | tt_processes s
entry keymode | tt_processes s0644
GOOD="s.good.0 s.extra.0 s.file.0"
BAD="s.wrongkey.0 s.badns.0 s.badname.0 s0644.keymode.0"

out=$("$LITHOS_CHECK" -C "$MASTER" 2>&1)
is "$?" 0 "lithos_check: the installation is valid (the bad values fail only at start)" || diag "$out"

tt_start_tree || bail_out "lithos_tree did not start"
ok 0 "lithos_tree started (pid $TREE)"
tt_wait_running 3 20 '[ "$(tt_running | tr "\n" " ")" = "s.extra.0 s.file.0 s.good.0 " ]'
ok $? "the three good daemons run ($(tt_running | tr '\n' ' '))"
tt_wait_for 10 '[ -s "$T/data/good.out" ] && [ -s "$T/data/extra.out" ] && [ -s "$T/data/file.out" ]'
is "$(cat "$T/data/good.out" 2>/dev/null)" "$P_G" "good: the daemon got SECRET_G"
is "$(cat "$T/data/extra.out" 2>/dev/null)" "$P_X" "extra: the second alternative, in a namespace of extra-secrets-namespaces"
is "$(cat "$T/data/file.out" 2>/dev/null)" "$P_F" "file: SECRET_F from a relative secret-environ-file"
for n in wrongkey badns badname keymode; do
	[ ! -e "$T/data/$n.out" ]
	ok $? "$n: the process never ran"
done

# let the bad ones fail (and be retried) a few times; the knots' errors go
# to the sandbox's stdio log, the tree logs the exit code
refusals() { cat "$STDIO_LOG_DIR"/*.log 2>/dev/null | grep -c 'not starting'; }
tt_wait_for 10 '[ "$(refusals)" -ge 8 ]'
ok $? "the bad entries were tried more than once ($(refusals) refusals in the stdio logs)"
log=$(sed "s|$T|\$T|g" "$STDIO_LOG_DIR/s.log")
like "$log" '^\[lithos_knot\] s/wrongkey\.0: not starting' "stdio log: s/wrongkey.0 is not starting" &&
	like "$log" 'config/wrongkey\.yaml:[0-9]+:[0-9]+: secret-environ: SECRET_BAD: cannot decrypt its value: wrong key' \
		"stdio log: wrongkey: SECRET_BAD, wrong key"
like "$log" 'SECRET_BAD: cannot decrypt its value: namespace mismatch: the secret is for namespace "extra"' \
	"stdio log: badns: SECRET_BAD, namespace not allowed"
like "$log" 'bad-name\.yaml:1:1: secret-environ-file: "" is not a valid variable name' \
	"stdio log: badname: the empty name in the secret-environ-file"
unlike "$log" 'SECRET_OK:|SECRET_G:|SECRET_X:|SECRET_F:' "stdio log: no error about the good variables"
log0644=$(sed "s|$T|\$T|g" "$STDIO_LOG_DIR/s0644.log")
like "$log0644" 's0644\.yaml: secrets-private-key: .*k1-0644: key file mode is 0644' \
	"stdio log of s0644: keymode: the sandbox's key file mode"
printf '%s\n%s\n' "$log" "$log0644" | grep -E -A1 '^\[lithos_knot\]' | grep -v '^\[\|^--' | sort -u | diag
tlog=$(cat "$TREE_LOG")
for n in s/wrongkey.0 s/badns.0 s/badname.0 s0644/keymode.0; do
	like "$tlog" "$(re "$n") exited with 121 .*failure" "tree log: $n exited with 121 (config)"
done
tt_tree_alive
ok $? "the tree still runs"
is "$(tt_running | tr '\n' ' ')" "s.extra.0 s.file.0 s.good.0 " "the good daemons run on"
for n in $GOOD; do
	p=${n%.0}
	is "$(tt_ps "${p%%.*}/${p#*.}.0" starts)" 1 "$n was started once (lithos_ps)"
done
for n in $BAD; do
	p=${n%.0}
	st=$(tt_ps "${p%%.*}/${p#*.}.0" state)
	ok $([ "$st" != running ] && echo 0 || echo 1) "$n is not running (lithos_ps: ${st:-not listed})"
done

# ---- nothing leaks while running
leak_checks() { # WHEN
	is "$(st_leaks "$LXCPATH" "$T/run" "$T/log" "$CONFIG_LOG" "$TREE_LOG")" "" \
		"$1: no plaintext below the lxc path (lxc.conf, lxc.log), runtime/state dir, stdio logs, config log, tree log"
}
leak_checks "running"
ls "$CONFIG_LOG"/s.log >/dev/null 2>&1
ok $? "the config log of sandbox s was written"
ls "$LXCPATH"/s.wrongkey.0/config "$LXCPATH"/s.badname.0/config >/dev/null 2>&1 &&
	ok 0 "the refused instances' lxc dirs are there (and were grepped)" ||
	skip "the refused instances' lxc dirs" "the tree removed them"
knots=
for n in $GOOD $BAD; do
	p=${n%.0}
	knots="$knots $(tt_knot_pids "${p%%.*}/${p#*.}.0")"
done
knots=$(echo $knots)
ok $([ "$(echo $knots | wc -w)" -eq 3 ] && echo 0 || echo 1) "three knots run ($knots)"
is "$(st_proc_leaks $knots "$TREE")" "" "the knots' and the tree's cmdline and environ hold no plaintext"
inits=
for n in $GOOD; do inits="$inits $(tt_init_pid "$n")"; done
inside=$(for i in $inits; do st_descendants "$i"; done | LC_ALL=C sort -u)
st_procs_with_tag | grep -qx "$(tt_app_pid s.good.0)"
ok $? "the scan of /proc finds the good process's environment (it sees the plaintext)"
is "$(LC_ALL=C comm -23 <(st_procs_with_tag) <(printf '%s\n' $inside))" "" \
	"only the containers' processes carry a plaintext"
ps_json=$(tt_ps_json)
like "$ps_json" '"s/good.0"' "lithos_ps --json lists s/good.0"
unlike "$ps_json" "$(re "$TAG")" "lithos_ps --json prints no plaintext"
unlike "$("$LITHOS_PS" -C "$MASTER" 2>&1)" "$(re "$TAG")" "lithos_ps prints no plaintext"
for n in good extra file; do
	c=$("$LITHOS_LXCCONF" --master "$MASTER" s "$n" 2>&1)
	ok $? "lithos_lxcconf s $n works"
	unlike "$c" "$(re "$TAG")|SECRET_" "lithos_lxcconf s $n: no secret variable, no plaintext"
	unlike "$(cat "$LXCPATH/s.$n.0/config")" "SECRET_" "s.$n.0/config (the lxc.conf the tree wrote) has no secret variable"
done
grep -qxF "SECRET_G=$P_G" < <(tr '\0' '\n' <"/proc/$(tt_app_pid s.good.0)/environ")
ok $? "the good process's environment (seen from the host) has SECRET_G"

# ---- SIGTERM: all stops, nothing leaked on the way out
tt_stop_tree
is "$rc" 0 "lithos_tree exits 0 on SIGTERM"
leak_checks "after SIGTERM"
tt_check_clean "after SIGTERM" $GOOD $BAD
done_testing
