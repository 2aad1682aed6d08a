#!/bin/bash
# t0314: devfs-dir of the master config: the syslog socket of the lithos
# FAQ reaches a real container started by lithos_cmd.
# - devfs-dir with a `log` socket but not prepared: no /dev/log inside;
# - after lithos_mkdev: /dev/log inside is that socket (same dev:inode)
#   and a message sent to it with logger arrives at the host's listener;
# - devfs-dir: /dev (no preparing): /dev/log inside is the host's
#   /dev/log; when the host has none, the test binds one for the run
#   (removed at the end) and the message arrives there.
# TAP.  Needs root, LXC, busybox-static and python3.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/itest.sh"
itest_init t0314
LITHOS_MKDEV=$top_builddir/lithos_mkdev
PY=/usr/bin/python3
[ -x "$PY" ] || skip_all "python3 is needed for the syslog listener"

itest_image
D=$T/devfs
mkdir -p "$D"
ITEST_DEVFS_DIR=$D itest_master
itest_sandbox_1000 s
itest_command s log <<'YAML'
kind: Command
user-id: 1000
group-id: 1000
interactive: true
executable: /bin/sh
arguments:
  - -c
  - 'if [ -S /dev/log ]; then stat -c "socket %d:%i" /dev/log; logger -t t0314 "hello from $LITHOS_NAME"; else echo "no /dev/log"; fi'
environ: {PATH: /bin}
YAML

listen() { itest_syslog_listen "$PY" "$1" "$2"; }
got() { # OUT: waits (5 s) for a line from t0314 in OUT
	for i in $(seq 100); do grep -q 't0314.*hello from' "$1" 2>/dev/null && return 0; sleep 0.05; done
	return 1
}

# ---- not prepared
listen "$D/log" "$T/got1"
run_cmd s log
is "$rc" 0 "not prepared: exit 0" || diag_file "$T/err"
is "$out" "no /dev/log" "devfs-dir not prepared (no lithos_mkdev): no /dev/log in the container"

# ---- prepared by lithos_mkdev
"$LITHOS_MKDEV" -C "$MASTER" >"$T/mkdev.out" 2>&1
is "$?" 0 "lithos_mkdev exits 0" || diag_file "$T/mkdev.out"
run_cmd s log
is "$rc" 0 "prepared: exit 0" || diag_file "$T/err"
is "$out" "socket $(stat -c '%d:%i' "$D/log")" "prepared: /dev/log in the container is devfs-dir/log (same dev:inode)"
got "$T/got1"
ok $? "prepared: logger's message reached the listener at devfs-dir/log" || diag_file "$T/got1" "received"
like "$(cat "$T/got1" 2>/dev/null)" "hello from s/cmd\\.log" "the message is the container's (its LITHOS_NAME)"
check_no_leftovers "devfs-dir prepared" "$RUN_LXCNAME"

# ---- devfs-dir: /dev
ITEST_DEVFS_DIR=/dev itest_master
own=
if [ ! -e /dev/log ] && [ ! -L /dev/log ]; then
	own=1
	ITEST_EXTRA_CLEANUP="rm -f /dev/log${ITEST_EXTRA_CLEANUP:+; $ITEST_EXTRA_CLEANUP}"
	listen /dev/log "$T/got2"
	diag "the host has no /dev/log: a listener of this test is bound there for the run"
fi
run_cmd s log
is "$rc" 0 "devfs-dir /dev: exit 0" || diag_file "$T/err"
is "$out" "socket $(stat -L -c '%d:%i' /dev/log)" "devfs-dir /dev: /dev/log in the container is the host's /dev/log (same dev:inode)"
if [ -n "$own" ]; then
	got "$T/got2"
	ok $? "devfs-dir /dev: logger's message reached the host's /dev/log" || diag_file "$T/got2" "received"
	kill "$LPID" 2>/dev/null
	wait "$LPID" 2>/dev/null
	rm -f /dev/log
else
	skip "devfs-dir /dev: logger's message reached the host's /dev/log" "the host has a syslog socket of its own: not written to"
fi
check_no_leftovers "devfs-dir /dev" "$RUN_LXCNAME"
done_testing
